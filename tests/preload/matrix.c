/* SPDX-License-Identifier: MIT */
/*
 * matrix.c - every allocation function x every release path x sizes
 * below, at and above the threshold, under LD_PRELOAD=libhugepool.so.
 *
 * For each combination: which allocator served the block (hugepool_owner)
 * must follow the threshold (the size the function really asks for:
 * pvalloc rounds up to pages), the block must be aligned as asked, its
 * usable size must cover the request and be writable to the end, and the
 * release path (free, realloc to 0, realloc growing or shrinking across
 * the threshold, then free) must keep the contents. glibc's own blocks
 * (mmapped chunks at page + 16, memalign'd) go through our free, realloc
 * and malloc_usable_size too. A table of who served what is printed.
 *
 * The work runs in a child; the parent then checks that the kernel's
 * free_hugepages is back at its baseline.
 */
#include "preload-test.h"

#include <malloc.h>

extern void *__libc_malloc(size_t);
extern void *__libc_memalign(size_t, size_t);

static size_t T, PG;
static int failures;

#define FAILF(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

enum fn {
	F_MALLOC, F_CALLOC, F_REALLOC_NULL, F_REALLOCARRAY, F_MEMALIGN, F_POSIX_MEMALIGN,
	F_ALIGNED_ALLOC, F_VALLOC, F_PVALLOC, F_NR
};
static const char *const fn_names[F_NR] = {
	"malloc", "calloc", "realloc(NULL)", "reallocarray", "memalign(64)",
	"posix_memalign(4K)", "aligned_alloc(2M)", "valloc", "pvalloc",
};

enum rel { R_FREE, R_REALLOC0, R_GROW, R_SHRINK, R_NR };
static const char *const rel_names[R_NR] = { "free", "realloc(p,0)", "realloc-grow", "realloc-shrink" };

static unsigned long pool_count[F_NR], libc_count[F_NR];

static void *do_alloc(enum fn f, size_t n, size_t *align, size_t *eff)
{
	void *p = NULL;

	*align = 16;
	*eff = n;
	switch (f) {
	case F_MALLOC: return malloc(n);
	case F_CALLOC: return calloc(1, n);
	case F_REALLOC_NULL: return realloc(NULL, n);
	case F_REALLOCARRAY: return reallocarray(NULL, 1, n);
	case F_MEMALIGN: *align = 64; return memalign(64, n);
	case F_POSIX_MEMALIGN:
		*align = 4096;
		return posix_memalign(&p, 4096, n) ? NULL : p;
	case F_ALIGNED_ALLOC: *align = 2 * MB; return aligned_alloc(2 * MB, n);
	case F_VALLOC: *align = PG; return valloc(n);
	case F_PVALLOC:
		*align = PG;
		*eff = (n + PG - 1) & ~(PG - 1);
		return pvalloc(n);
	default: return NULL;
	}
}

static void one(enum fn f, size_t n, enum rel r)
{
	size_t align, eff, usable, bad;
	bool want_pool, is_pool;
	unsigned char *p, *q;
	size_t to;

	p = do_alloc(f, n, &align, &eff);
	if (!p) {
		FAILF("%s(%zu): NULL (%s)", fn_names[f], n, strerror(errno));
		return;
	}
	want_pool = eff >= T;
	is_pool = pt_owner(p) != NULL;
	if (is_pool)
		pool_count[f]++;
	else
		libc_count[f]++;
	if (want_pool != is_pool)
		FAILF("%s(%zu) [%s]: served by %s, expected %s", fn_names[f], n, rel_names[r],
		      is_pool ? "the pool" : "glibc", want_pool ? "the pool" : "glibc");
	if ((uintptr_t)p % align)
		FAILF("%s(%zu): %p not aligned to %zu", fn_names[f], n, (void *)p, align);
	usable = malloc_usable_size(p);
	if (usable < eff)
		FAILF("%s(%zu): usable %zu < %zu", fn_names[f], n, usable, eff);
	if (f == F_CALLOC) {
		for (size_t i = 0; i < n; i++)
			if (p[i]) {
				FAILF("calloc(%zu): byte %zu is %u", n, i, p[i]);
				break;
			}
	}
	/* the whole usable size is ours to write */
	pt_fill(p, usable, (unsigned int)n);
	if ((bad = pt_unfilled(p, usable, (unsigned int)n)) != SIZE_MAX)
		FAILF("%s(%zu): byte %zu of %zu does not read back", fn_names[f], n, bad, usable);

	switch (r) {
	case R_FREE:
		errno = 4242;
		free(p);
		if (errno != 4242)
			FAILF("free of %s(%zu) changed errno to %d", fn_names[f], n, errno);
		return;
	case R_REALLOC0:
		errno = 4242;
		q = realloc(p, 0);
		if (q)
			FAILF("realloc(%s(%zu), 0) returned %p, not NULL", fn_names[f], n, (void *)q);
		if (errno != 4242)
			FAILF("realloc(p, 0) changed errno to %d", errno);
		return;
	case R_GROW:
		to = n < T ? T + n : n * 2 + 12345;	/* crosses up when below */
		break;
	default:
		/* crosses down when above; at threshold 1 (HUGEPOOL_THRESHOLD=0)
		 * nothing but 0 is below, and realloc(p, 0) is R_REALLOC0 */
		to = n >= T ? (T / 3 ? T / 3 : 1) : n / 2 + 1;
		break;
	}
	q = realloc(p, to);
	if (!q) {
		FAILF("realloc(%s(%zu), %zu): NULL", fn_names[f], n, to);
		free(p);
		return;
	}
	if ((bad = pt_unfilled(q, usable < to ? usable : to, (unsigned int)n)) != SIZE_MAX)
		FAILF("realloc(%s(%zu), %zu): byte %zu lost", fn_names[f], n, to, bad);
	if ((to >= T) != (pt_owner(q) != NULL))
		FAILF("realloc(%s(%zu), %zu): served by %s", fn_names[f], n, to,
		      pt_owner(q) ? "the pool" : "glibc");
	usable = malloc_usable_size(q);
	if (usable < to)
		FAILF("realloc to %zu: usable %zu", to, usable);
	pt_fill(q, usable, 99);
	errno = 4242;
	free(q);
	if (errno != 4242)
		FAILF("free after realloc changed errno");
}

/* glibc's own blocks through our free/realloc/usable_size */
static void foreign(void)
{
	static const struct { size_t align, n; } f[] = {
		{ 0, 24 }, { 0, 100 }, { 0, 200 * KB }, { 0, 1 * MB }, { 0, 8 * MB },
		{ 4096, 100 }, { 4096, 1 * MB }, { 64, 300 * KB }, { 2 * MB, 100 },
	};

	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		for (int path = 0; path < 4; path++) {
			unsigned char *p = f[i].align ? __libc_memalign(f[i].align, f[i].n) :
					   __libc_malloc(f[i].n), *q;
			size_t u = malloc_usable_size(p), to, bad;

			if (!p || pt_owner(p) || u < f[i].n) {
				FAILF("foreign %zu: %p owner %p usable %zu", i, (void *)p,
				      (void *)pt_owner(p), u);
				continue;
			}
			pt_fill(p, u, 5);
			switch (path) {
			case 0:
				errno = 4242;
				free(p);
				if (errno != 4242)
					FAILF("foreign free changed errno");
				continue;
			case 1:
				q = realloc(p, 0);
				if (q)
					FAILF("foreign realloc(p,0) not NULL");
				continue;
			case 2:
				to = T + f[i].n;	/* up into the pool */
				break;
			default:
				to = f[i].n / 2 + 1;	/* stays with glibc */
				break;
			}
			q = realloc(p, to);
			if (!q) {
				FAILF("foreign realloc %zu -> %zu failed", f[i].n, to);
				continue;
			}
			if ((bad = pt_unfilled(q, u < to ? u : to, 5)) != SIZE_MAX)
				FAILF("foreign realloc %zu -> %zu: byte %zu lost", f[i].n, to, bad);
			if ((to >= T) != (pt_owner(q) != NULL))
				FAILF("foreign realloc %zu -> %zu: wrong allocator", f[i].n, to);
			free(q);
		}
	}
}

/* Pool pages in use, or 0 without counters. Other blocks of the process
 * (at threshold 1 the environment's and stdio's) hold some all along. */
static size_t pages_used(void)
{
	struct hugepool_counters c;

	return pt_counters(&c) == 0 ? c.nr_pages - c.free_pages : 0;
}

static int work(void)
{
	const size_t sizes[] = {
		1, 100, 4095, T / 2, T - 1, T, T + 1, 2 * MB - 1, 2 * MB, 2 * MB + 1, 8 * MB + 3,
	};
	size_t used0 = pages_used(), used;

	for (int f = 0; f < F_NR; f++)
		for (size_t s = 0; s < ARRAY_LEN(sizes); s++)
			for (int r = 0; r < R_NR; r++)
				one((enum fn)f, sizes[s], (enum rel)r);
	foreign();
	used = pages_used();
	if (used != used0)
		FAILF("pool pages in use after everything was freed: %zu, %zu before", used, used0);

	printf("%-20s %8s %8s\n", "function", "pool", "glibc");
	for (int f = 0; f < F_NR; f++) {
		printf("%-20s %8lu %8lu\n", fn_names[f], pool_count[f], libc_count[f]);
		if (!pool_count[f] || !libc_count[f])
			FAILF("%s: both allocators should have served some sizes", fn_names[f]);
	}
	printf("%d failures\n", failures);
	return failures ? T_FAIL : T_PASS;
}

int main(void)
{
	long base;
	int status;
	pid_t pid;

	base = pt_begin(64);
	T = pt_threshold();
	PG = (size_t)sysconf(_SC_PAGESIZE);
	pid = pt_fork();
	if (pid == 0) {
		pt_watchdog(120);
		status = work();
		fflush(NULL);
		_exit(status);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "matrix child: status 0x%x\n", status);
		return T_FAIL;
	}
	return pt_baseline_ok(base, "matrix") ? T_PASS : T_FAIL;
}
