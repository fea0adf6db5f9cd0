/* SPDX-License-Identifier: MIT */
/*
 * soak-window.c - huge pages that come and go under a preloaded threaded
 * program (issue 18): soak-window-prog runs in a hugetlb cgroup while this
 * process turns the group's 2 MiB fault and reservation limits off and on
 * every few tens of milliseconds ("off": the limit set to what the group
 * uses now, so no new page can be had; the kernel refuses a limit below
 * usage). The program's blocks across the threshold go to the pool or
 * fall back to glibc as it happens, every one pattern-checked: 0
 * corruption, the pool's counters exact at the end, and the kernel's
 * counters back at their baseline afterwards.
 *
 * SOAK_SECONDS (default 20; capped at 60 here), SOAK_THREADS (default 4).
 */
#include "../kernel/cgroup.h"

#include <poll.h>

static struct hcg cg;
static pid_t main_pid;

static void cleanup(void)
{
	if (getpid() == main_pid)
		hcg_teardown(&cg);
}

/* Limit file lim to what usage file use reads now (off), or lift it. The
 * usage can grow between the read and the write (EBUSY): try again. */
static void limit(const char *lim, const char *use, bool off)
{
	char path[600], val[32];
	int tries;

	snprintf(path, sizeof(path), "%s/%s", cg.grp, lim);
	for (tries = 0; tries < 20; tries++) {
		if (off)
			snprintf(val, sizeof(val), "%ld", hcg_read(&cg, use));
		else
			snprintf(val, sizeof(val), "%s", cg.version == 1 ? "-1" : "max");
		if (!hcg_write_file(path, val))
			return;
	}
}

static void toggle(bool off)
{
	bool v1 = cg.version == 1;

	limit(v1 ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max",
	      v1 ? "hugetlb.2MB.usage_in_bytes" : "hugetlb.2MB.current", off);
	limit(v1 ? "hugetlb.2MB.rsvd.limit_in_bytes" : "hugetlb.2MB.rsvd.max",
	      v1 ? "hugetlb.2MB.rsvd.usage_in_bytes" : "hugetlb.2MB.rsvd.current", off);
}

int main(void)
{
	struct kbase kb = kernel_baseline(2UL << 20);
	const char *bd = getenv("HUGEPOOL_TEST_BUILDDIR"), *s = getenv("SOAK_SECONDS");
	unsigned int secs = s ? (unsigned int)atoi(s) : 20, toggles = 0;
	char lib[512], prog[512], arg[16];
	int st;
	pid_t p;

	if (geteuid() != 0)
		skip_or_fail("soak-window needs root (cgroups)");
	CHECK(bd);
	if (secs < 2 || secs > 60)
		secs = secs < 2 ? 2 : 60;
	need_free_pages(2UL << 20, 64);
	snprintf(lib, sizeof(lib), "%s/lib/libhugepool.so", bd);
	snprintf(prog, sizeof(prog), "%s/tests/soak/soak-window-prog", bd);
	snprintf(arg, sizeof(arg), "%u", secs);
	main_pid = getpid();
	atexit(cleanup);
	if (!hcg_setup(&cg, 1) && !hcg_setup(&cg, 2))
		skip_or_fail("no hugetlb cgroup here");
	hcg_make_group(&cg, "soak");
	p = hcg_fork_in(&cg, 0);
	if (p == 0) {
		setenv("LD_PRELOAD", lib, 1);
		setenv("HUGEPOOL_DECAY_MS", "20", 1);	/* pages go back and come again */
		execl(prog, prog, arg, (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t w = waitpid(p, &st, WNOHANG);

		CHECK(w >= 0);
		if (w == p)
			break;
		toggle(toggles % 2 == 0);
		toggles++;
		poll(NULL, 0, 20 + (int)(toggles * 7919 % 60));
	}
	toggle(false);
	hcg_teardown(&cg);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "soak-window: the program %s %d\n",
			WIFSIGNALED(st) ? "died of signal" : "exited with",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
		return T_FAIL;
	}
	CHECK(kernel_back_at(&kb, "soak-window"));
	printf("soak-window: PASS (cgroup v%d limit toggled %u times; 0 corruption, counters exact, "
	       "kernel counters back at baseline)\n", cg.version, toggles);
	return T_PASS;
}
