/* SPDX-License-Identifier: MIT */
/*
 * numa-interleave: a HUGEPOOL_POLICY_INTERLEAVE pool splits its pages
 * evenly over its nodes, and only over them.
 *
 * For the node set "0-1" (and "0-3" when the guest has 4 nodes), with k
 * nodes in the set:
 *  - min_pages = 2k taken at creation (one fault of 2k pages): 2 on each
 *    node;
 *  - in a pool without a minimum, one malloc block of 8 pages (one fault
 *    of 8 pages, placed page by page): 8 / k on each node;
 *  - 8 blocks of one page each (8 separate faults: the rotation must carry
 *    over from one call to the next, as the kernel's next_nid_to_alloc
 *    does): 8 / k on each node again;
 * each checked page by page with get_mempolicy and move_pages, against the
 * kernel's per-node free_hugepages drops (nodes outside the set unchanged)
 * and the pool's per-node counters, which also sum to the totals.
 */
#include <hugepool/hugepool.h>

#include "numa-test.h"

#define BATCH 8

static void check_split(const char *what, const long *hist, int nodes, unsigned long mask,
			long each)
{
	char got[256];
	size_t off = 0;
	bool ok = true;

	got[0] = '\0';
	for (int n = 0; n < nodes; n++) {
		long want = mask & (1UL << n) ? each : 0;

		if (hist[n] != want)
			ok = false;
		off += (size_t)snprintf(got + off, off < sizeof(got) ? sizeof(got) - off : 0,
					"%snode%d %ld", n ? ", " : "", n, hist[n]);
	}
	EXPECT(ok, "%s: split %s (want %ld on each node of mask 0x%lx)", what, got, each, mask);
}

static void interleave_over(const char *set, int k, int nodes)
{
	unsigned long mask = (1UL << k) - 1;	/* sets "0-1", "0-3" */
	struct hugepool_config cfg = {
		.page_size = NT_PSZ,
		.min_pages = 2 * (size_t)k,
		.policy = HUGEPOOL_POLICY_INTERLEAVE,
		.nodes = set,
	};
	long want[NT_MAX_NODES] = { 0 }, hist[NT_MAX_NODES] = { 0 };
	char *one[BATCH], *blk, what[64];
	struct nt_snap base;
	struct hugepool *p;
	int n, i;

	printf("%s: INTERLEAVE over \"%s\" (%d nodes)\n", nt_name, set, k);
	nt_snap(&base);

	/* the minimum, taken at creation in one fault */
	p = hugepool_create(&cfg);
	ASSERT(p, "hugepool_create(INTERLEAVE \"%s\", min_pages %d)%s%s", set, 2 * k,
	       p ? "" : ": ", p ? "" : strerror(errno));
	for (n = 0; n < nodes; n++)
		want[n] = mask & (1UL << n) ? 2 : 0;
	snprintf(what, sizeof(what), "\"%s\" min_pages %d", set, 2 * k);
	nt_check_moved(what, &base, want, &p, 1);
	for (n = 0; n < nodes; n++)
		nt_check_pool_node(what, p, n, want[n], want[n], 0, 0);
	nt_check_sums(what, p);
	EXPECT(hugepool_destroy(p) == 0, "hugepool_destroy");

	/* blocks: a pool with no minimum, so that every page is fresh */
	cfg.min_pages = 0;
	p = hugepool_create(&cfg);
	ASSERT(p, "hugepool_create(INTERLEAVE \"%s\")%s%s", set, p ? "" : ": ",
	       p ? "" : strerror(errno));
	hugepool_set_decay_ms(p, -1);

	blk = hugepool_malloc(p, BATCH * NT_PSZ);
	ASSERT(blk, "hugepool_malloc(%d pages)%s%s", BATCH, blk ? "" : ": ",
	       blk ? "" : strerror(errno));
	memset(blk, 3, BATCH * NT_PSZ);
	snprintf(what, sizeof(what), "\"%s\" block of %d", set, BATCH);
	nt_check_pages(what, blk, BATCH, mask, hist);
	check_split(what, hist, nodes, mask, BATCH / k);

	memset(hist, 0, sizeof(hist));
	for (i = 0; i < BATCH; i++) {
		one[i] = hugepool_malloc(p, NT_PSZ);
		ASSERT(one[i], "hugepool_malloc(1 page) #%d%s%s", i, one[i] ? "" : ": ",
		       one[i] ? "" : strerror(errno));
		memset(one[i], 4, NT_PSZ);
		snprintf(what, sizeof(what), "\"%s\" single page #%d", set, i);
		nt_check_pages(what, one[i], 1, mask, hist);
	}
	snprintf(what, sizeof(what), "\"%s\" %d single pages", set, BATCH);
	check_split(what, hist, nodes, mask, BATCH / k);

	for (n = 0; n < nodes; n++)
		want[n] = mask & (1UL << n) ? 2L * BATCH / k : 0;
	snprintf(what, sizeof(what), "\"%s\" blocks", set);
	nt_check_moved(what, &base, want, &p, 1);
	for (n = 0; n < nodes; n++)
		nt_check_pool_node(what, p, n, want[n], 0, 0, want[n]);
	nt_check_sums(what, p);

	hugepool_free(blk);
	for (i = 0; i < BATCH; i++)
		hugepool_free(one[i]);
	EXPECT(hugepool_destroy(p) == 0, "hugepool_destroy(\"%s\")", set);
	snprintf(what, sizeof(what), "\"%s\" destroyed", set);
	nt_check_baseline(what, &base);
}

int main(void)
{
	int nodes;

	nt_init("numa-interleave");
	/* "0-1" takes 2 * 8 / 2 pages of each of its nodes at most */
	nodes = nt_require(2, 2 * BATCH / 2);
	interleave_over("0-1", 2, nodes);
	if (nodes >= 4)
		interleave_over("0-3", 4, nodes);
	else
		printf("%s: %d nodes: \"0-3\" runs in the 4-node guest\n", nt_name, nodes);
	return nt_finish();
}
