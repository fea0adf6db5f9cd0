/* SPDX-License-Identifier: MIT */
/*
 * hugepool-ctl.c - entry point: global options and the subcommand table.
 * Each subcommand lives in its own ctl-<name>.c and parses its own options
 * with getopt_long, so that `hugepool-ctl <cmd> --help` describes exactly
 * what that command accepts.
 */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "show",    cmd_show,    "huge page pools per size and node, mounts, THP" },
	{ "set",     cmd_set,     "resize a pool: set SIZE COUNT [--node N] [--overcommit N]" },
	{ "mount",   cmd_mount,   "mount hugetlbfs: mount DIR --pagesize SIZE [...]" },
	{ "umount",  cmd_umount,  "unmount a hugetlbfs mount: umount DIR" },
	{ "apply",   cmd_apply,   "apply a declarative config file (pools, mounts)" },
	{ "run",     cmd_run,     "run a program under the hugepool preload" },
	{ "segments", cmd_segments, "how much of a binary's text/data/bss huge pages would cover" },
	{ "stats",   cmd_stats,   "live pool counters of processes using libhugepool" },
	{ "explain", cmd_explain, "what would stop huge pages from working here" },
	{ "thp",     cmd_thp,     "transparent huge page settings: show or set" },
	{ "setup",   cmd_setup,   "reserve memory and mount hugetlbfs in one step" },
	{ "clear",   cmd_clear,   "give every huge page back (and unmount): clear" },
	{ "hugeadm", cmd_hugeadm, "libhugetlbfs's hugeadm options (pools, mounts, lists)" },
	{ "hugectl", cmd_hugectl, "libhugetlbfs's hugectl: hugectl --heap --shm -- PROG" },
	{ "pagesize", cmd_pagesize, "libhugetlbfs's pagesize [-a|-H]" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: hugepool-ctl [--version] [--help] COMMAND [ARGS]\n\n"
		"Set up and inspect the kernel's huge page pools and hugetlbfs mounts,\n"
		"and the processes that use libhugepool.\n\nCommands:\n");
	for (i = 0; i < ARRAY_SIZE(subcommands); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
	fprintf(f, "\n'hugepool-ctl help COMMAND' or 'hugepool-ctl COMMAND --help' describes\n"
		"one. Exit status: 0 success, 1 failure, 2 invalid command line or\n"
		"config. See hugepool-ctl(8).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static char cmdname[64];
	const char *root;
	size_t i;
	int c;

	/* test hook: read (and write) a fake /sys and /proc tree */
	root = getenv("HUGEPOOL_CTL_ROOT");
	if (root && *root)
		hp_sysfs_root = root;
	/* library diagnostics are ours to print; keep its own quiet */
	hp_verbose = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return CTL_OK;
		case 'V':
			printf("hugepool-ctl %s\n", HUGEPOOL_VERSION);
			return CTL_OK;
		default:
			return ctl_usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("no command given (show, set, mount, umount, apply, "
				       "run, segments, stats, explain, thp, setup, clear, hugeadm, "
				       "hugectl, pagesize)");
	/* "hugepool-ctl help [COMMAND]" is "hugepool-ctl [COMMAND] --help" */
	if (!strcmp(argv[optind], "help")) {
		static char help_opt[] = "--help";
		static char *help_argv[3];

		if (optind + 1 >= argc) {
			usage(stdout);
			return CTL_OK;
		}
		help_argv[0] = argv[optind + 1];
		help_argv[1] = help_opt;
		argv = help_argv;
		argc = 2;
		optind = 0;
	}
	for (i = 0; i < ARRAY_SIZE(subcommands); i++) {
		if (strcmp(argv[optind], subcommands[i].name))
			continue;
		snprintf(cmdname, sizeof(cmdname), "hugepool-ctl %s", subcommands[i].name);
		ctl_cmd = cmdname;
		/* each subcommand parses from its own argv[0] */
		argv += optind;
		argc -= optind;
		optind = 0;	/* glibc: 0 reinitialises getopt */
		return subcommands[i].fn(argc, argv);
	}
	return ctl_usage_error("unknown command '%s'", argv[optind]);
}
