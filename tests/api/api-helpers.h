/* SPDX-License-Identifier: MIT */
/*
 * api-helpers.h - shared by the API tests (tests/api): on top of the system
 * test helpers (../helpers.h: CHECK, skip-or-fail, kernel counters, running
 * in a child), a test's start and end (the kernel's counters back at their
 * baseline), the pool invariants after each step, "is this memory really a
 * huge page", and pattern fill/check of blocks.
 *
 * The tests link the internal static library, so they can look at a pool's
 * stats and call hp_pool_check() directly.
 */
#ifndef HUGEPOOL_API_HELPERS_H
#define HUGEPOOL_API_HELPERS_H

#include "internal.h"
#include "../helpers.h"

#include <stdint.h>
#include <time.h>

#define KB (1UL << 10)
#define MB (1UL << 20)
#define GB (1UL << 30)

/* Every pool a test creates is checked against the seed's invariants
 * (resv <= free <= nr, per-node sums, surplus = max(0, nr - min), free
 * lists) after each step; the lock keeps other threads out meanwhile. */
#define CHECK_POOL(p)							\
	do {								\
		int ret_;						\
		hp_pool_lock(p);					\
		ret_ = hp_pool_check(p);				\
		hp_pool_unlock(p);					\
		if (ret_) {						\
			fprintf(stderr, "%s:%d: pool invariants broken (%d)\n", \
				__FILE__, __LINE__, ret_);		\
			exit(T_FAIL);					\
		}							\
	} while (0)

/* The memory at addr is backed by pages of this size (smaps). */
#define CHECK_PAGE_SIZE(addr, size) CHECK_EQ(hp_sys_kernel_page_size(addr), (long)(size))

/* A test's start: enough free pages of psz (else skip, or fail in CI),
 * quiet library, and the kernel's counters to come back to. */
static inline struct kbase api_begin(size_t psz, long need)
{
	hp_options_init();	/* it sets hp_verbose from the environment */
	hp_verbose = 0;
	need_free_pages(psz, need);
	return kernel_baseline(psz);
}

/*
 * A test's end: the kernel's counters are back at the baseline. Other
 * programs on the machine (another suite running at the same time) can
 * hold pages for a moment, so a mismatch is looked at again for up to
 * three seconds; and more free pages than at the start means someone
 * else gave back pages they held when the test began, not a leak here (a
 * leak shows as fewer free or more reserved pages).
 */
static inline void api_end(const struct kbase *b)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	int tries;

	for (tries = 0; tries < 60; tries++) {
		struct kbase now = kernel_baseline(b->page_size);

		if (now.free >= b->free && now.resv <= b->resv && now.nr == b->nr &&
		    now.surplus == b->surplus)
			return;
		nanosleep(&ts, NULL);
	}
	check_kernel_baseline(b);	/* prints and fails */
}

/* A pool with decay off, so that counters move only with the test. */
static inline struct hugepool *api_pool(size_t psz, size_t min, size_t max, unsigned int flags)
{
	struct hugepool_config cfg = { .page_size = psz, .min_pages = min,
				       .max_pages = max, .flags = flags };
	struct hugepool *p = hugepool_create(&cfg);

	CHECK(p);
	CHECK(hugepool_set_decay_ms(p, -1) != -EINVAL);
	CHECK_POOL(p);
	return p;
}

/* The kernel's free pages not reserved by anyone. */
static inline long kernel_avail(size_t psz)
{
	return kernel_counter(psz, "free_hugepages") - kernel_counter(psz, "resv_hugepages");
}

/*
 * A pool holding all but `leave` of the kernel's available pages, so that
 * exactly `leave` can still be had. Other programs on the machine can take
 * or give back pages meanwhile: retried until the count is right.
 */
static inline struct hugepool *api_hog(size_t psz, long leave)
{
	int tries;

	for (tries = 0; tries < 50; tries++) {
		long avail = kernel_avail(psz);
		struct hugepool *hog;

		if (avail < leave)
			break;
		hog = api_pool(psz, (size_t)(avail - leave), 0, 0);
		if (kernel_avail(psz) == leave)
			return hog;
		CHECK(hugepool_destroy(hog) == 0);
	}
	skip_or_fail("cannot leave exactly %ld free %zu kB pages (the machine is busy)",
		     leave, psz >> 10);
}

/* Pages of a pool that are in use (not free). */
static inline size_t pool_used(const struct hugepool *p)
{
	struct hugepool_counters c;

	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	return c.nr_pages - c.free_pages;
}

/* A pattern that differs per block (seed) and per 8-byte word. */
static inline uint64_t pat_word(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

/* Fill / check n bytes (multiple of 8) at p, every stride-th word (stride
 * 1: all; larger strides keep big blocks cheap to check). */
static inline void pat_fill(void *p, size_t n, uint64_t seed, size_t stride)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < n / 8; i += stride)
		w[i] = pat_word(seed, i);
}

static inline bool pat_ok(const void *p, size_t n, uint64_t seed, size_t stride)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < n / 8; i += stride)
		if (w[i] != pat_word(seed, i))
			return false;
	return true;
}

static inline bool all_zero(const void *p, size_t n)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i])
			return false;
	return true;
}

#endif
