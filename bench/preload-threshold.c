/* SPDX-License-Identifier: MIT */
/*
 * preload-threshold.c - the measurement behind HUGEPOOL_THRESHOLD's
 * default (HP_DEFAULT_THRESHOLD in lib/options.c, docs/hugepool.7).
 *
 * Below the threshold glibc serves, at or above it the pool does. The
 * choice weighs speed against waste:
 *
 *  A. per size class S, glibc against the pool (HUGEPOOL_THRESHOLD=S),
 *     medians of alternating runs:
 *     churn   a live set of 32 blocks of S..2S, one freed and one
 *             allocated per operation, every 4 KiB page of it written;
 *     once    a whole short-lived process that allocates one block of S,
 *             uses an eighth of it and exits (what a huge page costs a
 *             program that barely uses its buffer: the page is populated,
 *             i.e. zeroed, in full);
 *     random  256 MiB in blocks of S read at random addresses (TLB reach).
 *  B. real programs under the preload at each candidate threshold: wall
 *     time against glibc, blocks the pool served, huge pages faulted, and
 *     the pages held per byte in use at the peak (waste).
 *
 * usage: preload-threshold [-l LIBRARY] [-r ROUNDS] [-A] [-B]
 *        (internal: preload-threshold --churn|--once|--random SIZE)
 * LIBRARY defaults to ../lib/libhugepool.so next to this program. Needs
 * free 2 MiB huge pages (some 200).
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support.h"

#define KB (1UL << 10)
#define MB (1UL << 20)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ULL;

static inline uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ------------------------------------------------------------------------
 * workloads (run in a child, print one number)
 * ------------------------------------------------------------------------ */
static void touch(unsigned char *p, size_t n, size_t upto)
{
	for (size_t i = 0; i < upto && i < n; i += 4096)
		p[i] = (unsigned char)i;
	p[n - 1] = 1;
}

/* ns per operation (free one, allocate one, write all its pages) */
static double churn(size_t s)
{
	enum { LIVE = 32 };
	unsigned char *b[LIVE];
	size_t n[LIVE];
	unsigned long ops = 512 * MB / s;
	double t0;

	if (ops < 400)
		ops = 400;
	for (int i = 0; i < LIVE; i++) {
		n[i] = s + xorshift() % s;
		b[i] = malloc(n[i]);
		touch(b[i], n[i], n[i]);
	}
	t0 = now();
	for (unsigned long k = 0; k < ops; k++) {
		int i = (int)(xorshift() % LIVE);

		free(b[i]);
		n[i] = s + xorshift() % s;
		b[i] = malloc(n[i]);
		if (!b[i])
			exit(1);
		touch(b[i], n[i], n[i]);
	}
	t0 = now() - t0;
	for (int i = 0; i < LIVE; i++)
		free(b[i]);
	return t0 * 1e9 / (double)ops;
}

/* one block, an eighth of it used */
static double once(size_t s)
{
	unsigned char *p = malloc(s);

	if (!p)
		exit(1);
	touch(p, s, s / 8);
	free(p);
	return 0;
}

/* ns per random 8-byte read over 256 MiB in blocks of s */
static double random_reads(size_t s)
{
	size_t total = 256 * MB, nb = total / s;
	unsigned char **b = calloc(nb, sizeof(*b));
	unsigned long reads = 20000000, sum = 0;
	double t0;

	for (size_t i = 0; i < nb; i++) {
		b[i] = malloc(s);
		if (!b[i])
			exit(1);
		memset(b[i], (int)i, s);
	}
	t0 = now();
	for (unsigned long k = 0; k < reads; k++) {
		uint64_t r = xorshift();

		sum += b[r % nb][(r >> 20) % (s - 8)];
	}
	t0 = now() - t0;
	for (size_t i = 0; i < nb; i++)
		free(b[i]);
	free(b);
	if (sum == 42)
		putchar(' ');
	return t0 * 1e9 / (double)reads;
}

/* ------------------------------------------------------------------------
 * the driver
 * ------------------------------------------------------------------------ */
static char self[4096], lib[4200];
static int rounds = 5;

/* Run a command line under sh with or without the preload (and a
 * threshold); its stdout's first number, or the wall time with want_time. */
static double run(const char *cmd, size_t threshold, bool preload, bool want_time,
		  const char *stats_file)
{
	char line[8192], buf[256];
	double t0 = now(), v;
	FILE *f;

	snprintf(line, sizeof(line), "%s%s%s HUGEPOOL_THRESHOLD=%zu HUGEPOOL_VERBOSE=0 "
		 "HUGEPOOL_STATS=%s HUGEPOOL_STATS_FILE='%s' %s",
		 preload ? "LD_PRELOAD='" : "", preload ? lib : "", preload ? "'" : "", threshold,
		 stats_file ? "json" : "0", stats_file ? stats_file : "", cmd);
	f = popen(line, "r");
	if (!f)
		exit(1);
	v = 0;
	if (fgets(buf, sizeof(buf), f))
		v = atof(buf);
	while (fgets(buf, sizeof(buf), f))
		;
	if (pclose(f)) {
		fprintf(stderr, "failed: %s\n", line);
		exit(1);
	}
	return want_time ? now() - t0 : v;
}

static void part_a(void)
{
	static const size_t sizes[] = { 16 * KB, 64 * KB, 128 * KB, 256 * KB, 512 * KB, 1 * MB,
					2 * MB, 4 * MB };

	printf("A. per size class S: glibc | pool (HUGEPOOL_THRESHOLD=S), medians of %d alternating runs\n",
	       rounds);
	printf("%8s | %10s %10s %6s | %10s %10s %6s | %9s %9s %6s\n", "S", "churn ns", "pool", "ratio",
	       "once us", "pool", "ratio", "random ns", "pool", "ratio");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t s = sizes[i];
		double g[3][64], p[3][64], mg[3], mp[3];
		char cmd[3][4400];

		snprintf(cmd[0], sizeof(cmd[0]), "'%s' --churn %zu", self, s);
		snprintf(cmd[1], sizeof(cmd[1]), "'%s' --once %zu", self, s);
		snprintf(cmd[2], sizeof(cmd[2]), "'%s' --random %zu", self, s);
		for (int r = 0; r < rounds; r++) {
			for (int w = 0; w < 3; w++) {
				bool tm = w == 1;	/* "once" is the whole process */
				int reps = tm ? 10 : 1;
				double a = 0, b = 0;

				for (int k = 0; k < reps; k++) {
					if ((r + k) % 2) {
						b += run(cmd[w], s, true, tm, NULL);
						a += run(cmd[w], s, false, tm, NULL);
					} else {
						a += run(cmd[w], s, false, tm, NULL);
						b += run(cmd[w], s, true, tm, NULL);
					}
				}
				g[w][r] = a / reps * (tm ? 1e6 : 1);
				p[w][r] = b / reps * (tm ? 1e6 : 1);
			}
		}
		for (int w = 0; w < 3; w++) {
			mg[w] = median(g[w], rounds);
			mp[w] = median(p[w], rounds);
		}
		printf("%7zuK | %10.0f %10.0f %6.2f | %10.0f %10.0f %6.2f | %9.1f %9.1f %6.2f\n", s / KB,
		       mg[0], mp[0], mp[0] / mg[0], mg[1], mp[1], mp[1] / mg[1], mg[2], mp[2],
		       mp[2] / mg[2]);
		fflush(stdout);
	}
}

/* ------------------------------------------------------------------------
 * B: real programs
 * ------------------------------------------------------------------------ */
struct prog {
	const char *name, *cmd;
};

static const struct prog progs[] = {
	{ "python3", "python3 -c 'import json; d = [{\"k\": i, \"v\": str(i) * 20} for i in range(200000)]; "
		     "s = json.dumps(d); print(len(json.loads(s)))'" },
	{ "perl", "perl -e '$s = \"ab\" x 5_000_000; my @a = map { $_ * 2 } 1..300000; print length($s), \"\\n\"'" },
	{ "sort", "sort -S 64M -k2,2 \"$IN/data.txt\" | tail -1" },
	{ "xz", "xz -6 -T1 -c \"$IN/big.bin\" | wc -c" },
	{ "gcc", "gcc -O2 -c \"$IN/hello.c\" -o /dev/null && echo ok" },
	{ "g++", "printf '#include <iostream>\\n#include <map>\\nint main(){std::map<int,int> m; m[1]=2; std::cout << m[1];}\\n' "
		 "| g++ -O2 -x c++ -c - -o /dev/null && echo ok" },
	{ "git", "rm -rf \"$IN/repo\" && git init -q \"$IN/repo\" && cp \"$IN/data.txt\" \"$IN/repo\" && "
		 "cd \"$IN/repo\" && git add . && git -c user.name=t -c user.email=t@e commit -q -m m && "
		 "git rev-list --count HEAD" },
	{ "awk", "awk '{ n[$2]++ } END { c = 0; for (k in n) c++; print c }' \"$IN/data.txt\"" },
	{ "sh", "x=$(cat \"$IN/data.txt\"); echo ${#x}" },
};

/* Sum of "key":N in one file */
static unsigned long long file_sum(const char *path, const char *key)
{
	unsigned long long sum = 0;
	char pat[64], buf[65536];
	size_t n;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	for (char *p = buf; (p = strstr(p, pat)); p += strlen(pat))
		sum += strtoull(p + strlen(pat), NULL, 10);
	return sum;
}

struct dir_stats {
	unsigned long long blocks, faulted, peak, procs_with_page;
};

/* the stats files of one run, one per process */
static struct dir_stats dir_sum(const char *dir)
{
	struct dir_stats st = { 0 };
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[8400];
		unsigned long long f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		st.blocks += file_sum(path, "allocs");
		f = file_sum(path, "pages_faulted");
		st.faulted += f;
		st.procs_with_page += f > 0;
		st.peak += file_sum(path, "bytes_peak");
	}
	if (d)
		closedir(d);
	return st;
}

static void make_inputs(const char *in)
{
	char path[8400];
	unsigned int s = 12345;
	FILE *f;

	snprintf(path, sizeof(path), "%s/data.txt", in);
	f = fopen(path, "w");
	for (int i = 0; f && i < 300000; i++) {
		s = s * 1103515245u + 12345u;
		fprintf(f, "%u w%u\n", s >> 12, (s >> 4) % 997);
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/big.bin", in);
	f = fopen(path, "w");
	for (size_t i = 0; f && i < 8 * MB; i++) {
		s = s * 1103515245u + 12345u;
		fputc((i / 4096) % 2 ? (int)(s >> 16) & 0xff : (int)(i % 61), f);
	}
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/hello.c", in);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
			"int main(void) { char *p = malloc(1 << 20); memset(p, 1, 1 << 20); "
			"printf(\"%%d\\n\", p[5]); free(p); return 0; }\n");
		fclose(f);
	}
}

static void part_b(void)
{
	static const size_t ts[] = { 64 * KB, 128 * KB, 256 * KB, 512 * KB, 1 * MB, 2 * MB };
	char in[4096], sdir[8400], sfile[8500], rm[8600];
	double glibc_t[16][8], t[16][8];
	const size_t np = sizeof(progs) / sizeof(progs[0]);

	snprintf(in, sizeof(in), "%s/hugepool-threshold-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(in))
		exit(1);
	make_inputs(in);
	setenv("IN", in, 1);
	printf("\nB. real programs (%zu: python3 json, perl, sort -S 64M, xz -6, gcc, g++, git, awk, sh),\n"
	       "   summed; times are the sum of per-program medians of %d runs\n", np, rounds);
	printf("%10s %9s %9s %8s %11s %13s %12s %s\n", "threshold", "time s", "vs glibc", "blocks",
	       "huge pages", "peak in use", "held/in use", "processes with a page");
	for (size_t p = 0; p < np; p++)
		for (int r = 0; r < rounds; r++)
			glibc_t[p][r] = run(progs[p].cmd, 0, false, true, NULL);
	{
		double sum = 0;

		for (size_t p = 0; p < np; p++)
			sum += median(glibc_t[p], rounds);
		printf("%10s %9.3f %9s\n", "glibc", sum, "1.000");
	}
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		struct dir_stats all = { 0 };
		double sum = 0, gsum = 0;

		for (size_t p = 0; p < np; p++) {
			for (int r = 0; r < rounds; r++) {
				snprintf(sdir, sizeof(sdir), "%s/stats-%zu-%zu-%d", in, i, p, r);
				mkdir(sdir, 0755);
				snprintf(sfile, sizeof(sfile), "%s/%%p.json", sdir);
				t[p][r] = run(progs[p].cmd, ts[i], true, true, sfile);
				if (r == 0) {
					struct dir_stats st = dir_sum(sdir);

					all.blocks += st.blocks;
					all.faulted += st.faulted;
					all.peak += st.peak;
					all.procs_with_page += st.procs_with_page;
				}
			}
			sum += median(t[p], rounds);
			gsum += median(glibc_t[p], rounds);
		}
		printf("%9zuK %9.3f %9.3f %8llu %11llu %10.1f MiB %12.2f %llu\n", ts[i] / KB, sum, sum / gsum,
		       all.blocks, all.faulted, (double)all.peak / MB,
		       all.peak ? (double)all.faulted * 2 * MB / (double)all.peak : 0, all.procs_with_page);
		fflush(stdout);
	}
	snprintf(rm, sizeof(rm), "rm -rf '%s'", in);
	if (system(rm))
		fprintf(stderr, "cannot remove %s\n", in);
}

int main(int argc, char **argv)
{
	bool a = false, b = false;
	const char *l = NULL;
	ssize_t n;
	int opt;

	if (argc == 3 && !strncmp(argv[1], "--", 2)) {
		size_t s = strtoul(argv[2], NULL, 10);
		double v = 0;

		if (!strcmp(argv[1], "--churn"))
			v = churn(s);
		else if (!strcmp(argv[1], "--once"))
			v = once(s);
		else if (!strcmp(argv[1], "--random"))
			v = random_reads(s);
		else
			return 2;
		printf("%.3f\n", v);
		return 0;
	}
	while ((opt = getopt(argc, argv, "l:r:AB")) != -1) {
		switch (opt) {
		case 'l': l = optarg; break;
		case 'r': rounds = atoi(optarg); break;
		case 'A': a = true; break;
		case 'B': b = true; break;
		default:
			fprintf(stderr, "usage: %s [-l LIBRARY] [-r ROUNDS] [-A] [-B]\n", argv[0]);
			return 2;
		}
	}
	if (!a && !b)
		a = b = true;
	if (rounds < 1 || rounds > 64)
		return 2;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	if (l)
		snprintf(lib, sizeof(lib), "%s", l);
	else
		snprintf(lib, sizeof(lib), "%.*s/../lib/libhugepool.so", (int)(strrchr(self, '/') - self),
			 self);
	if (access(lib, R_OK)) {
		fprintf(stderr, "%s: %s\n", lib, strerror(errno));
		return 1;
	}
	if (a)
		part_a();
	if (b)
		part_b();
	return 0;
}
