/* SPDX-License-Identifier: MIT */
/*
 * mixed.c - blocks smaller than a page, packed into MIXED pages: a page cut
 * into 512 granules (4 KiB of a 2 MiB page, 2 MiB of a 1 GiB page) tracked
 * by out-of-line bitmaps, so a 300 KiB block costs 300 KiB of a shared
 * page, not 2 MiB. A page whose last block goes gives the page back to the
 * pool. A dirty bit per granule lets calloc zero only what was used.
 */
#include "block.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * granule bitmaps
 * ------------------------------------------------------------------------ */
static inline bool bit_test(const uint64_t *m, unsigned int i)
{
	return m[i / 64] & (1ULL << (i % 64));
}

/* Set or clear bits [from, from + n), a word at a time. */
static void bits_set(uint64_t *m, unsigned int from, unsigned int n, bool on)
{
	while (n) {
		unsigned int b = from % 64, k = 64 - b < n ? 64 - b : n;
		uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << b;

		if (on)
			m[from / 64] |= mask;
		else
			m[from / 64] &= ~mask;
		from += k;
		n -= k;
	}
}

static bool bits_any(const uint64_t *m, unsigned int from, unsigned int n)
{
	while (n) {
		unsigned int b = from % 64, k = 64 - b < n ? 64 - b : n;
		uint64_t mask = (k == 64 ? ~0ULL : (1ULL << k) - 1) << b;

		if (m[from / 64] & mask)
			return true;
		from += k;
		n -= k;
	}
	return false;
}

/* First index >= i whose bit is set (set) or clear (!set); GRANULES if none. */
static unsigned int next_bit(const uint64_t *m, unsigned int i, bool set)
{
	while (i < GRANULES) {
		uint64_t w = (set ? m[i / 64] : ~m[i / 64]) >> (i % 64);

		if (w)
			return i + (unsigned int)__builtin_ctzll(w);
		i = (i / 64 + 1) * 64;
	}
	return GRANULES;
}

/* First run of n free granules starting at a multiple of align; returns the
 * start or -1, and (when none fits) the largest free run in *largest. */
static int find_run(const uint64_t *used, unsigned int n, unsigned int align,
		    unsigned int *largest)
{
	unsigned int i, end, best = 0;

	for (i = next_bit(used, 0, false); i < GRANULES; i = next_bit(used, end, false)) {
		unsigned int st = (i + align - 1) / align * align;

		end = next_bit(used, i, true);
		if (end - i > best)
			best = end - i;
		if (st + n <= end)
			return (int)st;
	}
	*largest = best;
	return -1;
}

/* Granules of the block starting at start: up to the next block's start
 * or the next free granule. */
static unsigned int block_granules(const struct hp_mixed *m, unsigned int start)
{
	unsigned int s = next_bit(m->start_map, start + 1, true);
	unsigned int f = next_bit(m->used_map, start + 1, false);

	return (s < f ? s : f) - start;
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

static struct hp_mixed **mixed_list(struct hugepool *pool, const struct hp_mixed *m)
{
	return m->fallback ? &pool->fb_mixed_partial : &pool->mixed_partial;
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
	first = fallback ? hp_fb_take(pool, 1, 1) : hp_take_pages(pool, 1, 1);
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
	mixed_list_add(mixed_list(pool, m), m);
	pool->stats.bytes_held += (size_t)1 << a->shift;
	return m;
}

/* The MIXED page goes back as a whole (its last block was freed). */
void hp_mixed_release(struct hp_arena *a, struct hp_mixed *m)
{
	struct hugepool *pool = m->pool;

	if (m->on_list)
		mixed_list_del(mixed_list(pool, m), m);
	a->slots[m->slot].state = HP_SLOT_USED;
	a->slots[m->slot].mixed = NULL;
	hp_run_put(pool, a, m->slot, 1);
	pool->stats.bytes_held -= (size_t)1 << a->shift;
	if (m->span_at)
		hp_meta_free(m->span_at, GRANULES * sizeof(*m->span_at));
	hp_meta_free(m, sizeof(*m));
}

static void *mixed_alloc_in(struct hugepool *pool, struct hp_mixed *m, unsigned int n,
			    unsigned int align, size_t size, bool zero)
{
	struct hp_arena *a = m->fallback ? pool->fb_arena : pool->arena;
	size_t gsz = hp_granule_size(a);
	unsigned int largest = 0;
	int st = find_run(m->used_map, n, align, &largest);
	char *p;

	if (st < 0) {
		m->hint = largest;
		return NULL;
	}
	/* a page inherited across fork is made private before reuse */
	if (!m->fallback && maybe_cow() && hp_pool_privatize(a, m->slot, 1))
		return NULL;
	bits_set(m->used_map, (unsigned int)st, n, true);
	bits_set(m->start_map, (unsigned int)st, 1, true);
	m->used += n;
	m->req[st] = (uint32_t)size;
	p = (char *)hp_slot_addr(a, m->slot) + (size_t)st * gsz;
	if (zero && bits_any(m->dirty_map, (unsigned int)st, n)) {
		memset(p, 0, (size_t)n * gsz);
		pool->stats.bytes_zeroed += (size_t)n * gsz;
	}
	bits_set(m->dirty_map, (unsigned int)st, n, true);
	if (m->used == GRANULES)
		mixed_list_del(mixed_list(pool, m), m);
	hp_stat_alloc(pool, size, (size_t)n * gsz);
	return p;
}

void *hp_mixed_alloc(struct hugepool *pool, size_t size, size_t align, bool zero,
			 bool fallback)
{
	struct hp_arena *a = fallback ? pool->fb_arena : pool->arena;
	size_t gsz = hp_granule_size(a);
	unsigned int n = (unsigned int)((size + gsz - 1) / gsz);
	unsigned int al = align > gsz ? (unsigned int)(align / gsz) : 1;
	struct hp_mixed *m, *next;
	void *p;

	if (!fallback && unlikely(maybe_cow()) && hp_pool_foreign(pool))
		return NULL;
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
	p = mixed_alloc_in(pool, m, n, al, size, zero);
	if (!p)
		hp_mixed_release(a, m);	/* cannot happen on an empty page; be safe */
	return p;
}

void hp_mixed_free(struct hp_arena *a, struct hp_mixed *m, unsigned int st)
{
	struct hugepool *pool = m->pool;
	size_t gsz = hp_granule_size(a);
	unsigned int n = block_granules(m, st);

	hp_stat_free(pool, m->req[st], (size_t)n * gsz);
	bits_set(m->used_map, st, n, false);
	bits_set(m->start_map, st, 1, false);
	m->req[st] = 0;
	m->used -= n;
	m->hint = GRANULES;	/* an upper bound again; refined on search */
	if (m->used == 0) {
		hp_mixed_release(a, m);
		return;
	}
	if (!m->on_list)
		mixed_list_add(mixed_list(pool, m), m);
}

size_t hp_mixed_lookup(const struct hp_arena *a, const struct hp_mixed *m, size_t off,
		       size_t *req)
{
	size_t gsz = hp_granule_size(a);
	unsigned int st = (unsigned int)(off / gsz);

	if (off % gsz || !bit_test(m->start_map, st))
		return 0;
	*req = m->req[st];
	return (size_t)block_granules(m, st) * gsz;
}

/* A MIXED block resized within its page (lock held): shrink gives the tail
 * granules back, growth takes the free granules right after the block.
 * Returns ptr, or NULL if it cannot stay where it is. */
void *hp_mixed_realloc(struct hp_arena *a, void *ptr, size_t size)
{
	size_t idx = hp_slot_index(a, ptr);
	struct hp_mixed *m = a->slots[idx].mixed;
	struct hugepool *pool = m->pool;
	size_t psz = (size_t)1 << a->shift, gsz = psz / GRANULES;
	unsigned int st = (unsigned int)(((char *)ptr - (char *)hp_slot_addr(a, idx)) / gsz);
	unsigned int old_n = block_granules(m, st), n;
	size_t old_req = m->req[st];

	if (size >= psz)
		return NULL;
	n = (unsigned int)((size + gsz - 1) / gsz);
	if (n < old_n) {
		bits_set(m->used_map, st + n, old_n - n, false);
		m->used -= old_n - n;
		m->hint = GRANULES;
		if (!m->on_list)
			mixed_list_add(mixed_list(pool, m), m);
	} else if (n > old_n) {
		if (st + n > GRANULES || bits_any(m->used_map, st + old_n, n - old_n))
			return NULL;
		if (!m->fallback && unlikely(maybe_cow()) && hp_pool_foreign(pool))
			return NULL;
		if (!m->fallback && maybe_cow() && hp_pool_privatize(a, m->slot, 1))
			return NULL;
		bits_set(m->used_map, st + old_n, n - old_n, true);
		bits_set(m->dirty_map, st + old_n, n - old_n, true);
		m->used += n - old_n;
		if (m->used == GRANULES)
			mixed_list_del(mixed_list(pool, m), m);
	}
	m->req[st] = (uint32_t)size;
	hp_stat_resize(pool, old_req, (size_t)old_n * gsz, size, (size_t)n * gsz);
	return ptr;
}


/* ------------------------------------------------------------------------
 * spans of the small-object heap (heap-span.c)
 *
 * A span is a granule block like any other, and in the pool's counters it
 * is one block; span_at[] maps each of its granules to it, so that a free
 * finds the span of any object in O(1) without the pool lock. The page's
 * map is written before the span is handed to a thread and cleared (lock
 * held) only when the span goes back, when no object in it is live.
 * ------------------------------------------------------------------------ */
static void span_map(struct hp_mixed *m, unsigned int st, unsigned int n, struct hp_span *sp)
{
	unsigned int i;

	for (i = st; i < st + n; i++)
		__atomic_store_n(&m->span_at[i], sp, __ATOMIC_RELEASE);
}

/* Granules for sp, huge pages first, then (a HUGEPOOL_FALLBACK pool) base
 * pages. Returns the span's start and its arena in *arena, or NULL. */
void *hp_mixed_span_take(struct hugepool *pool, size_t bytes, struct hp_span *sp,
			 struct hp_arena **arena)
{
	bool fb = false;
	void *p = hp_mixed_alloc(pool, bytes, 0, false, false);
	struct hp_arena *a;
	struct hp_mixed *m;
	size_t idx, gsz;

	if (!p && pool->fb_arena) {
		p = hp_mixed_alloc(pool, bytes, 0, false, true);
		fb = p != NULL;
	}
	if (!p)
		return NULL;
	a = fb ? pool->fb_arena : pool->arena;
	idx = hp_slot_index(a, p);
	m = a->slots[idx].mixed;
	gsz = hp_granule_size(a);
	if (!m->span_at) {
		struct hp_span **map = hp_meta_zalloc(GRANULES * sizeof(*map));

		if (!map) {
			hp_mixed_free(a, m, (unsigned int)(((char *)p - (char *)hp_slot_addr(a, idx)) / gsz));
			return NULL;
		}
		__atomic_store_n(&m->span_at, map, __ATOMIC_RELEASE);
	}
	if (fb)
		hp_note_fallback(pool);
	span_map(m, (unsigned int)(((char *)p - (char *)hp_slot_addr(a, idx)) / gsz),
		 (unsigned int)((bytes + gsz - 1) / gsz), sp);
	*arena = a;
	return p;
}

void hp_mixed_span_put(struct hp_arena *a, void *start)
{
	size_t idx = hp_slot_index(a, start);
	struct hp_mixed *m = a->slots[idx].mixed;
	unsigned int st = (unsigned int)(((char *)start - (char *)hp_slot_addr(a, idx)) /
					 hp_granule_size(a));

	span_map(m, st, block_granules(m, st), NULL);
	hp_mixed_free(a, m, st);
}
