/* SPDX-License-Identifier: MIT */
/*
 * ctl-thp.c - `hugepool-ctl thp`: the transparent huge page settings
 * (hugeadm --thp-always/--thp-madvise/--thp-never, --thp-khugepaged-*):
 * show enabled, defrag, shmem_enabled and khugepaged's knobs, and set the
 * first three and khugepaged/defrag. THP and hugetlb pages compete for the
 * same contiguous memory, which is why an administrator of one looks at
 * the other. Every value is checked against what this kernel offers (the
 * words of the file) before the first write; a failed write puts back
 * what was written.
 */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THP "/sys/kernel/mm/transparent_hugepage"

struct thp_set {
	const char *file;	/* below THP */
	const char *value;	/* NULL: leave alone */
	char old[64];
	bool written;
};

/* Is word one of the (bracketed or not) words of the file? */
static bool offered(const char *rel, const char *word, char *list, size_t len)
{
	char buf[256], *t, *save = NULL;
	bool found = false;

	list[0] = '\0';
	if (ctl_read_text(rel, buf, sizeof(buf)) <= 0)
		return false;
	for (t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		size_t n = strlen(t);

		if (t[0] == '[' && t[n - 1] == ']') {
			t[n - 1] = '\0';
			t++;
		}
		found |= !strcmp(t, word);
		if (strlen(list) + strlen(t) + 3 < len) {
			strcat(list, list[0] ? ", " : "");
			strcat(list, t);
		}
	}
	return found;
}

static void show(void)
{
	static const char *const modes[] = { "enabled", "defrag", "shmem_enabled" };
	static const char *const kh[] = { "defrag", "pages_to_scan", "scan_sleep_millisecs",
					  "alloc_sleep_millisecs", "max_ptes_none",
					  "pages_collapsed", "full_scans" };
	char rel[128], v[64], text[8192], *p;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		snprintf(rel, sizeof(rel), THP "/%s", modes[i]);
		ctl_bracketed(rel, v, sizeof(v));
		printf("%-28s %s\n", modes[i], v[0] ? v : "unavailable");
	}
	for (i = 0; i < ARRAY_SIZE(kh); i++) {
		snprintf(rel, sizeof(rel), THP "/khugepaged/%s", kh[i]);
		if (ctl_read_text(rel, v, sizeof(v)) <= 0)
			continue;
		v[strcspn(v, "\n")] = '\0';
		printf("khugepaged/%-17s %s\n", kh[i], v);
	}
	if (ctl_read_text("/proc/meminfo", text, sizeof(text)) > 0 &&
	    (p = strstr(text, "AnonHugePages:"))) {
		unsigned long long kb = strtoull(p + 14, NULL, 10);

		ctl_human(kb << 10, v, sizeof(v));
		printf("%-28s %s\n", "AnonHugePages (in use)", v);
	}
}

static void help(void)
{
	printf("Usage: hugepool-ctl thp [--enabled MODE] [--defrag MODE] [--shmem-enabled MODE]\n"
	       "                        [--khugepaged-defrag 0|1] [--dry-run]\n\n"
	       "Show the transparent huge page settings, or change them. THP competes\n"
	       "with the hugetlb pools for contiguous memory. Values are checked\n"
	       "against what this kernel offers before anything is written.\n\n"
	       "  -e, --enabled MODE        always, madvise or never\n"
	       "  -D, --defrag MODE         always, defer, defer+madvise, madvise, never\n"
	       "  -S, --shmem-enabled MODE  always, within_size, advise, never, deny, force\n"
	       "  -k, --khugepaged-defrag N 1: khugepaged compacts memory, 0: it does not\n"
	       "  -d, --dry-run             write nothing; say what would be written\n"
	       "  -h, --help                this help\n");
}

int cmd_thp(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "enabled", required_argument, NULL, 'e' },
		{ "defrag", required_argument, NULL, 'D' },
		{ "shmem-enabled", required_argument, NULL, 'S' },
		{ "khugepaged-defrag", required_argument, NULL, 'k' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct thp_set set[] = {
		{ "enabled", NULL, "", false }, { "defrag", NULL, "", false },
		{ "shmem_enabled", NULL, "", false }, { "khugepaged/defrag", NULL, "", false },
	};
	bool dry = false, any = false;
	char rel[128], path[512], list[160];
	size_t i;
	int ch, ret = CTL_OK;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":e:D:S:k:dh", opts, NULL)) != -1) {
		switch (ch) {
		case 'e': set[0].value = optarg; break;
		case 'D': set[1].value = optarg; break;
		case 'S': set[2].value = optarg; break;
		case 'k': set[3].value = optarg; break;
		case 'd': dry = true; break;
		case 'h': help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind]);
	snprintf(rel, sizeof(rel), THP "/enabled");
	if (ctl_read_text(rel, list, sizeof(list)) <= 0)
		return ctl_error(CTL_FAIL, "this kernel has no transparent huge pages (no %s)", THP);

	/* everything checked before the first write */
	for (i = 0; i < ARRAY_SIZE(set); i++) {
		if (!set[i].value)
			continue;
		any = true;
		snprintf(rel, sizeof(rel), THP "/%s", set[i].file);
		snprintf(path, sizeof(path), "%s%s", hp_sysfs_root, rel);
		if (i == 3) {
			if (strcmp(set[i].value, "0") && strcmp(set[i].value, "1"))
				return ctl_error(CTL_USAGE, "--khugepaged-defrag %s: expected 0 or 1",
						 set[i].value);
			if (ctl_read_text(rel, set[i].old, sizeof(set[i].old)) <= 0)
				return ctl_error(CTL_FAIL, "cannot read %s", path);
			set[i].old[strcspn(set[i].old, "\n")] = '\0';
		} else {
			if (!offered(rel, set[i].value, list, sizeof(list)))
				return ctl_error(list[0] ? CTL_USAGE : CTL_FAIL, "%s '%s': this kernel "
						 "offers %s", set[i].file, set[i].value,
						 list[0] ? list : "nothing (no such file)");
			ctl_bracketed(rel, set[i].old, sizeof(set[i].old));
		}
		if (access(path, W_OK))
			return ctl_error_errno(-errno, "cannot write", path);
	}
	if (!any) {
		show();
		return fflush(stdout) ? CTL_FAIL : CTL_OK;
	}
	for (i = 0; i < ARRAY_SIZE(set) && ret == CTL_OK; i++) {
		long n;

		if (!set[i].value)
			continue;
		snprintf(path, sizeof(path), "%s" THP "/%s", hp_sysfs_root, set[i].file);
		if (!strcmp(set[i].old, set[i].value)) {
			printf("%s: already %s\n", set[i].file, set[i].value);
			continue;
		}
		if (dry) {
			printf("%s: would write %s to %s (now %s)\n", set[i].file, set[i].value, path,
			       set[i].old);
			continue;
		}
		snprintf(list, sizeof(list), "%s\n", set[i].value);
		n = hp_sys_write_file(path, list, strlen(list));
		if (n < 0) {
			ret = ctl_error_errno((int)n, "cannot write", path);
			break;
		}
		set[i].written = true;
		printf("%s: %s -> %s\n", set[i].file, set[i].old, set[i].value);
	}
	/* put back, newest first, what was written before a failure */
	while (ret && i-- > 0)
		if (set[i].written) {
			snprintf(path, sizeof(path), "%s" THP "/%s", hp_sysfs_root, set[i].file);
			if (hp_sys_write_file(path, set[i].old, strlen(set[i].old)) < 0)
				ctl_warn("could not put %s back to %s", path, set[i].old);
			else
				printf("undone: %s back to %s\n", set[i].file, set[i].old);
		}
	return ret;
}
