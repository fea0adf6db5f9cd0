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

/* Last index < i whose bit is set; -1 if none. */
static int prev_set(const uint64_t *m, unsigned int i)
{
	while (i > 0) {
		unsigned int w = (i - 1) / 64, b = (i - 1) % 64;
		uint64_t v = m[w] & (b == 63 ? ~0ULL : (2ULL << b) - 1);

		if (v)
			return (int)(w * 64 + 63 - (unsigned int)__builtin_clzll(v));
		i = w * 64;
	}
	return -1;
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
/* The page at slot (taken, owned by pool) becomes MIXED, described by m. */
static void mixed_init(struct hugepool *pool, struct hp_arena *a, struct hp_mixed *m,
		       size_t slot, bool fallback)
{
	m->pool = pool;
	m->slot = slot;
	m->hint = GRANULES;
	m->fallback = fallback;
	if (a->slots[slot].flags & HP_SLOT_F_DIRTY)
		memset(m->dirty_map, 0xff, sizeof(m->dirty_map));
	a->slots[slot].state = HP_SLOT_MIXED;
	a->slots[slot].owner = pool;
	a->slots[slot].head = (uint32_t)slot;
	a->slots[slot].mixed = m;
	mixed_list_add(mixed_list(pool, m), m);
	pool->stats.bytes_held += (size_t)1 << a->shift;
}

static struct hp_mixed *mixed_new(struct hugepool *pool, bool fallback)
{
	struct hp_arena *a = fallback ? pool->fb_arena : pool->arena;
	struct hp_mixed *m = hp_meta_alloc_part(sizeof(*m), offsetof(struct hp_mixed, req));
	long first;

	if (!m)
		return NULL;
	first = fallback ? hp_fb_take(pool, 1, 1) : hp_take_pages(pool, 1, 1);
	if (first < 0) {
		hp_meta_free(m, sizeof(*m));
		return NULL;
	}
	mixed_init(pool, a, m, (size_t)first, fallback);
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

/* Granules [st, st + n) of m become a block that asked for req bytes
 * (zeroed where dirty if zero); the pool's counters are the caller's. */
static void *granules_claim(struct hugepool *pool, struct hp_arena *a, struct hp_mixed *m,
			    unsigned int st, unsigned int n, uint32_t req, bool zero)
{
	size_t gsz = hp_granule_size(a);
	char *p = (char *)hp_slot_addr(a, m->slot) + (size_t)st * gsz;

	bits_set(m->used_map, st, n, true);
	m->start_map[st / 64] |= 1ULL << (st % 64);
	m->used += n;
	m->req[st] = req;
	if (zero && bits_any(m->dirty_map, st, n)) {
		memset(p, 0, (size_t)n * gsz);
		pool->stats.bytes_zeroed += (size_t)n * gsz;
	}
	bits_set(m->dirty_map, st, n, true);
	if (m->used == GRANULES)
		mixed_list_del(mixed_list(pool, m), m);
	return p;
}

/* The block at granule st goes; the page goes back with its last block.
 * Returns the block's granules. */
static unsigned int granules_unclaim(struct hp_arena *a, struct hp_mixed *m, unsigned int st,
				     unsigned int n)
{
	unsigned int lo, hi;

	bits_set(m->used_map, st, n, false);
	m->start_map[st / 64] &= ~(1ULL << (st % 64));
	m->req[st] = 0;
	m->used -= n;
	/* hint stays an upper bound of the largest free run: the old bound,
	 * or the run the freed granules joined (refined on a failed search) */
	lo = (unsigned int)(prev_set(m->used_map, st) + 1);
	hi = next_bit(m->used_map, st + n, true);
	if (hi - lo > m->hint)
		m->hint = hi - lo;
	if (m->used == 0)
		hp_mixed_release(a, m);
	else if (!m->on_list)
		mixed_list_add(mixed_list(m->pool, m), m);
	return n;
}

static void *mixed_alloc_in(struct hugepool *pool, struct hp_mixed *m, unsigned int n,
			    unsigned int align, size_t size, bool zero)
{
	struct hp_arena *a = m->fallback ? pool->fb_arena : pool->arena;
	unsigned int largest = 0;
	int st = find_run(m->used_map, n, align, &largest);

	if (st < 0) {
		m->hint = largest;
		return NULL;
	}
	/* a page inherited across fork is made private before reuse */
	if (!m->fallback && maybe_cow() && hp_pool_privatize(a, m->slot, 1))
		return NULL;
	hp_stat_alloc(pool, size, (size_t)n * hp_granule_size(a));
	return granules_claim(pool, a, m, (unsigned int)st, n, (uint32_t)size, zero);
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
	uint32_t req = m->req[st];

	hp_stat_free(pool, req, (size_t)granules_unclaim(a, m, st, block_granules(m, st)) *
		     hp_granule_size(a));
}

/* ------------------------------------------------------------------------
 * blocks that straddle a MIXED page and the run after it (alloc.c)
 *
 * A block of n pages and a bit starts in the last granules of a MIXED page
 * (its fragment) and goes on into a run of n whole pages right after that
 * page, whose other granules serve other blocks: a 2.1 MiB block holds
 * 2.1 MiB and a share of a page, not 4 MiB. Fragments sit at the top of
 * their pages and granule blocks fill pages from the bottom, so the place
 * a straddling block leaves when it goes (the top of the page and the
 * free run after it) is where the next one fits. The fragment is no block
 * of its own (req MIXED_FRAG): the run's head slot describes the block.
 * ------------------------------------------------------------------------ */
#define MIXED_FRAG	UINT32_MAX
#define FRAG_SEARCH	32	/* partial pages looked at for a place */

/* The page at slot, taken with the run and USED, becomes MIXED with the
 * fragment in its last fg granules. The block's start, or NULL (no
 * metadata: the page stays a whole USED page). */
void *hp_mixed_frag_new(struct hugepool *pool, struct hp_arena *a, size_t slot, unsigned int fg,
			bool zero)
{
	struct hp_mixed *m = hp_meta_alloc_part(sizeof(*m), offsetof(struct hp_mixed, req));

	if (!m)
		return NULL;
	mixed_init(pool, a, m, slot, false);
	return granules_claim(pool, a, m, GRANULES - fg, fg, MIXED_FRAG, zero);
}

/* A place left by a straddling block that went, for one of fg granules
 * and n pages: a partial MIXED page of pool whose last fg granules are
 * free, followed by a free extent of pool of n pages or more (carved), or
 * if fill by n empty slots (filled: pool-gather.c, which moves or faults
 * pages, so the caller asks that last). The run is USED, pool's, at
 * *run. The block's start, or NULL. A root pool's, outside a forked child
 * (whose pages would need making private). */
void *hp_mixed_frag_place(struct hugepool *pool, unsigned int fg, size_t n, bool zero,
			  bool fill, size_t *run)
{
	struct hp_arena *a = pool->arena;
	struct hp_mixed *m;
	int looked = 0;

	for (m = pool->mixed_partial; m && looked < FRAG_SEARCH; m = m->next, looked++) {
		size_t next = m->slot + 1;
		const struct hp_slot *s;

		if (next >= a->nslots || GRANULES - m->used < fg)
			continue;
		s = &a->slots[next];
		if (s->run < n || (s->state != HP_SLOT_FREE && s->state != HP_SLOT_EMPTY) ||
		    next_bit(m->used_map, GRANULES - fg, true) < GRANULES)
			continue;
		if (s->state == HP_SLOT_FREE && s->owner == pool) {
			hp_free_carve(pool, a, next, next, n);
			hp_took_from_free(pool, a, next, n);
		} else if (!fill || s->state != HP_SLOT_EMPTY || hp_pool_fill_at(pool, next, n)) {
			continue;
		}
		*run = next;
		return granules_claim(pool, a, m, GRANULES - fg, fg, MIXED_FRAG, zero);
	}
	return NULL;
}

/* The fragment at granule st of m, if a block's fragment starts there. */
bool hp_mixed_frag_at(const struct hp_mixed *m, unsigned int st)
{
	return bit_test(m->start_map, st) && m->req[st] == MIXED_FRAG;
}

void hp_mixed_frag_free(struct hp_arena *a, struct hp_mixed *m, unsigned int st)
{
	granules_unclaim(a, m, st, GRANULES - st);	/* a fragment ends the page */
}

size_t hp_mixed_lookup(const struct hp_arena *a, const struct hp_mixed *m, size_t off,
		       size_t *req)
{
	size_t gsz = hp_granule_size(a);
	unsigned int st = (unsigned int)(off / gsz);

	if (off % gsz || !bit_test(m->start_map, st) || m->req[st] == MIXED_FRAG)
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
