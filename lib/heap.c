/* SPDX-License-Identifier: MIT */
/*
 * heap.c - the small-object heap's entry points (see heap.h): malloc of up
 * to HP_HEAP_MAX bytes from this thread's span of the size class, free to
 * the owner's list or, from another thread, onto the span's xfree stack.
 *
 * Each class keeps a ring of spans; the head is the one allocated from.
 * When it runs out, the owner takes its xfree stack, then looks at a few
 * more spans of the ring (taking theirs), and only then takes the pool
 * lock for an abandoned span or a new one. A span that becomes empty is
 * given back at once unless it is the head: what a thread keeps free is
 * at most one span per class, and the objects of its thread cache (which
 * hold their spans until they are used or the cache is emptied).
 *
 * In a forked child nothing is written into a page still shared
 * copy-on-write with the parent before it is made private: frees into
 * such spans take the pool lock (hp_span_private), and the forking
 * thread's spans are abandoned at fork so its allocations adopt them
 * through the same check.
 */
#include "heap.h"

#include <string.h>

#define RING_LOOK	64	/* spans looked at before the pool lock: enough
				 * to find the objects other threads freed
				 * before a new span is carved */

/* ------------------------------------------------------------------------
 * the class ring (owner only)
 * ------------------------------------------------------------------------ */
void hp_theap_ring_add(struct hp_span **ring, struct hp_span *sp)
{
	struct hp_span *h = *ring;

	if (!h) {
		sp->next = sp->prev = sp;
	} else {
		sp->next = h;
		sp->prev = h->prev;
		h->prev->next = sp;
		h->prev = sp;
	}
	*ring = sp;
}

void hp_theap_ring_del(struct hp_span **ring, struct hp_span *sp)
{
	if (sp->next == sp) {
		*ring = NULL;
	} else {
		sp->prev->next = sp->next;
		sp->next->prev = sp->prev;
		if (*ring == sp)
			*ring = sp->next;
	}
	sp->next = sp->prev = NULL;
}

/* An empty span that is not the ring's head goes back to the pool. */
static void span_retire(struct hp_theap *th, struct hp_span *sp)
{
	struct hugepool *pool = sp->pool;

	hp_theap_ring_del(&th->ring[sp->cls], sp);
	hp_pool_lock(pool);
	hp_span_release(sp);
	hp_pool_op_end(pool);
}

/* ------------------------------------------------------------------------
 * allocation
 * ------------------------------------------------------------------------ */

/* A span of cls from the pool (abandoned, or new), this thread's now. */
static struct hp_span *span_get(struct hp_theap *th, unsigned int cls)
{
	struct hugepool *pool = th->pool;
	struct hp_span *sp;

	hp_pool_lock(pool);
	sp = hp_theap_adopt(pool, cls);
	if (!sp)
		sp = hp_span_new(pool, cls);
	if (sp)
		__atomic_store_n(&sp->owner, th, __ATOMIC_RELEASE);
	hp_pool_op_end(pool);
	if (sp)
		hp_theap_ring_add(&th->ring[cls], sp);
	return sp;
}

hp_cold void *hp_heap_alloc_slow(struct hp_theap *th, unsigned int cls)
{
	struct hp_span *head = th->ring[cls], *sp, *next;
	void *p;
	int k;

	if (head) {
		hp_span_collect(head);
		if ((p = hp_span_pop(head)))
			return p;
		for (sp = head->next, k = 0; sp != head && k < RING_LOOK; sp = next, k++) {
			next = sp->next;
			hp_span_collect(sp);
			if (!sp->used) {
				span_retire(th, sp);
				continue;
			}
			if (sp->free || sp->bump < sp->nobj) {
				th->ring[cls] = sp;
				return hp_span_pop(sp);
			}
		}
		/* the next search starts where this one stopped */
		th->ring[cls] = sp;
	}
	sp = span_get(th, cls);
	return sp ? hp_span_pop(sp) : NULL;
}

/* The class for size at align (a power of two up to a granule): a class
 * whose size is a multiple of align, since spans start granule-aligned. */
static inline int heap_class(size_t size, size_t align)
{
	unsigned int cls;

	if (align <= HP_HEAP_MIN_ALIGN)
		return size <= HP_HEAP_MAX ? (int)hp_heap_class(size) : -1;
	if (size < align)
		size = align;
	if (size > HP_HEAP_MAX)
		return -1;
	for (cls = hp_heap_class(size); cls < HP_HEAP_CLASSES; cls++)
		if (hp_heap_class_size(cls) % align == 0)
			return (int)cls;
	return -1;
}

/*
 * A small object from this thread's heap of pool, or NULL (not a size or
 * alignment for the heap, a HUGEPOOL_SHARED pool, no span to be had): the
 * caller then tries a granule block, which counts a failure if that fails
 * too.
 */
void *hp_heap_alloc(struct hugepool *pool, size_t size, size_t align, bool zero)
{
	struct hp_theap *th;
	struct hp_span *sp;
	int cls = heap_class(size, align);
	void *p;

	if (cls < 0 || (align > HP_HEAP_MIN_ALIGN && align > pool->h->size / GRANULES))
		return NULL;
	th = hp_theap_get(pool);
	if (unlikely(!th))
		return NULL;
	p = hp_tc_pop(th, (unsigned int)cls);
	if (unlikely(!p) && likely(sp = th->ring[cls]))
		p = hp_span_pop(sp);
	if (unlikely(!p)) {
		p = hp_heap_alloc_slow(th, (unsigned int)cls);
		if (!p)
			return NULL;
	}
	th->allocs++;
	if (zero)
		memset(p, 0, hp_heap_class_size((unsigned int)cls));
	return p;
}

/* ------------------------------------------------------------------------
 * free
 * ------------------------------------------------------------------------ */
/* Another thread's free: one compare-and-swap onto xfree, then the count
 * that takes it out of used. In that order: once the owner has counted
 * it, this thread is done with the span, which may then go (with
 * whatever xfree still holds: all of it free). */
static void span_push_remote(struct hp_span *sp, void *p)
{
	do
		*(void **)p = __atomic_load_n(&sp->xfree, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&sp->xfree, (void **)p, p, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
	__atomic_add_fetch(&sp->xcount, 1, __ATOMIC_RELEASE);
}

/* A free into a span that has no owner thread, or whose page this forked
 * child has not made private yet: under the pool lock. */
static hp_cold int free_locked(struct hp_span *sp, void *p)
{
	struct hugepool *pool = sp->pool;

	hp_pool_lock(pool);
	if (!hp_span_private(sp) && hp_pool_privatize(sp->arena, sp->slot, 1)) {
		/* no page to make it private with: the object stays held */
		pool->stats.failures++;
		hp_pool_op_end(pool);
		return 1;
	}
	if (__atomic_load_n(&sp->owner, __ATOMIC_ACQUIRE)) {
		hp_pool_op_end(pool);
		span_push_remote(sp, p);
		return 1;
	}
	*(void **)p = sp->free;
	sp->free = p;
	if (--sp->used == 0) {
		hp_theap_unabandon(sp);
		hp_span_release(sp);
		hp_pool_op_end(pool);
		return 2;
	}
	hp_pool_op_end(pool);
	return 1;
}

/* A free that is not the owner's plain push: onto xfree, or under the
 * pool lock for a span without an owner thread or a page not yet private.
 * Not cold: every free of a producer-consumer program comes here. */
static int free_other(struct hp_span *sp, void *ptr, struct hp_theap *o)
{
	if (o && hp_theap_mine(o)) {
		*(void **)ptr = sp->free;
		sp->free = ptr;
		if (--sp->used == 0 && o->ring[sp->cls] != sp && !hp_tl_pool_locks) {
			span_retire(o, sp);
			return 2;
		}
		return 1;
	}
	if (unlikely(!hp_span_private(sp)))
		/* a page still shared copy-on-write: not even a push into
		 * it from inside the allocator (it stays held) */
		return hp_tl_pool_locks ? 1 : free_locked(sp, ptr);
	if (!o && !hp_tl_pool_locks)
		return free_locked(sp, ptr);
	/* an abandoned span's xfree is taken by whoever adopts it */
	span_push_remote(sp, ptr);
	return 1;
}

/* The free of an object of sp (ptr checked to be one) that is not the
 * push into the owner's cache: the owner's push onto the span's list when
 * the cache is full, or another thread's free (see heap.h). */
int hp_heap_free_span(struct hp_span *sp, void *ptr)
{
	struct hp_theap *o = __atomic_load_n(&sp->owner, __ATOMIC_ACQUIRE);

	if (likely(o == hp_tl_heap && o)) {
		if (likely(hp_tc_push(o, sp->cls, ptr)))
			return 1;
		*(void **)ptr = sp->free;
		sp->free = ptr;
		if (likely(--sp->used) || o->ring[sp->cls] == sp || hp_tl_pool_locks)
			return 1;
		span_retire(o, sp);
		return 2;
	}
	return free_other(sp, ptr, o);
}

/*
 * Free ptr if it is an object of a span (see hp_heap_free in heap.h).
 * The owner's free is a push onto its thread cache: no lock, no atomic.
 */
int hp_heap_free(struct hp_arena *a, void *ptr)
{
	struct hp_span *sp = hp_span_of(a, ptr);

	if (!sp)
		return 0;
	if (unlikely(hp_heap_object(a, ptr) != sp)) {
		hp_log(1, "free(%p): not an object of the heap; ignored", ptr);
		return 1;
	}
	return hp_heap_free_obj(sp, ptr);
}

/* Usable size of the object at ptr, 0 if ptr is not in a span. */
size_t hp_heap_usable(const struct hp_arena *a, const void *ptr)
{
	const struct hp_span *sp = hp_span_of(a, ptr);

	return sp ? sp->osize : 0;
}
