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

/* Extend the USED run [first, first + npages) by extra pages right after
 * it, taken from the pool's free extent there or faulted into empty slots.
 * 0 or -ENOMEM (nothing changed). */
int hp_pool_grow_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		     size_t npages, size_t extra)
{
	size_t next = first + npages, i;
	struct hp_slot *s;

	if (next + extra > a->nslots)
		return -ENOMEM;
	s = &a->slots[next];
	if (s->state == HP_SLOT_FREE && s->owner == pool && s->run >= extra &&
	    !pool->parent) {
		hp_free_carve(pool, a, next, next, extra);
		hp_took_from_free(pool, a, next, extra);
		return 0;
	}
	if (s->state == HP_SLOT_EMPTY && s->run >= extra && !pool->parent &&
	    a->fd < 0) {
		struct hugepool *root = pool;

		if (root->max_pages && root->nr_huge_pages + extra > root->max_pages)
			return -ENOMEM;
		hp_ext_unlink(a->empty_bins, HP_FREE_BINS_A, s);
		{
			size_t len = s->run;

			for (i = next; i < next + extra; i++) {
				memset(&a->slots[i], 0, sizeof(a->slots[i]));
				a->slots[i].state = HP_SLOT_USED;
			}
			if (len > extra)
				hp_empty_insert(a, next + extra, len - extra);
		}
		if (hp_fault_run(root, a, next, extra)) {
			hp_empty_insert(a, next, extra);
			return -ENOMEM;
		}
		for (i = next; i < next + extra; i++) {
			a->slots[i].owner = root;
			hp_pool_acct(root, a->slots[i].node, 1, 0, 0);
			hp_surplus_added(root, a->slots[i].node);
		}
		return 0;
	}
	return -ENOMEM;
}

/*
 * Move the pages of USED run [first, first + npages) to a new run of
 * new_npages slots without copying (mremap), then fill the rest with pages
 * of the pool. Returns the new first index or -errno (nothing changed).
 */
long hp_pool_move_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		      size_t npages, size_t new_npages)
{
	size_t head_req = a->slots[first].req;	/* the block's, for an undo */
	long dst;
	size_t i;
	int ret;

	if (new_npages <= npages)
		return -EINVAL;
	if (a->fd >= 0)
		return -EOPNOTSUPP;	/* [api] see hp_move_page */
	dst = hp_empty_take(a, new_npages, 1);
	if (dst < 0)
		return dst;
	/* pages for the tail first: if they cannot be had, nothing moved */
	{
		size_t extra = new_npages - npages;
		long tail = hp_pool_take_run(pool, extra, 1);

		if (tail < 0) {
			hp_empty_insert(a, (size_t)dst, new_npages);
			return tail;
		}
		for (i = 0; i < extra; i++) {
			size_t src = (size_t)tail + i, d = (size_t)dst + npages + i;

			ret = hp_move_page(a, src, d);
			if (!ret)
				hp_vacate(a, src);
			if (ret) {
				/* give back what is not placed yet, undo the rest */
				size_t k;

				for (k = i; k < extra; k++)
					a->slots[(size_t)tail + k].state = HP_SLOT_USED;
				hp_pool_put_run(pool, a, (size_t)tail + i, extra - i);
				for (k = 0; k < i; k++) {
					size_t back = (size_t)dst + npages + k;
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
				/* only the slots never filled go back to the empty
				 * lists: those moved back from were vacated above,
				 * and hp_empty_take may have put a page in one of them
				 * again. Found by tests/fault: inserting the whole
				 * run made such a free page's slot EMPTY, and the
				 * page was lost while still counted. */
				hp_empty_insert(a, (size_t)dst, npages);
				hp_empty_insert(a, (size_t)dst + npages + i, extra - i);
				return ret;
			}
			a->slots[d].state = HP_SLOT_USED;
			a->slots[d].owner = pool;
		}
	}
	for (i = 0; i < npages; i++) {
		size_t d = (size_t)dst + i;

		ret = hp_move_page(a, first + i, d);
		if (!ret)
			hp_vacate(a, first + i);
		if (ret) {
			/* half moved: move the moved ones back */
			size_t k;

			for (k = 0; k < i; k++) {
				long e = (long)(first + k);

				/* the old slot went back to the empty
				 * lists: take it out again */
				if (a->slots[e].state != HP_SLOT_EMPTY)
					continue;
				hp_empty_remove(a, (size_t)e);
				if (hp_move_page(a, (size_t)dst + k, (size_t)e) == 0) {
					hp_vacate(a, (size_t)dst + k);
					a->slots[e].state = HP_SLOT_USED;
					a->slots[e].owner = pool;
				}
			}
			/* the block is as it was: its head slot lost its
			 * description when it was vacated (found by
			 * tests/fault: the block was no longer live and its
			 * pages were never freed), and the slots never filled
			 * are address space again */
			a->slots[first].head = (uint32_t)first;
			a->slots[first].run = (uint32_t)npages;
			a->slots[first].req = head_req;
			hp_empty_insert(a, (size_t)dst + i, npages - i);
			hp_pool_put_run(pool, a, (size_t)dst + npages, new_npages - npages);
			return ret;
		}
		a->slots[d].state = HP_SLOT_USED;
		a->slots[d].owner = pool;
	}
	pool->root->stats.pages_moved += npages;
	return dst;
}
