/* SPDX-License-Identifier: MIT */
/*
 * hpb-run.c - workers: the parent's side (start one with the peer's
 * environment, read its lines into the store, say why it gave no figure)
 * and the worker's side (what it prints).
 *
 * A worker is this executable run again with --worker. Its environment is
 * the parent's without LD_PRELOAD, GLIBC_TUNABLES and MIMALLOC_* (so every
 * peer starts from the same process), plus the peer's own. Its stdout is a
 * pipe of result lines; its stderr goes to a memfd whose first line becomes
 * the reason when the worker fails (a peer's own complaint, e.g. mimalloc
 * failing to reserve 1 GiB pages, is worth more than "exit 1").
 *
 * Before a worker that needs huge pages starts, the kernel's free pages are
 * checked: other programs share the pool, so a peer that would not get its
 * pages is skipped with the numbers, instead of failing or, worse, silently
 * falling back to small pages and being measured as if it had not.
 */
#include "hpb.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

const char *hpb_self(void)
{
	static char self[PATH_MAX];
	ssize_t n;

	if (!self[0]) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return "hugepool-bench";
		self[n] = '\0';
	}
	return self;
}

/* ------------------------------------------------------------------------
 * worker side
 * ------------------------------------------------------------------------ */
void hpb_emit(const char *metric, double value)
{
	printf("v %s %.9g\n", metric, value);
	fflush(stdout);
}

void hpb_emit_pages(const char *metric, const char *text)
{
	if (text && *text)
		printf("pages %s %s\n", metric, text);
}

static void say(const char *what, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void say(const char *what, const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	printf("%s %s\n", what, buf);
	fflush(stdout);
}

void hpb_note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("note", fmt, ap);
	va_end(ap);
}

void hpb_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say("fail", fmt, ap);
	va_end(ap);
}

static const struct hpb_scenario *const scenarios[] = {
	&hpb_scen_first_write, &hpb_scen_tlb, &hpb_scen_churn,
	&hpb_scen_waste, &hpb_scen_small, &hpb_scen_uring,
	&hpb_scen_larson, &hpb_scen_prodcons, &hpb_scen_mix, &hpb_scen_chase,
	&hpb_scen_segments, &hpb_scen_compat,
};

int hpb_worker_main(const char *scen, const char *peer_name, int job)
{
	const struct hpb_scenario *s = NULL;
	struct hpb_peer *peer = hpb_peer_find(peer_name);
	struct hpb_alloc a;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(scenarios); i++)
		if (!strcmp(scenarios[i]->name, scen))
			s = scenarios[i];
	if (!s || !peer) {
		fprintf(stderr, "unknown scenario or peer: %s %s\n", scen, peer_name);
		return 2;
	}
	/* a peer that hangs must not hang the whole run */
	alarm((unsigned int)hpb_opt.timeout);
	if (hpb_worker_setup(&a, peer))
		return 1;
	return s->worker(&a, job) ? 1 : 0;
}

/* ------------------------------------------------------------------------
 * parent side
 * ------------------------------------------------------------------------ */

/* the metrics job j of scenario s reports: the j-th of the scenario when
 * it has several jobs, else all of them */
static int job_metrics(const struct hpb_scenario *s, int njobs, int job, int *out)
{
	int m, n = 0, k = 0;

	for (m = 0; m < hpb_nmetrics(); m++) {
		if (strcmp(hpb_metric_scenario(m), s->name))
			continue;
		if (njobs == 1 || k == job)
			out[n++] = m;
		k++;
	}
	return n;
}

static void set_status(const int *ms, int n, int peer, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void set_status(const int *ms, int n, int peer, const char *fmt, ...)
{
	char buf[112];
	va_list ap;
	int i;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	for (i = 0; i < n; i++) {
		struct hpb_series *s = hpb_series(ms[i], peer);

		/* keep the first reason; figures already had stay */
		if (!s->status[0])
			snprintf(s->status, sizeof(s->status), "%s", buf);
	}
}

/* notes, printed under the scenario's table (deduplicated) */
#define MAX_NOTES 64
static char *notes[MAX_NOTES];
static int nnotes;

static void add_note(const char *peer, const char *text)
{
	char buf[600];
	int i;

	snprintf(buf, sizeof(buf), "%s: %s", peer, text);
	for (i = 0; i < nnotes; i++)
		if (!strcmp(notes[i], buf))
			return;
	if (nnotes < MAX_NOTES)
		notes[nnotes++] = strdup(buf);
}

void hpb_print_notes(FILE *out)
{
	int i;

	for (i = 0; i < nnotes; i++) {
		fprintf(out, "   note: %s\n", notes[i]);
		free(notes[i]);
	}
	nnotes = 0;
}

/* the parent's allocator settings, and any variable the peer sets itself
 * (getenv takes the first of two: the peer's must be the only one) */
static bool strip_env(const char *e, const struct hpb_peer *peer)
{
	int i;

	if (!strncmp(e, "LD_PRELOAD=", 11) || !strncmp(e, "GLIBC_TUNABLES=", 15) ||
	    !strncmp(e, "MIMALLOC_", 9))
		return true;
	for (i = 0; i < 3 && peer->env[i]; i++) {
		size_t n = strcspn(peer->env[i], "=") + 1;

		if (!strncmp(e, peer->env[i], n))
			return true;
	}
	return false;
}

static void parse_line(char *line, const char *peer_name, int peer, bool verbose,
		       char *fail, size_t fail_len)
{
	char *sp, *val;
	int m;

	line[strcspn(line, "\n")] = '\0';
	if (!strncmp(line, "fail ", 5)) {
		snprintf(fail, fail_len, "%.*s", (int)fail_len - 1, line + 5);
		return;
	}
	if (!strncmp(line, "note ", 5)) {
		add_note(peer_name, line + 5);
		return;
	}
	if (!strncmp(line, "v ", 2) || !strncmp(line, "pages ", 6)) {
		bool is_v = line[0] == 'v';

		sp = strchr(line, ' ') + 1;
		val = strchr(sp, ' ');
		if (!val)
			return;
		*val++ = '\0';
		m = hpb_metric_find(sp);
		if (m < 0) {
			if (verbose)
				fprintf(stderr, "hugepool-bench: %s: unknown metric %s\n", peer_name, sp);
			return;
		}
		if (is_v) {
			struct hpb_series *s = hpb_series(m, peer);

			if (s->n < HPB_MAX_RUNS)
				s->v[s->n++] = strtod(val, NULL);
		} else {
			snprintf(hpb_series(m, peer)->pages, sizeof(hpb_series(m, peer)->pages),
				 "%s", val);
		}
	}
}

void hpb_run_worker(const struct hpb_scenario *s, struct hpb_peer *peer, int job, int run)
{
	char *argv[48], *envp[512], jobs[16], runs[16], timeout[16], n1gs[24], envbuf[3][160];
	char runarg[16], extra[5][24], maxenv[48];
	char preload[PATH_MAX + 16], errbuf[4096], line[1024], fail[100] = "";
	int njobs = s->jobs ? s->jobs() : 1, ms[HPB_MAX_METRICS], nms, pfd[2], efd, status;
	int pi = hpb_peer_index(peer), argc = 0, envc = 0, i;
	size_t n2m = 0, n1g = 0;
	long free2m, free1g;
	ssize_t got;
	FILE *f;
	pid_t pid;

	nms = job_metrics(s, njobs, job, ms);
	if (!peer->available) {
		set_status(ms, nms, pi, "%s", peer->why);
		return;
	}
	if (s->needs)
		s->needs(peer, njobs == 1 ? -1 : job, &n2m, &n1g);
	free2m = hpb_free_huge(2 * MB);
	free1g = hpb_free_huge(GB);
	if ((long)n2m > free2m) {
		set_status(ms, nms, pi, "skipped: needs %zu free 2 MiB page%s, %ld free", n2m,
			   n2m == 1 ? "" : "s", free2m);
		return;
	}
	if ((long)n1g > free1g) {
		set_status(ms, nms, pi, "skipped: needs %zu free 1 GiB page%s, %ld free", n1g,
			   n1g == 1 ? "" : "s", free1g);
		return;
	}

	/* argv: the worker gets the parent's options */
	snprintf(jobs, sizeof(jobs), "%d", job);
	snprintf(runs, sizeof(runs), "%d", s->inner_runs ? hpb_opt.runs : 1);
	snprintf(timeout, sizeof(timeout), "%d", hpb_opt.timeout);
	argv[argc++] = (char *)hpb_self();
	argv[argc++] = "--worker";
	argv[argc++] = (char *)s->name;
	argv[argc++] = peer->name ? (char *)peer->name : "";
	argv[argc++] = "--job";
	argv[argc++] = jobs;
	argv[argc++] = "--runs";
	argv[argc++] = runs;
	argv[argc++] = "--clock";
	argv[argc++] = hpb_opt.clock == HPB_CLOCK_CPU ? "cpu" : "wall";
	argv[argc++] = "--timeout";
	argv[argc++] = timeout;
	snprintf(runarg, sizeof(runarg), "%d", run);
	argv[argc++] = "--run";
	argv[argc++] = runarg;
	snprintf(extra[0], sizeof(extra[0]), "%zu", hpb_opt.waste_live);
	argv[argc++] = "--waste-live";
	argv[argc++] = extra[0];
	snprintf(extra[1], sizeof(extra[1]), "%d", hpb_opt.small_threads);
	argv[argc++] = "--small-threads";
	argv[argc++] = extra[1];
	snprintf(extra[2], sizeof(extra[2]), "%lu", hpb_opt.small_ops);
	argv[argc++] = "--small-ops";
	argv[argc++] = extra[2];
	snprintf(extra[3], sizeof(extra[3]), "%u", hpb_opt.heap_slots);
	argv[argc++] = "--heap-slots";
	argv[argc++] = extra[3];
	snprintf(extra[4], sizeof(extra[4]), "%lu", hpb_opt.chase_nodes);
	argv[argc++] = "--chase-nodes";
	argv[argc++] = extra[4];
	if (hpb_opt.lib) {
		argv[argc++] = "--lib";
		argv[argc++] = (char *)hpb_opt.lib;
	}
	argv[argc] = NULL;
	if (s->job_args)
		s->job_args(job, argv + argc, (int)ARRAY_SIZE(argv) - argc - 1);
	while (argv[argc])
		argc++;
	argv[argc] = NULL;

	/* environment */
	for (i = 0; environ[i] && envc < (int)ARRAY_SIZE(envp) - 8; i++)
		if (!strip_env(environ[i], peer))
			envp[envc++] = environ[i];
	for (i = 0; i < 3 && peer->env[i]; i++) {
		snprintf(n1gs, sizeof(n1gs), "%zu", n1g ? n1g : 1);
		if (strstr(peer->env[i], "%zu")) {
			const char *pct = strstr(peer->env[i], "%zu");

			snprintf(envbuf[i], sizeof(envbuf[i]), "%.*s%s", (int)(pct - peer->env[i]),
				 peer->env[i], n1gs);
		} else {
			snprintf(envbuf[i], sizeof(envbuf[i]), "%s", peer->env[i]);
		}
		envp[envc++] = envbuf[i];
	}
	if (peer->kind == HPB_PRELOAD) {
		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", peer->path);
		envp[envc++] = preload;
	} else if (peer->kind == HPB_HUGEPOOL_PRELOAD) {
		size_t cap = peer->page_size == GB ? n1g : n2m;

		snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", hpb_opt.lib);
		envp[envc++] = preload;
		/* the preload takes no more than was found free for it: the
		 * machine's other programs share the kernel's pool, and at
		 * threshold 0 a heap that outgrows its estimate falls back to
		 * glibc (counted; the scenario's share on huge pages shows it)
		 * instead of taking every free page */
		if (cap && !getenv("HUGEPOOL_MAX")) {
			snprintf(maxenv, sizeof(maxenv), "HUGEPOOL_MAX=%zu", cap);
			envp[envc++] = maxenv;
		}
	}
	envp[envc] = NULL;

	if (pipe(pfd))
		return;
	efd = memfd_create("hpb-stderr", MFD_CLOEXEC);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		set_status(ms, nms, pi, "failed: fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		if (efd >= 0)
			dup2(efd, 2);
		close(pfd[0]);
		close(pfd[1]);
		execve(argv[0], argv, envp);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	f = fdopen(pfd[0], "r");
	while (f && fgets(line, sizeof(line), f))
		parse_line(line, peer->name, pi, hpb_opt.verbose, fail, sizeof(fail));
	if (f)
		fclose(f);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	errbuf[0] = '\0';
	if (efd >= 0) {
		got = pread(efd, errbuf, sizeof(errbuf) - 1, 0);
		errbuf[got > 0 ? got : 0] = '\0';
		close(efd);
	}
	if (hpb_opt.verbose && errbuf[0])
		fprintf(stderr, "[%s %s run %d] %s", s->name, peer->name, run, errbuf);
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		set_status(ms, nms, pi, "failed: %s%s", sig == SIGALRM ? "timed out" : strsignal(sig),
			   sig == SIGBUS ? " (no huge page at fault)" : "");
	} else if (WIFEXITED(status) && WEXITSTATUS(status)) {
		char first[100];

		snprintf(first, sizeof(first), "%.*s", (int)strcspn(errbuf, "\n"), errbuf);
		if (fail[0])
			snprintf(first, sizeof(first), "%s", fail);
		set_status(ms, nms, pi, "failed%s%s", first[0] ? ": " : "", first);
	} else if (errbuf[0]) {
		/* a peer's warnings are worth a note (mimalloc on 1 GiB pages) */
		char first[200];

		snprintf(first, sizeof(first), "stderr: %.*s", (int)strcspn(errbuf, "\n"), errbuf);
		add_note(peer->name, first);
	}
}
