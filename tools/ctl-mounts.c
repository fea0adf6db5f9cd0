/* SPDX-License-Identifier: MIT */
/*
 * ctl-mounts.c - hugetlbfs mounts: reading /proc/mounts, and mounting and
 * unmounting with mount(2)/umount2(2) directly (no mount(8) to find, parse
 * or trust).
 *
 * /proc/mounts is read with getline and parsed here: getmntent's buffer is
 * 4 KiB in glibc and a longer line (long overlay options, deep paths) comes
 * back split in two. Fields are octal-escaped by the kernel (\040 for a
 * space).
 */
#include "ctl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

/* Next space-separated field of line, unescaped in place. */
static char *next_field(char **cursor)
{
	char *s = *cursor, *out, *start;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s || *s == '\n')
		return NULL;
	start = out = s;
	while (*s && *s != ' ' && *s != '\t' && *s != '\n') {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 4;
		} else {
			*out++ = *s++;
		}
	}
	if (*s)
		s++;
	*out = '\0';
	*cursor = s;
	return start;
}

int ctl_mounts_read(struct ctl_mounts *out)
{
	char path[512], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	out->m = NULL;
	out->n = 0;
	snprintf(path, sizeof(path), "%s/proc/mounts", hp_sysfs_root);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((n = getline(&line, &cap, f)) > 0) {
		char *cur = line, *src, *dir, *type, *opts;
		struct ctl_mount *m;

		src = next_field(&cur);
		dir = next_field(&cur);
		type = next_field(&cur);
		opts = next_field(&cur);
		if (!src || !dir || !type)
			continue;	/* not a mount line */
		m = realloc(out->m, (out->n + 1) * sizeof(*m));
		if (!m)
			break;
		out->m = m;
		m = &out->m[out->n++];
		m->src = strdup(src);
		m->dir = strdup(dir);
		m->type = strdup(type);
		m->opts = strdup(opts ? opts : "");
		if (!m->src || !m->dir || !m->type || !m->opts) {
			fclose(f);
			free(line);
			ctl_mounts_free(out);
			return -ENOMEM;
		}
	}
	free(line);
	fclose(f);
	return 0;
}

void ctl_mounts_free(struct ctl_mounts *ms)
{
	size_t i;

	for (i = 0; i < ms->n; i++) {
		free(ms->m[i].src);
		free(ms->m[i].dir);
		free(ms->m[i].type);
		free(ms->m[i].opts);
	}
	free(ms->m);
	ms->m = NULL;
	ms->n = 0;
}

bool ctl_opt_get(const char *opts, const char *key, char *val, size_t len)
{
	size_t klen = strlen(key);
	const char *p = opts;

	while (p && *p) {
		const char *end = strchr(p, ',');
		size_t flen = end ? (size_t)(end - p) : strlen(p);

		if (flen > klen && !strncmp(p, key, klen) && p[klen] == '=') {
			size_t vlen = flen - klen - 1;

			if (vlen >= len)
				vlen = len - 1;
			memcpy(val, p + klen + 1, vlen);
			val[vlen] = '\0';
			return true;
		}
		if (flen == klen && !strncmp(p, key, klen)) {
			val[0] = '\0';
			return true;
		}
		p = end ? end + 1 : NULL;
	}
	return false;
}

size_t ctl_mount_pagesize(const struct ctl_mount *m)
{
	const struct hp_hstate *def = hp_default_hstate();
	char v[64];
	size_t size;

	/* the kernel prints pagesize=1024M for 1 GiB pages */
	if (ctl_opt_get(m->opts, "pagesize", v, sizeof(v)) && !hp_parse_size(v, &size))
		return size;
	return def ? def->size : 0;
}

const struct ctl_mount *ctl_mount_find(const struct ctl_mounts *ms, const char *dir)
{
	const struct ctl_mount *found = NULL;
	size_t i;

	for (i = 0; i < ms->n; i++)
		if (!strcmp(ms->m[i].dir, dir))
			found = &ms->m[i];	/* the topmost is listed last */
	return found && !strcmp(found->type, "hugetlbfs") ? found : NULL;
}

/* ------------------------------------------------------------------------
 * mount / umount
 * ------------------------------------------------------------------------ */
static void build_opts(const struct ctl_mount_req *r, char *buf, size_t len)
{
	char sz[32];
	size_t off;

	ctl_size_str(r->h->size, sz, sizeof(sz));
	off = (size_t)snprintf(buf, len, "pagesize=%s", sz);
	if (r->size[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, ",size=%s", r->size);
	if (r->min_size[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, ",min_size=%s", r->min_size);
	if (r->nr_inodes[0] && off < len)
		off += (size_t)snprintf(buf + off, len - off, ",nr_inodes=%s", r->nr_inodes);
	if (r->has_uid && off < len)
		off += (size_t)snprintf(buf + off, len - off, ",uid=%u", (unsigned int)r->uid);
	if (r->has_gid && off < len)
		off += (size_t)snprintf(buf + off, len - off, ",gid=%u", (unsigned int)r->gid);
	if (r->has_mode && off < len)
		snprintf(buf + off, len - off, ",mode=0%o", (unsigned int)r->mode);
}

/* Does the mounted m already have what r asks for? Percentages are
 * resolved by the kernel at mount time and cannot be compared: accepted. */
static bool same_mount(const struct ctl_mount *m, const struct ctl_mount_req *r,
		       char *why, size_t len)
{
	char v[64];
	unsigned long ul;

	if (ctl_mount_pagesize(m) != r->h->size) {
		snprintf(why, len, "pagesize differs");
		return false;
	}
	if (!strchr(r->size, '%')) {
		bool has = ctl_opt_get(m->opts, "size", v, sizeof(v));

		if (has != (r->size[0] != '\0') || (has && strcmp(v, r->size))) {
			snprintf(why, len, "size differs");
			return false;
		}
	}
	if (!strchr(r->min_size, '%')) {
		bool has = ctl_opt_get(m->opts, "min_size", v, sizeof(v));

		if (has != (r->min_size[0] != '\0') || (has && strcmp(v, r->min_size))) {
			snprintf(why, len, "min_size differs");
			return false;
		}
	}
	if (r->nr_inodes[0] && (!ctl_opt_get(m->opts, "nr_inodes", v, sizeof(v)) ||
				strcmp(v, r->nr_inodes))) {
		snprintf(why, len, "nr_inodes differs");
		return false;
	}
	/* the kernel omits uid=0, gid=0 and mode=755 */
	if (r->has_uid && (ctl_opt_get(m->opts, "uid", v, sizeof(v)) ?
			   (hp_parse_ulong(v, &ul) || ul != r->uid) : r->uid != 0)) {
		snprintf(why, len, "uid differs");
		return false;
	}
	if (r->has_gid && (ctl_opt_get(m->opts, "gid", v, sizeof(v)) ?
			   (hp_parse_ulong(v, &ul) || ul != r->gid) : r->gid != 0)) {
		snprintf(why, len, "gid differs");
		return false;
	}
	if (r->has_mode) {
		mode_t mode = 0755;

		if (ctl_opt_get(m->opts, "mode", v, sizeof(v)))
			mode = (mode_t)strtoul(v, NULL, 8);
		if (mode != r->mode) {
			snprintf(why, len, "mode differs");
			return false;
		}
	}
	return true;
}

/* mkdir -p that remembers each directory it made (ctl-undo.c), so that a
 * failed mount removes them again */
static int mkdir_p(const char *dir)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(dir);

	if (n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		/* only what did not exist is remembered for removal: never a
		 * directory that was there before (even if mkdir says 0) */
		if (access(buf, F_OK) == 0) {
			buf[i] = dir[i];
			continue;
		}
		if (mkdir(buf, 0755)) {
			if (errno != EEXIST)
				return -errno;
		} else {
			ctl_undo_dir(buf);
		}
		buf[i] = dir[i];
	}
	return 0;
}

/* The deepest existing ancestor of a missing dir (where mkdir -p starts). */
static int existing_parent(const char *dir, char *out, size_t len)
{
	struct stat st;
	char *slash;

	if (strlen(dir) >= len)
		return -ENAMETOOLONG;
	strcpy(out, dir);
	for (;;) {
		slash = strrchr(out, '/');
		if (!slash) {
			strcpy(out, ".");
			break;
		}
		if (slash == out)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (!stat(out, &st) || errno != ENOENT || slash == out)
			break;
	}
	return 0;
}

/* min_size in pages for a mount of r when the pool of its size has
 * persistent pages: a percentage is of the pool (hugetlbfs_size_to_hpages
 * takes it of max_huge_pages). */
static unsigned long min_pages(const struct ctl_mount_req *r, unsigned long persistent)
{
	unsigned long long v = strtoull(r->min_size, NULL, 10);

	if (!r->min_size[0])
		return 0;
	if (strchr(r->min_size, '%'))
		return (unsigned long)(v * persistent / 100);
	return (unsigned long)(v / r->h->size);
}

int ctl_mount_check(const struct ctl_mount_req *r, const struct ctl_pool_plan *plan,
		    unsigned long *claimed)
{
	const char *w = r->where ? r->where : "";
	char real[PATH_MAX], parent[PATH_MAX], why[64], sz[32];
	struct ctl_mounts ms;
	const struct ctl_mount *cur;
	struct stat st;
	bool missing = false;
	int ret;

	if (stat(r->dir, &st)) {
		if (errno != ENOENT)
			return ctl_error(CTL_FAIL, "%smount point %s: %s", w, r->dir, strerror(errno));
		if (!r->mkdir)
			return ctl_error(CTL_FAIL, "%smount point %s does not exist "
					 "(create it, or use --mkdir)", w, r->dir);
		missing = true;
		ret = existing_parent(r->dir, parent, sizeof(parent));
		if (ret)
			return ctl_error_errno(ret, "cannot create mount point", r->dir);
		if (stat(parent, &st))
			return ctl_error(CTL_FAIL, "%scannot create mount point %s: %s: %s", w,
					 r->dir, parent, strerror(errno));
		if (!S_ISDIR(st.st_mode))
			return ctl_error(CTL_FAIL, "%scannot create mount point %s: %s is not a "
					 "directory", w, r->dir, parent);
		if (access(parent, W_OK))
			return ctl_error_errno(-errno, "cannot create mount point", r->dir);
	} else if (!S_ISDIR(st.st_mode)) {
		return ctl_error(CTL_FAIL, "%smount point %s is not a directory", w, r->dir);
	}
	if (!missing) {
		if (!realpath(r->dir, real))
			return ctl_error(CTL_FAIL, "%smount point %s: %s", w, r->dir,
					 strerror(errno));
		ret = ctl_mounts_read(&ms);
		if (ret)
			return ctl_error(CTL_FAIL, "cannot read /proc/mounts: %s", strerror(-ret));
		cur = ctl_mount_find(&ms, real);
		if (cur) {
			bool same = same_mount(cur, r, why, sizeof(why));

			if (same && r->idempotent) {
				ctl_mounts_free(&ms);
				return CTL_OK;	/* nothing to do, nothing to check */
			}
			ret = ctl_error(CTL_FAIL, "%s%s is already a hugetlbfs mount (%s)%s%s; "
					"unmount it first", w, real, cur->opts,
					same ? "" : ": ", same ? "" : why);
			ctl_mounts_free(&ms);
			return ret;
		}
		ctl_mounts_free(&ms);
	} else {
		snprintf(real, sizeof(real), "%s", r->dir);
	}
	if (!ctl_can_mount())
		return ctl_error(CTL_FAIL, "%smount %s: %s (this needs root: CAP_SYS_ADMIN)",
				 w, real, strerror(EPERM));
	if (r->min_size[0]) {
		unsigned long fr = 0, rs = 0, nr = 0, surplus = 0, over = 0, persistent;
		unsigned long want, have, room;
		long delta = plan ? plan->delta : 0;

		if (ctl_read(r->h, -1, "free_hugepages", &fr) ||
		    ctl_read(r->h, -1, "resv_hugepages", &rs) ||
		    ctl_read(r->h, -1, "nr_hugepages", &nr) ||
		    ctl_read(r->h, -1, "surplus_hugepages", &surplus))
			return ctl_error(CTL_FAIL, "%scannot read the pool's counters", w);
		(void)ctl_read(r->h, -1, "nr_overcommit_hugepages", &over);
		if (plan && plan->set_over)
			over = plan->over;
		persistent = nr - (surplus < nr ? surplus : nr);
		if (delta < 0 && (unsigned long)-delta > persistent)
			delta = -(long)persistent;
		want = min_pages(r, (unsigned long)((long)persistent + delta));
		have = fr > rs ? fr - rs : 0;
		if (delta < 0)
			have = have > (unsigned long)-delta ? have - (unsigned long)-delta : 0;
		else
			have += (unsigned long)delta;
		/* the reservation can also take surplus pages, if overcommit
		 * allows and memory is there: only more than that is sure
		 * to fail */
		room = over > surplus ? over - surplus : 0;
		if (want + (claimed ? *claimed : 0) > have + room) {
			ctl_size_str(r->h->size, sz, sizeof(sz));
			return ctl_error(CTL_FAIL, "%smount %s: min_size=%s (%lu pages) cannot be "
					 "reserved: %lu %s pages %s free and unreserved%s", w, real,
					 r->min_size, want, have, sz, delta || plan ? "would be" : "are",
					 claimed && *claimed ? " (less what mounts before this "
					 "one reserve)" : "");
		}
		if (claimed)
			*claimed += want;
	}
	return CTL_OK;
}

int ctl_do_mount(const struct ctl_mount_req *r)
{
	const char *w = r->where ? r->where : "";
	struct ctl_mounts ms;
	const struct ctl_mount *cur;
	char real[PATH_MAX], opts[256], sz[32];
	struct stat st;
	bool missing;
	int ret;

	/* the same checks as the dry run, against the pools as they are now
	 * (apply has resized them already) */
	if (!(r->dry_run && r->checked)) {
		ret = ctl_mount_check(r, NULL, NULL);
		if (ret)
			return ret;
	}
	build_opts(r, opts, sizeof(opts));
	missing = stat(r->dir, &st) != 0;
	if (missing && r->dry_run) {
		printf("%swould create %s and mount hugetlbfs there with %s\n", w, r->dir, opts);
		return CTL_OK;
	}
	if (missing) {
		ret = mkdir_p(r->dir);
		if (ret)
			return ctl_error_errno(ret, "cannot create mount point", r->dir);
	}
	if (!realpath(r->dir, real))
		return ctl_error(CTL_FAIL, "%smount point %s: %s", w, r->dir, strerror(errno));
	ret = ctl_mounts_read(&ms);
	if (ret)
		return ctl_error(CTL_FAIL, "cannot read /proc/mounts: %s", strerror(-ret));
	cur = ctl_mount_find(&ms, real);
	if (cur) {
		/* ctl_mount_check let it through: identical, and idempotent */
		printf("%shugetlbfs already mounted on %s (%s)\n", w, real, cur->opts);
		ctl_mounts_free(&ms);
		return CTL_OK;
	}
	ctl_mounts_free(&ms);
	if (r->dry_run) {
		printf("%swould mount hugetlbfs on %s with %s\n", w, real, opts);
		return CTL_OK;
	}
	/* nodev, nosuid: a memory filesystem has no business with either */
	if (mount("hugetlbfs", real, "hugetlbfs", MS_NODEV | MS_NOSUID, opts)) {
		int e = errno;

		ctl_size_str(r->h->size, sz, sizeof(sz));
		if (e == EPERM)
			return ctl_error(CTL_FAIL, "%smount %s: %s (this needs root: CAP_SYS_ADMIN)",
					 w, real, strerror(e));
		if (e == ENOMEM && r->min_size[0]) {
			unsigned long fr = 0, rs = 0;

			ctl_read(r->h, -1, "free_hugepages", &fr);
			ctl_read(r->h, -1, "resv_hugepages", &rs);
			return ctl_error(CTL_FAIL, "%smount %s: min_size=%s cannot be reserved: "
					 "%lu %s pages are free and unreserved",
					 w, real, r->min_size, fr > rs ? fr - rs : 0, sz);
		}
		return ctl_error(CTL_FAIL, "%smount %s with %s: %s", w, real, opts, strerror(e));
	}
	ctl_undo_mount(real);
	printf("%smounted hugetlbfs on %s with %s\n", w, real, opts);
	return CTL_OK;
}

int ctl_do_umount(const char *dir, bool lazy, bool dry_run)
{
	struct ctl_mounts ms;
	char real[PATH_MAX];
	bool found;
	int ret;

	if (!realpath(dir, real)) {
		if (errno == ENOENT)
			return ctl_error(CTL_FAIL, "%s does not exist", dir);
		return ctl_error(CTL_FAIL, "%s: %s", dir, strerror(errno));
	}
	ret = ctl_mounts_read(&ms);
	if (ret)
		return ctl_error(CTL_FAIL, "cannot read /proc/mounts: %s", strerror(-ret));
	found = ctl_mount_find(&ms, real) != NULL;
	ctl_mounts_free(&ms);
	/* only ours to remove: never unmount something that is not hugetlbfs */
	if (!found)
		return ctl_error(CTL_FAIL, "%s is not a hugetlbfs mount", real);
	if (dry_run) {
		printf("would unmount hugetlbfs from %s\n", real);
		return CTL_OK;
	}
	if (umount2(real, lazy ? MNT_DETACH : 0)) {
		int e = errno;

		if (e == EBUSY)
			return ctl_error(CTL_FAIL, "%s is busy: files there are open or mapped "
					 "(--lazy detaches it now and frees it when unused)", real);
		if (e == EPERM)
			return ctl_error(CTL_FAIL, "umount %s: %s (this needs root: CAP_SYS_ADMIN)",
					 real, strerror(e));
		return ctl_error(CTL_FAIL, "umount %s: %s", real, strerror(e));
	}
	printf("unmounted hugetlbfs from %s\n", real);
	return CTL_OK;
}

bool ctl_mount_is_hugetlbfs(const struct ctl_mount *m, size_t only)
{
	return !strcmp(m->type, "hugetlbfs") && (!only || ctl_mount_pagesize(m) == only);
}
