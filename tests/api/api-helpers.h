/* SPDX-License-Identifier: MIT */
/*
 * api-helpers.h - shared by the API tests (tests/api): on top of the system
 * test helpers (../helpers.h: CHECK, skip-or-fail, kernel counters, running
 * in a child), a test's start and end (the kernel's counters back at their
 * baseline), the pool invariants after each step and "is this memory
 * really a huge page". Pattern fill/check of blocks (pat_*) is in the
 * support library (../support/support.h).
 *
 * The tests link the internal static library, so they can look at a pool's
 * stats and call hp_pool_check() directly.
 */
#ifndef HUGEPOOL_API_HELPERS_H
#define HUGEPOOL_API_HELPERS_H

#include "internal.h"
#include "../helpers.h"
#include "../support/pool-check.h"

#include <stdint.h>
#include <time.h>

#define KB (1UL << 10)
#define MB (1UL << 20)
#define GB (1UL << 30)

/* Every pool a test creates is checked against the seed's invariants
 * after each step (CHECK_POOL, support/pool-check.h). */

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
	if (!kernel_back_at(b, "api"))
		exit(T_FAIL);
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
/* Pages of p holding blocks, once this thread's small-object heap gave
 * back the empty spans it keeps (at most one per size class): a test that
 * freed everything sees 0. */
static inline size_t pool_used(const struct hugepool *p)
{
	struct hugepool *mp = (struct hugepool *)p;
	struct hugepool_counters c;

	hp_pool_lock(mp);
	hp_pool_consumers_trim(mp);
	hp_pool_unlock(mp);

	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	return c.nr_pages - c.free_pages;
}

#endif
