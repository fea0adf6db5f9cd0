/* SPDX-License-Identifier: MIT */
/*
 * hpb-heap.c - what the whole-heap scenarios (issue 14: larson, prodcons,
 * mix, chase) share: the peers they take (the process's malloc, whoever
 * provides it), the huge pages those need, the threads of a workload, and
 * the two read-backs of the worker's own memory that every one of them
 * reports next to its time:
 *
 *  - held: RssAnon growth since the mark plus every HugetlbPages byte of
 *    the process (/proc/self/status), as in the waste scenario: a peer that
 *    took huge pages at start (mimalloc's 1 GiB reserve, hugepool's
 *    minimum) holds them for the workload;
 *  - huge: the share of the heap's resident bytes on hugetlb pages, read
 *    back from /proc/self/smaps (hpb_backing_heap): hugetlb bytes touched
 *    over those plus the growth of private anonymous memory since the mark.
 *    THP is not hugetlb and counts against it.
 *
 * The mark is taken after the allocator is initialised and the workload's
 * own tables are made, and the workload's threads run on stacks mapped and
 * touched before it, so that what grows after the mark is the heap.
 */
#include "hpb.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HEAP_STACK	(512 * KB)

bool hpb_heap_applies(const struct hpb_peer *p)
{
	return p->kind == HPB_GLIBC || p->kind == HPB_PRELOAD || p->kind == HPB_HUGEPOOL_PRELOAD;
}

void hpb_heap_needs(const struct hpb_peer *p, size_t bytes, size_t *n2m, size_t *n1g)
{
	if (p->page_size == 2 * MB)
		*n2m = bytes / (2 * MB) + 32;
	else if (p->page_size == GB)
		*n1g = (bytes + GB - 1) / GB;
}

void hpb_heap_metrics(const char *name, const char *title, const char *unit, bool per_live)
{
	char n[24];
	int m;

	hpb_metric_add(name, title, unit, false, HPB_HEAP_REF);
	snprintf(n, sizeof(n), "%s-held", name);
	hpb_metric_add(n, per_live ? "held (RssAnon + HugetlbPages) per live byte, at the end" :
		       "held (RssAnon + HugetlbPages) during the workload",
		       per_live ? "x" : "MiB", false, HPB_HEAP_REF);
	snprintf(n, sizeof(n), "%s-huge", name);
	m = hpb_metric_add(n, "share of the heap's resident bytes on hugetlb pages (smaps)", "%",
			   true, HPB_HEAP_REF);
	hpb_metric(m)->table_only = true;
}

/* ------------------------------------------------------------------------
 * worker side
 * ------------------------------------------------------------------------ */
void hpb_heap_sizes(uint32_t *sizes, int n, size_t lo, size_t hi)
{
	uint64_t seed = 0x6a09e667f3bcc908ULL;
	int i;

	/* log-uniform, and any byte count (hpb_rand_size's are multiples
	 * of 16): every size class is hit, not only the aligned ones */
	for (i = 0; i < n; i++)
		sizes[i] = (uint32_t)(hpb_rand_size(&seed, lo, hi - 15) + hpb_rand(&seed) % 16);
}

void *hpb_heap_stacks(int n)
{
	size_t len = HEAP_STACK * (size_t)n;
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
		       -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* resident before the mark: a thread's stack is not the heap's */
	if (madvise(p, len, MADV_POPULATE_WRITE)) {
		munmap(p, len);
		return NULL;
	}
	return p;
}

int hpb_heap_thread(pthread_t *t, void *stacks, int i, void *(*fn)(void *), void *arg)
{
	pthread_attr_t at;
	int err;

	pthread_attr_init(&at);
	pthread_attr_setstack(&at, (char *)stacks + HEAP_STACK * (size_t)i, HEAP_STACK);
	err = pthread_create(t, &at, fn, arg);
	pthread_attr_destroy(&at);
	if (err)
		hpb_fail("pthread_create: %s", strerror(err));
	return err ? -1 : 0;
}

void hpb_heap_oom(size_t size)
{
	/* from any thread: the others may wait at a barrier for it */
	hpb_fail("an allocation of %zu bytes failed: %s", size, strerror(errno));
	_exit(1);
}

void hpb_heap_mark(struct hpb_heap_mark *m)
{
	void *warm = malloc(64);	/* the allocator is initialised first */

	free(warm);
	hpb_backing_heap(&m->bk);
	m->rss = hpb_status_bytes("RssAnon");
}

static size_t grown(size_t now, size_t then)
{
	return now > then ? now - then : 0;
}

void hpb_heap_emit(const char *name, const struct hpb_heap_mark *m, size_t live)
{
	struct hpb_backing now, d;
	long rss = hpb_status_bytes("RssAnon") - m->rss, huge = hpb_status_bytes("HugetlbPages");
	double held = (double)(rss > 0 ? rss : 0) + (double)(huge > 0 ? huge : 0), all;
	char n[24], pages[48];

	hpb_backing_heap(&now);
	d.b4k = grown(now.b4k, m->bk.b4k);
	d.thp = grown(now.thp, m->bk.thp);
	d.h2m = now.h2m;	/* all of them: see held above */
	d.h1g = now.h1g;
	all = (double)(d.b4k + d.thp + d.h2m + d.h1g);
	hpb_backing_str(&d, pages, sizeof(pages));
	hpb_emit_pages(name, pages);
	snprintf(n, sizeof(n), "%s-held", name);
	hpb_emit_pages(n, pages);
	hpb_emit(n, live ? held / (double)live : held / MB);
	snprintf(n, sizeof(n), "%s-huge", name);
	hpb_emit_pages(n, pages);
	hpb_emit(n, all > 0 ? 100.0 * (double)(d.h2m + d.h1g) / all : 0);
}

/* ------------------------------------------------------------------------
 * parent side: the targets of issue 14
 * ------------------------------------------------------------------------ */

/* the median of a peer's figure, 0 if it has none */
static double med(int m, const char *peer)
{
	const struct hpb_peer *p = hpb_peer_find(peer);

	return m >= 0 && p ? hpb_series_median(hpb_series(m, hpb_peer_index(p))) : 0;
}

/* The best (lowest) of the peers whose name starts with one of prefixes. */
static double best_of(int m, const char *const *prefixes, int n, const char **who)
{
	double best = 0;
	int i, k;

	for (i = 0; i < hpb_npeers; i++) {
		double v = med(m, hpb_peers[i].name);

		for (k = 0; k < n; k++)
			if (v > 0 && !strncmp(hpb_peers[i].name, prefixes[k], strlen(prefixes[k])) &&
			    (!best || v < best)) {
				best = v;
				*who = hpb_peers[i].name;
			}
	}
	return best;
}

void hpb_heap_verdict_speed(FILE *out, const char *metric)
{
	static const char *const rivals[] = { "jemalloc", "tcmalloc", "mimalloc" };
	int m = hpb_metric_find(metric);
	const char *who = "", *unit = m >= 0 ? hpb_metric(m)->unit : "";
	double h = med(m, HPB_HEAP_REF), g = med(m, "glibc");
	double b = best_of(m, rivals, (int)ARRAY_SIZE(rivals), &who);

	fprintf(out, "   target: %s at threshold 0 within 10%% of the best of jemalloc, tcmalloc, mimalloc: ",
		metric);
	if (h <= 0 || b <= 0)
		fprintf(out, "no figure\n");
	else if (h <= 1.10 * b)
		fprintf(out, "%.1f vs %s %.1f %s, %.2fx: met\n", h, who, b, unit, h / b);
	else
		fprintf(out, "%.1f vs %s %.1f %s, %.2fx: MISSED (by %.0f%%)\n", h, who, b, unit, h / b,
			(h / (1.10 * b) - 1) * 100);
	fprintf(out, "   target: %s at threshold 0 ahead of glibc: ", metric);
	if (h <= 0 || g <= 0)
		fprintf(out, "no figure\n");
	else
		fprintf(out, "%.1f vs %.1f %s, %.2fx: %s\n", h, g, unit, g / h, h < g ? "met" : "MISSED");
}

void hpb_heap_verdict_share(FILE *out, const char *scen)
{
	char n[24];
	double s;
	int m;

	snprintf(n, sizeof(n), "%s-huge", scen);
	m = hpb_metric_find(n);
	s = med(m, HPB_HEAP_REF);
	if (m < 0 || !hpb_series(m, hpb_peer_index(hpb_peer_find(HPB_HEAP_REF)))->n) {
		fprintf(out, "   target: %s at threshold 0, >= 99%% of the heap on hugetlb pages: no figure\n",
			scen);
		return;
	}
	fprintf(out, "   target: %s at threshold 0, >= 99%% of the heap on hugetlb pages (smaps): %.2f%%: %s\n",
		scen, s, s >= 99 ? "met" : "MISSED");
}
