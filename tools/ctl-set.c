/* SPDX-License-Identifier: MIT */
/*
 * ctl-set.c - `hugepool-ctl set SIZE COUNT`: resize the persistent pool of
 * one page size, globally or on one node, and/or its overcommit. All input
 * is checked (size exists, node exists, count is a count, the result is not
 * negative) before the first write.
 */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void help(void)
{
	printf("Usage: hugepool-ctl set SIZE [COUNT] [--node N] [--overcommit N] [--dry-run]\n"
	       "                        [--retry SECONDS]\n\n"
	       "Set the persistent pool (nr_hugepages) of huge page size SIZE to COUNT,\n"
	       "read it back, and fail saying how many pages there are if the kernel\n"
	       "gave fewer.\n\n"
	       "  SIZE                 a huge page size of this kernel: 2M, 1G\n"
	       "  COUNT                N pages, +N or -N pages, or memory: 4G, +1G, -512M\n"
	       "  -n, --node N         the pool of NUMA node N only\n"
	       "  -o, --overcommit N   set nr_overcommit_hugepages (N, +N, -N or memory):\n"
	       "                       surplus pages the kernel may add on demand\n"
	       "  -d, --dry-run        write nothing; print what would be written\n"
	       "  -r, --retry SECONDS  keep trying while the pool is short (fragmented\n"
	       "                       memory, 1G pages), compacting memory in between\n"
	       "  -h, --help           this help\n");
}

int cmd_set(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "overcommit", required_argument, NULL, 'o' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "retry", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_pool_change c = { .node = -1, .where = "" };
	const char *node_arg = NULL, *over_arg = NULL, *retry_arg = NULL;
	struct ctl_count count, over;
	unsigned long cur, ul;
	int ch, status = CTL_USAGE;

	/* "-8" is a COUNT, not an option */
	ctl_protect_negatives(argc, argv);
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":n:o:dr:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': node_arg = optarg; break;
		case 'o': over_arg = optarg; break;
		case 'd': c.dry_run = true; break;
		case 'r': retry_arg = optarg; break;
		case 'h': help(); return CTL_OK;
		default:
			return ctl_getopt_error(ch, argv);
		}
	}
	ctl_unprotect_negatives(argc, argv);
	argc -= optind;
	argv += optind;
	if (argc < 1)
		return ctl_usage_error("missing SIZE");
	if (argc < 2 && !over_arg)
		return ctl_usage_error("missing COUNT (pages, +N, -N, or memory such as 4G)");
	if (argc > 2)
		return ctl_usage_error("unexpected argument '%s'", argv[2]);

	c.h = ctl_parse_hstate(argv[0], &status);
	if (!c.h)
		return status;
	if (retry_arg && (hp_parse_ulong(retry_arg, &ul) || ul > 86400))
		return ctl_error(CTL_USAGE, "--retry '%s' is not a number of seconds (0 to 86400)",
				 retry_arg);
	c.retry_s = retry_arg ? (unsigned int)ul : 0;
	if (node_arg && ctl_parse_node(node_arg, c.h, &c.node))
		return CTL_USAGE;
	if (over_arg && c.node >= 0)
		return ctl_error(CTL_USAGE, "--overcommit is global: the kernel has no per-node "
				 "overcommit; drop --node");
	if (argc == 2) {
		if (ctl_parse_count(argv[1], c.h, "COUNT", &count))
			return CTL_USAGE;
		if ((status = ctl_persistent(c.h, c.node, &cur)))
			return ctl_error(CTL_FAIL, "cannot read the pool: %s", strerror(-status));
		if (ctl_count_resolve(&count, c.h, "COUNT", cur, &c.count))
			return CTL_USAGE;
		c.set_count = true;
	}
	if (over_arg) {
		if (ctl_parse_count(over_arg, c.h, "--overcommit", &over))
			return CTL_USAGE;
		if ((status = ctl_read(c.h, -1, "nr_overcommit_hugepages", &cur)))
			return ctl_error(CTL_FAIL, "cannot read nr_overcommit_hugepages: %s",
					 strerror(-status));
		if (ctl_count_resolve(&over, c.h, "--overcommit", cur, &c.over))
			return CTL_USAGE;
		c.set_over = true;
	}
	/* all that can be known, before the first write: the kernel's
	 * refusal of overcommit for gigantic pages must not come after
	 * nr_hugepages was raised */
	status = ctl_pool_check(&c);
	if (status)
		return status;
	status = ctl_pool_apply(&c);
	/* a pool that came out short stays as the kernel left it (the
	 * message says how many pages there are, and --retry can finish
	 * the job); any other failure puts back what was changed */
	if (status && c.set_over &&
	    (ctl_read(c.h, -1, "nr_overcommit_hugepages", &ul) || ul != c.over))
		ctl_undo_all();
	ctl_undo_forget();
	return status;
}
