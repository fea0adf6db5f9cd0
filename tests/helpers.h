/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared by the system tests: failing checks, skip-or-fail
 * under HUGEPOOL_TEST_REQUIRE, and a pool's counters. The kernel's counters
 * and their baseline, running a piece of a test in a child (anything that
 * could SIGBUS) and /proc/self/smaps are in the support library
 * (support/support.h), which every program that includes this links.
 *
 * Exit codes follow Meson and liburing: 0 pass, 1 fail, 77 skip.
 */
#ifndef HUGEPOOL_TEST_HELPERS_H
#define HUGEPOOL_TEST_HELPERS_H

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hugepool/hugepool.h>

#include "support/support.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: check failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			exit(T_FAIL);					\
		}							\
	} while (0)

#define CHECK_EQ(a, b)							\
	do {								\
		long long a_ = (long long)(a), b_ = (long long)(b);	\
		if (a_ != b_) {						\
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, a_, b_);	\
			exit(T_FAIL);					\
		}							\
	} while (0)

static inline bool test_require(void)
{
	const char *v = getenv("HUGEPOOL_TEST_REQUIRE");

	return v && *v && strcmp(v, "0");
}

/* A precondition is missing: skip, or fail in CI. */
__attribute__((noreturn, format(printf, 1, 2)))
static inline void skip_or_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, test_require() ? "FAIL (HUGEPOOL_TEST_REQUIRE): " : "SKIP: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(test_require() ? T_FAIL : T_SKIP);
}

/* Need at least n free pages of a size, or skip/fail. */
static inline void need_free_pages(size_t page_size, long n)
{
	long f = kernel_counter(page_size, "free_hugepages");
	long r = kernel_counter(page_size, "resv_hugepages");

	if (f < 0)
		skip_or_fail("the kernel has no %zu kB huge pages", page_size >> 10);
	if (f - r < n)
		skip_or_fail("need %ld free %zu kB huge pages, the kernel has %ld (resv %ld)",
			     n, page_size >> 10, f, r);
}

static inline void check_counters(const struct hugepool *p, size_t nr, size_t fr,
				  size_t resv, size_t surplus)
{
	struct hugepool_counters c;

	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	if (c.nr_pages != nr || c.free_pages != fr || c.resv_pages != resv ||
	    c.surplus_pages != surplus) {
		fprintf(stderr, "pool counters: nr %zu free %zu resv %zu surplus %zu, expected %zu %zu %zu %zu\n",
			c.nr_pages, c.free_pages, c.resv_pages, c.surplus_pages, nr, fr, resv, surplus);
		exit(T_FAIL);
	}
}

#endif
