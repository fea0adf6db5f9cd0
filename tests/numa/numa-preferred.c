/* SPDX-License-Identifier: MIT */
/*
 * numa-preferred: a HUGEPOOL_POLICY_PREFERRED pool on node 1 takes node 1's
 * pages while it has some and falls back to another node when it is empty,
 * and its per-node counters say where each page went.
 *
 * Run from node 0's CPU (local placement would be node 0, so pages on node
 * 1 in step 1 come from the preference, not from luck):
 *  1. node 1 has free pages: a block of 4 pages is on node 1; the kernel's
 *     node 1 dropped by 4, the pool counts 4 on node 1 and 0 elsewhere.
 *  2. node 1 is emptied by a BIND "1" pool holding all its free pages; the
 *     next block of 4 pages is on nodes other than 1 (node 0 on a 2-node
 *     machine) instead of failing; the pool's per-node counters grow on
 *     exactly the nodes the kernel's free_hugepages dropped on, and node 1
 *     stays at 4.
 *  3. per-node counters sum to the totals; destroy restores every node.
 */
#include <hugepool/hugepool.h>

#include "numa-test.h"

#define STEP_PAGES 4

int main(void)
{
	struct hugepool_config cfg = {
		.page_size = NT_PSZ,
		.policy = HUGEPOOL_POLICY_PREFERRED,
		.nodes = "1",
	};
	struct hugepool_config hog_cfg = {
		.page_size = NT_PSZ,
		.policy = HUGEPOOL_POLICY_BIND,
		.nodes = "1",
	};
	long want[NT_MAX_NODES] = { 0 }, hist[NT_MAX_NODES] = { 0 };
	struct hugepool *p, *hog, *both[2];
	struct nt_snap base, mid;
	unsigned long others;
	char *a, *b;
	int nodes;

	nt_init("numa-preferred");
	nodes = nt_require(2, STEP_PAGES + 1);
	nt_run_on_node(0);
	others = ((nodes >= 64 ? 0UL : 1UL << nodes) - 1) & ~(1UL << 1);
	nt_snap(&base);

	p = hugepool_create(&cfg);
	ASSERT(p, "hugepool_create(PREFERRED, nodes \"1\")%s%s", p ? "" : ": ",
	       p ? "" : strerror(errno));
	hugepool_set_decay_ms(p, -1);

	/* 1: the preferred node has pages */
	a = hugepool_malloc(p, STEP_PAGES * NT_PSZ);
	ASSERT(a, "hugepool_malloc(%d pages) with node 1 free%s%s", STEP_PAGES,
	       a ? "" : ": ", a ? "" : strerror(errno));
	memset(a, 1, STEP_PAGES * NT_PSZ);
	nt_check_pages("node 1 has pages: block", a, STEP_PAGES, 1UL << 1, NULL);
	want[1] = STEP_PAGES;
	nt_check_moved("node 1 has pages", &base, want, &p, 1);
	nt_check_pool_node("pool", p, 1, STEP_PAGES, 0, 0, -1);

	/* 2: empty node 1, then ask again */
	hog_cfg.min_pages = (size_t)nt_node_hp(1, "free_hugepages");
	hog = hugepool_create(&hog_cfg);
	ASSERT(hog, "hog pool: BIND 1 with min_pages %zu (the rest of node 1)%s%s",
	       hog_cfg.min_pages, hog ? "" : ": ", hog ? "" : strerror(errno));
	ASSERT(nt_node_hp(1, "free_hugepages") == 0, "node1 free_hugepages now %ld (want 0)",
	       nt_node_hp(1, "free_hugepages"));
	nt_snap(&mid);

	b = hugepool_malloc(p, STEP_PAGES * NT_PSZ);
	ASSERT(b, "hugepool_malloc(%d pages) with node 1 empty: falls back%s%s", STEP_PAGES,
	       b ? "" : ": ", b ? "" : strerror(errno));
	memset(b, 2, STEP_PAGES * NT_PSZ);
	/* with two nodes the only other node is 0; with more, any but 1 */
	nt_check_pages("node 1 empty: block", b, STEP_PAGES, nodes == 2 ? 1UL << 0 : others, hist);

	/* what the kernel lost per node since the hog is what the pool got */
	for (int n = 0; n < nodes; n++) {
		long drop = mid.free[n] - nt_node_hp(n, "free_hugepages");
		struct hugepool_counters c = nt_pool_node(p, n);
		long before = n == 1 ? STEP_PAGES : 0;

		EXPECT(drop == hist[n] && (long)c.nr_pages == before + hist[n],
		       "fallback: node%d free_hugepages dropped %ld, block has %ld page(s) there, pool counts %zu (want %ld)",
		       n, drop, hist[n], c.nr_pages, before + hist[n]);
	}
	nt_check_pool_node("pool after fallback", p, 1, STEP_PAGES, 0, 0, -1);
	both[0] = p;
	both[1] = hog;
	nt_check_moved("pool + hog", &base, NULL, both, 2);
	nt_check_sums("pool after fallback", p);
	nt_check_sums("hog", hog);

	hugepool_free(a);
	hugepool_free(b);
	EXPECT(hugepool_destroy(hog) == 0, "hugepool_destroy(hog)");
	EXPECT(hugepool_destroy(p) == 0, "hugepool_destroy(pool)");
	nt_check_baseline("after destroy", &base);
	return nt_finish();
}
