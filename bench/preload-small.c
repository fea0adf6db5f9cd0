/* SPDX-License-Identifier: MIT */
/*
 * preload-small.c - what LD_PRELOAD=libhugepool.so costs a program that
 * only makes small allocations: many threads, sizes 16 B to 4 KiB, none
 * reaching the threshold, so every call goes through the preload's fast
 * path (one compare for malloc, an address lookup for free) and on to
 * glibc. The target is at most 5% overhead.
 *
 * The driver runs the same workload in child processes, without and with
 * the preload, alternating (ABBA) so that drift of the machine hits both
 * sides alike, and reports the median of each side and the overhead of
 * the medians, side by side in one run (DESIGN.md: benchmarks report
 * ratios, they are not timed tests).
 *
 * usage: preload-small [-r ROUNDS] [-t THREADS] [-n OPS_PER_THREAD]
 *                      [-s SLOTS] [-l LIBRARY] [-q]
 *        preload-small --work THREADS OPS SLOTS   (one measurement)
 * LIBRARY defaults to ../lib/libhugepool.so next to this program.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

extern char **environ;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------------------------------
 * the workload
 * ------------------------------------------------------------------------ */
struct worker {
	pthread_t t;
	unsigned long ops;
	unsigned int slots;
	uint64_t seed;
	uint64_t sum;
	double cpu;	/* seconds of this thread's CPU time in the churn */
};

static pthread_barrier_t start;

/* a live set first, then the measured churn (tests/support/small-workload.c) */
static void *work_thread(void *arg)
{
	struct worker *w = arg;
	struct small_set set;
	uint64_t seed = w->seed;

	small_set_fill(&set, w->slots, &seed);
	pthread_barrier_wait(&start);
	w->cpu = thread_cpu();
	w->sum = small_churn(&set, w->ops, &seed);
	w->cpu = thread_cpu() - w->cpu;
	small_set_free(&set);
	return NULL;
}

/*
 * Prints CPU nanoseconds per operation (the threads' CPU time in the churn
 * over their operations) and wall nanoseconds per operation. CPU time is
 * what the comparison uses: it does not count the time a thread waits for
 * a CPU, so other work on the machine does not land on one side only.
 */
static int work(int threads, unsigned long ops, unsigned int slots)
{
	struct worker *w = calloc((size_t)threads, sizeof(*w));
	uint64_t sum = 0;
	double t0, t1, cpu = 0;

	if (!w)
		return 1;
	pthread_barrier_init(&start, NULL, (unsigned int)threads + 1);
	for (int i = 0; i < threads; i++) {
		w[i].ops = ops;
		w[i].slots = slots;
		w[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		if (pthread_create(&w[i].t, NULL, work_thread, &w[i]))
			return 1;
	}
	pthread_barrier_wait(&start);
	t0 = now();
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].t, NULL);
		sum += w[i].sum;
		cpu += w[i].cpu;
	}
	t1 = now();
	printf("%.3f %.3f %llu\n", cpu * 1e9 / ((double)ops * threads),
	       (t1 - t0) * 1e9 / ((double)ops * threads), (unsigned long long)(sum & 0xff));
	free(w);
	return 0;
}

/* ------------------------------------------------------------------------
 * the driver
 * ------------------------------------------------------------------------ */
static double run_child(const char *self, const char *lib, int threads, unsigned long ops,
			unsigned int slots)
{
	char a1[32], a2[32], a3[32], pre[4200], buf[256];
	char *argv[] = { (char *)self, "--work", a1, a2, a3, NULL };
	char **env;
	size_t n = 0, k = 0;
	int pfd[2], status;
	ssize_t got;
	pid_t pid;

	snprintf(a1, sizeof(a1), "%d", threads);
	snprintf(a2, sizeof(a2), "%lu", ops);
	snprintf(a3, sizeof(a3), "%u", slots);
	while (environ[n])
		n++;
	env = calloc(n + 2, sizeof(*env));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "LD_PRELOAD=", 11))
			env[k++] = environ[i];
	if (lib) {
		snprintf(pre, sizeof(pre), "LD_PRELOAD=%s", lib);
		env[k++] = pre;
	}
	if (pipe(pfd))
		exit(1);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execve(self, argv, env);
		_exit(127);
	}
	close(pfd[1]);
	got = read(pfd[0], buf, sizeof(buf) - 1);
	close(pfd[0]);
	waitpid(pid, &status, 0);
	free(env);
	if (got <= 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "workload failed (%s)\n", lib ? "preload" : "glibc");
		exit(1);
	}
	buf[got] = '\0';
	return atof(buf);
}

int main(int argc, char **argv)
{
	int rounds = 9, threads = 8, quiet = 0;
	unsigned long ops = 2000000;
	unsigned int slots = 4096;
	char self[4096], libbuf[4200];
	const char *lib = NULL;
	double *a, *b, ma, mb, over;
	ssize_t n;
	int opt;

	if (argc == 5 && !strcmp(argv[1], "--work"))
		return work(atoi(argv[2]), strtoul(argv[3], NULL, 10), (unsigned int)atoi(argv[4]));
	while ((opt = getopt(argc, argv, "r:t:n:s:l:q")) != -1) {
		switch (opt) {
		case 'r': rounds = atoi(optarg); break;
		case 't': threads = atoi(optarg); break;
		case 'n': ops = strtoul(optarg, NULL, 10); break;
		case 's': slots = (unsigned int)atoi(optarg); break;
		case 'l': lib = optarg; break;
		case 'q': quiet = 1; break;
		default:
			fprintf(stderr, "usage: %s [-r ROUNDS] [-t THREADS] [-n OPS] [-s SLOTS] [-l LIB] [-q]\n",
				argv[0]);
			return 2;
		}
	}
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	if (!lib) {
		snprintf(libbuf, sizeof(libbuf), "%.*s/../lib/libhugepool.so",
			 (int)(strrchr(self, '/') - self), self);
		lib = libbuf;
	}
	if (access(lib, R_OK)) {
		fprintf(stderr, "%s: %s\n", lib, strerror(errno));
		return 1;
	}
	if (rounds < 1 || threads < 1 || slots < 1)
		return 2;
	a = calloc((size_t)rounds, sizeof(*a));
	b = calloc((size_t)rounds, sizeof(*b));
	printf("small-object workload: %d threads x %lu operations, %u live objects each, 16 B-4 KiB\n",
	       threads, ops, slots);
	printf("preload: %s\n", lib);
	if (!quiet)
		printf("%5s %14s %14s %9s\n", "round", "glibc ns/op", "preload ns/op", "ratio");
	for (int r = 0; r < rounds; r++) {
		/* ABBA: the order alternates every round */
		if (r % 2 == 0) {
			a[r] = run_child(self, NULL, threads, ops, slots);
			b[r] = run_child(self, lib, threads, ops, slots);
		} else {
			b[r] = run_child(self, lib, threads, ops, slots);
			a[r] = run_child(self, NULL, threads, ops, slots);
		}
		if (!quiet)
			printf("%5d %14.2f %14.2f %9.4f\n", r + 1, a[r], b[r], b[r] / a[r]);
	}
	ma = median(a, rounds);
	mb = median(b, rounds);
	over = (mb / ma - 1) * 100;
	printf("median of %d rounds: glibc %.2f ns/op, preload %.2f ns/op: overhead %+.2f%% (target <= 5%%): %s\n",
	       rounds, ma, mb, over, over <= 5.0 ? "ok" : "OVER");
	free(a);
	free(b);
	return 0;
}
