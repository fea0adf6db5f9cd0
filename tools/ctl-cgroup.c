/* SPDX-License-Identifier: MIT */
/*
 * ctl-cgroup.c - the hugetlb cgroup view shared by `show` and `explain`:
 * which groups to look at (this process's, on v1 and on v2, or one named
 * with --cgroup PATH) and, per page size, the group's own counters and
 * the tightest limit along its ancestors (what the kernel enforces).
 * The reading itself is lib/cgroup.c, the same code the library plans
 * pool growth with.
 */
#include "ctl.h"

#include <limits.h>
#include <string.h>

int ctl_cgroup_locs(const char *path, struct hp_cgroup_loc *locs, int max)
{
	int n = 0, ret;

	if (path) {
		char full[HP_CG_PATH];

		/* a path below the test root, like every other file */
		snprintf(full, sizeof(full), "%s%s", hp_sysfs_root, path);
		ret = hp_cgroup_at(full, &locs[0]);
		if (ret)
			return ctl_error(-CTL_USAGE, "--cgroup %s is not a cgroup directory "
					 "(no cgroup.controllers, no tasks file)", path);
		return 1;
	}
	if (n < max && !hp_cgroup_find(1, &locs[n]))
		n++;
	if (n < max && !hp_cgroup_find(2, &locs[n])) {
		char p[HP_CG_PATH + 32], buf[512];
		long len;

		/* hugetlb available on the v2 hierarchy at all: the root's
		 * cgroup.controllers lists it (empty when v1 has it) */
		snprintf(p, sizeof(p), "%.*s/cgroup.controllers", (int)locs[n].mnt_len,
			 locs[n].dir);
		len = hp_sys_read_file(p, buf, sizeof(buf));
		if (len > 0 && strstr(buf, "hugetlb"))
			n++;
	}
	return n;
}

void ctl_cgroup_size(const struct hp_cgroup_loc *loc, const struct hp_hstate *h,
		     struct ctl_cg_size *out)
{
	char cur[HP_CG_PATH];

	memset(out, 0, sizeof(*out));
	out->limit = out->rsvd_limit = ULLONG_MAX;
	out->has_own = !hp_cgroup_hugetlb_read(loc->dir, loc->version, h->size, &out->own);
	snprintf(cur, sizeof(cur), "%s", loc->dir);
	for (;;) {
		struct hp_cgroup_hugetlb cg;
		char *slash;

		if (!hp_cgroup_hugetlb_read(cur, loc->version, h->size, &cg)) {
			if (!cg.limit_unlimited && cg.limit < out->limit) {
				out->limit = cg.limit;
				snprintf(out->limit_dir, sizeof(out->limit_dir), "%s",
					 cur + strlen(hp_sysfs_root));
			}
			if (cg.has_rsvd && !cg.rsvd_unlimited && cg.rsvd_limit < out->rsvd_limit) {
				out->rsvd_limit = cg.rsvd_limit;
				snprintf(out->rsvd_dir, sizeof(out->rsvd_dir), "%s",
					 cur + strlen(hp_sysfs_root));
			}
		}
		slash = strrchr(cur, '/');
		if (strlen(cur) <= loc->mnt_len || !slash || (size_t)(slash - cur) < loc->mnt_len)
			break;
		*slash = '\0';
	}
	out->room = hp_cgroup_hugetlb_room_at(loc, h->size);
}

/* "/sys/fs/cgroup/unified/app" without the test root */
const char *ctl_cgroup_name(const struct hp_cgroup_loc *loc)
{
	return loc->dir + strlen(hp_sysfs_root);
}

/* The file a limit is in, for a fix line. */
void ctl_cgroup_limit_file(const struct hp_cgroup_loc *loc, const char *dir, size_t size,
			   bool rsvd, char *buf, size_t len)
{
	char name[16];

	hp_cgroup_size_name(size, name, sizeof(name));
	if (loc->version == 1)
		snprintf(buf, len, "%s/hugetlb.%s.%slimit_in_bytes", dir, name, rsvd ? "rsvd." : "");
	else
		snprintf(buf, len, "%s/hugetlb.%s.%smax", dir, name, rsvd ? "rsvd." : "");
}
