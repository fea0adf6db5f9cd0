/* SPDX-License-Identifier: MIT */
/*
 * resv.c - the reservation map: struct resv_map and its file_region list,
 * after region_chg/region_add/region_abort/region_del/region_count of
 * mm/hugetlb.c.
 *
 * A map is a singly linked list of [from, to) ranges (huge-page units),
 * ordered by from, non-overlapping and fully coalesced: two entries never
 * touch, since there is no per-range cgroup information here that could keep
 * neighbours apart. Every entry has from < to; the kernel's old from == to
 * "placeholder" entries do not exist here.
 *
 * Updates are two phase so that the caller can take pages in between:
 * region_chg counts, stocks the descriptor cache and bumps adds_in_progress;
 * region_add or region_abort ends the operation. The cache is what lets
 * region_add run without allocating, hence without failing.
 *
 * Why region_add cannot fail here (the kernel's region_add has a retry path
 * that allocates and can return -ENOMEM, for a map changed since region_chg):
 * an add fills each gap of [f, t) with a descriptor taken from the cache and
 * coalesces it at once. Every gap but possibly the last ends at the start of
 * an existing entry, and every gap but possibly the first begins at the end
 * of one, so each coalesce gives back at least one descriptor, and it goes
 * to the cache before the next gap is filled (or to hp_meta if the cache is
 * already over its slack, which leaves it just as non-empty). Only an add
 * that touches no entry at all keeps its descriptor. So an add draws at most
 * one descriptor from the cache at any moment, whatever the map became since
 * region_chg, and the invariant
 *
 *	region_cache_count >= adds_in_progress
 *
 * (kept by region_chg, which stocks at least one per add it starts, and by
 * region_del, which only takes descriptors beyond that) is all region_add
 * needs. region_add still makes sure of one descriptor before it touches the
 * list, so even a caller that skipped region_chg gets -ENOMEM, never a
 * half-done add.
 *
 * No lock: the owner of the map (a pool or region) serialises every call.
 * Descriptor memory comes from hp_meta_zalloc, never malloc, since the
 * library may itself be the process malloc.
 */
#include "internal.h"

/*
 * Spare descriptors kept in the cache beyond one per add in progress, so that
 * the usual single-page chg/add cycle does not go to hp_meta every time. The
 * kernel never trims its cache; this one is trimmed back to this slack when
 * an operation ends, so a map that once had many gaps does not keep their
 * descriptors forever.
 */
#define RESV_CACHE_SPARE	4

void hp_resv_map_init(struct hp_resv_map *map)
{
	map->regions = NULL;
	map->adds_in_progress = 0;
	map->region_cache = NULL;
	map->region_cache_count = 0;
	map->nr_regions = 0;
}

static void free_file_region_list(struct hp_file_region *rg)
{
	while (rg) {
		struct hp_file_region *next = rg->next;

		hp_meta_free(rg, sizeof(*rg));
		rg = next;
	}
}

void hp_resv_map_release(struct hp_resv_map *map)
{
	free_file_region_list(map->regions);
	free_file_region_list(map->region_cache);
	hp_resv_map_init(map);
}

static inline long resv_cache_limit(const struct hp_resv_map *map)
{
	return map->adds_in_progress + RESV_CACHE_SPARE;
}

static void cache_file_region_entry(struct hp_resv_map *map, struct hp_file_region *rg)
{
	rg->next = map->region_cache;
	map->region_cache = rg;
	map->region_cache_count++;
}

/*
 * Give a descriptor that left the region list back to the cache, or to
 * hp_meta once the cache holds its share. Keeping it is what makes the
 * one-descriptor bound of region_add hold.
 */
static void put_file_region_entry(struct hp_resv_map *map, struct hp_file_region *rg)
{
	if (map->region_cache_count < resv_cache_limit(map))
		cache_file_region_entry(map, rg);
	else
		hp_meta_free(rg, sizeof(*rg));
}

/* Pop a cached descriptor set to [from, to), or NULL if the cache is empty. */
static struct hp_file_region *get_file_region_entry_from_cache(struct hp_resv_map *map,
							       long from, long to)
{
	struct hp_file_region *nrg = map->region_cache;

	if (!nrg)
		return NULL;
	map->region_cache = nrg->next;
	map->region_cache_count--;
	nrg->next = NULL;
	nrg->from = from;
	nrg->to = to;
	return nrg;
}

/* Free cached descriptors beyond what the adds in progress may need. */
static void trim_region_cache(struct hp_resv_map *map)
{
	while (map->region_cache_count > resv_cache_limit(map)) {
		struct hp_file_region *rg = map->region_cache;

		map->region_cache = rg->next;
		map->region_cache_count--;
		hp_meta_free(rg, sizeof(*rg));
	}
}

/*
 * Make the cache hold adds_in_progress + regions_needed descriptors, as the
 * kernel's allocate_file_region_entries does. Returns 0 or -ENOMEM; on
 * failure what could be had stays cached, trimmed to the usual slack.
 */
static int allocate_file_region_entries(struct hp_resv_map *map, long regions_needed)
{
	while (map->region_cache_count < map->adds_in_progress + regions_needed) {
		struct hp_file_region *rg = hp_meta_zalloc(sizeof(*rg));

		if (!rg) {
			trim_region_cache(map);
			return -ENOMEM;
		}
		cache_file_region_entry(map, rg);
	}
	return 0;
}

/*
 * Merge rg with its neighbours where they touch; prev is the entry before rg
 * (NULL: rg is first). Merged-away descriptors go back to the cache. Returns
 * the entry that now covers rg's range.
 */
static struct hp_file_region *coalesce_file_region(struct hp_resv_map *map,
						   struct hp_file_region *prev,
						   struct hp_file_region *rg)
{
	struct hp_file_region *next = rg->next;

	if (prev && prev->to == rg->from) {
		prev->to = rg->to;
		prev->next = next;
		put_file_region_entry(map, rg);
		map->nr_regions--;
		rg = prev;
	}
	if (next && next->from == rg->to) {
		rg->to = next->to;
		rg->next = next->next;
		put_file_region_entry(map, next);
		map->nr_regions--;
	}
	return rg;
}

/*
 * Link a cached descriptor for [from, to) after prev (NULL: at the head) and
 * coalesce it. The cache must not be empty (see the top of the file).
 * Returns the entry that now covers [from, to).
 */
static struct hp_file_region *hugetlb_resv_map_add(struct hp_resv_map *map,
						   struct hp_file_region *prev,
						   long from, long to)
{
	struct hp_file_region **link = prev ? &prev->next : &map->regions;
	struct hp_file_region *nrg = get_file_region_entry_from_cache(map, from, to);

	nrg->next = *link;
	*link = nrg;
	map->nr_regions++;
	return coalesce_file_region(map, prev, nrg);
}

/*
 * Walk [f, t) and handle each gap, i.e. each range not in the map: with
 * regions_needed != NULL only count the gaps into *regions_needed (the
 * descriptors the kernel's add would insert); otherwise fill them from the
 * cache. Returns the pages in the gaps, i.e. the pages [f, t) adds.
 */
static long add_reservation_in_range(struct hp_resv_map *map, long f, long t,
				     long *regions_needed)
{
	struct hp_file_region *prev = NULL, *iter = map->regions;
	long last_accounted_offset = f;
	long add = 0;

	if (regions_needed)
		*regions_needed = 0;

	/* each turn handles the gap [last_accounted_offset, iter->from) */
	for (; iter; prev = iter, iter = iter->next) {
		/* an entry starting before f may still cover the start of the range */
		if (iter->from < f) {
			if (iter->to > last_accounted_offset)
				last_accounted_offset = iter->to;
			continue;
		}
		if (iter->from >= t)
			break;
		if (iter->from > last_accounted_offset) {
			add += iter->from - last_accounted_offset;
			if (regions_needed)
				(*regions_needed)++;
			else	/* the gap ends at iter: iter is merged into it */
				iter = hugetlb_resv_map_add(map, prev,
							    last_accounted_offset,
							    iter->from);
		}
		last_accounted_offset = iter->to;
	}

	/* the range may extend beyond the last entry it met */
	if (last_accounted_offset < t) {
		add += t - last_accounted_offset;
		if (regions_needed)
			(*regions_needed)++;
		else
			hugetlb_resv_map_add(map, prev, last_accounted_offset, t);
	}
	return add;
}

/*
 * Returns the pages of [f, t) not in the map (>= 0) and starts an add:
 * adds_in_progress is raised and the cache holds adds_in_progress +
 * *out_regions_needed descriptors (at least one per add in progress).
 * -EINVAL (f > t or f < 0) or -ENOMEM leave the map as it was and start
 * nothing; *out_regions_needed is then undefined. out_regions_needed may be
 * NULL. Like the kernel's, an empty range (f == t) still starts an add.
 */
long hp_region_chg(struct hp_resv_map *map, long f, long t, long *out_regions_needed)
{
	long chg, unused;

	if (f < 0 || f > t)
		return -EINVAL;
	if (!out_regions_needed)	/* region_add does not rely on it */
		out_regions_needed = &unused;

	chg = add_reservation_in_range(map, f, t, out_regions_needed);
	/* an add in progress always holds one descriptor: see the top */
	if (*out_regions_needed == 0)
		*out_regions_needed = 1;

	if (allocate_file_region_entries(map, *out_regions_needed))
		return -ENOMEM;

	map->adds_in_progress++;
	return chg;
}

/*
 * Returns the pages newly added (>= 0), which may differ from what
 * region_chg counted if the map changed in between. Cannot fail after a
 * region_chg of the same range; regions_needed is taken for the kernel's
 * protocol but not relied on. Without a region_chg it may return -ENOMEM
 * (map unchanged). -EINVAL for f > t or f < 0, with nothing changed.
 */
long hp_region_add(struct hp_resv_map *map, long f, long t, long regions_needed)
{
	long add;

	(void)regions_needed;
	if (f < 0 || f > t)
		return -EINVAL;

	/*
	 * An empty cache means the caller skipped region_chg: get the one
	 * descriptor the add may need before touching the list.
	 */
	if (unlikely(!map->region_cache) && f < t) {
		struct hp_file_region *rg = hp_meta_zalloc(sizeof(*rg));

		if (!rg)
			return -ENOMEM;
		cache_file_region_entry(map, rg);
	}

	add = add_reservation_in_range(map, f, t, NULL);

	if (map->adds_in_progress > 0)
		map->adds_in_progress--;
	trim_region_cache(map);
	return add;
}

/*
 * Ends an add that region_chg started without committing it. The map is not
 * changed; the cache keeps a few descriptors for the next operation.
 */
void hp_region_abort(struct hp_resv_map *map, long f, long t, long regions_needed)
{
	(void)f;
	(void)t;
	(void)regions_needed;

	if (map->adds_in_progress > 0)
		map->adds_in_progress--;
	trim_region_cache(map);
}

/*
 * Returns the pages of [f, t) that were in the map and are now removed
 * (>= 0); t == LONG_MAX removes everything from f on. -ENOMEM when [f, t)
 * lies strictly inside one entry, which must be split, and no descriptor can
 * be had; -EINVAL for f > t or f < 0. On error the map is unchanged.
 */
/* [length] kept in one piece, as mm/hugetlb.c's region_del is: the four
 * cases (split, remove, trim the start, trim the end) read side by side. */
long hp_region_del(struct hp_resv_map *map, long f, long t)
{
	struct hp_file_region **link = &map->regions, *rg;
	long del = 0;

	if (f < 0 || f > t)
		return -EINVAL;
	/* an empty range would otherwise "split" an entry into two touching ones */
	if (f == t)
		return 0;

	while ((rg = *link) != NULL) {
		if (rg->to <= f) {
			link = &rg->next;
			continue;
		}
		if (rg->from >= t)
			break;

		if (f > rg->from && t < rg->to) {	/* must split */
			struct hp_file_region *nrg;

			/*
			 * Only a cached descriptor beyond those the adds in
			 * progress are owed may be taken. Nothing has been
			 * changed yet: a split is the only entry [f, t) meets.
			 */
			if (map->region_cache_count > map->adds_in_progress)
				nrg = get_file_region_entry_from_cache(map, t, rg->to);
			else
				nrg = hp_meta_zalloc(sizeof(*nrg));
			if (!nrg)
				return -ENOMEM;

			nrg->from = t;
			nrg->to = rg->to;
			del += t - f;
			rg->to = f;
			nrg->next = rg->next;
			rg->next = nrg;
			map->nr_regions++;
			break;
		}

		if (f <= rg->from && t >= rg->to) {	/* remove entire entry */
			del += rg->to - rg->from;
			*link = rg->next;
			put_file_region_entry(map, rg);
			map->nr_regions--;
			continue;
		}

		if (f <= rg->from) {			/* trim beginning */
			del += t - rg->from;
			rg->from = t;
		} else {				/* trim end */
			del += rg->to - f;
			rg->to = f;
		}
		link = &rg->next;
	}
	return del;
}

/*
 * Returns the pages of [f, t) present in the map (>= 0), or -EINVAL for
 * f > t or f < 0.
 */
long hp_region_count(const struct hp_resv_map *map, long f, long t)
{
	const struct hp_file_region *rg;
	long chg = 0;

	if (f < 0 || f > t)
		return -EINVAL;

	for (rg = map->regions; rg; rg = rg->next) {
		long seg_from, seg_to;

		if (rg->to <= f)
			continue;
		if (rg->from >= t)
			break;
		seg_from = rg->from > f ? rg->from : f;
		seg_to = rg->to < t ? rg->to : t;
		chg += seg_to - seg_from;
	}
	return chg;
}
