/* SPDX-License-Identifier: MIT */
/*
 * numa-bind: a HUGEPOOL_POLICY_BIND pool on node 1 puts every page on node 1.
 *
 * Run from node 0's CPU (so that a policy that was never set would place
 * pages on node 0, locally), a BIND "1" pool gets pages three ways: its
 * min_pages at creation, a malloc block that grows the pool, and regions
 * (one reserved up front, one NORESERVE populated later). For each:
 *  - every page is on node 1 by get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR) and
 *    by move_pages;
 *  - node 1's free_hugepages dropped by exactly the pages the pool holds
 *    and no other node's moved;
 *  - the pool's per-node counters (hugepool_counters(p, 1, ...)) say the
 *    same, its counters on every other node are 0, and per-node counters
 *    sum to the totals.
 * Freeing keeps the pages in the pool (decay off) on node 1; destroy gives
 * every node its pages back.
 */
#include <hugepool/hugepool.h>

#include "numa-test.h"

#define MIN_PAGES	2
#define BLOCK_PAGES	6
#define REGION_PAGES	2

int main(void)
{
	struct hugepool_config cfg = {
		.page_size = NT_PSZ,
		.min_pages = MIN_PAGES,
		.policy = HUGEPOOL_POLICY_BIND,
		.nodes = "1",
	};
	long want[NT_MAX_NODES] = { 0 };
	struct hugepool_region *r1, *r2;
	struct nt_snap base;
	struct hugepool *p;
	long held, ret;
	char *a;
	int nodes;

	nt_init("numa-bind");
	nodes = nt_require(2, MIN_PAGES + BLOCK_PAGES + 2 * REGION_PAGES);
	nt_run_on_node(0);
	nt_snap(&base);

	p = hugepool_create(&cfg);
	ASSERT(p, "hugepool_create(BIND, nodes \"1\", min_pages %d)%s%s", MIN_PAGES,
	       p ? "" : ": ", p ? "" : strerror(errno));
	/* surplus pages stay until destroy, so the kernel's counters only
	 * move when this test moves them */
	hugepool_set_decay_ms(p, -1);
	want[1] = MIN_PAGES;
	nt_check_moved("after create", &base, want, &p, 1);
	nt_check_pool_node("pool after create", p, 1, MIN_PAGES, MIN_PAGES, 0, 0);
	nt_check_pool_node("pool after create", p, 0, 0, 0, 0, 0);
	nt_check_sums("pool after create", p);

	a = hugepool_malloc(p, BLOCK_PAGES * NT_PSZ);
	ASSERT(a, "hugepool_malloc(%d pages)%s%s", BLOCK_PAGES, a ? "" : ": ",
	       a ? "" : strerror(errno));
	memset(a, 0x5a, BLOCK_PAGES * NT_PSZ);
	nt_check_pages("malloc block", a, BLOCK_PAGES, 1UL << 1, NULL);

	r1 = hugepool_region_reserve(p, REGION_PAGES * NT_PSZ, 0);
	ASSERT(r1, "hugepool_region_reserve(%d pages)%s%s", REGION_PAGES, r1 ? "" : ": ",
	       r1 ? "" : strerror(errno));
	ret = hugepool_region_populate(r1, 0, REGION_PAGES * NT_PSZ);
	EXPECT(ret == REGION_PAGES, "populate reserved region: %ld page(s) (want %d)", ret,
	       REGION_PAGES);
	nt_check_pages("reserved region", hugepool_region_addr(r1), REGION_PAGES, 1UL << 1, NULL);

	r2 = hugepool_region_reserve(p, REGION_PAGES * NT_PSZ, HUGEPOOL_REGION_NORESERVE);
	ASSERT(r2, "hugepool_region_reserve(%d pages, NORESERVE)%s%s", REGION_PAGES,
	       r2 ? "" : ": ", r2 ? "" : strerror(errno));
	ret = hugepool_region_populate(r2, 0, REGION_PAGES * NT_PSZ);
	EXPECT(ret == REGION_PAGES, "populate NORESERVE region: %ld page(s) (want %d)", ret,
	       REGION_PAGES);
	nt_check_pages("NORESERVE region", hugepool_region_addr(r2), REGION_PAGES, 1UL << 1,
		       NULL);

	/* the minimum is used by the block first, so the pool holds exactly
	 * what is in use */
	held = BLOCK_PAGES + 2 * REGION_PAGES;
	want[1] = held;
	nt_check_moved("in use", &base, want, &p, 1);
	nt_check_pool_node("pool in use", p, 1, held, 0, 0, held - MIN_PAGES);
	for (int n = 0; n < nodes; n++)
		if (n != 1)
			nt_check_pool_node("pool in use", p, n, 0, 0, 0, 0);
	nt_check_sums("pool in use", p);

	/* freed pages stay the pool's, still counted on node 1 */
	hugepool_free(a);
	EXPECT(hugepool_region_free(r1) == 0, "hugepool_region_free(reserved)");
	EXPECT(hugepool_region_free(r2) == 0, "hugepool_region_free(NORESERVE)");
	nt_check_moved("freed, decay off", &base, want, &p, 1);
	nt_check_pool_node("pool freed", p, 1, held, held, 0, held - MIN_PAGES);
	nt_check_sums("pool freed", p);

	/* the next block comes off node 1's free list, not from the kernel */
	a = hugepool_malloc(p, BLOCK_PAGES * NT_PSZ);
	ASSERT(a, "hugepool_malloc(%d pages) again", BLOCK_PAGES);
	nt_check_pages("reused block", a, BLOCK_PAGES, 1UL << 1, NULL);
	nt_check_moved("reused", &base, want, &p, 1);
	hugepool_free(a);

	EXPECT(hugepool_destroy(p) == 0, "hugepool_destroy");
	nt_check_baseline("after destroy", &base);
	return nt_finish();
}
