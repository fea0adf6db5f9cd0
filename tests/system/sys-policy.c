/* SPDX-License-Identifier: MIT */
/*
 * Description: placement on this machine's nodes: BIND, PREFERRED and
 * INTERLEAVE pools put their pages on allowed nodes, checked with
 * get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR) for every page, and the pool's
 * per-node counters add up to its totals and follow the kernel's per-node
 * free_hugepages. (Multi-node placement runs in the NUMA guest suite.)
 */
#include "internal.h"
#include "../helpers.h"

#include <numaif.h>

#define MB (1UL << 20)

static long node_free(int node, size_t psz)
{
	return node_counter(node, psz, "free_hugepages");
}

int main(void)
{
	const size_t psz = 2 * MB;
	enum hugepool_policy pols[] = { HUGEPOOL_POLICY_DEFAULT, HUGEPOOL_POLICY_BIND,
					HUGEPOOL_POLICY_PREFERRED, HUGEPOOL_POLICY_INTERLEAVE };
	struct kbase kb;
	int node = 0;

	hp_verbose = 0;
	need_free_pages(psz, 16);
	kb = kernel_baseline(psz);
	for (size_t i = 0; i < ARRAY_SIZE(pols); i++) {
		struct hugepool_config cfg = { .page_size = psz, .policy = pols[i], .nodes = "0",
					       .min_pages = 2 };
		struct hugepool_counters tot, n0;
		long nf = node_free(node, psz);
		struct hugepool *p = hugepool_create(&cfg);
		char *a;

		CHECK(p);
		CHECK_EQ(node_free(node, psz), nf - 2);
		a = hugepool_malloc(p, 6 * psz);
		CHECK(a);
		memset(a, 7, 6 * psz);
		for (int k = 0; k < 6; k++) {
			int n = -1;

			CHECK(get_mempolicy(&n, NULL, 0, a + k * psz, MPOL_F_NODE | MPOL_F_ADDR) == 0);
			CHECK_EQ(n, node);
		}
		CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &tot) == 0);
		CHECK(hugepool_counters(p, node, &n0) == 0);
		CHECK_EQ(n0.nr_pages, tot.nr_pages);
		CHECK_EQ(n0.free_pages, tot.free_pages);
		CHECK_EQ(n0.surplus_pages, tot.surplus_pages);
		CHECK_EQ(node_free(node, psz), nf - (long)tot.nr_pages);
		CHECK(hp_pool_check(p) == 0);
		hugepool_free(a);
		CHECK(hugepool_destroy(p) == 0);
		CHECK_EQ(node_free(node, psz), nf);
	}
	check_kernel_baseline(&kb);
	printf("sys-policy: ok\n");
	return T_PASS;
}
