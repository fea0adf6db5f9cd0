/* SPDX-License-Identifier: MIT */
/*
 * fork.c - fork, _Fork, posix_spawn and fork from a signal handler under
 * LD_PRELOAD=libhugepool.so, in the spirit of glibc's
 * tst-malloc-fork-deadlock and tst-mallocfork2, bounded in time. A child
 * that does not finish within its timeout is a deadlock: the test fails.
 *
 * usage: fork deadlock|atfork|_Fork|spawn|sigalrm [seconds]
 *
 *  deadlock  threads allocate small and huge blocks and free them while
 *            the main thread forks; every child allocates and frees both
 *            kinds, writes inherited huge blocks (copy-on-write), exits.
 *  atfork    the same with a pthread_atfork handler, registered after the
 *            library's, that allocates in prepare, parent and child.
 *  _Fork     _Fork runs no atfork handler: the child must still allocate
 *            huge blocks (pages it shares copy-on-write with the parent
 *            are not handed out without being made private first).
 *  spawn     posix_spawn in a loop while threads allocate (vfork-style
 *            child shares our memory and must not allocate).
 *  sigalrm   a single-threaded process forks from a SIGALRM handler that
 *            interrupts malloc/free of huge blocks; the child _exits.
 */
#include "preload-test.h"

#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>

static size_t T;
static double duration = 2.0;
static atomic_bool stop;
static atomic_ulong allocs;

/* a child gets this long to finish; longer is a deadlock */
#define CHILD_TIMEOUT 10.0

static int wait_child(pid_t pid, const char *what)
{
	double t0 = pt_now();
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			perror("waitpid");
			return -1;
		}
		if (pt_now() - t0 > CHILD_TIMEOUT) {
			fprintf(stderr, "%s: child %d still running after %.0f s: deadlock\n",
				what, (int)pid, CHILD_TIMEOUT);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		usleep(1000);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "%s: child status 0x%x (%s)\n", what, status,
			WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "exit");
		return -1;
	}
	return 0;
}

static unsigned int rnd(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return *s >> 8;
}

static size_t pick_size(unsigned int *s)
{
	switch (rnd(s) % 4) {
	case 0: return 16 + rnd(s) % 2000;
	case 1: return T + rnd(s) % (512 * KB);
	case 2: return 2 * MB + rnd(s) % (2 * MB);
	default: return 64 + rnd(s) % 100000;
	}
}

static void *alloc_thread(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;
	void *slot[16] = { 0 };

	while (!atomic_load(&stop)) {
		unsigned int i = rnd(&seed) % 16;
		size_t n = pick_size(&seed);

		free(slot[i]);
		switch (rnd(&seed) % 3) {
		case 0: slot[i] = malloc(n); break;
		case 1: slot[i] = calloc(1, n); break;
		default: slot[i] = realloc(NULL, n); break;
		}
		if (slot[i])
			memset(slot[i], (int)i, n < 8192 ? n : 8192);
		atomic_fetch_add(&allocs, 1);
	}
	for (int i = 0; i < 16; i++)
		free(slot[i]);
	return NULL;
}

/* what every child does before _exit: allocate, write, free both kinds,
 * and write the inherited huge block (copy-on-write of a huge page) */
static int child_work(unsigned char *inherited, size_t n)
{
	void *a = malloc(3 * MB), *b = malloc(100), *c = calloc(1, T + 1);

	if (!a || !b || !c)
		return 2;
	memset(a, 1, 3 * MB);
	memset(c, 2, T + 1);
	if (inherited) {
		if (inherited[0] != 0x77 || inherited[n - 1] != 0x77)
			return 3;
		memset(inherited, 0x11, n);
	}
	a = realloc(a, 5 * MB);
	if (!a)
		return 4;
	free(a);
	free(b);
	free(c);
	return 0;
}

static void start_threads(pthread_t *t, int n)
{
	atomic_store(&stop, false);
	for (int i = 0; i < n; i++)
		CHECK(pthread_create(&t[i], NULL, alloc_thread, (void *)(uintptr_t)(i * 7919 + 1)) == 0);
}

static void stop_threads(pthread_t *t, int n)
{
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

/* ---------------------------------------------------------------- atfork */
static void *atfork_block;

static void af_prepare(void)
{
	/* runs before the library's prepare (registered later = earlier) */
	atfork_block = malloc(T * 2);
	free(malloc(50));
}

static void af_parent(void)
{
	free(atfork_block);
	free(malloc(T + 7));
}

static void af_child(void)
{
	free(atfork_block);
	free(malloc(T + 9));
	free(malloc(70));
}

static int test_deadlock(bool with_atfork)
{
	pthread_t t[4];
	unsigned long forks = 0;
	unsigned char *shared_blk = malloc(4 * MB);
	double t0;
	int bad = 0;

	CHECK(shared_blk);
	memset(shared_blk, 0x77, 4 * MB);
	if (with_atfork)
		CHECK(pthread_atfork(af_prepare, af_parent, af_child) == 0);
	start_threads(t, 4);
	t0 = pt_now();
	while (pt_now() - t0 < duration && !bad) {
		pid_t pid;

		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0)
			_exit(child_work(shared_blk, 4 * MB));
		if (wait_child(pid, "fork"))
			bad = 1;
		forks++;
		/* the parent's copy is its own */
		if (shared_blk[0] != 0x77 || shared_blk[4 * MB - 1] != 0x77)
			bad = 1;
	}
	stop_threads(t, 4);
	free(shared_blk);
	printf("%lu forks, %lu allocations in threads meanwhile\n", forks, atomic_load(&allocs));
	return bad ? T_FAIL : T_PASS;
}

/* ---------------------------------------------------------------- _Fork */
static int test__fork(void)
{
#if defined(__GLIBC_PREREQ) && __GLIBC_PREREQ(2, 34)
	unsigned char *blk;
	int bad = 0;

	/* the pool holds used and free pages when _Fork runs */
	for (int round = 0; round < 20 && !bad; round++) {
		void *spare = malloc(6 * MB);
		pid_t pid;

		blk = malloc(2 * MB + 5);
		CHECK(blk && spare);
		memset(blk, 0x77, 2 * MB + 5);
		free(spare);	/* its pages stay in the pool, shared after _Fork */
		fflush(NULL);
		pid = _Fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			int r = child_work(blk, 2 * MB + 5);
			void *again = malloc(6 * MB);	/* reuses the freed pages */

			if (!again)
				_exit(5);
			memset(again, 3, 6 * MB);
			free(again);
			_exit(r);
		}
		if (wait_child(pid, "_Fork"))
			bad = 1;
		if (blk[0] != 0x77)
			bad = 1;
		free(blk);
	}
	printf("_Fork: 20 children\n");
	return bad ? T_FAIL : T_PASS;
#else
	fprintf(stderr, "no _Fork in this glibc\n");
	return T_SKIP;
#endif
}

/* ---------------------------------------------------------------- spawn */
static int test_spawn(void)
{
	char *const argv[] = { "true", NULL };
	pthread_t t[3];
	unsigned long n = 0;
	double t0;
	int bad = 0;

	start_threads(t, 3);
	t0 = pt_now();
	while (pt_now() - t0 < duration && !bad) {
		void *blk = malloc(T + 100);
		pid_t pid;
		int err;

		err = posix_spawnp(&pid, "true", NULL, NULL, argv, environ);
		if (err) {
			fprintf(stderr, "posix_spawnp: %s\n", strerror(err));
			bad = 1;
			break;
		}
		if (wait_child(pid, "posix_spawn"))
			bad = 1;
		free(blk);
		n++;
	}
	stop_threads(t, 3);
	printf("%lu posix_spawn children\n", n);
	return bad ? T_FAIL : T_PASS;
}

/* ---------------------------------------------------------------- SIGALRM */
static volatile sig_atomic_t sig_forks, sig_fail;

static void on_alarm(int sig)
{
	int saved = errno, status;
	pid_t pid = fork();

	(void)sig;
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		sig_fail = 1;
	else
		sig_forks++;
	errno = saved;
}

static int test_sigalrm(void)
{
	struct itimerval it = { .it_interval = { 0, 1000 }, .it_value = { 0, 1000 } };
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	unsigned int seed = 1;
	unsigned long n = 0;
	void *slot[8] = { 0 };
	double t0;

	sigaction(SIGALRM, &sa, NULL);
	CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0);
	t0 = pt_now();
	while (pt_now() - t0 < duration) {
		unsigned int i = rnd(&seed) % 8;

		free(slot[i]);
		slot[i] = malloc(pick_size(&seed));
		n++;
	}
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	signal(SIGALRM, SIG_IGN);
	for (int i = 0; i < 8; i++)
		free(slot[i]);
	printf("%lu allocations, %d forks from SIGALRM\n", n, (int)sig_forks);
	return sig_fail || !sig_forks ? T_FAIL : T_PASS;
}

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "deadlock";
	long base;
	int status, ret;
	pid_t pid;

	base = pt_begin(128);
	if (argc > 2)
		duration = atof(argv[2]);
	T = pt_threshold();
	setvbuf(stdout, NULL, _IOLBF, 0);
	pid = pt_fork();	/* the test runs in a child: the parent checks the baseline */
	if (pid == 0) {
		if (!strcmp(what, "deadlock"))
			ret = test_deadlock(false);
		else if (!strcmp(what, "atfork"))
			ret = test_deadlock(true);
		else if (!strcmp(what, "_Fork"))
			ret = test__fork();
		else if (!strcmp(what, "spawn"))
			ret = test_spawn();
		else if (!strcmp(what, "sigalrm"))
			ret = test_sigalrm();
		else
			ret = T_FAIL;
		fflush(NULL);
		_exit(ret);
	}
	/* the whole test has a hard limit on top of each child's */
	if (!pt_wait_deadline(pid, &status, duration + 60)) {
		fprintf(stderr, "%s: still running after %.0f s: deadlock\n", what, duration + 60);
		return T_FAIL;
	}
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "%s: killed by %s\n", what, strsignal(WTERMSIG(status)));
		return T_FAIL;
	}
	if (WEXITSTATUS(status))
		return WEXITSTATUS(status);
	return pt_baseline_ok(base, what) ? T_PASS : T_FAIL;
}
