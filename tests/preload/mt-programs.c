/* SPDX-License-Identifier: MIT */
/*
 * mt-programs.c - multi-threaded real programs under the preload (issue
 * 14): xz -T2, zstd -T2, sort --parallel=2, python3 with threads and
 * every object from malloc (PYTHONMALLOC=malloc), and mt-new.cpp (small
 * new/delete across threads). Each runs without the preload, then with it
 * at the default threshold and at HUGEPOOL_THRESHOLD=0; every run must
 * exit 0 with the same stdout and the same stderr as the run without (a
 * line the library adds is a difference too).
 *
 * Proof that the pool took part: HUGEPOOL_STATS=json writes each
 * process's stats to a file of its own; every preloaded run must show
 * blocks from the pool and no glibc fallback, and the run at threshold 0
 * more blocks than the one at the default. python3 and the C++ program
 * print the KernelPageSize of a small object's mapping (their own
 * /proc/self/smaps) on stderr: at threshold 0 it must be 2048 kB.
 *
 * usage: mt-programs MT_NEW_CPP_SOURCE
 */
#include "preload-test.h"

struct prog {
	const char *name;	/* what must be installed */
	const char *script;	/* sh -c script; $IN is the input directory */
	bool smaps;		/* prints "kernel-page-size N kB" on stderr */
};

static const struct prog progs[] = {
	{ "xz", "xz -T2 --block-size=1MiB -6 -c \"$IN/big.bin\" > b.xz && sha256sum < b.xz && "
		"xz -T2 -dc b.xz | cmp - \"$IN/big.bin\" && echo same", false },
	{ "zstd", "zstd -q -T2 -B1MiB -9 -c \"$IN/big.bin\" > b.zst && sha256sum < b.zst && "
		  "zstd -q -T2 -dc b.zst | cmp - \"$IN/big.bin\" && echo same", false },
	{ "sort", "sort --parallel=2 -S 64M -k2,2 -k1,1n \"$IN/data.txt\" | sha256sum; "
		  "sort --parallel=2 -S 64M -n -r \"$IN/data.txt\" | head -3", false },
	{ "python3",
	  "PYTHONMALLOC=malloc python3 - <<'EOF'\n"
	  "import sys, threading\n"
	  "res = [0] * 4\n"
	  "def work(i):\n"
	  "    d = {}\n"
	  "    for k in range(60000):\n"
	  "        d[(k * 7919 + i) % 2000] = [str(k), k * i, (k, i)]\n"
	  "    res[i] = sum(len(v[0]) + v[1] + v[2][0] for v in d.values())\n"
	  "ts = [threading.Thread(target=work, args=(i,)) for i in range(4)]\n"
	  "for t in ts: t.start()\n"
	  "for t in ts: t.join()\n"
	  "print(res, len(bytearray(1 << 20)))\n"
	  "o = [1.5, 'x']\n"
	  "a, kb, inside = id(o), -1, False\n"
	  PT_PY_KERNEL_PAGE
	  "EOF", true },
	{ "mt-new", "\"$IN/mt-new\"", true },
};

/* deterministic inputs: a text of numbers and words, a half-compressible
 * binary; the C++ program compiled without the preload */
static bool make_inputs(const char *in, const char *cpp)
{
	struct pt_out o = { 0 };
	unsigned int s = 4321;
	char line[128], path[4300], cmd[9000];
	FILE *f;

	for (int i = 0; i < 200000; i++) {
		s = s * 1103515245u + 12345u;
		snprintf(line, sizeof(line), "%u w%u\n", s >> 12, (s >> 4) % 997);
		pt_out_add(&o, line, strlen(line));
	}
	snprintf(path, sizeof(path), "%s/data.txt", in);
	CHECK((f = fopen(path, "w")) && fwrite(o.buf, 1, o.len, f) == o.len && fclose(f) == 0);
	pt_out_free(&o);
	snprintf(path, sizeof(path), "%s/big.bin", in);
	CHECK((f = fopen(path, "w")));
	for (size_t i = 0; i < 6 * MB; i++) {
		s = s * 1103515245u + 12345u;
		fputc((i / 4096) % 2 ? (int)(s >> 16) & 255 : (int)(i % 61), f);
	}
	CHECK(fclose(f) == 0);
	snprintf(cmd, sizeof(cmd), "g++ -O2 -std=c++17 -pthread -o '%s/mt-new' '%s'", in, cpp);
	return pt_have("g++") && system(cmd) == 0;
}

/* stderr without the lines a program prints about its own pages */
static char *err_text(const char *err)
{
	struct pt_out o = { 0 };

	pt_out_add(&o, "", 0);
	for (const char *p = err; *p;) {
		size_t n = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');

		if (strncmp(p, "kernel-page-size ", 17))
			pt_out_add(&o, p, n);
		p += n;
	}
	return o.buf;
}

struct result {
	struct pt_stats st;
	long kb;		/* kernel-page-size, or -1 */
};

/* One preloaded run at threshold t ("" for the default) compared with the
 * plain one; returns the failures found. */
static int run_pre(const struct prog *p, const char *tmp, const char *t, char **env,
		   const struct pt_run *plain, struct result *res)
{
	const char *argv_sh[] = { "sh", "-c", p->script, NULL };
	struct pt_run pre = { .argv = argv_sh, .timeout = 60, .preload = true, .env = (const char **)env };
	char dir[4200], stats_env[4300], thr_env[64], *a, *b;
	const char *kps;
	int bad = 0;

	snprintf(dir, sizeof(dir), "%s/%s.t%s", tmp, p->name, *t ? t : "default");
	CHECK(mkdir(dir, 0755) == 0);
	pre.cwd = dir;
	snprintf(stats_env, sizeof(stats_env), "HUGEPOOL_STATS_FILE=%s/stats-%%p.json", dir);
	snprintf(thr_env, sizeof(thr_env), "HUGEPOOL_THRESHOLD=%s", t);
	env[3] = stats_env;
	env[4] = *t ? thr_env : NULL;	/* none: the default */
	pt_run(&pre);
	res->st = pt_read_stats(dir);
	kps = strstr(pre.err.buf, "kernel-page-size ");
	res->kb = kps ? strtol(kps + 17, NULL, 10) : -1;
	a = err_text(plain->err.buf);
	b = err_text(pre.err.buf);
	if (pre.status != 0 || plain->out.len != pre.out.len ||
	    memcmp(plain->out.buf, pre.out.buf, pre.out.len) || strcmp(a, b)) {
		fprintf(stderr, "%s at threshold %s: status %d, output differs from the plain run\n",
			p->name, *t ? t : "default", pre.status);
		pt_show("stdout with", pre.out.buf, 600);
		pt_show("stderr with", b, 600);
		bad++;
	}
	if (!res->st.allocs || res->st.fallbacks) {
		fprintf(stderr, "%s at threshold %s: %llu blocks from the pool, %llu fallbacks (%llu stats files)\n",
			p->name, *t ? t : "default", res->st.allocs, res->st.fallbacks, res->st.files);
		bad++;
	}
	free(a);
	free(b);
	pt_out_free(&pre.out);
	pt_out_free(&pre.err);
	return bad;
}

/* The three runs of a program; returns its failures. */
static int one(const struct prog *p, const char *tmp, const char *env_in)
{
	const char *argv_sh[] = { "sh", "-c", p->script, NULL };
	char *env[] = { (char *)env_in, "HUGEPOOL_STATS=json", "LC_ALL=C", NULL, NULL, NULL };
	char *plain_env[] = { (char *)env_in, "LC_ALL=C", NULL };
	struct pt_run plain = { .argv = argv_sh, .timeout = 60, .env = (const char **)plain_env };
	struct result def, t0;
	char dir[4200];
	int bad = 0;

	snprintf(dir, sizeof(dir), "%s/%s.plain", tmp, p->name);
	CHECK(mkdir(dir, 0755) == 0);
	plain.cwd = dir;
	pt_run(&plain);
	if (plain.status) {
		fprintf(stderr, "%s: failed without the preload (status %d)\n", p->name, plain.status);
		pt_show("stderr", plain.err.buf, 600);
		return 1;
	}
	bad += run_pre(p, tmp, "", env, &plain, &def);
	bad += run_pre(p, tmp, "0", env, &plain, &t0);
	if (t0.st.allocs <= def.st.allocs) {
		fprintf(stderr, "%s: %llu pool blocks at threshold 0, not more than %llu at the default\n",
			p->name, t0.st.allocs, def.st.allocs);
		bad++;
	}
	if (p->smaps && t0.kb != 2048) {
		fprintf(stderr, "%s: a small object on %ld kB pages at threshold 0\n", p->name, t0.kb);
		bad++;
	}
	printf("%-8s %9zu bytes out  pool blocks: default %7llu, threshold 0 %7llu%s  %s\n",
	       p->name, plain.out.len, def.st.allocs, t0.st.allocs,
	       p->smaps ? (t0.kb == 2048 ? "  small object on 2048 kB" : "  small object ?") : "",
	       bad ? "FAIL" : "ok");
	pt_out_free(&plain.out);
	pt_out_free(&plain.err);
	return bad;
}

int main(int argc, char **argv)
{
	char *tmp = pt_tmpdir("mt"), in[4200], env_in[4300];
	int failed = 0, ran = 0;
	long base;

	if (argc < 2) {
		fprintf(stderr, "usage: %s MT_NEW_CPP_SOURCE\n", argv[0]);
		return T_FAIL;
	}
	base = pt_programs_begin(tmp, in, env_in);
	if (!make_inputs(in, argv[1]))
		fprintf(stderr, "cannot compile %s\n", argv[1]);
	for (size_t i = 0; i < ARRAY_LEN(progs); i++) {
		const char *need = strcmp(progs[i].name, "mt-new") ? progs[i].name : "g++";

		if (!pt_have(need)) {
			printf("%-8s not installed\n", progs[i].name);
			continue;
		}
		ran++;
		failed += one(&progs[i], tmp, env_in) != 0;
	}
	printf("%d programs, %d failed\n", ran, failed);
	if (pt_programs_end(tmp, base, "mt-programs", failed))
		return T_FAIL;
	if (ran < (int)ARRAY_LEN(progs))
		skip_or_fail("only %d of the %zu programs are installed", ran, ARRAY_LEN(progs));
	return T_PASS;
}
