/* SPDX-License-Identifier: MIT */
/*
 * Description: libhugetlbfs's shmget override (HUGETLB_SHM=yes) through
 * libhugepool-hugetlbfs: a segment of a page and a half gets SHM_HUGETLB,
 * is rounded up to whole huge pages (IPC_STAT) and is mapped on huge pages
 * (smaps); without HUGETLB_SHM the same call stays on base pages. Each case
 * in its own process; every segment removed.
 */
#include "compat-test.h"

#include <sys/shm.h>

static size_t hps;

/* a segment of 1.5 pages: its size and page size as the kernel has them */
static int shm_case(size_t want_seg, long want_page)
{
	size_t len = hps + hps / 2;
	struct shmid_ds ds;
	int id = shmget(IPC_PRIVATE, len, IPC_CREAT | 0600);
	char *p;

	CHECK(id >= 0);
	p = shmat(id, NULL, 0);
	CHECK(shmctl(id, IPC_STAT, &ds) == 0);
	CHECK(shmctl(id, IPC_RMID, NULL) == 0);	/* gone at the last detach */
	CHECK(p != (void *)-1);
	CHECK_EQ(ds.shm_segsz, want_seg);
	memset(p, 7, len);
	CHECK_EQ(smaps_page_size(p), want_page);
	CHECK_EQ(smaps_page_size(p + len - 1), want_page);
	CHECK_EQ(shmdt(p), 0);
	return 0;
}

int main(int argc, char **argv)
{
	struct kbase kb;

	hps = need_default_size();
	if (argc > 1 && !strcmp(argv[1], "huge"))
		return shm_case(2 * hps, (long)hps);
	if (argc > 1 && !strcmp(argv[1], "base"))
		return shm_case(hps + hps / 2, sysconf(_SC_PAGESIZE));
	need_free_pages(hps, 4);
	kb = kernel_baseline(hps);
	RUN_CASE("huge", "HUGETLB_SHM=yes");
	RUN_CASE("base", "HUGETLB_SHM=no");
	CHECK(kernel_back_at(&kb, "compat-shm"));
	printf("compat-shm: ok\n");
	return 0;
}
