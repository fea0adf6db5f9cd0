/* SPDX-License-Identifier: MIT */
/*
 * helpers.h - shared by the system tests: failing checks, skip-or-fail
 * under HUGEPOOL_TEST_REQUIRE, the kernel's counters and their baseline,
 * running a piece of a test in a child (anything that could SIGBUS), and
 * looking at /proc/self/smaps.
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

#define T_PASS 0
#define T_FAIL 1
#define T_SKIP 77

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

static inline long kernel_counter(size_t page_size, const char *name)
{
	char path[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/%s",
		 page_size >> 10, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

struct kbase {
	size_t page_size;
	long nr, free, resv, surplus;
};

static inline struct kbase kernel_baseline(size_t page_size)
{
	struct kbase b = { .page_size = page_size };

	b.nr = kernel_counter(page_size, "nr_hugepages");
	b.free = kernel_counter(page_size, "free_hugepages");
	b.resv = kernel_counter(page_size, "resv_hugepages");
	b.surplus = kernel_counter(page_size, "surplus_hugepages");
	return b;
}

/* The kernel's counters are as they were: every page went back. */
static inline void check_kernel_baseline(const struct kbase *b)
{
	struct kbase now = kernel_baseline(b->page_size);

	if (now.free != b->free || now.resv != b->resv || now.nr != b->nr ||
	    now.surplus != b->surplus) {
		fprintf(stderr, "kernel %zu kB counters not at baseline: free %ld/%ld resv %ld/%ld nr %ld/%ld surplus %ld/%ld\n",
			b->page_size >> 10, now.free, b->free, now.resv, b->resv,
			now.nr, b->nr, now.surplus, b->surplus);
		exit(T_FAIL);
	}
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

/* KernelPageSize of the mapping holding addr, in bytes; -1 if not found. */
static inline long smaps_page_size(const void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi, kb;
	char line[512];
	bool in = false;
	long ret = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' '), *dash = strchr(line, '-');

		if (dash && sp && dash < sp && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1) {
			ret = (long)kb * 1024;
			break;
		}
	}
	fclose(f);
	return ret;
}

/* Mappings in this process (to show that a failed call leaked none). */
static inline int count_maps(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}

/*
 * Run fn in a child with default signal dispositions (no inherited
 * handler can siglongjmp into parent code) and an alarm. Returns the exit
 * status, or 128 + signal if it died of one (so SIGBUS shows as 135).
 */
static inline int run_in_child(int (*fn)(void *), void *arg, unsigned int timeout_s)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		alarm(timeout_s);
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) < 0)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
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
