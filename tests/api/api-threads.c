/* SPDX-License-Identifier: MIT */
/*
 * Description: threads do not hoard pages. Sixteen threads each holding a
 * 300 KiB block share three pages between them, not one page each; after
 * they exit every page is free again (nothing is cached per thread). A
 * block freed by another thread, and one freed by a thread's TLS destructor
 * after the thread function returned, go back like any other. Sixty-four
 * threads allocating and freeing huge blocks in a pool with decay 0 leave
 * the kernel's free_hugepages at its baseline after join, without a trim.
 */
#include "api-helpers.h"

#include <pthread.h>

static const size_t psz = 2 * MB;
static struct hugepool *pool;
static pthread_barrier_t bar;

static void *hold_small(void *arg)
{
	char *b = hugepool_malloc(pool, 300 * KB);

	CHECK(b);
	pat_fill(b, 300 * KB, (uint64_t)(uintptr_t)arg, 1);
	pthread_barrier_wait(&bar);	/* all hold one */
	pthread_barrier_wait(&bar);	/* main has looked */
	CHECK(pat_ok(b, 300 * KB, (uint64_t)(uintptr_t)arg, 1));
	hugepool_free(b);
	return NULL;
}

static void no_hoarding(void)
{
	pthread_t t[16];
	int i;

	pool = api_pool(psz, 0, 0, 0);
	CHECK(pthread_barrier_init(&bar, NULL, 17) == 0);
	for (i = 0; i < 16; i++)
		CHECK(pthread_create(&t[i], NULL, hold_small, (void *)(uintptr_t)i) == 0);
	pthread_barrier_wait(&bar);
	CHECK_EQ(pool_used(pool), 3);	/* 16 x 300 KiB = 4.7 MiB */
	CHECK_POOL(pool);
	pthread_barrier_wait(&bar);
	for (i = 0; i < 16; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&bar);
	CHECK_EQ(pool_used(pool), 0);
	CHECK_EQ(pool->stats.allocs, 16);
	CHECK_EQ(pool->stats.frees, 16);
	CHECK_POOL(pool);
	CHECK(hugepool_destroy(pool) == 0);
}

/* freed on another thread, and from a TLS destructor at thread exit */
static pthread_key_t key;
static void *handoff;

static void tls_free(void *b)
{
	hugepool_free(b);
}

static void *thread_exit_free(void *arg)
{
	void *b = hugepool_malloc(pool, 3 * psz);

	(void)arg;
	CHECK(b);
	memset(b, 0x5c, 3 * psz);
	CHECK(pthread_setspecific(key, b) == 0);	/* freed after we return */
	handoff = hugepool_malloc(pool, 500 * KB);	/* freed by main */
	CHECK(handoff);
	return NULL;
}

static void exit_paths(void)
{
	pthread_t t;

	pool = api_pool(psz, 0, 0, 0);
	CHECK(pthread_key_create(&key, tls_free) == 0);
	CHECK(pthread_create(&t, NULL, thread_exit_free, NULL) == 0);
	pthread_join(t, NULL);
	CHECK_EQ(pool_used(pool), 1);		/* only the handed-off block */
	hugepool_free(handoff);
	CHECK_EQ(pool_used(pool), 0);
	CHECK_EQ(pool->stats.allocs, pool->stats.frees);
	CHECK_POOL(pool);
	pthread_key_delete(key);
	CHECK(hugepool_destroy(pool) == 0);
}

/* sixty-four threads, pages straight back to the kernel (decay 0) */
static void *churn(void *arg)
{
	size_t i, n = 1 + (size_t)(uintptr_t)arg % 3;

	for (i = 0; i < 20; i++) {
		char *b = hugepool_malloc(pool, n * psz);

		CHECK(b);
		b[0] = b[n * psz - 1] = 1;
		hugepool_free(b);
	}
	return NULL;
}

static void many_threads(const struct kbase *kb)
{
	pthread_t t[64];
	int i;

	pool = api_pool(psz, 0, 0, 0);
	CHECK(hugepool_set_decay_ms(pool, 0) == -1);
	for (i = 0; i < 64; i++)
		CHECK(pthread_create(&t[i], NULL, churn, (void *)(uintptr_t)i) == 0);
	for (i = 0; i < 64; i++)
		pthread_join(t[i], NULL);
	CHECK_POOL(pool);
	check_counters(pool, 0, 0, 0, 0);
	api_end(kb);		/* with the pool still there */
	CHECK(hugepool_destroy(pool) == 0);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 220);

	no_hoarding();
	exit_paths();
	many_threads(&kb);
	api_end(&kb);
	return 0;
}
