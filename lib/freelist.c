/* SPDX-License-Identifier: MIT */
/*
 * freelist.c - a pool's counters and its per-node free lists: the hstate's
 * nr/free/resv/surplus_huge_pages (hp_pool_acct, adjust_pool_surplus) and
 * hugepage_freelists[nid], whose free extents coalesce in O(1) and are
 * taken in the order of the pool's node policy
 * (dequeue_huge_page_node_exact).
 */
#include "internal.h"

/* ------------------------------------------------------------------------
 * counters
 * ------------------------------------------------------------------------ */
void hp_pool_acct(struct hugepool *pool, int node, long dnr, long dfree, long dresv)
{
	pool->nr_huge_pages += dnr;
	pool->free_huge_pages += dfree;
	pool->resv_huge_pages += dresv;
	if (node >= 0 && node < HP_MAX_NODES) {
		pool->nr_huge_pages_node[node] += dnr;
		pool->free_huge_pages_node[node] += dfree;
		pool->resv_huge_pages_node[node] += dresv;
	}
}

static size_t pool_min(const struct hugepool *pool)
{
	return pool->min_pages;
}

/*
 * Keep surplus_huge_pages = max(0, nr - min), attributed to nodes as the
 * kernel's adjust_pool_surplus does: a page that arrives while the pool is
 * at its minimum is surplus on its node; a page that leaves takes surplus
 * off its own node first, then off any node that has some.
 */
void hp_surplus_added(struct hugepool *pool, int node)
{
	if (pool->nr_huge_pages > pool_min(pool)) {
		pool->surplus_huge_pages++;
		if (node >= 0)
			pool->surplus_huge_pages_node[node]++;
	}
}

void hp_surplus_removed(struct hugepool *pool, int node)
{
	int n;

	if (pool->surplus_huge_pages == 0 || pool->nr_huge_pages >= pool_min(pool) +
	    pool->surplus_huge_pages)
		return;
	pool->surplus_huge_pages--;
	if (node >= 0 && pool->surplus_huge_pages_node[node]) {
		pool->surplus_huge_pages_node[node]--;
		return;
	}
	for (n = 0; n < HP_MAX_NODES; n++) {
		if (pool->surplus_huge_pages_node[n]) {
			pool->surplus_huge_pages_node[n]--;
			return;
		}
	}
}

/* min changed: convert pages between persistent and surplus */
void hp_surplus_readjust(struct hugepool *pool)
{
	size_t want = pool->nr_huge_pages > pool->min_pages ?
		      pool->nr_huge_pages - pool->min_pages : 0;
	int n;

	while (pool->surplus_huge_pages > want) {
		for (n = 0; n < HP_MAX_NODES; n++)
			if (pool->surplus_huge_pages_node[n]) {
				pool->surplus_huge_pages_node[n]--;
				break;
			}
		pool->surplus_huge_pages--;
	}
	while (pool->surplus_huge_pages < want) {
		/* nodes that have persistent pages to convert */
		for (n = 0; n < HP_MAX_NODES; n++)
			if (pool->nr_huge_pages_node[n] > pool->surplus_huge_pages_node[n]) {
				pool->surplus_huge_pages_node[n]++;
				break;
			}
		pool->surplus_huge_pages++;
	}
}

/* ------------------------------------------------------------------------
 * free lists (hugepage_freelists)
 * ------------------------------------------------------------------------ */
void hp_free_insert(struct hugepool *pool, struct hp_arena *a, size_t first,
			size_t n, int node, uint32_t stamp)
{
	struct hp_freelist *fl = &pool->freelists[node < 0 ? 0 : node];
	size_t i;

	for (i = first; i < first + n; i++) {
		a->slots[i].state = HP_SLOT_FREE;
		a->slots[i].owner = pool;
		a->slots[i].req = 0;
	}
	fl->pages += n;
	if (first > 0) {
		struct hp_slot *l = &a->slots[first - 1];

		if (l->state == HP_SLOT_FREE && l->owner == pool && l->node == node) {
			size_t lh = first - l->run;

			if (a->slots[lh].stamp > stamp)
				stamp = a->slots[lh].stamp;
			hp_ext_unlink(fl->bins, HP_FREE_BINS, &a->slots[lh]);
			n += first - lh;
			first = lh;
		}
	}
	if (first + n < a->nslots) {
		struct hp_slot *r = &a->slots[first + n];

		if (r->state == HP_SLOT_FREE && r->owner == pool && r->node == node) {
			size_t rn = r->run;

			if (r->stamp > stamp)
				stamp = r->stamp;
			hp_ext_unlink(fl->bins, HP_FREE_BINS, r);
			n += rn;
		}
	}
	hp_run_set_len(a, first, n);
	a->slots[first].stamp = stamp;
	hp_ext_link(fl->bins, HP_FREE_BINS, &a->slots[first], n);
}

/* Put back a leftover piece of a carved free extent: its slots are FREE,
 * the pool's, on node already, and its neighbours are the carved part and
 * whatever bordered the extent (never free of the same pool and node:
 * extents are kept coalesced), so only the ends and the list change.
 * Rewriting every slot here made a pair's cost grow with the extent. */
static void free_relink(struct hugepool *pool, struct hp_arena *a, size_t first,
			size_t n, int node, uint32_t stamp)
{
	struct hp_freelist *fl = &pool->freelists[node < 0 ? 0 : node];

	fl->pages += n;
	hp_run_set_len(a, first, n);
	a->slots[first].stamp = stamp;
	hp_ext_link(fl->bins, HP_FREE_BINS, &a->slots[first], n);
}

/* Remove [start, start + n) from the free extent headed at head. */
void hp_free_carve(struct hugepool *pool, struct hp_arena *a, size_t head,
		       size_t start, size_t n)
{
	int node = a->slots[head].node;
	struct hp_freelist *fl = &pool->freelists[node < 0 ? 0 : node];
	size_t len = a->slots[head].run;
	uint32_t stamp = a->slots[head].stamp;
	size_t i;

	hp_ext_unlink(fl->bins, HP_FREE_BINS, &a->slots[head]);
	fl->pages -= len;
	for (i = start; i < start + n; i++)
		a->slots[i].state = HP_SLOT_USED;
	if (start > head)
		free_relink(pool, a, head, start - head, node, stamp);
	if (start + n < head + len)
		free_relink(pool, a, start + n, head + len - start - n, node, stamp);
}

/* Node search order for a pool's policy. */
int hp_node_order(struct hugepool *pool, int *order)
{
	int n, k = 0;
	hp_nodemask_t all;

	for (n = 0; n < HP_MAX_NODES; n++)
		if (hp_nodemask_test(&pool->root->nodes, n))
			order[k++] = n;
	if (pool->root->cfg.policy == HUGEPOOL_POLICY_PREFERRED ||
	    pool->root->cfg.policy == HUGEPOOL_POLICY_DEFAULT) {
		/* then any other node the pool has pages on */
		hp_node_allowed(&all);
		for (n = 0; n < HP_MAX_NODES; n++)
			if (!hp_nodemask_test(&pool->root->nodes, n) &&
			    (hp_nodemask_test(&all, n) || pool->freelists[n].pages))
				order[k++] = n;
	}
	return k;
}

/* A run of n free pages on one node, or -ENOMEM. */
static long free_take_node(struct hugepool *pool, struct hp_arena *a, int node,
			   size_t n, size_t align)
{
	struct hp_freelist *fl = &pool->freelists[node];
	size_t start;
	long head;

	if (fl->pages < n)
		return -ENOMEM;
	head = hp_ext_find(a, fl->bins, HP_FREE_BINS, n, align, &start);
	if (head < 0)
		return -ENOMEM;
	hp_free_carve(pool, a, (size_t)head, start, n);
	return (long)start;
}

/* dequeue_huge_page_nodemask: a run of n free pages on one node */
long hp_free_take(struct hugepool *pool, struct hp_arena *a, size_t n, size_t align)
{
	const hp_nodemask_t *m = &pool->root->nodes;
	int order[HP_MAX_NODES], k, i;
	long first;
	size_t w;

	/* [api: hot path] the pool's own nodes first, straight from the mask
	 * words: building the whole hp_node_order() on every malloc was a third
	 * of a warm alloc+free pair */
	for (w = 0; w < ARRAY_SIZE(m->bits); w++) {
		unsigned long bits;

		for (bits = m->bits[w]; bits; bits &= bits - 1) {
			int node = (int)(w * 8 * sizeof(unsigned long)) + __builtin_ctzl(bits);

			first = free_take_node(pool, a, node, n, align);
			if (first >= 0)
				return first;
		}
	}
	if (pool->root->cfg.policy != HUGEPOOL_POLICY_PREFERRED &&
	    pool->root->cfg.policy != HUGEPOOL_POLICY_DEFAULT)
		return -ENOMEM;
	k = hp_node_order(pool, order);
	for (i = 0; i < k; i++) {
		if (hp_nodemask_test(m, order[i]))
			continue;	/* tried above */
		first = free_take_node(pool, a, order[i], n, align);
		if (first >= 0)
			return first;
	}
	return -ENOMEM;
}

long hp_free_head_any(const struct hugepool *pool, const int *order, int k)
{
	int i;
	unsigned int b;

	for (i = 0; i < (order ? k : HP_MAX_NODES); i++) {
		const struct hp_freelist *fl = &pool->freelists[order ? order[i] : i];

		if (!fl->pages)
			continue;
		for (b = 0; b < HP_FREE_BINS; b++)
			if (fl->bins[b])
				return fl->bins[b] - pool->arena->slots;
	}
	return -1;
}

/* Take pages the pool holds off its free lists into USED state for the
 * pool itself (free_huge_pages drops). */
void hp_took_from_free(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n)
{
	size_t i, j;

	/* counted per stretch of one node, not per page [api: hot path] */
	for (i = first; i < first + n; i = j) {
		int node = a->slots[i].node;

		for (j = i; j < first + n && a->slots[j].node == node; j++)
			a->slots[j].owner = pool;
		hp_pool_acct(pool, node, 0, -(long)(j - i), 0);
	}
}

