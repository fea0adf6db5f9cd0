/* SPDX-License-Identifier: MIT */
/*
 * alloc.c - malloc-like blocks on the pool engine.
 *
 * A block of a page or more gets a run of whole pages at contiguous slots
 * (the slot at its head records the request). A smaller block is packed
 * into a MIXED page: the page is cut into 512 granules (4 KiB of a 2 MiB
 * page) tracked by out-of-line bitmaps, so a 300 KiB block costs 300 KiB,
 * not 2 MiB. Ownership is by address: hp_arena_lookup() finds the arena in
 * one load, the slot index is a shift, and nothing is ever read in front of
 * a pointer. realloc grows a run in place when the next slots allow, and
 * otherwise moves its pages with mremap instead of copying.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define GRANULES	512
#define GWORDS		(GRANULES / 64)

struct hp_mixed {
	struct hp_mixed *next, *prev;	/* pool's partial list */
	struct hugepool *pool;
	size_t slot;
	unsigned int used;		/* granules in use */
	unsigned int hint;		/* >= the largest free run */
	bool on_list;
	bool fallback;
	uint64_t used_map[GWORDS];
	uint64_t start_map[GWORDS];	/* first granule of each block */
	uint64_t dirty_map[GWORDS];	/* handed out since the page was zero */
	uint32_t req[GRANULES];		/* bytes requested, at start granules */
};

static inline bool bit_test(const uint64_t *m, unsigned int i)
{
	return m[i / 64] & (1ULL << (i % 64));
}

static void bits_set(uint64_t *m, unsigned int from, unsigned int n, bool on)
{
	unsigned int i;

	for (i = from; i < from + n; i++) {
		if (on)
			m[i / 64] |= 1ULL << (i % 64);
		else
			m[i / 64] &= ~(1ULL << (i % 64));
	}
}

static bool bits_any(const uint64_t *m, unsigned int from, unsigned int n)
{
	unsigned int i;

	for (i = from; i < from + n; i++)
		if (bit_test(m, i))
			return true;
	return false;
}

/* First run of n free granules starting at a multiple of align; returns the
 * start or -1, and the largest free run seen in *largest. */
static int find_run(const uint64_t *used, unsigned int n, unsigned int align,
		    unsigned int *largest)
{
	unsigned int i = 0, best = 0;

	while (i < GRANULES) {
		unsigned int w = i / 64, start, len;

		if (used[w] == ~0ULL && i % 64 == 0) {
			i += 64;
			continue;
		}
		if (bit_test(used, i)) {
			i++;
			continue;
		}
		start = i;
		while (i < GRANULES && !bit_test(used, i))
			i++;
		len = i - start;
		if (len > best)
			best = len;
		{
			unsigned int st = (start + align - 1) / align * align;

			if (st + n <= start + len) {
				*largest = best;
				return (int)st;
			}
		}
	}
	*largest = best;
	return -1;
}

static unsigned int block_granules(const struct hp_mixed *m, unsigned int start)
{
	unsigned int i = start + 1;

	while (i < GRANULES && bit_test(m->used_map, i) && !bit_test(m->start_map, i))
		i++;
	return i - start;
}

static void mixed_list_add(struct hp_mixed **head, struct hp_mixed *m)
{
	m->prev = NULL;
	m->next = *head;
	if (*head)
		(*head)->prev = m;
	*head = m;
	m->on_list = true;
}

static void mixed_list_del(struct hp_mixed **head, struct hp_mixed *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		*head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->next = m->prev = NULL;
	m->on_list = false;
}

static void stat_alloc(struct hugepool *pool, size_t req, size_t usable)
{
	struct hp_stats *st = &pool->stats;

	st->allocs++;
	st->bytes_requested += req;
	st->bytes_in_use += usable;
	if (st->bytes_in_use > st->bytes_peak)
		st->bytes_peak = st->bytes_in_use;
}

static void stat_free(struct hugepool *pool, size_t req, size_t usable)
{
	pool->stats.frees++;
	pool->stats.bytes_requested -= req;
	pool->stats.bytes_in_use -= usable;
}

static void note_fallback(struct hugepool *pool)
{
	static bool told;

	pool->root->stats.fallbacks++;
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		hp_log(1, "no %zu KiB huge page could be had: falling back to base pages (counted in stats as fallbacks)",
		       pool->h->size >> 10);
}

/* ------------------------------------------------------------------------
 * whole-page blocks
 * ------------------------------------------------------------------------ */
static void mark_block(struct hp_arena *a, struct hugepool *pool, size_t first,
		       size_t n, size_t req)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].head = (uint32_t)first;
		a->slots[i].owner = pool;
	}
	a->slots[first].run = (uint32_t)n;
	a->slots[first].req = req;
}

/* fallback: base pages in the pool's fallback window, mapped per block and
 * given straight back to the kernel on free */
static long fb_take(struct hugepool *pool, size_t n, size_t align)
{
	struct hp_arena *a = pool->fb_arena;
	long first = hp_pool_empty_take(a, n, align);
	void *p;

	if (first < 0)
		return first;
	if (hp_sys_mmap(hp_slot_addr(a, (size_t)first), n << a->shift, PROT_READ | PROT_WRITE,
			MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, &p)) {
		hp_pool_empty_put(a, (size_t)first, n);
		return -ENOMEM;
	}
	/* base pages, honestly: no transparent huge pages behind our back */
	hp_sys_madvise(p, n << a->shift, MADV_NOHUGEPAGE);
	for (size_t i = (size_t)first; i < (size_t)first + n; i++) {
		a->slots[i].flags = HP_SLOT_F_PAGE | HP_SLOT_F_BASE;
		a->slots[i].gen = hp_fork_gen;
	}
	return first;
}

static void fb_put(struct hp_arena *a, size_t first, size_t n)
{
	hp_pool_unmap_pages(a, first, n);
	hp_pool_empty_put(a, first, n);
}

static void *alloc_pages(struct hugepool *pool, size_t size, size_t align, bool zero)
{
	struct hp_arena *a = pool->arena;
	size_t psz = (size_t)1 << a->shift;
	size_t n = (size_t)(size / psz) + (size % psz ? 1 : 0);
	size_t align_slots = align > psz ? align / psz : 1;
	long first;

	first = hp_pool_take_run(pool, n, align_slots, false);
	if (first >= 0 && hp_pool_privatize(a, (size_t)first, n)) {
		/* forked child, kernel pool empty: these pages cannot be made
		 * private, so they cannot be handed out */
		hp_pool_put_run(pool, a, (size_t)first, n);
		first = -ENOMEM;
	}
	if (first >= 0) {
		mark_block(a, pool, (size_t)first, n, size);
		if (zero)
			hp_pool_zero_run(a, (size_t)first, n);
		for (size_t i = (size_t)first; i < (size_t)first + n; i++)
			a->slots[i].flags |= HP_SLOT_F_DIRTY;
		stat_alloc(pool, size, n * psz);
		return hp_slot_addr(a, (size_t)first);
	}
	if (!pool->fb_arena)
		return NULL;
	a = pool->fb_arena;
	first = fb_take(pool, n, align_slots);
	if (first < 0)
		return NULL;
	note_fallback(pool);
	mark_block(a, pool, (size_t)first, n, size);
	stat_alloc(pool, size, n * psz);
	return hp_slot_addr(a, (size_t)first);
}

/* ------------------------------------------------------------------------
 * blocks inside MIXED pages
 * ------------------------------------------------------------------------ */
static struct hp_mixed *mixed_new(struct hugepool *pool, bool fallback)
{
	struct hp_arena *a = fallback ? pool->fb_arena : pool->arena;
	struct hp_mixed *m = hp_meta_zalloc(sizeof(*m));
	long first;

	if (!m)
		return NULL;
	first = fallback ? fb_take(pool, 1, 1) : hp_pool_take_run(pool, 1, 1, false);
	if (first >= 0 && !fallback && hp_pool_privatize(a, (size_t)first, 1)) {
		hp_pool_put_run(pool, a, (size_t)first, 1);
		first = -ENOMEM;
	}
	if (first < 0) {
		hp_meta_free(m, sizeof(*m));
		return NULL;
	}
	m->pool = pool;
	m->slot = (size_t)first;
	m->hint = GRANULES;
	m->fallback = fallback;
	if (a->slots[first].flags & HP_SLOT_F_DIRTY)
		memset(m->dirty_map, 0xff, sizeof(m->dirty_map));
	a->slots[first].state = HP_SLOT_MIXED;
	a->slots[first].owner = pool;
	a->slots[first].head = (uint32_t)first;
	a->slots[first].mixed = m;
	mixed_list_add(fallback ? &pool->fb_mixed_partial : &pool->mixed_partial, m);
	return m;
}

static void *mixed_alloc_in(struct hugepool *pool, struct hp_mixed *m, unsigned int n,
			    unsigned int align, size_t size, bool zero)
{
	struct hp_arena *a = m->fallback ? pool->fb_arena : pool->arena;
	size_t gsz = ((size_t)1 << a->shift) / GRANULES;
	unsigned int largest;
	int st = find_run(m->used_map, n, align, &largest);
	char *p;

	if (st < 0) {
		m->hint = largest;
		return NULL;
	}
	/* a page inherited across fork is made private before reuse */
	if (!m->fallback && hp_pool_privatize(a, m->slot, 1))
		return NULL;
	bits_set(m->used_map, (unsigned int)st, n, true);
	bits_set(m->start_map, (unsigned int)st, 1, true);
	m->used += n;
	m->req[st] = (uint32_t)size;
	p = (char *)hp_slot_addr(a, m->slot) + (size_t)st * gsz;
	if (zero && bits_any(m->dirty_map, (unsigned int)st, n))
		memset(p, 0, (size_t)n * gsz);
	bits_set(m->dirty_map, (unsigned int)st, n, true);
	if (m->used == GRANULES)
		mixed_list_del(m->fallback ? &pool->fb_mixed_partial : &pool->mixed_partial, m);
	stat_alloc(pool, size, (size_t)n * gsz);
	return p;
}

static void *alloc_mixed(struct hugepool *pool, size_t size, size_t align, bool zero,
			 bool fallback)
{
	struct hp_arena *a = fallback ? pool->fb_arena : pool->arena;
	size_t gsz = ((size_t)1 << a->shift) / GRANULES;
	unsigned int n = (unsigned int)((size + gsz - 1) / gsz);
	unsigned int al = align > gsz ? (unsigned int)(align / gsz) : 1;
	struct hp_mixed *m, *next;
	void *p;

	for (m = fallback ? pool->fb_mixed_partial : pool->mixed_partial; m; m = next) {
		next = m->next;
		if (m->hint < n || GRANULES - m->used < n)
			continue;
		p = mixed_alloc_in(pool, m, n, al, size, zero);
		if (p)
			return p;
	}
	m = mixed_new(pool, fallback);
	if (!m)
		return NULL;
	return mixed_alloc_in(pool, m, n, al, size, zero);
}

static void mixed_free(struct hp_arena *a, struct hp_mixed *m, unsigned int st)
{
	struct hugepool *pool = m->pool;
	size_t gsz = ((size_t)1 << a->shift) / GRANULES;
	unsigned int n = block_granules(m, st);
	struct hp_mixed **list = m->fallback ? &pool->fb_mixed_partial : &pool->mixed_partial;

	stat_free(pool, m->req[st], (size_t)n * gsz);
	bits_set(m->used_map, st, n, false);
	bits_set(m->start_map, st, 1, false);
	m->used -= n;
	m->hint = GRANULES;	/* an upper bound again; refined on search */
	if (m->used == 0) {
		/* the page goes back to the pool as a whole */
		if (m->on_list)
			mixed_list_del(list, m);
		a->slots[m->slot].state = HP_SLOT_USED;
		if (m->fallback)
			fb_put(a, m->slot, 1);
		else
			hp_pool_put_run(pool, a, m->slot, 1);
		hp_meta_free(m, sizeof(*m));
		return;
	}
	if (!m->on_list)
		mixed_list_add(list, m);
}

/* ------------------------------------------------------------------------
 * entry points
 * ------------------------------------------------------------------------ */
void *hp_alloc(struct hugepool *pool, size_t size, size_t align, bool zero)
{
	size_t psz = pool->h->size;
	void *p;

	if (size == 0)
		size = 1;	/* malloc(0): a unique pointer */
	if (size > PTRDIFF_MAX || align > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	hp_pool_lock(pool);
	if (size < psz && align < psz)
		p = alloc_mixed(pool, size, align, zero, false);
	else
		p = alloc_pages(pool, size, align, zero);
	if (!p && size < psz && align < psz && pool->fb_arena) {
		p = alloc_mixed(pool, size, align, zero, true);
		if (p)
			note_fallback(pool);
	}
	if (!p)
		pool->stats.failures++;
	hp_pool_unlock(pool);
	if (!p)
		errno = ENOMEM;
	return p;
}

/* Lock held. */
static void free_locked(struct hp_arena *a, void *ptr)
{
	size_t idx = hp_slot_index(a, ptr);
	struct hp_slot *s = &a->slots[idx];
	size_t off = (size_t)((char *)ptr - (char *)hp_slot_addr(a, idx));

	if (s->state == HP_SLOT_MIXED) {
		size_t gsz = ((size_t)1 << a->shift) / GRANULES;
		unsigned int st = (unsigned int)(off / gsz);

		if (off % gsz || !bit_test(s->mixed->start_map, st))
			goto invalid;
		mixed_free(a, s->mixed, st);
		return;
	}
	if (s->state != HP_SLOT_USED || off || s->head != idx || !s->req)
		goto invalid;
	{
		struct hugepool *pool = s->owner;
		size_t n = s->run;

		stat_free(pool, s->req, n << a->shift);
		s->req = 0;
		if (a->fallback)
			fb_put(a, idx, n);
		else
			hp_pool_put_run(pool, a, idx, n);
	}
	return;
invalid:
	hp_log(1, "free(%p): not the start of a live block; ignored", ptr);
}

void hp_free_in(struct hp_arena *a, void *ptr)
{
	struct hugepool *root = a->pool;

	hp_pool_lock(root);
	free_locked(a, ptr);
	hp_pool_unlock(root);
}

/* Lock held. 0 if ptr is not a live block. */
static size_t usable_locked(struct hp_arena *a, const void *ptr, size_t *req)
{
	size_t idx = hp_slot_index(a, ptr);
	const struct hp_slot *s = &a->slots[idx];
	size_t off = (size_t)((const char *)ptr - (const char *)hp_slot_addr(a, idx));

	if (s->state == HP_SLOT_MIXED) {
		size_t gsz = ((size_t)1 << a->shift) / GRANULES;
		unsigned int st = (unsigned int)(off / gsz);

		if (off % gsz || !bit_test(s->mixed->start_map, st))
			return 0;
		if (req)
			*req = s->mixed->req[st];
		return (size_t)block_granules(s->mixed, st) * gsz;
	}
	if (s->state != HP_SLOT_USED || off || s->head != idx || !s->req)
		return 0;
	if (req)
		*req = s->req;
	return (size_t)s->run << a->shift;
}

size_t hp_usable_in(struct hp_arena *a, const void *ptr)
{
	size_t n;

	hp_pool_lock(a->pool);
	n = usable_locked(a, ptr, NULL);
	hp_pool_unlock(a->pool);
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

	if (__builtin_mul_overflow(n, size, &total)) {
		errno = ENOMEM;
		return NULL;
	}
	if (!pool && !(pool = hugepool_default()))
		return NULL;
	return hp_alloc(pool, total, 0, true);
}

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

/* realloc of a whole-page block in place or by moving pages. Lock held.
 * Returns the block's new address or NULL (block untouched). */
static void *realloc_pages(struct hp_arena *a, size_t idx, size_t size)
{
	struct hp_slot *s = &a->slots[idx];
	struct hugepool *pool = s->owner;
	size_t psz = (size_t)1 << a->shift, old_n = s->run, old_req = s->req;
	size_t n = size / psz + (size % psz ? 1 : 0);
	long dst;

	if (n <= old_n) {
		/* shrink: the tail pages go back */
		if (n < old_n) {
			size_t i;

			for (i = idx + n; i < idx + old_n; i++)
				a->slots[i].head = (uint32_t)(idx + n);
			if (a->fallback)
				fb_put(a, idx + n, old_n - n);
			else
				hp_pool_put_run(pool, a, idx + n, old_n - n);
		}
		stat_free(pool, old_req, old_n * psz);
		mark_block(a, pool, idx, n, size);
		stat_alloc(pool, size, n * psz);
		pool->stats.allocs--;	/* a resize, not a new block */
		pool->stats.frees--;
		return hp_slot_addr(a, idx);
	}
	if (a->fallback)
		return NULL;
	if (hp_pool_grow_run(pool, a, idx, old_n, n - old_n) == 0) {
		for (size_t i = idx + old_n; i < idx + n; i++)
			a->slots[i].flags |= HP_SLOT_F_DIRTY;
		stat_free(pool, old_req, old_n * psz);
		mark_block(a, pool, idx, n, size);
		stat_alloc(pool, size, n * psz);
		pool->stats.allocs--;
		pool->stats.frees--;
		return hp_slot_addr(a, idx);
	}
	dst = hp_pool_move_run(pool, a, idx, old_n, n);
	if (dst < 0)
		return NULL;
	a->slots[idx].req = 0;
	for (size_t i = (size_t)dst; i < (size_t)dst + n; i++)
		a->slots[i].flags |= HP_SLOT_F_DIRTY;
	stat_free(pool, old_req, old_n * psz);
	mark_block(a, pool, (size_t)dst, n, size);
	stat_alloc(pool, size, n * psz);
	pool->stats.allocs--;
	pool->stats.frees--;
	return hp_slot_addr(a, (size_t)dst);
}

void *hugepool_realloc(struct hugepool *pool, void *ptr, size_t size)
{
	struct hp_arena *a;
	struct hugepool *owner;
	size_t usable, req = 0, psz;
	void *np;

	if (!ptr)
		return hugepool_malloc(pool, size);
	if (size == 0) {
		/* glibc: realloc(p, 0) frees p and returns NULL */
		hugepool_free(ptr);
		return NULL;
	}
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	a = hp_arena_lookup(ptr);
	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	hp_pool_lock(a->pool);
	usable = usable_locked(a, ptr, &req);
	if (!usable) {
		hp_pool_unlock(a->pool);
		errno = EINVAL;
		return NULL;
	}
	owner = hugepool_owner(ptr);
	psz = (size_t)1 << a->shift;
	{
		size_t idx = hp_slot_index(a, ptr);

		if (a->slots[idx].state == HP_SLOT_USED && size >= psz / 2) {
			np = realloc_pages(a, idx, size);
			if (np) {
				hp_pool_unlock(a->pool);
				return np;
			}
		} else if (a->slots[idx].state == HP_SLOT_MIXED && size <= usable) {
			struct hp_mixed *m = a->slots[idx].mixed;
			size_t off = (size_t)((char *)ptr - (char *)hp_slot_addr(a, idx));

			owner->stats.bytes_requested += size - req;
			m->req[off / (psz / GRANULES)] = (uint32_t)size;
			hp_pool_unlock(a->pool);
			return ptr;
		}
	}
	hp_pool_unlock(a->pool);
	/* a new block and a copy: across the page boundary, or no room */
	np = hp_alloc(owner, size, 0, false);
	if (!np)
		return NULL;
	memcpy(np, ptr, usable < size ? usable : size);
	hugepool_free(ptr);
	return np;
}

/* Every block and MIXED page of pool goes back (destroy). Lock held. */
void hp_alloc_destroy_all(struct hugepool *pool)
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
				struct hp_mixed *m = s->mixed;

				if (m->on_list)
					mixed_list_del(m->fallback ? &pool->fb_mixed_partial :
						       &pool->mixed_partial, m);
				s->state = HP_SLOT_USED;
				pool->stats.bytes_in_use = 0;
				pool->stats.bytes_requested = 0;
				if (a->fallback)
					fb_put(a, i, 1);
				else
					hp_pool_put_run(pool, a, i, 1);
				hp_meta_free(m, sizeof(*m));
			} else if (s->state == HP_SLOT_USED && s->head == i && s->req) {
				size_t n = s->run;

				stat_free(pool, s->req, n << a->shift);
				s->req = 0;
				if (a->fallback)
					fb_put(a, i, n);
				else
					hp_pool_put_run(pool, a, i, n);
			}
		}
	}
}
