/* SPDX-License-Identifier: MIT */
/*
 * kern-cgroup.c - a hugetlb cgroup limit: allocation fails cleanly, never
 * with SIGBUS.
 *
 * The v1 hugetlb controller charges a huge page when it is faulted
 * (hugetlb.<size>.limit_in_bytes: over the limit the fault is a SIGBUS for
 * a program that touches the page) and, separately, its reservation at
 * mmap time (hugetlb.<size>.rsvd.limit_in_bytes: over it mmap fails with
 * ENOMEM). The library populates with MADV_POPULATE_WRITE, so a charge
 * refused at fault time is an error there, not a signal later.
 *
 * The controller is mounted (mount -t cgroup -o hugetlb none DIR) unless
 * it already is; a child group gets a limit, a forked child is moved into
 * it before it allocates anything, and in it: malloc, calloc, a region's
 * reserve and populate over the limit give NULL/ENOMEM or -ENOMEM, what
 * fits works, freed pages are reused without a new charge; a second group
 * limits the reservations instead; a third allows no 1 GiB page at all.
 * failcnt shows the kernel refused charges. Everything is removed at the
 * end (the groups, and the mount if this test made it). Needs root. The
 * hierarchy and groups are cgroup.h's (hcg_*), on v1.
 */
#include "cgroup.h"

#define MB2 (2UL << 20)

static struct hcg cg;		/* v1: the limits tested are v1's files */

static void cleanup(void)
{
	hcg_teardown(&cg);
}

static void setup_mount(void)
{
	if (geteuid() != 0)
		skip_or_fail("the hugetlb cgroup test needs root");
	if (!hcg_setup(&cg, 1))
		skip_or_fail("no cgroup v1 hugetlb hierarchy here");
}


/*
 * Fork, move the child into the group before it does anything, run fn
 * there. A SIGBUS kills the child (default disposition): status 135.
 */
static int run_in_group(int (*fn)(void *))
{
	pid_t p = hcg_fork_in(&cg, 120);

	if (p == 0)
		_exit(fn(NULL));
	return hcg_wait(p);
}

/*
 * A group with the limits, fn run in it (make_group, run_in_group): the
 * child must pass (no SIGBUS) and the group's failcnt file must show that
 * the kernel did refuse charges. Returns that count.
 */
static long limited(const char *name, const char *limit2m, const char *rsvd2m,
		    const char *limit1g, int (*fn)(void *), const char *failcnt,
		    const char *what)
{
	long fail;
	int st;

	hcg_make_group_limits(&cg, name, limit2m, rsvd2m, limit1g);
	st = run_in_group(fn);
	fail = hcg_read(&cg, failcnt);
	hcg_remove_group(&cg);
	child_ok(what, st);
	CHECK(fail > 0);
	return fail;
}

/* limit_in_bytes = 3 pages: charged at fault time */
static int fault_limit(void *arg)
{
	struct hugepool *pool;
	struct hugepool_region *r;
	void *a, *b, *p;
	long ret;

	(void)arg;
	hp_verbose = 0;
	pool = kpool(MB2, 0, 0);
	a = hugepool_malloc(pool, 2 * MB2);		/* 2 pages charged */
	CHECK(a);
	memset(a, 1, 2 * MB2);
	errno = 0;
	CHECK(hugepool_malloc(pool, 2 * MB2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(pool, 2, MB2 + 4096) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 2 * MB2, 0) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);

	b = hugepool_malloc(pool, 100 * 1024);		/* the third page */
	CHECK(b);
	memset(b, 2, 100 * 1024);
	r = hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	ret = hugepool_region_populate(r, 0, 2 * MB2);
	CHECK_EQ(ret, -ENOMEM);
	CHECK_EQ(hp_region_populated(r, 0, 2), 0);
	CHECK_POOL(pool);

	/* pages given back to the pool are reused without a new charge */
	hugepool_free(a);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * MB2), 2);
	memset(hugepool_region_addr(r), 3, 2 * MB2);
	p = hugepool_realloc(pool, b, 3 * MB2);	/* over the limit again */
	CHECK(p == NULL && errno == ENOMEM);
	CHECK(((char *)b)[100 * 1024 - 1] == 2);	/* untouched */
	CHECK_POOL(pool);
	check_held(MB2);
	CHECK(hugepool_region_free(r) == 0);
	hugepool_free(b);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* rsvd.limit_in_bytes = 2 pages: charged when the mapping is made */
static int rsvd_limit(void *arg)
{
	struct hugepool *pool;
	void *a, *b;

	(void)arg;
	hp_verbose = 0;
	pool = kpool(MB2, 0, 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, 3 * MB2) == NULL && errno == ENOMEM);
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 1, 2 * MB2);
	errno = 0;
	CHECK(hugepool_malloc(pool, MB2) == NULL && errno == ENOMEM);
	CHECK_POOL(pool);
	hugepool_free(a);
	b = hugepool_malloc(pool, MB2);			/* from the free list */
	CHECK(b);
	hugepool_free(b);
	CHECK_POOL(pool);
	check_held(MB2);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* no 1 GiB page at all */
static int gigantic_none(void *arg)
{
	struct hugepool *pool;

	(void)arg;
	hp_verbose = 0;
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

int main(void)
{
	struct kbase kb = kernel_baseline(MB2), kg = kernel_baseline(1UL << 30);
	long fail_fault, fail_rsvd, fail_1g;
	bool had_mount;

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 8);
	need_free_pages(1UL << 30, 1);
	setup_mount();
	atexit(cleanup);

	fail_fault = limited("fault", "6291456", "", "", fault_limit, "hugetlb.2MB.failcnt",
			     "hugetlb.2MB.limit_in_bytes");
	printf("kern-cgroup: hugetlb.2MB.limit_in_bytes=6M: malloc, calloc, reserve, populate and realloc "
	       "over it failed with ENOMEM, no SIGBUS (failcnt %ld)\n", fail_fault);
	fail_rsvd = limited("rsvd", "", "4194304", "", rsvd_limit, "hugetlb.2MB.rsvd.failcnt",
			    "hugetlb.2MB.rsvd.limit_in_bytes");
	printf("kern-cgroup: hugetlb.2MB.rsvd.limit_in_bytes=4M: malloc over it failed with ENOMEM "
	       "(failcnt %ld)\n", fail_rsvd);
	fail_1g = limited("1g", "", "", "0", gigantic_none, "hugetlb.1GB.failcnt",
			  "hugetlb.1GB.limit_in_bytes");
	printf("kern-cgroup: hugetlb.1GB.limit_in_bytes=0: 1 GiB malloc and reserve failed with ENOMEM "
	       "(failcnt %ld)\n", fail_1g);
	had_mount = !cg.mounted;
	cleanup();
	CHECK(kernel_back_at(&kb, "kern-cgroup 2M"));
	CHECK(kernel_back_at(&kg, "kern-cgroup 1G"));
	printf("kern-cgroup: PASS (hugetlb.2MB.limit_in_bytes, hugetlb.2MB.rsvd.limit_in_bytes and "
	       "hugetlb.1GB.limit_in_bytes: clean ENOMEM, never SIGBUS; failcnt %ld/%ld/%ld; "
	       "test groups%s removed)\n", fail_fault, fail_rsvd, fail_1g,
	       had_mount ? "" : " and the hugetlb mount");
	return T_PASS;
}
