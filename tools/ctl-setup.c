/* SPDX-License-Identifier: MIT */
/*
 * ctl-setup.c - one-step equivalents of `dpdk-hugepages.py --setup SIZE`
 * and `--clear --unmount`:
 *
 *   hugepool-ctl setup MEMORY [--pagesize SIZE] [--node N] [--mount DIR]
 *	the pool of SIZE (default: the kernel's default size) holds MEMORY
 *	(2G, or a page count), and hugetlbfs for that size is mounted on DIR
 *	(default /dev/hugepages, created if missing);
 *   hugepool-ctl clear [--pagesize SIZE] [--unmount]
 *	pools (of SIZE, or all) back to 0 pages, on every node; with
 *	--unmount, their hugetlbfs mounts removed first.
 *
 * Both check everything before the first write, like set, mount and
 * apply, and put back what they changed when a step fails.
 */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

static void setup_help(void)
{
	printf("Usage: hugepool-ctl setup MEMORY [--pagesize SIZE] [--node N] [--mount DIR]\n"
	       "                          [--dry-run]\n\n"
	       "Reserve MEMORY (2G, or a number of pages) of huge pages and mount\n"
	       "hugetlbfs for them: 'dpdk-hugepages.py --setup MEMORY' in one step.\n\n"
	       "  -p, --pagesize SIZE  page size (default: the kernel's default, %s)\n"
	       "  -n, --node N         reserve on NUMA node N only\n"
	       "  -m, --mount DIR      the mount point (default /dev/hugepages; created)\n"
	       "  -d, --dry-run        change nothing; check and say what would be done\n"
	       "  -h, --help           this help\n", "2M");
}

int cmd_setup(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pagesize", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "node", required_argument, NULL, 'n' },
		{ "mount", required_argument, NULL, 'm' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl_pool_change c = { .node = -1, .where = "" };
	struct ctl_mount_req r = { 0 };
	struct ctl_pool_plan plan = { 0 };
	const char *ps = NULL, *node = NULL, *dir = "/dev/hugepages";
	struct ctl_count count;
	unsigned long cur, claimed = 0;
	bool dry = false;
	int ch, status = CTL_USAGE;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:n:m:dh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': ps = optarg; break;
		case 'n': node = optarg; break;
		case 'm': dir = optarg; break;
		case 'd': dry = true; break;
		case 'h': setup_help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing MEMORY (2G, or a number of pages)");
	if (optind + 1 < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (ps) {
		c.h = ctl_parse_hstate(ps, &status);
		if (!c.h)
			return status;
	} else {
		if (ctl_hstates() <= 0)
			return ctl_error(CTL_FAIL, "this kernel has no huge page support");
		c.h = hp_default_hstate();
		if (!c.h)
			return ctl_error(CTL_FAIL, "no default huge page size (Hugepagesize in "
					 "/proc/meminfo)");
	}
	if (node && ctl_parse_node(node, c.h, &c.node))
		return CTL_USAGE;
	if (argv[optind][0] == '+' || argv[optind][0] == '-')
		return ctl_error(CTL_USAGE, "MEMORY '%s': setup takes an absolute amount",
				 argv[optind]);
	if (ctl_parse_count(argv[optind], c.h, "MEMORY", &count) ||
	    ctl_count_resolve(&count, c.h, "MEMORY", 0, &c.count))
		return CTL_USAGE;
	if (dir[0] != '/')
		return ctl_error(CTL_USAGE, "--mount '%s' is not an absolute path", dir);
	c.set_count = true;
	c.dry_run = dry;
	r.dir = dir;
	r.h = c.h;
	r.mkdir = true;
	r.idempotent = true;
	r.dry_run = dry;

	if ((status = ctl_pool_check(&c)))
		return status;
	if (!ctl_persistent(c.h, c.node, &cur))
		plan.delta = (long)c.count - (long)cur;
	if ((status = ctl_mount_check(&r, &plan, &claimed)))
		return status;
	r.checked = true;
	status = ctl_pool_apply(&c);
	if (!status)
		status = ctl_do_mount(&r);
	if (status && ctl_undo_pending()) {
		printf("setup failed; putting back what was changed\n");
		ctl_undo_all();
	}
	ctl_undo_forget();
	return status;
}

static void clear_help(void)
{
	printf("Usage: hugepool-ctl clear [--pagesize SIZE] [--unmount] [--dry-run]\n\n"
	       "Give every huge page back to the kernel: nr_hugepages 0 for SIZE (or for\n"
	       "every size), on every node ('dpdk-hugepages.py --clear'); with --unmount,\n"
	       "unmount their hugetlbfs mounts first ('--unmount'). Pages still in use\n"
	       "stay as surplus until freed.\n\n"
	       "  -p, --pagesize SIZE  only this page size\n"
	       "  -u, --unmount        also unmount the hugetlbfs mounts of those sizes\n"
	       "  -d, --dry-run        change nothing; say what would be done\n"
	       "  -h, --help           this help\n");
}

int cmd_clear(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pagesize", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "unmount", no_argument, NULL, 'u' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct hp_hstate *only = NULL;
	struct ctl_pool_change c[HP_MAX_HSTATES];
	struct ctl_mounts ms = { 0 };
	bool dry = false, unmount = false;
	int ch, i, n = 0, status = CTL_USAGE;
	size_t j;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:udh", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': only = ctl_parse_hstate(optarg, &status); if (!only) return status; break;
		case 'u': unmount = true; break;
		case 'd': dry = true; break;
		case 'h': clear_help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind]);
	if (ctl_hstates() <= 0)
		return ctl_error(CTL_FAIL, "this kernel has no huge page support");
	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);

		if (only && h != only)
			continue;
		memset(&c[n], 0, sizeof(c[n]));
		c[n].h = h;
		c[n].node = -1;		/* the total: every node goes to 0 */
		c[n].set_count = true;
		c[n].count = 0;
		c[n].dry_run = dry;
		c[n].where = "";
		if ((status = ctl_pool_check(&c[n])))
			return status;
		n++;
	}
	if (unmount) {
		int ret = ctl_mounts_read(&ms);

		if (ret)
			return ctl_error(CTL_FAIL, "cannot read /proc/mounts: %s", strerror(-ret));
		if (!dry && !ctl_can_mount()) {
			ctl_mounts_free(&ms);
			return ctl_error(CTL_FAIL, "umount: %s (this needs root: CAP_SYS_ADMIN)",
					 strerror(EPERM));
		}
	}
	status = CTL_OK;
	for (j = 0; unmount && j < ms.n && !status; j++) {
		const struct ctl_mount *m = &ms.m[j];

		if (!ctl_mount_is_hugetlbfs(m, only ? only->size : 0))
			continue;
		status = ctl_do_umount(m->dir, false, dry);
		if (!status && !dry)
			ctl_undo_remount(m->dir, m->opts);
	}
	for (i = 0; i < n && !status; i++)
		status = ctl_pool_apply(&c[i]);
	if (status && ctl_undo_pending()) {
		printf("clear failed; putting back what was changed\n");
		ctl_undo_all();
	}
	ctl_undo_forget();
	ctl_mounts_free(&ms);
	return status;
}
