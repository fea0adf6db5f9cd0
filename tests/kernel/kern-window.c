/* SPDX-License-Identifier: MIT */
/*
 * kern-window.c - a glibc fallback block never lands inside a pool's
 * address window, and is never mapped over (issue 18).
 *
 * In a hugetlb cgroup whose 2 MiB fault and reservation limits are 0, the
 * kernel refuses every huge page to this process only. Before the fix, a
 * MAP_FIXED | MAP_HUGETLB over the window's placeholder failed after it had
 * unmapped the placeholder; glibc's mmap of the fallback block landed in
 * the hole; the next fault (limit lifted) mapped huge pages over it, or the
 * next failed one unmapped it (SIGSEGV on reading it).
 *
 * For the v1 and the v2 controller, each scenario in a child moved into a
 * fresh group:
 *  - engine, starved: hugepool_malloc of 1 GiB + 1 MiB fails, glibc's
 *    malloc of the same is filled, a forked child finds the window whole
 *    (also after a failed fault of its own), an 8 MiB hugepool_malloc fails; the
 *    glibc block is outside every window, not the pool's by address, and
 *    intact; the window has no hole and nothing foreign (window_broken);
 *  - engine, lifted: the same, but the limits are lifted before the 8 MiB
 *    block, which then comes on 2 MiB pages, does not overlap, and the
 *    glibc block is intact;
 *  - preload, starved and lifted: the same through malloc in an unmodified
 *    program (kern-window-prog) under LD_PRELOAD, whose free() of the
 *    fallback block goes to glibc without a word from the library.
 * The kernel's counters are back at their baseline at the end.
 */
#include "cgroup.h"

#include <stdint.h>

#define MB2	(2UL << 20)
#define BIG	((1UL << 30) + (1UL << 20))

static struct hcg cg;
static bool lifted;
static pid_t main_pid;

/* a failed check exits: leave no group, mount or enabled controller (not
 * from a child, whose exit runs this too) */
static void cleanup(void)
{
	if (getpid() == main_pid)
		hcg_teardown(&cg);
}

static void check_window(struct hugepool *pool, const char *when)
{
	char why[256];

	if (windows_broken(why, sizeof(why))) {
		fprintf(stderr, "%s: %s\n", when, why);
		exit(T_FAIL);
	}
	CHECK_POOL(pool);
}

static bool in_window(const struct hp_arena *a, const void *p, size_t n)
{
	uintptr_t lo = (uintptr_t)a->base, hi = lo + (a->nslots << a->shift);

	return (uintptr_t)p < hi && (uintptr_t)p + n > lo;
}

static bool intact(const unsigned char *p, size_t n, unsigned char v)
{
	size_t i;

	for (i = 0; i < n; i += 4096)
		if (p[i] != v || p[(i + 4095 < n ? i + 4095 : n - 1)] != v)
			return false;
	return true;
}

static int engine(void *arg)
{
	struct hugepool *pool = kpool(MB2, 0, 0);
	unsigned char *g, *r;

	(void)arg;
	errno = 0;
	CHECK(hugepool_malloc(pool, BIG) == NULL && errno == ENOMEM);
	check_window(pool, "after the failed 1 GiB + 1 MiB");
	g = malloc(BIG);		/* glibc's (not preloaded): an mmap */
	CHECK(g);
	memset(g, 0xAA, BIG);
	CHECK(!in_window(pool->arena, g, BIG));
	CHECK(hp_arena_lookup(g) == NULL && hp_arena_lookup(g + BIG - 1) == NULL);
	CHECK(hugepool_owner(g) == NULL);
	if (!lifted) {
		/* fork: the child inherits the window whole, and a failed
		 * fault there leaves it so */
		pid_t c;
		int st;

		fflush(NULL);
		c = fork();
		CHECK(c >= 0);
		if (c == 0) {
			check_window(pool, "in a forked child");
			errno = 0;
			if (hugepool_malloc(pool, 4 << 20) != NULL || errno != ENOMEM)
				_exit(T_FAIL);
			check_window(pool, "in a forked child, after a failed fault");
			_exit(intact(g, BIG, 0xAA) ? T_PASS : T_FAIL);
		}
		CHECK(waitpid(c, &st, 0) == c);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	if (lifted)
		hcg_limit_2m(&cg, NULL, NULL);
	errno = 0;
	r = hugepool_malloc(pool, 8 << 20);
	if (!lifted) {
		CHECK(r == NULL && errno == ENOMEM);
	} else {
		CHECK(r);
		memset(r, 0x55, 8 << 20);
		CHECK_EQ(smaps_page_size(r), MB2);
		CHECK((uintptr_t)r + (8 << 20) <= (uintptr_t)g || (uintptr_t)g + BIG <= (uintptr_t)r);
		CHECK(hugepool_owner(r) == pool);
		CHECK(intact(r, 8 << 20, 0x55));
	}
	check_window(pool, lifted ? "after the 8 MiB block" : "after the failed 8 MiB");
	CHECK(intact(g, BIG, 0xAA));
	CHECK(!in_window(pool->arena, g, BIG));
	free(g);
	if (r)
		hugepool_free(r);
	check_window(pool, "after the frees");
	CHECK(hugepool_destroy(pool) == 0);
	return T_PASS;
}

/* Fork; the child joins the group before it does anything, then runs fn or
 * execs the preloaded program. Returns its status (128 + signal if one
 * killed it). */
static int run_in_group(int (*fn)(void *), char *const *argv, const char *errfile)
{
	pid_t p = hcg_fork_in(&cg, 120);

	if (p == 0) {
		if (fn)
			_exit(fn(NULL));
		if (!freopen(errfile, "w", stderr))
			_exit(T_FAIL);
		execv(argv[0], argv);
		_exit(127);
	}
	return hcg_wait(p);
}

static void new_group(const char *name)
{
	hcg_make_group(&cg, name);
	hcg_limit_2m(&cg, "0", "0");
}

static void preload(const char *lib, const char *prog, bool lift)
{
	char f1[600], f2[600], err[64] = "/tmp/kern-window.XXXXXX", buf[4096];
	bool v1 = cg.version == 1;
	char *argv[8];
	int st, fd;
	ssize_t n;

	new_group(lift ? "preload-lifted" : "preload-starved");
	fd = mkstemp(err);
	CHECK(fd >= 0);
	snprintf(f1, sizeof(f1), "%s/%s", cg.grp, v1 ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max");
	snprintf(f2, sizeof(f2), "%s/%s", cg.grp,
		 v1 ? "hugetlb.2MB.rsvd.limit_in_bytes" : "hugetlb.2MB.rsvd.max");
	argv[0] = (char *)prog;
	argv[1] = lift ? "lifted" : "starved";
	argv[2] = f1;
	argv[3] = v1 ? "-1" : "max";
	argv[4] = f2;
	argv[5] = v1 ? "-1" : "max";
	argv[6] = NULL;
	setenv("LD_PRELOAD", lib, 1);
	setenv("HUGEPOOL_VERBOSE", "1", 1);
	st = run_in_group(NULL, argv, err);
	unsetenv("LD_PRELOAD");
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(err);
	buf[n > 0 ? n : 0] = '\0';
	if (st != 0 || strstr(buf, "not the start")) {
		fprintf(stderr, "kern-window: preload %s (cgroup v%d): status %d%s; stderr:\n%s",
			argv[1], cg.version, st, st == 128 + SIGSEGV ? " (SIGSEGV)" : "", buf);
		exit(T_FAIL);
	}
	/* the fallback was said, once */
	CHECK(strstr(buf, "fallback") || strstr(buf, "glibc"));
	hcg_remove_group(&cg);
}

/* The whole heap on huge pages (threshold 0) with none to be had: every
 * malloc falls back to glibc, including those that glibc makes under its
 * own locks (bindtextdomain's write lock on the locale state: a strerror()
 * on the failure path took it again, and ls hung in textdomain). */
static void whole_heap(const char *lib)
{
	char err[64] = "/tmp/kern-window.XXXXXX", buf[4096];
	char *argv[] = { "/bin/ls", "-l", "/", NULL };
	int st, fd;
	ssize_t n;

	new_group("heap-starved");
	fd = mkstemp(err);
	CHECK(fd >= 0);
	setenv("LD_PRELOAD", lib, 1);
	setenv("HUGEPOOL_THRESHOLD", "0", 1);
	setenv("HUGEPOOL_VERBOSE", "1", 1);
	st = run_in_group(NULL, argv, err);
	unsetenv("LD_PRELOAD");
	unsetenv("HUGEPOOL_THRESHOLD");
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(err);
	buf[n > 0 ? n : 0] = '\0';
	if (st != 0) {
		fprintf(stderr, "kern-window: ls at threshold 0, starved (cgroup v%d): status %d; "
			"stderr:\n%s", cg.version, st, buf);
		exit(T_FAIL);
	}
	/* the fallback is said, once */
	CHECK(strstr(buf, "glibc malloc serves it"));
	CHECK(!strstr(strstr(buf, "glibc malloc serves it") + 1, "glibc malloc serves it"));
	hcg_remove_group(&cg);
}

static void run_version(int version, const char *lib, const char *prog)
{
	int st;

	if (!hcg_setup(&cg, version))
		skip_or_fail("no hugetlb cgroup v%d here", version);
	for (int l = 0; l < 2; l++) {
		lifted = l;
		new_group(lifted ? "engine-lifted" : "engine-starved");
		st = run_in_group(engine, NULL, NULL);
		hcg_remove_group(&cg);
		child_ok(lifted ? "engine, limit lifted" : "engine, starved", st);
		preload(lib, prog, lifted);
	}
	whole_heap(lib);
	printf("kern-window: cgroup v%d: engine and preload, starved and lifted: the fallback "
	       "block kept its contents, outside the window, freed by glibc; ls with the whole "
	       "heap starved ran on glibc\n", version);
	hcg_teardown(&cg);
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2);
	const char *bd = getenv("HUGEPOOL_TEST_BUILDDIR");
	char lib[512], prog[512];

	hp_options_init();
	hp_verbose = 0;
	if (geteuid() != 0)
		skip_or_fail("kern-window needs root (cgroups)");
	CHECK(bd);
	snprintf(lib, sizeof(lib), "%s/lib/libhugepool.so", bd);
	snprintf(prog, sizeof(prog), "%s/tests/kernel/kern-window-prog", bd);
	need_free_pages(MB2, 8);
	main_pid = getpid();
	atexit(cleanup);
	run_version(1, lib, prog);
	run_version(2, lib, prog);
	CHECK(kernel_back_at(&kb, "kern-window"));
	printf("kern-window: PASS (cgroup v1 and v2 hugetlb limits 0, lifted or not: no SIGSEGV, "
	       "no lost contents, no overlap, free of the fallback block went to glibc)\n");
	return T_PASS;
}
