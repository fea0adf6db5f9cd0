/* SPDX-License-Identifier: MIT */
/*
 * ctl-show.c - `hugepool-ctl show`: the kernel's pools per page size, in
 * total and per node, with hugeadm's minimum/current/maximum view
 * (minimum = nr_hugepages - surplus_hugepages, the persistent pool; maximum
 * = minimum + nr_overcommit_hugepages), the hugetlbfs mounts and the THP
 * mode. A table for people, --json with the sysfs file names as keys for
 * scripts.
 */
#include "ctl.h"

#include <getopt.h>
#include <limits.h>
#include <string.h>

/* sysfs files shown, in this order; a per-node directory has only
 * nr_hugepages, free_hugepages and surplus_hugepages, and what a directory
 * lacks is left out (JSON) or shown as "-" (table) */
static const char *const global_files[] = {
	"nr_hugepages", "free_hugepages", "resv_hugepages", "surplus_hugepages",
	"nr_overcommit_hugepages", "nr_hugepages_mempolicy",
};

struct counters {
	unsigned long v[ARRAY_SIZE(global_files)];
	bool have[ARRAY_SIZE(global_files)];
};

enum { NR, FREE, RESV, SURPLUS, OVER, MEMPOL };

static void read_counters(const struct hp_hstate *h, int node, struct counters *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < ARRAY_SIZE(global_files); i++)
		c->have[i] = ctl_read(h, node, global_files[i], &c->v[i]) == 0;
}

static unsigned long persistent(const struct counters *c)
{
	return c->v[NR] - (c->v[SURPLUS] < c->v[NR] ? c->v[SURPLUS] : c->v[NR]);
}

static void col(const struct counters *c, int i)
{
	if (c->have[i])
		printf(" %10lu", c->v[i]);
	else
		printf(" %10s", "-");
}

static struct hp_cgroup_loc cg_locs[2];
static int cg_n;

static void human_lim(unsigned long long v, char *buf, size_t len)
{
	if (v == ULLONG_MAX)
		snprintf(buf, len, "max");
	else
		ctl_human(v, buf, len);
}

/* The hugetlb cgroup of this process (v1 and/or v2) or --cgroup PATH:
 * its own limits, usage and refusals per size, and the room along its
 * ancestors. */
static void print_cgroups_text(const struct hp_hstate *only)
{
	int n, i;

	printf("\nhugetlb cgroup:\n");
	if (!cg_n)
		printf("  none (no hugetlb controller for this process: no cgroup limit)\n");
	for (n = 0; n < cg_n; n++) {
		printf("  %s (v%d)\n", ctl_cgroup_name(&cg_locs[n]), cg_locs[n].version);
		printf("    %-5s %9s %9s %9s %9s %9s %9s\n", "SIZE", "MAX", "CURRENT", "RSVD.MAX",
		       "RSVD.CUR", "EVENTS", "ROOM");
		for (i = 0; i < hp_hstate_count(); i++) {
			const struct hp_hstate *h = hp_hstate_get(i);
			struct ctl_cg_size cs;
			char sz[32], a[32], b[32], c[32], d[32], room[32];

			if (only && h != only)
				continue;
			ctl_cgroup_size(&cg_locs[n], h, &cs);
			ctl_size_str(h->size, sz, sizeof(sz));
			if (!cs.has_own) {
				printf("    %-5s (not charged in this group)\n", sz);
				continue;
			}
			human_lim(cs.own.limit, a, sizeof(a));
			ctl_human(cs.own.usage, b, sizeof(b));
			if (cs.own.has_rsvd) {
				human_lim(cs.own.rsvd_limit, c, sizeof(c));
				ctl_human(cs.own.rsvd_usage, d, sizeof(d));
			} else {
				strcpy(c, "-");
				strcpy(d, "-");
			}
			if (cs.room == LONG_MAX)
				strcpy(room, "unlimited");
			else
				snprintf(room, sizeof(room), "%ld", cs.room);
			printf("    %-5s %9s %9s %9s %9s %9llu %9s\n", sz, a, b, c, d,
			       cs.own.events_max, room);
		}
	}
	if (cg_n)
		printf("  (ROOM: pages the group and its ancestors still allow)\n");
}

static void print_cgroups_json(const struct hp_hstate *only)
{
	int n, i;
	bool first;

	printf(",\"cgroups\":[");
	for (n = 0; n < cg_n; n++) {
		printf("%s{\"version\":%d,\"path\":", n ? "," : "", cg_locs[n].version);
		json_str(stdout, ctl_cgroup_name(&cg_locs[n]));
		printf(",\"sizes\":[");
		first = true;
		for (i = 0; i < hp_hstate_count(); i++) {
			const struct hp_hstate *h = hp_hstate_get(i);
			struct ctl_cg_size cs;

			if (only && h != only)
				continue;
			ctl_cgroup_size(&cg_locs[n], h, &cs);
			if (!cs.has_own)
				continue;
#define J(k, v) (v == ULLONG_MAX ? printf(",\"" k "\":null") : printf(",\"" k "\":%llu", v))
			printf("%s{\"page_size\":%zu", first ? "" : ",", h->size);
			J("max", cs.own.limit);
			J("current", cs.own.usage);
			if (cs.own.has_rsvd) {
				J("rsvd_max", cs.own.rsvd_limit);
				J("rsvd_current", cs.own.rsvd_usage);
			}
			if (cs.own.has_events)
				printf(",\"events_max\":%llu", cs.own.events_max);
			J("effective_max", cs.limit);
#undef J
			if (cs.room == LONG_MAX)
				printf(",\"room_pages\":null}");
			else
				printf(",\"room_pages\":%ld}", cs.room);
			first = false;
		}
		printf("]}");
	}
	printf("]");
}

static void print_table(const struct hp_hstate *only, const struct ctl_mounts *ms)
{
	const struct hp_hstate *def = hp_default_hstate();
	char sz[32], mem[32], thp[32];
	int i, k;
	size_t j;

	printf("%-6s %-5s %10s %10s %10s %10s %10s %10s %10s %10s %8s\n",
	       "SIZE", "NODE", "NR", "FREE", "RESV", "SURPLUS", "OVERCOMMIT",
	       "MINIMUM", "CURRENT", "MAXIMUM", "MEMORY");
	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		struct counters c;
		int nodes[HP_MAX_NODES], nn;

		if (only && h != only)
			continue;
		read_counters(h, -1, &c);
		ctl_size_str(h->size, sz, sizeof(sz));
		if (h == def)
			strcat(sz, "*");
		ctl_size_str(c.v[NR] * h->size, mem, sizeof(mem));
		printf("%-6s %-5s", sz, "all");
		for (k = NR; k <= OVER; k++)
			col(&c, k);
		printf(" %10lu %10lu %10lu %8s\n", persistent(&c), c.v[NR],
		       persistent(&c) + c.v[OVER], c.v[NR] ? mem : "0");
		nn = ctl_nodes(h, nodes, HP_MAX_NODES);
		for (k = 0; k < nn; k++) {
			struct counters cn;
			char node[16];
			int m;

			read_counters(h, nodes[k], &cn);
			snprintf(node, sizeof(node), "%d", nodes[k]);
			ctl_size_str(cn.v[NR] * h->size, mem, sizeof(mem));
			printf("%-6s %-5s", "", node);
			/* the kernel keeps no per-node resv or overcommit */
			for (m = NR; m <= OVER; m++)
				col(&cn, m);
			printf(" %10lu %10lu %10s %8s\n", persistent(&cn), cn.v[NR],
			       "-", cn.v[NR] ? mem : "0");
		}
	}
	printf("(* default size; MINIMUM = NR - SURPLUS, MAXIMUM = MINIMUM + OVERCOMMIT)\n");

	printf("\nhugetlbfs mounts:\n");
	k = 0;
	for (j = 0; j < ms->n; j++) {
		const struct ctl_mount *m = &ms->m[j];

		if (!ctl_mount_is_hugetlbfs(m, only ? only->size : 0))
			continue;
		ctl_size_str(ctl_mount_pagesize(m), sz, sizeof(sz));
		printf("  %-30s %-5s %s\n", m->dir, sz, m->opts);
		k++;
	}
	if (!k)
		printf("  none\n");

	print_cgroups_text(only);

	printf("\ntransparent huge pages:");
	ctl_bracketed("/sys/kernel/mm/transparent_hugepage/enabled", thp, sizeof(thp));
	printf(" enabled=%s", thp[0] ? thp : "unavailable");
	ctl_bracketed("/sys/kernel/mm/transparent_hugepage/defrag", thp, sizeof(thp));
	if (thp[0])
		printf(" defrag=%s", thp);
	ctl_bracketed("/sys/kernel/mm/transparent_hugepage/shmem_enabled", thp, sizeof(thp));
	if (thp[0])
		printf(" shmem_enabled=%s", thp);
	if (ctl_read_text("/sys/kernel/mm/transparent_hugepage/khugepaged/defrag", thp,
			  sizeof(thp)) > 0)
		printf(" khugepaged/defrag=%c", thp[0]);
	printf("\n");
}

static void json_counters(const struct counters *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(global_files); i++)
		if (c->have[i])
			printf(",\"%s\":%lu", global_files[i], c->v[i]);
}

static void json_thp(const char *key, const char *file, bool first)
{
	char path[128], v[32];

	snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/%s", file);
	ctl_bracketed(path, v, sizeof(v));
	printf("%s\"%s\":", first ? "" : ",", key);
	if (v[0])
		json_str(stdout, v);
	else
		printf("null");
}

/* size=/min_size= of a mount as a number of bytes, or null */
static void json_opt_num(const char *opts, const char *key)
{
	unsigned long v;
	char s[64];

	if (ctl_opt_get(opts, key, s, sizeof(s)) && !hp_parse_ulong(s, &v))
		printf(",\"%s\":%lu", key, v);
	else
		printf(",\"%s\":null", key);
}

static void print_json(const struct hp_hstate *only, const struct ctl_mounts *ms)
{
	const struct hp_hstate *def = hp_default_hstate();
	bool first = true;
	size_t j;
	int i, k;

	printf("{\"default_page_size\":%zu,\"page_sizes\":[", def ? def->size : 0);
	for (i = 0; i < hp_hstate_count(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		int nodes[HP_MAX_NODES], nn;
		struct counters c;

		if (only && h != only)
			continue;
		read_counters(h, -1, &c);
		printf("%s{\"page_size\":%zu,\"name\":", first ? "" : ",", h->size);
		json_str(stdout, h->name);
		printf(",\"default\":%s", h == def ? "true" : "false");
		json_counters(&c);
		printf(",\"minimum\":%lu,\"current\":%lu,\"maximum\":%lu,\"nodes\":[",
		       persistent(&c), c.v[NR], persistent(&c) + c.v[OVER]);
		nn = ctl_nodes(h, nodes, HP_MAX_NODES);
		for (k = 0; k < nn; k++) {
			read_counters(h, nodes[k], &c);
			printf("%s{\"node\":%d", k ? "," : "", nodes[k]);
			json_counters(&c);
			printf("}");
		}
		printf("]}");
		first = false;
	}
	printf("],\"mounts\":[");
	first = true;
	for (j = 0; j < ms->n; j++) {
		const struct ctl_mount *m = &ms->m[j];
		size_t ps = ctl_mount_pagesize(m);

		if (!ctl_mount_is_hugetlbfs(m, only ? only->size : 0))
			continue;
		printf("%s{\"dir\":", first ? "" : ",");
		json_str(stdout, m->dir);
		printf(",\"source\":");
		json_str(stdout, m->src);
		printf(",\"page_size\":%zu,\"options\":", ps);
		json_str(stdout, m->opts);
		json_opt_num(m->opts, "size");
		json_opt_num(m->opts, "min_size");
		printf("}");
		first = false;
	}
	printf("]");
	print_cgroups_json(only);
	printf(",\"transparent_hugepage\":{");
	json_thp("enabled", "enabled", true);
	json_thp("defrag", "defrag", false);
	json_thp("shmem_enabled", "shmem_enabled", false);
	printf("}}\n");
}

static void help(void)
{
	printf("Usage: hugepool-ctl show [--json | --format FORMAT] [--size SIZE]\n"
	       "                         [--cgroup PATH]\n\n"
	       "Show the kernel's huge page pools per size, in total and per NUMA node,\n"
	       "with the minimum/current/maximum view, the hugetlbfs mounts, the hugetlb\n"
	       "cgroup limits and usage of this process (v1 and v2) and the transparent\n"
	       "huge page mode.\n\n"
	       "  -j, --json         JSON, with the sysfs file names as keys\n"
	       "  -f, --format F     text, json, openmetrics (a scrape), or prometheus\n"
	       "                     (node_exporter's textfile collector)\n"
	       "  -c, --cgroup PATH  the hugetlb limits of that cgroup directory\n"
	       "  -s, --size SIZE    only this page size\n"
	       "  -h, --help         this help\n");
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "size", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct hp_hstate *only = NULL;
	const char *size = NULL, *cgroup = NULL;
	struct ctl_mounts ms;
	int ch, status = CTL_USAGE, ret, fmt = CTL_FMT_TEXT;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":js:f:c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': fmt = CTL_FMT_JSON; break;
		case 'f':
			if (ctl_metrics_format(optarg, &fmt))
				return CTL_USAGE;
			break;
		case 'c': cgroup = optarg; break;
		case 's': size = optarg; break;
		case 'h': help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind]);
	if (size) {
		only = ctl_parse_hstate(size, &status);
		if (!only)
			return status;
	} else if (ctl_hstates() <= 0) {
		return ctl_error(CTL_FAIL, "this kernel has no huge page support "
				 "(no /sys/kernel/mm/hugepages)");
	}
	ret = ctl_mounts_read(&ms);
	if (ret) {
		ctl_warn("cannot read /proc/mounts: %s; mounts not shown", strerror(-ret));
		ms.m = NULL;
		ms.n = 0;
	}
	cg_n = ctl_cgroup_locs(cgroup, cg_locs, 2);
	if (cg_n < 0) {
		ctl_mounts_free(&ms);
		return -cg_n;
	}
	if (fmt == CTL_FMT_OPENMETRICS || fmt == CTL_FMT_PROMETHEUS)
		ret = ctl_om_show(only, &ms, cg_locs, cg_n);
	else if (fmt == CTL_FMT_JSON)
		print_json(only, &ms);
	else
		print_table(only, &ms);
	ctl_mounts_free(&ms);
	if (fflush(stdout) || ferror(stdout))
		return ctl_error(CTL_FAIL, "cannot write the output: %s", strerror(errno));
	return CTL_OK;
}
