/* SPDX-License-Identifier: MIT */
/*
 * block.c - what every kind of block shares: the activity counters, the
 * fallback window's base pages, and taking pages for a block from the pool
 * (made private in a forked child, refused from a HUGEPOOL_SHARED pool that
 * came across fork). Whole-page blocks (alloc.c), granule blocks
 * (mixed.c) and the small-object heap's spans (heap*.c) build on it.
 */
#include "block.h"

/* ------------------------------------------------------------------------
 * activity counters (pool lock held): allocs - frees is the number of live
 * blocks; bytes_requested, bytes_in_use (usable) and bytes_held (the pages
 * and MIXED pages that hold blocks) describe them, so waste is
 * bytes_held - bytes_requested.
 * ------------------------------------------------------------------------ */
void hp_stat_alloc(struct hugepool *pool, size_t req, size_t usable)
{
	struct hp_stats *st = &pool->stats;

	st->allocs++;
	st->bytes_requested += req;
	st->bytes_in_use += usable;
	if (st->bytes_in_use > st->bytes_peak)
		st->bytes_peak = st->bytes_in_use;
}

void hp_stat_free(struct hugepool *pool, size_t req, size_t usable)
{
	pool->stats.frees++;
	pool->stats.bytes_requested -= req;
	pool->stats.bytes_in_use -= usable;
}

/* A block changed size in place (realloc). */
void hp_stat_resize(struct hugepool *pool, size_t old_req, size_t old_usable,
			size_t req, size_t usable)
{
	struct hp_stats *st = &pool->stats;

	st->bytes_requested += req - old_req;
	st->bytes_in_use += usable - old_usable;
	if (st->bytes_in_use > st->bytes_peak)
		st->bytes_peak = st->bytes_in_use;
}

void hp_note_fallback(struct hugepool *pool)
{
	static bool told;

	pool->stats.fallbacks++;
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		hp_log(1, "no %zu KiB huge page could be had: falling back to base pages (counted in stats as fallbacks)",
		       pool->h->size >> 10);
}

/* Fallback: base pages in the pool's fallback window, mapped per block and
 * given straight back to the kernel on free. Returns the first slot. */
long hp_fb_take(struct hugepool *pool, size_t n, size_t align)
{
	struct hp_arena *a = pool->fb_arena;
	long first = hp_empty_take(a, n, align);
	size_t i;

	if (first < 0)
		return first;
	if (hp_fault_base(a, (size_t)first, n)) {
		hp_empty_insert(a, (size_t)first, n);
		return -ENOMEM;
	}
	for (i = (size_t)first; i < (size_t)first + n; i++) {
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].owner = pool;
		a->slots[i].req = 0;
	}
	return first;
}

static void fb_put(struct hp_arena *a, size_t first, size_t n)
{
	hp_unmap_pages(a, first, n);
	hp_empty_insert(a, first, n);
}

/* Give a run of USED slots back to wherever it came from. */
void hp_run_put(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n)
{
	if (a->fallback)
		fb_put(a, first, n);
	else
		hp_pool_put_run(pool, a, first, n);
}

/*
 * A HUGEPOOL_SHARED pool inherited across fork: its free pages are free in
 * the parent's view too, and both would hand out the same file page. The
 * child keeps the blocks and regions it inherited (shared, as asked) but
 * takes no new pages from it (a FALLBACK pool falls back). Said once.
 */
bool hp_pool_foreign(struct hugepool *pool)
{
	static bool told;

	if (likely(!hp_arena_foreign(pool->arena)))
		return false;
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		hp_log(1, "pool %s is HUGEPOOL_SHARED and came across fork: its pages are the parent's, this process takes none from it",
		       pool->name);
	return true;
}

/* n pages from the pool for a block, made private in a forked child.
 * Returns the first slot or -ENOMEM. */
long hp_take_pages(struct hugepool *pool, size_t n, size_t align)
{
	struct hp_arena *a = pool->arena;
	long first;

	if (unlikely(maybe_cow()) && hp_pool_foreign(pool))
		return -ENOMEM;
	first = hp_pool_take_run(pool, n, align);

	if (first >= 0 && maybe_cow() && hp_pool_privatize(a, (size_t)first, n)) {
		/* forked child, kernel pool empty: these pages cannot be made
		 * private, so they cannot be handed out */
		hp_pool_put_run(pool, a, (size_t)first, n);
		first = -ENOMEM;
	}
	return first;
}

