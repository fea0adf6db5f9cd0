/* SPDX-License-Identifier: MIT */
/*
 * smoke.c - real programs of the base system under the preload: each runs
 * without and with LD_PRELOAD=libhugepool.so (same input, a fresh working
 * directory each) and must print the same stdout and exit with the same
 * status. With the preload, HUGEPOOL_STATS=json writes each process's
 * pool stats to a file of its own; the programs that make big allocations
 * must show blocks served by the pool and huge pages faulted, and the two
 * that look at themselves (python3, the C++ program) must find their big
 * block on a 2048 kB KernelPageSize mapping in /proc/self/smaps.
 *
 * usage: smoke ALIGNED_CPP_SOURCE
 * A program that is not installed is skipped; fewer than 12 is a skip, or
 * a failure under HUGEPOOL_TEST_REQUIRE=1.
 */
#include "preload-test.h"

#define MIN_PROGRAMS 12

struct prog {
	const char *name;	/* what must be installed */
	const char *script;	/* sh -c script; $IN is the input directory */
	bool big;		/* must get blocks from the pool */
	bool smaps;		/* prints "kernel-page-size N kB" on stderr */
	const char *need2;	/* a second program it needs */
};

/* Every script runs under "sh -c" so that the shell, and every program of
 * a pipeline, is under the preload too. */
static const struct prog progs[] = {
	{ "sh", "i=0; s=; while [ $i -lt 3000 ]; do s=\"$s$i,\"; i=$((i+1)); done; "
		"echo ${#s}; x=$(cat \"$IN/data.txt\"); echo ${#x}; echo \"$s\" | tr , '\\n' | tail -2",
	  false, false, NULL },
	{ "python3",
	  "python3 - <<'EOF'\n"
	  "import ctypes, hashlib, subprocess, sys\n"
	  "b = bytearray(64 << 20)\n"
	  "for i in range(0, len(b), 4096): b[i] = i % 251\n"
	  "c = bytes(b)\n"
	  "d = bytearray(c); d[-1] = 7\n"
	  "print(len(c), hashlib.sha256(c).hexdigest(), hashlib.sha256(d).hexdigest())\n"
	  "r = subprocess.run(['sh', '-c', 'echo child $((6*7))'], capture_output=True, text=True)\n"
	  "print(r.returncode, r.stdout.strip())\n"
	  "l = [str(i) * 3 for i in range(300000)]; print(len(''.join(l)))\n"
	  "a = ctypes.addressof(ctypes.c_char.from_buffer(b, 32 << 20))\n"
	  "kb, inside = -1, False\n"
	  PT_PY_KERNEL_PAGE
	  "EOF",
	  true, true, NULL },
	{ "perl", "perl -e '$s = \"ab\" x 20_000_000; $t = $s; substr($t, 5, 1) = \"z\"; "
		  "print length($t), \" \", substr($t, 0, 8), \"\\n\"; my @a = map { $_ * 2 } 1..500000; "
		  "print scalar(@a), \" $a[-1]\\n\"; my %h = map { $_ => 1 } 1..200000; "
		  "print scalar(keys %h), \"\\n\"'",
	  true, false, NULL },
	{ "sort", "sort -S 64M -k2,2 -k1,1n \"$IN/data.txt\" | tail -5; "
		  "sort -S 64M -n -r \"$IN/data.txt\" | head -3",
	  true, false, NULL },
	{ "gzip", "gzip -9 -n -c \"$IN/big.bin\" > b.gz && sha256sum < b.gz && gzip -dc b.gz | cmp - \"$IN/big.bin\" && echo same",
	  false, false, "sha256sum" },
	{ "xz", "xz -6 -T1 -c \"$IN/big.bin\" > b.xz && sha256sum < b.xz && xz -dc b.xz | cmp - \"$IN/big.bin\" && echo same",
	  true, false, "sha256sum" },
	{ "bzip2", "bzip2 -9 -c \"$IN/big.bin\" | sha256sum", true, false, "sha256sum" },
	{ "zstd", "zstd -q -19 -c \"$IN/big.bin\" | sha256sum", true, false, "sha256sum" },
	{ "git", "git init -q repo && cd repo && cp \"$IN/data.txt\" \"$IN/hello.c\" . && "
		 "git add . && git commit -q -m first && sed -i 's/main/main2/' hello.c && "
		 "git commit -q -am second && git rev-parse HEAD && git log --format=%s | tr '\\n' ' ' && "
		 "git gc -q && git count-objects -v | grep -v size && git fsck --no-progress && echo fsck ok",
	  false, false, NULL },
	{ "gcc", "gcc -O2 -c \"$IN/hello.c\" -o h.o && sha256sum < h.o && gcc -O2 \"$IN/hello.c\" -o hello && ./hello",
	  false, false, "sha256sum" },
	{ "g++", "g++ -O2 -std=c++17 -c \"$IN/aligned.cpp\" -o a.o && sha256sum < a.o",
	  false, false, "sha256sum" },
	{ "aligned", "\"$IN/aligned\"", true, true, NULL },
	{ "awk", "awk 'BEGIN { s = \"x\"; for (i = 0; i < 23; i++) s = s s; print length(s) } "
		 "{ n[$2]++; sum += $1 } END { print NR, sum; c = 0; for (k in n) c++; print c }' \"$IN/data.txt\"",
	  true, false, NULL },
	{ "find", "find /usr/include -maxdepth 2 -name '*.h' | head -50; find /usr/include -type f | wc -l",
	  false, false, NULL },
	{ "tar", "tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - -C /usr/include linux | sha256sum",
	  false, false, "sha256sum" },
	{ "sed", "sed -n 's/^\\([0-9]*\\) \\(.*\\)$/\\2 \\1/p' \"$IN/data.txt\" | sha256sum", false, false, "sha256sum" },
	{ "diff", "cp \"$IN/data.txt\" d2 && sed -i '1000s/./X/' d2 && diff \"$IN/data.txt\" d2; echo status $?",
	  false, false, NULL },
	{ "ls", "ls -la --time-style=+%s /usr/lib | sha256sum; ls /usr/bin | wc -l", false, false, NULL },
};

static bool have(const char *name)
{
	if (name && !strcmp(name, "aligned"))
		return pt_have("g++");
	return pt_have(name);
}

static void write_file(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	CHECK(f && fwrite(buf, 1, len, f) == len && fclose(f) == 0);
}

/* deterministic inputs: a text of numbers and words, a half-compressible
 * binary, a C file */
static void make_inputs(const char *in, const char *cpp)
{
	static const char *const words[] = { "alpha", "bravo", "charlie", "delta", "echo",
					     "foxtrot", "golf", "hotel", "india", "juliet" };
	struct pt_out o = { 0 };
	unsigned int s = 12345;
	size_t n = 8 * MB;
	unsigned char *b = malloc(n);
	char line[128], cmd[16800];

	for (int i = 0; i < 300000; i++) {
		s = s * 1103515245u + 12345u;
		snprintf(line, sizeof(line), "%u %s%u\n", s >> 12, words[(s >> 8) % 10], (s >> 4) % 97);
		pt_out_add(&o, line, strlen(line));
	}
	write_file(in, "data.txt", o.buf, o.len);
	pt_out_free(&o);
	CHECK(b);
	for (size_t i = 0; i < n; i++) {
		s = s * 1103515245u + 12345u;
		b[i] = (i / 4096) % 2 ? (unsigned char)(s >> 16) : (unsigned char)(i % 61);
	}
	write_file(in, "big.bin", b, n);
	free(b);
	{
		static const char hello[] =
			"#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
			"int main(void)\n{\n\tsize_t n = 8u << 20;\n\tchar *p = malloc(n);\n"
			"\tunsigned long s = 0;\n\tif (!p)\n\t\treturn 1;\n\tmemset(p, 3, n);\n"
			"\tfor (size_t i = 0; i < n; i += 4096)\n\t\ts += p[i];\n"
			"\tprintf(\"hello %lu\\n\", s);\n\tfree(p);\n\treturn 0;\n}\n";

		write_file(in, "hello.c", hello, strlen(hello));
	}
	/* the C++ program, compiled now without the preload */
	snprintf(cmd, sizeof(cmd), "cp '%s' \"$(dirname '%s')/kernel-page.hpp\" '%s/' && "
		 "g++ -O2 -std=c++17 -pthread -o '%s/aligned' '%s'", cpp, cpp, in, in, cpp);
	if (have("g++") && system(cmd))
		fprintf(stderr, "cannot compile %s\n", cpp);
}

int main(int argc, char **argv)
{
	char *tmp = pt_tmpdir("smoke"), in[4200], env_in[4300], env_stats[4300];
	int ran = 0, failed = 0, proved = 0;
	long base;

	if (argc < 2) {
		fprintf(stderr, "usage: %s ALIGNED_CPP_SOURCE\n", argv[0]);
		return T_FAIL;
	}
	base = pt_programs_begin(tmp, in, env_in);
	make_inputs(in, argv[1]);

	printf("%-8s %6s %9s %9s %7s %7s %s\n", "program", "status", "stdout", "t-plain", "t-pre",
	       "allocs", "huge pages faulted / proof");
	for (size_t i = 0; i < ARRAY_LEN(progs); i++) {
		const struct prog *p = &progs[i];
		const char *argv_sh[] = { "sh", "-c", p->script, NULL };
		const char *git_env[] = { "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e", "GIT_COMMITTER_NAME=t",
			"GIT_COMMITTER_EMAIL=t@e", "GIT_AUTHOR_DATE=@1700000000 +0000",
			"GIT_COMMITTER_DATE=@1700000000 +0000", "GIT_CONFIG_NOSYSTEM=1",
			"HOME=/nonexistent", "LC_ALL=C", NULL, NULL, NULL, NULL };
		struct pt_run plain = { .argv = argv_sh, .timeout = 300 };
		struct pt_run pre = { .argv = argv_sh, .timeout = 300, .preload = true };
		char cwd_plain[4200], cwd_pre[4200], stats_dir[4200];
		struct pt_stats st;
		bool ok = true;
		const char *kps;
		int k = 9;

		if (!have(p->name) || !have(p->need2)) {
			printf("%-8s not installed: skipped\n", p->name);
			continue;
		}
		snprintf(cwd_plain, sizeof(cwd_plain), "%s/%s.plain", tmp, p->name);
		snprintf(cwd_pre, sizeof(cwd_pre), "%s/%s.pre", tmp, p->name);
		snprintf(stats_dir, sizeof(stats_dir), "%s/%s.stats", tmp, p->name);
		CHECK(mkdir(cwd_plain, 0755) == 0 && mkdir(cwd_pre, 0755) == 0 &&
		      mkdir(stats_dir, 0755) == 0);
		snprintf(env_stats, sizeof(env_stats), "HUGEPOOL_STATS_FILE=%s/%%p.json", stats_dir);
		git_env[k++] = env_in;
		plain.env = git_env;
		plain.cwd = cwd_plain;
		pt_run(&plain);
		git_env[k++] = "HUGEPOOL_STATS=json";
		git_env[k++] = env_stats;
		pre.env = git_env;
		pre.cwd = cwd_pre;
		pt_run(&pre);
		ran++;
		st = pt_read_stats(stats_dir);
		kps = strstr(pre.err.buf, "kernel-page-size ");

		if (plain.status != pre.status) {
			fprintf(stderr, "%s: exit status %d without, %d with the preload\n", p->name,
				plain.status, pre.status);
			ok = false;
		}
		if (plain.status != 0 && strcmp(p->name, "diff")) {
			fprintf(stderr, "%s: failed even without the preload (status %d)\n", p->name,
				plain.status);
			ok = false;
		}
		if (plain.out.len != pre.out.len || memcmp(plain.out.buf, pre.out.buf, plain.out.len)) {
			fprintf(stderr, "%s: stdout differs\n", p->name);
			pt_show("without", plain.out.buf, 600);
			pt_show("with", pre.out.buf, 600);
			ok = false;
		}
		if (p->big && (!st.allocs || !st.faulted)) {
			fprintf(stderr, "%s: expected blocks from the pool (%llu stats files, allocs %llu, pages faulted %llu)\n",
				p->name, st.files, st.allocs, st.faulted);
			ok = false;
		}
		if (p->smaps) {
			long kb = kps ? strtol(kps + 17, NULL, 10) : -1;

			if (kb != 2048) {
				fprintf(stderr, "%s: the big block is on %ld kB pages, not 2048 kB\n",
					p->name, kb);
				ok = false;
			}
		}
		if (!ok) {
			pt_show("stderr without", plain.err.buf, 1500);
			pt_show("stderr with", pre.err.buf, 1500);
			failed++;
		}
		if (p->big && ok)
			proved++;
		printf("%-8s %6d %9zu %8.2fs %6.2fs %7llu %7llu%s%s\n", p->name, pre.status, pre.out.len,
		       plain.secs, pre.secs, st.allocs, st.faulted,
		       p->smaps ? (kps ? "  smaps 2048 kB" : "  smaps ?") : "", ok ? "" : "  FAIL");
		pt_out_free(&plain.out);
		pt_out_free(&plain.err);
		pt_out_free(&pre.out);
		pt_out_free(&pre.err);
	}
	printf("%d programs run, %d failed, %d proved their big blocks on huge pages\n", ran, failed,
	       proved);
	if (pt_programs_end(tmp, base, "smoke", failed))
		return T_FAIL;
	if (ran < MIN_PROGRAMS)
		skip_or_fail("only %d of the smoke programs are installed (need %d)", ran, MIN_PROGRAMS);
	return T_PASS;
}
