/* SPDX-License-Identifier: MIT */
/*
 * Description: the region calls. Sizes, offsets and lengths that are not
 * page multiples or fall outside the region are EINVAL; NULL is EINVAL.
 * A reserved region holds its pages from the start (counted free and
 * reserved, as the kernel counts them): populate -> touch -> release ->
 * populate again succeeds from the reservation even with the kernel's pool
 * empty, and a page populated again after use is zero. Populating twice and
 * releasing an unpopulated range do nothing and say so (0). A POPULATE
 * region is backed at once. A NORESERVE region holds only address space:
 * on an exhausted pool its populate is -ENOMEM (in a child: no SIGBUS),
 * keeping the pages it did back. Pool invariants after every step; the
 * kernel's counters at baseline at the end.
 */
#include "api-helpers.h"

static const size_t psz = 2 * MB;

static void einval(struct hugepool *p)
{
	struct hugepool_region *r;
	off_t off;

	errno = 0;
	CHECK(hugepool_region_reserve(p, 0, 0) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(hugepool_region_reserve(p, psz + 4096, 0) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(hugepool_region_reserve(p, psz, 1u << 5) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(hugepool_region_reserve(p, SIZE_MAX - psz + 1, 0) == NULL);
	CHECK(errno == ENOMEM || errno == EINVAL);
	CHECK_EQ(pool_used(p), 0);

	r = hugepool_region_reserve(p, 4 * psz, 0);
	CHECK(r);
	CHECK_EQ(hugepool_region_populate(r, 4096, psz), -EINVAL);
	CHECK_EQ(hugepool_region_populate(r, 0, psz + 1), -EINVAL);
	CHECK_EQ(hugepool_region_populate(r, 0, 5 * psz), -EINVAL);
	CHECK_EQ(hugepool_region_populate(r, 4 * psz, psz), -EINVAL);
	CHECK_EQ(hugepool_region_populate(r, 2 * psz, SIZE_MAX - psz + 1), -EINVAL);
	CHECK_EQ(hugepool_region_release(r, psz / 2, psz), -EINVAL);
	CHECK_EQ(hugepool_region_release(r, 0, 4097), -EINVAL);
	CHECK_EQ(hugepool_region_release(r, 5 * psz, 0), -EINVAL);
	CHECK_EQ(hugepool_region_populate(r, 4 * psz, 0), 0);	/* empty, at the end */
	CHECK_EQ(hugepool_region_populate(NULL, 0, psz), -EINVAL);
	CHECK_EQ(hugepool_region_release(NULL, 0, psz), -EINVAL);
	CHECK_EQ(hugepool_region_free(NULL), -EINVAL);
	CHECK(hugepool_region_addr(NULL) == NULL);
	CHECK_EQ(hugepool_region_size(NULL), 0);
	CHECK_EQ(hugepool_region_fd(NULL, &off), -EINVAL);
	CHECK_EQ(hugepool_region_fd(r, NULL), -EINVAL);
	CHECK_EQ(hugepool_region_fd(r, &off), -EOPNOTSUPP);	/* private pool */
	CHECK_EQ(hugepool_region_size(r), 4 * psz);
	CHECK(hugepool_owner(hugepool_region_addr(r)) == p);
	/* a region is not a block */
	CHECK_EQ(hugepool_usable_size(hugepool_region_addr(r)), 0);
	errno = 0;
	CHECK(hugepool_realloc(p, hugepool_region_addr(r), 10) == NULL && errno == EINVAL);
	CHECK_POOL(p);
	CHECK(hugepool_region_free(r) == 0);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
	CHECK(hugepool_trim(p) == 4);
	check_counters(p, 0, 0, 0, 0);
}

/* populate -> touch -> release -> populate again, all from the reservation
 * while the kernel has no page to spare (a child: a bug would SIGBUS) */
static int cycle(void *arg)
{
	struct hugepool *p = api_pool(psz, 0, 0, 0), *hog;
	struct hugepool_region *r;
	long kfree;
	char *base;
	int i;

	(void)arg;
	r = hugepool_region_reserve(p, 8 * psz, 0);
	CHECK(r);
	base = hugepool_region_addr(r);
	CHECK_EQ((uintptr_t)base % psz, 0);
	check_counters(p, 8, 8, 8, 8);
	CHECK_POOL(p);
	/* now the kernel has nothing left */
	hog = api_hog(psz, 0);
	kfree = kernel_counter(psz, "free_hugepages");

	for (i = 0; i < 3; i++) {
		uint64_t zeroed = p->stats.bytes_zeroed;

		CHECK_EQ(hugepool_region_populate(r, 0, 4 * psz), 4);
		check_counters(p, 8, 4, 4, 8);
		CHECK_POOL(p);
		CHECK(all_zero(base, 4 * psz));
		/* zeroed only what was used before */
		CHECK_EQ(p->stats.bytes_zeroed - zeroed, i ? 4 * psz : 0);
		pat_fill(base, 4 * psz, (uint64_t)i, 1);
		CHECK_PAGE_SIZE(base, psz);
		/* twice: nothing new, contents kept */
		CHECK_EQ(hugepool_region_populate(r, 0, 4 * psz), 0);
		CHECK_EQ(hugepool_region_populate(r, psz, 2 * psz), 0);
		CHECK(pat_ok(base, 4 * psz, (uint64_t)i, 1));
		/* releasing what is not populated: nothing */
		CHECK_EQ(hugepool_region_release(r, 4 * psz, 4 * psz), 0);
		/* overlapping: only the new pages count */
		CHECK_EQ(hugepool_region_populate(r, 3 * psz, 3 * psz), 2);
		check_counters(p, 8, 2, 2, 8);
		CHECK_EQ(hugepool_region_release(r, 0, 8 * psz), 6);
		check_counters(p, 8, 8, 8, 8);
		CHECK_POOL(p);
		/* the kernel saw none of it */
		CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree);
		CHECK_EQ(kernel_avail(psz), 0);
	}
	/* a hole in the middle: release splits, populate fills it */
	CHECK_EQ(hugepool_region_populate(r, 0, 8 * psz), 8);
	CHECK_EQ(hugepool_region_release(r, 2 * psz, 3 * psz), 3);
	CHECK_EQ(hugepool_region_populate(r, 0, 8 * psz), 3);
	check_counters(p, 8, 0, 0, 8);
	CHECK_POOL(p);
	CHECK(hugepool_region_free(r) == 0);
	check_counters(p, 8, 8, 0, 8);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(hog) == 0);
	CHECK(hugepool_destroy(p) == 0);
	return 0;
}

static void populate_flag(struct hugepool *p)
{
	struct hugepool_region *r = hugepool_region_reserve(p, 3 * psz, HUGEPOOL_REGION_POPULATE);
	char *base;

	CHECK(r);
	base = hugepool_region_addr(r);
	check_counters(p, 3, 0, 0, 3);
	CHECK_EQ(hugepool_region_populate(r, 0, 3 * psz), 0);
	memset(base, 0x42, 3 * psz);
	CHECK_PAGE_SIZE(base + 2 * psz, psz);
	CHECK(hugepool_region_free(r) == 0);
	check_counters(p, 3, 3, 0, 3);
	CHECK_POOL(p);
	/* POPULATE | NORESERVE: backed now from the pool */
	r = hugepool_region_reserve(p, 2 * psz, HUGEPOOL_REGION_POPULATE | HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	memset(hugepool_region_addr(r), 0x43, 2 * psz);
	check_counters(p, 3, 1, 0, 3);
	CHECK(hugepool_region_free(r) == 0);
	CHECK_POOL(p);
	CHECK(hugepool_trim(p) == 3);
}

static void noreserve(struct hugepool *p)
{
	struct hugepool_region *r = hugepool_region_reserve(p, 6 * psz, HUGEPOOL_REGION_NORESERVE);
	char *base;

	CHECK(r);
	base = hugepool_region_addr(r);
	check_counters(p, 0, 0, 0, 0);		/* address space only */
	CHECK_EQ(hugepool_region_populate(r, 2 * psz, 2 * psz), 2);
	check_counters(p, 2, 0, 0, 2);
	memset(base + 2 * psz, 0x44, 2 * psz);
	CHECK_PAGE_SIZE(base + 2 * psz, psz);
	CHECK_EQ(hugepool_region_populate(r, 0, 6 * psz), 4);
	CHECK_POOL(p);
	CHECK(all_zero(base, 2 * psz));
	/* released pages go back to the pool, where blocks can use them */
	CHECK_EQ(hugepool_region_release(r, 0, 3 * psz), 3);
	check_counters(p, 6, 3, 0, 6);
	CHECK_POOL(p);
	{
		void *b[3];
		int i;

		for (i = 0; i < 3; i++)
			CHECK((b[i] = hugepool_malloc(p, psz)));
		check_counters(p, 6, 0, 0, 6);
		for (i = 0; i < 3; i++)
			hugepool_free(b[i]);
	}
	/* populated again: from the pool's free pages, zeroed */
	CHECK_EQ(hugepool_region_populate(r, 0, 3 * psz), 3);
	check_counters(p, 6, 0, 0, 6);
	CHECK(all_zero(base, 3 * psz));
	CHECK(hugepool_region_free(r) == 0);
	check_counters(p, 6, 6, 0, 6);
	CHECK_POOL(p);
	CHECK(hugepool_trim(p) == 6);
}

/* NORESERVE on an exhausted pool: -ENOMEM, never SIGBUS (a child) */
static int exhausted(void *arg)
{
	struct hugepool *p = api_pool(psz, 0, 0, 0), *hog;
	struct hugepool_region *r;
	long got;

	(void)arg;
	r = hugepool_region_reserve(p, 4 * psz, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	hog = api_hog(psz, 2);
	/* two can be had: they stay populated, the rest is -ENOMEM */
	CHECK_EQ(hugepool_region_populate(r, 0, 4 * psz), -ENOMEM);
	CHECK_EQ(p->stats.failures, 1);
	CHECK_POOL(p);
	check_counters(p, 2, 0, 0, 2);
	memset(hugepool_region_addr(r), 0x45, 2 * psz);
	CHECK_EQ(hugepool_region_populate(r, 2 * psz, 2 * psz), -ENOMEM);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * psz), 0);
	/* a reserved region cannot be had either */
	errno = 0;
	CHECK(hugepool_region_reserve(p, psz, 0) == NULL && errno == ENOMEM);
	/* what was populated is released as usual */
	got = hugepool_region_release(r, 0, 4 * psz);
	CHECK_EQ(got, 2);
	CHECK_POOL(p);
	CHECK(hugepool_region_free(r) == 0);
	CHECK(hugepool_destroy(hog) == 0);
	CHECK(hugepool_destroy(p) == 0);
	return 0;
}

/* regions of a subpool count against its max */
static void subpool_regions(struct hugepool *parent)
{
	struct hugepool *sp = hugepool_subpool(parent, 0, 3);
	struct hugepool_region *r, *r2;

	CHECK(sp);
	r = hugepool_region_reserve(sp, 2 * psz, 0);
	CHECK(r);
	errno = 0;
	CHECK(hugepool_region_reserve(sp, 2 * psz, 0) == NULL && errno == ENOMEM);
	r2 = hugepool_region_reserve(sp, 2 * psz, HUGEPOOL_REGION_NORESERVE);
	CHECK(r2);
	CHECK_EQ(hugepool_region_populate(r2, 0, 2 * psz), -ENOMEM);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * psz), 2);
	CHECK_POOL(sp);
	CHECK_POOL(parent);
	CHECK(hugepool_region_free(r) == 0);
	CHECK(hugepool_region_free(r2) == 0);
	CHECK_POOL(sp);
	CHECK(hugepool_destroy(sp) == 0);
	CHECK_POOL(parent);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 32);
	struct hugepool *p = api_pool(psz, 0, 0, 0);

	einval(p);
	populate_flag(p);
	noreserve(p);
	subpool_regions(p);
	CHECK(hugepool_destroy(p) == 0);
	CHECK_EQ(run_in_child(cycle, NULL, 60), 0);
	api_end(&kb);
	CHECK_EQ(run_in_child(exhausted, NULL, 60), 0);
	api_end(&kb);
	return 0;
}
