/* SPDX-License-Identifier: MIT */
/*
 * Description: hugepool_malloc, _free, _usable_size and _owner against the
 * malloc contract, edge by edge: malloc(0) gives unique pointers, SIZE_MAX
 * and anything past PTRDIFF_MAX fail with ENOMEM (counted as failures),
 * free(NULL) and free of foreign pointers do nothing and keep errno,
 * usable_size is at least the request and all of it is writable, owner
 * tells hugepool memory (interior pointers too) from anything else, and a
 * NULL pool means the default pool. Blocks of a page or more sit on huge
 * pages (smaps), smaller ones are packed: 300 KiB blocks share pages.
 */
#include "api-helpers.h"

#include <stdlib.h>

static const size_t psz = 2 * MB;

static void zero_size(struct hugepool *p)
{
	void *a = hugepool_malloc(p, 0), *b = hugepool_malloc(p, 0);

	CHECK(a && b && a != b);
	CHECK(hugepool_usable_size(a) >= 1);
	memset(a, 0x5a, hugepool_usable_size(a));
	CHECK(hugepool_owner(a) == p);
	hugepool_free(a);
	hugepool_free(b);
	CHECK_POOL(p);
}

static void too_large(struct hugepool *p)
{
	static const size_t sizes[] = { SIZE_MAX, SIZE_MAX - psz, (size_t)PTRDIFF_MAX + 1 };
	uint64_t failures = p->stats.failures;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		errno = 0;
		CHECK(hugepool_malloc(p, sizes[i]) == NULL);
		CHECK_EQ(errno, ENOMEM);
	}
	/* more than the machine has: an error, not a crash or a hang */
	errno = 0;
	CHECK(hugepool_malloc(p, (size_t)1 << 46) == NULL);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(p->stats.failures, failures + ARRAY_SIZE(sizes) + 1);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

static void free_edges(struct hugepool *p)
{
	int on_stack = 0;
	void *libc = malloc(64);

	/* free(NULL) does nothing; free keeps errno, even for foreign pointers */
	errno = EDOM;
	hugepool_free(NULL);
	CHECK_EQ(errno, EDOM);
	hugepool_free(&on_stack);
	CHECK_EQ(errno, EDOM);
	hugepool_free(libc);
	CHECK_EQ(errno, EDOM);
	CHECK_EQ(hugepool_usable_size(libc), 0);
	CHECK(hugepool_owner(libc) == NULL);
	CHECK(hugepool_owner(&on_stack) == NULL);
	CHECK(hugepool_owner(NULL) == NULL);
	CHECK_EQ(hugepool_usable_size(NULL), 0);
	free(libc);

	/* a pointer inside a block is hugepool memory but not a block:
	 * usable_size says 0 and free ignores it */
	{
		char *b = hugepool_malloc(p, 3 * psz);
		char *s = hugepool_malloc(p, 100 * KB);

		CHECK(b && s);
		CHECK(hugepool_owner(b + psz + 17) == p);
		CHECK_EQ(hugepool_usable_size(b + psz), 0);
		hugepool_free(b + psz);
		CHECK_EQ(hugepool_usable_size(b), 3 * psz);
		CHECK(hugepool_owner(s + 4096) == p);
		CHECK_EQ(hugepool_usable_size(s + 4096), 0);
		hugepool_free(s + 4096);
		CHECK(hugepool_usable_size(s) >= 100 * KB);
		CHECK_EQ(p->stats.allocs - p->stats.frees, 2);
		hugepool_free(b);
		hugepool_free(s);
		/* freed: no longer anyone's block */
		CHECK(hugepool_owner(b) == NULL);
		CHECK_EQ(hugepool_usable_size(b), 0);
	}
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

/* usable_size >= request, all of it writable and on huge pages */
static void usable(struct hugepool *p)
{
	static const size_t sizes[] = {
		1, 7, 4095, 4096, 4097, 65536, 300 * KB, psz / 2, psz - 1,
		psz, psz + 1, 3 * psz + 12345, 64 * MB,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *b = hugepool_malloc(p, sizes[i]);
		size_t u;

		CHECK(b);
		u = hugepool_usable_size(b);
		CHECK(u >= sizes[i]);
		CHECK(u - sizes[i] < (sizes[i] >= psz ? psz : 4096));
		memset(b, 0xc3, u);
		CHECK_PAGE_SIZE(b, psz);
		CHECK_PAGE_SIZE(b + u - 1, psz);
		CHECK(hugepool_owner(b) == p);
		CHECK_POOL(p);
		hugepool_free(b);
		CHECK_POOL(p);
	}
	CHECK_EQ(pool_used(p), 0);
}

/* small blocks share pages: six 300 KiB blocks cost one 2 MiB page */
static void packing(struct hugepool *p)
{
	void *b[6];
	int i;

	for (i = 0; i < 6; i++) {
		b[i] = hugepool_malloc(p, 300 * KB);
		CHECK(b[i]);
		pat_fill(b[i], 300 * KB, (uint64_t)i, 1);
	}
	CHECK_EQ(pool_used(p), 1);
	CHECK_EQ(p->stats.bytes_requested, 6 * 300 * KB);
	CHECK_EQ(p->stats.bytes_held, psz);
	for (i = 0; i < 6; i++)
		CHECK(pat_ok(b[i], 300 * KB, (uint64_t)i, 1));
	for (i = 0; i < 6; i++)
		hugepool_free(b[i]);
	CHECK_EQ(pool_used(p), 0);
	CHECK_EQ(p->stats.bytes_held, 0);
	CHECK_POOL(p);
}

/* many blocks at once: distinct, non-overlapping, contents kept */
static void many(struct hugepool *p)
{
	enum { N = 200 };
	static char *b[N];
	static size_t sz[N];
	int i;

	for (i = 0; i < N; i++) {
		sz[i] = (size_t)(i % 7 == 0 ? (i % 3 + 1) * psz + 8 * (size_t)i : 4096 * (size_t)(i + 1));
		b[i] = hugepool_malloc(p, sz[i]);
		CHECK(b[i]);
		pat_fill(b[i], sz[i] & ~7UL, (uint64_t)i, 1);
	}
	CHECK_POOL(p);
	for (i = 0; i < N; i++)
		CHECK(pat_ok(b[i], sz[i] & ~7UL, (uint64_t)i, 1));
	for (i = 0; i < N; i += 2)
		hugepool_free(b[i]);
	CHECK_POOL(p);
	for (i = 1; i < N; i += 2)
		CHECK(pat_ok(b[i], sz[i] & ~7UL, (uint64_t)i, 1));
	for (i = 1; i < N; i += 2)
		hugepool_free(b[i]);
	CHECK_EQ(pool_used(p), 0);
	CHECK_EQ(p->stats.allocs, p->stats.frees);
	CHECK_EQ(p->stats.bytes_in_use, 0);
	CHECK_POOL(p);
}

/* pool NULL: the process default pool */
static void default_pool(void)
{
	struct hugepool *d;
	void *b = hugepool_malloc(NULL, psz);

	CHECK(b);
	d = hugepool_owner(b);
	CHECK(d && d == hugepool_default());
	CHECK_PAGE_SIZE(b, hugepool_page_size(d));
	hugepool_free(b);
	CHECK_POOL(d);
	/* its freed surplus page goes back now, not after the decay time */
	CHECK(hugepool_trim(d) >= 0);
	CHECK_EQ(pool_used(d), 0);
}

int main(void)
{
	struct kbase kb;
	struct hugepool *p;

	/* the default pool uses the default size: keep it 2 MiB here */
	setenv("HUGEPOOL_PAGE_SIZE", "2M", 1);
	kb = api_begin(psz, 200);
	p = api_pool(psz, 0, 0, 0);
	zero_size(p);
	too_large(p);
	free_edges(p);
	usable(p);
	packing(p);
	many(p);
	CHECK(hugepool_destroy(p) == 0);
	default_pool();
	api_end(&kb);
	return 0;
}
