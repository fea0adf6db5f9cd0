/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-chase.c - chase: the TLB effect of the whole heap on huge pages
 * (issue 14): random lookups in a chained hash table of --chase-nodes
 * (10^7) nodes of 32 bytes, each its own malloc, ns per lookup.
 *
 * The table has a bucket per two nodes (a pointer each, one calloc); node i
 * holds a key, a bijective mix of i, so every key is found. Each lookup's
 * key comes from the value the previous one found, so the lookups are a
 * dependent chain of loads to random buckets and random nodes, as in a
 * pointer-chasing program: on 4 KiB pages nearly every load misses the TLB
 * (10^7 nodes are 320 MiB of 32-byte objects, 480 MiB under glibc's
 * 16-byte headers), on 2 MiB pages the page table walk mostly hits.
 *
 * glibc on 4 KiB pages is the baseline of the target (>= 1.3x faster).
 * Held is per live byte (nodes and buckets) after the build; the nodes are
 * not freed one by one at the end: the worker exits.
 */
#include "hpb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CS_LOOKUPS	1000000UL
#define CS_WARM		100000UL

struct node {
	uint64_t key, val;
	struct node *next;
	uint64_t pad;		/* 32 bytes: a tree or list node with a payload */
};

static volatile uint64_t sink;

static size_t cs_buckets(void)
{
	size_t b = 1;

	while (b < hpb_opt.chase_nodes / 2)
		b <<= 1;
	return b;
}

static int cs_prepare(void)
{
	char title[96];

	snprintf(title, sizeof(title), "dependent lookups, hash table of %lu 32-byte nodes",
		 hpb_opt.chase_nodes);
	hpb_heap_metrics("chase", title, "ns/lookup", true);
	return 0;
}

static void cs_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	/* 48 bytes a node at most (a 16-byte header), the buckets */
	hpb_heap_needs(p, hpb_opt.chase_nodes * 48 + cs_buckets() * sizeof(void *), n2m, n1g);
}

/* a bijection of 64-bit integers (splitmix64's finaliser): distinct keys */
static inline uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static struct node **cs_build(size_t nodes, size_t mask)
{
	struct node **table = calloc(mask + 1, sizeof(*table));
	size_t i;

	if (!table)
		hpb_heap_oom((mask + 1) * sizeof(*table));
	for (i = 0; i < nodes; i++) {
		struct node *n = malloc(sizeof(*n));
		uint64_t k = mix(i + 1);

		if (!n)
			hpb_heap_oom(sizeof(*n));
		n->key = k;
		n->val = mix(k);
		n->pad = i;
		n->next = table[k & mask];
		table[k & mask] = n;
	}
	return table;
}

/* count lookups, each key from the value the last one found */
static uint64_t cs_lookups(struct node **table, size_t mask, size_t nodes, unsigned long count,
			   uint64_t i)
{
	unsigned long l;

	for (l = 0; l < count; l++) {
		uint64_t k = mix(i + 1);
		struct node *n = table[k & mask];

		while (n && n->key != k)
			n = n->next;
		if (!n)
			return UINT64_MAX;	/* cannot be: every key is in */
		i = n->val % nodes;
	}
	return i;
}

static int cs_worker(struct hpb_alloc *a, int job)
{
	size_t nodes = hpb_opt.chase_nodes, mask = cs_buckets() - 1;
	struct hpb_heap_mark mark;
	struct node **table;
	uint64_t i;
	double t0, t;

	hpb_heap_mark(&mark);
	table = cs_build(nodes, mask);
	hpb_heap_emit("chase", &mark, nodes * sizeof(struct node) + (mask + 1) * sizeof(*table));
	i = cs_lookups(table, mask, nodes, CS_WARM, (uint64_t)hpb_opt.run);
	t0 = hpb_now();
	i = cs_lookups(table, mask, nodes, CS_LOOKUPS, i);
	t = hpb_now() - t0;
	if (i == UINT64_MAX) {
		hpb_fail("a key of the table was not found");
		return -1;
	}
	sink = i;
	hpb_emit("chase", t * 1e9 / CS_LOOKUPS);
	return 0;
}

/* the target: >= 1.3x faster than glibc on 4 KiB pages */
static void cs_verdict(FILE *out)
{
	int m = hpb_metric_find("chase");
	const struct hpb_series *h = hpb_series(m, hpb_peer_index(hpb_peer_find(HPB_HEAP_REF)));
	const struct hpb_series *g = hpb_series(m, hpb_peer_index(hpb_peer_find("glibc")));
	double r;

	if (!h->n || !g->n) {
		fprintf(out, "   target: chase at threshold 0 >= 1.3x faster than glibc: no figure\n");
	} else {
		r = hpb_series_median(g) / hpb_series_median(h);
		fprintf(out, "   target: chase at threshold 0 >= 1.3x faster than glibc: %.1f vs %.1f ns/lookup, %.2fx: %s\n",
			hpb_series_median(h), hpb_series_median(g), r, r >= 1.3 ? "met" : "MISSED");
	}
	hpb_heap_verdict_share(out, "chase");
}

const struct hpb_scenario hpb_scen_chase = {
	.name = "chase",
	.title = "chase: random lookups over 10^7 small nodes, the TLB effect of the heap (issue 14)",
	.prepare = cs_prepare,
	.applies = hpb_heap_applies,
	.needs = cs_needs,
	.worker = cs_worker,
	.verdict = cs_verdict,
};
