/* SPDX-License-Identifier: MIT */
/*
 * edge.c - the malloc family's edge cases, one line of output each, for
 * the differential test (diff.c runs this program with and without the
 * preload and compares the outputs byte for byte).
 *
 * Themes of glibc's malloc tests: tst-malloc-too-large, tst-posix_memalign,
 * tst-aligned-alloc, tst-reallocarray, tst-calloc, tst-free-errno,
 * tst-realloc, tst-valloc, tst-pvalloc, tst-malloc-usable; and scudo's
 * Malloc/Calloc/Memalign/Realloc cases. Every case runs at sizes below, at
 * and above the threshold (HUGEPOOL_THRESHOLD, which both runs get), so
 * that with the preload it crosses both allocators.
 *
 * Only what the contract fixes is printed: NULL or not, errno, return
 * values, whether the alignment holds, whether the usable size covers the
 * request and every byte of it can be written and read back. Addresses and
 * exact usable sizes differ between allocators by design.
 *
 * Built with -D_FORTIFY_SOURCE=3: writes up to malloc_usable_size() go
 * through a laundered pointer (the compiler would otherwise bound them by
 * the requested size, which is what pitfall 3 is about).
 *
 * stderr gets "pool-served N": how many blocks hugepool_owner() claimed.
 */
#include "preload-test.h"

#include <malloc.h>
#include <stdalign.h>

/* the too-large requests are the point */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wuse-after-free"

static unsigned long served;	/* blocks the pool owned */

#define OUT(...) printf(__VA_ARGS__)

/* hide p from __builtin_dynamic_object_size */
static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

static const char *err_name(int e)
{
	switch (e) {
	case 0: return "0";
	case ENOMEM: return "ENOMEM";
	case EINVAL: return "EINVAL";
	case 4242: return "sentinel";
	default: return "other";
	}
}

/* Check a live block: alignment, usable size, every usable byte written
 * and read back. Returns a short verdict for the output line. */
static const char *check_block(void *p, size_t req, size_t align)
{
	size_t usable;
	unsigned char *b;

	if (!p)
		return "null";
	if (pt_owner(p))
		served++;
	if (align && ((uintptr_t)p % align))
		return "misaligned";
	usable = malloc_usable_size(p);
	if (usable < req)
		return "usable<req";
	b = launder(p);
	/* touch the whole usable range (sparse for big blocks: one byte a
	 * page and the last 4 KiB in full) */
	if (usable <= 1 * MB) {
		memset(b, 0x5c, usable);
		for (size_t i = 0; i < usable; i++)
			if (b[i] != 0x5c)
				return "readback";
	} else {
		for (size_t i = 0; i < usable; i += 4096)
			b[i] = 0x5c;
		memset(b + usable - 4096, 0x5c, 4096);
		if (b[0] != 0x5c || b[usable - 1] != 0x5c)
			return "readback";
	}
	return "ok";
}

static void fill(void *p, size_t n, unsigned int seed)
{
	unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 31 + seed);
}

static bool filled(const void *p, size_t n, unsigned int seed)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(i * 31 + seed))
			return false;
	return true;
}

/* ---------------------------------------------------------------- cases */

static void case_malloc(size_t n, const char *tag)
{
	void *p;

	errno = 0;
	p = malloc(n);
	OUT("malloc(%s): %s errno %s\n", tag, check_block(p, n, alignof(max_align_t)),
	    err_name(errno));
	free(p);
}

static void case_too_large(void)
{
	static const struct { size_t n; const char *tag; } big[] = {
		{ SIZE_MAX, "SIZE_MAX" },
		{ SIZE_MAX - 4096, "SIZE_MAX-4096" },
		{ (size_t)PTRDIFF_MAX + 1, "PTRDIFF_MAX+1" },
		{ PTRDIFF_MAX, "PTRDIFF_MAX" },
		{ (size_t)1 << 50, "1P" },
	};

	for (size_t i = 0; i < ARRAY_LEN(big); i++) {
		void *p;

		errno = 0;
		p = malloc(big[i].n);
		OUT("malloc(%s): %s errno %s\n", big[i].tag, p ? "non-null" : "null", err_name(errno));
		free(p);
		errno = 0;
		p = calloc(1, big[i].n);
		OUT("calloc(1,%s): %s errno %s\n", big[i].tag, p ? "non-null" : "null", err_name(errno));
		free(p);
		errno = 0;
		p = memalign(64, big[i].n);
		OUT("memalign(64,%s): %s errno %s\n", big[i].tag, p ? "non-null" : "null", err_name(errno));
		free(p);
		errno = 0;
		p = valloc(big[i].n);
		OUT("valloc(%s): %s errno %s\n", big[i].tag, p ? "non-null" : "null", err_name(errno));
		free(p);
		errno = 0;
		p = pvalloc(big[i].n);
		OUT("pvalloc(%s): %s errno %s\n", big[i].tag, p ? "non-null" : "null", err_name(errno));
		free(p);
		errno = 0;
		p = aligned_alloc(4096, big[i].n);
		OUT("aligned_alloc(4096,%s): %s errno %s\n", big[i].tag, p ? "non-null" : "null",
		    err_name(errno));
		free(p);
		{
			void *m = (void *)0x1234;
			int ret = posix_memalign(&m, 64, big[i].n);

			OUT("posix_memalign(64,%s): ret %s memptr %s\n", big[i].tag, err_name(ret),
			    m == (void *)0x1234 ? "untouched" : "set");
			if (!ret)
				free(m);
		}
	}
}

static void case_zero(void)
{
	void *a = malloc(0), *b = malloc(0), *c;

	OUT("malloc(0): %s %s unique %d\n", a ? "non-null" : "null", b ? "non-null" : "null",
	    a != b);
	free(a);
	free(b);
	a = calloc(0, 0);
	b = calloc(0, 16);
	c = calloc(16, 0);
	OUT("calloc(0,0)/(0,16)/(16,0): %d %d %d\n", !!a, !!b, !!c);
	free(a);
	free(b);
	free(c);
	/* realloc(NULL, 0) is malloc(0) */
	errno = 0;
	a = realloc(NULL, 0);
	OUT("realloc(NULL,0): %s errno %s\n", a ? "non-null" : "null", err_name(errno));
	free(a);
	a = memalign(64, 0);
	b = aligned_alloc(64, 0);
	c = valloc(0);
	OUT("memalign/aligned_alloc/valloc(0): %d %d %d\n", !!a, !!b, !!c);
	free(a);
	free(b);
	free(c);
	a = pvalloc(0);
	OUT("pvalloc(0): %s\n", a ? "non-null" : "null");
	free(a);
	OUT("malloc_usable_size(NULL): %zu\n", malloc_usable_size(NULL));
	errno = 4242;
	free(NULL);
	OUT("free(NULL): errno %s\n", err_name(errno));
}

static void case_calloc(size_t n, const char *tag)
{
	unsigned char *p;

	/* recycle a dirty block of the same size first: calloc must zero
	 * memory the allocator hands out again, not only fresh pages */
	p = malloc(n);
	if (p) {
		memset(p, 0xa5, n);
		free(p);
	}
	for (int round = 0; round < 2; round++) {
		errno = 0;
		p = calloc(1, n);
		OUT("calloc(1,%s) round %d: %s zero %d errno %s\n", tag, round,
		    p ? "non-null" : "null", p ? all_zero(p, n) : -1, err_name(errno));
		if (p) {
			memset(p, 0xa5, n);
			free(p);
		}
	}
	errno = 0;
	p = calloc(n / 16 + 1, 16);
	OUT("calloc(%s/16+1,16): %s zero %d\n", tag, p ? "non-null" : "null",
	    p ? all_zero(p, n / 16 + 1) : -1);
	free(p);
}

static void case_calloc_overflow(void)
{
	static const size_t pairs[][2] = {
		{ SIZE_MAX, 2 }, { 2, SIZE_MAX }, { SIZE_MAX / 2 + 1, 2 },
		{ (SIZE_MAX >> 16) + 1, 1UL << 16 }, { PTRDIFF_MAX / 2 + 1, 2 },
		{ 1UL << 32, 1UL << 32 }, { SIZE_MAX, SIZE_MAX },
	};

	for (size_t i = 0; i < ARRAY_LEN(pairs); i++) {
		void *p;

		errno = 0;
		p = calloc(pairs[i][0], pairs[i][1]);
		OUT("calloc overflow %zu: %s errno %s\n", i, p ? "non-null" : "null", err_name(errno));
		free(p);
	}
}

static void case_realloc(size_t from, size_t to, const char *tag)
{
	void *p = malloc(from), *q;
	size_t keep = from < to ? from : to;

	if (!p) {
		OUT("realloc %s: malloc failed\n", tag);
		return;
	}
	fill(p, from, 7);
	errno = 0;
	q = realloc(p, to);
	OUT("realloc %s: %s contents %d errno %s\n", tag, check_block(q, 0, 16),
	    q ? 1 : -1, err_name(errno));
	if (q) {
		/* check_block overwrote it; redo with the pattern */
		fill(q, to, 9);
		OUT("realloc %s: block %s\n", tag, filled(q, to, 9) ? "intact" : "corrupt");
	}
	free(q);
	/* contents survive the move, then an in-place resize */
	p = malloc(from);
	fill(p, from, 3);
	q = realloc(p, to);
	OUT("realloc %s: kept %d\n", tag, q ? filled(q, keep, 3) : -1);
	free(q);
}

static void case_realloc_fail(size_t n, const char *tag)
{
	static const size_t bad[] = { SIZE_MAX, (size_t)PTRDIFF_MAX + 1, SIZE_MAX - 4096 };
	void *p = malloc(n), *q;

	fill(p, n, 5);
	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		errno = 0;
		q = realloc(p, bad[i]);
		OUT("realloc(%s,bad %zu): %s errno %s old %s\n", tag, i, q ? "non-null" : "null",
		    err_name(errno), filled(p, n, 5) ? "intact" : "corrupt");
		if (q)
			p = q;
	}
	/* realloc(p, 0) frees p and returns NULL (glibc) */
	errno = 0;
	q = realloc(p, 0);
	OUT("realloc(%s,0): %s errno %s\n", tag, q ? "non-null" : "null", err_name(errno));
	free(q);
}

static void case_reallocarray(size_t n, const char *tag)
{
	void *p, *q;

	errno = 0;
	p = reallocarray(NULL, SIZE_MAX, 2);
	OUT("reallocarray(NULL,SIZE_MAX,2): %s errno %s\n", p ? "non-null" : "null",
	    err_name(errno));
	p = reallocarray(NULL, n / 8 + 1, 8);
	OUT("reallocarray(NULL,%s/8+1,8): %s\n", tag, check_block(p, n / 8 + 1, 16));
	fill(p, n / 8 + 1, 11);
	errno = 0;
	q = reallocarray(p, 2, SIZE_MAX / 2 + 1);
	OUT("reallocarray(p,2,SIZE_MAX/2+1): %s errno %s old %s\n", q ? "non-null" : "null",
	    err_name(errno), filled(p, n / 8 + 1, 11) ? "intact" : "corrupt");
	q = reallocarray(p, 2, n);
	OUT("reallocarray(p,2,%s): %s kept %d\n", tag, q ? "non-null" : "null",
	    q ? filled(q, n / 8 + 1, 11) : -1);
	/* reallocarray(p, 2, 0) is realloc(p, 0): p is freed (T-1 is 0 at
	 * threshold 1) */
	free(q ? q : n ? p : NULL);
}

static void case_posix_memalign(size_t n, const char *tag)
{
	static const size_t aligns[] = {
		0, 1, 2, 4, 3, 12, 24, 40, 8, 16, 32, 64, 48, 96, 4096, 4097, 65536,
		2 * MB, 4 * MB, 1UL << 30, SIZE_MAX, SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2,
	};

	for (size_t i = 0; i < ARRAY_LEN(aligns); i++) {
		void *m = (void *)0x1234;
		int ret;

		errno = 0;
		ret = posix_memalign(&m, aligns[i], n);
		OUT("posix_memalign(%zx,%s): ret %s errno %s memptr %s %s\n", aligns[i], tag,
		    err_name(ret), err_name(errno), m == (void *)0x1234 ? "untouched" : "set",
		    ret ? "-" : check_block(m, n, aligns[i]));
		if (!ret)
			free(m);
	}
}

/* glibc 2.36 aligned_alloc is memalign: any alignment, rounded up to a
 * power of two; more than SIZE_MAX / 2 + 1 is EINVAL */
static void case_memalign(size_t n, const char *tag)
{
	static const size_t aligns[] = {
		0, 1, 3, 8, 16, 17, 48, 64, 65, 100, 4096, 4097, 2 * MB, 2 * MB + 1,
		SIZE_MAX, SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 2,
	};

	for (size_t i = 0; i < ARRAY_LEN(aligns); i++) {
		size_t a = aligns[i], pow = 1;
		void *p;

		while (pow < a && pow <= SIZE_MAX / 2)
			pow <<= 1;
		errno = 0;
		p = memalign(a, n);
		OUT("memalign(%zx,%s): %s errno %s\n", a, tag,
		    p ? check_block(p, n, pow) : "null", err_name(errno));
		free(p);
		errno = 0;
		p = aligned_alloc(a, n);
		OUT("aligned_alloc(%zx,%s): %s errno %s\n", a, tag,
		    p ? check_block(p, n, pow) : "null", err_name(errno));
		free(p);
	}
}

static void case_valloc(size_t n, const char *tag)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	void *p;

	errno = 0;
	p = valloc(n);
	OUT("valloc(%s): %s errno %s\n", tag, check_block(p, n, pg), err_name(errno));
	free(p);
	errno = 0;
	p = pvalloc(n);
	OUT("pvalloc(%s): %s errno %s\n", tag, check_block(p, (n + pg - 1) & ~(pg - 1), pg),
	    err_name(errno));
	free(p);
}

/* free keeps errno, on every path (glibc tst-free-errno) */
static void case_free_errno(size_t n, const char *tag)
{
	void *ps[6];

	ps[0] = malloc(n);
	ps[1] = calloc(1, n);
	ps[2] = memalign(4096, n);
	ps[3] = valloc(n);
	ps[4] = aligned_alloc(64, n);
	ps[5] = realloc(NULL, n);
	for (int i = 0; i < 6; i++) {
		errno = 4242;
		free(ps[i]);
		OUT("free errno %s #%d: %s\n", tag, i, err_name(errno));
	}
	/* realloc to 0 frees: errno left alone as well */
	ps[0] = malloc(n);
	errno = 4242;
	ps[1] = realloc(ps[0], 0);
	OUT("realloc(%s,0) errno: %s\n", tag, err_name(errno));
	free(ps[1]);
}

/* a successful allocation leaves errno alone */
static void case_errno_kept(size_t n, const char *tag)
{
	void *p;

	errno = 4242;
	p = malloc(n);
	OUT("malloc(%s) keeps errno: %s\n", tag, err_name(errno));
	free(p);
	errno = 4242;
	p = calloc(n, 1);
	OUT("calloc(%s) keeps errno: %s\n", tag, err_name(errno));
	errno = 4242;
	p = realloc(p, n * 2);
	OUT("realloc(%s) keeps errno: %s\n", tag, err_name(errno));
	free(p);
}

/* foreign pointers: glibc's own blocks (mmapped chunks at page + 16,
 * memalign'd, page-aligned) through our free, realloc, usable_size */
extern void *__libc_malloc(size_t);
extern void *__libc_memalign(size_t, size_t);

static void case_foreign(size_t t)
{
	static const struct { size_t align, n; } f[] = {
		{ 0, 100 }, { 0, 1 * MB }, { 4096, 100 }, { 64, 1 * MB }, { 4096, 4 * MB },
	};

	for (size_t i = 0; i < ARRAY_LEN(f); i++) {
		void *p = f[i].align ? __libc_memalign(f[i].align, f[i].n) : __libc_malloc(f[i].n);
		void *q;

		OUT("foreign %zu: usable>=n %d\n", i, malloc_usable_size(p) >= f[i].n);
		fill(p, f[i].n, 13);
		/* across the threshold both ways, contents kept */
		q = realloc(p, t + 4096);
		OUT("foreign %zu: realloc up %s kept %d\n", i, q ? "ok" : "null",
		    q ? filled(q, f[i].n < t ? f[i].n : t, 13) : -1);
		fill(q, t + 4096, 17);
		p = realloc(q, 200);
		OUT("foreign %zu: realloc down %s kept %d\n", i, p ? "ok" : "null",
		    p ? filled(p, 200, 17) : -1);
		errno = 4242;
		free(p);
		OUT("foreign %zu: free errno %s\n", i, err_name(errno));
		p = f[i].align ? __libc_memalign(f[i].align, f[i].n) : __libc_malloc(f[i].n);
		errno = 4242;
		free(p);
		OUT("foreign %zu: direct free errno %s\n", i, err_name(errno));
	}
}

int main(void)
{
	size_t t = pt_threshold();
	const struct { size_t n; const char *tag; } sizes[] = {
		{ 100, "100" }, { t - 1, "T-1" }, { t, "T" }, { t + 1, "T+1" },
		{ 2 * MB - 1, "2M-1" }, { 2 * MB + 1, "2M+1" }, { 6 * MB, "6M" },
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	pt_watchdog(120);
	case_zero();
	case_too_large();
	case_calloc_overflow();
	for (size_t i = 0; i < ARRAY_LEN(sizes); i++) {
		size_t n = sizes[i].n;
		const char *tag = sizes[i].tag;

		case_malloc(n, tag);
		case_calloc(n, tag);
		case_realloc_fail(n, tag);
		case_reallocarray(n, tag);
		case_posix_memalign(n, tag);
		case_memalign(n, tag);
		case_valloc(n, tag);
		case_free_errno(n, tag);
		case_errno_kept(n, tag);
		for (size_t j = 0; j < ARRAY_LEN(sizes); j++) {
			char rt[64];

			snprintf(rt, sizeof(rt), "%s->%s", tag, sizes[j].tag);
			case_realloc(n, sizes[j].n, rt);
		}
	}
	case_foreign(t);
	fprintf(stderr, "pool-served %lu\n", served);
	return 0;
}
