/* SPDX-License-Identifier: MIT */
/*
 * fault.h - shared by the fault-injection, kernel failure-mode and soak
 * tests: what this process holds in huge pages (per process, so that other
 * programs on the machine cannot disturb the count), mappings, the kernel's
 * counters compared with a little patience, and a pattern for block
 * contents.
 */
#ifndef HUGEPOOL_TEST_FAULT_H
#define HUGEPOOL_TEST_FAULT_H

#include "internal.h"
#include "../helpers.h"

#include <stdint.h>
#include <time.h>

#define KB (1UL << 10)
#define MB (1UL << 20)
#define GB (1UL << 30)

/* "HugetlbPages:" of /proc/self/status in bytes: the huge pages this
 * process maps. Every page a pool holds is mapped at one of its slots, so
 * this equals the sum of nr_pages over the root pools. -1 if unknown. */
static inline long self_hugetlb_bytes(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "HugetlbPages: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* The kernel's counters are back at b. Other programs can hold pages for
 * a moment (a suite running next to this one), so a mismatch is looked at
 * again for up to three seconds, and more free pages than at the start is
 * someone else giving pages back, not a leak here (a leak shows as fewer
 * free or more reserved pages). Returns false, with a message, if not. */
static inline bool kernel_back_at(const struct kbase *b, const char *what)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct kbase now;
	int tries;

	for (tries = 0; tries < 60; tries++) {
		now = kernel_baseline(b->page_size);
		if (now.free >= b->free && now.resv <= b->resv && now.nr == b->nr &&
		    now.surplus == b->surplus)
			return true;
		nanosleep(&ts, NULL);
	}
	fprintf(stderr, "%s: kernel %zu kB counters not at baseline: free %ld/%ld resv %ld/%ld nr %ld/%ld surplus %ld/%ld\n",
		what, b->page_size >> 10, now.free, b->free, now.resv, b->resv, now.nr, b->nr,
		now.surplus, b->surplus);
	return false;
}

/* A pattern that differs per block (seed) and per 8-byte word. */
static inline uint64_t pat_word(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

/* Fill / check n bytes at p, one word in every stride (stride 1: all). */
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

static inline uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
