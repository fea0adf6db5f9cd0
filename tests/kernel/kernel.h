/* SPDX-License-Identifier: MIT */
/*
 * kernel.h - shared by the kernel failure-mode tests (tests/kernel): taking
 * the kernel's free huge pages away (a hog), pools with decay off, pool
 * invariants, and what this process maps in huge pages.
 *
 * Every scenario runs in a child with default signal dispositions
 * (run_in_child), so a SIGBUS shows as death (status 135), never as a
 * handler jumping somewhere.
 */
#ifndef HUGEPOOL_TEST_KERNEL_H
#define HUGEPOOL_TEST_KERNEL_H

#include "../fault/fault.h"

#include <sys/mman.h>

/* kernel_avail(psz) once it is want, or what it is after three seconds:
 * another program can hold pages for a moment (tests are serial in CI,
 * but a development machine may be running other suites). */
static inline long avail_settles(size_t psz, long want)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	long v = kernel_avail(psz);
	int tries;

	for (tries = 0; tries < 60 && v != want; tries++) {
		nanosleep(&ts, NULL);
		v = kernel_avail(psz);
	}
	return v;
}

struct hog {
	void *p;
	size_t len;
};

/*
 * Reserve all but `leave` of the kernel's available pages of psz with one
 * MAP_HUGETLB mapping that is never touched: the reservation taken at mmap
 * makes them unavailable to anyone else, without the cost of faulting and
 * zeroing them. Other programs can take or give back pages meanwhile:
 * retried until exactly `leave` are left. Returns false if that cannot be.
 */
static inline bool hog_all_but(struct hog *h, size_t psz, long leave)
{
	int tries, shift = __builtin_ctzl(psz);

	for (tries = 0; tries < 50; tries++) {
		long avail = kernel_avail(psz);

		h->p = NULL;
		h->len = 0;
		if (avail < leave)
			return false;
		if (avail > leave) {
			h->len = (size_t)(avail - leave) * psz;
			h->p = mmap(NULL, h->len, PROT_READ | PROT_WRITE,
				    MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
				    (shift << MAP_HUGE_SHIFT), -1, 0);
			if (h->p == MAP_FAILED) {
				h->p = NULL;
				continue;
			}
		}
		if (kernel_avail(psz) == leave)
			return true;
		if (h->p)
			munmap(h->p, h->len);
	}
	h->p = NULL;
	return false;
}

static inline void hog_release(struct hog *h)
{
	if (h->p)
		munmap(h->p, h->len);
	h->p = NULL;
}

static inline struct hugepool *kpool(size_t psz, size_t min, unsigned int flags)
{
	struct hugepool_config cfg = { .page_size = psz, .min_pages = min, .flags = flags };
	struct hugepool *p = hugepool_create(&cfg);

	CHECK(p);
	CHECK(hugepool_set_decay_ms(p, -1) >= -1);
	return p;
}

/* The huge pages this process maps are the pages its pools hold. */
static inline void check_held(size_t psz)
{
	long held = 0;
	struct hugepool *p;

	pthread_mutex_lock(&hp_pools_lock);
	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			held += (long)(p->nr_huge_pages * p->h->size);
	pthread_mutex_unlock(&hp_pools_lock);
	(void)psz;
	CHECK_EQ(self_hugetlb_bytes(), held);
}

/* A child's exit status, with SIGBUS named. */
static inline void child_ok(const char *what, int st)
{
	if (st == 0)
		return;
	fprintf(stderr, "%s: child %s %d%s\n", what, st > 128 ? "died of signal" : "exited with",
		st > 128 ? st - 128 : st, st == 128 + SIGBUS ? " (SIGBUS)" : "");
	exit(T_FAIL);
}

#endif
