/* SPDX-License-Identifier: MIT */
/*
 * fault.h - shared by the fault-injection, kernel failure-mode and soak
 * tests: the window invariant over /proc/self/maps and a clock. What this
 * process holds in huge pages (self_hugetlb_bytes: per process, so that
 * other programs on the machine cannot disturb the count), the kernel's
 * counters compared with a little patience (kernel_back_at) and the block
 * pattern (pat_*) are in the support library (../support/support.h).
 */
#ifndef HUGEPOOL_TEST_FAULT_H
#define HUGEPOOL_TEST_FAULT_H

#include "internal.h"
#include "../helpers.h"
#include "../support/pool-check.h"

#include <stdint.h>
#include <time.h>

#define KB (1UL << 10)
#define MB (1UL << 20)
#define GB (1UL << 30)

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
