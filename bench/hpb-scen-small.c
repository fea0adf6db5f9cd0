/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-small.c - small: what LD_PRELOAD=libhugepool.so costs a program
 * whose allocations are all small (overhead %), and what the other
 * malloc replacements do with the same program.
 *
 * The workload is bench/preload-small.c's: threads each keep 4096 objects
 * of 16 B to 4 KiB (log-uniform) live and replace a random one per
 * operation (1/16 calloc, 1/16 realloc, the rest free + malloc), reading
 * and writing a little of each. None reaches the preload's threshold, so
 * every call takes its fast path (a compare for malloc, an address lookup
 * for free) on to glibc. The figure is CPU nanoseconds per operation (the
 * threads' CPU time, so time spent waiting for a CPU on a busy machine
 * counts for neither side); runs alternate the order of the peers.
 *
 * The reference is hugepool-preload, so glibc's ratio below 1 is the
 * preload's overhead: overhead = hugepool-preload / glibc - 1.
 */
#include "hpb.h"
#include "support.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SM_SLOTS	4096

static int sm_prepare(void)
{
	char title[96];

	snprintf(title, sizeof(title), "small objects 16 B..4 KiB, %d threads x %lu operations",
		 hpb_opt.small_threads, hpb_opt.small_ops);
	hpb_metric_add("small", title, "ns/op", false, "hugepool-preload");
	return 0;
}

/* the process malloc, whoever provides it */
static bool sm_applies(const struct hpb_peer *p)
{
	return p->kind == HPB_GLIBC || p->kind == HPB_HUGEPOOL_PRELOAD ||
	       (p->kind == HPB_PRELOAD && p->page_size != GB);
}

static void sm_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	/* glibc's hugetlb=2 arenas and mimalloc's segments: a few pages */
	if (p->page_size == 2 * MB && p->kind != HPB_HUGEPOOL_PRELOAD)
		*n2m = 64 * (size_t)hpb_opt.small_threads + 32;
}

static volatile uint64_t sink;	/* the reads of the workload are used */

struct sm_thread {
	pthread_t t;
	unsigned long ops;
	uint64_t seed, sum;
	double cpu;
	pthread_barrier_t *bar;
};

/* The live set is made before the barrier; the churn is measured (the
 * workload is tests/support/small-workload.c's). */
static void *sm_thread_main(void *arg)
{
	struct sm_thread *w = arg;
	struct small_set set;
	uint64_t seed = w->seed;
	double cpu;

	small_set_fill(&set, SM_SLOTS, &seed);
	pthread_barrier_wait(w->bar);
	cpu = thread_cpu();
	w->sum = small_churn(&set, w->ops, &seed);
	w->cpu = thread_cpu() - cpu;
	small_set_free(&set);
	w->seed = seed;
	return NULL;
}

static int sm_worker(struct hpb_alloc *a, int job)
{
	int n = hpb_opt.small_threads, i;
	struct sm_thread *w = calloc((size_t)n, sizeof(*w));
	pthread_barrier_t bar;
	uint64_t sum = 0;
	double cpu = 0;

	if (!w)
		return -1;
	pthread_barrier_init(&bar, NULL, (unsigned int)n + 1);
	for (i = 0; i < n; i++) {
		w[i].ops = hpb_opt.small_ops;
		w[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		w[i].bar = &bar;
		if (pthread_create(&w[i].t, NULL, sm_thread_main, &w[i])) {
			hpb_fail("pthread_create failed");
			return -1;
		}
	}
	pthread_barrier_wait(&bar);
	for (i = 0; i < n; i++) {
		pthread_join(w[i].t, NULL);
		sum += w[i].sum;
		cpu += w[i].cpu;
	}
	pthread_barrier_destroy(&bar);
	sink = sum;
	hpb_emit("small", cpu * 1e9 / ((double)hpb_opt.small_ops * n));
	free(w);
	return 0;
}

static void sm_verdict(FILE *out)
{
	int m = hpb_metric_find("small");
	const struct hpb_peer *g = hpb_peer_find("glibc"), *h = hpb_peer_find("hugepool-preload");
	const struct hpb_series *gs = hpb_series(m, hpb_peer_index(g));
	const struct hpb_series *hs = hpb_series(m, hpb_peer_index(h));
	double over;

	if (!gs->n || !hs->n) {
		fprintf(out, "   target: preload overhead <= 5%%: no figure\n");
		return;
	}
	over = (hpb_series_median(hs) / hpb_series_median(gs) - 1) * 100;
	fprintf(out, "   target: preload overhead <= 5%%: %.2f vs %.2f ns/op: %+.1f%%: %s\n",
		hpb_series_median(hs), hpb_series_median(gs), over, over <= 5 ? "met" : "MISSED");
}

const struct hpb_scenario hpb_scen_small = {
	.name = "small",
	.title = "small: the preload's cost to small allocations",
	.prepare = sm_prepare,
	.applies = sm_applies,
	.needs = sm_needs,
	.run_factor = 2,
	.worker = sm_worker,
	.verdict = sm_verdict,
};
