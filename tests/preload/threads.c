/* SPDX-License-Identifier: MIT */
/*
 * threads.c - threads under LD_PRELOAD=libhugepool.so, bounded in time.
 *
 * usage: threads exit|many|race|tsd [seconds]
 *
 *  exit  glibc tst-malloc-thread-exit: generations of threads allocate
 *        small and huge blocks, hand half of them to the next generation
 *        to free (cross-thread free) and exit. Memory must not grow with
 *        the number of generations: the pool's pages in use stay bounded
 *        and are all free at the end.
 *  many  64 threads allocate, write and free huge blocks at once; after
 *        the join the pool holds no page in use, and with
 *        HUGEPOOL_DECAY_MS=0 the kernel's free_hugepages is back at its
 *        baseline inside the process.
 *  race  N threads wait on a barrier and race their first huge malloc:
 *        every block comes from the one default pool.
 *  tsd   a pthread key destructor (what C++ thread_local destructors
 *        become) frees a huge block after the thread's own exit path;
 *        also a block allocated on one thread and freed after it exited.
 *  decay (HUGEPOOL_DECAY_MS=200) a single-threaded program stays single-
 *        threaded: the preload starts no decay thread, and gives freed
 *        surplus pages back on a later free once the decay time passed;
 *        once the program has threads of its own, still no thread of
 *        ours (one started from inside free() can deadlock in glibc's
 *        stack cache lock), and the same later free gives them back.
 */
#include "preload-test.h"

#include <pthread.h>
#include <stdatomic.h>

static size_t T;
static double duration = 2.0;
static int failures;

#define FAILF(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t pool_in_use(void)
{
	struct hugepool_counters c;

	if (pt_counters(&c))
		return 0;
	return c.nr_pages - c.free_pages;
}

/* ---------------------------------------------------------------- exit */
#define GEN_THREADS	8
#define GEN_BLOCKS	16

struct gen_arg {
	void **inherit;		/* blocks of the previous generation to free */
	void **give;		/* blocks for the next generation */
	unsigned int seed;
};

static void *gen_thread(void *p)
{
	struct gen_arg *a = p;

	for (int i = 0; i < GEN_BLOCKS; i++) {
		free(a->inherit[i]);	/* allocated by a thread that has exited */
		a->inherit[i] = NULL;
	}
	for (int i = 0; i < GEN_BLOCKS; i++) {
		size_t n = rnd(&a->seed) % 2 ? 32 + rnd(&a->seed) % 4000 :
			   T + rnd(&a->seed) % (3 * MB);
		void *own = malloc(n);

		if (!own)
			return (void *)1;
		memset(own, 1, n < 65536 ? n : 65536);
		a->give[i] = malloc(n);
		if (!a->give[i])
			return (void *)1;
		memset(a->give[i], 2, n < 65536 ? n : 65536);
		free(own);
	}
	return NULL;
}

static int test_exit(void)
{
	static void *blocks[2][GEN_THREADS][GEN_BLOCKS];
	struct gen_arg args[GEN_THREADS];
	size_t peak_first = 0, peak = 0;
	unsigned long gens = 0;
	double t0 = pt_now();
	int cur = 0;

	while (pt_now() - t0 < duration) {
		pthread_t t[GEN_THREADS];
		size_t used;

		for (int i = 0; i < GEN_THREADS; i++) {
			args[i].inherit = blocks[cur][i];
			args[i].give = blocks[!cur][i];
			args[i].seed = (unsigned int)(gens * 131 + (unsigned long)i);
			CHECK(pthread_create(&t[i], NULL, gen_thread, &args[i]) == 0);
		}
		for (int i = 0; i < GEN_THREADS; i++) {
			void *r;

			pthread_join(t[i], &r);
			if (r)
				FAILF("generation %lu: allocation failed", gens);
		}
		cur = !cur;
		used = pool_in_use();
		if (gens < 5 && used > peak_first)
			peak_first = used;
		if (used > peak)
			peak = used;
		gens++;
	}
	for (int i = 0; i < GEN_THREADS; i++)
		for (int j = 0; j < GEN_BLOCKS; j++)
			free(blocks[cur][i][j]);
	printf("%lu generations of %d threads; pool pages in use: peak %zu (first generations %zu), at the end %zu\n",
	       gens, GEN_THREADS, peak, peak_first, pool_in_use());
	/* live data is bounded (8 x 16 blocks of < 3.3 MiB): so must the pool be */
	if (peak > (size_t)GEN_THREADS * GEN_BLOCKS * 3)
		FAILF("pool pages in use grew to %zu", peak);
	if (pool_in_use())
		FAILF("%zu pool pages still in use", pool_in_use());
	return failures ? T_FAIL : T_PASS;
}

/* ---------------------------------------------------------------- many */
static pthread_barrier_t barrier;

static void *many_thread(void *p)
{
	unsigned int seed = (unsigned int)(uintptr_t)p;
	double t0;

	pthread_barrier_wait(&barrier);
	t0 = pt_now();
	while (pt_now() - t0 < duration / 2) {
		size_t n = T + rnd(&seed) % (4 * MB);
		unsigned char *b = malloc(n);

		if (!b)
			return (void *)1;
		b[0] = 1;
		b[n - 1] = 2;
		memset(b + n / 2, 3, 4096);
		b = realloc(b, n + 2 * MB);
		if (!b || b[0] != 1 || b[n - 1] != 2)
			return (void *)1;
		free(b);
	}
	return NULL;
}

static int test_many(long base)
{
	pthread_t t[64];

	pthread_barrier_init(&barrier, NULL, 64);
	for (int i = 0; i < 64; i++)
		CHECK(pthread_create(&t[i], NULL, many_thread, (void *)(uintptr_t)(i + 1)) == 0);
	for (int i = 0; i < 64; i++) {
		void *r;

		pthread_join(t[i], &r);
		if (r)
			FAILF("thread %d: allocation or contents failed", i);
	}
	printf("64 threads done; pool pages in use %zu\n", pool_in_use());
	if (pool_in_use())
		FAILF("%zu pool pages in use after the join", pool_in_use());
	/* with HUGEPOOL_DECAY_MS=0 freed surplus pages go back at once */
	if (getenv("HUGEPOOL_DECAY_MS") && !strcmp(getenv("HUGEPOOL_DECAY_MS"), "0") &&
	    !pt_baseline_ok(base, "after the join, in the process"))
		failures++;
	return failures ? T_FAIL : T_PASS;
}

/* ---------------------------------------------------------------- race */
#define RACERS 16
static void *race_ptr[RACERS];

static void *race_thread(void *p)
{
	uintptr_t i = (uintptr_t)p;

	pthread_barrier_wait(&barrier);
	race_ptr[i] = malloc(T + i * 4096);
	if (race_ptr[i])
		memset(race_ptr[i], (int)i, T);
	return NULL;
}

static int test_race(void)
{
	pthread_t t[RACERS];
	struct hugepool *owner = NULL;

	pthread_barrier_init(&barrier, NULL, RACERS);
	for (uintptr_t i = 0; i < RACERS; i++)
		CHECK(pthread_create(&t[i], NULL, race_thread, (void *)i) == 0);
	for (int i = 0; i < RACERS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < RACERS; i++) {
		struct hugepool *o = pt_owner(race_ptr[i]);

		if (!race_ptr[i] || !o)
			FAILF("racer %d: block %p not from the pool", i, race_ptr[i]);
		else if (owner && o != owner)
			FAILF("racer %d: a second default pool", i);
		owner = o;
		free(race_ptr[i]);
	}
	printf("%d racing first allocations, one pool\n", RACERS);
	return failures ? T_FAIL : T_PASS;
}

/* ---------------------------------------------------------------- tsd */
static pthread_key_t key;
static void *orphan;

static void tsd_destructor(void *p)
{
	int saved = errno;

	free(p);	/* after the thread function returned */
	if (errno != saved)
		abort();
}

static void *tsd_thread(void *p)
{
	void *b = malloc(T * 3);

	(void)p;
	if (!b || !pt_owner(b))
		return (void *)1;
	memset(b, 7, T * 3);
	pthread_setspecific(key, b);
	orphan = malloc(2 * MB + 1);	/* freed by main after we exit */
	if (orphan)
		memset(orphan, 9, 2 * MB + 1);
	return NULL;
}

static int test_tsd(void)
{
	double t0 = pt_now();
	unsigned long n = 0;

	CHECK(pthread_key_create(&key, tsd_destructor) == 0);
	while (pt_now() - t0 < duration / 2) {
		pthread_t t;
		void *r;

		CHECK(pthread_create(&t, NULL, tsd_thread, NULL) == 0);
		pthread_join(t, &r);
		if (r)
			FAILF("tsd thread failed");
		if (!orphan || !pt_owner(orphan) || ((unsigned char *)orphan)[2 * MB] != 9)
			FAILF("orphan block lost");
		free(orphan);
		n++;
	}
	printf("%lu threads freed a huge block from a key destructor\n", n);
	if (pool_in_use())
		FAILF("%zu pool pages in use at the end", pool_in_use());
	return failures ? T_FAIL : T_PASS;
}

/* ---------------------------------------------------------------- decay */
static int threads_now(void)
{
	char *st = pt_slurp("/proc/self/status"), *p;
	int n = -1;

	if (st && (p = strstr(st, "Threads:")))
		n = atoi(p + 8);
	free(st);
	return n;
}

static size_t pool_nr(void)
{
	struct hugepool_counters c;

	return pt_counters(&c) ? 0 : c.nr_pages;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

static int test_decay(void)
{
	void *b[8];
	pthread_t t;
	size_t held;
	double t0;

	for (int i = 0; i < 8; i++) {
		b[i] = malloc(4 * MB);
		CHECK(b[i]);
		memset(b[i], 1, 4 * MB);
	}
	for (int i = 0; i < 8; i++)
		free(b[i]);
	held = pool_nr();
	usleep(500 * 1000);
	printf("single-threaded: %zu pages held after the frees, threads %d\n", held, threads_now());
	if (threads_now() != 1)
		FAILF("the preload started a thread in a single-threaded program (%d threads)",
		      threads_now());
	if (!held)
		FAILF("no pages held right after the frees (decay 200 ms)");
	/* a later free, past the decay time, gives the free surplus back */
	b[0] = malloc(T);	/* written: a malloc/free pair can be elided */
	CHECK(b[0]);
	memset(b[0], 2, 4096);
	free(b[0]);
	printf("after a free past the decay time: %zu pages held\n", pool_nr());
	if (pool_nr() > 1)
		FAILF("%zu pages still held after a free past the decay time", pool_nr());

	/* the program goes multi-threaded: decay stays on the free path */
	CHECK(pthread_create(&t, NULL, idle_thread, NULL) == 0);
	for (int i = 0; i < 8; i++) {
		b[i] = malloc(4 * MB);
		CHECK(b[i]);
		memset(b[i], 1, 4 * MB);
	}
	for (int i = 0; i < 8; i++)
		free(b[i]);
	t0 = pt_now();
	usleep(500 * 1000);
	if (threads_now() != 2)
		FAILF("the preload started a thread (%d threads, the program has 2)", threads_now());
	b[0] = malloc(T);	/* written: a malloc/free pair can be elided */
	CHECK(b[0]);
	memset(b[0], 2, 4096);
	free(b[0]);
	printf("multi-threaded: pages held %zu after a free %.2f s later\n", pool_nr(),
	       pt_now() - t0);
	if (pool_nr() > 1)
		FAILF("%zu pages still held after a free past the decay time", pool_nr());
	return failures ? T_FAIL : T_PASS;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "exit";
	long base;
	int status, ret;
	pid_t pid;

	base = pt_begin(600);
	if (argc > 2)
		duration = atof(argv[2]);
	T = pt_threshold();
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid = pt_fork();
	if (pid == 0) {
		pt_watchdog((unsigned int)duration + 60);
		if (!strcmp(what, "exit"))
			ret = test_exit();
		else if (!strcmp(what, "many"))
			ret = test_many(base);
		else if (!strcmp(what, "race"))
			ret = test_race();
		else if (!strcmp(what, "tsd"))
			ret = test_tsd();
		else if (!strcmp(what, "decay"))
			ret = test_decay();
		else
			ret = T_FAIL;
		fflush(NULL);
		_exit(ret);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: killed by %s%s\n", what, strsignal(WTERMSIG(status)),
			WTERMSIG(status) == SIGALRM ? " (time limit: deadlock?)" : "");
		return T_FAIL;
	}
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	return pt_baseline_ok(base, what) ? T_PASS : T_FAIL;
}
