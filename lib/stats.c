/* SPDX-License-Identifier: MIT */
/*
 * stats.c - a pool's page counters and activity counters as text or JSON.
 * Written with snprintf into a stack buffer and write(2): this runs at exit
 * inside programs whose malloc we may be, and never uses stdio streams.
 *
 * JSON (DESIGN.md): {"version", "pid", "pools": [ {"name", "page_size",
 * "parent" (name or null), "nodes", "flags", "nr_pages", "free_pages",
 * "resv_pages", "surplus_pages", "min_pages", "max_pages", then every
 * HP_STAT_FIELDS counter by its name ("allocs", "frees", "fallbacks",
 * "failures", "bytes_requested", "bytes_in_use", "bytes_held", ...), and
 * "waste_bytes"} ] }. Byte counts describe live blocks; allocs - frees is
 * the number of them.
 */
#include "heap.h"

#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

struct out {
	int fd;
	char buf[4096];
	size_t len;
	int err;
};

static void out_flush(struct out *o)
{
	long n;

	if (o->len && !o->err) {
		n = hp_sys_write_all(o->fd, o->buf, o->len);
		if (n < 0)
			o->err = (int)n;
	}
	o->len = 0;
}

__attribute__((format(printf, 2, 3)))
static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len > sizeof(o->buf) - 512)
		out_flush(o);
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n < sizeof(o->buf) - o->len ? (size_t)n : sizeof(o->buf) - o->len - 1;
}

/*
 * One pool: its page counters (the hstate's names: nr, free, resv, surplus,
 * min, max) and its activity counters (HP_STAT_FIELDS). waste_bytes is what
 * the pages holding blocks hold beyond what was asked for: page rounding of
 * whole-page blocks plus the free granules of MIXED pages.
 */
static void print_pool(struct out *o, struct hugepool *p, bool json, bool first)
{
	struct hp_stats st;
	size_t nr, fr, rs, su, mn, mx, spans;
	uint64_t waste, objects;
	char nodes[64];

	hp_pool_lock(p);
	st = p->stats;
	nr = p->nr_huge_pages;
	fr = p->free_huge_pages;
	rs = p->resv_huge_pages;
	su = p->surplus_huge_pages;
	mn = p->min_pages;
	mx = p->max_pages;
	spans = p->heap ? p->heap->spans : 0;
	objects = hp_heap_objects(p);
	hp_pool_op_end(p);
	hp_nodemask_format(&p->root->nodes, nodes, sizeof(nodes));
	waste = st.bytes_held > st.bytes_requested ? st.bytes_held - st.bytes_requested : 0;

	if (json) {
		out_printf(o, "%s{\"name\":\"%s\",\"page_size\":%zu,\"parent\":%s%s%s,"
			   "\"nodes\":\"%s\",\"flags\":%u,\"nr_pages\":%zu,\"free_pages\":%zu,"
			   "\"resv_pages\":%zu,\"surplus_pages\":%zu,\"min_pages\":%zu,"
			   "\"max_pages\":%zu",
			   first ? "" : ",", p->name, p->h->size,
			   p->parent ? "\"" : "", p->parent ? p->parent->name : "null",
			   p->parent ? "\"" : "", nodes, p->cfg.flags, nr, fr, rs, su, mn, mx);
#define X(name) out_printf(o, ",\"" #name "\":%llu", (unsigned long long)st.name);
		HP_STAT_FIELDS(X)
#undef X
		out_printf(o, ",\"waste_bytes\":%llu,\"heap_spans\":%zu,\"heap_objects\":%llu}",
			   (unsigned long long)waste, spans, (unsigned long long)objects);
		return;
	}
	out_printf(o, "pool %s: page_size %zu%s%s nodes %s%s%s\n", p->name, p->h->size,
		   p->parent ? " parent " : "", p->parent ? p->parent->name : "", nodes,
		   p->cfg.flags & HUGEPOOL_FALLBACK ? " fallback" : "",
		   p->cfg.flags & HUGEPOOL_SHARED ? " shared" : "");
	out_printf(o, "  pages: nr %zu free %zu resv %zu surplus %zu min %zu max %zu\n",
		   nr, fr, rs, su, mn, mx);
	out_printf(o, "  blocks: allocs %llu frees %llu live %llu fallbacks %llu failures %llu\n",
		   (unsigned long long)st.allocs, (unsigned long long)st.frees,
		   (unsigned long long)(st.allocs - st.frees),
		   (unsigned long long)st.fallbacks, (unsigned long long)st.failures);
	out_printf(o, "  bytes: requested %llu in_use %llu held %llu waste %llu peak %llu zeroed %llu\n",
		   (unsigned long long)st.bytes_requested, (unsigned long long)st.bytes_in_use,
		   (unsigned long long)st.bytes_held, (unsigned long long)waste,
		   (unsigned long long)st.bytes_peak, (unsigned long long)st.bytes_zeroed);
	out_printf(o, "  engine: pages faulted %llu released %llu moved %llu\n",
		   (unsigned long long)st.pages_faulted, (unsigned long long)st.pages_released,
		   (unsigned long long)st.pages_moved);
	out_printf(o, "  regions: reserves %llu populates %llu releases %llu\n",
		   (unsigned long long)st.region_reserves, (unsigned long long)st.region_populates,
		   (unsigned long long)st.region_releases);
	out_printf(o, "  heap: spans %zu objects served %llu\n", spans,
		   (unsigned long long)objects);
}

int hp_stats_write(const struct hugepool *pool, int fd, unsigned int flags)
{
	struct out o = { .fd = fd };
	bool json = flags & HUGEPOOL_STATS_JSON;
	struct hugepool *p;
	bool first = true;

	if (fd < 0 || (flags & ~HUGEPOOL_STATS_JSON))
		return -EINVAL;
	if (json)
		out_printf(&o, "{\"version\":\"%s\",\"pid\":%d,\"pools\":[", HUGEPOOL_VERSION, (int)getpid());
	if (pool) {
		print_pool(&o, (struct hugepool *)pool, json, true);
	} else {
		pthread_mutex_lock(&hp_pools_lock);
		for (p = hp_pools; p; p = p->next_pool) {
			print_pool(&o, p, json, first);
			first = false;
		}
		pthread_mutex_unlock(&hp_pools_lock);
	}
	if (json)
		out_printf(&o, "]}\n");
	out_flush(&o);
	return o.err;
}

int hugepool_stats_print(const struct hugepool *pool, int fd, unsigned int flags)
{
	hp_publish_flush();	/* the live record too, while we are at it */
	return hp_stats_write(pool, fd, flags);
}
