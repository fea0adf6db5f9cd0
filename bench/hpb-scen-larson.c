/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-larson.c - larson and mix: small-object throughput (issue 14),
 * ns per operation, with the process's malloc.
 *
 * larson is a server-like mix after Larson and Krishnan's benchmark:
 * --small-threads threads (2) each keep --heap-slots objects (10000) of 8 B
 * to 1 KiB (log-uniform) live and replace a random one per operation (free
 * + malloc, reading the old object and writing the new one). Every
 * --heap-slots operations each thread hands a quarter of its live objects
 * to the next thread (between two barriers), which frees them as it meets
 * them: about one free in six is a cross-thread free, of memory another
 * thread wrote last. mix is the single-threaded small mix: one thread, no
 * hand-off, and 1/16 of the operations a realloc, 1/16 a calloc.
 *
 * The figure is the threads' CPU time over the operations (as in "small":
 * a thread waiting for a CPU, or at a barrier, counts for no peer), the
 * median of runs in the parent's alternating order. Held and the share on
 * huge pages are read with the live set in place (hpb-heap.c).
 */
#include "hpb.h"
#include "support.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LA_LO		8
#define LA_HI		1024
#define LA_SIZES	4096	/* a table of sizes: no log() per operation */

struct la_shared {
	pthread_barrier_t hand;		/* the workload threads */
	pthread_barrier_t all;		/* and the main thread */
	int nthreads;
	unsigned int slots, share;
	unsigned long rounds, per_round;
	bool mix;
	const uint32_t *sizes;
	unsigned char ***box;		/* a thread's hand-off: its first share slots */
	uint32_t **boxlen;
};

struct __attribute__((aligned(64))) la_thread {
	pthread_t t;
	int id;
	unsigned char **slot;
	uint32_t *len;
	uint64_t seed, sum;
	double cpu;
	size_t live;
	struct la_shared *sh;
};

static volatile uint64_t sink;

static size_t la_bytes(void)
{
	/* the live set (about 210 B a slot), its tables, and as much again */
	return (size_t)hpb_opt.small_threads * hpb_opt.heap_slots * 2 * 256 + 16 * MB;
}

static int la_prepare(void)
{
	char title[96];

	snprintf(title, sizeof(title), "8 B..1 KiB, %d threads x %u live, 1/4 handed on, %lu ops",
		 hpb_opt.small_threads, hpb_opt.heap_slots, hpb_opt.small_ops);
	hpb_heap_metrics("larson", title, "ns/op", true);
	return 0;
}

static int mix_prepare(void)
{
	char title[96];

	snprintf(title, sizeof(title), "8 B..1 KiB, 1 thread x %u live, 1/16 realloc, 1/16 calloc, %lu ops",
		 hpb_opt.heap_slots, hpb_opt.small_ops);
	hpb_heap_metrics("mix", title, "ns/op", true);
	return 0;
}

static void la_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	hpb_heap_needs(p, la_bytes(), n2m, n1g);
}

/* One operation on slot i: the old object is read and let go, a new one
 * written. NULL from the allocator ends the worker (hpb_heap_oom). */
static inline void la_op(struct la_thread *w, uint64_t *seed, uint64_t *sum)
{
	uint64_t r = hpb_rand(seed);
	unsigned int i = (unsigned int)(r % w->sh->slots), kind = (unsigned int)(r >> 40) & 15;
	uint32_t n = w->sh->sizes[(r >> 20) % LA_SIZES];
	unsigned char *p = w->slot[i];

	*sum += p[0] + p[w->len[i] - 1];
	if (w->sh->mix && kind == 0) {
		p = realloc(p, n);
	} else {
		free(p);
		p = w->sh->mix && kind == 1 ? calloc(1, n) : malloc(n);
	}
	if (!p)
		hpb_heap_oom(n);
	p[0] = (unsigned char)r;
	p[n - 1] = (unsigned char)(r >> 8);
	w->slot[i] = p;
	w->len[i] = n;
}

/* The first share slots go to the next thread; the previous thread's come
 * in. The second barrier keeps a box from being refilled while read. */
static void la_handoff(struct la_thread *w)
{
	struct la_shared *sh = w->sh;
	int prev = (w->id + sh->nthreads - 1) % sh->nthreads;
	size_t np = sh->share * sizeof(*w->slot), nl = sh->share * sizeof(*w->len);

	if (sh->nthreads < 2)
		return;
	memcpy(sh->box[w->id], w->slot, np);
	memcpy(sh->boxlen[w->id], w->len, nl);
	pthread_barrier_wait(&sh->hand);
	memcpy(w->slot, sh->box[prev], np);
	memcpy(w->len, sh->boxlen[prev], nl);
	pthread_barrier_wait(&sh->hand);
}

static void *la_thread_main(void *arg)
{
	struct la_thread *w = arg;
	struct la_shared *sh = w->sh;
	uint64_t seed = w->seed, sum = 0;
	unsigned long r, k;
	unsigned int i;
	double t0;

	for (i = 0; i < sh->slots; i++) {
		w->len[i] = sh->sizes[hpb_rand(&seed) % LA_SIZES];
		w->slot[i] = malloc(w->len[i]);
		if (!w->slot[i])
			hpb_heap_oom(w->len[i]);
		w->slot[i][0] = (unsigned char)i;
	}
	pthread_barrier_wait(&sh->all);
	t0 = thread_cpu();
	for (r = 0; r < sh->rounds; r++) {
		for (k = 0; k < sh->per_round; k++)
			la_op(w, &seed, &sum);
		la_handoff(w);
	}
	w->cpu = thread_cpu() - t0;
	for (i = 0; i < sh->slots; i++)
		w->live += w->len[i];
	w->sum = sum;
	/* the main thread reads held and the share with the live set in
	 * place, then everything is freed */
	pthread_barrier_wait(&sh->all);
	pthread_barrier_wait(&sh->all);
	for (i = 0; i < sh->slots; i++)
		free(w->slot[i]);
	return NULL;
}

static int la_tables(struct la_shared *sh, struct la_thread *w, uint32_t *sizes)
{
	int i;

	hpb_heap_sizes(sizes, LA_SIZES, LA_LO, LA_HI);
	for (i = 0; i < sh->nthreads; i++) {
		w[i].id = i;
		w[i].sh = sh;
		w[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1) + (uint64_t)hpb_opt.run;
		w[i].slot = calloc(sh->slots, sizeof(*w[i].slot));
		w[i].len = calloc(sh->slots, sizeof(*w[i].len));
		sh->box[i] = calloc(sh->share, sizeof(**sh->box));
		sh->boxlen[i] = calloc(sh->share, sizeof(**sh->boxlen));
		if (!w[i].slot || !w[i].len || !sh->box[i] || !sh->boxlen[i])
			return -1;
	}
	return 0;
}

static int la_run(const char *name, int nthreads, bool mix)
{
	static uint32_t sizes[LA_SIZES];
	struct la_shared sh = { .nthreads = nthreads, .slots = hpb_opt.heap_slots, .mix = mix,
				.sizes = sizes };
	struct la_thread *w = aligned_alloc(64, sizeof(*w) * (size_t)nthreads);
	struct hpb_heap_mark mark;
	void *stacks = hpb_heap_stacks(nthreads);
	size_t live = 0;
	double cpu = 0;
	uint64_t sum = 0;
	int i;

	if (w)
		memset(w, 0, sizeof(*w) * (size_t)nthreads);
	sh.share = sh.slots / 4;
	sh.rounds = hpb_opt.small_ops / sh.slots ? hpb_opt.small_ops / sh.slots : 1;
	sh.per_round = hpb_opt.small_ops / sh.rounds;
	sh.box = calloc((size_t)nthreads, sizeof(*sh.box));
	sh.boxlen = calloc((size_t)nthreads, sizeof(*sh.boxlen));
	if (!w || !stacks || !sh.box || !sh.boxlen || la_tables(&sh, w, sizes)) {
		hpb_fail("setup: %s", strerror(errno));
		return -1;
	}
	pthread_barrier_init(&sh.hand, NULL, (unsigned int)nthreads);
	pthread_barrier_init(&sh.all, NULL, (unsigned int)nthreads + 1);
	hpb_heap_mark(&mark);
	for (i = 0; i < nthreads; i++)
		if (hpb_heap_thread(&w[i].t, stacks, i, la_thread_main, &w[i]))
			return -1;
	pthread_barrier_wait(&sh.all);
	pthread_barrier_wait(&sh.all);	/* the churn is done */
	for (i = 0; i < nthreads; i++) {
		cpu += w[i].cpu;
		live += w[i].live;
		sum += w[i].sum;
	}
	hpb_heap_emit(name, &mark, live);
	pthread_barrier_wait(&sh.all);
	for (i = 0; i < nthreads; i++)
		pthread_join(w[i].t, NULL);
	sink = sum;
	hpb_emit(name, cpu * 1e9 / ((double)sh.rounds * (double)sh.per_round * nthreads));
	return 0;
}

static int la_worker(struct hpb_alloc *a, int job)
{
	return la_run("larson", hpb_opt.small_threads, false);
}

static int mix_worker(struct hpb_alloc *a, int job)
{
	return la_run("mix", 1, true);
}

static void la_verdict(FILE *out)
{
	hpb_heap_verdict_speed(out, "larson");
	hpb_heap_verdict_share(out, "larson");
}

static void mix_verdict(FILE *out)
{
	hpb_heap_verdict_speed(out, "mix");
	hpb_heap_verdict_share(out, "mix");
}

const struct hpb_scenario hpb_scen_larson = {
	.name = "larson",
	.title = "larson: small objects on threads that free each other's (issue 14)",
	.prepare = la_prepare,
	.applies = hpb_heap_applies,
	.needs = la_needs,
	.worker = la_worker,
	.verdict = la_verdict,
};

const struct hpb_scenario hpb_scen_mix = {
	.name = "mix",
	.title = "mix: small objects on one thread, malloc, calloc, realloc, free (issue 14)",
	.prepare = mix_prepare,
	.applies = hpb_heap_applies,
	.needs = la_needs,
	.worker = mix_worker,
	.verdict = mix_verdict,
};
