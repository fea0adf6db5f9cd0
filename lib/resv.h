/* SPDX-License-Identifier: MIT */
/*
 * resv.h - the reservation map (struct resv_map of mm/hugetlb.c).
 *
 * A resv_map records page ranges [from, to) (huge-page units) as an ordered,
 * coalesced list of file_region entries. Updates follow the kernel's two
 * phase protocol so that the caller can take pages between the phases:
 *
 *   chg = hp_region_chg(map, f, t, &needed);   count pages not yet in the map,
 *                                              pre-allocate descriptors,
 *                                              adds_in_progress++
 *   ...take chg pages...
 *   hp_region_add(map, f, t, needed)  or  hp_region_abort(map, f, t, needed)
 *
 * hp_region_del() removes a range and returns how many pages it held.
 * The map itself takes no lock: callers hold the owning pool's lock.
 * Descriptors come from a per-map cache refilled by region_chg, so region_add
 * never fails (the reason the kernel splits the protocol in two).
 */
#ifndef HUGEPOOL_RESV_H
#define HUGEPOOL_RESV_H

#include <stddef.h>

struct hp_file_region {
	struct hp_file_region *next;	/* address ordered, or cache link */
	long from;
	long to;
};

struct hp_resv_map {
	struct hp_file_region *regions;	/* ordered by from, non-overlapping, coalesced */
	long adds_in_progress;
	struct hp_file_region *region_cache;
	long region_cache_count;
	long nr_regions;
};

void hp_resv_map_init(struct hp_resv_map *map);
/* Frees every descriptor; the map must have no adds in progress. */
void hp_resv_map_release(struct hp_resv_map *map);

/* Pages in [f, t) not yet in the map, or -ENOMEM / -EINVAL (f > t or f < 0).
 * *out_regions_needed: descriptors region_add may need (cached now). */
long hp_region_chg(struct hp_resv_map *map, long f, long t, long *out_regions_needed);
/* Commit [f, t); returns pages newly added. Never fails after region_chg. */
long hp_region_add(struct hp_resv_map *map, long f, long t, long regions_needed);
/* Undo a region_chg that will not be committed. */
void hp_region_abort(struct hp_resv_map *map, long f, long t, long regions_needed);
/* Remove [f, t) (t == LONG_MAX: to the end); returns pages removed or -ENOMEM
 * when a range has to be split and no descriptor can be had. */
long hp_region_del(struct hp_resv_map *map, long f, long t);
/* Pages of [f, t) present in the map. */
long hp_region_count(const struct hp_resv_map *map, long f, long t);

#endif
