/* SPDX-License-Identifier: MIT */
/*
 * Description: hugepool_calloc zeroes what was used before and only that.
 * n * size overflow is ENOMEM (counted as a failure); calloc(0, n) is a
 * unique pointer. Pages fresh from the kernel are zero already: calloc of
 * them zeroes nothing (stats.bytes_zeroed stays 0, so no memset ran over
 * them). Recycled pages and granules that held a pattern come back zero,
 * and bytes_zeroed counts exactly them.
 */
#include "api-helpers.h"

static const size_t psz = 2 * MB;

static void overflow(struct hugepool *p)
{
	uint64_t failures = p->stats.failures;
	void *a, *b;

	errno = 0;
	CHECK(hugepool_calloc(p, SIZE_MAX, 2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(p, (size_t)1 << 33, (size_t)1 << 33) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(p, 3, SIZE_MAX / 2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(p, 1, SIZE_MAX) == NULL && errno == ENOMEM);
	CHECK_EQ(p->stats.failures, failures + 4);
	a = hugepool_calloc(p, 0, 100);
	b = hugepool_calloc(p, 100, 0);
	CHECK(a && b && a != b);
	hugepool_free(a);
	hugepool_free(b);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

/* fresh kernel pages: zero, and calloc does not write them */
static void fresh(struct hugepool *p)
{
	char *big, *small;

	CHECK_EQ(p->stats.bytes_zeroed, 0);
	big = hugepool_calloc(p, 32, 2 * MB);
	CHECK(big);
	CHECK_PAGE_SIZE(big, psz);
	CHECK_EQ(p->stats.pages_faulted, 32);
	CHECK_EQ(p->stats.bytes_zeroed, 0);
	CHECK(all_zero(big, 64 * MB));
	small = hugepool_calloc(p, 100, 1024);
	CHECK(small);
	CHECK_EQ(p->stats.bytes_zeroed, 0);
	CHECK(all_zero(small, 100 * 1024));
	CHECK_POOL(p);
	memset(big, 0xee, 64 * MB);
	memset(small, 0xee, 100 * 1024);
	hugepool_free(big);
	hugepool_free(small);
	CHECK_POOL(p);
}

/* recycled pages: a pattern, free, calloc of the same size gets the same
 * pages back, zeroed, and bytes_zeroed counts them */
static void recycled_pages(struct hugepool *p)
{
	uint64_t zeroed = p->stats.bytes_zeroed, faulted = p->stats.pages_faulted;
	char *a, *b;

	a = hugepool_malloc(p, 8 * MB);
	CHECK(a);
	pat_fill(a, 8 * MB, 1, 1);
	hugepool_free(a);
	b = hugepool_calloc(p, 1, 8 * MB);
	CHECK(b);
	CHECK_EQ(p->stats.pages_faulted, faulted);	/* recycled, not fresh */
	CHECK(all_zero(b, 8 * MB));
	CHECK_EQ(p->stats.bytes_zeroed - zeroed, 8 * MB);
	/* malloc does not zero: the pattern of a freed block can show */
	pat_fill(b, 8 * MB, 2, 1);
	hugepool_free(b);
	a = hugepool_malloc(p, 8 * MB);
	CHECK(a);
	CHECK_EQ(p->stats.bytes_zeroed - zeroed, 8 * MB);
	hugepool_free(a);
	CHECK_POOL(p);
}

/* a block of fresh and recycled pages: only the recycled ones are zeroed */
static void mixed_history(void)
{
	struct hugepool *p = api_pool(psz, 0, 0, 0);
	char *a, *b;

	a = hugepool_malloc(p, 2 * psz);
	CHECK(a);
	memset(a, 0x77, 2 * psz);
	hugepool_free(a);
	b = hugepool_calloc(p, 4, psz);
	CHECK(b);
	CHECK(all_zero(b, 4 * psz));
	CHECK(p->stats.bytes_zeroed <= 2 * psz);
	CHECK_EQ(p->stats.bytes_zeroed, (6 - p->stats.pages_faulted) * psz);
	hugepool_free(b);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

/* granules: a MIXED page keeps a dirty bit per granule */
static void granules(void)
{
	struct hugepool *p = api_pool(psz, 0, 0, 0);
	char *keep, *a, *b, *c;
	uint64_t zeroed;

	keep = hugepool_malloc(p, 100 * KB);	/* keeps the page MIXED */
	a = hugepool_malloc(p, 100 * KB);
	CHECK(keep && a);
	CHECK_EQ(pool_used(p), 1);
	CHECK_PAGE_SIZE(a, psz);
	pat_fill(a, 100 * KB, 3, 1);
	hugepool_free(a);
	b = hugepool_calloc(p, 1, 100 * KB);
	CHECK(b == a);			/* first fit: the same granules */
	CHECK(all_zero(b, 100 * KB));
	CHECK_EQ(p->stats.bytes_zeroed, 100 * KB);
	/* granules of the same (fresh) page never handed out: zero already,
	 * not written */
	zeroed = p->stats.bytes_zeroed;
	c = hugepool_calloc(p, 1, 64 * KB);
	CHECK(c);
	CHECK_EQ(pool_used(p), 1);
	CHECK(all_zero(c, 64 * KB));
	CHECK_EQ(p->stats.bytes_zeroed, zeroed);
	hugepool_free(keep);
	hugepool_free(b);
	hugepool_free(c);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);

	/* the whole page was handed out before: a new MIXED page on it is
	 * dirty everywhere, and calloc zeroes */
	c = hugepool_calloc(p, 1, 64 * KB);
	CHECK(c);
	CHECK(all_zero(c, 64 * KB));
	CHECK_EQ(p->stats.bytes_zeroed, zeroed + 64 * KB);
	hugepool_free(c);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 80);
	struct hugepool *p = api_pool(psz, 0, 0, 0);

	overflow(p);
	CHECK(hugepool_destroy(p) == 0);
	p = api_pool(psz, 0, 0, 0);
	fresh(p);
	recycled_pages(p);
	CHECK(hugepool_destroy(p) == 0);
	mixed_history();
	granules();
	api_end(&kb);
	return 0;
}
