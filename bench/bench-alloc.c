/* SPDX-License-Identifier: MIT */
/*
 * bench-alloc.c - hugepool_malloc against glibc malloc, side by side in one
 * run (a program, not a timed test: it prints numbers and ratios).
 *
 *  1. alloc+free pairs per second for blocks of 2 MiB to 64 MiB, from a
 *     warm pool, against glibc malloc and glibc with
 *     GLIBC_TUNABLES=glibc.malloc.hugetlb=2 (its mmap'd chunks on huge
 *     pages); plus the same pair with a write to every 4 KiB of the block,
 *     which is where glibc pays for fresh pages.
 *  2. write bandwidth of a loop that allocates 1 GiB as 16 blocks of 64 MiB,
 *     writes every byte, frees them, and again; against both glibc
 *     variants and against plain memset over memory that is already
 *     resident (4 KiB pages, and 2 MiB pages).
 *  3. lock scaling: pairs per second from 1 to 8 threads, bare and with 64
 *     KiB of writes per block, against an ideal per-thread cache (each
 *     thread reusing one block): the reason there is no per-thread cache.
 *
 * glibc reads its tunables once at startup, so the glibc variants run in a
 * child, bench-alloc-glibc (this file built with BENCH_GLIBC_ONLY, linked
 * without libhugepool: linking it would put its malloc wrappers in front of
 * glibc's), exec'd with GLIBC_TUNABLES set or unset; it prints its results
 * as lines for the parent to read. Every figure is the median of several
 * runs. The glibc children run first, while the kernel's huge pages are
 * all free (hugetlb=2 needs 512 of them for the loop); the pool is created
 * after.
 *
 * Usage: bench-alloc [--runs N] [--section 1|2|3]   (from the build directory)
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_GLIBC_ONLY
#include <hugepool/hugepool.h>
#endif

#include "support.h"

#define MB		(1UL << 20)
#define GB		(1UL << 30)
#define NSIZES		6
#define LOOP_BLOCKS	16
#define LOOP_BLOCK	(64 * MB)
#define LOOP_ROUNDS	3

static const size_t sizes[NSIZES] = { 2 * MB, 4 * MB, 8 * MB, 16 * MB, 32 * MB, 64 * MB };
static int runs = 5;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* An allocator under test. */
struct allocator {
	void *(*alloc)(void *ctx, size_t size);
	void (*free)(void *ctx, void *p);
	void *ctx;
};

static volatile char sink;

/* n alloc+free pairs of size bytes; touch: write one byte per 4 KiB. */
static double pairs_once(const struct allocator *al, size_t size, long n, bool touch)
{
	double t0 = now_s();
	long i;

	for (i = 0; i < n; i++) {
		char *p = al->alloc(al->ctx, size);

		if (!p) {
			fprintf(stderr, "bench: allocation of %zu bytes failed\n", size);
			exit(1);
		}
		if (touch) {
			size_t off;

			/* a different line of each 4 KiB: the same line of
			 * every 4 KiB of a huge page falls into a few cache
			 * sets, and that would measure the cache, not us */
			for (off = 0; off < size; off += 4096)
				p[off + (off >> 6) % 4096] = (char)off;
		} else {
			sink = p[0];	/* keep the pair from being elided */
		}
		al->free(al->ctx, p);
	}
	return now_s() - t0;
}

/* Median nanoseconds per pair; each run lasts about 50 ms. */
static double pairs_ns(const struct allocator *al, size_t size, bool touch)
{
	double v[64];
	long n = 1;
	int r;

	pairs_once(al, size, 4, touch);		/* warm */
	while (pairs_once(al, size, n, touch) < 0.05 && n < (1L << 30))
		n *= 2;
	for (r = 0; r < runs; r++)
		v[r] = pairs_once(al, size, n, touch) / (double)n * 1e9;
	return median(v, runs);
}

/* GB/s of one run of the loop: 1 GiB as 16 x 64 MiB, write every byte,
 * free; LOOP_ROUNDS times, after one round to warm up. */
static double loop_gbps(const struct allocator *al)
{
	char *b[LOOP_BLOCKS];
	double t0 = 0;
	int k, i;

	for (k = -1; k < LOOP_ROUNDS; k++) {
		if (k == 0)
			t0 = now_s();
		for (i = 0; i < LOOP_BLOCKS; i++) {
			b[i] = al->alloc(al->ctx, LOOP_BLOCK);
			if (!b[i]) {
				fprintf(stderr, "bench: 64 MiB allocation failed: the loop needs 1 GiB of free huge pages (is something else using them?)\n");
				exit(1);
			}
			memset(b[i], k + i + 2, LOOP_BLOCK);
		}
		for (i = 0; i < LOOP_BLOCKS; i++)
			al->free(al->ctx, b[i]);
	}
	return (double)LOOP_ROUNDS * LOOP_BLOCKS * LOOP_BLOCK / (now_s() - t0) / 1e9;
}

#ifdef BENCH_GLIBC_ONLY
static void *glibc_alloc(void *ctx, size_t size)
{
	(void)ctx;
	return malloc(size);
}

static void glibc_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

/* The glibc side, printed as "key value..." lines for the parent: the
 * pairs (what), or one run of the loop. */
static int glibc_child(const char *what)
{
	struct allocator al = { glibc_alloc, glibc_free, NULL };
	char *p;
	int i;

	if (!strcmp(what, "loop")) {
		printf("loop %.3f\n", loop_gbps(&al));
		return 0;
	}

	/* did the tunable put 64 MiB chunks on huge pages? */
	p = malloc(LOOP_BLOCK);
	if (!p)
		return 1;
	memset(p, 1, 4096);
	printf("pagesize %ld\n", smaps_page_size(p));
	free(p);
	for (i = 0; i < NSIZES; i++)
		printf("pairs %zu %.1f %.1f\n", sizes[i], pairs_ns(&al, sizes[i], false),
		       pairs_ns(&al, sizes[i], true));
	return 0;
}

/* Usage: bench-alloc-glibc RUNS pairs|loop */
int main(int argc, char **argv)
{
	if (argc != 3)
		return 2;
	runs = atoi(argv[1]);
	if (runs < 1 || runs > 64)
		runs = 5;
	return glibc_child(argv[2]);
}
#else

/* ------------------------------------------------------------------------
 * the parent: hugepool, the glibc children, memset
 * ------------------------------------------------------------------------ */
struct glibc_result {
	bool ok;
	long pagesize;
	double pair_ns[NSIZES], touch_ns[NSIZES];
	double loop;
};

/* Run bench-alloc-glibc with GLIBC_TUNABLES set to tunables (NULL: unset)
 * for what ("pairs" or "loop") and parse what it prints into res. */
static void run_glibc(const char *tunables, const char *what, struct glibc_result *res)
{
	char exe[PATH_MAX], path[PATH_MAX + 32], runs_arg[16], line[256];
	int fd[2], status;
	ssize_t n;
	char *slash;
	FILE *f;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return;
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%s/bench-alloc-glibc", exe);
	snprintf(runs_arg, sizeof(runs_arg), "%d", runs);
	if (pipe(fd))
		return;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		if (tunables)
			setenv("GLIBC_TUNABLES", tunables, 1);
		else
			unsetenv("GLIBC_TUNABLES");
		execl(path, path, runs_arg, what, (char *)NULL);
		fprintf(stderr, "bench: cannot run %s\n", path);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	while (f && fgets(line, sizeof(line), f)) {
		size_t size;
		double a, b;
		int i;

		if (sscanf(line, "pagesize %ld", &res->pagesize) == 1)
			continue;
		if (sscanf(line, "loop %lf", &res->loop) == 1)
			continue;
		if (sscanf(line, "pairs %zu %lf %lf", &size, &a, &b) == 3)
			for (i = 0; i < NSIZES; i++)
				if (sizes[i] == size) {
					res->pair_ns[i] = a;
					res->touch_ns[i] = b;
				}
	}
	if (f)
		fclose(f);
	res->ok = waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
		  WEXITSTATUS(status) == 0;
	if (!res->ok)
		fprintf(stderr, "bench: %s %s failed (is bench-alloc-glibc next to bench-alloc?)\n",
			path, what);
}

static void *pool_alloc(void *ctx, size_t size)
{
	return hugepool_malloc(ctx, size);
}

static void pool_free(void *ctx, void *p)
{
	(void)ctx;
	hugepool_free(p);
}

/* memset over resident memory: GB/s of LOOP_ROUNDS passes over 1 GiB
 * (after one to warm up); 0 if the memory cannot be had. */
static double memset_gbps(bool huge)
{
	double t0 = 0, gbps;
	char *p;
	int k;

	p = mmap(NULL, GB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		 (huge ? MAP_HUGETLB : 0), -1, 0);
	if (p == MAP_FAILED)
		return 0;
	if (!huge)
		madvise(p, GB, MADV_NOHUGEPAGE);
	if (madvise(p, GB, 23 /* MADV_POPULATE_WRITE */)) {
		munmap(p, GB);
		return 0;
	}
	for (k = -1; k < LOOP_ROUNDS; k++) {
		if (k == 0)
			t0 = now_s();
		memset(p, k + 2, GB);
	}
	gbps = (double)LOOP_ROUNDS * GB / (now_s() - t0) / 1e9;
	munmap(p, GB);
	return gbps;
}

/*
 * Lock scaling: threads doing pairs, optionally writing 64 KiB of each
 * block. ideal: instead of the allocator, each thread reuses one block of
 * its own, which is what a per-thread cache could at best achieve (a hit
 * every time, no cost): the upper bound of what one would gain.
 */
struct thr {
	struct hugepool *pool;
	size_t size;
	bool work, ideal;
	long n;
	pthread_barrier_t *bar;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	char *mine = t->ideal ? hugepool_malloc(t->pool, t->size) : NULL;
	long i;

	pthread_barrier_wait(t->bar);
	for (i = 0; i < t->n; i++) {
		char *p = mine ? mine : hugepool_malloc(t->pool, t->size);

		if (!p)
			abort();
		if (t->work)
			memset(p, (int)i, 64 * 1024);
		else
			sink = p[0];
		if (!mine)
			hugepool_free(p);
	}
	hugepool_free(mine);
	return NULL;
}

/* total pairs per second with nthreads threads (median) */
static double threads_rate(struct hugepool *pool, int nthreads, size_t size, bool work,
			   bool ideal)
{
	pthread_t t[8];
	struct thr a[8];
	pthread_barrier_t bar;
	double v[64];
	long n = work ? 20000 : 400000;
	int r, i;

	for (r = 0; r < runs; r++) {
		double t0;

		pthread_barrier_init(&bar, NULL, (unsigned int)nthreads + 1);
		for (i = 0; i < nthreads; i++) {
			a[i] = (struct thr){ pool, size, work, ideal, n / nthreads, &bar };
			pthread_create(&t[i], NULL, thr_main, &a[i]);
		}
		t0 = now_s();
		pthread_barrier_wait(&bar);
		for (i = 0; i < nthreads; i++)
			pthread_join(t[i], NULL);
		v[r] = (double)(n / nthreads * nthreads) / (now_s() - t0);
		pthread_barrier_destroy(&bar);
	}
	return median(v, runs);
}

static const char *verdict(bool ok)
{
	return ok ? "met" : "MISSED";
}

int main(int argc, char **argv)
{
	double pool_pair[NSIZES], pool_touch[NSIZES], worst = 0;
	double loop[64], gloop[64], hloop[64], ms4k[64], ms2m[64];
	double lp, gl, hl, m4, m2;
	struct glibc_result g, h, gr;
	struct allocator al;
	struct hugepool *pool;
	size_t psz;
	int i, r, only = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--runs"))
			runs = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--section"))
			only = atoi(argv[i + 1]);
	}
	if (runs < 1 || runs > 64)
		runs = 5;
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench-alloc: hugepool %s, %ld CPUs, medians of %d runs\n",
	       hugepool_version(), sysconf(_SC_NPROCESSORS_ONLN), runs);

	if (only && only != 1)
		goto loop;
	/* 1. pairs: glibc first, while the kernel's huge pages are free */
	run_glibc(NULL, "pairs", &g);
	run_glibc("glibc.malloc.hugetlb=2", "pairs", &h);
	pool = hugepool_create(NULL);	/* the kernel's default page size */
	if (!pool) {
		perror("bench: hugepool_create");
		return 1;
	}
	psz = hugepool_page_size(pool);
	al = (struct allocator){ pool_alloc, pool_free, pool };
	for (i = 0; i < NSIZES; i++) {
		pool_pair[i] = pairs_ns(&al, sizes[i], false);
		pool_touch[i] = pairs_ns(&al, sizes[i], true);
		if (pool_pair[i] > worst)
			worst = pool_pair[i];
	}
	hugepool_destroy(pool);

	printf("\n1. alloc+free pairs, ns per pair (pairs per second); pool of %zu KiB pages, warm\n",
	       psz >> 10);
	printf("   (64 MiB chunks of glibc are on %ld KiB pages, of glibc hugetlb=2 on %ld KiB)\n",
	       g.pagesize / 1024, h.pagesize / 1024);
	printf("%-8s %22s %22s %22s\n", "size", "hugepool", "glibc", "glibc hugetlb=2");
	for (i = 0; i < NSIZES; i++)
		printf("%3zu MiB  %10.0f (%8.2fM/s) %10.0f (%8.2fM/s) %10.0f (%8.2fM/s)\n",
		       sizes[i] / MB, pool_pair[i], 1e3 / pool_pair[i], g.pair_ns[i],
		       1e3 / g.pair_ns[i], h.pair_ns[i], 1e3 / h.pair_ns[i]);
	printf("   the same with a first write to every 4 KiB of the block, ns per pair:\n");
	for (i = 0; i < NSIZES; i++)
		printf("%3zu MiB  %22.0f %22.0f %22.0f\n", sizes[i] / MB, pool_touch[i],
		       g.touch_ns[i], h.touch_ns[i]);
	printf("   target: a warm pair under 200 ns: worst %.0f ns: %s\n", worst,
	       verdict(worst < 200));

loop:
	if (only && only != 2)
		goto scaling;
	/*
	 * 2. the loop. The machine may be busy with other work, which moves
	 * memory bandwidth from one minute to the next; so each run measures
	 * all five one after the other, and the medians compare like with
	 * like. The pool is made (and warmed by the loop's first round) in
	 * each run and destroyed before the glibc children, which need the
	 * kernel's huge pages (hugetlb=2: 512 of them).
	 */
	for (r = 0; r < runs; r++) {
		run_glibc(NULL, "loop", &gr);
		gloop[r] = gr.loop;
		run_glibc("glibc.malloc.hugetlb=2", "loop", &gr);
		hloop[r] = gr.loop;
		ms4k[r] = memset_gbps(false);
		ms2m[r] = memset_gbps(true);
		pool = hugepool_create(NULL);
		if (!pool) {
			perror("bench: hugepool_create");
			return 1;
		}
		al = (struct allocator){ pool_alloc, pool_free, pool };
		loop[r] = loop_gbps(&al);
		hugepool_destroy(pool);
	}
	lp = median(loop, runs);
	gl = median(gloop, runs);
	hl = median(hloop, runs);
	m4 = median(ms4k, runs);
	m2 = median(ms2m, runs);
	printf("\n2. 1 GiB as 16 x 64 MiB, write every byte, free; repeated (GB/s)\n");
	printf("   hugepool %.2f   glibc %.2f   glibc hugetlb=2 %.2f\n", lp, gl, hl);
	printf("   memset over resident memory: 4 KiB pages %.2f, 2 MiB pages %.2f\n", m4, m2);
	/* the loop writes every byte: no allocator makes that faster than
	 * memset over memory that is already there, which bounds the ratios */
	printf("   bound: memset over resident memory is %.1fx glibc and %.2fx glibc hugetlb=2 here\n",
	       (m4 > m2 ? m4 : m2) / gl, (m4 > m2 ? m4 : m2) / hl);
	printf("   target: >= 10x glibc: %.1fx: %s\n", lp / gl, verdict(lp >= 10 * gl));
	printf("   target: >= 2x glibc hugetlb=2: %.2fx: %s\n", lp / hl, verdict(lp >= 2 * hl));
	printf("   target: within 1.5x of memset: %.2fx the time of 4 KiB-resident, %.2fx of 2 MiB-resident: %s\n",
	       m4 / lp, m2 / lp, verdict(m4 / lp <= 1.5 && (m2 == 0 || m2 / lp <= 1.5)));

scaling:
	if (only && only != 3)
		return 0;
	/* 3. lock scaling */
	pool = hugepool_create(NULL);
	if (!pool) {
		perror("bench: hugepool_create");
		return 1;
	}
	printf("\n3. lock scaling (no per-thread cache): million pairs per second, all threads;\n"
	       "   'ideal cache': each thread reuses a block of its own, the most a\n"
	       "   per-thread cache could give\n");
	printf("%-8s %10s %10s %18s %18s\n", "threads", "2 MiB", "256 KiB",
	       "2 MiB + 64 KiB wr", "  ideal cache");
	for (i = 1; i <= 8; i *= 2)
		printf("%-8d %10.2f %10.2f %18.3f %18.3f\n", i,
		       threads_rate(pool, i, 2 * MB, false, false) / 1e6,
		       threads_rate(pool, i, 256 * 1024, false, false) / 1e6,
		       threads_rate(pool, i, 2 * MB, true, false) / 1e6,
		       threads_rate(pool, i, 2 * MB, true, true) / 1e6);
	hugepool_destroy(pool);
	return 0;
}
#endif
