/* SPDX-License-Identifier: MIT */
/*
 * Description: a program written for libhugetlbfs and linked against
 * Debian's libhugetlbfs.so.0 (its prototypes and flags are declared here,
 * from libhugetlbfs's man pages: no -dev package). compat-abi.sh runs it
 * unchanged against the stand-in. It checks that the libhugetlbfs.so.0 it
 * got is the file named in HUGEPOOL_TEST_EXPECT_LIB (when set), and that
 * its memory is on huge pages (smaps KernelPageSize), its heap too under
 * HUGETLB_MORECORE=yes.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support.h"

/* libhugetlbfs's API, as its man pages give it */
typedef unsigned long ghp_t;
typedef unsigned long ghr_t;
#define GHP_DEFAULT	((ghp_t)0x01UL)
#define GHR_STRICT	((ghr_t)0x10000000U)
#define GHR_FALLBACK	((ghr_t)0x20000000U)
#define GHR_COLOR	((ghr_t)0x40000000U)
#define GHR_DEFAULT	(GHR_FALLBACK | GHR_COLOR)
long gethugepagesize(void);
int gethugepagesizes(long pagesizes[], int n_elem);
int getpagesizes(long pagesizes[], int n_elem);
void *get_huge_pages(size_t len, ghp_t flags);
void free_huge_pages(void *ptr);
void *get_hugepage_region(size_t len, ghr_t flags);
void free_hugepage_region(void *ptr);

#define CHECK(c)							\
	do {								\
		if (!(c)) {						\
			fprintf(stderr, "compat-abi-prog:%d: %s\n", __LINE__, #c); \
			exit(1);					\
		}							\
	} while (0)

int main(void)
{
	const char *expect = getenv("HUGEPOOL_TEST_EXPECT_LIB");
	char real[PATH_MAX], want[PATH_MAX];
	long hps = gethugepagesize(), sizes[4];
	size_t len;
	Dl_info info;
	char *p;

	CHECK(dladdr((void *)gethugepagesize, &info) && info.dli_fname);
	CHECK(realpath(info.dli_fname, real));
	printf("libhugetlbfs.so.0 is %s\n", real);
	if (expect) {
		CHECK(realpath(expect, want));
		CHECK(!strcmp(real, want));
	}
	CHECK(hps > 0);
	CHECK(gethugepagesizes(sizes, 4) >= 1 && sizes[0] == hps);
	CHECK(getpagesizes(sizes, 4) >= 2 && sizes[0] == sysconf(_SC_PAGESIZE));

	len = 4 * (size_t)hps;
	p = get_huge_pages(len, GHP_DEFAULT);
	CHECK(p);
	CHECK((uintptr_t)p % (uintptr_t)hps == 0);
	memset(p, 0x5a, len);
	CHECK(smaps_page_size(p) == hps);
	CHECK(smaps_page_size(p + len - 1) == hps);
	free_huge_pages(p);

	len = (size_t)hps + (size_t)hps / 2;
	p = get_hugepage_region(len, GHR_DEFAULT);
	CHECK(p);
	memset(p, 0xa5, len);
	CHECK(smaps_page_size(p) == hps);
	free_hugepage_region(p);
	p = get_hugepage_region(len, GHR_STRICT);
	CHECK(p);
	CHECK((uintptr_t)p % (uintptr_t)hps == 0);
	CHECK(smaps_page_size(p + len - 1) == hps);
	free_hugepage_region(p);
	/* HUGETLB_MORECORE=yes: the heap too, which libhugetlbfs itself can no
	 * longer do on glibc 2.34 and later */
	if (getenv("HUGETLB_MORECORE")) {
		p = malloc(4 * (size_t)hps);
		CHECK(p);
		memset(p, 1, 4 * (size_t)hps);
		CHECK(smaps_page_size(p) == hps);
		free(p);
		printf("compat-abi-prog: heap on %ld kB pages\n", hps >> 10);
	}
	printf("compat-abi-prog: memory on %ld kB pages\n", hps >> 10);
	return 0;
}
