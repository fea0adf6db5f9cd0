/* SPDX-License-Identifier: MIT */
/*
 * hpb-seg-prog.c - the program the segments scenario of hugepool-bench
 * runs (bench/hpb-scen-segments.c): a 512 MiB static array in .bss and a
 * 6.4 MiB generated branchy text (6 MiB of it in whole 2 MiB pages) (bench/gen-branchy.py), linked with 2 MiB
 * segment alignment so that HUGEPOOL_SEGMENTS can cover them whole.
 *
 *   hpb-seg-prog bss [thp]   a dependent pointer chase over the array: ns/hop
 *   hpb-seg-prog text [thp]  calls through the generated functions: ns/call
 *
 * It speaks the workers' protocol (hpb.h): "v METRIC VALUE" for each of
 * RUNS repetitions, "pages METRIC TEXT" for what backed the memory
 * (smaps), "note"/"fail". With "thp" it asks for transparent huge pages
 * first: MADV_HUGEPAGE on the array before it is touched; MADV_HUGEPAGE
 * and MADV_COLLAPSE on its own text (file THP, CONFIG_READ_ONLY_THP_FOR_FS).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

#define BSS_BYTES	(512UL << 20)
#define LINE		64
#define HOPS		(4UL << 20)
#define CALLS		(4UL << 20)
#define RUNS		1	/* one figure per worker: the parent runs them in turn */
#define PS		(2UL << 20)

extern uint64_t (*const hpb_branchy[])(uint64_t);
extern const unsigned int hpb_branchy_n;
extern char __executable_start[], etext[];

static uint32_t bss_arr[BSS_BYTES / sizeof(uint32_t)];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* "2M 94% 4K 6%" or "THP 97%", from the smaps entries covering [p, p + len) */
static void backing(const char *metric, const void *p, size_t len)
{
	unsigned long lo, hi, a = (unsigned long)p, b = a + len, kb, cur = 0;
	unsigned long h2m = 0, b4k = 0, thp = 0;
	char line[512];
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			cur = lo < b && hi > a ? (hi < b ? hi : b) - (lo > a ? lo : a) : 0;
		else if (cur && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1)
			*(kb >= 2048 ? &h2m : &b4k) += cur;
		else if (cur && (sscanf(line, "AnonHugePages: %lu kB", &kb) == 1 ||
				 sscanf(line, "FilePmdMapped: %lu kB", &kb) == 1))
			thp += kb << 10;
	}
	if (f)
		fclose(f);
	if (!len)
		return;
	if (thp)
		printf("pages %s THP %lu%%\n", metric, thp * 100 / len);
	else
		printf("pages %s 2M %lu%% 4K %lu%%\n", metric, h2m * 100 / len, b4k * 100 / len);
}

static int chase(int thp)
{
	size_t n = BSS_BYTES / LINE, stride = LINE / sizeof(uint32_t);
	uint64_t seed = 15;
	uint32_t at = 0;

	if (thp && madvise((void *)(((uintptr_t)bss_arr + PS - 1) & ~(PS - 1)), BSS_BYTES - PS,
			   MADV_HUGEPAGE))
		printf("note madvise(MADV_HUGEPAGE) on .bss: %s\n", strerror(errno));
	/* Sattolo: one random cycle through every line */
	for (size_t i = 0; i < n; i++)
		bss_arr[i * stride] = (uint32_t)i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd(&seed) % i;
		uint32_t t = bss_arr[i * stride];

		bss_arr[i * stride] = bss_arr[j * stride];
		bss_arr[j * stride] = t;
	}
	backing("seg-bss", bss_arr, BSS_BYTES);
	for (int r = -1; r < RUNS; r++) {
		double t0 = now();

		for (size_t h = 0; h < HOPS; h++)
			at = bss_arr[(size_t)at * stride];
		if (r >= 0)
			printf("v seg-bss %.3f\n", (now() - t0) * 1e9 / HOPS);
	}
	return at == 0xffffffffu;	/* keeps the chase */
}

static int calls(int thp)
{
	uintptr_t lo = ((uintptr_t)__executable_start + PS - 1) & ~(PS - 1);
	uintptr_t hi = (uintptr_t)etext & ~(PS - 1);
	uint64_t x = 15;

	if (thp && hi > lo && (madvise((void *)lo, hi - lo, MADV_HUGEPAGE) ||
			       madvise((void *)lo, hi - lo, MADV_COLLAPSE)))
		printf("note THP for text (MADV_HUGEPAGE + MADV_COLLAPSE): %s\n", strerror(errno));
	backing("seg-text", (void *)hpb_branchy[0], (size_t)(etext - (char *)hpb_branchy[0]));
	for (int r = -1; r < RUNS; r++) {
		double t0 = now();

		for (size_t c = 0; c < CALLS; c++)
			x = hpb_branchy[x % hpb_branchy_n](x);
		if (r >= 0)
			printf("v seg-text %.3f\n", (now() - t0) * 1e9 / CALLS);
	}
	return x == 0;
}

int main(int argc, char **argv)
{
	int thp = argc > 2 && !strcmp(argv[2], "thp");

	if (argc > 1 && !strcmp(argv[1], "bss"))
		return chase(thp);
	if (argc > 1 && !strcmp(argv[1], "text"))
		return calls(thp);
	printf("fail usage: hpb-seg-prog bss|text [thp]\n");
	return 2;
}
