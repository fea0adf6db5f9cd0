/* SPDX-License-Identifier: MIT */
/*
 * test-resv.c - unit tests of the reservation map (lib/resv.c): the
 * region_chg / region_add / region_abort / region_del / region_count
 * protocol of mm/hugetlb.c, case by case, including the -ENOMEM paths.
 *
 * Descriptor allocation is made to fail by failing mmap through
 * hp_sys_inject and then taking every descriptor-sized object hp_meta still
 * has (its free list and the rest of its current chunk), so the test does
 * not depend on what the process allocated before. The same drain measures
 * descriptor leaks: the objects hp_meta can hand out without mmap must be
 * the same before and after a map's life.
 */
#include "resv-model.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define DESC_SIZE	sizeof(struct hp_file_region)

struct range {
	long from, to;
};

/* ---------------------------------------------------------------- helpers */

/* Objects hp_meta can hand out without mapping a new chunk. */
static long meta_available(void)
{
	struct meta_drained d = { 0 };
	long n;

	meta_drain(&d, 64);
	n = d.count;
	meta_undrain(&d);
	return n;
}

/*
 * Check the list against want[0..n) and the structural invariants: ordered,
 * non-overlapping, coalesced, from < to, counters matching the lists.
 */
static void check_map(const struct hp_resv_map *map, const struct range *want, long n)
{
	const struct hp_file_region *rg;
	long i = 0;

	for (rg = map->regions; rg; rg = rg->next, i++) {
		assert_true(i < n);
		assert_int_equal(rg->from, want[i].from);
		assert_int_equal(rg->to, want[i].to);
		assert_true(rg->from < rg->to);
		if (rg->next)
			assert_true(rg->to < rg->next->from);
	}
	assert_int_equal(i, n);
	assert_int_equal(map->nr_regions, n);

	i = 0;
	for (rg = map->region_cache; rg; rg = rg->next)
		i++;
	assert_int_equal(i, map->region_cache_count);
	assert_true(map->region_cache_count >= map->adds_in_progress);
}

/* region_chg + region_add of [f, t); checks that both agree, returns the add. */
static long chg_add(struct hp_resv_map *map, long f, long t)
{
	long needed = -1, chg, add;

	chg = hp_region_chg(map, f, t, &needed);
	assert_true(chg >= 0);
	assert_true(needed >= 1);
	assert_int_equal(map->adds_in_progress, 1);
	assert_true(map->region_cache_count >= needed);
	add = hp_region_add(map, f, t, needed);
	assert_int_equal(add, chg);
	assert_int_equal(map->adds_in_progress, 0);
	return add;
}

static int map_setup(void **state)
{
	struct hp_resv_map *map = test_calloc(1, sizeof(*map));

	if (!map)
		return -1;
	hp_resv_map_init(map);
	*state = map;
	return 0;
}

static int map_teardown(void **state)
{
	struct hp_resv_map *map = *state;

	hp_sys_inject = NULL;
	hp_resv_map_release(map);
	test_free(map);
	return 0;
}

/* ------------------------------------------------------------------ tests */

static void test_empty_map(void **state)
{
	struct hp_resv_map *map = *state;
	long needed = -1;

	check_map(map, NULL, 0);
	assert_int_equal(hp_region_count(map, 0, 100), 0);
	assert_int_equal(hp_region_count(map, 0, LONG_MAX), 0);
	assert_int_equal(hp_region_del(map, 0, 100), 0);
	assert_int_equal(hp_region_del(map, 0, LONG_MAX), 0);

	/* everything is missing: one gap, one descriptor */
	assert_int_equal(hp_region_chg(map, 3, 10, &needed), 7);
	assert_int_equal(needed, 1);
	assert_int_equal(map->adds_in_progress, 1);
	check_map(map, NULL, 0);	/* chg only counts */
	hp_region_abort(map, 3, 10, needed);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, NULL, 0);
}

static void test_add_single(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 5, 9 } };

	assert_int_equal(chg_add(map, 5, 9), 4);
	check_map(map, want, 1);
	assert_int_equal(hp_region_count(map, 0, 100), 4);
	assert_int_equal(hp_region_count(map, 6, 8), 2);
	assert_int_equal(hp_region_count(map, 0, 6), 1);
	assert_int_equal(hp_region_count(map, 8, 20), 1);
	assert_int_equal(hp_region_count(map, 0, 5), 0);
	assert_int_equal(hp_region_count(map, 9, 20), 0);
}

static void test_empty_range(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 0, 10 } };
	long needed = -1;

	/* f == t: nothing to count, still a well-formed add */
	assert_int_equal(hp_region_chg(map, 4, 4, &needed), 0);
	assert_int_equal(needed, 1);
	assert_int_equal(hp_region_add(map, 4, 4, needed), 0);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, NULL, 0);

	assert_int_equal(chg_add(map, 0, 10), 10);
	assert_int_equal(chg_add(map, 5, 5), 0);
	assert_int_equal(hp_region_count(map, 5, 5), 0);
	/* an empty del inside a range must not split it */
	assert_int_equal(hp_region_del(map, 5, 5), 0);
	check_map(map, want, 1);
}

static void test_adjacent_coalescing(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range one[] = { { 0, 8 } };
	const struct range two[] = { { 0, 12 } };
	const struct range three[] = { { 0, 12 }, { 16, 24 } };
	const struct range four[] = { { 0, 24 } };

	assert_int_equal(chg_add(map, 0, 4), 4);
	assert_int_equal(chg_add(map, 4, 8), 4);	/* touches on the left */
	check_map(map, one, 1);
	assert_int_equal(chg_add(map, 10, 12), 2);
	assert_int_equal(chg_add(map, 8, 10), 2);	/* bridges two entries */
	check_map(map, two, 1);
	assert_int_equal(chg_add(map, 20, 24), 4);
	assert_int_equal(chg_add(map, 16, 20), 4);	/* touches on the right */
	check_map(map, three, 2);
	assert_int_equal(chg_add(map, 12, 16), 4);
	check_map(map, four, 1);
}

static void test_overlapping_adds(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range a[] = { { 0, 8 } };
	const struct range b[] = { { 0, 8 }, { 10, 14 }, { 20, 30 } };
	const struct range c[] = { { 0, 40 } };

	assert_int_equal(chg_add(map, 0, 5), 5);
	assert_int_equal(chg_add(map, 3, 8), 3);
	check_map(map, a, 1);
	assert_int_equal(chg_add(map, 10, 14), 4);
	assert_int_equal(chg_add(map, 22, 30), 8);
	assert_int_equal(chg_add(map, 20, 25), 2);	/* overlaps on the right */
	check_map(map, b, 3);
	/* swallows every entry and fills the three gaps after them */
	assert_int_equal(chg_add(map, 0, 40), 40 - 8 - 4 - 10);
	check_map(map, c, 1);
}

static void test_add_inside_existing(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 10, 20 } };
	long needed = -1;

	assert_int_equal(chg_add(map, 10, 20), 10);
	assert_int_equal(hp_region_chg(map, 12, 15, &needed), 0);
	assert_int_equal(needed, 1);
	assert_int_equal(hp_region_add(map, 12, 15, needed), 0);
	assert_int_equal(chg_add(map, 10, 20), 0);
	assert_int_equal(chg_add(map, 19, 20), 0);
	check_map(map, want, 1);
}

static void test_chg_counts_across_ranges(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 2, 4 }, { 6, 8 }, { 10, 12 } };
	const struct range full[] = { { 0, 14 } };
	long needed = -1;

	chg_add(map, 2, 4);
	chg_add(map, 6, 8);
	chg_add(map, 10, 12);
	check_map(map, want, 3);

	/* [0,2) [4,6) [8,10) [12,14) */
	assert_int_equal(hp_region_chg(map, 0, 14, &needed), 8);
	assert_int_equal(needed, 4);
	assert_true(map->region_cache_count >= 4);
	hp_region_abort(map, 0, 14, needed);

	/* starts and ends inside entries: [4,6) [8,10) */
	assert_int_equal(hp_region_chg(map, 3, 11, &needed), 4);
	assert_int_equal(needed, 2);
	hp_region_abort(map, 3, 11, needed);

	/* entirely inside a gap */
	assert_int_equal(hp_region_chg(map, 8, 10, &needed), 2);
	assert_int_equal(needed, 1);
	hp_region_abort(map, 8, 10, needed);

	/* entirely inside an entry */
	assert_int_equal(hp_region_chg(map, 6, 8, &needed), 0);
	assert_int_equal(needed, 1);
	hp_region_abort(map, 6, 8, needed);

	check_map(map, want, 3);
	assert_int_equal(hp_region_count(map, 0, 14), 6);
	assert_int_equal(hp_region_count(map, 3, 11), 4);

	assert_int_equal(chg_add(map, 0, 14), 8);
	check_map(map, full, 1);
}

static void test_abort(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 0, 4 } };
	long n1 = -1, n2 = -1, n3 = -1;

	chg_add(map, 0, 4);

	assert_int_equal(hp_region_chg(map, 10, 20, &n1), 10);
	assert_int_equal(hp_region_chg(map, 2, 8, &n2), 4);
	assert_int_equal(hp_region_chg(map, 30, 40, &n3), 10);
	assert_int_equal(map->adds_in_progress, 3);
	/* each add in progress holds a descriptor */
	assert_true(map->region_cache_count >= 3);

	hp_region_abort(map, 2, 8, n2);
	assert_int_equal(map->adds_in_progress, 2);
	hp_region_abort(map, 30, 40, n3);
	assert_int_equal(map->adds_in_progress, 1);
	hp_region_abort(map, 10, 20, n1);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, want, 1);
	assert_int_equal(hp_region_count(map, 0, 100), 4);
}

static void test_interleaved_adds(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 0, 6 } };
	long n1 = -1, n2 = -1;

	/* two callers count the same pages; the second add finds them taken */
	assert_int_equal(hp_region_chg(map, 0, 4, &n1), 4);
	assert_int_equal(hp_region_chg(map, 2, 6, &n2), 4);
	assert_int_equal(map->adds_in_progress, 2);
	assert_int_equal(hp_region_add(map, 0, 4, n1), 4);
	assert_int_equal(map->adds_in_progress, 1);
	assert_int_equal(hp_region_add(map, 2, 6, n2), 2);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, want, 1);
}

/* Not the protocol, but a caller that skips region_chg gets no half add. */
static void test_add_without_chg(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 0, 4 } };
	struct meta_drained d = { 0 };

	meta_drain(&d, 64);
	assert_int_equal(map->region_cache_count, 0);
	assert_int_equal(hp_region_add(map, 0, 4, 1), -ENOMEM);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, NULL, 0);
	meta_undrain(&d);

	assert_int_equal(hp_region_add(map, 0, 4, 1), 4);
	assert_int_equal(map->adds_in_progress, 0);
	hp_region_abort(map, 0, 4, 1);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, want, 1);
}

static void test_del_split_middle(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range split[] = { { 0, 3 }, { 5, 10 } };
	const struct range again[] = { { 0, 3 }, { 5, 7 }, { 8, 10 } };

	chg_add(map, 0, 10);
	assert_int_equal(hp_region_del(map, 3, 5), 2);
	check_map(map, split, 2);
	assert_int_equal(hp_region_count(map, 0, 10), 8);
	assert_int_equal(hp_region_del(map, 7, 8), 1);
	check_map(map, again, 3);
	/* deleting what is already gone removes nothing */
	assert_int_equal(hp_region_del(map, 3, 5), 0);
	check_map(map, again, 3);
}

static void test_del_trim_and_remove(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range start[] = { { 0, 4 }, { 6, 10 }, { 12, 16 }, { 18, 22 } };
	const struct range after[] = { { 0, 2 }, { 14, 16 }, { 18, 22 } };
	const struct range front[] = { { 15, 16 }, { 18, 22 } };

	chg_add(map, 0, 4);
	chg_add(map, 6, 10);
	chg_add(map, 12, 16);
	chg_add(map, 18, 22);
	check_map(map, start, 4);

	/* trims the end of one, removes one, trims the start of one */
	assert_int_equal(hp_region_del(map, 2, 14), 2 + 4 + 2);
	check_map(map, after, 3);
	/* whole entry plus part of the next, range starting in a gap */
	assert_int_equal(hp_region_del(map, 0, 15), 2 + 1);
	check_map(map, front, 2);
	/* exact bounds */
	assert_int_equal(hp_region_del(map, 18, 22), 4);
	assert_int_equal(hp_region_del(map, 15, 16), 1);
	check_map(map, NULL, 0);
}

static void test_del_to_end(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range cut[] = { { 0, 4 }, { 6, 7 } };
	const struct range high[] = { { LONG_MAX - 8, LONG_MAX - 4 } };

	chg_add(map, 0, 4);
	chg_add(map, 6, 10);
	chg_add(map, 12, 16);
	chg_add(map, 1000000, 1000010);
	assert_int_equal(hp_region_count(map, 0, LONG_MAX), 4 + 4 + 4 + 10);

	/* from the middle of an entry to the end: trims, never splits */
	assert_int_equal(hp_region_del(map, 7, LONG_MAX), 3 + 4 + 10);
	check_map(map, cut, 2);
	assert_int_equal(hp_region_del(map, 0, LONG_MAX), 4 + 1);
	check_map(map, NULL, 0);

	/* ranges near the top of the index space */
	assert_int_equal(chg_add(map, LONG_MAX - 8, LONG_MAX - 4), 4);
	check_map(map, high, 1);
	assert_int_equal(hp_region_count(map, 0, LONG_MAX), 4);
	assert_int_equal(chg_add(map, LONG_MAX - 4, LONG_MAX), 4);
	assert_int_equal(hp_region_count(map, LONG_MAX - 100, LONG_MAX), 8);
	assert_int_equal(hp_region_del(map, LONG_MAX - 6, LONG_MAX), 6);
	assert_int_equal(hp_region_del(map, 0, LONG_MAX), 2);
	check_map(map, NULL, 0);
}

static void test_invalid_args(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 0, 10 } };
	long needed = 12345;

	chg_add(map, 0, 10);

	assert_int_equal(hp_region_chg(map, 5, 4, &needed), -EINVAL);
	assert_int_equal(hp_region_chg(map, -1, 4, &needed), -EINVAL);
	assert_int_equal(hp_region_chg(map, LONG_MIN, 0, &needed), -EINVAL);
	assert_int_equal(map->adds_in_progress, 0);

	assert_int_equal(hp_region_add(map, 5, 4, 1), -EINVAL);
	assert_int_equal(hp_region_add(map, -2, 4, 1), -EINVAL);
	assert_int_equal(hp_region_del(map, 5, 4), -EINVAL);
	assert_int_equal(hp_region_del(map, -1, LONG_MAX), -EINVAL);
	assert_int_equal(hp_region_count(map, 5, 4), -EINVAL);
	assert_int_equal(hp_region_count(map, -1, 4), -EINVAL);

	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, want, 1);
}

/* mmap fails and hp_meta is out of descriptors */

static void test_chg_enomem(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range want[] = { { 0, 2 }, { 4, 6 }, { 8, 10 } };
	struct meta_drained d = { 0 };
	long needed = -1, cached;

	chg_add(map, 0, 2);
	chg_add(map, 4, 6);
	chg_add(map, 8, 10);

	meta_drain(&d, 64);
	assert_null(hp_meta_zalloc(DESC_SIZE));

	/* more gaps than the cache can hold: nothing to allocate with */
	cached = map->region_cache_count;
	assert_true(cached < 6);
	assert_int_equal(hp_region_chg(map, 0, 1000, &needed), -ENOMEM);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, want, 3);

	/* one descriptor short: a partial stock is no success either */
	meta_allow(&d, 2 - cached);
	assert_int_equal(hp_region_chg(map, 0, 1000, &needed), -ENOMEM);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, want, 3);

	meta_undrain(&d);
	assert_int_equal(hp_region_chg(map, 0, 1000, &needed), 994);
	assert_int_equal(needed, 3);
	assert_int_equal(hp_region_add(map, 0, 1000, needed), 994);
	check_map(map, (const struct range[]){ { 0, 1000 } }, 1);
}

static void test_add_never_fails(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range holes[] = { { 0, 2 }, { 4, 6 }, { 8, 10 }, { 12, 20 } };
	struct meta_drained d = { 0 };
	long needed = -1, n2 = -1;

	chg_add(map, 0, 20);
	/* an add starts while the range is complete... */
	assert_int_equal(hp_region_chg(map, 0, 20, &needed), 0);
	assert_int_equal(needed, 1);
	assert_int_equal(hp_region_chg(map, 25, 30, &n2), 5);
	/* ...then the map changes under it: three holes the chg never saw */
	assert_int_equal(hp_region_del(map, 2, 4), 2);
	assert_int_equal(hp_region_del(map, 6, 8), 2);
	assert_int_equal(hp_region_del(map, 10, 12), 2);
	check_map(map, holes, 4);

	/* with no memory at all, both adds still complete */
	meta_drain(&d, 64);
	assert_int_equal(hp_region_add(map, 0, 20, needed), 6);
	assert_int_equal(map->adds_in_progress, 1);
	assert_int_equal(hp_region_add(map, 25, 30, n2), 5);
	assert_int_equal(map->adds_in_progress, 0);
	check_map(map, (const struct range[]){ { 0, 20 }, { 25, 30 } }, 2);
	meta_undrain(&d);
}

static void test_del_split_enomem(void **state)
{
	struct hp_resv_map *map = *state;
	const struct range whole[] = { { 0, 10 } };
	const struct range split[] = { { 0, 3 }, { 4, 10 } };
	const struct range trimmed[] = { { 1, 3 }, { 4, 9 } };
	struct meta_drained d = { 0 };
	long needed = -1;

	chg_add(map, 0, 10);
	meta_drain(&d, 64);

	/*
	 * Spare cached descriptors may serve a split; reaching into resv.h's
	 * fields, drop them so that only allocation could.
	 */
	while (map->region_cache_count > map->adds_in_progress) {
		struct hp_file_region *rg = map->region_cache;

		map->region_cache = rg->next;
		map->region_cache_count--;
		hp_meta_free(rg, DESC_SIZE);
	}
	meta_drain(&d, 64);		/* take back what was just freed */
	assert_int_equal(map->region_cache_count, 0);

	assert_int_equal(hp_region_del(map, 3, 4), -ENOMEM);
	check_map(map, whole, 1);
	assert_int_equal(hp_region_count(map, 0, 10), 10);

	/* trims need no descriptor */
	assert_int_equal(hp_region_del(map, 0, 1), 1);
	assert_int_equal(hp_region_del(map, 9, LONG_MAX), 1);
	check_map(map, (const struct range[]){ { 1, 9 } }, 1);

	/* a descriptor owed to an add in progress is not taken by a split */
	meta_allow(&d, 1);
	assert_int_equal(hp_region_chg(map, 20, 30, &needed), 10);
	assert_int_equal(map->region_cache_count, 1);
	assert_int_equal(hp_region_del(map, 3, 4), -ENOMEM);
	assert_int_equal(map->region_cache_count, 1);
	hp_region_abort(map, 20, 30, needed);

	/* spare now, if abort kept it; else one allocation will do */
	meta_allow(&d, 1);
	assert_int_equal(hp_region_del(map, 3, 4), 1);
	check_map(map, trimmed, 2);
	meta_undrain(&d);

	/* and with memory back, a split allocates */
	assert_int_equal(chg_add(map, 0, 10), 3);
	check_map(map, whole, 1);
	assert_int_equal(hp_region_del(map, 3, 4), 1);
	check_map(map, split, 2);
}

static void test_release_frees_everything(void **state)
{
	struct hp_resv_map map;
	long before, needed = -1, i;

	(void)state;
	/* make sure the work below is served without mapping a chunk */
	{
		void *objs[256];

		for (i = 0; i < 256; i++)
			assert_non_null(objs[i] = hp_meta_zalloc(DESC_SIZE));
		for (i = 0; i < 256; i++)
			hp_meta_free(objs[i], DESC_SIZE);
	}
	before = meta_available();
	assert_true(before >= 256);

	hp_resv_map_init(&map);
	for (i = 0; i < 40; i++)
		chg_add(&map, 4 * i, 4 * i + 3);
	for (i = 0; i < 10; i++)
		assert_int_equal(hp_region_del(&map, 4 * i, 4 * i + 1), 1);
	assert_int_equal(hp_region_del(&map, 101, 102), 1);	/* split */
	assert_int_equal(hp_region_count(&map, 0, 1000), 120 - 10 - 1);
	assert_int_equal(hp_region_chg(&map, 0, 1000, &needed), 1000 - 109);
	assert_true(map.region_cache_count >= needed);
	hp_region_abort(&map, 0, 1000, needed);
	assert_true(map.nr_regions > 0);

	hp_resv_map_release(&map);
	assert_null(map.regions);
	assert_null(map.region_cache);
	assert_int_equal(map.nr_regions, 0);
	assert_int_equal(map.region_cache_count, 0);
	assert_int_equal(map.adds_in_progress, 0);
	/* every descriptor came back to hp_meta */
	assert_int_equal(meta_available(), before);

	/* a released map is a valid empty map */
	assert_int_equal(chg_add(&map, 0, 1), 1);
	hp_resv_map_release(&map);
	assert_int_equal(meta_available(), before);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, map_setup, map_teardown)
		T(test_empty_map),
		T(test_add_single),
		T(test_empty_range),
		T(test_adjacent_coalescing),
		T(test_overlapping_adds),
		T(test_add_inside_existing),
		T(test_chg_counts_across_ranges),
		T(test_abort),
		T(test_interleaved_adds),
		T(test_add_without_chg),
		T(test_del_split_middle),
		T(test_del_trim_and_remove),
		T(test_del_to_end),
		T(test_invalid_args),
		T(test_chg_enomem),
		T(test_add_never_fails),
		T(test_del_split_enomem),
		cmocka_unit_test(test_release_frees_everything),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
