/* SPDX-License-Identifier: MIT */
/*
 * Description: hugepool_aligned_alloc. An alignment that is not a power of
 * two (0, 3, 24, 1000, SIZE_MAX) is EINVAL with nothing allocated; sizes
 * need not be multiples of the alignment (glibc). Every power of two from
 * 1 byte to 8 GiB gives an address with that alignment, from a 2 MiB pool:
 * inside a shared page below 2 MiB, whole pages above, on huge pages, with
 * usable_size covering the request. An alignment no address window can
 * give is ENOMEM.
 */
#include "api-helpers.h"

static const size_t psz = 2 * MB;

static void bad_alignment(struct hugepool *p)
{
	static const size_t bad[] = { 0, 3, 24, 1000, 3 * MB, SIZE_MAX };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		CHECK(hugepool_aligned_alloc(p, bad[i], 4096) == NULL);
		CHECK_EQ(errno, EINVAL);
	}
	CHECK_EQ(p->stats.allocs, 0);
	/* a power of two no window can give: ENOMEM, and counted */
	errno = 0;
	CHECK(hugepool_aligned_alloc(p, (size_t)1 << 62, 4096) == NULL);
	CHECK_EQ(errno, ENOMEM);
	CHECK_EQ(p->stats.failures, 1);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

static void one(struct hugepool *p, size_t align, size_t size)
{
	char *b = hugepool_aligned_alloc(p, align, size);
	size_t u;

	if (!b) {
		fprintf(stderr, "aligned_alloc(%zu, %zu) failed\n", align, size);
		exit(T_FAIL);
	}
	if ((uintptr_t)b % align) {
		fprintf(stderr, "aligned_alloc(%zu, %zu) = %p: misaligned\n", align, size, b);
		exit(T_FAIL);
	}
	u = hugepool_usable_size(b);
	CHECK(u >= size);
	CHECK(hugepool_owner(b) == p);
	memset(b, 0x3c, u);
	CHECK_PAGE_SIZE(b, psz);
	CHECK_PAGE_SIZE(b + u - 1, psz);
	CHECK_POOL(p);
	hugepool_free(b);
	CHECK_POOL(p);
}

static void all_alignments(struct hugepool *p)
{
	static const size_t sizes[] = { 1, 100, 4096, 300 * KB, psz, 3 * MB + 5 };
	size_t align, i;

	for (align = 1; align <= 8 * GB; align <<= 1)
		for (i = 0; i < ARRAY_SIZE(sizes); i++)
			one(p, align, sizes[i]);
	CHECK_EQ(pool_used(p), 0);
	CHECK_EQ(p->stats.allocs, p->stats.frees);
}

/* several blocks of one big alignment at once: each aligned, distinct */
static void many_gigabyte_aligned(struct hugepool *p)
{
	char *b[4];
	int i;

	for (i = 0; i < 4; i++) {
		b[i] = hugepool_aligned_alloc(p, GB, 3 * psz);
		CHECK(b[i]);
		CHECK_EQ((uintptr_t)b[i] % GB, 0);
		pat_fill(b[i], 3 * psz, (uint64_t)i, 64);
	}
	for (i = 0; i < 4; i++)
		CHECK(pat_ok(b[i], 3 * psz, (uint64_t)i, 64));
	CHECK_EQ(pool_used(p), 12);
	CHECK_POOL(p);
	for (i = 0; i < 4; i++)
		hugepool_free(b[i]);
	CHECK_POOL(p);
}

/* small aligned blocks pack into one page, each aligned */
static void packed(struct hugepool *p)
{
	char *b[8];
	int i;

	for (i = 0; i < 8; i++) {
		b[i] = hugepool_aligned_alloc(p, 256 * KB, 10 * KB);
		CHECK(b[i]);
		CHECK_EQ((uintptr_t)b[i] % (256 * KB), 0);
	}
	CHECK_EQ(pool_used(p), 1);
	for (i = 0; i < 8; i++)
		hugepool_free(b[i]);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 40);
	struct hugepool *p = api_pool(psz, 0, 0, 0);

	bad_alignment(p);
	all_alignments(p);
	many_gigabyte_aligned(p);
	packed(p);
	CHECK(hugepool_destroy(p) == 0);
	api_end(&kb);
	return 0;
}
