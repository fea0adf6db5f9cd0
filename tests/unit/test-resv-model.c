/* SPDX-License-Identifier: MIT */
/*
 * test-resv-model.c - differential test of the reservation map: random
 * sequences of region_chg/add/abort/del/count over a small page space are
 * run against lib/resv.c and against a bitmap of present pages, and the two
 * are compared after every operation, together with the map's structural
 * invariants (ordered, non-overlapping, coalesced, counters true).
 *
 * Some sequences run with hp_meta out of memory except for a small budget
 * of descriptors, which exercises the -ENOMEM paths and, since the budget
 * must be whole again once the map is released, checks for leaked
 * descriptors.
 *
 * HUGEPOOL_TEST_SEED=<n> replays a run; HUGEPOOL_TEST_SEQUENCES=<n> changes
 * the number of sequences (default 100000). Exit status 0 or 1.
 */
#include "resv-model.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NPAGES		128	/* page space [0, NPAGES) */
#define MAX_OPS		48	/* operations per sequence */
#define MAX_PENDING	3	/* adds in progress at once */

/* ------------------------------------------------------------ randomness */

static uint64_t rng_state;

static uint64_t rng_next(void)		/* splitmix64 */
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long rnd(long n)			/* [0, n) */
{
	return (long)(rng_next() % (uint64_t)n);
}

/* --------------------------------------------------------------- the log */

static uint64_t seed;
static long seq_no;
static bool seq_drained;

struct op_rec {
	char what[96];
};
static struct op_rec oplog[MAX_OPS * 2 + 8];
static int nops;

static void log_op(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_op(const char *fmt, ...)
{
	va_list ap;

	if (nops >= (int)ARRAY_SIZE(oplog))
		return;
	va_start(ap, fmt);
	vsnprintf(oplog[nops++].what, sizeof(oplog[0].what), fmt, ap);
	va_end(ap);
}

static void dump_map(const struct hp_resv_map *map)
{
	const struct hp_file_region *rg;

	fprintf(stderr, "  map: nr_regions %ld adds_in_progress %ld cache %ld:",
		map->nr_regions, map->adds_in_progress, map->region_cache_count);
	for (rg = map->regions; rg; rg = rg->next)
		fprintf(stderr, " [%ld,%ld)", rg->from, rg->to);
	fprintf(stderr, "\n");
}

static const struct hp_resv_map *cur_map;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
	va_list ap;
	int i;

	hp_sys_inject = NULL;
	fprintf(stderr, "FAIL (seed %" PRIu64 ", sequence %ld%s): ", seed, seq_no,
		seq_drained ? ", out of memory" : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  operations of the sequence:\n");
	for (i = 0; i < nops; i++)
		fprintf(stderr, "   %2d %s\n", i, oplog[i].what);
	if (cur_map)
		dump_map(cur_map);
	fprintf(stderr, "  replay: HUGEPOOL_TEST_SEED=%" PRIu64 "\n", seed);
	exit(1);
}

/* ------------------------------------------------------------- the model */

static bool present[NPAGES];
static struct resv_model model = { present, NPAGES, 4 * NPAGES };

/* Compare the map with the bitmap and check its invariants. */
static void check(const struct hp_resv_map *map, long pending)
{
	char why[160];

	if (resv_model_check(&model, map, pending, why, sizeof(why)))
		fail("%s", why);
}

/* ----------------------------------------------------------- a sequence */

struct pending {
	long f, t, needed, chg;
};

static void pick_range(long *f, long *t)
{
	long len;

	*f = rnd(NPAGES + 1);
	len = rnd(8) ? rnd(9) : rnd(NPAGES + 1);	/* mostly short */
	*t = resv_model_clamp(&model, *f + len);
}

static void op_chg(struct hp_resv_map *map, struct pending *pend, long *npend)
{
	struct pending *p = &pend[*npend];
	long f, t, want, gaps, cache_before = map->region_cache_count;
	long ret, needed = -1;

	pick_range(&f, &t);
	want = (t - f) - resv_model_count(&model, f, t);
	gaps = resv_model_gaps(&model, f, t);
	ret = hp_region_chg(map, f, t, &needed);
	log_op("chg [%ld,%ld) -> %ld, needed %ld", f, t, ret, needed);
	if (ret == -ENOMEM) {
		if (!seq_drained)
			fail("region_chg -ENOMEM with memory available");
		/* only legitimate if descriptors had to be allocated */
		if (cache_before >= map->adds_in_progress + (gaps ? gaps : 1))
			fail("region_chg -ENOMEM with enough cached");
		return;
	}
	if (ret != want)
		fail("region_chg returned %ld, model %ld", ret, want);
	if (needed != (gaps ? gaps : 1))
		fail("regions_needed %ld, model %ld", needed, gaps ? gaps : 1);
	if (map->region_cache_count < map->adds_in_progress - 1 + needed)
		fail("region_chg cached %ld, needs %ld", map->region_cache_count,
		     map->adds_in_progress - 1 + needed);
	p->f = f;
	p->t = t;
	p->needed = needed;
	p->chg = ret;
	(*npend)++;
}

static void op_finish(struct hp_resv_map *map, struct pending *pend, long *npend,
		      bool commit)
{
	long i = rnd(*npend), ret, want;
	struct pending p = pend[i];

	pend[i] = pend[--*npend];
	if (!commit) {
		hp_region_abort(map, p.f, p.t, p.needed);
		log_op("abort [%ld,%ld)", p.f, p.t);
		return;
	}
	want = (p.t - p.f) - resv_model_count(&model, p.f, p.t);
	ret = hp_region_add(map, p.f, p.t, p.needed);
	log_op("add [%ld,%ld) -> %ld (chg said %ld)", p.f, p.t, ret, p.chg);
	if (ret != want)
		fail("region_add returned %ld, model %ld", ret, want);
	resv_model_set(&model, p.f, p.t, true);
	/* the cache is trimmed again once an add is over */
	if (map->region_cache_count > map->adds_in_progress + NPAGES)
		fail("region cache grows: %ld", map->region_cache_count);
}

static void op_del(struct hp_resv_map *map)
{
	long f, t, ret, want, cache_before = map->region_cache_count;

	pick_range(&f, &t);
	if (!rnd(10))
		t = LONG_MAX;
	want = resv_model_count(&model, f, t);
	ret = hp_region_del(map, f, t);
	log_op("del [%ld,%ld) -> %ld", f, t, ret);
	if (ret == -ENOMEM) {
		if (!seq_drained)
			fail("region_del -ENOMEM with memory available");
		if (!resv_model_needs_split(&model, f, t))
			fail("region_del -ENOMEM without a split");
		if (cache_before > map->adds_in_progress)
			fail("region_del -ENOMEM with a spare cached descriptor");
		return;
	}
	if (ret != want)
		fail("region_del returned %ld, model %ld", ret, want);
	resv_model_set(&model, f, t, false);
}

static void op_count(const struct hp_resv_map *map)
{
	long f, t, ret, want;

	pick_range(&f, &t);
	if (!rnd(10))
		t = LONG_MAX;
	want = resv_model_count(&model, f, t);
	ret = hp_region_count(map, f, t);
	log_op("count [%ld,%ld) -> %ld", f, t, ret);
	if (ret != want)
		fail("region_count returned %ld, model %ld", ret, want);
}

static void op_invalid(struct hp_resv_map *map)
{
	long f = rnd(NPAGES) + 1, t = rnd(f), needed, ret;

	if (!rnd(3)) {
		f = -1 - rnd(4);
		t = rnd(NPAGES);
	}
	switch (rnd(3)) {
	case 0:
		ret = hp_region_chg(map, f, t, &needed);
		log_op("chg [%ld,%ld) -> %ld", f, t, ret);
		break;
	case 1:
		ret = hp_region_del(map, f, t);
		log_op("del [%ld,%ld) -> %ld", f, t, ret);
		break;
	default:
		ret = hp_region_count(map, f, t);
		log_op("count [%ld,%ld) -> %ld", f, t, ret);
		break;
	}
	if (ret != -EINVAL)
		fail("invalid range [%ld,%ld) returned %ld", f, t, ret);
}

static void run_sequence(void)
{
	struct hp_resv_map map;
	struct pending pend[MAX_PENDING];
	struct meta_drained d = { 0 };
	long npend = 0, nops_want, i, budget = 0;

	memset(present, 0, sizeof(present));
	nops = 0;
	seq_drained = rnd(64) == 0;
	if (seq_drained) {
		/* all of hp_meta's descriptors but a few are held here */
		meta_drain(&d, 16);
		budget = meta_allow(&d, rnd(9));
		log_op("out of memory, budget %ld descriptors", budget);
	}

	hp_resv_map_init(&map);
	cur_map = &map;
	check(&map, 0);

	nops_want = 3 + rnd(MAX_OPS - 3);
	for (i = 0; i < nops_want; i++) {
		long r = rnd(100);

		if (r < 30) {
			if (npend < MAX_PENDING)
				op_chg(&map, pend, &npend);
			else
				op_finish(&map, pend, &npend, true);
		} else if (r < 55) {
			if (npend == 0) {	/* a chg and its add back to back */
				op_chg(&map, pend, &npend);
				check(&map, npend);
				if (npend)
					op_finish(&map, pend, &npend, true);
			} else {
				op_finish(&map, pend, &npend, rnd(4) != 0);
			}
		} else if (r < 78) {
			op_del(&map);
		} else if (r < 95) {
			op_count(&map);
		} else {
			op_invalid(&map);
		}
		check(&map, npend);
	}
	while (npend) {
		op_finish(&map, pend, &npend, rnd(4) != 0);
		check(&map, npend);
	}
	if (map.adds_in_progress != 0)
		fail("adds_in_progress %ld at the end", map.adds_in_progress);

	hp_resv_map_release(&map);
	cur_map = NULL;
	if (map.regions || map.region_cache || map.nr_regions ||
	    map.region_cache_count || map.adds_in_progress)
		fail("released map not empty");

	if (seq_drained) {
		struct meta_drained back = { 0 };

		/* every descriptor the map had came from the budget */
		meta_drain(&back, 16);
		if (back.count != budget)
			fail("descriptor leak: %ld of a budget of %ld came back",
			     back.count, budget);
		meta_allow(&back, back.count);
		meta_allow(&d, d.count);
		hp_sys_inject = NULL;
	}
}

int main(void)
{
	const char *env = getenv("HUGEPOOL_TEST_SEED");
	long nseq = 100000;
	struct timespec t0, t1;
	double secs;

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	else
		seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
	env = getenv("HUGEPOOL_TEST_SEQUENCES");
	if (env && *env)
		nseq = strtol(env, NULL, 0);
	printf("test-resv-model: seed %" PRIu64 " (HUGEPOOL_TEST_SEED), %ld sequences\n",
	       seed, nseq);
	fflush(stdout);

	rng_state = seed;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (seq_no = 0; seq_no < nseq; seq_no++)
		run_sequence();
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("test-resv-model: %ld sequences passed in %.2f s (seed %" PRIu64 ")\n",
	       nseq, secs, seed);
	return 0;
}
