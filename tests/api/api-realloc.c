/* SPDX-License-Identifier: MIT */
/*
 * Description: hugepool_realloc keeps contents and avoids copies. The
 * glibc edges: realloc(NULL, n) is malloc, realloc(p, 0) frees and returns
 * NULL, a failed realloc (SIZE_MAX, or over the pool's max) is NULL +
 * ENOMEM with the block untouched, a pointer that is not a block is EINVAL.
 * A small block shrinks and grows in place inside its page; a whole-page
 * block shrinks in place (pages go back), grows in place when the slots
 * after it are free, and otherwise moves its pages with mremap
 * (stats.pages_moved counts them; nothing is copied) to a larger run.
 * Crossing the page-size boundary either way copies, correctly, and a
 * shrink that finds no page to copy into keeps fewer pages instead. A shared
 * pool's block cannot move (its pages are file pages) and is copied.
 */
#include "api-helpers.h"

static const size_t psz = 2 * MB;

static void edges(struct hugepool *p)
{
	int x;
	char *a = hugepool_realloc(p, NULL, 5 * MB);

	CHECK(a);
	CHECK(hugepool_owner(a) == p);
	CHECK(hugepool_usable_size(a) >= 5 * MB);
	pat_fill(a, 5 * MB, 1, 1);

	errno = 0;
	CHECK(hugepool_realloc(p, a, SIZE_MAX) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_realloc(p, a, (size_t)PTRDIFF_MAX + 1) == NULL && errno == ENOMEM);
	CHECK(pat_ok(a, 5 * MB, 1, 1));
	/* two whole pages and a tail of 1 MiB in a shared page */
	CHECK_EQ(hugepool_usable_size(a), 5 * MB);

	errno = 0;
	CHECK(hugepool_realloc(p, &x, 10) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(hugepool_realloc(p, a + psz, 10) == NULL && errno == EINVAL);
	CHECK(pat_ok(a, 5 * MB, 1, 1));

	/* realloc(p, 0): freed, NULL */
	CHECK_EQ(p->stats.allocs - p->stats.frees, 1);
	CHECK(hugepool_realloc(p, a, 0) == NULL);
	CHECK_EQ(p->stats.allocs - p->stats.frees, 0);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

static void small_in_place(struct hugepool *p)
{
	char *a = hugepool_malloc(p, 40 * KB), *b;
	size_t held = p->stats.bytes_held;

	CHECK(a);
	pat_fill(a, 40 * KB, 2, 1);
	/* the granules after it are free: grows where it is */
	b = hugepool_realloc(p, a, 200 * KB);
	CHECK(b == a);
	CHECK(pat_ok(b, 40 * KB, 2, 1));
	CHECK(hugepool_usable_size(b) >= 200 * KB);
	CHECK_EQ(p->stats.bytes_held, held);
	pat_fill(b, 200 * KB, 3, 1);
	/* shrinks where it is, and the tail can be used again */
	b = hugepool_realloc(p, b, 20 * KB);
	CHECK(b == a);
	CHECK(pat_ok(b, 20 * KB, 3, 1));
	CHECK_EQ(hugepool_usable_size(b), 20 * KB);
	CHECK_EQ(p->stats.bytes_in_use, 20 * KB);
	CHECK_EQ(p->stats.bytes_requested, 20 * KB);
	{
		char *c = hugepool_malloc(p, 100 * KB);

		CHECK(c == a + 20 * KB);
		/* now a cannot grow in place: it moves, with its contents */
		b = hugepool_realloc(p, a, 60 * KB);
		CHECK(b && b != a);
		CHECK(pat_ok(b, 20 * KB, 3, 1));
		hugepool_free(c);
	}
	/* small to whole pages and back: copies */
	a = hugepool_realloc(p, b, 3 * psz);
	CHECK(a && a != b);
	CHECK(pat_ok(a, 20 * KB, 3, 1));
	CHECK_PAGE_SIZE(a, psz);
	pat_fill(a, 3 * psz, 4, 1);
	b = hugepool_realloc(p, a, 100 * KB);
	CHECK(b && b != a);
	CHECK(pat_ok(b, 100 * KB, 4, 1));
	CHECK_EQ(hugepool_usable_size(b), 100 * KB);
	hugepool_free(b);
	CHECK_EQ(pool_used(p), 0);
	CHECK_EQ(p->stats.allocs, p->stats.frees);
	CHECK_POOL(p);
}

static void pages_in_place(struct hugepool *p)
{
	uint64_t moved = p->stats.pages_moved;
	char *a = hugepool_malloc(p, 4 * psz), *b;

	CHECK(a);
	pat_fill(a, 4 * psz, 5, 1);
	/* shrink: the tail pages go back to the pool */
	b = hugepool_realloc(p, a, 2 * psz + 1);
	CHECK(b == a);
	CHECK_EQ(pool_used(p), 3);
	CHECK_EQ(hugepool_usable_size(a), 3 * psz);
	CHECK(pat_ok(a, 2 * psz, 5, 1));
	CHECK_POOL(p);
	/* grow: the slots after it are free (its own tail, then address
	 * space): same address, no page moved */
	b = hugepool_realloc(p, a, 8 * psz);
	CHECK(b == a);
	CHECK_EQ(pool_used(p), 8);
	CHECK_EQ(p->stats.pages_moved, moved);
	CHECK(pat_ok(a, 2 * psz, 5, 1));
	memset(a + 2 * psz, 0x11, 6 * psz);
	CHECK_PAGE_SIZE(a + 8 * psz - 1, psz);
	CHECK_POOL(p);
	hugepool_free(a);
	CHECK_POOL(p);
}

static void pages_move(struct hugepool *p)
{
	uint64_t moved = p->stats.pages_moved, held = p->stats.bytes_held;
	char *a, *fence, *b;

	a = hugepool_malloc(p, 16 * psz);
	fence = hugepool_malloc(p, psz);	/* right after a: no room */
	CHECK(a && fence);
	CHECK(fence == a + 16 * psz);
	pat_fill(a, 16 * psz, 6, 1);
	b = hugepool_realloc(p, a, 48 * psz);
	CHECK(b && b != a);
	/* a's sixteen pages moved, not copied */
	CHECK_EQ(p->stats.pages_moved - moved, 16);
	CHECK(pat_ok(b, 16 * psz, 6, 1));
	CHECK_EQ(hugepool_usable_size(b), 48 * psz);
	CHECK_EQ(p->stats.bytes_held - held, 49 * psz);
	CHECK(hugepool_owner(a) == NULL);	/* the old address is gone */
	memset(b + 16 * psz, 0x22, 32 * psz);
	CHECK_PAGE_SIZE(b, psz);
	CHECK_PAGE_SIZE(b + 47 * psz, psz);
	CHECK_POOL(p);
	hugepool_free(b);
	hugepool_free(fence);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

/* over the pool's max: NULL + ENOMEM, block as it was */
static void too_big(void)
{
	struct hugepool *p = api_pool(psz, 0, 6, 0);
	uint64_t failures;
	char *a = hugepool_malloc(p, 4 * psz), *fence = hugepool_malloc(p, psz);

	CHECK(a && fence);
	pat_fill(a, 4 * psz, 7, 1);
	failures = p->stats.failures;
	errno = 0;
	CHECK(hugepool_realloc(p, a, 8 * psz) == NULL && errno == ENOMEM);
	CHECK_EQ(p->stats.failures, failures + 1);
	CHECK(pat_ok(a, 4 * psz, 7, 1));
	CHECK_EQ(hugepool_usable_size(a), 4 * psz);
	CHECK_EQ(pool_used(p), 5);
	CHECK_POOL(p);
	hugepool_free(a);
	hugepool_free(fence);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

/* shrinking cannot fail: with no page for a MIXED block, the block keeps
 * fewer whole pages where it is */
static void shrink_never_fails(void)
{
	struct hugepool *p = api_pool(psz, 0, 3, 0);
	uint64_t failures;
	char *a = hugepool_malloc(p, 3 * psz), *b;

	CHECK(a);
	pat_fill(a, 3 * psz, 9, 1);
	failures = p->stats.failures;
	errno = 0;
	b = hugepool_realloc(p, a, 100 * KB);
	CHECK(b == a);
	CHECK_EQ(errno, 0);
	CHECK_EQ(p->stats.failures, failures);
	CHECK(pat_ok(b, 100 * KB, 9, 1));
	CHECK_EQ(hugepool_usable_size(b), psz);
	CHECK_EQ(pool_used(p), 1);
	CHECK_POOL(p);
	hugepool_free(b);
	CHECK(hugepool_destroy(p) == 0);
}

/* a shared pool's blocks are file pages: growth copies, contents kept */
static void shared(void)
{
	struct hugepool *p = api_pool(psz, 0, 0, HUGEPOOL_SHARED);
	char *a = hugepool_malloc(p, 2 * psz), *fence = hugepool_malloc(p, psz), *b;

	CHECK(a && fence);
	pat_fill(a, 2 * psz, 8, 1);
	b = hugepool_realloc(p, a, 5 * psz);
	CHECK(b && b != a);
	CHECK_EQ(p->stats.pages_moved, 0);
	CHECK(pat_ok(b, 2 * psz, 8, 1));
	CHECK_PAGE_SIZE(b, psz);
	hugepool_free(b);
	hugepool_free(fence);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 120);
	struct hugepool *p = api_pool(psz, 0, 0, 0);

	edges(p);
	small_in_place(p);
	CHECK(hugepool_destroy(p) == 0);
	p = api_pool(psz, 0, 0, 0);
	pages_in_place(p);
	pages_move(p);
	CHECK(hugepool_destroy(p) == 0);
	too_big();
	shrink_never_fails();
	shared();
	api_end(&kb);
	return 0;
}
