/* SPDX-License-Identifier: MIT */
/*
 * numa-bind-empty: a BIND pool whose node has no free huge page fails with
 * ENOMEM - not SIGBUS - and takes nothing from the other nodes.
 *
 * The kernel's hugetlb reservation at mmap is global, not per node: with
 * node 1 empty and node 0 full, mmap(MAP_HUGETLB) succeeds and the fault
 * under MPOL_BIND(1) is what fails - a SIGBUS on a plain touch. The library
 * must turn that into an error (MADV_POPULATE_WRITE returns EFAULT) and
 * must not take the page from node 0 instead.
 *
 * Node 1 is made empty two ways, and the same checks run against each:
 *  A. exhausted: another BIND "1" pool holds every free page of node 1;
 *  B. no pages at all: node 1's nr_hugepages is set to 0 in sysfs (the
 *     guest runs as root), restored afterwards.
 * Checks (in a child, so that a SIGBUS shows as a signal, not a crash of
 * the test): hugepool_create with min_pages fails with ENOMEM; with no
 * minimum it succeeds; hugepool_malloc of a page and of a small block
 * returns NULL/ENOMEM; a reserved region cannot be had (NULL/ENOMEM); a
 * NORESERVE region is, but populating it returns -ENOMEM; the library
 * wrote no warning (it warns when a page lands outside a BIND pool's
 * nodes: a page taken from node 0 and given back would leave no other
 * trace); the pool's counters are 0 on every node; no node's
 * free_hugepages moved and resv_hugepages is back where it was.
 */
#include <hugepool/hugepool.h>

#include "numa-test.h"

static int check_empty_node(void *arg)
{
	const char *how = arg;
	struct hugepool_config cfg = {
		.page_size = NT_PSZ,
		.min_pages = 1,
		.policy = HUGEPOOL_POLICY_BIND,
		.nodes = "1",
	};
	struct hugepool_region *r;
	struct nt_snap before;
	struct hugepool *p;
	void *b;
	long ret;
	int err;

	nt_checks = nt_failures = 0;
	printf("%s: node 1 empty (%s): node1 free %ld nr %ld, node0 free %ld\n", nt_name, how,
	       nt_node_hp(1, "free_hugepages"), nt_node_hp(1, "nr_hugepages"),
	       nt_node_hp(0, "free_hugepages"));
	nt_snap(&before);
	nt_stderr_begin();

	errno = 0;
	p = hugepool_create(&cfg);
	err = errno;
	EXPECT(!p && err == ENOMEM, "hugepool_create(BIND 1, min_pages 1): %s (want ENOMEM)",
	       p ? "succeeded" : strerror(err));
	if (p)
		(void)hugepool_destroy(p);

	cfg.min_pages = 0;
	p = hugepool_create(&cfg);
	ASSERT(p, "hugepool_create(BIND 1, min_pages 0)%s%s", p ? "" : ": ",
	       p ? "" : strerror(errno));

	errno = 0;
	b = hugepool_malloc(p, NT_PSZ);
	err = errno;
	EXPECT(!b && err == ENOMEM, "hugepool_malloc(2 MiB): %s (want NULL, ENOMEM)",
	       b ? "got memory" : strerror(err));
	if (b)
		nt_check_pages("unexpected block", b, 1, 1UL << 1, NULL);

	/* a block smaller than a page still needs a page for its MIXED run */
	errno = 0;
	b = hugepool_malloc(p, 300 << 10);
	err = errno;
	EXPECT(!b && err == ENOMEM, "hugepool_malloc(300 KiB): %s (want NULL, ENOMEM)",
	       b ? "got memory" : strerror(err));

	errno = 0;
	r = hugepool_region_reserve(p, 2 * NT_PSZ, 0);
	err = errno;
	EXPECT(!r && err == ENOMEM, "hugepool_region_reserve(2 pages): %s (want NULL, ENOMEM)",
	       r ? "reserved" : strerror(err));
	if (r)
		(void)hugepool_region_free(r);

	r = hugepool_region_reserve(p, 2 * NT_PSZ, HUGEPOOL_REGION_NORESERVE);
	EXPECT(r, "hugepool_region_reserve(2 pages, NORESERVE): address space only%s%s",
	       r ? "" : ": ", r ? "" : strerror(errno));
	if (r) {
		ret = hugepool_region_populate(r, 0, 2 * NT_PSZ);
		EXPECT(ret == -ENOMEM, "hugepool_region_populate: %ld (%s; want -ENOMEM)", ret,
		       ret < 0 ? strerror((int)-ret) : "pages");
		EXPECT(hugepool_region_free(r) == 0, "hugepool_region_free");
	}

	/*
	 * A page faulted on another node and given back at once leaves no
	 * trace in the counters; the library warns when it sees one. Under
	 * a real MPOL_BIND the kernel never hands it one, so the library
	 * has nothing to say at its default verbosity.
	 */
	{
		char log[2048];
		long n = nt_stderr_end(log, sizeof(log));

		EXPECT(n == 0, "the library wrote nothing to stderr during the failed calls (no page landed on another node)%s%s",
		       n ? ": " : "", n ? log : "");
	}

	for (int n = 0; n < nt_nodes(); n++)
		nt_check_pool_node("empty pool", p, n, 0, 0, 0, 0);
	nt_check_sums("empty pool", p);
	/* nothing was taken from node 0 (or any node) on the way */
	nt_check_moved("after the failed calls", &before, (long[NT_MAX_NODES]){ 0 }, &p, 1);
	EXPECT(nt_global_hp("resv_hugepages") == before.resv,
	       "resv_hugepages %ld (before %ld): no reservation left behind",
	       nt_global_hp("resv_hugepages"), before.resv);
	EXPECT(hugepool_destroy(p) == 0, "hugepool_destroy");
	return nt_failures ? T_FAIL : T_PASS;
}

/* the child's verdict: ENOMEM is a pass, a signal is the bug */
static void run_case(const char *how)
{
	int st = run_in_child(check_empty_node, (void *)how, 120);

	EXPECT(st == 0, "case %s: child exit %d%s", how, st,
	       st == 128 + SIGBUS ? " (SIGBUS: out of pages became a signal)" :
	       st > 128 ? " (killed by a signal)" : st ? " (checks failed)" : "");
}

int main(void)
{
	struct hugepool_config hog_cfg = {
		.page_size = NT_PSZ,
		.policy = HUGEPOOL_POLICY_BIND,
		.nodes = "1",
	};
	struct hugepool *hog;
	struct nt_snap base;
	long nr1, got;
	int ret;

	nt_init("numa-bind-empty");
	nt_require(2, 2);
	nt_run_on_node(0);
	nt_snap(&base);

	/* A: every free page of node 1 held by another pool */
	hog_cfg.min_pages = (size_t)base.free[1];
	hog = hugepool_create(&hog_cfg);
	ASSERT(hog, "hog pool: BIND 1 with min_pages %ld (all of node 1)%s%s", base.free[1],
	       hog ? "" : ": ", hog ? "" : strerror(errno));
	ASSERT(nt_node_hp(1, "free_hugepages") == 0, "node1 free_hugepages now %ld (want 0)",
	       nt_node_hp(1, "free_hugepages"));
	EXPECT(nt_node_hp(0, "free_hugepages") == base.free[0],
	       "node0 free_hugepages %ld unchanged by the hog", nt_node_hp(0, "free_hugepages"));
	run_case("exhausted by another pool");
	EXPECT(hugepool_destroy(hog) == 0, "hugepool_destroy(hog)");
	nt_check_baseline("after case A", &base);

	/* B: node 1 has no huge pages at all */
	nr1 = base.nr[1];
	ret = nt_node_hp_write(1, "nr_hugepages", 0);
	if (ret)
		nt_skip_or_fail("cannot set node1 nr_hugepages to 0: %s", strerror(-ret));
	/* from here on node 1 must be restored whatever fails */
	if (EXPECT(nt_node_hp(1, "nr_hugepages") == 0, "node1 nr_hugepages set to 0 (now %ld)",
		   nt_node_hp(1, "nr_hugepages")))
		run_case("nr_hugepages 0");
	ret = nt_node_hp_write(1, "nr_hugepages", nr1);
	got = nt_node_hp(1, "nr_hugepages");
	ASSERT(ret == 0 && got == nr1, "node1 nr_hugepages restored to %ld (now %ld)", nr1, got);
	nt_check_baseline("after case B", &base);
	return nt_finish();
}
