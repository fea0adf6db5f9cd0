/* SPDX-License-Identifier: MIT */
/*
 * numa-subpool: subpools of pools on different nodes keep their pages on
 * their parent's node, and every (sub)pool's per-node counters follow the
 * kernel's per-node movement.
 *
 * P0 is a BIND pool on node 0 and P1 one on node 1; S0 and S1 are subpools
 * of them with a minimum of 3 pages and a cap of 6 (hugetlbfs min_size= and
 * size=). Checked at each step - subpools created (their minimum comes
 * from the kernel through the parent), blocks that stay within the minimum
 * (S1) and that go beyond it (S0), P0 trimmed, blocks freed, P0 trimmed
 * again, subpools destroyed:
 *  - the pages of every block are on the parent's node (get_mempolicy and
 *    move_pages);
 *  - each node's free_hugepages dropped by exactly what the root pool of
 *    that node holds there (P0 on node 0, P1 on node 1), nothing moved on
 *    other nodes;
 *  - a subpool counts its pages on its parent's node only, never more on a
 *    node than its parent holds there, and per-node counters of every
 *    (sub)pool sum to its totals.
 */
#include <hugepool/hugepool.h>

#include "numa-test.h"

#define SUB_MIN	3
#define SUB_MAX	6

static struct hugepool *bind_pool(const char *node)
{
	struct hugepool_config cfg = {
		.page_size = NT_PSZ,
		.policy = HUGEPOOL_POLICY_BIND,
		.nodes = node,
	};
	struct hugepool *p = hugepool_create(&cfg);

	ASSERT(p, "hugepool_create(BIND \"%s\")%s%s", node, p ? "" : ": ",
	       p ? "" : strerror(errno));
	hugepool_set_decay_ms(p, -1);
	return p;
}

/* sub holds exactly nr pages, all on node, within what parent holds there */
static void check_sub(const char *what, struct hugepool *sub, struct hugepool *parent,
		      int node, long nr)
{
	struct hugepool_counters tot = nt_pool_node(sub, HUGEPOOL_NODE_ANY);

	EXPECT((long)tot.nr_pages == nr, "%s: subpool holds %zu page(s) (want %ld)", what,
	       tot.nr_pages, nr);
	for (int n = 0; n < nt_nodes(); n++) {
		struct hugepool_counters s = nt_pool_node(sub, n), p = nt_pool_node(parent, n);
		long want = n == node ? nr : 0;

		EXPECT((long)s.nr_pages == want && s.nr_pages <= p.nr_pages &&
		       s.surplus_pages <= s.nr_pages,
		       "%s: node%d subpool nr %zu free %zu surplus %zu (want nr %ld), parent nr %zu",
		       what, n, s.nr_pages, s.free_pages, s.surplus_pages, want, p.nr_pages);
	}
	nt_check_sums(what, sub);
}

int main(void)
{
	long want[NT_MAX_NODES] = { 0 };
	struct hugepool *roots[2], *s0, *s1;
	char *a0, *a1;
	struct nt_snap base;

	nt_init("numa-subpool");
	nt_require(2, SUB_MAX + 1);
	nt_snap(&base);

	roots[0] = bind_pool("0");
	roots[1] = bind_pool("1");
	s0 = hugepool_subpool(roots[0], SUB_MIN, SUB_MAX);
	ASSERT(s0, "hugepool_subpool(P0, min %d, max %d)%s%s", SUB_MIN, SUB_MAX,
	       s0 ? "" : ": ", s0 ? "" : strerror(errno));
	s1 = hugepool_subpool(roots[1], SUB_MIN, SUB_MAX);
	ASSERT(s1, "hugepool_subpool(P1, min %d, max %d)%s%s", SUB_MIN, SUB_MAX,
	       s1 ? "" : ": ", s1 ? "" : strerror(errno));

	/* the minimum of each subpool came from the kernel, on its node */
	want[0] = SUB_MIN;
	want[1] = SUB_MIN;
	nt_check_moved("subpools created", &base, want, roots, 2);
	check_sub("S0 created", s0, roots[0], 0, SUB_MIN);
	check_sub("S1 created", s1, roots[1], 1, SUB_MIN);
	nt_check_pool_node("P0 created", roots[0], 0, SUB_MIN, 0, 0, -1);
	nt_check_pool_node("P1 created", roots[1], 1, SUB_MIN, 0, 0, -1);
	nt_check_sums("P0 created", roots[0]);
	nt_check_sums("P1 created", roots[1]);

	/* S0 beyond its minimum: 2 more pages through P0, from node 0;
	 * S1 within its minimum: nothing from the kernel */
	a0 = hugepool_malloc(s0, (SUB_MIN + 2) * NT_PSZ);
	ASSERT(a0, "hugepool_malloc(S0, %d pages)%s%s", SUB_MIN + 2, a0 ? "" : ": ",
	       a0 ? "" : strerror(errno));
	memset(a0, 0x30, (SUB_MIN + 2) * NT_PSZ);
	nt_check_pages("S0 block", a0, SUB_MIN + 2, 1UL << 0, NULL);
	a1 = hugepool_malloc(s1, 2 * NT_PSZ);
	ASSERT(a1, "hugepool_malloc(S1, 2 pages)%s%s", a1 ? "" : ": ",
	       a1 ? "" : strerror(errno));
	memset(a1, 0x31, 2 * NT_PSZ);
	nt_check_pages("S1 block", a1, 2, 1UL << 1, NULL);

	/*
	 * A block is contiguous in the pool's address window, so S0 may take
	 * all 5 pages fresh from P0 and hand its 3 reserved pages back to P0
	 * as free surplus (with decay on they would go back to the kernel a
	 * second later). However many P0 holds, the kernel must have lost
	 * exactly that many on node 0 and none elsewhere.
	 */
	{
		long p0 = (long)nt_pool_node(roots[0], 0).nr_pages;

		EXPECT(p0 >= SUB_MIN + 2 && p0 <= 2 * SUB_MIN + 2,
		       "P0 holds %ld page(s) on node0 (S0's %d in use, plus at most the %d it gave back)",
		       p0, SUB_MIN + 2, SUB_MIN);
		want[0] = p0;
	}
	want[1] = SUB_MIN;
	nt_check_moved("blocks in use", &base, want, roots, 2);
	check_sub("S0 in use", s0, roots[0], 0, SUB_MIN + 2);
	check_sub("S1 in use", s1, roots[1], 1, SUB_MIN);
	nt_check_pool_node("P1 in use", roots[1], 1, SUB_MIN, 0, 0, -1);
	nt_check_sums("P0 in use", roots[0]);
	nt_check_sums("P1 in use", roots[1]);

	/* trimming P0 gives its free pages back: only S0's 5 remain */
	hugepool_trim(roots[0]);
	want[0] = SUB_MIN + 2;
	nt_check_moved("P0 trimmed, blocks in use", &base, want, roots, 2);
	nt_check_pool_node("P0 trimmed", roots[0], 0, SUB_MIN + 2, 0, 0, -1);

	/* freed: a subpool keeps its minimum, the rest goes back to the
	 * parent (which keeps it: decay is off), all still on their nodes */
	hugepool_free(a0);
	hugepool_free(a1);
	nt_check_moved("blocks freed", &base, want, roots, 2);
	check_sub("S0 freed", s0, roots[0], 0, SUB_MIN);
	check_sub("S1 freed", s1, roots[1], 1, SUB_MIN);
	nt_check_pool_node("P0 freed", roots[0], 0, SUB_MIN + 2, 2, 0, -1);
	nt_check_pool_node("P1 freed", roots[1], 1, SUB_MIN, 0, 0, -1);
	nt_check_sums("P0 freed", roots[0]);

	/* trim: the 2 pages S0 gave back leave node 0; S0's minimum stays */
	hugepool_trim(roots[0]);
	want[0] = SUB_MIN;
	nt_check_moved("P0 trimmed, blocks freed", &base, want, roots, 2);
	nt_check_pool_node("P0 trimmed", roots[0], 0, SUB_MIN, 0, 0, -1);
	check_sub("S0 after trim", s0, roots[0], 0, SUB_MIN);

	/* subpools gone: their pages are their parents' free pages */
	EXPECT(hugepool_destroy(s0) == 0, "hugepool_destroy(S0)");
	EXPECT(hugepool_destroy(s1) == 0, "hugepool_destroy(S1)");
	nt_check_moved("subpools destroyed", &base, want, roots, 2);
	nt_check_pool_node("P0 alone", roots[0], 0, SUB_MIN, SUB_MIN, 0, -1);
	nt_check_pool_node("P1 alone", roots[1], 1, SUB_MIN, SUB_MIN, 0, -1);
	nt_check_sums("P0 alone", roots[0]);
	nt_check_sums("P1 alone", roots[1]);

	EXPECT(hugepool_destroy(roots[0]) == 0, "hugepool_destroy(P0)");
	EXPECT(hugepool_destroy(roots[1]) == 0, "hugepool_destroy(P1)");
	nt_check_baseline("after destroy", &base);
	return nt_finish();
}
