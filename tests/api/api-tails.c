/* SPDX-License-Identifier: MIT */
/*
 * Description: straddling blocks (issue 14: packed tails). A block of a
 * page or more that is not a multiple of the page starts with a fragment,
 * the last granules of a shared (MIXED) page, and goes on into a run of
 * whole pages right after that page: a 2 MiB + 300 KiB block holds two
 * pages and 300 KiB of a third that other blocks share, not three pages.
 * Checked: the block is contiguous and on huge pages from its first to its
 * last byte (smaps); its usable size is what was asked rounded to a
 * granule; a small block shares the fragment's page; the run's first
 * address is no block (free ignores it, realloc says EINVAL); freeing the
 * block leaves the page's other blocks alone; the next straddling block
 * that fits takes the place the last one left, with no new page; calloc
 * zeroes a reused fragment and run; realloc shrinks in place and grows by
 * copy into a plain run (which then grows without copying); blocks aligned
 * past a granule and a shared pool's blocks are plain runs; a subpool's
 * fragment is in the subpool's page; and destroying pools with straddling
 * blocks live gives everything back.
 */
#include "api-helpers.h"

static const size_t psz = 2 * MB;

static void shares_page(struct hugepool *p)
{
	size_t held = p->stats.bytes_held;
	char *a = hugepool_malloc(p, 2 * psz + 300 * KB), *c, *d;

	CHECK(a);
	CHECK_EQ(hugepool_usable_size(a), 2 * psz + 300 * KB);
	CHECK_EQ((uintptr_t)(a + 300 * KB) % psz, 0);	/* the run after the fragment */
	CHECK_EQ(p->stats.bytes_held - held, 3 * psz);
	CHECK_EQ(pool_used(p), 3);
	pat_fill(a, 2 * psz + 300 * KB, 1, 1);
	CHECK_PAGE_SIZE(a, psz);
	CHECK_PAGE_SIZE(a + 2 * psz + 300 * KB - 1, psz);
	/* the fragment's page takes the next small block, at its bottom */
	c = hugepool_malloc(p, 100 * KB);
	CHECK(c == a + 300 * KB - psz);
	CHECK_EQ(pool_used(p), 3);
	CHECK_EQ(p->stats.bytes_held - held, 3 * psz);
	pat_fill(c, 100 * KB, 2, 1);
	CHECK_POOL(p);

	/* the run's first address is part of a, not a block */
	hugepool_free(a + 300 * KB);
	errno = 0;
	CHECK(hugepool_realloc(p, a + 300 * KB, 10) == NULL && errno == EINVAL);
	CHECK(hugepool_usable_size(a + 300 * KB) == 0);
	CHECK(pat_ok(a, 2 * psz + 300 * KB, 1, 1));
	CHECK_EQ(p->stats.allocs - p->stats.frees, 2);

	/* a goes: its run comes back, the page stays for c */
	hugepool_free(a);
	CHECK(pat_ok(c, 100 * KB, 2, 1));
	CHECK_EQ(pool_used(p), 1);
	CHECK_EQ(p->stats.bytes_held - held, psz);
	CHECK_POOL(p);

	/* the next one that fits takes a's place: no new page */
	d = hugepool_malloc(p, psz + 200 * KB);
	CHECK(d == a + 100 * KB);
	CHECK_EQ(pool_used(p), 2);
	memset(d, 3, psz + 200 * KB);
	CHECK(pat_ok(c, 100 * KB, 2, 1));
	CHECK_PAGE_SIZE(d + psz + 200 * KB - 1, psz);
	CHECK_POOL(p);
	hugepool_free(c);
	hugepool_free(d);
	CHECK_EQ(pool_used(p), 0);
	CHECK_EQ(p->stats.bytes_held, held);
	CHECK_POOL(p);
}

/* with decay 0 the run a straddling block leaves goes back to the kernel
 * at once: the next one's run is faulted in right there again */
static void place_refilled(void)
{
	struct hugepool *p = api_pool(psz, 0, 0, 0);
	struct hugepool_counters k;
	char *a, *c, *d;

	CHECK(hugepool_set_decay_ms(p, 0) == -1);	/* api_pool set -1 */
	a = hugepool_malloc(p, 2 * psz + 300 * KB);
	c = hugepool_malloc(p, 100 * KB);
	CHECK(a && c && c == a + 300 * KB - psz);
	hugepool_free(a);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &k) == 0);
	CHECK_EQ(k.nr_pages, 1);	/* the run went back to the kernel */
	d = hugepool_malloc(p, psz + 200 * KB);
	CHECK(d == a + 100 * KB);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &k) == 0);
	CHECK_EQ(k.nr_pages, 2);
	memset(d, 5, psz + 200 * KB);
	CHECK_PAGE_SIZE(d + psz + 200 * KB - 1, psz);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

/* a reused fragment and run are zeroed by calloc like the rest */
static void calloc_frag(struct hugepool *p)
{
	size_t n = psz + 512 * KB, i;
	char *a = hugepool_malloc(p, n);

	CHECK(a);
	memset(a, 0xa5, n);
	hugepool_free(a);
	a = hugepool_calloc(p, 1, n);
	CHECK(a);
	for (i = 0; i < n; i += 4096)
		CHECK_EQ(a[i] | a[i + 4095], 0);
	hugepool_free(a);
	CHECK_POOL(p);
}

static void realloc_frag(struct hugepool *p)
{
	uint64_t moved;
	char *a = hugepool_malloc(p, 3 * psz + 100 * KB), *b;

	CHECK(a);
	pat_fill(a, 3 * psz + 100 * KB, 3, 1);
	/* shrinks where it is while it uses more than half */
	b = hugepool_realloc(p, a, 3 * psz);
	CHECK(b == a);
	CHECK_EQ(p->stats.bytes_requested, 3 * psz);
	CHECK(pat_ok(b, 3 * psz, 3, 1));
	/* grows by copy into a plain run */
	b = hugepool_realloc(p, a, 4 * psz + 4 * KB);
	CHECK(b && b != a);
	CHECK(pat_ok(b, 3 * psz, 3, 1));
	CHECK_EQ(hugepool_usable_size(b), 5 * psz);
	CHECK_PAGE_SIZE(b + 5 * psz - 1, psz);
	/* which grows again without a copy: in place or its pages moved */
	moved = p->stats.pages_moved;
	a = hugepool_realloc(p, b, 9 * psz);
	CHECK(a);
	CHECK(a == b || p->stats.pages_moved - moved == 5);
	CHECK(pat_ok(a, 3 * psz, 3, 1));
	hugepool_free(a);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

/* blocks aligned past a granule and shared pools: plain runs */
static void no_frag(struct hugepool *p)
{
	struct hugepool *sh = api_pool(psz, 0, 0, HUGEPOOL_SHARED);
	char *a = hugepool_aligned_alloc(p, 64 * KB, psz + 100 * KB);
	char *b = hugepool_malloc(sh, psz + 100 * KB);

	CHECK(a && b);
	CHECK_EQ(hugepool_usable_size(a), 2 * psz);
	CHECK_EQ(hugepool_usable_size(b), 2 * psz);
	CHECK_EQ((uintptr_t)a % psz, 0);
	CHECK_EQ((uintptr_t)b % psz, 0);
	memset(a, 1, 2 * psz);
	memset(b, 2, 2 * psz);
	hugepool_free(a);
	hugepool_free(b);
	CHECK_POOL(p);
	CHECK_POOL(sh);
	CHECK(hugepool_destroy(sh) == 0);
}

/* a subpool's fragment is in the subpool's page; destroy with straddling
 * blocks live */
static void subpool_and_destroy(void)
{
	struct hugepool *root = api_pool(psz, 0, 0, 0);
	struct hugepool *sp = hugepool_subpool(root, 0, 8);
	char *a, *c;

	CHECK(sp);
	a = hugepool_malloc(sp, psz + 64 * KB);
	c = hugepool_malloc(sp, 64 * KB);
	CHECK(a && c);
	CHECK(c == a + 64 * KB - psz);
	CHECK(hugepool_owner(a) == sp && hugepool_owner(c) == sp);
	CHECK(hugepool_owner(a + 64 * KB) == sp);
	CHECK_EQ(pool_used(sp), 2);
	memset(a, 3, psz + 64 * KB);
	memset(c, 4, 64 * KB);
	CHECK_POOL(sp);
	CHECK_POOL(root);
	CHECK(hugepool_malloc(root, 3 * psz + 1) != NULL);	/* left live */
	CHECK(hugepool_destroy(sp) == 0);
	CHECK_POOL(root);
	CHECK(hugepool_destroy(root) == 0);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 40);
	struct hugepool *p = api_pool(psz, 0, 0, 0);

	shares_page(p);
	calloc_frag(p);
	realloc_frag(p);
	no_frag(p);
	CHECK(hugepool_destroy(p) == 0);
	subpool_and_destroy();
	place_refilled();
	api_end(&kb);
	return 0;
}
