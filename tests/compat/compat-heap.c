/* SPDX-License-Identifier: MIT */
/*
 * Description: the heap under HUGETLB_MORECORE, as libhugetlbfs's malloc,
 * malloc_manysmall, heapshrink and heap-overflow tests check it, through
 * libhugepool-hugetlbfs's malloc (each case is its own process: the
 * environment is read when the library loads).
 *   off        no HUGETLB_MORECORE: malloc stays glibc's, on base pages
 *   malloc     HUGETLB_MORECORE=yes: blocks of 1 byte to 64 MiB on huge
 *              pages (smaps), written and freed
 *   manysmall  thousands of 16 and 32 byte blocks, all on huge pages
 *   shrink     HUGETLB_MORECORE_SHRINK=yes: freed heap pages leave the
 *              process at once (HugetlbPages in /proc/self/status)
 *   overflow   a heap that cannot grow (HUGEPOOL_MAX): malloc still
 *              succeeds (glibc's memory, said once), no SIGBUS
 *   restrict   HUGETLB_RESTRICT_EXE naming another program: the heap is
 *              left alone
 */
#include "compat-test.h"

static size_t hps;

static int case_off(void)
{
	char *p = malloc(64 << 20);

	CHECK(p);
	memset(p, 1, 64 << 20);
	CHECK_EQ(smaps_page_size(p), sysconf(_SC_PAGESIZE));
	free(p);
	return 0;
}

static int case_malloc(void)
{
	static const size_t sizes[] = { 1, 16, 100, 4096, 65536, 1 << 20, 64 << 20 };
	size_t i;

	for (i = 0; i < ARRAY_LEN(sizes); i++) {
		char *p = malloc(sizes[i]);

		CHECK(p);
		memset(p, (int)i, sizes[i]);
		if (smaps_page_size(p) != (long)hps) {
			fprintf(stderr, "malloc(%zu) at %p: KernelPageSize %ld\n", sizes[i],
				(void *)p, smaps_page_size(p));
			return T_FAIL;
		}
		CHECK_EQ(smaps_page_size(p + sizes[i] - 1), (long)hps);
		free(p);
	}
	return 0;
}

static int case_manysmall(void)
{
	enum { N = 20000 };
	static char *blocks[N];
	int i;

	for (i = 0; i < N; i++) {
		blocks[i] = malloc(i % 2 ? 32 : 16);
		CHECK(blocks[i]);
		memset(blocks[i], i & 0xff, i % 2 ? 32 : 16);
	}
	for (i = 0; i < N; i += 997)
		CHECK_EQ(smaps_page_size(blocks[i]), (long)hps);
	for (i = 0; i < N; i++) {
		CHECK_EQ((unsigned char)blocks[i][0], i & 0xff);
		free(blocks[i]);
	}
	return 0;
}

static int case_shrink(void)
{
	size_t len = 16 * hps;
	long before = status_bytes("HugetlbPages"), during, after;
	char *p = malloc(len);

	CHECK(p);
	memset(p, 5, len);
	during = status_bytes("HugetlbPages");
	CHECK(during >= before + (long)len);
	free(p);
	after = status_bytes("HugetlbPages");
	if (after > during - (long)len) {
		fprintf(stderr, "HugetlbPages %ld before, %ld with the block, %ld after free\n",
			before, during, after);
		return T_FAIL;
	}
	return 0;
}

static int case_overflow(void)
{
	size_t len = 8 * hps;
	char *first, *big;

	first = malloc(hps);
	CHECK(first);
	memset(first, 6, hps);
	CHECK_EQ(smaps_page_size(first), (long)hps);
	big = malloc(len);		/* more than HUGEPOOL_MAX=4 allows */
	CHECK(big);
	memset(big, 6, len);
	CHECK_EQ(smaps_page_size(big), sysconf(_SC_PAGESIZE));
	free(big);
	free(first);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct { const char *name; int (*fn)(void); } cases[] = {
		{ "off", case_off }, { "malloc", case_malloc }, { "manysmall", case_manysmall },
		{ "shrink", case_shrink }, { "overflow", case_overflow }, { "restrict", case_off },
	};
	struct kbase kb;
	size_t i;

	hps = need_default_size();
	for (i = 0; argc > 1 && i < ARRAY_LEN(cases); i++)
		if (!strcmp(argv[1], cases[i].name))
			return cases[i].fn();
	need_free_pages(hps, 40);
	kb = kernel_baseline(hps);
	RUN_CASE("off", "HUGETLB_VERBOSE=1");
	RUN_CASE("malloc", "HUGETLB_MORECORE=yes");
	RUN_CASE("manysmall", "HUGETLB_MORECORE=yes");
	RUN_CASE("shrink", "HUGETLB_MORECORE=yes", "HUGETLB_MORECORE_SHRINK=yes");
	RUN_CASE("overflow", "HUGETLB_MORECORE=yes", "HUGEPOOL_MAX=4");
	RUN_CASE("restrict", "HUGETLB_MORECORE=yes", "HUGETLB_RESTRICT_EXE=someone-else");
	CHECK(kernel_back_at(&kb, "compat-heap"));
	printf("compat-heap: ok\n");
	return 0;
}
