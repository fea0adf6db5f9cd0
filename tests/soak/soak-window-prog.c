/* SPDX-License-Identifier: MIT */
/*
 * soak-window-prog.c - an unmodified threaded program for soak-window
 * (issue 18), run under LD_PRELOAD=libhugepool.so inside a hugetlb cgroup
 * whose limit another process turns on and off all along: huge pages come
 * and go, so blocks across the threshold are served by the pool one moment
 * and fall back to glibc the next, and pool faults keep failing and
 * succeeding in between.
 *
 * SOAK_THREADS threads each keep up to 16 live blocks of 64 KiB .. 8 MiB
 * (the threshold is 256 KiB), every block filled with its own pattern and
 * checked in full before it is freed or grown with realloc. At the end
 * (argv[1] seconds) everything is freed, and the default pool must have
 * every page free, obey its invariants, and map exactly the huge pages it
 * counts. Prints operations, fallbacks seen and corruptions (0).
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../helpers.h"
#include "../fault/fault.h"

#define LIVE 16

static unsigned int seconds;
static volatile bool stop;
static unsigned long long ops_total, corrupt, pool_blocks, glibc_blocks;
static void *(*owner)(const void *);

struct blk {
	unsigned char *p;
	size_t n;
	uint64_t seed;
};

static void *work(void *arg)
{
	uint64_t x = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1, seed = (uintptr_t)arg << 40;
	struct blk b[LIVE] = { { 0 } };
	unsigned long long ops = 0, bad = 0, inpool = 0, inlibc = 0;
	int i;

	while (!stop) {
		struct blk *k;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		k = &b[x % LIVE];
		if (k->p) {
			if (!pat_ok(k->p, k->n, k->seed, 1))
				bad++;
			if (x & 0x100) {
				size_t n2 = k->n * 2 > (8UL << 20) ? k->n / 2 : k->n * 2;
				unsigned char *q = realloc(k->p, n2);

				if (q) {
					size_t keep = n2 < k->n ? n2 : k->n;

					if (!pat_ok(q, keep, k->seed, 1))
						bad++;
					k->p = q;
					k->n = n2;
					k->seed = ++seed;
					pat_fill(q, n2, k->seed, 1);
				}
			} else {
				free(k->p);
				k->p = NULL;
			}
		} else {
			k->n = (64UL << 10) << (x >> 20) % 8;	/* 64 KiB .. 8 MiB */
			k->p = malloc(k->n);
			if (k->p) {
				k->seed = ++seed;
				pat_fill(k->p, k->n, k->seed, 1);
				if (owner(k->p))
					inpool++;
				else if (k->n >= (256UL << 10))
					inlibc++;
			}
		}
		ops++;
	}
	for (i = 0; i < LIVE; i++)
		if (b[i].p) {
			if (!pat_ok(b[i].p, b[i].n, b[i].seed, 1))
				bad++;
			free(b[i].p);
		}
	__atomic_add_fetch(&ops_total, ops, __ATOMIC_RELAXED);
	__atomic_add_fetch(&corrupt, bad, __ATOMIC_RELAXED);
	__atomic_add_fetch(&pool_blocks, inpool, __ATOMIC_RELAXED);
	__atomic_add_fetch(&glibc_blocks, inlibc, __ATOMIC_RELAXED);
	return NULL;
}

int main(int argc, char **argv)
{
	struct hugepool *(*dflt)(void) = (struct hugepool *(*)(void))dlsym(RTLD_DEFAULT, "hugepool_default");
	int (*counters)(const struct hugepool *, int, struct hugepool_counters *) =
		(int (*)(const struct hugepool *, int, struct hugepool_counters *))
		dlsym(RTLD_DEFAULT, "hugepool_counters");
	const char *t = getenv("SOAK_THREADS");
	unsigned int n = t ? (unsigned int)atoi(t) : 4, i;
	struct hugepool_counters c;
	pthread_t th[64];

	owner = (void *(*)(const void *))dlsym(RTLD_DEFAULT, "hugepool_owner");
	CHECK(owner && dflt && counters);
	seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 10;
	if (n < 1 || n > 64)
		n = 4;
	for (i = 0; i < n; i++)
		CHECK(pthread_create(&th[i], NULL, work, (void *)(uintptr_t)(i + 1)) == 0);
	sleep(seconds);
	stop = true;
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	CHECK(counters(dflt(), HUGEPOOL_NODE_ANY, &c) == 0);
	printf("soak-window: %u threads, %u s: %llu operations, %llu blocks from the pool, "
	       "%llu fell back to glibc, %llu corruptions; pool at the end: nr %zu free %zu resv %zu\n",
	       n, seconds, ops_total, pool_blocks, glibc_blocks, corrupt, c.nr_pages, c.free_pages,
	       c.resv_pages);
	CHECK_EQ(corrupt, 0);
	CHECK(pool_blocks > 0 && glibc_blocks > 0);	/* pages did come and go */
	CHECK_EQ(c.free_pages, c.nr_pages);		/* everything freed */
	CHECK(c.resv_pages <= c.free_pages);
	/* the huge pages this process maps are the pool's, no more */
	CHECK_EQ(self_hugetlb_bytes(), (long)(c.nr_pages << 21));
	return T_PASS;
}
