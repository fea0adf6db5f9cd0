/* SPDX-License-Identifier: MIT */
/*
 * Description: libhugetlbfs's API through libhugepool-hugetlbfs, the
 * behaviours its own tests check (gethugepagesize, gethugepagesizes,
 * getpagesizes, get_huge_pages, get_hugepage_region, find_path,
 * unlinked_fd, test_path), each verified on the real thing: smaps
 * KernelPageSize, mincore, statfs, the kernel's counters.
 *   sizes    the default from /proc/meminfo, every size of sysfs, the
 *            base page first; EINVAL for bad arguments
 *   ghp      get_huge_pages: aligned, zeroed, on huge pages; bad flags
 *   ghr      get_hugepage_region: STRICT alignment and size, COLOR offsets
 *            in the slack (cache lines, several distinct), STRICT|FALLBACK
 *   exhaust  (own process, HUGEPOOL_MAX=2) STRICT is NULL/ENOMEM with no
 *            SIGBUS; FALLBACK gives base pages, freed to nothing
 *   paths    test_path, find_path(_for_size), HUGETLB_PATH, unlinked_fd
 *            on private mounts of each size
 * The kernel's counters are back at their baseline at the end.
 */
#include "compat-test.h"

#include <hugepool/hugetlbfs.h>
#include <sys/mman.h>
#include <sys/statfs.h>

static size_t hps;	/* the default huge page size */

static void test_sizes(void)
{
	long sizes[8], all[9];
	int n, i, nsys = 0;
	size_t s;

	CHECK_EQ(gethugepagesize(), (long)hps);
	n = gethugepagesizes(NULL, 0);
	for (s = 64 << 10; s <= (16UL << 30); s <<= 1)
		nsys += kernel_counter(s, "nr_hugepages") >= 0;
	CHECK_EQ(n, nsys);
	CHECK_EQ(gethugepagesizes(sizes, 8), n);
	CHECK_EQ(sizes[0], (long)hps);		/* the default first */
	for (i = 1; i < n; i++) {
		CHECK(sizes[i] != (long)hps);
		CHECK(kernel_counter((size_t)sizes[i], "nr_hugepages") >= 0);
	}
	CHECK_EQ(gethugepagesizes(sizes, 1), 1);
	CHECK_EQ(gethugepagesizes(sizes, -1), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(gethugepagesizes(NULL, 2), -1);
	CHECK_EQ(errno, EINVAL);
	CHECK_EQ(getpagesizes(NULL, 0), n + 1);
	CHECK_EQ(getpagesizes(all, 9), n + 1);
	CHECK_EQ(all[0], sysconf(_SC_PAGESIZE));
	for (i = 0; i < n; i++)
		CHECK_EQ(all[i + 1], sizes[i]);
	CHECK_EQ(getpagesizes(NULL, 3), -1);
	CHECK_EQ(errno, EINVAL);
}

/* mincore says whether any page of [p, p + len) is mapped at all */
static bool mapped(void *p, size_t len)
{
	unsigned char vec[1];

	return mincore(p, 4096 < len ? 4096 : len, vec) == 0 || errno != ENOMEM;
}

static void test_ghp(void)
{
	char *p = get_huge_pages(4 * hps, GHP_DEFAULT), *q;

	CHECK(p);
	CHECK_EQ((uintptr_t)p % hps, 0);
	CHECK_EQ(smaps_page_size(p), (long)hps);
	CHECK_EQ(smaps_page_size(p + 4 * hps - 1), (long)hps);
	CHECK(all_zero(p, 4 * hps));
	memset(p, 0xa5, 4 * hps);
	free_huge_pages(p);
	/* the pages are reused zeroed */
	q = get_huge_pages(4 * hps, GHP_DEFAULT);
	CHECK(q);
	CHECK(all_zero(q, 4 * hps));
	free_huge_pages(q);
	errno = 0;
	CHECK(!get_huge_pages(hps, GHP_DEFAULT | 0x100));
	CHECK_EQ(errno, EINVAL);
	CHECK(!get_huge_pages(0, GHP_DEFAULT));
	CHECK_EQ(errno, EINVAL);
}

static void test_ghr(void)
{
	size_t len = hps + hps / 2 + 100, slack = 2 * hps - len, offs[16];
	int i, j, distinct = 0;
	char *p;

	p = get_hugepage_region(len, GHR_STRICT);
	CHECK(p);
	CHECK_EQ((uintptr_t)p % hps, 0);	/* no colour: aligned */
	CHECK_EQ(smaps_page_size(p), (long)hps);
	CHECK_EQ(smaps_page_size(p + len - 1), (long)hps);
	memset(p, 1, len);
	free_hugepage_region(p);
	for (i = 0; i < 16; i++) {
		p = get_hugepage_region(len, GHR_STRICT | GHR_COLOR);
		CHECK(p);
		offs[i] = (uintptr_t)p % hps;
		CHECK_EQ(offs[i] % 64, 0);
		CHECK(offs[i] <= slack);
		CHECK_EQ(smaps_page_size(p + len - 1), (long)hps);
		memset(p, 2, len);
		free_hugepage_region(p);	/* a coloured pointer frees */
		for (j = 0; j < i && offs[j] != offs[i]; j++)
			;
		distinct += j == i;
	}
	CHECK(distinct >= 4);
	/* a whole number of pages has no slack: aligned even with colour */
	p = get_hugepage_region(2 * hps, GHR_DEFAULT);
	CHECK(p);
	CHECK_EQ((uintptr_t)p % hps, 0);
	free_hugepage_region(p);
	errno = 0;
	CHECK(!get_hugepage_region(hps, GHR_STRICT | GHR_FALLBACK));
	CHECK_EQ(errno, EINVAL);
	CHECK(!get_hugepage_region(hps, 0x1));
	CHECK_EQ(errno, EINVAL);
}

/* HUGEPOOL_MAX=2: the pool cannot grow past two pages */
static int case_exhaust(void)
{
	char *a, *b;

	a = get_hugepage_region(2 * hps, GHR_STRICT);
	CHECK(a);
	errno = 0;
	CHECK(!get_hugepage_region(hps, GHR_STRICT));
	CHECK_EQ(errno, ENOMEM);
	CHECK(!get_huge_pages(hps, GHP_DEFAULT));
	CHECK_EQ(errno, ENOMEM);
	b = get_hugepage_region(hps + 10, GHR_FALLBACK);
	CHECK(b);
	CHECK_EQ(smaps_page_size(b), sysconf(_SC_PAGESIZE));	/* told apart */
	memset(b, 3, hps + 10);
	free_hugepage_region(b);
	CHECK(!mapped(b, hps));
	free_hugepage_region(a);
	return 0;
}

static void test_paths(void)
{
	char d2[64], d1[64], env[96];
	const char *p;
	struct statfs sfs;
	struct stat st;
	int fd;
	void *m;

	CHECK_EQ(hugetlbfs_test_path("/proc"), 0);
	CHECK_EQ(hugetlbfs_test_path("/nonexistent/x"), -1);
	CHECK_EQ(errno, ENOENT);
	CHECK_EQ(hugetlbfs_find_path_for_size(12345), NULL);
	CHECK_EQ(errno, EINVAL);
	mount_tmp(hps, d2, sizeof(d2));
	CHECK_EQ(hugetlbfs_test_path(d2), 1);
	p = hugetlbfs_find_path();
	CHECK(p);
	CHECK_EQ(statfs(p, &sfs), 0);
	CHECK_EQ(sfs.f_type, HUGETLBFS_MAGIC);
	CHECK_EQ((size_t)sfs.f_bsize, hps);
	fd = hugetlbfs_unlinked_fd();
	CHECK(fd >= 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_nlink, 0);		/* unlinked: nothing left behind */
	m = mmap(NULL, hps, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(m != MAP_FAILED);
	memset(m, 4, hps);
	CHECK_EQ(smaps_page_size(m), (long)hps);
	munmap(m, hps);
	close(fd);
	if (kernel_counter(1UL << 30, "nr_hugepages") >= 0 && hps != (1UL << 30)) {
		mount_tmp(1UL << 30, d1, sizeof(d1));
		p = hugetlbfs_find_path_for_size(1L << 30);
		CHECK(p);
		CHECK_EQ(statfs(p, &sfs), 0);
		CHECK_EQ((size_t)sfs.f_bsize, 1UL << 30);
		fd = hugetlbfs_unlinked_fd_for_size(1L << 30);
		CHECK(fd >= 0);
		CHECK_EQ(fstatfs(fd, &sfs), 0);
		CHECK_EQ((size_t)sfs.f_bsize, 1UL << 30);
		close(fd);
		umount_tmp(d1);
	}
	/* HUGETLB_PATH is the mount the library uses */
	snprintf(env, sizeof(env), "HUGETLB_PATH=%s", d2);
	{
		const char *const e[] = { env, NULL };
		CHECK_EQ(run_case_env("hugetlb-path", e), 0);
	}
	umount_tmp(d2);
}

static int case_hugetlb_path(void)
{
	const char *want = getenv("HUGETLB_PATH"), *p = hugetlbfs_find_path();

	CHECK(p && want);
	CHECK(!strcmp(p, want));
	return 0;
}

int main(int argc, char **argv)
{
	struct kbase kb;

	hps = need_default_size();
	if (argc > 1 && !strcmp(argv[1], "exhaust"))
		return case_exhaust();
	if (argc > 1 && !strcmp(argv[1], "hugetlb-path"))
		return case_hugetlb_path();
	need_free_pages(hps, 8);
	kb = kernel_baseline(hps);
	test_sizes();
	test_ghp();
	test_ghr();
	RUN_CASE("exhaust", "HUGEPOOL_MAX=2");
	if (geteuid() == 0)
		test_paths();
	else if (test_require())
		skip_or_fail("the path tests mount hugetlbfs: run as root");
	/* the compat pools keep pages for decay_ms; give them back by exit */
	CHECK(kernel_back_at(&kb, "compat-api"));
	printf("compat-api: ok\n");
	return 0;
}
