/* SPDX-License-Identifier: MIT */
/*
 * Description: many threads, all the calls, checked contents. Ten threads
 * for about five seconds take a random block out of a shared table (so
 * most frees happen on another thread than the malloc), check its pattern,
 * then free, realloc or keep it, and put a new block of a random size
 * (bytes to 8 MiB, many around the 2 MiB page size) from malloc, calloc
 * (checked zero) or aligned_alloc back, filled with a pattern of its own.
 * A pool with a short decay time gives surplus pages back to the kernel
 * meanwhile; the main thread checks the pool's invariants all along. At
 * the end: no block lost or corrupted, the counters at zero, the kernel's
 * counters at baseline.
 */
#include "api-helpers.h"

#include <pthread.h>

#define THREADS		10
#define SLOTS		192
#define SECONDS		5

static const size_t psz = 2 * MB;
static struct hugepool *pool;
static char *table[SLOTS];
static volatile bool stop;
static uint64_t ops[THREADS], fails[THREADS];

/* A block starts with its size and seed; the rest is its pattern (every
 * word of small blocks, a sample of big ones, and always the last word). */
struct head {
	uint64_t size;
	uint64_t seed;
};

static size_t stride_of(size_t size)
{
	return size > 256 * KB ? 61 : 1;
}

static void fill(char *b, size_t size, uint64_t seed)
{
	struct head *h = (struct head *)b;
	size_t body = (size - sizeof(*h)) & ~7UL;

	h->size = size;
	h->seed = seed;
	pat_fill(b + sizeof(*h), body, seed, stride_of(size));
	if (body)
		((uint64_t *)(b + sizeof(*h)))[body / 8 - 1] = pat_word(seed, body / 8 - 1);
}

static void verify(const char *b)
{
	const struct head *h = (const struct head *)b;
	size_t body = (h->size - sizeof(*h)) & ~7UL;

	if (hugepool_usable_size(b) < h->size || hugepool_owner(b) != pool ||
	    !pat_ok(b + sizeof(*h), body, h->seed, stride_of(h->size)) ||
	    (body && ((const uint64_t *)(b + sizeof(*h)))[body / 8 - 1] !=
	     pat_word(h->seed, body / 8 - 1))) {
		fprintf(stderr, "block %p (size %llu seed %llu) corrupted\n", (void *)b,
			(unsigned long long)h->size, (unsigned long long)h->seed);
		exit(T_FAIL);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static size_t pick_size(uint64_t *s)
{
	switch (rnd(s) % 8) {
	case 0: return 16 + rnd(s) % 4096;
	case 1: return 4096 + rnd(s) % (256 * KB);
	case 2: return 256 * KB + rnd(s) % (psz - 256 * KB);
	case 3: return psz - 8 + (rnd(s) % 3) * 8;		/* around the page */
	case 4: return psz + rnd(s) % psz;
	case 5: return psz * (1 + rnd(s) % 4);
	case 6: return 3 * psz + rnd(s) % (5 * MB);
	default: return 16 + rnd(s) % (64 * KB);
	}
}

static char *new_block(uint64_t *s, uint64_t seed, size_t *size)
{
	char *b;

	*size = pick_size(s);
	switch (rnd(s) % 4) {
	case 0:
		b = hugepool_calloc(pool, 1, *size);
		if (b && !all_zero(b, *size & ~7UL)) {
			fprintf(stderr, "calloc(%zu) = %p not zero\n", *size, (void *)b);
			exit(T_FAIL);
		}
		break;
	case 1: {
		size_t al = (size_t)1 << (4 + rnd(s) % 19);	/* 16 B .. 4 MiB */

		b = hugepool_aligned_alloc(pool, al, *size);
		if (b && (uintptr_t)b % al) {
			fprintf(stderr, "aligned_alloc(%zu) = %p misaligned\n", al, (void *)b);
			exit(T_FAIL);
		}
		break;
	}
	default:
		b = hugepool_malloc(pool, *size);
	}
	if (b)
		fill(b, *size, seed);
	return b;
}

static void *worker(void *arg)
{
	int id = (int)(uintptr_t)arg;
	uint64_t s = 0x9e3779b97f4a7c15ULL * (uint64_t)(id + 1), seq = 0;

	/* atomic: a plain flag is a data race (found by the TSan run) */
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		size_t slot = rnd(&s) % SLOTS, size;
		char *old = __atomic_exchange_n(&table[slot], NULL, __ATOMIC_ACQ_REL);
		char *b;

		if (old) {
			verify(old);
			if (rnd(&s) % 4 == 0) {
				/* realloc: contents up to the smaller size kept */
				struct head h = *(struct head *)old;
				size_t nsize = pick_size(&s);
				char *n = hugepool_realloc(pool, old, nsize);

				if (!n) {
					fails[id]++;
					hugepool_free(old);
				} else {
					size_t keep = (nsize < h.size ? nsize : h.size) - sizeof(h);

					if (!pat_ok(n + sizeof(h), keep & ~7UL, h.seed,
						    stride_of(h.size))) {
						fprintf(stderr, "realloc lost contents\n");
						exit(T_FAIL);
					}
					fill(n, nsize, (uint64_t)id << 40 | seq++);
					old = n;
					goto put;
				}
			} else {
				hugepool_free(old);
			}
		}
		b = new_block(&s, (uint64_t)id << 40 | seq++, &size);
		if (!b) {
			fails[id]++;
			continue;
		}
		old = b;
put:
		old = __atomic_exchange_n(&table[slot], old, __ATOMIC_ACQ_REL);
		if (old) {
			verify(old);
			hugepool_free(old);
		}
		ops[id]++;
	}
	return NULL;
}

int main(void)
{
	struct kbase kb = api_begin(psz, 400);
	pthread_t t[THREADS];
	uint64_t total = 0, failed = 0;
	struct timespec start, now;
	int i, checks = 0;

	pool = api_pool(psz, 16, 380, 0);
	CHECK(hugepool_set_decay_ms(pool, 20) == -1);
	for (i = 0; i < THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, worker, (void *)(uintptr_t)i) == 0);
	clock_gettime(CLOCK_MONOTONIC, &start);
	do {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		CHECK_POOL(pool);
		checks++;
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec - start.tv_sec < SECONDS);
	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		total += ops[i];
		failed += fails[i];
	}
	for (i = 0; i < SLOTS; i++)
		if (table[i]) {
			verify(table[i]);
			hugepool_free(table[i]);
		}
	printf("%llu operations, %llu failed for want of pages, %d invariant checks\n",
	       (unsigned long long)total, (unsigned long long)failed, checks);
	CHECK(total > 1000);
	CHECK_POOL(pool);
	CHECK_EQ(pool_used(pool), 0);
	CHECK_EQ(pool->stats.allocs, pool->stats.frees);
	CHECK_EQ(pool->stats.bytes_in_use, 0);
	CHECK_EQ(pool->stats.bytes_requested, 0);
	CHECK_EQ(pool->stats.bytes_held, 0);
	CHECK_EQ(pool->stats.failures, failed);
	CHECK(hugepool_destroy(pool) == 0);
	api_end(&kb);
	return 0;
}
