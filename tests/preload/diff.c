/* SPDX-License-Identifier: MIT */
/*
 * diff.c - the differential test: run a program without and with
 * LD_PRELOAD=libhugepool.so and require the same stdout and exit status.
 * The program reports on stderr "pool-served N" (blocks hugepool_owner
 * claimed); with the preload, N must be positive, or the comparison proved
 * nothing about the pool. The kernel's free_hugepages must be back at its
 * baseline afterwards.
 *
 * usage: diff PROGRAM [ARGS...]
 */
#include "preload-test.h"

static unsigned long served(const char *err)
{
	const char *p = strstr(err, "pool-served ");

	return p ? strtoul(p + 12, NULL, 10) : 0;
}

int main(int argc, char **argv)
{
	struct pt_run plain = { 0 }, pre = { 0 };
	long base;
	bool ok = true;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
		return T_FAIL;
	}
	need_free_pages(HUGE_2M, 64);
	base = pt_free_pages();
	plain.argv = (const char *const *)argv + 1;
	pre.argv = plain.argv;
	pre.preload = true;
	pt_run(&plain);
	pt_run(&pre);
	fprintf(stderr, "without: status %d, %zu bytes, %.2f s; with: status %d, %zu bytes, %.2f s, %lu blocks from the pool\n",
		plain.status, plain.out.len, plain.secs, pre.status, pre.out.len, pre.secs,
		served(pre.err.buf));
	if (plain.status != pre.status) {
		fprintf(stderr, "exit status differs: %d without, %d with the preload\n",
			plain.status, pre.status);
		ok = false;
	}
	if (plain.out.len != pre.out.len || memcmp(plain.out.buf, pre.out.buf, plain.out.len)) {
		/* show the first differing line */
		const char *a = plain.out.buf, *b = pre.out.buf;

		while (*a && *a == *b) {
			a++;
			b++;
		}
		while (a > plain.out.buf && a[-1] != '\n') {
			a--;
			b--;
		}
		fprintf(stderr, "stdout differs; first difference:\n  without: %.*s\n  with:    %.*s\n",
			(int)strcspn(a, "\n"), a, (int)strcspn(b, "\n"), b);
		ok = false;
	}
	if (served(plain.err.buf)) {
		fprintf(stderr, "the run without the preload claims pool blocks\n");
		ok = false;
	}
	if (!served(pre.err.buf)) {
		pt_show("stderr with the preload", pre.err.buf, 2000);
		fprintf(stderr, "no block came from the pool under the preload\n");
		ok = false;
	}
	if (!ok) {
		pt_show("stderr without", plain.err.buf, 2000);
		pt_show("stderr with", pre.err.buf, 2000);
	}
	if (!pt_baseline_ok(base, "after the runs"))
		ok = false;
	{
		size_t lines = 0;

		for (size_t i = 0; i < plain.out.len; i++)
			lines += plain.out.buf[i] == '\n';
		printf("%s: %zu lines compared\n", ok ? "PASS" : "FAIL", lines);
	}
	return ok ? T_PASS : T_FAIL;
}
