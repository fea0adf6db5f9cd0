/* SPDX-License-Identifier: MIT */
/*
 * glibc-edge.c - edge cases of glibc's own malloc tests, as one program
 * that must pass without the preload (glibc) and with it, where the
 * interesting run is HUGEPOOL_THRESHOLD=0: every block of a byte or more
 * then comes from the pool (issue 14, "Edge cases from glibc's malloc
 * tests").
 *
 *  usable    tst-malloc-usable: malloc_usable_size >= the request for every
 *            size 1..4096 and some larger, every usable byte writable
 *  align     tst-memalign, tst-posix_memalign, tst-aligned-alloc: every
 *            power of two from 1 to 64 MiB, as each function accepts it
 *  einval    posix_memalign's EINVAL: not a power of two, not a multiple
 *            of sizeof(void *); the result pointer untouched
 *  realloc   tst-realloc: every size 1..4096 and some larger grows and
 *            shrinks with its contents; one block up 1..4096 and down
 *            again; realloc(p, 0) frees, realloc(NULL, n) allocates
 *  calloc    tst-calloc: overflow is NULL and ENOMEM; blocks that reuse
 *            dirty memory are zero
 *  zero      malloc(0) gives unique, non-NULL, freeable pointers
 *  signal    a free from a signal handler interrupting malloc and free,
 *            small blocks and large (async-signal-unsafe; glibc tolerates
 *            it single-threaded)
 *  fork      tst-mallocfork2 with threads: fork() while two threads are
 *            in malloc, 100 times; each child mallocs, frees and exits 0
 *
 * Under the preload, every block of at least the threshold must be the
 * pool's (hugepool_owner), and at threshold 1 a small block must sit on a
 * 2048 kB KernelPageSize mapping. Prints one line per case; exit 0 only if
 * every case passed.
 *
 * usage: glibc-edge [CASE...]   (no argument: all)
 */
#include "preload-test.h"

#include <malloc.h>
#include <pthread.h>
#include <stdalign.h>
#include <sys/time.h>

/* the overflowing and odd requests are the point */
#pragma GCC diagnostic ignored "-Walloc-size-larger-than="
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wnonnull"
#pragma GCC diagnostic ignored "-Wuse-after-free"	/* realloc failed: p is live */

#define MALLOC_ALIGN	alignof(max_align_t)

static size_t T;		/* the preload's threshold, if preloaded */
static bool preloaded;
static unsigned long served, failures;

#define FAILF(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

/* hide p from __builtin_dynamic_object_size: bytes up to the usable size
 * are written, past what the compiler thinks was asked for */
static void *launder(void *p)
{
	__asm__ volatile("" : "+r"(p));
	return p;
}

/* A fresh block of n requested bytes from what: not NULL, aligned to
 * align (and to max_align_t), and the pool's when the preload should
 * serve it. Returns whether it is usable. */
static bool fresh(const char *what, void *p, size_t n, size_t align)
{
	if (!p) {
		FAILF("%s(%zu): NULL (%s)", what, n, strerror(errno));
		return false;
	}
	if ((uintptr_t)p % (align > MALLOC_ALIGN ? align : MALLOC_ALIGN))
		FAILF("%s(%zu): %p not aligned to %zu", what, n, p, align);
	if (preloaded && n >= T) {
		if (pt_owner(p))
			served++;
		else
			FAILF("%s(%zu): not from the pool at threshold %zu", what, n, T);
	}
	return true;
}

/* 1..4096, then some larger sizes; 0 at the end */
static size_t nth_size(size_t i)
{
	static const size_t big[] = { 4097, 8191, 65536 + 3, 300000, 3 * MB + 5 };

	if (i < 4096)
		return i + 1;
	return i - 4096 < ARRAY_LEN(big) ? big[i - 4096] : 0;
}

/* ------------------------------------------------------------- usable */
static void case_usable(void)
{
	for (size_t i = 0, n; (n = nth_size(i)); i++) {
		unsigned char *p = malloc(n), *q;
		size_t u, bad;

		if (!fresh("malloc", p, n, 0))
			continue;
		u = malloc_usable_size(p);
		if (u < n)
			FAILF("malloc_usable_size(malloc(%zu)) = %zu", n, u);
		q = launder(p);
		pt_fill(q, u, (unsigned int)n);
		if ((bad = pt_unfilled(q, u, (unsigned int)n)) != SIZE_MAX)
			FAILF("malloc(%zu): byte %zu of usable %zu does not read back", n, bad, u);
		free(p);
	}
	if (malloc_usable_size(NULL) != 0)
		FAILF("malloc_usable_size(NULL) != 0");
}

/* At threshold 1 the heap is on huge pages: a small block's mapping says
 * so in smaps (the kernel's word, not the library's). */
static void case_smaps(void)
{
	void *p = malloc(24);
	long kps;

	if (!fresh("malloc", p, 24, 0))
		return;
	kps = smaps_page_size(p);
	if (preloaded && T <= 24 && kps != (long)HUGE_2M)
		FAILF("malloc(24) at threshold %zu: KernelPageSize %ld kB, not 2048 kB", T,
		      kps / 1024);
	else if (!preloaded && kps != sysconf(_SC_PAGESIZE))
		FAILF("malloc(24) without the preload: KernelPageSize %ld kB", kps / 1024);
	free(p);
}

/* -------------------------------------------------------------- align */
enum afn { A_MEMALIGN, A_POSIX_MEMALIGN, A_ALIGNED_ALLOC, A_NR };
static const char *const afn_names[A_NR] = { "memalign", "posix_memalign", "aligned_alloc" };

static void *aligned(enum afn f, size_t align, size_t n)
{
	void *p = NULL;
	int r;

	switch (f) {
	case A_MEMALIGN:
		return memalign(align, n);
	case A_POSIX_MEMALIGN:
		r = posix_memalign(&p, align, n);
		if (r) {
			errno = r;
			return NULL;
		}
		return p;
	default:
		return aligned_alloc(align, n);
	}
}

static void case_align(void)
{
	for (int f = 0; f < A_NR; f++) {
		for (size_t align = 1; align <= 64 * MB; align *= 2) {
			/* posix_memalign takes multiples of sizeof(void *)
			 * only (EINVAL below, in case_einval) */
			const size_t sizes[] = { 1, 100, align + 1 };

			if (f == A_POSIX_MEMALIGN && align < sizeof(void *))
				continue;
			for (size_t s = 0; s < ARRAY_LEN(sizes); s++) {
				size_t n = sizes[s] > 8 * MB ? 8 * MB : sizes[s];
				unsigned char *p = aligned((enum afn)f, align, n);

				if (!fresh(afn_names[f], p, n, align))
					continue;
				if (malloc_usable_size(p) < n)
					FAILF("%s(%zu, %zu): usable %zu", afn_names[f], align, n,
					      malloc_usable_size(p));
				/* laundered: a store right before free is dead
				 * to the compiler, and the point is the write */
				memset(launder(p), 0xa5, n);
				if (((volatile unsigned char *)p)[n - 1] != 0xa5)
					FAILF("%s(%zu, %zu): the last byte does not read back",
					      afn_names[f], align, n);
				free(p);
			}
		}
	}
}

static void case_einval(void)
{
	const size_t bad[] = { 0, 1, 2, 3, 4, 6, 12, 24, 48, 4095, 4097, 3 * MB,
			       SIZE_MAX, SIZE_MAX / 2 + 2 };
	void *sentinel = (void *)&failures;

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		void *p = sentinel;
		int e, r;

		errno = 4242;
		r = posix_memalign(&p, bad[i], 100);
		e = errno;
		if (r != EINVAL)
			FAILF("posix_memalign(%zu): %d, not EINVAL", bad[i], r);
		if (p != sentinel)
			FAILF("posix_memalign(%zu): the result pointer changed", bad[i]);
		if (e != 4242)
			FAILF("posix_memalign(%zu) set errno (%d)", bad[i], e);
	}
}

/* ------------------------------------------------------------ realloc */
/* p (n bytes filled with seed n) to m bytes: the first min(n, m) kept */
static unsigned char *moved(unsigned char *p, size_t n, size_t m)
{
	unsigned char *q = realloc(p, m);
	size_t keep = n < m ? n : m, bad;

	if (!fresh("realloc", q, m, 0)) {
		free(p);
		return NULL;
	}
	if ((bad = pt_unfilled(q, keep, (unsigned int)n)) != SIZE_MAX)
		FAILF("realloc %zu -> %zu: byte %zu of %zu lost", n, m, bad, keep);
	pt_fill(q, m, (unsigned int)m);
	return q;
}

static void case_realloc(void)
{
	unsigned char *p;

	/* each size up to three times its size and down to half */
	for (size_t i = 0, n; (n = nth_size(i)); i++) {
		p = malloc(n);
		if (!fresh("malloc", p, n, 0))
			continue;
		pt_fill(p, n, (unsigned int)n);
		if ((p = moved(p, n, 3 * n + 7)) && (p = moved(p, 3 * n + 7, n / 2 + 1)))
			free(p);
	}
	/* one block through every size class, up and down */
	p = malloc(1);
	if (!fresh("malloc", p, 1, 0))
		return;
	pt_fill(p, 1, 1);
	for (size_t n = 2; p && n <= 4096; n++)
		p = moved(p, n - 1, n);
	for (size_t n = 4095; p && n >= 1; n--)
		p = moved(p, n + 1, n);
	/* glibc: realloc(p, 0) frees p and returns NULL */
	errno = 4242;
	if (p && (p = realloc(p, 0)))
		FAILF("realloc(p, 0) returned %p, not NULL", (void *)p);
	if (errno != 4242)
		FAILF("realloc(p, 0) changed errno to %d", errno);
	p = realloc(NULL, 5000);
	if (fresh("realloc(NULL)", p, 5000, 0))
		free(p);
}

/* ------------------------------------------------------------- calloc */
static void case_calloc_overflow(void)
{
	const struct { size_t n, size; } over[] = {
		{ SIZE_MAX, 2 }, { 2, SIZE_MAX }, { SIZE_MAX / 2 + 1, 2 },
		{ (size_t)1 << 32, (size_t)1 << 32 }, { SIZE_MAX, SIZE_MAX },
		{ ((size_t)1 << 62) + 1, 4 },
	};

	for (size_t i = 0; i < ARRAY_LEN(over); i++) {
		void *p;

		errno = 0;
		p = calloc(over[i].n, over[i].size);
		if (p || errno != ENOMEM) {
			FAILF("calloc(%zu, %zu): %p, errno %d (want NULL, ENOMEM)", over[i].n,
			      over[i].size, p, errno);
			free(p);
		}
	}
}

/* tst-calloc's point: a block made of freed, dirty memory is zero */
static void case_calloc_dirty(void)
{
	enum { N = 16 };
	unsigned char *b[N];

	/* every 37th size up to 4096, then the larger ones */
	for (size_t i = 0, n; (n = nth_size(i)); i = i + 37 < 4096 ? i + 37 : i < 4096 ? 4096 : i + 1) {
		for (int k = 0; k < N; k++) {
			b[k] = malloc(n);
			if (b[k])
				memset(launder(b[k]), 0xa5, malloc_usable_size(b[k]));
		}
		for (int k = 0; k < N; k++)
			free(b[k]);
		for (int k = 0; k < N; k++) {
			b[k] = calloc(1, n);
			if (!fresh("calloc", b[k], n, 0))
				continue;
			for (size_t j = 0; j < n; j++)
				if (b[k][j]) {
					FAILF("calloc(1, %zu) after dirty frees: byte %zu is %#x", n,
					      j, b[k][j]);
					break;
				}
		}
		for (int k = 0; k < N; k++)
			free(b[k]);
	}
	case_calloc_overflow();
}

/* ------------------------------------------------------------- zero */
static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;

	return x < y ? -1 : x > y;
}

static void case_zero(void)
{
	enum { N = 1000 };
	void *p[N];

	for (int i = 0; i < N; i++)
		if (!(p[i] = malloc(0)))
			FAILF("malloc(0) #%d: NULL", i);
	qsort(p, N, sizeof(p[0]), cmp_ptr);
	for (int i = 1; i < N; i++)
		if (p[i] && p[i] == p[i - 1])
			FAILF("malloc(0) returned %p twice", p[i]);
	for (int i = 0; i < N; i++)
		free(p[i]);
}

/* ------------------------------------------------------------- signal */
static void *volatile sig_slot;		/* a block for the handler to free */
static volatile unsigned long sig_frees, sig_bad;

static void sig_free(int sig)
{
	unsigned char *p = __atomic_exchange_n(&sig_slot, NULL, __ATOMIC_SEQ_CST);
	int saved = errno;

	(void)sig;
	if (!p)
		return;
	if (p[0] != 0x5a)
		sig_bad++;
	free(p);
	sig_frees++;
	errno = saved;
}

static uint64_t rnd64(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return *s >> 33;
}

/* In a child: malloc and free in a loop for a second while SIGPROF, every
 * 100 us of CPU time, frees a block in its handler; every block's
 * contents are checked before it is freed. Blocks of up to 600 bytes and,
 * one in eight (one in four in the handler), 300 KiB: above the default
 * threshold, so that the handler's free also interrupts the large path,
 * which takes the pool lock. */
static int signal_child(void *arg)
{
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	unsigned char *live[64] = { 0 };
	size_t len[64] = { 0 };
	uint64_t seed = 42;
	double t0 = pt_now();

	(void)arg;
	CHECK(signal(SIGPROF, sig_free) != SIG_ERR);
	CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
	while (pt_now() - t0 < 1.0) {
		size_t k = rnd64(&seed) % 64, n = k % 8 ? 1 + rnd64(&seed) % 600 : 300 * KB;

		if (live[k] && pt_unfilled(live[k], len[k], (unsigned int)len[k]) != SIZE_MAX)
			return 2;
		free(live[k]);
		live[k] = malloc(n);
		if (!live[k])
			return 3;
		len[k] = n;
		pt_fill(live[k], n, (unsigned int)n);
		if (!sig_slot) {
			unsigned char *q = malloc(rnd64(&seed) % 4 ? 1 + rnd64(&seed) % 300 : 300 * KB);

			if (!q)
				return 3;
			q[0] = 0x5a;
			__atomic_store_n(&sig_slot, q, __ATOMIC_SEQ_CST);
		}
	}
	memset(&it, 0, sizeof(it));
	CHECK(setitimer(ITIMER_PROF, &it, NULL) == 0);
	for (int k = 0; k < 64; k++) {
		if (live[k] && pt_unfilled(live[k], len[k], (unsigned int)len[k]) != SIZE_MAX)
			return 2;
		free(live[k]);
	}
	free(sig_slot);
	printf("signal: %lu frees in the handler\n", sig_frees);
	fflush(stdout);
	return sig_bad ? 4 : sig_frees ? 0 : 5;
}

static void case_signal(void)
{
	static const char *const why[] = { "ok", "?", "a block lost its contents",
		"malloc failed", "the handler's block was corrupt", "no free in the handler" };
	int st = run_in_child(signal_child, NULL, 20);

	if (st)
		FAILF("signal: child status %d (%s)", st,
		      st < (int)ARRAY_LEN(why) ? why[st] : st == 128 + SIGALRM ?
		      "deadlock: killed after 20 s" : "killed by a signal");
}

/* --------------------------------------------------------------- fork */
static volatile bool fork_stop;

/* malloc and free in a loop, sizes of the small heap and a few above the
 * default threshold, some freed by the other thread (a shared slot) */
static void *fork_churn(void *arg)
{
	static void *volatile shared;
	uint64_t seed = (uintptr_t)arg;

	while (!__atomic_load_n(&fork_stop, __ATOMIC_RELAXED)) {
		size_t n = rnd64(&seed) % 16 ? 1 + rnd64(&seed) % 8192 : 300 * KB;
		unsigned char *p = malloc(n);

		if (!p)
			return (void *)1;
		p[0] = p[n - 1] = 7;
		free(__atomic_exchange_n(&shared, p, __ATOMIC_ACQ_REL));
	}
	free(__atomic_exchange_n(&shared, NULL, __ATOMIC_ACQ_REL));
	return NULL;
}

/* the forked child: its own mallocs and frees, then exit 0 */
static int fork_grandchild(void)
{
	uint64_t seed = (uint64_t)getpid();

	alarm(10);	/* a deadlock in here must not outlive the test */
	for (int i = 0; i < 200; i++) {
		size_t n = 1 + rnd64(&seed) % (i % 50 ? 4096 : 400 * KB);
		unsigned char *p = malloc(n);

		if (!p)
			return 3;
		pt_fill(p, n, 9);
		if (pt_unfilled(p, n, 9) != SIZE_MAX)
			return 2;
		free(p);
	}
	return 0;
}

static int fork_child(void *arg)
{
	pthread_t t[2];
	int bad = 0;

	(void)arg;
	for (uintptr_t i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, fork_churn, (void *)(i + 1)) == 0);
	for (int i = 0; i < 100 && !bad; i++) {
		int status;
		pid_t pid = fork();

		if (pid < 0)
			return 4;
		if (pid == 0)
			_exit(fork_grandchild());
		CHECK(waitpid(pid, &status, 0) == pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			bad = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
	__atomic_store_n(&fork_stop, true, __ATOMIC_RELAXED);
	for (int i = 0; i < 2; i++) {
		void *r;

		pthread_join(t[i], &r);
		if (r && !bad)
			bad = 3;
	}
	return bad;
}

static void case_fork(void)
{
	int st = run_in_child(fork_child, NULL, 30);

	if (st)
		FAILF("fork: status %d (%s)", st, st == 128 + SIGALRM ?
		      "a child or the test deadlocked" : "a child failed");
}

/* --------------------------------------------------------------- main */
static const struct {
	const char *name;
	void (*fn)(void);
} cases[] = {
	{ "usable", case_usable }, { "smaps", case_smaps }, { "align", case_align },
	{ "einval", case_einval }, { "realloc", case_realloc }, { "calloc", case_calloc_dirty },
	{ "zero", case_zero }, { "signal", case_signal }, { "fork", case_fork },
};

int main(int argc, char **argv)
{
	unsigned long total = 0;
	int ran = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	preloaded = pt_loaded();
	T = pt_threshold();
	if (preloaded) {
		/* the preload serves at this threshold, whatever cases run
		 * (signal and fork allocate in children) */
		void *p;

		need_free_pages(HUGE_2M, 128);
		p = malloc(T);
		if (fresh("malloc", p, T, 0))
			free(p);
	}
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		bool want = argc < 2;
		double t0 = pt_now();

		for (int a = 1; a < argc; a++)
			want |= !strcmp(argv[a], cases[i].name);
		if (!want)
			continue;
		failures = 0;
		cases[i].fn();
		printf("%-8s %s (%.2f s)\n", cases[i].name, failures ? "FAIL" : "ok", pt_now() - t0);
		total += failures;
		ran++;
	}
	printf("%s: %d cases, %lu failures, %s, %lu blocks from the pool\n", preloaded ?
	       "preloaded" : "glibc", ran, total, preloaded ? "checked against the threshold" :
	       "no preload", served);
	if (!ran || (preloaded && !served))
		return T_FAIL;
	return total ? T_FAIL : T_PASS;
}
