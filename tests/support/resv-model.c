/* SPDX-License-Identifier: MIT */
/*
 * resv-model.c - a bitmap model of the reservation map and hp_meta drained
 * of descriptors (resv-model.h), for the unit tests and the fuzzer.
 */
#include "resv-model.h"

#include <stdarg.h>
#include <stdio.h>

#define DESC_SIZE	sizeof(struct hp_file_region)

long resv_model_clamp(const struct resv_model *m, long t)
{
	return t > m->npages ? m->npages : t;
}

long resv_model_count(const struct resv_model *m, long f, long t)
{
	long i, n = 0;

	for (i = f; i < resv_model_clamp(m, t); i++)
		n += m->present[i];
	return n;
}

long resv_model_gaps(const struct resv_model *m, long f, long t)
{
	long i, n = 0;

	for (i = f; i < t; i++)
		if (!m->present[i] && (i == f || m->present[i - 1]))
			n++;
	return n;
}

void resv_model_set(struct resv_model *m, long f, long t, bool v)
{
	long i;

	for (i = f; i < resv_model_clamp(m, t); i++)
		m->present[i] = v;
}

bool resv_model_needs_split(const struct resv_model *m, long f, long t)
{
	if (f >= t || f == 0 || t >= m->npages)
		return false;
	return resv_model_count(m, f - 1, t + 1) == t + 1 - (f - 1);
}

__attribute__((format(printf, 3, 4)))
static const char *say(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	return buf;
}

const char *resv_model_check(const struct resv_model *m, const struct hp_resv_map *map,
			     long pending, char *buf, size_t len)
{
	const struct hp_file_region *rg;
	long nr = 0, cached = 0, pos = 0, i;

	for (rg = map->regions; rg; rg = rg->next) {
		if (++nr > m->npages)
			return say(buf, len, "region list does not end");
		if (rg->from < 0 || rg->from >= rg->to || rg->to > m->npages)
			return say(buf, len, "bad entry [%ld,%ld)", rg->from, rg->to);
		if (nr > 1 && rg->from <= pos)
			return say(buf, len, "entry [%ld,%ld) overlaps, touches or is out of order",
				   rg->from, rg->to);
		for (i = pos; i < rg->from; i++)
			if (m->present[i])
				return say(buf, len, "page %ld present in the model, not in the map", i);
		for (i = rg->from; i < rg->to; i++)
			if (!m->present[i])
				return say(buf, len, "page %ld in the map, not in the model", i);
		pos = rg->to;
	}
	for (i = pos; i < m->npages; i++)
		if (m->present[i])
			return say(buf, len, "page %ld present in the model, not in the map", i);
	if (nr != map->nr_regions)
		return say(buf, len, "nr_regions %ld, list holds %ld", map->nr_regions, nr);

	for (rg = map->region_cache; rg; rg = rg->next)
		if (++cached > m->cache_max)
			return say(buf, len, "region cache does not end");
	if (cached != map->region_cache_count)
		return say(buf, len, "region_cache_count %ld, cache holds %ld",
			   map->region_cache_count, cached);
	if (map->adds_in_progress != pending)
		return say(buf, len, "adds_in_progress %ld, expected %ld",
			   map->adds_in_progress, pending);
	/* region_add relies on this to never fail */
	if (map->region_cache_count < map->adds_in_progress)
		return say(buf, len, "cache %ld below adds in progress %ld",
			   map->region_cache_count, map->adds_in_progress);
	return NULL;
}

static int fail_mmap(enum hp_sys_call call)
{
	return call == HP_SYS_MMAP ? -ENOMEM : 0;
}

void meta_drain(struct meta_drained *d, size_t stock)
{
	void *got[64];
	void **p;
	size_t i;

	if (stock > ARRAY_SIZE(got))
		stock = ARRAY_SIZE(got);
	for (i = 0; i < stock; i++)
		got[i] = hp_meta_zalloc(DESC_SIZE);
	for (i = 0; i < stock; i++)
		hp_meta_free(got[i], DESC_SIZE);

	hp_sys_inject = fail_mmap;
	while ((p = hp_meta_zalloc(DESC_SIZE)) != NULL) {
		*p = d->head;
		d->head = p;
		d->count++;
	}
}

long meta_allow(struct meta_drained *d, long n)
{
	long given = 0;

	while (given < n && d->head) {
		void *next = *(void **)d->head;

		hp_meta_free(d->head, DESC_SIZE);
		d->head = next;
		d->count--;
		given++;
	}
	return given;
}

void meta_undrain(struct meta_drained *d)
{
	meta_allow(d, d->count);
	hp_sys_inject = NULL;
}
