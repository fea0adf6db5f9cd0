/* SPDX-License-Identifier: MIT */
/*
 * ctl-openmetrics.c - `show` and `stats` as metrics: the OpenMetrics text
 * format (--format openmetrics: # TYPE/# UNIT/# HELP, counters sampled as
 * <family>_total, a final "# EOF") for a scrape, and the Prometheus text
 * format 0.0.4 (--format prometheus), which is what node_exporter's
 * textfile collector parses: the same samples, but a counter's TYPE line
 * names the _total sample, and no # UNIT or # EOF.
 *
 * Naming follows Prometheus: hugepool_ prefix, units in the name (_bytes,
 * _pages, _seconds), counters end in _total, labels for size, node, pid.
 * A family's samples must be contiguous, so samples are collected per
 * family and printed at the end.
 */
#include "ctl.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct family {
	const char *name;	/* without _total */
	const char *type;	/* gauge, counter */
	const char *unit;	/* "" or the name's unit suffix */
	const char *help;
	char *buf;		/* sample lines */
	size_t len, cap;
};

static bool prom;		/* Prometheus 0.0.4 instead of OpenMetrics */

#define FAM(n, t, u, h) { n, t, u, h, NULL, 0, 0 }
static struct family fams[] = {
	/* show: the kernel's pools */
	FAM("hugepool_kernel_page_size_bytes", "gauge", "bytes", "Size of a huge page of this size."),
	FAM("hugepool_kernel_pages", "gauge", "", "nr_hugepages: huge pages in the kernel pool."),
	FAM("hugepool_kernel_free_pages", "gauge", "", "free_hugepages: pages not in use."),
	FAM("hugepool_kernel_reserved_pages", "gauge", "", "resv_hugepages: free pages promised to mappings."),
	FAM("hugepool_kernel_surplus_pages", "gauge", "", "surplus_hugepages: pages above the persistent pool."),
	FAM("hugepool_kernel_overcommit_pages", "gauge", "", "nr_overcommit_hugepages: surplus pages allowed."),
	FAM("hugepool_kernel_pool_bytes", "gauge", "bytes", "Memory in the pool (nr_hugepages x page size)."),
	FAM("hugepool_kernel_node_pages", "gauge", "", "nr_hugepages of one NUMA node."),
	FAM("hugepool_kernel_node_free_pages", "gauge", "", "free_hugepages of one NUMA node."),
	FAM("hugepool_kernel_node_surplus_pages", "gauge", "", "surplus_hugepages of one NUMA node."),
	FAM("hugepool_hugetlbfs_mount_info", "gauge", "", "A hugetlbfs mount (value 1)."),
	FAM("hugepool_cgroup_hugetlb_limit_bytes", "gauge", "bytes", "hugetlb.<size>.max (v2) or .limit_in_bytes (v1) of the group; +Inf: no limit."),
	FAM("hugepool_cgroup_hugetlb_usage_bytes", "gauge", "bytes", "hugetlb.<size>.current (v2) or .usage_in_bytes (v1)."),
	FAM("hugepool_cgroup_hugetlb_reservation_limit_bytes", "gauge", "bytes", "hugetlb.<size>.rsvd.max or .rsvd.limit_in_bytes; +Inf: no limit."),
	FAM("hugepool_cgroup_hugetlb_reservation_usage_bytes", "gauge", "bytes", "hugetlb.<size>.rsvd.current or .rsvd.usage_in_bytes."),
	FAM("hugepool_cgroup_hugetlb_limit_hits", "counter", "", "Charges refused at the limit (v2 events max, v1 failcnt)."),
	FAM("hugepool_cgroup_hugetlb_room_pages", "gauge", "", "Pages the group and its ancestors still allow; +Inf: no limit."),
	/* stats: the pools of processes using libhugepool */
	FAM("hugepool_pool_page_size_bytes", "gauge", "bytes", "Page size of the pool."),
	FAM("hugepool_pool_pages", "gauge", "", "Huge pages the pool holds."),
	FAM("hugepool_pool_free_pages", "gauge", "", "Pages of the pool with no block."),
	FAM("hugepool_pool_reserved_pages", "gauge", "", "Pages reserved but not yet faulted."),
	FAM("hugepool_pool_surplus_pages", "gauge", "", "Pages above the pool's minimum."),
	FAM("hugepool_pool_min_pages", "gauge", "", "The pool's minimum."),
	FAM("hugepool_pool_max_pages", "gauge", "", "The pool's maximum (0: none)."),
	FAM("hugepool_pool_allocations", "counter", "", "Blocks allocated."),
	FAM("hugepool_pool_frees", "counter", "", "Blocks freed."),
	FAM("hugepool_pool_fallbacks", "counter", "", "Allocations served by the fallback allocator."),
	FAM("hugepool_pool_failures", "counter", "", "Allocations that failed."),
	FAM("hugepool_pool_requested_bytes", "gauge", "bytes", "Bytes asked for by the blocks in use."),
	FAM("hugepool_pool_in_use_bytes", "gauge", "bytes", "Usable bytes of the blocks in use."),
	FAM("hugepool_pool_peak_bytes", "gauge", "bytes", "Largest bytes in use so far."),
	FAM("hugepool_pool_held_bytes", "gauge", "bytes", "Huge-page bytes behind the blocks in use."),
	FAM("hugepool_pool_faulted_pages", "counter", "", "Pages faulted in."),
	FAM("hugepool_pool_released_pages", "counter", "", "Pages given back to the kernel."),
	FAM("hugepool_pool_age_seconds", "gauge", "seconds", "Time since the process last refreshed the record."),
	FAM("hugepool_pool_node_pages", "gauge", "", "Huge pages of the pool on one NUMA node."),
	FAM("hugepool_pool_node_free_pages", "gauge", "", "Free pages of the pool on one NUMA node."),
};

static struct family *fam(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fams); i++)
		if (!strcmp(fams[i].name, name))
			return &fams[i];
	abort();	/* a name not in the table is a bug here */
}

static void append(struct family *f, const char *s, size_t n)
{
	if (f->len + n + 1 > f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 4096;
		char *b;

		while (cap < f->len + n + 1)
			cap *= 2;
		b = realloc(f->buf, cap);
		if (!b) {
			ctl_error(CTL_FAIL, "out of memory");
			exit(CTL_FAIL);
		}
		f->buf = b;
		f->cap = cap;
	}
	memcpy(f->buf + f->len, s, n);
	f->len += n;
	f->buf[f->len] = '\0';
}

/* A label value: backslash, double quote and newline escaped. */
static void esc(const char *s, char *out, size_t len)
{
	size_t o = 0;

	for (; *s && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			out[o++] = '\\';
			out[o++] = *s;
		} else if (*s == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *s;
		}
	}
	out[o] = '\0';
}

/* sample(name, value, "k", "v", ..., NULL); value as text ("+Inf", "12") */
static void sample(const char *name, const char *value, ...)
{
	struct family *f = fam(name);
	char line[2048], v[1024];
	const char *k;
	size_t off;
	va_list ap;
	bool first = true;

	off = (size_t)snprintf(line, sizeof(line), "%s%s", name,
			       !strcmp(f->type, "counter") ? "_total" : "");
	va_start(ap, value);
	while ((k = va_arg(ap, const char *))) {
		esc(va_arg(ap, const char *), v, sizeof(v));
		off += (size_t)snprintf(line + off, sizeof(line) - off, "%s%s=\"%s\"",
					first ? "{" : ",", k, v);
		first = false;
		if (off >= sizeof(line))
			off = sizeof(line) - 1;
	}
	va_end(ap);
	off += (size_t)snprintf(line + off, sizeof(line) - off, "%s %s\n", first ? "" : "}", value);
	if (off >= sizeof(line))
		return;		/* absurdly long labels: left out */
	append(f, line, off);
}

static const char *num(unsigned long long v)
{
	static char b[8][32];
	static int i;

	i = (i + 1) % 8;
	snprintf(b[i], sizeof(b[i]), "%llu", v);
	return b[i];
}

static const char *lim(unsigned long long v)
{
	return v == ULLONG_MAX ? "+Inf" : num(v);
}

/* Print every family that has samples, then # EOF (OpenMetrics). */
static int flush_all(void)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(fams); i++) {
		struct family *f = &fams[i];
		const char *sfx = prom && !strcmp(f->type, "counter") ? "_total" : "";

		if (!f->len)
			continue;
		printf("# TYPE %s%s %s\n", f->name, sfx, f->type);
		if (!prom && f->unit[0])
			printf("# UNIT %s %s\n", f->name, f->unit);
		printf("# HELP %s%s %s\n", f->name, sfx, f->help);
		fputs(f->buf, stdout);
		free(f->buf);
		f->buf = NULL;
		f->len = f->cap = 0;
	}
	if (!prom)
		printf("# EOF\n");
	return fflush(stdout) || ferror(stdout) ? CTL_FAIL : CTL_OK;
}

int ctl_metrics_format(const char *arg, int *fmt)
{
	if (!strcmp(arg, "text"))
		*fmt = CTL_FMT_TEXT;
	else if (!strcmp(arg, "json"))
		*fmt = CTL_FMT_JSON;
	else if (!strcmp(arg, "openmetrics"))
		*fmt = CTL_FMT_OPENMETRICS;
	else if (!strcmp(arg, "prometheus"))
		*fmt = CTL_FMT_PROMETHEUS;
	else
		return ctl_error(CTL_USAGE, "--format %s: expected text, json, openmetrics or "
				 "prometheus", arg);
	prom = *fmt == CTL_FMT_PROMETHEUS;
	return 0;
}

int ctl_om_show(const struct hp_hstate *only, const struct ctl_mounts *ms,
		const struct hp_cgroup_loc *locs, int nlocs)
{
	static const char *const files[] = { "nr_hugepages", "free_hugepages", "resv_hugepages",
					     "surplus_hugepages", "nr_overcommit_hugepages" };
	static const char *const names[] = { "hugepool_kernel_pages", "hugepool_kernel_free_pages",
					     "hugepool_kernel_reserved_pages",
					     "hugepool_kernel_surplus_pages",
					     "hugepool_kernel_overcommit_pages" };
	int i, k, n;
	size_t j;

	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		int nodes[HP_MAX_NODES], nn;
		unsigned long v;
		char sz[32], node[16];

		if (only && h != only)
			continue;
		ctl_size_str(h->size, sz, sizeof(sz));
		sample("hugepool_kernel_page_size_bytes", num(h->size), "size", sz, NULL);
		for (k = 0; k < (int)ARRAY_SIZE(files); k++)
			if (!ctl_read(h, -1, files[k], &v))
				sample(names[k], num(v), "size", sz, NULL);
		if (!ctl_read(h, -1, "nr_hugepages", &v))
			sample("hugepool_kernel_pool_bytes", num((unsigned long long)v * h->size),
			       "size", sz, NULL);
		nn = ctl_nodes(h, nodes, HP_MAX_NODES);
		for (k = 0; k < nn; k++) {
			snprintf(node, sizeof(node), "%d", nodes[k]);
			if (!ctl_read(h, nodes[k], "nr_hugepages", &v))
				sample("hugepool_kernel_node_pages", num(v), "size", sz, "node", node,
				       NULL);
			if (!ctl_read(h, nodes[k], "free_hugepages", &v))
				sample("hugepool_kernel_node_free_pages", num(v), "size", sz, "node",
				       node, NULL);
			if (!ctl_read(h, nodes[k], "surplus_hugepages", &v))
				sample("hugepool_kernel_node_surplus_pages", num(v), "size", sz,
				       "node", node, NULL);
		}
		for (n = 0; n < nlocs; n++) {
			const struct hp_cgroup_loc *loc = &locs[n];
			const char *cg = ctl_cgroup_name(loc);
			const char *ver = loc->version == 1 ? "1" : "2";
			struct ctl_cg_size cs;

			ctl_cgroup_size(loc, h, &cs);
			if (!cs.has_own)
				continue;
			sample("hugepool_cgroup_hugetlb_limit_bytes", lim(cs.own.limit),
			       "cgroup", cg, "version", ver, "size", sz, NULL);
			sample("hugepool_cgroup_hugetlb_usage_bytes", num(cs.own.usage),
			       "cgroup", cg, "version", ver, "size", sz, NULL);
			if (cs.own.has_rsvd) {
				sample("hugepool_cgroup_hugetlb_reservation_limit_bytes",
				       lim(cs.own.rsvd_limit), "cgroup", cg, "version", ver,
				       "size", sz, NULL);
				sample("hugepool_cgroup_hugetlb_reservation_usage_bytes",
				       num(cs.own.rsvd_usage), "cgroup", cg, "version", ver,
				       "size", sz, NULL);
			}
			if (cs.own.has_events)
				sample("hugepool_cgroup_hugetlb_limit_hits", num(cs.own.events_max),
				       "cgroup", cg, "version", ver, "size", sz, NULL);
			sample("hugepool_cgroup_hugetlb_room_pages",
			       cs.room == LONG_MAX ? "+Inf" : num((unsigned long long)cs.room),
			       "cgroup", cg, "version", ver, "size", sz, NULL);
		}
	}
	for (j = 0; ms && j < ms->n; j++) {
		const struct ctl_mount *m = &ms->m[j];
		char sz[32];

		if (!ctl_mount_is_hugetlbfs(m, only ? only->size : 0))
			continue;
		ctl_size_str(ctl_mount_pagesize(m), sz, sizeof(sz));
		sample("hugepool_hugetlbfs_mount_info", "1", "dir", m->dir, "size", sz, NULL);
	}
	return flush_all();
}

/* One published record (read and validated by ctl-stats.c) as samples. */
void ctl_om_stats_record(pid_t pid, const char *comm, const struct hp_pub_record *rec)
{
	struct hp_pub_record r = *rec;
	uint64_t now = hp_now_ms();
	char p[16], sz[32], node[16], age[32];
	unsigned int n;

	snprintf(p, sizeof(p), "%d", (int)pid);
	if (!r.in_use)
		return;
	r.name[sizeof(r.name) - 1] = '\0';
	ctl_size_str(r.page_size, sz, sizeof(sz));
#define S(fam, v) sample(fam, num(v), "pid", p, "comm", comm, "pool", r.name, "size", sz, NULL)
	S("hugepool_pool_page_size_bytes", r.page_size);
	S("hugepool_pool_pages", r.nr_pages);
	S("hugepool_pool_free_pages", r.free_pages);
	S("hugepool_pool_reserved_pages", r.resv_pages);
	S("hugepool_pool_surplus_pages", r.surplus_pages);
	S("hugepool_pool_min_pages", r.min_pages);
	S("hugepool_pool_max_pages", r.max_pages);
	S("hugepool_pool_allocations", r.allocs);
	S("hugepool_pool_frees", r.frees);
	S("hugepool_pool_fallbacks", r.fallbacks);
	S("hugepool_pool_failures", r.failures);
	S("hugepool_pool_requested_bytes", r.bytes_requested);
	S("hugepool_pool_in_use_bytes", r.bytes_in_use);
	S("hugepool_pool_peak_bytes", r.bytes_peak);
	S("hugepool_pool_held_bytes", r.bytes_held);
	S("hugepool_pool_faulted_pages", r.pages_faulted);
	S("hugepool_pool_released_pages", r.pages_released);
#undef S
	snprintf(age, sizeof(age), "%.3f",
		 (double)(now > r.updated_ms ? now - r.updated_ms : 0) / 1000.0);
	sample("hugepool_pool_age_seconds", age, "pid", p, "comm", comm, "pool", r.name,
	       "size", sz, NULL);
	for (n = 0; n < r.nr_nodes && n < HP_PUB_NODES; n++) {
		snprintf(node, sizeof(node), "%u", n);
		sample("hugepool_pool_node_pages", num(r.node[n].nr_pages), "pid", p,
		       "comm", comm, "pool", r.name, "size", sz, "node", node, NULL);
		sample("hugepool_pool_node_free_pages", num(r.node[n].free_pages), "pid", p,
		       "comm", comm, "pool", r.name, "size", sz, "node", node, NULL);
	}
}

int ctl_om_stats_end(void)
{
	return flush_all();
}
