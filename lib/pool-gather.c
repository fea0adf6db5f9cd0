/* SPDX-License-Identifier: MIT */
/*
 * pool-gather.c - a run of pages assembled from the pool's scattered free
 * pages: when no free extent is long enough for n pages, the free pages of
 * shorter extents are moved (mremap, no copy) into n empty slots, and only
 * what they do not cover is faulted fresh.
 *
 * Why: a run must be contiguous in the window, a free page is not worth
 * less for sitting elsewhere. Without this, a request for 5 pages next to
 * four free extents of 2 took 5 new pages from the kernel and kept the 8
 * free ones until they decayed: in a steady mix of sizes the pool held
 * 16% more pages than its blocks used (hugepool-bench waste), and a pool
 * at max_pages failed with enough free pages in hand. Moving a 2 MiB page
 * is a page-table move of a few microseconds; faulting one clears 2 MiB.
 *
 * The same fills given empty slots (hp_pool_fill_at): the run after a
 * MIXED page where a straddling block's fragment goes (mixed.c).
 *
 * Pages move in private (movable) arenas only: a HUGEPOOL_SHARED arena
 * keeps slot i at file page i. Nor in INTERLEAVE pools: their runs spread
 * over nodes in order, which free pages taken as they come would not
 * keep. There the fill faults fresh pages.
 */
#include "internal.h"

/* Where the pages of a gather came from, so that a failure can put them
 * back: a gather stops taking extents after GATHER_CHUNKS (the rest of
 * the run is faulted fresh). */
#define GATHER_CHUNKS	16

struct gather {
	size_t dst;			/* the run */
	size_t filled;			/* pages placed at dst so far */
	int nch;
	struct { size_t src, at, n; } ch[GATHER_CHUNKS];
};

/* Move pages [src, src + n) of a carved extent to the run. Returns how
 * many moved; the rest stay where they are, USED. */
static size_t move_pages(struct hugepool *root, struct hp_arena *a, struct gather *g,
			 size_t src, size_t n)
{
	size_t k, d = g->dst + g->filled;

	for (k = 0; k < n; k++) {
		if (hp_move_page(a, src + k, d + k))
			break;
		hp_vacate(a, src + k);
		a->slots[d + k].state = HP_SLOT_USED;
		a->slots[d + k].owner = root;
	}
	g->ch[g->nch].src = src;
	g->ch[g->nch].at = d;
	g->ch[g->nch].n = k;
	g->nch++;
	g->filled += k;
	return k;
}

/* A page moved to slot at goes back to slot src, EMPTY since (unless
 * someone mapped into its hole, or the move back fails: then it stays at
 * at), and onto the free lists there. */
static void unmove_page(struct hugepool *root, struct hp_arena *a, size_t src, size_t at)
{
	size_t home = at;

	if (a->slots[src].state == HP_SLOT_EMPTY) {
		hp_empty_remove(a, src);
		if (hp_move_page(a, at, src) == 0)
			home = src;
		else
			hp_empty_insert(a, src, 1);
	}
	a->slots[home].state = HP_SLOT_USED;
	a->slots[home].owner = root;
	hp_pool_put_run(root, a, home, 1);
}

/* Undo a gather: the pages go back where they came from, and the run's
 * slots left with no page (USED still) become address space again. */
static void gather_undo(struct hugepool *root, struct hp_arena *a, const struct gather *g,
			size_t n)
{
	size_t k, i;
	int c;

	for (c = g->nch - 1; c >= 0; c--)
		for (k = 0; k < g->ch[c].n; k++)
			unmove_page(root, a, g->ch[c].src + k, g->ch[c].at + k);
	for (i = g->dst; i < g->dst + n; i++)
		if (a->slots[i].state == HP_SLOT_USED)
			hp_empty_insert(a, i, 1);
}

/* May root's free pages be moved? Not a shared arena's (slot i is file
 * page i), not across an INTERLEAVE pool's nodes, not a subpool's (its
 * parent gathers). */
static bool may_move(const struct hugepool *root)
{
	return root->arena->fd < 0 && !root->parent &&
	       root->cfg.policy != HUGEPOOL_POLICY_INTERLEAVE;
}

/* Fill the n slots at dst, taken from the empty lists: free pages moved
 * there (if movable), fresh ones for the rest. 0, or -ENOMEM with the
 * pages put back and the slots EMPTY again. */
static int gather_into(struct hugepool *root, size_t dst, size_t n, bool movable)
{
	struct hp_arena *a = root->arena;
	struct gather g = { .dst = dst };
	int order[HP_MAX_NODES], k = hp_node_order(root, order);
	long h;

	while (movable && g.filled < n && g.nch < GATHER_CHUNKS &&
	       (h = hp_free_head_any(root, order, k)) >= 0) {
		size_t len = a->slots[h].run, take = len < n - g.filled ? len : n - g.filled;
		size_t moved;

		hp_free_carve(root, a, (size_t)h, (size_t)h, take);
		hp_took_from_free(root, a, (size_t)h, take);
		moved = move_pages(root, a, &g, (size_t)h, take);
		if (moved < take) {
			hp_pool_put_run(root, a, (size_t)h + moved, take - moved);
			goto undo;
		}
	}
	if (g.filled < n && hp_pool_fault_at(root, a, g.dst + g.filled, n - g.filled))
		goto undo;
	root->stats.pages_moved += g.filled;
	return 0;
undo:
	gather_undo(root, a, &g, n);
	return -ENOMEM;
}

/* Free pages root holds that a gather may take. */
static size_t movable_free(struct hugepool *root)
{
	int order[HP_MAX_NODES], k = hp_node_order(root, order), i;
	size_t have = 0;

	for (i = 0; i < k; i++)
		have += root->freelists[order[i]].pages;
	return have;
}

/* Room under max_pages for n pages of which have can be moved. */
static bool under_max(const struct hugepool *root, size_t n, size_t have)
{
	return have >= n || !root->max_pages || root->nr_huge_pages + (n - have) <= root->max_pages;
}

/*
 * n pages at a fresh run of slots for root, aligned to align slots: the
 * free pages it holds on its nodes first, moved there, then fresh ones.
 * Returns the first index (the run USED, owned by root) or -ENOMEM with
 * the pool as it was.
 */
long hp_pool_gather_run(struct hugepool *root, size_t n, size_t align)
{
	size_t have;
	long dst;

	if (!may_move(root) || !(have = movable_free(root)) || !under_max(root, n, have))
		return -ENOMEM;
	dst = hp_empty_take(root->arena, n, align);
	if (dst < 0)
		return dst;
	return gather_into(root, (size_t)dst, n, true) ? -ENOMEM : dst;
}

int hp_pool_fill_at(struct hugepool *root, size_t first, size_t n)
{
	bool movable = may_move(root);
	size_t have = movable ? movable_free(root) : 0;

	if (root->parent || !under_max(root, n, have) ||
	    hp_empty_take_at(root->arena, first, n))
		return -ENOMEM;
	return gather_into(root, first, n, movable);
}
