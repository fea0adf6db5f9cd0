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

/*
 * The window invariant (lib/window.c): every byte of an arena's window is
 * mapped by the pool, a PROT_NONE anonymous placeholder or one of its pages
 * (a hugetlb mapping; anonymous memory on a base-page arena), so that no
 * other mapping, glibc's fallback blocks among them, can be inside it.
 * Walks /proc/self/maps over [base, base + nslots << shift). Returns NULL,
 * or what is wrong (in buf). Call with the pool lock held or no other
 * thread in the library.
 */
static inline const char *window_broken(const struct hp_arena *a, char *buf, size_t len)
{
	uintptr_t lo = (uintptr_t)a->base, hi = lo + (a->nslots << a->shift), at = lo;
	char line[512], perms[8], path[256];
	unsigned long s, e, off, ino;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f) {
		snprintf(buf, len, "cannot read /proc/self/maps");
		return buf;
	}
	buf[0] = '\0';
	while (!buf[0] && fgets(line, sizeof(line), f)) {
		path[0] = '\0';
		if (sscanf(line, "%lx-%lx %7s %lx %*s %lu %255[^\n]", &s, &e, perms, &off, &ino,
			   path) < 5 || e <= lo || s >= hi)
			continue;
		if (s > at)
			snprintf(buf, len, "hole %#lx-%#lx in window %#lx-%#lx", (unsigned long)at,
				 s, (unsigned long)lo, (unsigned long)hi);
		else if (!strcmp(perms, "---p") && ino == 0 && !path[0])
			;	/* a placeholder */
		else if (!a->base_pages && !strstr(path, "anon_hugepage") && !strstr(path, "memfd:"))
			snprintf(buf, len, "foreign mapping %#lx-%#lx %s %s in window %#lx-%#lx",
				 s, e, perms, path, (unsigned long)lo, (unsigned long)hi);
		else if (a->base_pages && (ino != 0 || path[0]))
			snprintf(buf, len, "foreign mapping %#lx-%#lx %s %s in base-page window",
				 s, e, perms, path);
		at = e;
	}
	fclose(f);
	if (!buf[0] && at < hi)
		snprintf(buf, len, "hole %#lx-%#lx at the end of window %#lx-%#lx",
			 (unsigned long)at, (unsigned long)hi, (unsigned long)lo, (unsigned long)hi);
	return buf[0] ? buf : NULL;
}

/* window_broken() for every arena of every root pool of this process. */
static inline const char *windows_broken(char *buf, size_t len)
{
	const char *why = NULL;
	struct hugepool *p;

	pthread_mutex_lock(&hp_pools_lock);
	for (p = hp_pools; p && !why; p = p->next_pool) {
		if (p->parent)
			continue;
		pthread_mutex_lock(p->lock);
		why = window_broken(p->arena, buf, len);
		if (!why && p->fb_arena)
			why = window_broken(p->fb_arena, buf, len);
		pthread_mutex_unlock(p->lock);
	}
	pthread_mutex_unlock(&hp_pools_lock);
	return why;
}

#endif
