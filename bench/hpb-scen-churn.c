/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-churn.c - churn: alloc/free pairs of 256 KiB to 64 MiB, never
 * touched, on 1 and 2 threads (ns per pair): the allocator's own cost for
 * big blocks, without the memory traffic that usually hides it.
 *
 * Each thread keeps 8 blocks live and, per pair, frees the oldest and
 * allocates a new one, sizes drawn log-uniformly from one fixed sequence
 * per thread (the same for every peer), so a pair is not just the same
 * block handed back and forth. A run lasts about CH_SECONDS after a warm-up
 * of the same length (which fills pools and caches).
 *
 * On 2 threads the figure is elapsed time x 2 / pairs: per thread, so that
 * perfect scaling shows the 1-thread figure and a lock that serialises the
 * threads shows about twice it. Both threads run the whole time; elapsed
 * (wall clock) time is the only honest clock for that, so this figure moves
 * with the load of the machine more than the others.
 */
#include "hpb.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CH_LIVE		8
#define CH_MIN		(256 * KB)
#define CH_MAX		(64 * MB)
#define CH_SECONDS	0.25
#define CH_CHUNK	32	/* pairs between clock reads */

static int ch_prepare(void)
{
	hpb_metric_add("churn-1t", "alloc+free, 256 KiB..64 MiB, 8 live, untouched, 1 thread",
		       "ns/pair", false, "hugepool");
	hpb_metric_add("churn-2t", "the same on 2 threads (elapsed x 2 / pairs)",
		       "ns/pair", false, "hugepool");
	return 0;
}

/* not raw 1 GiB pages: a page per block would need 16 of them */
static bool ch_applies(const struct hpb_peer *p)
{
	return !(p->kind == HPB_MMAP && p->page_size == GB);
}

static void ch_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	/* at most 2 threads x 8 live x 64 MiB */
	if (p->page_size == 2 * MB)
		*n2m = 2 * CH_LIVE * (CH_MAX / (2 * MB) + 1) + 16;
	else if (p->page_size == GB)
		*n1g = 2;
}

/* one cache line apiece at least: two threads' hot state must not share */
struct __attribute__((aligned(64))) ch_thread {
	struct hpb_alloc *a;
	uint64_t seed;
	void *blk[CH_LIVE];
	size_t len[CH_LIVE];
	unsigned int next;
	unsigned long pairs;
	int failed;
	pthread_t t;
	const volatile int *stop;
	pthread_barrier_t *bar;
};

static int pair(struct ch_thread *c)
{
	unsigned int i = c->next++ % CH_LIVE;

	if (c->blk[i])
		hpb_free(c->a, c->blk[i], c->len[i]);
	c->len[i] = hpb_rand_size(&c->seed, CH_MIN, CH_MAX);
	c->blk[i] = hpb_alloc(c->a, c->len[i]);
	if (!c->blk[i]) {
		c->failed = 1;
		return -1;
	}
	return 0;
}

static void drain(struct ch_thread *c)
{
	int i;

	for (i = 0; i < CH_LIVE; i++)
		if (c->blk[i]) {
			hpb_free(c->a, c->blk[i], c->len[i]);
			c->blk[i] = NULL;
		}
}

/* pairs until *stop */
static void *ch_thread_main(void *arg)
{
	struct ch_thread *c = arg;
	int k;

	pthread_barrier_wait(c->bar);
	while (!*c->stop && !c->failed) {
		for (k = 0; k < CH_CHUNK; k++)
			if (pair(c))
				break;
		c->pairs += (unsigned long)k;
	}
	return NULL;
}

/* 1 thread: pairs for about seconds of the chosen clock; ns per pair */
static double one_thread(struct ch_thread *c, double seconds)
{
	double t0 = hpb_now(), t;
	unsigned long n = 0;
	int k;

	do {
		for (k = 0; k < CH_CHUNK; k++)
			if (pair(c))
				return -1;
		n += CH_CHUNK;
		t = hpb_now() - t0;
	} while (t < seconds);
	return t / (double)n * 1e9;
}

static double two_threads(struct hpb_alloc *a, double seconds, uint64_t seed)
{
	struct ch_thread c[2];
	pthread_barrier_t bar;
	volatile int stop = 0;
	double t0, t;
	int i;

	memset(c, 0, sizeof(c));
	pthread_barrier_init(&bar, NULL, 3);
	for (i = 0; i < 2; i++) {
		c[i].a = a;
		c[i].seed = seed + (uint64_t)i * 7919;
		c[i].stop = &stop;
		c[i].bar = &bar;
		pthread_create(&c[i].t, NULL, ch_thread_main, &c[i]);
	}
	pthread_barrier_wait(&bar);
	t0 = hpb_wall();
	do {
		struct timespec ts = { 0, 5 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		t = hpb_wall() - t0;
	} while (t < seconds);
	stop = 1;
	for (i = 0; i < 2; i++)
		pthread_join(c[i].t, NULL);
	t = hpb_wall() - t0;
	pthread_barrier_destroy(&bar);
	for (i = 0; i < 2; i++)
		drain(&c[i]);
	if (c[0].failed || c[1].failed || !(c[0].pairs + c[1].pairs))
		return -1;
	return t * 2 / (double)(c[0].pairs + c[1].pairs) * 1e9;
}

static int ch_worker(struct hpb_alloc *a, int job)
{
	struct ch_thread c;
	double ns;

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.seed = 0x5851f42d4c957f2dULL;
	if (one_thread(&c, CH_SECONDS) < 0)	/* warm-up */
		goto fail;
	ns = one_thread(&c, CH_SECONDS);
	if (ns < 0)
		goto fail;
	drain(&c);
	hpb_emit("churn-1t", ns);

	if (two_threads(a, CH_SECONDS / 2, 0x2545f4914f6cdd1dULL) < 0)	/* warm-up */
		goto fail2;
	ns = two_threads(a, CH_SECONDS, 0x2545f4914f6cdd1dULL);
	if (ns < 0)
		goto fail2;
	hpb_emit("churn-2t", ns);
	return 0;
fail:
	hpb_fail("allocation of %zu bytes failed: %m", c.len[(c.next - 1) % CH_LIVE]);
	return -1;
fail2:
	hpb_fail("allocation failed on 2 threads: %m");
	return -1;
}

/* issue 14: a pair in at most 100 ns on one thread; two threads that do
 * not serialise (at most 1.3x the 1-thread figure per pair) */
static void ch_verdict_issue14(FILE *out)
{
	const struct hpb_peer *hp = hpb_peer_find("hugepool");
	const struct hpb_series *s1 = hpb_series(hpb_metric_find("churn-1t"), hpb_peer_index(hp));
	const struct hpb_series *s2 = hpb_series(hpb_metric_find("churn-2t"), hpb_peer_index(hp));
	double one = hpb_series_median(s1), two = hpb_series_median(s2);

	if (!s1->n || !s2->n) {
		fprintf(out, "   target: churn-1t <= 100 ns/pair, churn-2t <= 1.3x churn-1t: no figure\n");
		return;
	}
	fprintf(out, "   target: churn-1t <= 100 ns/pair: hugepool %.0f: %s\n", one,
		one <= 100 ? "met" : "MISSED");
	fprintf(out, "   target: churn-2t <= 1.3x churn-1t: hugepool %.0f / %.0f = %.2fx: %s\n", two, one,
		two / one, two <= 1.3 * one ? "met" : "MISSED");
}

static void ch_verdict(FILE *out)
{
	hpb_verdict_ahead(out, hpb_metric_find("churn-1t"), "churn-1t");
	hpb_verdict_ahead(out, hpb_metric_find("churn-2t"), "churn-2t");
	ch_verdict_issue14(out);
}

const struct hpb_scenario hpb_scen_churn = {
	.name = "churn",
	.title = "churn: the allocator's own cost for big blocks",
	.prepare = ch_prepare,
	.applies = ch_applies,
	.needs = ch_needs,
	.worker = ch_worker,
	.verdict = ch_verdict,
};
