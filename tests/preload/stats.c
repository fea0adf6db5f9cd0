/* SPDX-License-Identifier: MIT */
/*
 * stats.c - the preload's environment: HUGEPOOL_STATS=text|json at exit
 * (stderr, or HUGEPOOL_STATS_FILE with %p for the pid), the fallback to
 * glibc (counted in the stats, said once at HUGEPOOL_VERBOSE >= 1, never
 * at 0), and every HUGEPOOL_* variable with a bad value: one line of
 * warning, the default, and a program that works.
 *
 * The program under test is this one, re-run as "stats child" with the
 * preload: it allocates above and below the threshold and says on stdout
 * who served what.
 */
#include "preload-test.h"

static int failures;

#define FAILF(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } while (0)

/* ------------------------------------------------------------- the child */
static int child(void)
{
	/* the library's default: the runs set bad HUGEPOOL_THRESHOLD values */
	size_t t = PT_DEFAULT_THRESHOLD;
	void *big[4], *small = NULL, *at = NULL;

	at = malloc(t);
	small = malloc(t - 1);
	printf("at-threshold %s below %s\n", pt_owner(at) ? "pool" : "glibc",
	       pt_owner(small) ? "pool" : "glibc");
	for (int i = 0; i < 4; i++) {
		big[i] = malloc(4 * MB);
		if (!big[i])
			return 1;
		memset(big[i], i, 4 * MB);
	}
	printf("4M blocks from the pool: %d\n", !!pt_owner(big[0]) + !!pt_owner(big[1]) +
	       !!pt_owner(big[2]) + !!pt_owner(big[3]));
	for (int i = 0; i < 4; i++)
		free(big[i]);
	free(at);
	free(small);
	return 0;
}

/* ------------------------------------------------------------- the runs */
static char self[4096];

static void run(struct pt_run *r, const char *const *env)
{
	static const char *argv[] = { self, "child", NULL };

	r->argv = argv;
	r->env = env;
	r->preload = true;
	r->timeout = 60;
	pt_run(r);
	if (r->status != 0)
		FAILF("child exited with %d; stderr: %s", r->status, r->err.buf);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_json_file(const char *dir)
{
	char file[4200], envf[4300];
	const char *env[] = { "HUGEPOOL_STATS=json", envf, NULL };
	struct pt_run r = { 0 };
	char *txt;

	snprintf(file, sizeof(file), "%s/stats.json", dir);
	snprintf(envf, sizeof(envf), "HUGEPOOL_STATS_FILE=%s", file);
	run(&r, env);
	txt = pt_slurp(file);
	if (!txt) {
		FAILF("json: no %s", file);
		return;
	}
	if (strncmp(txt, "{\"version\":", 11) || !strstr(txt, "\"pools\":[{") ||
	    txt[strlen(txt) - 1] != '\n' || count_lines(txt, "\n") != 1)
		FAILF("json: not one JSON object on one line: %s", txt);
	for (const char *k = "page_size nr_pages free_pages resv_pages surplus_pages allocs frees fallbacks failures bytes_in_use";
	     *k; ) {
		char key[64];
		size_t n = strcspn(k, " ");

		snprintf(key, sizeof(key), "\"%.*s\":", (int)n, k);
		if (!strstr(txt, key))
			FAILF("json: no %s", key);
		k += n + (k[n] == ' ');
	}
	if (pt_json_sum(txt, "allocs") < 5)
		FAILF("json: allocs %llu < 5", pt_json_sum(txt, "allocs"));
	if (pt_json_sum(txt, "bytes_in_use") != 0)
		FAILF("json: bytes_in_use %llu after every block was freed",
		      pt_json_sum(txt, "bytes_in_use"));
	if (strstr(r.err.buf, "\"pools\"") || strstr(r.out.buf, "\"pools\""))
		FAILF("json: stats also went to stdout/stderr");
	if (!strstr(r.out.buf, "at-threshold pool below glibc") || !strstr(r.out.buf, "pool: 4"))
		FAILF("json: routing: %s", r.out.buf);
	/* a well-formed document, if python3 is there to tell */
	if (!system("command -v python3 >/dev/null 2>&1")) {
		char cmd[4400];

		snprintf(cmd, sizeof(cmd),
			 "python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' '%s'",
			 file);
		if (system(cmd))
			FAILF("json: python3 cannot parse %s", file);
	}
	free(txt);
	pt_out_free(&r.out);
	pt_out_free(&r.err);
}

static void test_pid_file(const char *dir)
{
	char envf[4300], file[4300];
	const char *env[] = { "HUGEPOOL_STATS=json", envf, NULL };
	struct pt_run r = { 0 };
	char *txt;

	snprintf(envf, sizeof(envf), "HUGEPOOL_STATS_FILE=%s/s-%%p.json", dir);
	run(&r, env);
	/* the child's pid is not known here: look for the one file */
	snprintf(file, sizeof(file), "ls %s/s-*.json >/dev/null 2>&1", dir);
	if (system(file))
		FAILF("%%p: no s-<pid>.json in %s", dir);
	snprintf(file, sizeof(file), "%s/s-%%p.json", dir);
	if ((txt = pt_slurp(file))) {
		FAILF("%%p was not replaced");
		free(txt);
	}
	pt_out_free(&r.out);
	pt_out_free(&r.err);
}

static void test_text_stderr(void)
{
	const char *env[] = { "HUGEPOOL_STATS=text", NULL };
	const char *envj[] = { "HUGEPOOL_STATS=json", NULL };
	struct pt_run r = { 0 };

	run(&r, env);
	if (!strstr(r.err.buf, "pool default") || !strstr(r.err.buf, "preload: on"))
		FAILF("text: stderr lacks the stats: %s", r.err.buf);
	if (strstr(r.out.buf, "pool default"))
		FAILF("text: stats on stdout");
	run(&r, envj);
	if (!strstr(r.err.buf, "{\"version\":"))
		FAILF("json to stderr: %s", r.err.buf);
	pt_out_free(&r.out);
	pt_out_free(&r.err);
}

/* a pool capped at one page: the 4 MiB blocks come from glibc, counted and
 * said once */
static void test_fallback(void)
{
	const char *env[] = { "HUGEPOOL_MAX=1", "HUGEPOOL_STATS=json", "HUGEPOOL_VERBOSE=1", NULL };
	const char *quiet[] = { "HUGEPOOL_MAX=1", "HUGEPOOL_VERBOSE=0", NULL };
	struct pt_run r = { 0 };

	run(&r, env);
	if (!strstr(r.out.buf, "pool: 0"))
		FAILF("fallback: 4M blocks should come from glibc: %s", r.out.buf);
	if (count_lines(r.err.buf, "could not be had from huge pages") != 1)
		FAILF("fallback: not said exactly once: %s", r.err.buf);
	if (pt_json_sum(r.err.buf, "fallbacks") < 4)
		FAILF("fallback: %llu fallbacks counted, 4 expected", pt_json_sum(r.err.buf, "fallbacks"));
	run(&r, quiet);
	if (r.err.len)
		FAILF("HUGEPOOL_VERBOSE=0: stderr not empty: %s", r.err.buf);
	pt_out_free(&r.out);
	pt_out_free(&r.err);
}

/* each bad value: one warning line naming the variable, the default */
static void test_bad_values(void)
{
	static const char *const bad[] = {
		"HUGEPOOL_THRESHOLD=12abc", "HUGEPOOL_THRESHOLD=-5", "HUGEPOOL_STATS=xml",
		"HUGEPOOL_MALLOC=maybe", "HUGEPOOL_VERBOSE=9", "HUGEPOOL_DECAY_MS=soon",
		"HUGEPOOL_PAGE_SIZE=3M", "HUGEPOOL_POLICY=random", "HUGEPOOL_NODES=99",
		"HUGEPOOL_MIN=lots", "HUGEPOOL_MAX=-1", "HUGEPOOL_FALLBACK=perhaps",
		"HUGEPOOL_PAGE_SIZE=", "HUGEPOOL_THRESHOLD=",
	};

	for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
		const char *env[] = { bad[i], NULL };
		struct pt_run r = { 0 };
		char name[64];
		int lines = 0, ours = 0;

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(bad[i], "="), bad[i]);
		run(&r, env);
		for (const char *p = r.err.buf; *p; p++)
			lines += *p == '\n';
		ours = count_lines(r.err.buf, "hugepool: ");
		/* libnuma says its own piece about a bad node list before ours
		 * (numa_parse_nodestring); only our line is ours to count */
		if (ours != 1 || !strstr(r.err.buf, name) || (lines != 1 && !strstr(name, "NODES")))
			FAILF("%s: expected one warning line naming %s, got: %s", bad[i], name, r.err.buf);
		/* the defaults: threshold 256 KiB... unless the test sets one */
		if (!strstr(r.out.buf, "at-threshold pool below glibc") || !strstr(r.out.buf, "pool: 4"))
			FAILF("%s: not the default behaviour: %s", bad[i], r.out.buf);
		printf("%-28s -> %s", bad[i], r.err.buf);
		pt_out_free(&r.out);
		pt_out_free(&r.err);
	}
}

int main(int argc, char **argv)
{
	char *dir;
	long base;
	ssize_t n;

	if (argc > 1 && !strcmp(argv[1], "child"))
		return child();
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	CHECK(n > 0);
	self[n] = '\0';
	/* the runs below use the library's defaults */
	unsetenv("HUGEPOOL_THRESHOLD");
	unsetenv("HUGEPOOL_VERBOSE");
	need_free_pages(HUGE_2M, 32);
	base = pt_free_pages();
	dir = pt_tmpdir("stats");
	test_json_file(dir);
	test_pid_file(dir);
	test_text_stderr();
	test_fallback();
	test_bad_values();
	if (!pt_baseline_ok(base, "stats"))
		failures++;
	if (!failures)
		pt_rmrf(dir);
	printf("%d failures\n", failures);
	return failures ? T_FAIL : T_PASS;
}
