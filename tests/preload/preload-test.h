/* SPDX-License-Identifier: MIT */
/*
 * preload-test.h - helpers of the LD_PRELOAD tests: the library's API
 * reached through dlsym (the test programs are unmodified programs, not
 * linked against libhugepool), running a command with and without the
 * preload and capturing what it prints, a watchdog that turns a hang into
 * a failure, and the kernel's free_hugepages baseline, waited for because
 * pages come back when a child process has exited.
 *
 * Environment set by tests/preload/meson.build:
 *   HUGEPOOL_TEST_LIB   the built libhugepool.so
 *   HUGEPOOL_TEST_DIR   the build directory of these tests (helpers)
 *   HUGEPOOL_TEST_REQUIRE=1 in CI: a missing precondition fails
 */
#ifndef HUGEPOOL_PRELOAD_TEST_H
#define HUGEPOOL_PRELOAD_TEST_H

#include "../helpers.h"

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#define KB (1UL << 10)
#define MB (1UL << 20)
#define HUGE_2M (2 * MB)
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

extern char **environ;

/* ------------------------------------------------------------------------
 * the API through dlsym: NULL when libhugepool.so is not in the process
 * ------------------------------------------------------------------------ */
static inline void *pt_sym(const char *name)
{
	return dlsym(RTLD_DEFAULT, name);
}

/* The pool owning p, or NULL (glibc memory, or no library). Not a const
 * pointer: GCC would take a fresh block passed here for a read of
 * uninitialised memory. */
static inline struct hugepool *pt_owner(void *p)
{
	static struct hugepool *(*fn)(const void *);

	if (!fn)
		fn = (struct hugepool *(*)(const void *))pt_sym("hugepool_owner");
	return fn ? fn(p) : NULL;
}

static inline bool pt_loaded(void)
{
	return pt_sym("hugepool_owner") != NULL;
}

static inline int pt_counters(struct hugepool_counters *c)
{
	struct hugepool *(*def)(void) = (struct hugepool *(*)(void))pt_sym("hugepool_default");
	int (*cnt)(const struct hugepool *, int, struct hugepool_counters *) =
		(int (*)(const struct hugepool *, int, struct hugepool_counters *))
		pt_sym("hugepool_counters");
	struct hugepool *p;

	if (!def || !cnt || !(p = def()))
		return -1;
	return cnt(p, HUGEPOOL_NODE_ANY, c);
}

/* HP_DEFAULT_THRESHOLD of lib/options.c */
#define PT_DEFAULT_THRESHOLD (256 * KB)

/* The threshold the tests run with: HUGEPOOL_THRESHOLD in bytes, which
 * tests/preload/meson.build sets, or the library's default. 0 is 1, as in
 * lib/options.c: every request of a byte or more goes to the pool, and
 * malloc(0) stays glibc's. */
static inline size_t pt_threshold(void)
{
	const char *v = getenv("HUGEPOOL_THRESHOLD");
	size_t t = v ? strtoul(v, NULL, 0) : PT_DEFAULT_THRESHOLD;

	return t ? t : 1;
}

static inline const char *pt_lib(void)
{
	const char *v = getenv("HUGEPOOL_TEST_LIB");

	if (!v || !*v) {
		fprintf(stderr, "HUGEPOOL_TEST_LIB is not set\n");
		exit(T_FAIL);
	}
	return v;
}

/* ------------------------------------------------------------------------
 * time
 * ------------------------------------------------------------------------ */
static inline double pt_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A hang is a failure: the process kills itself after s seconds. */
static inline void pt_watchdog(unsigned int s)
{
	signal(SIGALRM, SIG_DFL);
	alarm(s);
}

/* A byte pattern that differs per block (seed) and per position: fill n
 * bytes, and find the first of n that is not the pattern (SIZE_MAX: none). */
static inline void pt_fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + seed);
}

static inline size_t pt_unfilled(const unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != (unsigned char)(i * 7 + seed))
			return i;
	return SIZE_MAX;
}

/* Wait for a child for at most secs seconds; then kill it (SIGKILL: one
 * deadlocked inside pthread_create has every other signal blocked) and
 * return false. */
static inline bool pt_wait_deadline(pid_t pid, int *status, double secs)
{
	double t0 = pt_now();

	while (waitpid(pid, status, WNOHANG) != pid) {
		if (pt_now() - t0 > secs) {
			kill(pid, SIGKILL);
			CHECK(waitpid(pid, status, 0) == pid);
			return false;
		}
		usleep(10000);
	}
	return true;
}

/* ------------------------------------------------------------------------
 * the kernel's pool: free_hugepages must be back when a test ends
 * ------------------------------------------------------------------------ */
static inline long pt_free_pages(void)
{
	return kernel_counter(HUGE_2M, "free_hugepages");
}

/* A test's start: the library is preloaded (else fail), n free 2 MiB pages
 * can be had (else skip, or fail in CI); returns free_hugepages, the
 * baseline for pt_baseline_ok at the end. */
static inline long pt_begin(long n)
{
	if (!pt_loaded()) {
		fprintf(stderr, "libhugepool.so is not preloaded\n");
		exit(T_FAIL);
	}
	need_free_pages(HUGE_2M, n);
	return pt_free_pages();
}

/* fork, with stdio flushed first (no output written twice) */
static inline pid_t pt_fork(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	return pid;
}

/* What else on the machine holds huge pages, listed on stderr: processes
 * other than this one with hugetlb mappings or hugetlb memfds (whose pages
 * need no mapping), and files on hugetlbfs mounts. Returns how many. They
 * explain a free_hugepages below the baseline on a machine where other
 * work runs (never in CI, where the tests run alone). */
static inline int pt_other_holders(void)
{
	char cmd[1024];
	FILE *f;
	int n = 0;

	snprintf(cmd, sizeof(cmd),
		 "for d in /proc/[0-9]*; do p=${d#/proc/}; [ \"$p\" = %d ] && continue; "
		 "h=$(awk '/_Hugetlb:/ { s += $2 } END { print s + 0 }' $d/smaps_rollup 2>/dev/null); "
		 "[ \"${h:-0}\" -gt 0 ] && echo \"pid $p $(cat $d/comm 2>/dev/null): $h kB mapped\"; "
		 "for fd in $d/fd/*; do case $(readlink $fd 2>/dev/null) in /memfd:*) "
		 "[ \"$(stat -L -c %%o $fd 2>/dev/null)\" -ge 2097152 ] 2>/dev/null && "
		 "echo \"pid $p $(cat $d/comm 2>/dev/null): hugetlb memfd $(readlink $fd)\";; esac; done; "
		 "done 2>/dev/null; "
		 "for m in $(awk '$3 == \"hugetlbfs\" { print $2 }' /proc/mounts); do "
		 "[ -n \"$(find $m -type f -size +0 2>/dev/null | head -1)\" ] && echo \"files on hugetlbfs $m\"; "
		 "done",
		 (int)getpid());
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(cmd, sizeof(cmd), f)) {
		fprintf(stderr, "  huge pages held elsewhere: %s", cmd);
		n++;
	}
	pclose(f);
	return n;
}

/*
 * Wait up to 10 s for free_hugepages to be back at base. More than base
 * is not ours to explain: another process on the machine gave pages back
 * (a test can only hold pages, never free someone else's). Less, when
 * other processes hold huge pages, is reported but fails only under
 * HUGEPOOL_TEST_REQUIRE (CI runs the tests alone).
 */
static inline bool pt_baseline_ok(long base, const char *what)
{
	double t0 = pt_now();
	long now;

	for (;;) {
		now = pt_free_pages();
		if (now == base)
			return true;
		if (now > base) {
			fprintf(stderr, "%s: free_hugepages %ld, above the baseline %ld (another process returned pages)\n",
				what, now, base);
			return true;
		}
		if (pt_now() - t0 > 10.0)
			break;
		usleep(20000);
	}
	fprintf(stderr, "%s: free_hugepages %ld, baseline %ld\n", what, now, base);
	if (pt_other_holders() && !test_require()) {
		fprintf(stderr, "%s: other processes hold huge pages: baseline not verifiable here\n",
			what);
		return true;
	}
	return false;
}

/* Python lines for the programs the tests run: print on stderr
 * "kernel-page-size N kB" for the mapping that holds the address a (kb and
 * inside set to -1 and False before; sys imported), read from the
 * process's own /proc/self/smaps. */
#define PT_PY_KERNEL_PAGE							\
	"for line in open('/proc/self/smaps'):\n"				\
	"    f = line.split()\n"						\
	"    if '-' in f[0] and not f[0].endswith(':'):\n"			\
	"        lo, hi = (int(x, 16) for x in f[0].split('-')); inside = lo <= a < hi\n" \
	"    elif inside and f[0] == 'KernelPageSize:':\n"			\
	"        kb = int(f[1]); break\n"					\
	"print('kernel-page-size', kb, 'kB', file=sys.stderr)\n"

/* ------------------------------------------------------------------------
 * running commands
 * ------------------------------------------------------------------------ */
struct pt_out {
	char *buf;
	size_t len, cap;
};

static inline void pt_out_add(struct pt_out *o, const char *p, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = realloc(o->buf, o->cap);
		CHECK(o->buf);
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

static inline void pt_out_free(struct pt_out *o)
{
	free(o->buf);
	o->buf = NULL;
	o->len = o->cap = 0;
}

struct pt_run {
	const char *const *argv;
	const char *const *env;	/* extra NAME=VALUE, after the preload choice */
	bool preload;		/* LD_PRELOAD=<lib> (else LD_PRELOAD removed) */
	const char *preload_list; /* instead of <lib> when set */
	const char *cwd;
	const char *in_file;	/* stdin, else /dev/null */
	unsigned int timeout;	/* seconds; 0: 120 */
	/* results */
	struct pt_out out, err;
	int status;		/* exit status, 128 + signal, or -1 on timeout */
	double secs;
};

/* Build the child's environment: ours without LD_PRELOAD and the
 * HUGEPOOL_* we may have, then the preload and r->env. */
static inline char **pt_env(const struct pt_run *r)
{
	size_t n = 0, k = 0, i;
	char **env;

	while (environ[n])
		n++;
	for (i = 0; r->env && r->env[i]; i++)
		;
	env = calloc(n + i + 2, sizeof(char *));
	CHECK(env);
	for (i = 0; i < n; i++) {
		if (!strncmp(environ[i], "LD_PRELOAD=", 11))
			continue;
		env[k++] = environ[i];
	}
	if (r->preload || r->preload_list) {
		const char *lib = r->preload_list ? r->preload_list : pt_lib();
		char *s = malloc(strlen(lib) + 12);

		CHECK(s);
		sprintf(s, "LD_PRELOAD=%s", lib);
		env[k++] = s;
	}
	for (i = 0; r->env && r->env[i]; i++) {
		/* a later NAME= replaces an earlier one */
		size_t nl = strcspn(r->env[i], "=") + 1, j;

		for (j = 0; j < k; j++)
			if (!strncmp(env[j], r->env[i], nl))
				break;
		env[j] = (char *)r->env[i];
		if (j == k)
			k++;
	}
	env[k] = NULL;
	return env;
}

/* Run r->argv, capturing stdout and stderr; returns r->status. */
static inline int pt_run(struct pt_run *r)
{
	int op[2], ep[2], status;
	unsigned int timeout = r->timeout ? r->timeout : 120;
	char **env = pt_env(r);
	double t0 = pt_now();
	pid_t pid;

	pt_out_free(&r->out);
	pt_out_free(&r->err);
	CHECK(pipe2(op, O_CLOEXEC) == 0 && pipe2(ep, O_CLOEXEC) == 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		int in = open(r->in_file ? r->in_file : "/dev/null", O_RDONLY);

		if (in < 0 || dup2(in, 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0)
			_exit(126);
		if (r->cwd && chdir(r->cwd))
			_exit(126);
		setpgid(0, 0);
		execvpe(r->argv[0], (char *const *)r->argv, env);
		_exit(127);
	}
	close(op[1]);
	close(ep[1]);
	r->status = -2;
	{
		struct pollfd pf[2] = { { .fd = op[0], .events = POLLIN },
					{ .fd = ep[0], .events = POLLIN } };
		int open_fds = 2;
		char buf[65536];

		while (open_fds) {
			double left = timeout - (pt_now() - t0);
			int n;

			if (left <= 0) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				r->status = -1;
				break;
			}
			n = poll(pf, 2, (int)(left * 1000) + 1);
			if (n < 0 && errno == EINTR)
				continue;
			for (int i = 0; i < 2; i++) {
				ssize_t got;

				if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
					continue;
				got = read(pf[i].fd, buf, sizeof(buf));
				if (got > 0) {
					pt_out_add(i ? &r->err : &r->out, buf, (size_t)got);
				} else {
					close(pf[i].fd);
					pf[i].fd = -1;
					open_fds--;
				}
			}
		}
		for (int i = 0; i < 2; i++)
			if (pf[i].fd >= 0)
				close(pf[i].fd);
	}
	if (!r->out.buf)
		pt_out_add(&r->out, "", 0);
	if (!r->err.buf)
		pt_out_add(&r->err, "", 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	if (r->status != -1)
		r->status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	r->secs = pt_now() - t0;
	/* the strings we made for the environment are small; keep it simple */
	free(env);
	return r->status;
}

/* Print at most n bytes of s, for diagnostics. */
static inline void pt_show(const char *what, const char *s, size_t n)
{
	size_t len = strlen(s);

	fprintf(stderr, "---- %s (%zu bytes)%s\n%.*s%s", what, len,
		len > n ? ", start" : "", (int)(len > n ? n : len), s,
		len && s[(len > n ? n : len) - 1] != '\n' ? "\n" : "");
}

/* Sum of every "key":N in a text (HUGEPOOL_STATS=json output). */
static inline unsigned long long pt_json_sum(const char *s, const char *key)
{
	char pat[64];
	unsigned long long sum = 0;
	const char *p = s;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	while ((p = strstr(p, pat))) {
		p += strlen(pat);
		sum += strtoull(p, NULL, 10);
	}
	return sum;
}

/* Read a whole file (NUL-terminated, malloc'd) or NULL. */
static inline char *pt_slurp(const char *path)
{
	struct pt_out o = { 0 };
	char buf[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		pt_out_add(&o, buf, (size_t)n);
	close(fd);
	if (!o.buf)
		pt_out_add(&o, "", 0);
	return o.buf;
}

/* Is a program on PATH (a name with a slash, or none, counts as there)? */
static inline bool pt_have(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!name || strchr(name, '/'))
		return true;
	while (path && *path) {
		size_t n = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* The pool stats of every process of a run: the sums over the files that
 * HUGEPOOL_STATS=json with HUGEPOOL_STATS_FILE=DIR/%p.json left in dir. */
struct pt_stats {
	unsigned long long allocs, faulted, fallbacks, files;
};

static inline struct pt_stats pt_read_stats(const char *dir)
{
	struct pt_stats st = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return st;
	while ((e = readdir(d))) {
		char path[4608], *txt;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		txt = pt_slurp(path);
		if (!txt)
			continue;
		st.files++;
		st.allocs += pt_json_sum(txt, "allocs");
		st.faulted += pt_json_sum(txt, "pages_faulted");
		st.fallbacks += pt_json_sum(txt, "fallbacks");
		free(txt);
	}
	closedir(d);
	return st;
}

/* The start of a test of real programs: 200 free 2 MiB pages (else skip,
 * or fail in CI), an input directory tmp/in, named to the programs as $IN
 * by the string env_in; returns free_hugepages, the baseline. */
static inline long pt_programs_begin(const char *tmp, char in[4200], char env_in[4300])
{
	need_free_pages(HUGE_2M, 200);
	snprintf(in, 4200, "%s/in", tmp);
	CHECK(mkdir(in, 0755) == 0);
	snprintf(env_in, 4300, "IN=%s", in);
	return pt_free_pages();
}

/* A fresh temporary directory under $TMPDIR or /tmp (left for inspection
 * only on failure; tests remove it with pt_rmrf on success). */
static inline char *pt_tmpdir(const char *tag)
{
	const char *t = getenv("TMPDIR");
	char *d = malloc(4096);

	CHECK(d);
	snprintf(d, 4096, "%s/hugepool-%s-XXXXXX", t && *t ? t : "/tmp", tag);
	CHECK(mkdtemp(d));
	return d;
}

static inline void pt_rmrf(const char *dir)
{
	char cmd[4200];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd))
		fprintf(stderr, "cannot remove %s\n", dir);
}

/* The end of it: the baseline checked, and tmp removed, or kept for a
 * look when something failed. Returns the failures, the baseline's too. */
static inline int pt_programs_end(char *tmp, long base, const char *what, int failed)
{
	if (!pt_baseline_ok(base, what))
		failed++;
	if (!failed)
		pt_rmrf(tmp);
	else
		fprintf(stderr, "inputs and outputs kept in %s\n", tmp);
	return failed;
}

#endif /* HUGEPOOL_PRELOAD_TEST_H */
