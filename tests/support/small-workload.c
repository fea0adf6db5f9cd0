/* SPDX-License-Identifier: MIT */
/*
 * small-workload.c - the small-allocation workload of bench/preload-small
 * and hugepool-bench's "small" scenario: a thread keeps a live set of
 * objects of 16 B to 4 KiB (log-uniform: small objects dominate, as in
 * real heaps) and replaces a random one per operation (1/16 calloc, 1/16
 * realloc, the rest free + malloc), reading and writing a little of each.
 * It calls the process's malloc, whoever provides it (glibc, the preload,
 * another replacement); out of memory is an abort.
 */
#include "support.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* log-uniform in [16, 4096] */
static inline size_t pick(uint64_t *s)
{
	uint64_t r = xorshift(s);
	size_t lo = (size_t)16 << (r % 8);	/* 16 .. 2048 */

	return lo + (size_t)((r >> 8) % (lo + 1));	/* up to 2 x lo: 4096 */
}

void small_set_fill(struct small_set *set, unsigned int n, uint64_t *seed)
{
	unsigned int i;

	set->n = n;
	set->slot = calloc(n, sizeof(*set->slot));
	set->len = calloc(n, sizeof(*set->len));
	if (!set->slot || !set->len)
		abort();
	for (i = 0; i < n; i++) {
		set->len[i] = pick(seed);
		set->slot[i] = malloc(set->len[i]);
		if (!set->slot[i])
			abort();
		set->slot[i][0] = (unsigned char)i;
	}
}

/*
 * The random state lives in a local while measuring: the callers' per-
 * thread structs sit side by side, and a state stored back on every
 * operation would share a cache line between threads whenever their array
 * straddles one, which depends on the heap's layout, i.e. on the peer.
 */
uint64_t small_churn(struct small_set *set, unsigned long ops, uint64_t *seedp)
{
	unsigned char **slot = set->slot;
	size_t *len = set->len;
	uint64_t sum = 0, seed = *seedp;
	unsigned long k;
	unsigned int i;

	for (k = 0; k < ops; k++) {
		uint64_t r = xorshift(&seed);
		unsigned char *p;

		i = (unsigned int)(r % set->n);
		p = slot[i];
		/* use the object a little: read what was written, write anew */
		sum += p[0] + p[len[i] - 1];
		switch ((r >> 32) % 16) {
		case 0:	/* calloc: 1/16 */
			free(p);
			len[i] = pick(&seed);
			p = calloc(1, len[i]);
			break;
		case 1:	/* realloc: 1/16 */
			len[i] = pick(&seed);
			p = realloc(p, len[i]);
			break;
		default:
			free(p);
			len[i] = pick(&seed);
			p = malloc(len[i]);
			break;
		}
		if (!p)
			abort();
		p[0] = (unsigned char)k;
		p[len[i] - 1] = (unsigned char)(k >> 8);
		memset(p, (int)k, len[i] < 64 ? len[i] : 64);
		slot[i] = p;
	}
	*seedp = seed;
	return sum;
}

void small_set_free(struct small_set *set)
{
	unsigned int i;

	for (i = 0; i < set->n; i++)
		free(set->slot[i]);
	free(set->slot);
	free(set->len);
	set->slot = NULL;
	set->len = NULL;
}
