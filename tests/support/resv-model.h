/* SPDX-License-Identifier: MIT */
/*
 * resv-model.h - the model the reservation map (lib/resv.c) is checked
 * against by test-resv-model (random sequences) and fuzz-resv (libFuzzer):
 * a bitmap of present pages with what region_chg/add/del/count must
 * answer, the comparison of a map with it together with the map's
 * structural invariants, and hp_meta drained of descriptors so that the
 * -ENOMEM paths run (shared with test-resv). Part of the support library;
 * a header of its own because it needs lib/internal.h.
 */
#ifndef HUGEPOOL_TEST_RESV_MODEL_H
#define HUGEPOOL_TEST_RESV_MODEL_H

#include "internal.h"

/* Pages [0, npages) of a map, present or not. */
struct resv_model {
	bool *present;
	long npages;
	long cache_max;		/* more cached descriptors: the cache does not end */
};

/* t, or npages if t is beyond it */
long resv_model_clamp(const struct resv_model *m, long t);
/* Present pages in [f, t) (t clamped to npages). */
long resv_model_count(const struct resv_model *m, long f, long t);
/* Gaps of [f, t): what the kernel's region_chg reports as regions_needed. */
long resv_model_gaps(const struct resv_model *m, long f, long t);
void resv_model_set(struct resv_model *m, long f, long t, bool v);
/* [f, t) strictly inside one run of present pages: region_del must split. */
bool resv_model_needs_split(const struct resv_model *m, long f, long t);
/*
 * Compare the map with the model and check its invariants (ordered,
 * non-overlapping, coalesced, counters true, the cache covering the adds
 * in progress, which are `pending`). NULL if all holds, else what is wrong,
 * written to buf.
 */
const char *resv_model_check(const struct resv_model *m, const struct hp_resv_map *map,
			     long pending, char *buf, size_t len);

/* hp_meta's descriptor-sized objects, held while allocation is made to fail */
struct meta_drained {
	void *head;
	long count;
};

/*
 * Fail mmap (through the hp_sys seam) and take every descriptor-sized
 * object hp_meta can still give out, so that the next hp_meta_zalloc of a
 * descriptor returns NULL. First `stock` objects are allocated and freed,
 * so that there are some to give back even in a process that had none
 * (at most 64). Adds to what d holds (zero it first).
 */
void meta_drain(struct meta_drained *d, size_t stock);
/* Give back up to n held objects, so that n allocations will succeed;
 * returns how many. */
long meta_allow(struct meta_drained *d, long n);
/* Give back all and let mmap work again. */
void meta_undrain(struct meta_drained *d);

#endif
