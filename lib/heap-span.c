/* SPDX-License-Identifier: MIT */
/*
 * heap-span.c - spans: the small-object heap's unit of memory, a granule
 * block of a MIXED page cut into objects of one size class.
 *
 * A span's objects are handed out first from its free list, then from the
 * part never handed out (bump), so a new span is not written before it is
 * used. Its size grows with the class: 64 objects (16 of the largest
 * classes), 32 KiB at least, rounded up to whole granules.
 */
#include "heap.h"

#include <string.h>

static size_t span_bytes(const struct hugepool *pool, unsigned int cls)
{
	size_t osize = hp_heap_class_size(cls);
	size_t gsz = pool->h->size / GRANULES;
	size_t want = osize * 64;

	/* 64 objects at least (16 for the largest classes), in whole
	 * granules; 32 KiB at least, so that the span's descriptor (on base
	 * pages, with the rest of the metadata) stays under 1% of the heap */
	if (want < 32 * 1024)
		want = 32 * 1024;
	if (want > 256 * 1024)
		want = 256 * 1024;
	return (want + gsz - 1) / gsz * gsz;
}

static struct hp_heap_pool *heap_pool(struct hugepool *pool)
{
	if (!pool->heap)
		pool->heap = hp_meta_zalloc(sizeof(*pool->heap));
	return pool->heap;
}

/* A new span of class cls for pool (lock held), or NULL. */
struct hp_span *hp_span_new(struct hugepool *pool, unsigned int cls)
{
	struct hp_heap_pool *hpool = heap_pool(pool);
	struct hp_span *sp;
	size_t bytes;

	if (!hpool || !(sp = hp_meta_zalloc(sizeof(*sp))))
		return NULL;
	bytes = span_bytes(pool, cls);
	sp->start = hp_mixed_span_take(pool, bytes, sp, &sp->arena);
	if (!sp->start) {
		hp_meta_free(sp, sizeof(*sp));
		return NULL;
	}
	sp->pool = pool;
	sp->cls = (uint8_t)cls;
	sp->osize = (uint32_t)hp_heap_class_size(cls);
	sp->nobj = (uint32_t)(bytes / sp->osize);
	sp->recip = ((uint64_t)1 << 40) / sp->osize + 1;
	sp->slot = hp_slot_index(sp->arena, sp->start);
	hpool->spans++;
	return sp;
}

/* The span goes back to its MIXED page (lock held); no object is live. */
void hp_span_release(struct hp_span *sp)
{
	hp_mixed_span_put(sp->arena, sp->start);
	sp->pool->heap->spans--;
	hp_meta_free(sp, sizeof(*sp));
}

/* Account for the objects other threads freed (by the span's owner, or
 * under the pool lock for an abandoned span): they leave used by their
 * count, with no walk of the list (a walk would wait for every object's
 * line, one after the other, from the CPU that freed it). The list itself
 * becomes the free list when that is empty; else it waits on xfree for
 * the next time. Returns how many were counted. */
unsigned int hp_span_collect(struct hp_span *sp)
{
	unsigned int n = 0;

	if (__atomic_load_n(&sp->xcount, __ATOMIC_RELAXED)) {
		n = __atomic_exchange_n(&sp->xcount, 0, __ATOMIC_ACQUIRE);
		sp->used -= n;
	}
	if (!sp->free && __atomic_load_n(&sp->xfree, __ATOMIC_RELAXED))
		sp->free = __atomic_exchange_n(&sp->xfree, NULL, __ATOMIC_ACQUIRE);
	return n;
}
