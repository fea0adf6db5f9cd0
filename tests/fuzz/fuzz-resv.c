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
#include "resv-model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz-resv"
#include "fuzz.h"

#define NPAGES		64
#define MAX_PENDING	4

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

static struct resv_model model = { present, NPAGES, 8 * NPAGES };
static struct meta_drained held;

static void check(const struct hp_resv_map *map, long pending)
{
	char why[160];

	if (resv_model_check(&model, map, pending, why, sizeof(why)))
		fail_map(map, "%s", why);
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
	if (drained) {
		meta_drain(&held, 0);
		meta_allow(&held, data[0] & 0x0f);
	}
	hp_resv_map_init(&map);
	check(&map, 0);

	while (pos + 3 <= size) {
		unsigned int op = data[pos] % 8;
		long f = data[pos + 1] % (NPAGES + 1);
		long t = resv_model_clamp(&model, f + data[pos + 2] % (NPAGES + 1));
		long ret, want, needed = -1, cache_before = map.region_cache_count;

		pos += 3;
		switch (op) {
		case 0: case 1:		/* region_chg */
			if (npend == MAX_PENDING)
				break;
			want = (t - f) - resv_model_count(&model, f, t);
			ret = hp_region_chg(&map, f, t, &needed);
			if (ret == -ENOMEM) {
				long gaps = resv_model_gaps(&model, f, t);

				if (!drained)
					fail_map(&map, "chg [%ld,%ld): -ENOMEM with memory", f, t);
				if (cache_before >= map.adds_in_progress + (gaps ? gaps : 1))
					fail_map(&map, "chg [%ld,%ld): -ENOMEM with enough cached", f, t);
				break;
			}
			if (ret != want)
				fail_map(&map, "chg [%ld,%ld) = %ld, model %ld", f, t, ret, want);
			if (needed != (resv_model_gaps(&model, f, t) ? resv_model_gaps(&model, f, t) : 1))
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
			want = (p.t - p.f) - resv_model_count(&model, p.f, p.t);
			ret = hp_region_add(&map, p.f, p.t, p.needed);
			if (ret != want)
				fail_map(&map, "add [%ld,%ld) = %ld, model %ld", p.f, p.t, ret, want);
			resv_model_set(&model, p.f, p.t, true);
			break;
		}
		case 4: case 5:		/* region_del, sometimes to the end */
			if (op == 5 && data[pos - 1] & 1)
				t = LONG_MAX;
			want = resv_model_count(&model, f, t);
			ret = hp_region_del(&map, f, t);
			if (ret == -ENOMEM) {
				if (!drained)
					fail_map(&map, "del [%ld,%ld): -ENOMEM with memory", f, t);
				if (!resv_model_needs_split(&model, f, t))
					fail_map(&map, "del [%ld,%ld): -ENOMEM without a split", f, t);
				if (cache_before > map.adds_in_progress)
					fail_map(&map, "del [%ld,%ld): -ENOMEM with a spare descriptor", f, t);
				break;
			}
			if (ret != want)
				fail_map(&map, "del [%ld,%ld) = %ld, model %ld", f, t, ret, want);
			resv_model_set(&model, f, t, false);
			break;
		case 6:			/* region_count */
			if (data[pos - 1] & 1)
				t = LONG_MAX;
			want = resv_model_count(&model, f, t);
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
			long want2 = (p.t - p.f) - resv_model_count(&model, p.f, p.t);

			if (hp_region_add(&map, p.f, p.t, p.needed) != want2)
				fail_map(&map, "final add [%ld,%ld)", p.f, p.t);
			resv_model_set(&model, p.f, p.t, true);
		}
		check(&map, npend);
	}
	hp_resv_map_release(&map);
	if (drained)
		meta_undrain(&held);
	return 0;
}
