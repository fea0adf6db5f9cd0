/* SPDX-License-Identifier: MIT */
/*
 * heap.h - the small-object heap: size classes carved from spans of pool
 * pages, owned by per-thread heaps (struct hp_theap), with a lock-free
 * remote free for objects freed by another thread.
 *
 *  - A span is a granule range of a MIXED page (mixed.c), so spans of all
 *    classes and threads share huge pages with each other and with
 *    granule blocks: 64 threads that malloc 16 bytes hold 64 spans of
 *    32 KiB (one huge page), not 64 pages.
 *  - Ownership by address stays O(1): the MIXED page's span_at[] maps a
 *    granule to its span; no header sits in front of any object.
 *  - The owner thread allocates and frees with no lock and no atomic
 *    operation, through a small per-thread cache of the objects it freed
 *    last (heap-cache.c); another thread's free is one compare-and-swap
 *    onto the span's xfree stack and a count, which the owner takes whole
 *    when it runs short.
 *    Only span carving and release take the pool lock.
 */
#ifndef HUGEPOOL_HEAP_H
#define HUGEPOOL_HEAP_H

#include "block.h"

/* Objects up to HP_HEAP_MAX bytes live in spans; larger blocks are
 * granule blocks or runs of pages. */
#define HP_HEAP_MAX		16384
#define HP_HEAP_CLASSES		36
#define HP_HEAP_MIN_ALIGN	16	/* alignof(max_align_t) on x86-64 */

_Static_assert((GRANULES & (GRANULES - 1)) == 0, "hp_span_of shifts by granules");

struct hp_theap;

/* Three cache lines' worth, so that a free by another thread never writes
 * near what the owner writes on every allocation and free. Padded, not
 * aligned: metadata memory is not cache-line aligned. */
struct hp_span {
	/* written by the owner, no lock: */
	void *free;			/* objects freed by the owner */
	uint32_t used;			/* handed out and not known to be freed */
	uint32_t bump;			/* objects from here on never handed out */
	uint32_t nobj;
	struct hp_span *next, *prev;	/* the owner's class ring, or abandoned list */
	char pad_owner[64 - 8 - 4 * 3 - 4 - 2 * 8];
	/* read by every free, written rarely: */
	struct hp_theap *owner;		/* NULL: abandoned (its thread exited) */
	char *start;
	uint32_t osize;
	uint8_t cls;
	bool abandoned;			/* on pool's abandoned list (pool lock) */
	uint64_t recip;			/* 2^40 / osize + 1: off / osize by multiply */
	struct hugepool *pool;
	struct hp_arena *arena;
	size_t slot;			/* the MIXED page's slot */
	char pad_shared[8];
	/* written by other threads' frees: */
	void *xfree;
	uint32_t xcount;		/* pushed onto xfree, not yet out of used */
	char pad_remote[64 - 8 - 4];
};

/* What the thread cache of a class may hold: HP_TC_BYTES, at most
 * HP_TC_MAX objects and at least HP_TC_MIN (heap-cache.c). */
#define HP_TC_BYTES		8192
#define HP_TC_MAX		32
#define HP_TC_MIN		2

struct hp_theap {
	struct hugepool *pool;		/* NULL once the pool is destroyed */
	bool dead;			/* pool destroyed; the thread drops it */
	uint64_t allocs;		/* objects served (owner only) */
	/* the thread cache (owner only, heap-cache.c): per class, the
	 * objects this thread freed last, a list linked through them, and
	 * how many more it may take. A cached object still counts in its
	 * span's used: the span cannot go while it is cached. */
	void *tc[HP_HEAP_CLASSES];
	uint16_t tc_room[HP_HEAP_CLASSES];
	struct hp_span *ring[HP_HEAP_CLASSES];	/* head: the span allocated from */
	struct hp_theap *tnext;		/* this thread's heaps (TLS list) */
	struct hp_theap *pnext, *pprev;	/* the pool's heaps (pool lock) */
	void *large;			/* the large-block cache's (alloc.c) */
};

/* A consumer above the heap that keeps per-thread state in th->large
 * (alloc.c's cache of large blocks) is told, pool lock held, when that
 * state must go back to the pool: the thread exits, hugepool_trim, or
 * (child: true) the thread's heaps are dropped in a forked child. At pool
 * destroy the state is forgotten instead (destroy_all frees the blocks). */
struct hp_theap_client {
	void (*drop)(struct hp_theap *th, bool child);
	void (*forget)(struct hp_theap *th);
};
void hp_theap_set_client(const struct hp_theap_client *c);

/* The pool's heap state (struct hugepool.heap). */
struct hp_heap_pool {
	struct hp_theap *theaps;	/* live thread heaps of this pool */
	struct hp_span *abandoned[HP_HEAP_CLASSES];
	size_t spans;			/* spans carved and not yet released */
	uint64_t allocs;		/* objects served by heaps now gone */
};

static inline unsigned int hp_heap_class(size_t size)
{
	size_t w;
	unsigned int b;

	if (size <= 128)
		return size ? (unsigned int)((size + 15) / 16 - 1) : 0;
	w = size - 1;
	b = 63 - (unsigned int)__builtin_clzll(w);
	return 8 + (b - 7) * 4 + (unsigned int)((w >> (b - 2)) & 3);
}

static inline size_t hp_heap_class_size(unsigned int cls)
{
	unsigned int b;

	if (cls < 8)
		return ((size_t)cls + 1) * 16;
	b = 7 + (cls - 8) / 4;
	return ((size_t)1 << b) + ((size_t)(cls - 8) % 4 + 1) * ((size_t)1 << (b - 2));
}

extern __thread struct hp_theap *hp_tl_heap
	__attribute__((tls_model("initial-exec")));	/* the heap used last */

/* heap-thread.c */
struct hp_theap *hp_theap_find(struct hugepool *pool);

/* This thread's heap for pool, or NULL (a HUGEPOOL_SHARED pool, no memory
 * for one, or the thread is exiting). */
static inline struct hp_theap *hp_theap_get(struct hugepool *pool)
{
	struct hp_theap *th = hp_tl_heap;

	if (likely(th && th->pool == pool && !__atomic_load_n(&th->dead, __ATOMIC_RELAXED)))
		return th;
	return hp_theap_find(pool);
}

/* heap-span.c */
struct hp_span *hp_span_new(struct hugepool *pool, unsigned int cls);
void hp_span_release(struct hp_span *sp);
unsigned int hp_span_collect(struct hp_span *sp);

/* The span that holds ptr, or NULL when ptr is not in a span: the slot is
 * MIXED as long as a span (or any block) lives in it. Inline: every free
 * asks. */
static inline struct hp_span *hp_span_of(const struct hp_arena *a, const void *ptr)
{
	size_t off = (size_t)((const char *)ptr - a->base);
	const struct hp_slot *s = &a->slots[off >> a->shift];
	struct hp_span **map;
	size_t g;

	if (__atomic_load_n(&s->state, __ATOMIC_RELAXED) != HP_SLOT_MIXED)
		return NULL;
	map = __atomic_load_n(&s->mixed->span_at, __ATOMIC_ACQUIRE);
	if (!map)
		return NULL;
	/* the granule within the page: shifts, not a division by the
	 * granule size (a page is GRANULES granules, a power of two) */
	g = (off >> (a->shift - __builtin_ctz(GRANULES))) & (GRANULES - 1);
	return __atomic_load_n(&map[g], __ATOMIC_ACQUIRE);
}

/* The span of which ptr is an object (the start of one), or NULL. */
static inline struct hp_span *hp_heap_object(const struct hp_arena *a, const void *ptr)
{
	struct hp_span *sp = hp_span_of(a, ptr);
	size_t off;

	if (unlikely(!sp))
		return NULL;
	off = (size_t)((const char *)ptr - sp->start);
	if (unlikely((size_t)((off * sp->recip) >> 40) * sp->osize != off))
		return NULL;
	return sp;
}

/* May this process write into sp's page? Not before a page inherited
 * across fork was made private (a write would need a page the kernel may
 * not have: SIGBUS). Inline: every remote free asks. */
static inline bool hp_span_private(const struct hp_span *sp)
{
	const struct hp_slot *s = &sp->arena->slots[sp->slot];

	return !maybe_cow() || sp->arena->fallback ||
	       __atomic_load_n(&s->gen, __ATOMIC_RELAXED) == hp_fork_gen;
}

/* heap-cache.c */
void hp_tc_init(struct hp_theap *th);
void hp_tc_flush(struct hp_theap *th);
void hp_tc_forget(struct hp_theap *th);

/* heap-thread.c */
void hp_theap_abandon_span(struct hp_span *sp);
struct hp_span *hp_theap_adopt(struct hugepool *pool, unsigned int cls);
void hp_theap_unabandon(struct hp_span *sp);
bool hp_theap_mine(const struct hp_theap *o);

/* heap.c */
void hp_theap_ring_add(struct hp_span **ring, struct hp_span *sp);
void hp_theap_ring_del(struct hp_span **ring, struct hp_span *sp);

/* heap.c: entry points for alloc.c and the preload */
void *hp_heap_alloc(struct hugepool *pool, size_t size, size_t align, bool zero);
/* 0: not an object of a span; 1: freed; 2: freed, and a span went back
 * to the pool (time to think of decay) */
int hp_heap_free(struct hp_arena *a, void *ptr);
size_t hp_heap_usable(const struct hp_arena *a, const void *ptr);
void *hp_heap_alloc_slow(struct hp_theap *th, unsigned int cls);
int hp_heap_free_span(struct hp_span *sp, void *ptr);

/* An object of sp: its free list first, then its never-used part. */
static inline void *hp_span_pop(struct hp_span *sp)
{
	void *p = sp->free;

	if (likely(p)) {
		sp->free = *(void **)p;
		/* the next pop reads that one's link: often another CPU's
		 * line (a remote free wrote it), so ask for it now */
		__builtin_prefetch(sp->free);
	} else if (sp->bump < sp->nobj) {
		p = sp->start + (size_t)sp->bump++ * sp->osize;
	} else {
		return NULL;
	}
	sp->used++;
	return p;
}

/* The object of cls this thread freed last, or NULL: still in cache,
 * unlike the head of a span's free list, freed who knows when. */
static inline void *hp_tc_pop(struct hp_theap *th, unsigned int cls)
{
	void *p = th->tc[cls];

	if (likely(p)) {
		void *next = *(void **)p;

		th->tc[cls] = next;
		th->tc_room[cls]++;
		/* the next malloc of cls reads its link: have it in cache */
		__builtin_prefetch(next);
	}
	return p;
}

/* The owner's free of an object of cls into the thread cache: false when
 * it is full, or when this thread is inside the allocator (a signal
 * handler's free must not meet a flush half-way). */
static inline bool hp_tc_push(struct hp_theap *th, unsigned int cls, void *p)
{
	if (unlikely(!th->tc_room[cls]) || unlikely(hp_tl_pool_locks))
		return false;
	*(void **)p = th->tc[cls];
	th->tc[cls] = p;
	th->tc_room[cls]--;
	return true;
}

/* malloc's path, inline for the preload: NULL sends the caller to
 * hp_heap_alloc / hp_alloc, which handle everything else. */
static inline void *hp_heap_alloc_fast(struct hugepool *pool, size_t size)
{
	unsigned int cls = hp_heap_class(size);
	struct hp_theap *th = hp_tl_heap;
	struct hp_span *sp;
	void *p;

	if (unlikely(!th || th->pool != pool || __atomic_load_n(&th->dead, __ATOMIC_RELAXED)))
		return NULL;
	p = hp_tc_pop(th, cls);
	if (unlikely(!p)) {
		sp = th->ring[cls];
		if (unlikely(!sp) || unlikely(!(p = hp_span_pop(sp))))
			return NULL;
	}
	th->allocs++;
	return p;
}

/* free's path, inline: an object of sp (from hp_heap_object) goes into
 * the owner's thread cache; anything else (the cache full, another
 * thread's free) to hp_heap_free_span. Returns as hp_heap_free. */
static inline int hp_heap_free_obj(struct hp_span *sp, void *ptr)
{
	struct hp_theap *th = hp_tl_heap;

	if (likely(th) && likely(__atomic_load_n(&sp->owner, __ATOMIC_ACQUIRE) == th) &&
	    likely(hp_tc_push(th, sp->cls, ptr)))
		return 1;
	return hp_heap_free_span(sp, ptr);
}

/* Objects served by pool's heaps, all threads (lock held). */
uint64_t hp_heap_objects(struct hugepool *pool);

#endif
