/* SPDX-License-Identifier: MIT */
/*
 * kern-cgroup2.c - a cgroup v2 hugetlb limit: allocation fails cleanly with
 * ENOMEM, never with SIGBUS; the group's counters match what the process
 * holds; lib/cgroup.c reads the same limit and room the kernel enforces.
 *
 * cgroup v2 charges a faulted page to hugetlb.<size>.current against
 * hugetlb.<size>.max (over it the fault is refused: SIGBUS for a program
 * that touches the page, an error from MADV_POPULATE_WRITE for the
 * library) and the reservation made at mmap to .rsvd.current against
 * .rsvd.max (mmap fails with ENOMEM). Refusals of .max count in
 * hugetlb.<size>.events as "max N".
 *
 * The hugetlb controller is on one hierarchy at a time. This test uses the
 * cgroup2 mount (or mounts a private one when there is none), and if the
 * controller is bound to a v1 hierarchy (kern-cgroup mounts one; it is
 * gone when that test unmounts it, after a moment) it unmounts that v1
 * hierarchy first and mounts it back at the end. It enables hugetlb in the
 * v2 root's cgroup.subtree_control only if it was not, and disables it
 * again afterwards, so kern-cgroup can bind it to v1 in the same CI run.
 * Needs root.
 */
#include "cgroup.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define MB2 (2UL << 20)

static struct hcg cg;			/* cgroup v2 (tests/kernel/cgroup.h) */
static pid_t main_pid;
#define grp (cg.grp)

static void cleanup(void)
{
	if (getpid() == main_pid)
		hcg_teardown(&cg);
}

static long cg_read(const char *dir, const char *file)
{
	return file_number_at("%s/%s", dir, file);
}

/* "max N" of hugetlb.<size>.events */
static long cg_events_max(const char *file)
{
	char path[600], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", grp, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "max %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}


/* Fork, move the child into the group before it does anything, run fn
 * there. A SIGBUS kills the child (default disposition): status 135. */
static int run_in_group(int (*fn)(void))
{
	pid_t p = hcg_fork_in(&cg, 120);

	if (p == 0)
		_exit(fn());
	return hcg_wait(p);
}

static void remove_group(void)
{
	hcg_remove_group(&cg);
}

/* The group's charge is exactly what this process maps, and lib/cgroup.c
 * sees the room the kernel will enforce. */
static void cg_counters(long max_pages)
{
	struct hp_cgroup_loc loc;
	long cur = cg_read(grp, "hugetlb.2MB.current");

	CHECK_EQ(cur, self_hugetlb_bytes());
	CHECK_EQ(hp_cgroup_self(&loc), 0);
	CHECK_EQ(loc.version, 2);
	CHECK(!strcmp(loc.dir, grp));
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), max_pages - cur / (long)MB2);
}

/* hugetlb.2MB.max = 3 pages: charged at fault time */
static int fault_limit(void)
{
	struct hugepool *pool;
	struct hugepool_region *r;
	void *a, *b;

	hp_verbose = 0;
	cg_counters(3);
	{
		/* the pool plans on no page the group will refuse: a minimum
		 * above the limit fails before any fault is tried (the group
		 * counts no refusal, nothing is charged) */
		struct hugepool_config cfg = { .page_size = MB2, .min_pages = 4 };
		long refused = cg_events_max("hugetlb.2MB.events");

		errno = 0;
		CHECK(hugepool_create(&cfg) == NULL && errno == ENOMEM);
		CHECK_EQ(cg_events_max("hugetlb.2MB.events"), refused);
		CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
		CHECK_EQ(self_hugetlb_bytes(), 0);
		cfg.min_pages = 3;		/* what the group allows works */
		pool = hugepool_create(&cfg);
		CHECK(pool);
		CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 3 * (long)MB2);
		CHECK(hugepool_destroy(pool) == 0);
		CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
	}
	pool = kpool(MB2, 0, 0);
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 1, 2 * MB2);
	cg_counters(3);
	errno = 0;
	CHECK(hugepool_malloc(pool, 2 * MB2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(pool, 2, MB2 + 4096) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);
	cg_counters(3);

	b = hugepool_malloc(pool, 100 * 1024);		/* the third page */
	CHECK(b);
	memset(b, 2, 100 * 1024);
	cg_counters(3);
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), 0);
	r = hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * MB2), -ENOMEM);
	CHECK_POOL(pool);
	CHECK(hugepool_region_free(r) == 0);

	hugepool_free(a);				/* reused, no new charge */
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 3, 2 * MB2);
	cg_counters(3);
	hugepool_free(a);
	hugepool_free(b);
	CHECK(hugepool_destroy(pool) == 0);
	CHECK_EQ(self_hugetlb_bytes(), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
	return 0;
}

/* hugetlb.2MB.rsvd.max = 2 pages: charged when the mapping is made */
static int rsvd_limit(void)
{
	struct hugepool *pool;
	void *a;

	hp_verbose = 0;
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), 2);
	pool = kpool(MB2, 0, 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, 3 * MB2) == NULL && errno == ENOMEM);
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 1, 2 * MB2);
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.rsvd.current"), 2 * (long)MB2);
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, MB2) == NULL && errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);
	hugepool_free(a);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* hugetlb.1GB.max = 0: no gigantic page at all */
static int gigantic_none(void)
{
	struct hugepool *pool;

	hp_verbose = 0;
	CHECK_EQ(hp_cgroup_hugetlb_room(1UL << 30), 0);
	pool = kpool(1UL << 30, 0, 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, 1) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 1UL << 30, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(pool);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* After the child: nothing is charged any more. */
static void group_empty(void)
{
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.rsvd.current"), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.1GB.current"), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.1GB.rsvd.current"), 0);
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2), kg = kernel_baseline(1UL << 30);
	long ev_fault, ev_1g, rsvd_cur;
	int st;

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 8);
	need_free_pages(1UL << 30, 1);
	if (geteuid() != 0)
		skip_or_fail("the cgroup v2 hugetlb test needs root");
	main_pid = getpid();
	atexit(cleanup);
	if (!hcg_setup(&cg, 2))
		skip_or_fail("the hugetlb controller is not available to cgroup v2");

	hcg_make_group_limits(&cg, "fault", "6291456", "", "");
	st = run_in_group(fault_limit);
	child_ok("hugetlb.2MB.max", st);
	ev_fault = cg_events_max("hugetlb.2MB.events");
	group_empty();
	CHECK(ev_fault > 0);		/* the kernel did refuse faults */
	remove_group();
	printf("kern-cgroup2: hugetlb.2MB.max=6M: malloc, calloc, reserve and populate over it "
	       "failed with ENOMEM, no SIGBUS; .current matched HugetlbPages throughout "
	       "(events max %ld)\n", ev_fault);

	hcg_make_group_limits(&cg, "rsvd", "", "4194304", "");
	st = run_in_group(rsvd_limit);
	child_ok("hugetlb.2MB.rsvd.max", st);
	rsvd_cur = cg_read(grp, "hugetlb.2MB.rsvd.current");
	group_empty();
	remove_group();
	printf("kern-cgroup2: hugetlb.2MB.rsvd.max=4M: malloc over it failed with ENOMEM "
	       "(rsvd.current back to %ld)\n", rsvd_cur);

	hcg_make_group_limits(&cg, "1g", "", "", "0");
	st = run_in_group(gigantic_none);
	child_ok("hugetlb.1GB.max", st);
	ev_1g = cg_events_max("hugetlb.1GB.events");
	group_empty();
	remove_group();
	CHECK(ev_1g > 0);
	printf("kern-cgroup2: hugetlb.1GB.max=0: 1 GiB malloc and reserve failed with ENOMEM "
	       "(events max %ld)\n", ev_1g);

	cleanup();
	CHECK(kernel_back_at(&kb, "kern-cgroup2 2M"));
	CHECK(kernel_back_at(&kg, "kern-cgroup2 1G"));
	printf("kern-cgroup2: PASS (cgroup v2 hugetlb.2MB.max, .rsvd.max and hugetlb.1GB.max: "
	       "clean ENOMEM, never SIGBUS; counters exact; subtree_control and mounts "
	       "restored)\n");
	return T_PASS;
}
