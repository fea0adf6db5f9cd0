/* SPDX-License-Identifier: MIT */
/*
 * move.c - a block's run of pages grown in place, or moved to a longer run
 * without copying (mremap), for realloc.
 */
#include "internal.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * growing a run in place and moving one (realloc)
 * ------------------------------------------------------------------------ */

/*
 * Move the pages of USED run [first, first + npages) to a new run of
 * new_npages slots without copying (mremap), then fill the rest with pages
 * of the pool. Returns the new first index or -errno (nothing changed).
 */
/* Undo the tail of a move that failed at page i of extra: what is not
 * placed yet goes back to the pool, the pages placed so far are moved out
 * again (or given back to the kernel if even that fails). */
static void tail_undo(struct hugepool *pool, struct hp_arena *a, long tail, size_t dst_tail,
		      size_t i, size_t extra)
{
	size_t k;

	for (k = i; k < extra; k++)
		a->slots[(size_t)tail + k].state = HP_SLOT_USED;
	hp_pool_put_run(pool, a, (size_t)tail + i, extra - i);
	for (k = 0; k < i; k++) {
		size_t back = dst_tail + k;
		long e = hp_empty_take(a, 1, 1);

		if (e < 0 || hp_move_page(a, back, (size_t)e)) {
			hp_root_release(pool->root, a, back, 1);
			continue;
		}
		hp_vacate(a, back);
		a->slots[e].state = HP_SLOT_USED;
		a->slots[e].owner = pool;
		hp_pool_put_run(pool, a, (size_t)e, 1);
	}
}

/* Pages for the tail of the new run [dst_tail, dst_tail + extra), taken
 * first: if they cannot be had, nothing has moved. 0 or -errno; on error
 * the slots never filled are the caller's to give back from i on, *failed
 * says where. */
static int move_tail(struct hugepool *pool, struct hp_arena *a, size_t dst_tail, size_t extra,
		     size_t *failed)
{
	long tail = hp_pool_take_run(pool, extra, 1);
	size_t i;
	int ret;

	*failed = 0;
	if (tail < 0)
		return (int)tail;
	for (i = 0; i < extra; i++) {
		size_t src = (size_t)tail + i, d = dst_tail + i;

		ret = hp_move_page(a, src, d);
		if (ret) {
			tail_undo(pool, a, tail, dst_tail, i, extra);
			*failed = i;
			return ret;
		}
		hp_vacate(a, src);
		a->slots[d].state = HP_SLOT_USED;
		a->slots[d].owner = pool;
	}
	return 0;
}

/* The block's own pages moved, up to page i where a move failed: move the
 * moved ones back, and the block is as it was. */
static void head_undo(struct hugepool *pool, struct hp_arena *a, size_t first, size_t npages,
		      size_t dst, size_t i, size_t head_req)
{
	size_t k;

	for (k = 0; k < i; k++) {
		size_t e = first + k;

		/* the old slot went back to the empty lists: take it out */
		if (a->slots[e].state != HP_SLOT_EMPTY)
			continue;
		hp_empty_remove(a, e);
		if (hp_move_page(a, dst + k, e) == 0) {
			hp_vacate(a, dst + k);
			a->slots[e].state = HP_SLOT_USED;
			a->slots[e].owner = pool;
		}
	}
	/* its head slot lost its description when it was vacated (found by
	 * tests/fault: the block was no longer live and its pages were never
	 * freed) */
	a->slots[first].head = (uint32_t)first;
	a->slots[first].run = (uint32_t)npages;
	a->slots[first].req = head_req;
}

long hp_pool_move_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		      size_t npages, size_t new_npages)
{
	size_t head_req = a->slots[first].req;	/* the block's, for an undo */
	size_t i, extra = new_npages - npages, failed;
	long dst;
	int ret;

	if (new_npages <= npages)
		return -EINVAL;
	if (a->fd >= 0)
		return -EOPNOTSUPP;	/* [api] see hp_move_page */
	dst = hp_empty_take(a, new_npages, 1);
	if (dst < 0)
		return dst;
	ret = move_tail(pool, a, (size_t)dst + npages, extra, &failed);
	if (ret) {
		/* only the slots never filled go back to the empty lists:
		 * those moved back from were vacated, and hp_empty_take may
		 * have put a page in one of them again. Found by tests/fault:
		 * inserting the whole run made such a free page's slot EMPTY,
		 * and the page was lost while still counted. */
		hp_empty_insert(a, (size_t)dst, npages);
		hp_empty_insert(a, (size_t)dst + npages + failed, extra - failed);
		return ret;
	}
	for (i = 0; i < npages; i++) {
		size_t d = (size_t)dst + i;

		ret = hp_move_page(a, first + i, d);
		if (ret) {
			head_undo(pool, a, first, npages, (size_t)dst, i, head_req);
			/* the slots never filled are address space again */
			hp_empty_insert(a, (size_t)dst + i, npages - i);
			hp_pool_put_run(pool, a, (size_t)dst + npages, extra);
			return ret;
		}
		hp_vacate(a, first + i);
		a->slots[d].state = HP_SLOT_USED;
		a->slots[d].owner = pool;
	}
	pool->root->stats.pages_moved += npages;
	return dst;
}
