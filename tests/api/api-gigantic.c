/* SPDX-License-Identifier: MIT */
/*
 * Description: blocks from a pool of 1 GiB pages. Eight threads each
 * holding a 64 MiB block share one 1 GiB page (granules of 2 MiB) instead
 * of taking a page each; smaps says the memory is 1 GiB pages; a whole-page
 * block can be aligned to 2 GiB; calloc of a fresh 1 GiB page writes
 * nothing; realloc across the page size keeps contents. The kernel's 1 GiB
 * counters are at their baseline at the end.
 */
#include "api-helpers.h"

#include <pthread.h>

static const size_t gsz = GB;
static struct hugepool *pool;
static pthread_barrier_t bar;

static void *hold(void *arg)
{
	char *b = hugepool_malloc(pool, 64 * MB);

	CHECK(b);
	CHECK_EQ((uintptr_t)b % (2 * MB), 0);
	pat_fill(b, 64 * MB, (uint64_t)(uintptr_t)arg, 64);
	pthread_barrier_wait(&bar);
	pthread_barrier_wait(&bar);
	CHECK(pat_ok(b, 64 * MB, (uint64_t)(uintptr_t)arg, 64));
	hugepool_free(b);
	return NULL;
}

static void shared_page(void)
{
	pthread_t t[8];
	char *probe;
	int i;

	CHECK(pthread_barrier_init(&bar, NULL, 9) == 0);
	for (i = 0; i < 8; i++)
		CHECK(pthread_create(&t[i], NULL, hold, (void *)(uintptr_t)i) == 0);
	pthread_barrier_wait(&bar);
	check_counters(pool, 1, 0, 0, 1);	/* one page for all eight */
	CHECK_POOL(pool);
	probe = hugepool_malloc(pool, MB);
	CHECK(probe);
	CHECK_PAGE_SIZE(probe, gsz);
	hugepool_free(probe);
	pthread_barrier_wait(&bar);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	CHECK_EQ(pool_used(pool), 0);
	CHECK_POOL(pool);
}

static void whole_pages(void)
{
	char *a, *b;

	/* a fresh page: zero from the kernel, not written by calloc */
	CHECK(hugepool_trim(pool) == 1);
	a = hugepool_calloc(pool, 1, gsz);
	CHECK(a);
	CHECK_PAGE_SIZE(a, gsz);
	CHECK_EQ(pool->stats.bytes_zeroed, 0);
	CHECK(all_zero(a, 16 * MB));
	hugepool_free(a);
	CHECK_POOL(pool);

	/* aligned to twice the page size */
	a = hugepool_aligned_alloc(pool, 2 * gsz, 100);
	CHECK(a);
	CHECK_EQ((uintptr_t)a % (2 * gsz), 0);
	CHECK_EQ(hugepool_usable_size(a), gsz);
	pat_fill(a, 256 * MB, 7, 64);

	/* down to a block of 2 MiB granules (in a second page) and up
	 * again in place: contents kept */
	b = hugepool_realloc(pool, a, 256 * MB);
	CHECK(b);
	CHECK(pat_ok(b, 256 * MB, 7, 64));
	a = hugepool_realloc(pool, b, 300 * MB);
	CHECK(a == b);
	CHECK(pat_ok(a, 256 * MB, 7, 64));
	hugepool_free(a);
	CHECK_EQ(pool_used(pool), 0);
	CHECK_POOL(pool);
}

int main(void)
{
	struct kbase kb = api_begin(gsz, 2);

	pool = api_pool(gsz, 0, 2, 0);
	shared_page();
	whole_pages();
	CHECK(hugepool_destroy(pool) == 0);
	api_end(&kb);
	return 0;
}
