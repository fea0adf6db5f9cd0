/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - malloc-like blocks on the pool engine.
 *
 * Two kinds of block:
 *  - a block of at least a page (or aligned to one) is a run of whole pages
 *    at contiguous slots; the run's head slot records its length and the
 *    bytes asked for (never 0: malloc(0) asks for 1). A block that is not
 *    a multiple of the page starts with a fragment, the last granules of a
 *    MIXED page right before its run (mixed.c), instead of a page of its
 *    own; the head slot records the fragment's granules too (none for
 *    blocks aligned past a granule, or grown past a page by realloc);
 *  - a smaller block is packed into a MIXED page, cut into 512 granules
 *    (4 KiB of a 2 MiB page, 2 MiB of a 1 GiB page) tracked by out-of-line
 *    bitmaps, so a 300 KiB block costs 300 KiB of a shared page, not 2 MiB.
 *
 * Ownership is by address: hp_arena_lookup() finds the arena in one load,
 * the slot index is a shift, and nothing is read in front of a pointer.
 *
 * Zeroing (calloc): a page fresh from the kernel is zero; a slot is marked
 * DIRTY when a page goes back to a free list, and a MIXED page keeps a
 * dirty bit per granule. calloc zeroes only dirty pages and granules and
 * counts what it zeroed in stats.bytes_zeroed.
 *
 * realloc keeps contents, shrinks in place, grows in place when the next
 * slots (or granules) are free, and otherwise moves a whole-page block's
 * pages to a larger run with mremap (hugetlb mappings cannot grow with
 * mremap, but they can move) instead of copying them. Blocks of a
 * HUGEPOOL_SHARED pool cannot move (slot i is file page i) and are copied.
 *
 * Threads: one lock per root pool, and no per-thread cache. A cache of
 * freed pages per thread hoards them (N threads x a 1 GiB page), must be
 * drained at thread exit from a TLS destructor that can run after the
 * thread's last free(), and must be flushed whenever another thread runs
 * short; measured, it would not pay. bench-alloc (2 CPUs, kernel 6.18): a
 * warm alloc+free pair under the lock costs 55-150 ns for 2-64 MiB, and 1
 * to 8 threads together still do 8-16 million pairs per second. With 64
 * KiB written per 2 MiB block (less than any real use of such a block),
 * 1-8 threads do 0.79-0.85 million pairs/s; an ideal cache (each thread
 * reusing its own block, no allocator call at all) does 0.78-0.91: at most
 * 9% better in that case, and nothing once a block is really written. So
 * blocks stay in the pool, where any thread can have them.
 *
 * fork: a child shares its parent's pages copy-on-write. Before a page
 * inherited that way is handed out again in the child, it is made private
 * (hp_pool_privatize), so that the child's writes cannot SIGBUS for want of
 * a page; if the kernel has none, the allocation fails instead.
 *
 * Fallback: a HUGEPOOL_FALLBACK pool serves what its huge pages cannot
 * from base pages in a separate window; every such block is counted in
 * stats.fallbacks, every failed allocation in stats.failures.
 */
#include "heap.h"

#include <string.h>
#include <sys/mman.h>

/* ------------------------------------------------------------------------
 * whole-page blocks
 * ------------------------------------------------------------------------ */

/* The head slot describes the block; the other slots are USED and owned by
 * the pool already (hp_pool_take_run), with req 0, so that only a head can
 * pass free()'s check. Nothing else is written per page: the engine marks
 * a page DIRTY when it comes back to a free list. */
static void mark_block(struct hp_arena *a, size_t first, size_t n, size_t req, unsigned int frag)
{
	struct hp_slot *s = &a->slots[first];

	s->head = (uint32_t)first;
	s->run = (uint32_t)n;
	s->req = req;
	s->frag = frag;
}

static size_t block_usable(const struct hp_arena *a, const struct hp_slot *s)
{
	return ((size_t)s->run << a->shift) + (size_t)s->frag * hp_granule_size(a);
}

/*
 * Granules of the fragment of a size-byte block of a page or more, or 0
 * for a run of whole pages: the part past its last whole page goes into a
 * shared MIXED page right before its run instead of taking a page of its
 * own, so that a 2.1 MiB block does not hold 4 MiB. Not for alignments
 * past a granule (the fragment starts on a granule), nor for blocks
 * aligned to a page (realloc asks that for growth: a run grows in place
 * or moves by mremap, a straddling block is copied), nor for a
 * HUGEPOOL_SHARED pool (its pages are file pages).
 */
static unsigned int frag_granules(const struct hugepool *pool, size_t size, size_t align)
{
	const struct hp_arena *a = pool->arena;
	size_t psz = (size_t)1 << a->shift, rest = size % psz, gsz = hp_granule_size(a);

	if (size < psz || !rest || align > gsz || a->fd >= 0 || rest > psz - gsz)
		return 0;	/* (a fragment of every granule is a whole page) */
	return (unsigned int)((rest + gsz - 1) / gsz);
}

/*
 * A straddling block of n pages and fg granules, in the cheapest place
 * first: a place another one left whose run is still free pages; a free
 * extent of n + 1 pages, whose first page becomes the MIXED page; a place
 * left whose run must be faulted or moved in (as any new run would); any
 * n + 1 pages. Places are a root pool's, outside a forked child. Returns
 * the block's start, or NULL; the run's head in *head and the fragment in
 * *frag (0: the block is n + 1 whole pages after all).
 */
static void *straddle(struct hugepool *pool, size_t n, unsigned int fg, bool zero, size_t *head,
		      unsigned int *frag)
{
	struct hp_arena *a = pool->arena;
	bool places = !pool->parent && !maybe_cow();
	void *p = NULL;
	long first = -ENOMEM;

	*frag = fg;
	if (places && ((p = hp_mixed_frag_place(pool, fg, n, zero, false, head)) ||
		       (first = hp_pool_take_free(pool, n + 1, 1)) >= 0 ||
		       (p = hp_mixed_frag_place(pool, fg, n, zero, true, head))))
		if (p)
			return p;
	if (first < 0 && (first = hp_take_pages(pool, n + 1, 1)) < 0)
		return NULL;
	p = hp_mixed_frag_new(pool, a, (size_t)first, fg, zero);
	*head = (size_t)first + (p ? 1 : 0);
	if (!p) {
		*frag = 0;	/* no metadata for a MIXED page: whole pages */
		p = hp_slot_addr(a, (size_t)first);
	}
	return p;
}

static void *alloc_pages(struct hugepool *pool, size_t size, size_t align, bool zero)
{
	struct hp_arena *a = pool->arena;
	size_t psz = (size_t)1 << a->shift;
	size_t n = size / psz + (size % psz ? 1 : 0);
	size_t align_slots = align > psz ? align / psz : 1, head;
	unsigned int frag = frag_granules(pool, size, align);
	void *p;
	long first;

	if (frag) {
		p = straddle(pool, n - 1, frag, zero, &head, &frag);
		if (p) {
			n = frag ? n - 1 : n;
			goto got;
		}
	} else if ((first = hp_take_pages(pool, n, align_slots)) >= 0) {
		head = (size_t)first;
		p = hp_slot_addr(a, head);
		goto got;
	}
	if (!pool->fb_arena)
		return NULL;
	a = pool->fb_arena;
	first = hp_fb_take(pool, n, align_slots);
	if (first < 0)
		return NULL;	/* fresh anonymous memory: zero */
	hp_note_fallback(pool);
	head = (size_t)first;
	p = hp_slot_addr(a, head);
	frag = 0;
	zero = false;
got:
	if (zero)
		pool->stats.bytes_zeroed += hp_pool_zero_run(a, head, n) << a->shift;
	mark_block(a, head, n, size, frag);
	hp_stat_alloc(pool, size, block_usable(a, &a->slots[head]));
	pool->stats.bytes_held += n * psz;
	return p;
}

/* ------------------------------------------------------------------------
 * entry points
 * ------------------------------------------------------------------------ */

/* blocks freed while this thread held a pool lock (see hp_free_in) */
static __thread void *tl_deferred __attribute__((tls_model("initial-exec")));

static hp_cold void deferred_run(void)
{
	void *p;

	while (!hp_tl_pool_locks && (p = tl_deferred)) {
		tl_deferred = *(void **)p;
		hp_free_in(hp_arena_lookup(p), p);
	}
}

/*
 * A block of size bytes aligned to align (0 or a power of two), zeroed if
 * zero, from pool; NULL + ENOMEM when neither huge pages nor (for a
 * HUGEPOOL_FALLBACK pool) base pages can be had. Counted in pool's stats.
 */
void *hp_alloc(struct hugepool *pool, size_t size, size_t align, bool zero)
{
	size_t psz = pool->h->size;
	void *p = NULL;

	if (size == 0)
		size = 1;	/* malloc(0): a unique pointer */
	if (unlikely(tl_deferred))
		deferred_run();
	if (size <= HP_HEAP_MAX) {
		p = hp_heap_alloc(pool, size, align, zero);
		if (likely(p))
			return p;
	}
	hp_pool_lock(pool);
	if (unlikely(size > PTRDIFF_MAX || align > PTRDIFF_MAX))
		goto fail;
	if (size < psz && align < psz) {
		p = hp_mixed_alloc(pool, size, align, zero, false);
		if (!p && pool->fb_arena) {
			p = hp_mixed_alloc(pool, size, align, zero, true);
			if (p)
				hp_note_fallback(pool);
		}
	} else {
		p = alloc_pages(pool, size, align, zero);
	}
	if (unlikely(!p))
		goto fail;
	hp_pool_op_end(pool);
	return p;
fail:
	pool->stats.failures++;
	hp_pool_op_end(pool);
	errno = ENOMEM;
	return NULL;
}

/* The run head of the straddling block whose fragment starts off bytes
 * into MIXED page m, or NULL. */
static struct hp_slot *frag_head(struct hp_arena *a, const struct hp_mixed *m, size_t off)
{
	size_t gsz = hp_granule_size(a);
	struct hp_slot *h;

	if (off % gsz || !hp_mixed_frag_at(m, (unsigned int)(off / gsz)))
		return NULL;
	h = &a->slots[m->slot + 1];
	return h->state == HP_SLOT_USED && h->head == m->slot + 1 && h->req && h->frag ? h : NULL;
}

/*
 * What ptr is (lock held): the usable size of the live block that starts at
 * ptr, with the bytes asked for in *req and the pool in *owner; 0 if ptr is
 * not the start of a live block. A straddling block's run head is not its
 * start (its fragment is).
 */
static size_t block_lookup(struct hp_arena *a, const void *ptr, size_t *req,
			   struct hugepool **owner)
{
	size_t idx = hp_slot_index(a, ptr);
	const struct hp_slot *s = &a->slots[idx];
	size_t off = (size_t)((const char *)ptr - (const char *)hp_slot_addr(a, idx));

	if (s->state == HP_SLOT_MIXED) {
		const struct hp_slot *h = frag_head(a, s->mixed, off);

		if (h)
			s = h;
		else {
			*owner = s->mixed->pool;
			return hp_mixed_lookup(a, s->mixed, off, req);
		}
	} else if (s->state != HP_SLOT_USED || off || s->head != idx || !s->req || s->frag) {
		return 0;
	}
	*req = s->req;
	*owner = s->owner;
	return block_usable(a, s);
}

/* Lock held. */
static void free_locked(struct hp_arena *a, void *ptr)
{
	size_t idx = hp_slot_index(a, ptr);
	struct hp_slot *s = &a->slots[idx];
	struct hugepool *owner;
	size_t req, usable = block_lookup(a, ptr, &req, &owner);
	size_t off = (size_t)((char *)ptr - (char *)hp_slot_addr(a, idx));

	if (!usable) {
		hp_log(1, "free(%p): not the start of a live block; ignored", ptr);
		return;
	}
	if (s->state == HP_SLOT_MIXED) {
		struct hp_mixed *m = s->mixed;
		unsigned int st = (unsigned int)(off / hp_granule_size(a));

		if (!hp_mixed_frag_at(m, st)) {
			hp_mixed_free(a, m, st);
			return;
		}
		idx = m->slot + 1;	/* the run; the fragment goes first */
		s = &a->slots[idx];
		hp_mixed_frag_free(a, m, st);
		s->frag = 0;
	}
	hp_stat_free(owner, req, usable);
	owner->stats.bytes_held -= (size_t)s->run << a->shift;
	s->req = 0;
	hp_run_put(owner, a, idx, s->run);
}


/* A free while this thread holds a pool lock is a signal handler's free()
 * that interrupted the allocator on its own thread (glibc tolerates that
 * in a single-threaded program): waiting for the lock would wait for
 * ourselves, so the block is freed by this thread's next call instead. */
void hp_free_in(struct hp_arena *a, void *ptr)
{
	struct hugepool *root = a->pool;

	if (hp_heap_free(a, ptr))
		return;
	if (unlikely(hp_tl_pool_locks)) {
		*(void **)ptr = tl_deferred;
		tl_deferred = ptr;
		return;
	}
	hp_pool_lock(root);
	free_locked(a, ptr);
	hp_pool_op_end(root);
	if (unlikely(tl_deferred))
		deferred_run();
}

size_t hp_usable_in(struct hp_arena *a, const void *ptr)
{
	struct hugepool *owner;
	size_t n, req;

	n = hp_heap_usable(a, ptr);
	if (n)
		return n;
	hp_pool_lock(a->pool);
	n = block_lookup(a, ptr, &req, &owner);
	hp_pool_op_end(a->pool);
	return n;
}

void *hugepool_malloc(struct hugepool *pool, size_t size)
{
	if (!pool && !(pool = hugepool_default()))
		return NULL;
	return hp_alloc(pool, size, 0, false);
}

void *hugepool_calloc(struct hugepool *pool, size_t n, size_t size)
{
	size_t total;

	if (!pool && !(pool = hugepool_default()))
		return NULL;
	if (__builtin_mul_overflow(n, size, &total)) {
		hp_pool_lock(pool);
		pool->stats.failures++;
		hp_pool_op_end(pool);
		errno = ENOMEM;
		return NULL;
	}
	return hp_alloc(pool, total, 0, true);
}

/* C11 aligned_alloc, as glibc 2.38 checks it: the alignment must be a
 * power of two (EINVAL otherwise); the size need not be a multiple of it.
 * Alignments past the page size get runs of pages aligned in the address
 * space (1 GiB alignment from a 2 MiB pool works). */
void *hugepool_aligned_alloc(struct hugepool *pool, size_t alignment, size_t size)
{
	if (alignment == 0 || (alignment & (alignment - 1))) {
		errno = EINVAL;
		return NULL;
	}
	if (!pool && !(pool = hugepool_default()))
		return NULL;
	return hp_alloc(pool, size, alignment, false);
}

void hugepool_free(void *ptr)
{
	struct hp_arena *a;
	int saved = errno;

	if (!ptr)
		return;
	a = hp_arena_lookup(ptr);
	if (!a) {
		hp_log(1, "hugepool_free(%p): not hugepool memory; ignored", ptr);
		errno = saved;
		return;
	}
	hp_free_in(a, ptr);
	errno = saved;	/* free preserves errno */
}

size_t hugepool_usable_size(const void *ptr)
{
	struct hp_arena *a;

	if (!ptr || !(a = hp_arena_lookup(ptr)))
		return 0;
	return hp_usable_in(a, ptr);
}

struct hugepool *hugepool_owner(const void *ptr)
{
	struct hp_arena *a;
	const struct hp_slot *s;

	if (!ptr || !(a = hp_arena_lookup(ptr)))
		return NULL;
	s = &a->slots[hp_slot_index(a, ptr)];
	switch (s->state) {
	case HP_SLOT_USED:
	case HP_SLOT_MIXED:
	case HP_SLOT_REGION:
		return s->owner;
	default:
		return NULL;
	}
}

/* ------------------------------------------------------------------------
 * realloc
 * ------------------------------------------------------------------------ */

/* Grow the block at idx by extra pages right after it (lock held): from
 * the pool's free extent there, from address space there, or a free extent
 * too short followed by address space (a block that shrank and grows
 * again). 0 or -ENOMEM with nothing changed. */
static int grow_in_place(struct hugepool *pool, struct hp_arena *a, size_t idx,
			 size_t old_n, size_t extra)
{
	size_t next = idx + old_n, part;
	const struct hp_slot *s;

	if (hp_pool_grow_run(pool, a, idx, old_n, extra) == 0)
		return 0;
	if (next >= a->nslots)
		return -ENOMEM;
	s = &a->slots[next];
	if (s->state != HP_SLOT_FREE || s->owner != pool || s->run >= extra)
		return -ENOMEM;
	part = s->run;
	if (hp_pool_grow_run(pool, a, idx, old_n, part))
		return -ENOMEM;
	if (hp_pool_grow_run(pool, a, idx, old_n + part, extra - part) == 0)
		return 0;
	hp_run_put(pool, a, next, part);
	return -ENOMEM;
}

/* A straddling block (its run head h, lock held) stays where it is while
 * the new size fits and uses more than half of it (any shrink, if
 * keep_pages); else NULL: it is copied, into a plain run if it grows. */
static void *realloc_frag(struct hp_slot *h, void *ptr, size_t size, bool keep_pages,
			  size_t usable)
{
	if (size > usable || (!keep_pages && size <= usable / 2))
		return NULL;
	hp_stat_resize(h->owner, h->req, usable, size, usable);
	h->req = size;
	return ptr;
}

/* A whole-page block resized without copying (lock held): shrink gives the
 * tail pages back; growth takes the slots right after the block, or moves
 * the block's pages (mremap) to a run with room. A block shrinking below
 * half a page would rather be copied into a MIXED page, unless keep_pages
 * (no page for that could be had). Returns the block's address, or NULL
 * (block untouched) when only a copy can do it. */
static void *realloc_pages(struct hp_arena *a, size_t idx, size_t size, bool keep_pages)
{
	struct hp_slot *s = &a->slots[idx];
	struct hugepool *pool = s->owner;
	size_t psz = (size_t)1 << a->shift, old_n = s->run, old_req = s->req;
	size_t n = size / psz + (size % psz ? 1 : 0);
	long dst;

	if (size < psz / 2 && !keep_pages)
		return NULL;	/* small now: a MIXED block, by copy */
	if (n <= old_n) {
		if (n < old_n)
			hp_run_put(pool, a, idx + n, old_n - n);
		goto resized;
	}
	if (a->fallback)
		return NULL;	/* copy: the new block may get huge pages */
	if (unlikely(maybe_cow()) && hp_pool_foreign(pool))
		return NULL;
	if (grow_in_place(pool, a, idx, old_n, n - old_n) == 0) {
		if (maybe_cow() && hp_pool_privatize(a, idx + old_n, n - old_n)) {
			hp_run_put(pool, a, idx + old_n, n - old_n);
			return NULL;
		}
		goto resized;
	}
	/* in a forked child the moved-to tail would need making private
	 * too; a plain new block does that already */
	if (a->fd >= 0 || maybe_cow())
		return NULL;
	dst = hp_pool_move_run(pool, a, idx, old_n, n);
	if (dst < 0)
		return NULL;
	idx = (size_t)dst;
resized:
	mark_block(a, idx, n, size, 0);
	hp_stat_resize(pool, old_req, old_n * psz, size, n * psz);
	pool->stats.bytes_held += (n - old_n) * psz;
	return hp_slot_addr(a, idx);
}

/* ptr (a live block of usable bytes) resized without a copy (lock held),
 * or NULL. */
static void *resize_in_place(struct hp_arena *a, void *ptr, size_t size, size_t usable,
			     bool keep_pages)
{
	size_t idx = hp_slot_index(a, ptr);
	struct hp_slot *s = &a->slots[idx], *h;

	if (s->state != HP_SLOT_MIXED)
		return realloc_pages(a, idx, size, keep_pages);
	h = frag_head(a, s->mixed, (size_t)((char *)ptr - (char *)hp_slot_addr(a, idx)));
	if (h)
		return realloc_frag(h, ptr, size, keep_pages, usable);
	return hp_mixed_realloc(a, ptr, size);
}

/* An object of the small-object heap: it stays while the new size fits
 * and uses more than half of it, else it moves (no lock of ours here). */
static void *realloc_small(struct hp_arena *a, void *ptr, size_t usable, size_t size)
{
	struct hugepool *owner = a->slots[hp_slot_index(a, ptr)].owner;
	void *np;

	if (size <= usable && size > usable / 2)
		return ptr;
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	np = hp_alloc(owner, size, 0, false);
	if (!np)
		return NULL;
	memcpy(np, ptr, usable < size ? usable : size);
	hp_heap_free(a, ptr);
	return np;
}

/*
 * glibc's realloc contract: realloc(NULL, n) is malloc(n); realloc(p, 0)
 * frees p and returns NULL; on failure NULL + ENOMEM and p is untouched.
 * A pointer that is not a live hugepool block gives NULL + EINVAL.
 */
void *hugepool_realloc(struct hugepool *pool, void *ptr, size_t size)
{
	struct hugepool *owner;
	struct hp_arena *a;
	size_t usable, req;
	void *np = NULL;
	int saved = errno;

	if (!ptr)
		return hugepool_malloc(pool, size);
	if (size == 0) {
		hugepool_free(ptr);
		return NULL;
	}
	a = hp_arena_lookup(ptr);
	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	usable = hp_heap_usable(a, ptr);
	if (usable)
		return realloc_small(a, ptr, usable, size);
	hp_pool_lock(a->pool);
	usable = block_lookup(a, ptr, &req, &owner);
	if (!usable) {
		hp_pool_op_end(a->pool);
		errno = EINVAL;
		return NULL;
	}
	if (size > PTRDIFF_MAX) {
		owner->stats.failures++;
		hp_pool_op_end(a->pool);
		errno = ENOMEM;
		return NULL;
	}
	np = resize_in_place(a, ptr, size, usable, false);
	hp_pool_op_end(a->pool);
	if (np)
		return np;
	/* a new block and a copy: across the page boundary, or no room. A
	 * block that grows past a page gets a plain run (aligned to a page),
	 * so that its next growth can be in place or by mremap. */
	np = hp_alloc(owner, size, size > usable && size >= owner->h->size ? owner->h->size : 0,
		      false);
	if (!np && size <= usable) {
		/* a shrink never fails: no MIXED page to be had, so the block
		 * keeps (fewer) whole pages, or all it has, where it is */
		hp_pool_lock(a->pool);
		np = resize_in_place(a, ptr, size, usable, true);
		if (np)
			owner->stats.failures--;	/* hp_alloc counted it */
		hp_pool_op_end(a->pool);
		if (np)
			errno = saved;
		return np;
	}
	if (!np)
		return NULL;
	memcpy(np, ptr, usable < size ? usable : size);
	hugepool_free(ptr);
	return np;
}

/* Every block and MIXED page of pool goes back (destroy). Lock held. */
static void alloc_destroy_all(struct hugepool *pool)
{
	struct hp_arena *arenas[2] = { pool->arena, pool->fb_arena };
	int k;

	for (k = 0; k < 2; k++) {
		struct hp_arena *a = arenas[k];
		size_t i;

		if (!a)
			continue;
		for (i = 0; i < a->nslots; i++) {
			struct hp_slot *s = &a->slots[i];

			if (s->owner != pool)
				continue;
			if (s->state == HP_SLOT_MIXED) {
				hp_mixed_release(a, s->mixed);
			} else if (s->state == HP_SLOT_USED && s->head == i && s->req) {
				/* a fragment's MIXED page went (or goes) as the
				 * loop gets there */
				s->req = 0;
				s->frag = 0;
				hp_run_put(pool, a, i, s->run);
			}
		}
	}
	pool->stats.bytes_in_use = 0;
	pool->stats.bytes_requested = 0;
	pool->stats.bytes_held = 0;
}

static const struct hp_pool_consumer alloc_consumer = { .destroy_all = alloc_destroy_all };

__attribute__((constructor(102))) static void alloc_ctor(void)
{
	hp_pool_add_consumer(&alloc_consumer);
}
