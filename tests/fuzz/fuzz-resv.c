/* SPDX-License-Identifier: MIT */
/*
 * fuzz-resv.c - libFuzzer harness: sequences of resv_map operations
 * (region_chg / region_add / region_abort / region_del / region_count)
 * decoded from the input, run against lib/resv.c and against a bitmap of
 * present pages, compared after every operation together with the map's
 * structural invariants (ordered, non-overlapping, coalesced, counters
 * true, region_cache_count >= adds_in_progress).
 *
 * Input: byte 0 chooses the mode (bit 7: hp_meta out of memory but for a
 * budget of bits 0-3 descriptors, which exercises the -ENOMEM paths); then
 * each operation takes 3 bytes: opcode, from, length. Up to 4 adds may be
 * in progress at once, as callers in between their chg and add.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz-resv"
#include "fuzz.h"

#define NPAGES		64
#define MAX_PENDING	4
#define DESC_SIZE	sizeof(struct hp_file_region)

static bool present[NPAGES];
static bool drained;

__attribute__((noreturn, format(printf, 2, 3)))
static void fail_map(const struct hp_resv_map *map, const char *fmt, ...)
{
	const struct hp_file_region *rg;
	va_list ap;

	hp_sys_inject = NULL;
	va_start(ap, fmt);
	dprintf(fuzz_report_fd, "fuzz-resv: ");
	vdprintf(fuzz_report_fd, fmt, ap);
	va_end(ap);
	dprintf(fuzz_report_fd, "%s\n  map:", drained ? " (out of memory)" : "");
	for (rg = map->regions; rg; rg = rg->next)
		dprintf(fuzz_report_fd, " [%ld,%ld)", rg->from, rg->to);
	dprintf(fuzz_report_fd, "\n");
	abort();
}

static long clamp(long t)
{
	return t > NPAGES ? NPAGES : t;
}

static long model_count(long f, long t)
{
	long i, n = 0;

	for (i = f; i < clamp(t); i++)
		n += present[i];
	return n;
}

static long model_gaps(long f, long t)
{
	long i, n = 0;

	for (i = f; i < t; i++)
		if (!present[i] && (i == f || present[i - 1]))
			n++;
	return n;
}

static void model_set(long f, long t, bool v)
{
	long i;

	for (i = f; i < clamp(t); i++)
		present[i] = v;
}

static bool model_needs_split(long f, long t)
{
	if (f >= t || f == 0 || t >= NPAGES)
		return false;
	return model_count(f - 1, t + 1) == t + 1 - (f - 1);
}

static void check(const struct hp_resv_map *map, long pending)
{
	const struct hp_file_region *rg;
	long nr = 0, cached = 0, pos = 0, i;

	for (rg = map->regions; rg; rg = rg->next) {
		if (++nr > NPAGES)
			fail_map(map, "region list does not end");
		if (rg->from < 0 || rg->from >= rg->to || rg->to > NPAGES)
			fail_map(map, "bad entry [%ld,%ld)", rg->from, rg->to);
		if (nr > 1 && rg->from <= pos)
			fail_map(map, "entry [%ld,%ld) overlaps, touches or is out of order",
			     rg->from, rg->to);
		for (i = pos; i < rg->from; i++)
			if (present[i])
				fail_map(map, "page %ld in the model, not in the map", i);
		for (i = rg->from; i < rg->to; i++)
			if (!present[i])
				fail_map(map, "page %ld in the map, not in the model", i);
		pos = rg->to;
	}
	for (i = pos; i < NPAGES; i++)
		if (present[i])
			fail_map(map, "page %ld in the model, not in the map", i);
	if (nr != map->nr_regions)
		fail_map(map, "nr_regions %ld, list holds %ld", map->nr_regions, nr);
	for (rg = map->region_cache; rg; rg = rg->next)
		if (++cached > 8 * NPAGES)
			fail_map(map, "region cache does not end");
	if (cached != map->region_cache_count)
		fail_map(map, "region_cache_count %ld, cache holds %ld", map->region_cache_count, cached);
	if (map->adds_in_progress != pending)
		fail_map(map, "adds_in_progress %ld, expected %ld", map->adds_in_progress, pending);
	if (map->region_cache_count < map->adds_in_progress)
		fail_map(map, "cache %ld below adds in progress %ld", map->region_cache_count,
		     map->adds_in_progress);
}

/* ------------------------------------------------------------------
 * out of memory: every descriptor-sized object of hp_meta is held here
 * (mmap failing through the seam) but for a budget
 * ------------------------------------------------------------------ */
static void *held;

static int fail_mmap(enum hp_sys_call call)
{
	return call == HP_SYS_MMAP ? -ENOMEM : 0;
}

static void drain(long budget)
{
	void **p;

	hp_sys_inject = fail_mmap;
	while ((p = hp_meta_zalloc(DESC_SIZE)) != NULL) {
		*p = held;
		held = p;
	}
	while (budget-- > 0 && held) {
		void *next = *(void **)held;

		hp_meta_free(held, DESC_SIZE);
		held = next;
	}
}

static void undrain(void)
{
	while (held) {
		void *next = *(void **)held;

		hp_meta_free(held, DESC_SIZE);
		held = next;
	}
	hp_sys_inject = NULL;
}

struct pending {
	long f, t, needed, chg;
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pending pend[MAX_PENDING];
	struct hp_resv_map map;
	long npend = 0;
	size_t pos = 1;

	if (size < 1)
		return 0;
	memset(present, 0, sizeof(present));
	drained = data[0] & 0x80;
	if (drained)
		drain(data[0] & 0x0f);
	hp_resv_map_init(&map);
	check(&map, 0);

	while (pos + 3 <= size) {
		unsigned int op = data[pos] % 8;
		long f = data[pos + 1] % (NPAGES + 1);
		long t = clamp(f + data[pos + 2] % (NPAGES + 1));
		long ret, want, needed = -1, cache_before = map.region_cache_count;

		pos += 3;
		switch (op) {
		case 0: case 1:		/* region_chg */
			if (npend == MAX_PENDING)
				break;
			want = (t - f) - model_count(f, t);
			ret = hp_region_chg(&map, f, t, &needed);
			if (ret == -ENOMEM) {
				long gaps = model_gaps(f, t);

				if (!drained)
					fail_map(&map, "chg [%ld,%ld): -ENOMEM with memory", f, t);
				if (cache_before >= map.adds_in_progress + (gaps ? gaps : 1))
					fail_map(&map, "chg [%ld,%ld): -ENOMEM with enough cached", f, t);
				break;
			}
			if (ret != want)
				fail_map(&map, "chg [%ld,%ld) = %ld, model %ld", f, t, ret, want);
			if (needed != (model_gaps(f, t) ? model_gaps(f, t) : 1))
				fail_map(&map, "chg [%ld,%ld): regions_needed %ld", f, t, needed);
			pend[npend].f = f;
			pend[npend].t = t;
			pend[npend].needed = needed;
			pend[npend].chg = ret;
			npend++;
			break;
		case 2: case 3: {	/* region_add / region_abort of a pending chg */
			long i;
			struct pending p;

			if (!npend)
				break;
			i = data[pos - 2] % npend;
			p = pend[i];
			pend[i] = pend[--npend];
			if (op == 3) {
				hp_region_abort(&map, p.f, p.t, p.needed);
				break;
			}
			want = (p.t - p.f) - model_count(p.f, p.t);
			ret = hp_region_add(&map, p.f, p.t, p.needed);
			if (ret != want)
				fail_map(&map, "add [%ld,%ld) = %ld, model %ld", p.f, p.t, ret, want);
			model_set(p.f, p.t, true);
			break;
		}
		case 4: case 5:		/* region_del, sometimes to the end */
			if (op == 5 && data[pos - 1] & 1)
				t = LONG_MAX;
			want = model_count(f, t);
			ret = hp_region_del(&map, f, t);
			if (ret == -ENOMEM) {
				if (!drained)
					fail_map(&map, "del [%ld,%ld): -ENOMEM with memory", f, t);
				if (!model_needs_split(f, t))
					fail_map(&map, "del [%ld,%ld): -ENOMEM without a split", f, t);
				if (cache_before > map.adds_in_progress)
					fail_map(&map, "del [%ld,%ld): -ENOMEM with a spare descriptor", f, t);
				break;
			}
			if (ret != want)
				fail_map(&map, "del [%ld,%ld) = %ld, model %ld", f, t, ret, want);
			model_set(f, t, false);
			break;
		case 6:			/* region_count */
			if (data[pos - 1] & 1)
				t = LONG_MAX;
			want = model_count(f, t);
			ret = hp_region_count(&map, f, t);
			if (ret != want)
				fail_map(&map, "count [%ld,%ld) = %ld, model %ld", f, t, ret, want);
			break;
		default: {		/* invalid ranges change nothing */
			long bf = f + 1, bt = data[pos - 1] % bf;

			if (data[pos - 1] & 0x80) {
				bf = -1 - (data[pos - 1] & 3);
				bt = f;
			}
			if (hp_region_chg(&map, bf, bt, &needed) != -EINVAL ||
			    hp_region_del(&map, bf, bt) != -EINVAL ||
			    hp_region_count(&map, bf, bt) != -EINVAL ||
			    hp_region_add(&map, bf, bt, 1) != -EINVAL)
				fail_map(&map, "invalid range [%ld,%ld) accepted", bf, bt);
			break;
		}
		}
		check(&map, npend);
	}
	/* end what is pending, alternately committed and aborted */
	while (npend) {
		struct pending p = pend[--npend];

		if (npend % 2) {
			hp_region_abort(&map, p.f, p.t, p.needed);
		} else {
			long want2 = (p.t - p.f) - model_count(p.f, p.t);

			if (hp_region_add(&map, p.f, p.t, p.needed) != want2)
				fail_map(&map, "final add [%ld,%ld)", p.f, p.t);
			model_set(p.f, p.t, true);
		}
		check(&map, npend);
	}
	hp_resv_map_release(&map);
	if (drained)
		undrain();
	return 0;
}
