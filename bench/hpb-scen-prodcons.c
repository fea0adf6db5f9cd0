/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-prodcons.c - prodcons: one thread mallocs, another frees
 * (issue 14): every free is a cross-thread free, the pattern of a queue
 * between a network thread and its workers.
 *
 * The producer mallocs --small-ops objects of 8 B to 1 KiB (log-uniform),
 * writes each and passes them in batches of PC_BATCH through a ring of
 * PC_RING batches; the consumer reads each and frees it. The figure is the
 * CPU time the two threads spend in malloc and in free, timed per batch
 * (thread CPU clock), over the objects: ns per malloc+free pair. Waiting
 * on an empty or full ring is not timed, so a peer is not charged for the
 * scheduler. Held is read once half of the objects are through, while both
 * threads run, in MiB (the live set is only the ring's, so a ratio to it
 * says little).
 */
#include "hpb.h"
#include "support.h"

#include <errno.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PC_BATCH	256
#define PC_RING		64
#define PC_LO		8
#define PC_HI		1024
#define PC_SIZES	4096

struct pc_ring {
	_Alignas(64) atomic_ulong head;		/* batches produced */
	_Alignas(64) atomic_ulong tail;		/* batches consumed */
	_Alignas(64) unsigned long batches;
	unsigned char *(*batch)[PC_BATCH];
	uint32_t sizes[PC_SIZES];
	double cpu[2];
	uint64_t sum;
};

static volatile uint64_t sink;

static int pc_prepare(void)
{
	char title[96];

	snprintf(title, sizeof(title), "8 B..1 KiB, one thread mallocs, one frees, %lu objects",
		 hpb_opt.small_ops);
	hpb_heap_metrics("prodcons", title, "ns/pair", false);
	return 0;
}

static void pc_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	/* the ring's objects, and room for caches */
	hpb_heap_needs(p, PC_RING * PC_BATCH * 2 * PC_HI + 32 * MB, n2m, n1g);
}

static void *producer(void *arg)
{
	struct pc_ring *q = arg;
	uint64_t seed = 0xbb67ae8584caa73bULL + (uint64_t)hpb_opt.run;
	unsigned long b;
	double cpu = 0, t;
	int k;

	for (b = 0; b < q->batches; b++) {
		unsigned char **v = q->batch[b % PC_RING];

		while (b - atomic_load_explicit(&q->tail, memory_order_acquire) == PC_RING)
			sched_yield();
		t = thread_cpu();
		for (k = 0; k < PC_BATCH; k++) {
			uint32_t n = q->sizes[hpb_rand(&seed) % PC_SIZES];

			v[k] = malloc(n);
			if (!v[k])
				hpb_heap_oom(n);
			v[k][0] = (unsigned char)k;
			v[k][n - 1] = (unsigned char)b;
		}
		cpu += thread_cpu() - t;
		atomic_store_explicit(&q->head, b + 1, memory_order_release);
	}
	q->cpu[0] = cpu;
	return NULL;
}

static void *consumer(void *arg)
{
	struct pc_ring *q = arg;
	uint64_t sum = 0;
	unsigned long b;
	double cpu = 0, t;
	int k;

	for (b = 0; b < q->batches; b++) {
		unsigned char **v = q->batch[b % PC_RING];

		while (atomic_load_explicit(&q->head, memory_order_acquire) == b)
			sched_yield();
		t = thread_cpu();
		for (k = 0; k < PC_BATCH; k++) {
			sum += v[k][0];
			free(v[k]);
		}
		cpu += thread_cpu() - t;
		atomic_store_explicit(&q->tail, b + 1, memory_order_release);
	}
	q->cpu[1] = cpu;
	q->sum = sum;
	return NULL;
}

static int pc_worker(struct hpb_alloc *a, int job)
{
	struct pc_ring *q = aligned_alloc(64, sizeof(*q));
	struct hpb_heap_mark mark;
	void *stacks = hpb_heap_stacks(2);
	struct timespec ms = { 0, 1000 * 1000 };
	pthread_t t[2];
	int i;

	if (q)
		memset(q, 0, sizeof(*q));
	if (q)
		q->batch = calloc(PC_RING, sizeof(*q->batch));
	if (!q || !q->batch || !stacks) {
		hpb_fail("setup: %s", strerror(errno));
		return -1;
	}
	hpb_heap_sizes(q->sizes, PC_SIZES, PC_LO, PC_HI);
	q->batches = (hpb_opt.small_ops + PC_BATCH - 1) / PC_BATCH;
	hpb_heap_mark(&mark);
	if (hpb_heap_thread(&t[0], stacks, 0, producer, q) ||
	    hpb_heap_thread(&t[1], stacks, 1, consumer, q))
		return -1;
	/* held, while both threads run */
	while (atomic_load(&q->tail) < q->batches / 2)
		nanosleep(&ms, NULL);
	hpb_heap_emit("prodcons", &mark, 0);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	sink = q->sum;
	hpb_emit("prodcons", (q->cpu[0] + q->cpu[1]) * 1e9 / ((double)q->batches * PC_BATCH));
	return 0;
}

static void pc_verdict(FILE *out)
{
	hpb_heap_verdict_speed(out, "prodcons");
	hpb_heap_verdict_share(out, "prodcons");
}

const struct hpb_scenario hpb_scen_prodcons = {
	.name = "prodcons",
	.title = "prodcons: one thread mallocs, another frees (issue 14)",
	.prepare = pc_prepare,
	.applies = hpb_heap_applies,
	.needs = pc_needs,
	.worker = pc_worker,
	.verdict = pc_verdict,
};
