/* SPDX-License-Identifier: MIT */
/*
 * stats.c - a pool's page counters and activity counters as text or JSON.
 * Written with snprintf into a stack buffer and write(2): this runs at exit
 * inside programs whose malloc we may be, and never uses stdio streams.
 */
#include "internal.h"

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

static void print_pool(struct out *o, struct hugepool *p, bool json, bool first)
{
	struct hp_stats st;
	size_t nr, fr, rs, su, mn, mx;
	char nodes[64];
	double waste;

	hp_pool_lock(p);
	st = p->stats;
	nr = p->nr_huge_pages;
	fr = p->free_huge_pages;
	rs = p->resv_huge_pages;
	su = p->surplus_huge_pages;
	mn = p->min_pages;
	mx = p->max_pages;
	hp_pool_unlock(p);
	hp_nodemask_format(&p->root->nodes, nodes, sizeof(nodes));
	/* huge-page bytes the pool holds in use per byte requested */
	waste = st.bytes_requested ? (double)((nr - fr) * p->h->size) / (double)st.bytes_requested : 0.0;

	if (json) {
		out_printf(o, "%s{\"name\":\"%s\",\"page_size\":%zu,\"parent\":%s%s%s,"
			   "\"nodes\":\"%s\",\"nr_pages\":%zu,\"free_pages\":%zu,\"resv_pages\":%zu,"
			   "\"surplus_pages\":%zu,\"min_pages\":%zu,\"max_pages\":%zu",
			   first ? "" : ",", p->name, p->h->size,
			   p->parent ? "\"" : "", p->parent ? p->parent->name : "null",
			   p->parent ? "\"" : "", nodes, nr, fr, rs, su, mn, mx);
#define X(name) out_printf(o, ",\"" #name "\":%llu", (unsigned long long)st.name);
		HP_STAT_FIELDS(X)
#undef X
		out_printf(o, ",\"held_per_requested\":%.4f}", waste);
		return;
	}
	out_printf(o, "pool %s: page_size %zu%s%s nodes %s\n", p->name, p->h->size,
		   p->parent ? " parent " : "", p->parent ? p->parent->name : "", nodes);
	out_printf(o, "  pages: nr %zu free %zu resv %zu surplus %zu min %zu max %zu\n",
		   nr, fr, rs, su, mn, mx);
	out_printf(o, " ");
#define X(name) out_printf(o, " " #name " %llu", (unsigned long long)st.name);
	HP_STAT_FIELDS(X)
#undef X
	out_printf(o, "\n  held per requested byte: %.3f\n", waste);
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
	return hp_stats_write(pool, fd, flags);
}
