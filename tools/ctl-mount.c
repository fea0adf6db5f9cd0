/* SPDX-License-Identifier: MIT */
/*
 * ctl-mount.c - `hugepool-ctl mount DIR --pagesize SIZE ...` and
 * `hugepool-ctl umount DIR`: the command lines; the mounting itself is in
 * ctl-mounts.c, shared with `apply`.
 */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void mount_help(void)
{
	printf("Usage: hugepool-ctl mount DIR --pagesize SIZE [--size S] [--min-size S]\n"
	       "                          [--nr-inodes N] [--uid U] [--gid G] [--mode M] [--mkdir] [--dry-run]\n\n"
	       "Mount hugetlbfs on DIR for pages of SIZE (mount(2), nodev,nosuid).\n\n"
	       "  -p, --pagesize SIZE  huge page size of the mount: 2M, 1G (required)\n"
	       "  -s, --size S         cap on the memory of all files there (1G, or a\n"
	       "                       percentage of the pool: 50%%)\n"
	       "  -m, --min-size S     memory reserved for the mount at mount time; the\n"
	       "                       mount fails if the pool cannot provide it\n"
	       "  -i, --nr-inodes N    most files (inodes) the mount may have (1M = 1048576)\n"
	       "  -u, --uid U          owner of the mount's root (name or number)\n"
	       "  -g, --gid G          group (name or number)\n"
	       "  -M, --mode M         permissions of the root, octal (0770)\n"
	       "      --mkdir          create DIR (and parents) if missing\n"
	       "  -d, --dry-run        mount nothing; print the mount that would be made\n"
	       "  -h, --help           this help\n");
}

int cmd_mount(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pagesize", required_argument, NULL, 'p' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "size", required_argument, NULL, 's' },
		{ "min-size", required_argument, NULL, 'm' },
		{ "nr-inodes", required_argument, NULL, 'i' },
		{ "uid", required_argument, NULL, 'u' },
		{ "gid", required_argument, NULL, 'g' },
		{ "mode", required_argument, NULL, 'M' },
		{ "mkdir", no_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ps = NULL, *size = NULL, *min = NULL, *uid = NULL, *gid = NULL, *mode = NULL,
		   *inodes = NULL;
	struct ctl_mount_req r = { 0 };
	int ch, status = CTL_USAGE;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":p:s:m:i:u:g:M:dh", opts, NULL)) != -1) {
		switch (ch) {
		case 'i': inodes = optarg; break;
		case 'p': ps = optarg; break;
		case 's': size = optarg; break;
		case 'm': min = optarg; break;
		case 'u': uid = optarg; break;
		case 'g': gid = optarg; break;
		case 'M': mode = optarg; break;
		case 'k': r.mkdir = true; break;
		case 'd': r.dry_run = true; break;
		case 'h': mount_help(); return CTL_OK;
		default:
			return ctl_getopt_error(ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing DIR");
	if (optind + 1 < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!ps)
		return ctl_usage_error("missing --pagesize (2M, 1G)");
	r.dir = argv[optind];
	r.h = ctl_parse_hstate(ps, &status);
	if (!r.h)
		return status;
	if (size && ctl_parse_mount_size(size, r.h, "--size", r.size, sizeof(r.size)))
		return CTL_USAGE;
	if (min && ctl_parse_mount_size(min, r.h, "--min-size", r.min_size, sizeof(r.min_size)))
		return CTL_USAGE;
	if (r.size[0] && r.min_size[0] && !strchr(r.size, '%') && !strchr(r.min_size, '%') &&
	    strtoull(r.min_size, NULL, 10) > strtoull(r.size, NULL, 10))
		return ctl_error(CTL_USAGE, "--min-size %s is larger than --size %s", min, size);
	if (inodes && ctl_parse_inodes(inodes, "--nr-inodes", r.nr_inodes, sizeof(r.nr_inodes)))
		return CTL_USAGE;
	if (uid && ctl_parse_uid(uid, &r.uid))
		return CTL_USAGE;
	if (gid && ctl_parse_gid(gid, &r.gid))
		return CTL_USAGE;
	if (mode && ctl_parse_mode(mode, &r.mode))
		return CTL_USAGE;
	r.has_uid = uid != NULL;
	r.has_gid = gid != NULL;
	r.has_mode = mode != NULL;
	status = ctl_do_mount(&r);
	/* a directory --mkdir made is removed when the mount fails */
	if (status)
		ctl_undo_all();
	ctl_undo_forget();
	return status;
}

static void umount_help(void)
{
	printf("Usage: hugepool-ctl umount DIR [--lazy] [--dry-run]\n\n"
	       "Unmount the hugetlbfs mount on DIR (refuses any other filesystem).\n\n"
	       "  -l, --lazy      detach now, free when the last file is closed and unmapped\n"
	       "  -d, --dry-run   unmount nothing; say what would be unmounted\n"
	       "  -h, --help      this help\n");
}

int cmd_umount(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lazy", no_argument, NULL, 'l' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool lazy = false, dry = false;
	int ch;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":ldh", opts, NULL)) != -1) {
		switch (ch) {
		case 'l': lazy = true; break;
		case 'd': dry = true; break;
		case 'h': umount_help(); return CTL_OK;
		default:
			return ctl_getopt_error(ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing DIR");
	if (optind + 1 < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind + 1]);
	return ctl_do_umount(argv[optind], lazy, dry);
}
