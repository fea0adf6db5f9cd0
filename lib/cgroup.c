/* SPDX-License-Identifier: MIT */
/*
 * cgroup.c - the hugetlb cgroup of the calling process (or of any cgroup
 * directory): its limits, usage and refusals, cgroup v2 and v1, and how
 * many more pages of a size it would let this process fault and reserve.
 *
 * The hugetlb controller charges twice: a page when it is faulted (v2
 * hugetlb.<size>.max / .current, v1 .limit_in_bytes / .usage_in_bytes) and
 * the reservation made at mmap time (.rsvd.max / .rsvd.current, v1
 * .rsvd.limit_in_bytes / .rsvd.usage_in_bytes, kernel 5.7+). A fault over
 * the limit is a SIGBUS for a program that touches the page, so a pool must
 * never plan on pages the cgroup will refuse. Limits are hierarchical: the
 * room is the smallest over the group and all its ancestors.
 *
 * This runs inside malloc (pool growth): no FILE streams, no allocation, every
 * file read through hp_sys_read_file into stack buffers. Nothing is cached:
 * a process can be moved to another cgroup at any time (and a forked child
 * usually is, before it allocates).
 */
#include "internal.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* v1 shows "no limit" as PAGE_COUNTER_MAX pages in bytes (just below
 * 2^63); anything that large is no limit. */
#define CG_UNLIMITED_V1	(1ULL << 62)

/* The kernel's file-name form of a size (mem_fmt in mm/hugetlb_cgroup.c):
 * 2097152 -> "2MB", 1073741824 -> "1GB", 65536 -> "64KB". */
void hp_cgroup_size_name(size_t size, char *buf, size_t len)
{
	if (size >= (1UL << 30))
		snprintf(buf, len, "%zuGB", size >> 30);
	else if (size >= (1UL << 20))
		snprintf(buf, len, "%zuMB", size >> 20);
	else
		snprintf(buf, len, "%zuKB", size >> 10);
}

/* Next line of a buffer: NUL-terminates it in place. */
static char *next_line(char **cursor)
{
	char *s = *cursor, *nl;

	if (!s || !*s)
		return NULL;
	nl = strchr(s, '\n');
	if (nl) {
		*nl = '\0';
		*cursor = nl + 1;
	} else {
		*cursor = s + strlen(s);
	}
	return s;
}

/* Field i (0-based, space-separated) of a mountinfo line into out,
 * unescaping the kernel's \040-style octal. false if absent. */
static bool field(const char *line, int i, char *out, size_t len)
{
	const char *s = line;
	size_t n = 0;

	while (i-- > 0) {
		s = strchr(s, ' ');
		if (!s)
			return false;
		s++;
	}
	while (*s && *s != ' ') {
		char c = *s++;

		if (c == '\\' && s[0] >= '0' && s[0] <= '3' && s[1] >= '0' && s[1] <= '7' &&
		    s[2] >= '0' && s[2] <= '7') {
			c = (char)((s[0] - '0') * 64 + (s[1] - '0') * 8 + (s[2] - '0'));
			s += 3;
		}
		if (n + 1 >= len)
			return false;
		out[n++] = c;
	}
	out[n] = '\0';
	return n > 0;
}

/* Does the comma-separated list have word? */
static bool has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t l = end ? (size_t)(end - p) : strlen(p);

		if (l == wl && !strncmp(p, word, wl))
			return true;
		p = end ? end + 1 : NULL;
	}
	return false;
}

/*
 * The hierarchy's mount: reading mountinfo costs about 60 us (the rest of
 * a lookup about 20), and it runs when a pool plans to grow, so the mount
 * found is kept for the life of the process: a cgroup hierarchy is mounted
 * at boot and stays. The group (/proc/self/cgroup) is read every time.
 * One slot per version; published with a release store after it is
 * written by the one thread that claimed it (no lock: this runs inside
 * malloc, and in forked children).
 */
struct mnt_cache {
	int state;			/* 0 empty, 1 being written, 2 ready */
	char sysroot[128];		/* hp_sysfs_root it was found under */
	char root[256];			/* the mount's root in the hierarchy */
	char mnt[256];			/* where it is mounted */
};
static struct mnt_cache mnt_cache[3];	/* [version] */

/* The group's directory from a mount (root shown at mnt) and the path. */
static int dir_from(const char *root, const char *mnt, const char *cgpath,
		    struct hp_cgroup_loc *loc)
{
	size_t rl = strlen(root);

	if (!strcmp(root, "/"))
		rl = 0;
	else if (strncmp(cgpath, root, rl) || (cgpath[rl] && cgpath[rl] != '/'))
		return -ENOENT;	/* the group is outside what this mount shows */
	if ((size_t)snprintf(loc->dir, sizeof(loc->dir), "%s%s%s", hp_sysfs_root, mnt,
			     strcmp(cgpath + rl, "/") ? cgpath + rl : "") >= sizeof(loc->dir))
		return -ENAMETOOLONG;
	loc->mnt_len = strlen(hp_sysfs_root) + strlen(mnt);
	return 0;
}

static void cache_put(int version, const char *root, const char *mnt)
{
	struct mnt_cache *c = &mnt_cache[version];
	int empty = 0;

	if (strlen(hp_sysfs_root) >= sizeof(c->sysroot) ||
	    !__atomic_compare_exchange_n(&c->state, &empty, 1, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	strcpy(c->sysroot, hp_sysfs_root);
	snprintf(c->root, sizeof(c->root), "%s", root);
	snprintf(c->mnt, sizeof(c->mnt), "%s", mnt);
	__atomic_store_n(&c->state, 2, __ATOMIC_RELEASE);
}

/* Tests: forget the mounts found (a new fake tree). */
void hp_cgroup_reset(void)
{
	int v;

	for (v = 0; v < 3; v++)
		__atomic_store_n(&mnt_cache[v].state, 0, __ATOMIC_RELEASE);
}

/*
 * The mount of the hierarchy (v2: fstype cgroup2; v1: fstype cgroup with
 * the hugetlb option) whose root contains cgpath, and the group's directory
 * under it. The mount's root (field 4) matters in containers without a
 * cgroup namespace: /docker/<id> mounted on /sys/fs/cgroup.
 */
static int scan_mounts(int version, const char *cgpath, struct hp_cgroup_loc *loc)
{
	char buf[12288], path[256], *cur = buf, *line;
	long n;

	bool info = true;

	snprintf(path, sizeof(path), "%s/proc/self/mountinfo", hp_sysfs_root);
	n = hp_sys_read_file(path, buf, sizeof(buf));
	if (n < 0) {
		/* no mountinfo (a minimal /proc, a test's fake tree): the
		 * mounts table, whose lines have no mount root */
		snprintf(path, sizeof(path), "%s/proc/mounts", hp_sysfs_root);
		n = hp_sys_read_file(path, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		info = false;
	}
	while ((line = next_line(&cur))) {
		char root[256] = "/", mnt[256], fstype[32], super[256];
		const char *sep = info ? strstr(line, " - ") : line;
		int ret;

		if (!info) {
			/* "src dir type opts 0 0": the same fields as after
			 * " - " in mountinfo, but dir first */
			if (!field(line, 1, mnt, sizeof(mnt)) ||
			    !field(line, 2, fstype, sizeof(fstype)))
				continue;
			if (version == 1 && (strcmp(fstype, "cgroup") ||
					     !field(line, 3, super, sizeof(super)) ||
					     !has_word(super, "hugetlb")))
				continue;
			if (version == 2 && strcmp(fstype, "cgroup2"))
				continue;
			goto found;
		}
		if (!sep || !field(line, 3, root, sizeof(root)) ||
		    !field(line, 4, mnt, sizeof(mnt)) ||
		    !field(sep + 3, 0, fstype, sizeof(fstype)))
			continue;
		if (version == 2 && strcmp(fstype, "cgroup2"))
			continue;
		if (version == 1 && (strcmp(fstype, "cgroup") || !field(sep + 3, 2, super, sizeof(super)) ||
				     !has_word(super, "hugetlb")))
			continue;
found:
		ret = dir_from(root, mnt, cgpath, loc);
		if (ret == -ENOENT)
			continue;
		if (!ret)
			cache_put(version, root, mnt);
		return ret;
	}
	return -ENOENT;
}

static int find_dir(int version, const char *cgpath, struct hp_cgroup_loc *loc)
{
	const struct mnt_cache *c = &mnt_cache[version];

	if (__atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == 2 &&
	    !strcmp(c->sysroot, hp_sysfs_root) && !dir_from(c->root, c->mnt, cgpath, loc))
		return 0;
	return scan_mounts(version, cgpath, loc);
}

/* The group paths of /proc/self/cgroup: "0::/path" (v2) and
 * "N:ctrl,ctrl:/path" for the v1 hierarchy that has hugetlb. */
static int self_paths(char *v1path, char *v2path, size_t len)
{
	char buf[4096], path[256], *cur = buf, *line;
	long n;

	v1path[0] = v2path[0] = '\0';
	snprintf(path, sizeof(path), "%s/proc/self/cgroup", hp_sysfs_root);
	n = hp_sys_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	while ((line = next_line(&cur))) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2 || c2[1] != '/')
			continue;
		*c2 = '\0';
		if (!strcmp(line, "0:") && c1[1] == '\0')
			snprintf(v2path, len, "%s", c2 + 1);
		else if (has_word(c1 + 1, "hugetlb"))
			snprintf(v1path, len, "%s", c2 + 1);
	}
	return 0;
}

int hp_cgroup_self(struct hp_cgroup_loc *loc)
{
	char v1path[256], v2path[256];
	int ret;

	/* one read of /proc/self/cgroup, and of mountinfo in the common
	 * case: this runs when a pool plans to grow */
	memset(loc, 0, sizeof(*loc));
	ret = self_paths(v1path, v2path, sizeof(v1path));
	if (ret)
		return ret;
	/* the controller is on one hierarchy at a time: a v1 hugetlb line
	 * (and its mount) means v1, else v2 */
	if (v1path[0] && !find_dir(1, v1path, loc)) {
		loc->version = 1;
		return 0;
	}
	if (v2path[0] && !find_dir(2, v2path, loc)) {
		loc->version = 2;
		return 0;
	}
	return -ENOENT;
}

int hp_cgroup_find(int version, struct hp_cgroup_loc *loc)
{
	char v1path[256], v2path[256];
	const char *p;
	int ret;

	memset(loc, 0, sizeof(*loc));
	ret = self_paths(v1path, v2path, sizeof(v1path));
	if (ret)
		return ret;
	p = version == 1 ? v1path : v2path;
	if (!p[0] || find_dir(version, p, loc))
		return -ENOENT;
	loc->version = version;
	return 0;
}

int hp_cgroup_at(const char *dir, struct hp_cgroup_loc *loc)
{
	char path[HP_CG_PATH + 32], buf[64], d[HP_CG_PATH];
	int version;

	/* dir may be loc->dir itself */
	if ((size_t)snprintf(d, sizeof(d), "%s", dir) >= sizeof(d))
		return -ENAMETOOLONG;
	dir = d;
	memset(loc, 0, sizeof(*loc));
	/* v2 groups have cgroup.controllers, v1 groups a tasks file */
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	if (hp_sys_read_file(path, buf, sizeof(buf)) >= 0) {
		version = 2;
	} else {
		snprintf(path, sizeof(path), "%s/tasks", dir);
		if (hp_sys_read_file(path, buf, sizeof(buf)) < 0)
			return -ENOENT;
		version = 1;
	}
	loc->version = version;
	snprintf(loc->dir, sizeof(loc->dir), "%s", dir);
	loc->mnt_len = strlen(dir);	/* no walking above what was named */
	return 0;
}

/* One value: "max" -> *unlimited, a number of bytes -> *out. */
static int read_val(const char *dir, const char *file, unsigned long long *out, bool *unlimited)
{
	char path[HP_CG_PATH + 64], buf[64];
	unsigned long ul;
	long n;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	n = hp_sys_read_file(path, buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	if (unlimited)
		*unlimited = false;
	if (!strcmp(buf, "max")) {
		if (!unlimited)
			return -EINVAL;
		*unlimited = true;
		*out = ULLONG_MAX;
		return 0;
	}
	if (hp_parse_ulong(buf, &ul))
		return -EINVAL;
	*out = ul;
	if (unlimited && ul >= CG_UNLIMITED_V1) {
		*unlimited = true;
		*out = ULLONG_MAX;
	}
	return 0;
}

/* hugetlb.<size>.events (v2): "max N" */
static int read_events(const char *dir, const char *file, unsigned long long *out)
{
	char path[HP_CG_PATH + 64], buf[256], *p;
	unsigned long ul;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
		return -ENAMETOOLONG;
	if (hp_sys_read_file(path, buf, sizeof(buf)) < 0)
		return -ENOENT;
	p = strstr(buf, "max ");
	if (!p || (p != buf && p[-1] != '\n'))
		return -EINVAL;
	p += 4;
	{
		char num[32];
		size_t i = 0;

		while (p[i] >= '0' && p[i] <= '9' && i + 1 < sizeof(num)) {
			num[i] = p[i];
			i++;
		}
		num[i] = '\0';
		if (hp_parse_ulong(num, &ul))
			return -EINVAL;
	}
	*out = ul;
	return 0;
}

int hp_cgroup_hugetlb_read(const char *dir, int version, size_t page_size,
			   struct hp_cgroup_hugetlb *out)
{
	char sz[16], f[64];
	int ret;

	memset(out, 0, sizeof(*out));
	out->version = version;
	out->limit = out->rsvd_limit = ULLONG_MAX;
	out->limit_unlimited = out->rsvd_unlimited = true;
	hp_cgroup_size_name(page_size, sz, sizeof(sz));
	if (version == 2) {
		/* .current exists on every group with the controller
		 * (the root too); .max and .events not on the root */
		snprintf(f, sizeof(f), "hugetlb.%s.current", sz);
		ret = read_val(dir, f, &out->usage, NULL);
		if (ret)
			return ret;
		snprintf(f, sizeof(f), "hugetlb.%s.max", sz);
		if (!read_val(dir, f, &out->limit, &out->limit_unlimited))
			out->has_limit = true;
		snprintf(f, sizeof(f), "hugetlb.%s.rsvd.current", sz);
		out->has_rsvd = !read_val(dir, f, &out->rsvd_usage, NULL);
		snprintf(f, sizeof(f), "hugetlb.%s.rsvd.max", sz);
		if (out->has_rsvd && read_val(dir, f, &out->rsvd_limit, &out->rsvd_unlimited))
			out->rsvd_unlimited = true;
		snprintf(f, sizeof(f), "hugetlb.%s.events", sz);
		out->has_events = !read_events(dir, f, &out->events_max);
		return 0;
	}
	if (version != 1)
		return -EINVAL;
	snprintf(f, sizeof(f), "hugetlb.%s.usage_in_bytes", sz);
	ret = read_val(dir, f, &out->usage, NULL);
	if (ret)
		return ret;
	snprintf(f, sizeof(f), "hugetlb.%s.limit_in_bytes", sz);
	out->has_limit = !read_val(dir, f, &out->limit, &out->limit_unlimited);
	snprintf(f, sizeof(f), "hugetlb.%s.failcnt", sz);
	out->has_events = !read_val(dir, f, &out->events_max, NULL);
	snprintf(f, sizeof(f), "hugetlb.%s.rsvd.usage_in_bytes", sz);
	out->has_rsvd = !read_val(dir, f, &out->rsvd_usage, NULL);
	snprintf(f, sizeof(f), "hugetlb.%s.rsvd.limit_in_bytes", sz);
	if (out->has_rsvd && read_val(dir, f, &out->rsvd_limit, &out->rsvd_unlimited))
		out->rsvd_unlimited = true;
	snprintf(f, sizeof(f), "hugetlb.%s.rsvd.failcnt", sz);
	out->has_rsvd_events = !read_val(dir, f, &out->rsvd_events, NULL);
	return 0;
}

/* Pages still allowed under one limit. */
static long pages_left(bool unlimited, unsigned long long limit, unsigned long long usage,
		       size_t page_size)
{
	unsigned long long left;

	if (unlimited)
		return LONG_MAX;
	left = limit > usage ? (limit - usage) / page_size : 0;
	return left > (unsigned long long)LONG_MAX ? LONG_MAX : (long)left;
}

long hp_cgroup_hugetlb_room_at(const struct hp_cgroup_loc *loc, size_t page_size)
{
	char cur[HP_CG_PATH];
	long room = LONG_MAX;

	snprintf(cur, sizeof(cur), "%s", loc->dir);
	/*
	 * Up to the hierarchy's root. A v2 group whose parent does not enable
	 * hugetlb has no files of its own: its pages are charged to the
	 * nearest ancestor that does, whose limits apply, so keep walking.
	 */
	for (;;) {
		struct hp_cgroup_hugetlb cg;
		char *slash;
		long l;

		if (!hp_cgroup_hugetlb_read(cur, loc->version, page_size, &cg)) {
			l = pages_left(cg.limit_unlimited, cg.limit, cg.usage, page_size);
			if (l < room)
				room = l;
			if (cg.has_rsvd) {
				l = pages_left(cg.rsvd_unlimited, cg.rsvd_limit, cg.rsvd_usage,
					       page_size);
				if (l < room)
					room = l;
			}
		}
		slash = strrchr(cur, '/');
		if (strlen(cur) <= loc->mnt_len || !slash || (size_t)(slash - cur) < loc->mnt_len)
			break;
		*slash = '\0';
	}
	return room;
}

long hp_cgroup_hugetlb_room(size_t page_size)
{
	struct hp_cgroup_loc loc;

	if (hp_cgroup_self(&loc))
		return LONG_MAX;	/* no hugetlb controller: nothing limits */
	return hp_cgroup_hugetlb_room_at(&loc, page_size);
}
