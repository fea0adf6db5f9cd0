/* SPDX-License-Identifier: MIT */
/*
 * kern-exhaust.c - the kernel's pool runs out in the middle of a populate.
 *
 * With exactly `leave` pages left in the kernel (the rest reserved by a
 * hog mapping), populating a NORESERVE region larger than that backs the
 * pages that can be had and then fails with -ENOMEM: never a SIGBUS, the
 * pages it got are there and usable, the region says which, the pool's
 * counters and invariants agree, and releasing and populating again behaves
 * the same. Reserving a region (its pages up front) or allocating more than
 * is left fails with NULL/ENOMEM and leaves the pool as it was. Done for
 * private 2 MiB pages, for a HUGEPOOL_SHARED pool (a hugetlb memfd, whose
 * NORESERVE populate needs a spare page for a moment), and for 1 GiB pages.
 * Each in a child; the kernel's counters are back at baseline after each.
 */
#include "kernel.h"

struct scen {
	size_t psz;
	unsigned int flags;
	long leave;		/* pages left in the kernel */
	long region;		/* pages of the NORESERVE region */
};

static int exhaust(void *arg)
{
	const struct scen *s = arg;
	size_t psz = s->psz;
	struct hugepool_counters c;
	struct hugepool_region *r;
	struct hugepool *pool;
	struct hog hog;
	long got, again, i;
	char *base;
	void *p;

	hp_verbose = 0;
	if (!hog_all_but(&hog, psz, s->leave))
		skip_or_fail("cannot leave exactly %ld free %zu kB pages (the machine is busy)",
			     s->leave, psz >> 10);
	pool = kpool(psz, 0, s->flags);
	r = hugepool_region_reserve(pool, (size_t)s->region * psz, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	base = hugepool_region_addr(r);

	/* populate runs out part-way: -ENOMEM, what it got stays */
	CHECK_EQ(hugepool_region_populate(r, 0, (size_t)s->region * psz), -ENOMEM);
	got = hp_region_populated(r, 0, s->region);
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
	/* private pages move into the region: every page left is had. A
	 * shared pool's page stays at its file page, so each populated page
	 * takes a fresh one for a moment: the last page left cannot be
	 * moved in and stays a free page of the pool */
	if (s->flags & HUGEPOOL_SHARED) {
		CHECK(got >= s->leave - 1 && got <= s->leave);
		CHECK(c.nr_pages == (size_t)got || c.nr_pages == (size_t)got + 1);
	} else {
		CHECK_EQ(got, s->leave);
		CHECK_EQ(c.nr_pages, got);
	}
	CHECK_EQ(c.nr_pages - c.free_pages, got);
	CHECK_EQ(avail_settles(psz, s->leave - (long)c.nr_pages), s->leave - (long)c.nr_pages);
	CHECK_POOL(pool);
	check_held(psz);
	/* the populated pages are real: write and read them (a page that
	 * is not would SIGBUS the child here) */
	for (i = 0; i < s->region; i++) {
		if (!hp_region_populated(r, i, i + 1))
			continue;
		memset(base + (size_t)i * psz, 0x5a, 4096);
		base[(size_t)(i + 1) * psz - 1] = (char)i;
		CHECK(base[(size_t)(i + 1) * psz - 1] == (char)i && base[0 + (size_t)i * psz] == 0x5a);
	}

	/* the rest keeps failing the same way, and so does more */
	CHECK_EQ(hugepool_region_populate(r, 0, (size_t)s->region * psz), -ENOMEM);
	CHECK_EQ(hp_region_populated(r, 0, s->region), got);
	errno = 0;
	CHECK(hugepool_malloc(pool, (c.free_pages + 1) * psz) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, (c.free_pages + 1) * psz, 0) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, (size_t)(s->leave + 1) * psz,
				      HUGEPOOL_REGION_POPULATE) == NULL && errno == ENOMEM);
	{
		struct hugepool_counters c2;

		CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c2) == 0);
		CHECK_EQ(c2.nr_pages, c.nr_pages);
		CHECK_EQ(c2.free_pages, c.free_pages);
	}
	CHECK_POOL(pool);

	/* released pages go back to the pool, and populate takes them again
	 * (a shared pool's release needs a spare page too: with none, it
	 * says -ENOMEM and the page stays where it is) */
	again = hugepool_region_release(r, 0, (size_t)s->region * psz);
	if (s->flags & HUGEPOOL_SHARED) {
		CHECK(again == -ENOMEM || (again >= 0 && again <= got));
		CHECK_EQ(hp_region_populated(r, 0, s->region), got - (again > 0 ? again : 0));
	} else {
		CHECK_EQ(again, got);
		CHECK_EQ(hp_region_populated(r, 0, s->region), 0);
		CHECK_POOL(pool);
		again = hugepool_region_populate(r, 0, (size_t)s->region * psz);
		CHECK(again == -ENOMEM);
		CHECK_EQ(hp_region_populated(r, 0, s->region), got);
	}
	CHECK_POOL(pool);
	check_held(psz);
	CHECK(hugepool_region_free(r) == 0);
	CHECK_POOL(pool);

	/* a page the pool holds can be had, one page more than it holds not */
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
	got = (long)c.nr_pages;
	CHECK_EQ(c.free_pages, c.nr_pages);
	CHECK_EQ(avail_settles(psz, s->leave - got), s->leave - got);
	if (got > 0) {
		p = hugepool_malloc(pool, psz);
		CHECK(p);
		memset(p, 1, psz);
		hugepool_free(p);
	}
	errno = 0;
	CHECK(hugepool_malloc(pool, (size_t)got * psz + 1) == NULL && errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(psz);
	CHECK(hugepool_destroy(pool) == 0);
	hog_release(&hog);
	return 0;
}

int main(void)
{
	static const struct scen scens[] = {
		{ 2UL << 20, 0, 3, 8 },
		{ 2UL << 20, HUGEPOOL_SHARED, 3, 8 },
		{ 2UL << 20, 0, 0, 2 },
		{ 1UL << 30, 0, 1, 2 },
	};
	static const char *const names[] = { "2M private", "2M shared", "2M none left", "1G private" };
	size_t i;

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(2UL << 20, 8);
	need_free_pages(1UL << 30, 1);
	for (i = 0; i < ARRAY_SIZE(scens); i++) {
		struct kbase kb = kernel_baseline(scens[i].psz);

		child_ok(names[i], run_in_child(exhaust, (void *)&scens[i], 120));
		CHECK(kernel_back_at(&kb, names[i]));
		printf("kern-exhaust: %s: populate of %ld pages with %ld left: -ENOMEM, no SIGBUS, counters exact\n",
		       names[i], scens[i].region, scens[i].leave);
	}
	printf("kern-exhaust: PASS (2M private, 2M shared, none left, 1G: populate runs out "
	       "part-way with -ENOMEM, no SIGBUS, counters exact)\n");
	return T_PASS;
}
