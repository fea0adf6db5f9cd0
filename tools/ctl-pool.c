/* SPDX-License-Identifier: MIT */
/*
 * ctl-pool.c - change one kernel huge page pool (nr_hugepages of a size,
 * globally or on one node, and nr_overcommit_hugepages) and read it back.
 *
 * The kernel accepts any count and quietly stops when it runs out of
 * (contiguous) memory, so the write is never trusted: the pool is read back
 * and a short pool is an error that says how many pages there are. Shared by
 * `set` and `apply`.
 */
#include "ctl.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int ctl_persistent(const struct hp_hstate *h, int node, unsigned long *out)
{
	unsigned long nr, surplus;
	int ret;

	if ((ret = ctl_read(h, node, "nr_hugepages", &nr)) ||
	    (ret = ctl_read(h, node, "surplus_hugepages", &surplus)))
		return ret;
	/* writing nr_hugepages sets the persistent pool: surplus pages in
	 * use are on top of it (set_max_huge_pages) */
	*out = nr - (surplus < nr ? surplus : nr);
	return 0;
}

static void label(const struct ctl_pool_change *c, char *buf, size_t len)
{
	char sz[32];

	ctl_size_str(c->h->size, sz, sizeof(sz));
	if (c->node >= 0)
		snprintf(buf, len, "%s%s node %d", c->where ? c->where : "", sz, c->node);
	else
		snprintf(buf, len, "%s%s", c->where ? c->where : "", sz);
}

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* Gigantic pages need a physically contiguous gigabyte: between retries,
 * ask the kernel to compact memory. Best effort. */
static void compact(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/proc/sys/vm/compact_memory", hp_sysfs_root);
	(void)hp_sys_write_file(path, "1\n", 2);
}

/* --dry-run cannot try the write; say when it would be refused */
static const char *dry_hint(const char *path)
{
	return access(path, W_OK) && (errno == EACCES || errno == EPERM) ?
	       " [but this user may not write it: needs root]" : "";
}

/* Why the pool is short, as far as we can tell. */
static const char *short_reason(const struct ctl_pool_change *c, bool retried)
{
	static char buf[160];
	char text[4096], *p, mem[32];
	unsigned long long total_kb = 0;

	if (ctl_read_text("/proc/meminfo", text, sizeof(text)) > 0 &&
	    (p = strstr(text, "MemTotal:")))
		total_kb = strtoull(p + 9, NULL, 10);
	if (total_kb && (unsigned long long)c->count * (c->h->size >> 10) > total_kb) {
		ctl_human(total_kb << 10, mem, sizeof(mem));
		snprintf(buf, sizeof(buf), "that is more than the %s of memory this machine has",
			 mem);
		return buf;
	}
	if (retried)
		return "not enough free contiguous memory, even after retrying";
	return "not enough free contiguous memory; --retry SECONDS keeps trying";
}

static int set_count(const struct ctl_pool_change *c, const char *lbl)
{
	unsigned long cur, got;
	uint64_t deadline = now_s() + c->retry_s;
	char path[512];
	bool progress = false, retried = false;
	int ret, tries = 0;

	ctl_path(c->h, c->node, "nr_hugepages", path, sizeof(path));
	ret = ctl_persistent(c->h, c->node, &cur);
	if (ret)
		return ctl_error_errno(ret, "cannot read", path);
	if (cur == c->count) {
		printf("%s: nr_hugepages already %lu\n", lbl, cur);
		return CTL_OK;
	}
	if (c->dry_run) {
		printf("%s: would write %lu to %s (now %lu, %+ld pages)%s\n", lbl, c->count, path,
		       cur, (long)c->count - (long)cur, dry_hint(path));
		return CTL_OK;
	}
	ctl_undo_count(c->h, c->node, cur);
	for (;;) {
		ret = ctl_write(c->h, c->node, "nr_hugepages", c->count);
		if (ret) {
			if (progress)
				fputc('\n', stderr);
			return ctl_error_errno(ret, "cannot write", path);
		}
		ret = ctl_persistent(c->h, c->node, &got);
		if (ret)
			return ctl_error_errno(ret, "cannot read back", path);
		tries++;
		retried = tries > 1;
		if (got == c->count || (got > c->count && c->count > cur))
			break;
		if (got > c->count) {
			/* shrinking cannot leave more persistent pages unless
			 * someone else wrote in between */
			if (progress)
				fputc('\n', stderr);
			return ctl_error(CTL_FAIL, "%s: asked for %lu pages, the pool has %lu "
					 "(changed by someone else?)", lbl, c->count, got);
		}
		if (!c->retry_s || now_s() >= deadline) {
			if (progress)
				fputc('\n', stderr);
			return ctl_error(CTL_FAIL, "%s: asked for %lu pages, the kernel gave %lu "
					 "(%lu short: %s); nr_hugepages is now %lu",
					 lbl, c->count, got, c->count - got,
					 short_reason(c, retried), got);
		}
		if (ctl_tty()) {
			fprintf(stderr, "\r%s: %lu of %lu pages, retrying for %llus  ", lbl, got,
				c->count, (unsigned long long)(deadline - now_s()));
			progress = true;
		}
		if (c->h->size >= (1UL << 30))
			compact();
		sleep(1);
	}
	if (progress)
		fputc('\n', stderr);
	{
		unsigned long surplus = 0;
		char note[96] = "";

		/* shrinking below what is in use: the kernel keeps those pages
		 * as surplus and frees them when they are released */
		if (got < cur && !ctl_read(c->h, c->node, "surplus_hugepages", &surplus) &&
		    surplus)
			snprintf(note, sizeof(note), " (%lu pages in use stay as surplus until "
				 "freed)", surplus);
		printf("%s: nr_hugepages %lu -> %lu%s%s\n", lbl, cur, got,
		       tries > 1 ? " (after retrying)" : "", note);
	}
	return CTL_OK;
}

static int over_refused(const char *lbl, const char *sz)
{
	return ctl_error(CTL_FAIL, "%s: the kernel refuses overcommit for %s pages "
			 "(gigantic pages cannot be surplus on this kernel); "
			 "reserve them with nr_hugepages instead", lbl, sz);
}

/*
 * Everything about one pool change that can be known without changing
 * anything, with the message and status the real run would fail with:
 * - write access to each file that would change;
 * - whether the kernel takes nr_overcommit_hugepages for this size at
 *   all: it refuses every write for gigantic pages (-EINVAL) before
 *   looking at the value, so writing the value it already has asks
 *   without changing anything.
 */
int ctl_pool_check(const struct ctl_pool_change *c)
{
	char lbl[128], path[512], sz[32];
	unsigned long cur;
	int ret;

	label(c, lbl, sizeof(lbl));
	ctl_size_str(c->h->size, sz, sizeof(sz));
	if (c->set_count) {
		ret = ctl_persistent(c->h, c->node, &cur);
		ctl_path(c->h, c->node, "nr_hugepages", path, sizeof(path));
		if (ret)
			return ctl_error_errno(ret, "cannot read", path);
		if (cur != c->count && access(path, W_OK) && errno != ENOENT)
			return ctl_error_errno(-errno, "cannot write", path);
	}
	if (c->set_over) {
		ctl_path(c->h, -1, "nr_overcommit_hugepages", path, sizeof(path));
		ret = ctl_read(c->h, -1, "nr_overcommit_hugepages", &cur);
		if (ret)
			return ctl_error_errno(ret, "cannot read", path);
		if (cur != c->over) {
			if (access(path, W_OK))
				return ctl_error_errno(-errno, "cannot write", path);
			ret = ctl_write(c->h, -1, "nr_overcommit_hugepages", cur);
			if (ret == -EINVAL)
				return over_refused(lbl, sz);
			if (ret)
				return ctl_error_errno(ret, "cannot write", path);
		}
	}
	return CTL_OK;
}

static int set_overcommit(const struct ctl_pool_change *c, const char *lbl)
{
	unsigned long cur, got;
	char path[512], sz[32];
	int ret;

	ctl_path(c->h, -1, "nr_overcommit_hugepages", path, sizeof(path));
	ret = ctl_read(c->h, -1, "nr_overcommit_hugepages", &cur);
	if (ret)
		return ctl_error_errno(ret, "cannot read", path);
	if (cur == c->over) {
		printf("%s: nr_overcommit_hugepages already %lu\n", lbl, cur);
		return CTL_OK;
	}
	if (c->dry_run) {
		printf("%s: would write %lu to %s (now %lu)%s\n", lbl, c->over, path, cur,
		       dry_hint(path));
		return CTL_OK;
	}
	ctl_undo_over(c->h, cur);
	ret = ctl_write(c->h, -1, "nr_overcommit_hugepages", c->over);
	ctl_size_str(c->h->size, sz, sizeof(sz));
	if (ret == -EINVAL)
		return over_refused(lbl, sz);
	if (ret)
		return ctl_error_errno(ret, "cannot write", path);
	ret = ctl_read(c->h, -1, "nr_overcommit_hugepages", &got);
	if (ret)
		return ctl_error_errno(ret, "cannot read back", path);
	if (got != c->over)
		return ctl_error(CTL_FAIL, "%s: wrote nr_overcommit_hugepages %lu, it reads %lu",
				 lbl, c->over, got);
	printf("%s: nr_overcommit_hugepages %lu -> %lu\n", lbl, cur, got);
	return CTL_OK;
}

int ctl_pool_apply(const struct ctl_pool_change *c)
{
	char lbl[128];
	int ret = CTL_OK;

	label(c, lbl, sizeof(lbl));
	if (c->set_count)
		ret = set_count(c, lbl);
	/* the maximum is min + overcommit: set it even if the minimum came
	 * out short, as the administrator asked for both */
	if (c->set_over) {
		int r2 = set_overcommit(c, lbl);

		if (r2 > ret)
			ret = r2;
	}
	return ret;
}
