/* SPDX-License-Identifier: MIT */
/*
 * block.h - what the block consumers share (block.c, mixed.c, heap*.c,
 * alloc.c): the MIXED page's granule map, the activity counters and the
 * ways a block gets its pages. Not for the engine below, nor for faces.
 */
#ifndef HUGEPOOL_BLOCK_H
#define HUGEPOOL_BLOCK_H

#include "internal.h"

/* A MIXED page is cut into GRANULES granules: 4 KiB of a 2 MiB page, 2 MiB
 * of a 1 GiB page. */
#define GRANULES	512
#define GWORDS		(GRANULES / 64)

struct hp_span;

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
	struct hp_span **span_at;	/* heap span of each granule, or NULL
					 * (allocated with the page's first span) */
	/* last, and not cleared when the record is reused: read only at a
	 * start granule, which is written first */
	uint32_t req[GRANULES];		/* bytes requested, at start granules */
};

/* A process that never forked owns every page it maps; only a forked
 * child (hp_fork_gen > 1) can hold pages shared copy-on-write. */
static inline bool maybe_cow(void)
{
	return __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED) != 1;
}

static inline size_t hp_granule_size(const struct hp_arena *a)
{
	return ((size_t)1 << a->shift) / GRANULES;
}

/* block.c (pool lock held throughout) */
void hp_stat_alloc(struct hugepool *pool, size_t req, size_t usable);
void hp_stat_free(struct hugepool *pool, size_t req, size_t usable);
void hp_stat_resize(struct hugepool *pool, size_t old_req, size_t old_usable,
		    size_t req, size_t usable);
void hp_note_fallback(struct hugepool *pool);
long hp_fb_take(struct hugepool *pool, size_t n, size_t align);
void hp_run_put(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n);
bool hp_pool_foreign(struct hugepool *pool);
long hp_take_pages(struct hugepool *pool, size_t n, size_t align);

/* mixed.c: blocks of granules inside MIXED pages (pool lock held) */
void *hp_mixed_alloc(struct hugepool *pool, size_t size, size_t align, bool zero,
		     bool fallback);
/* usable bytes of the block starting off bytes into m's page (req in
 * *req), 0 if no block starts there */
size_t hp_mixed_lookup(const struct hp_arena *a, const struct hp_mixed *m, size_t off,
		       size_t *req);
void hp_mixed_free(struct hp_arena *a, struct hp_mixed *m, unsigned int st);
void *hp_mixed_realloc(struct hp_arena *a, void *ptr, size_t size);
void hp_mixed_release(struct hp_arena *a, struct hp_mixed *m);
/* blocks that straddle a MIXED page (their fragment, its last granules)
 * and a run of whole pages right after it */
void *hp_mixed_frag_new(struct hugepool *pool, struct hp_arena *a, size_t slot, unsigned int fg,
			bool zero);
void *hp_mixed_frag_place(struct hugepool *pool, unsigned int fg, size_t n, bool zero,
			  bool fill, size_t *run);
bool hp_mixed_frag_at(const struct hp_mixed *m, unsigned int st);
void hp_mixed_frag_free(struct hp_arena *a, struct hp_mixed *m, unsigned int st);
/* a granule block that is a small-object heap span: every granule of it
 * maps to sp (heap-span.c) */
void *hp_mixed_span_take(struct hugepool *pool, size_t bytes, struct hp_span *sp,
			 struct hp_arena **arena);
void hp_mixed_span_put(struct hp_arena *a, void *start);

#endif
