/* SPDX-License-Identifier: MIT */
/*
 * Description: fork with registered (pinned) buffers, pitfalls item 14. A
 * pinned private page cannot be shared copy-on-write, so fork copies it at
 * once. In a child that first reserves every free 2 MiB page of the kernel
 * (a MAP_HUGETLB mapping, nothing touched): fork fails with ENOMEM while a
 * set is registered, and succeeds once it is freed (unpinned pages are
 * shared, not copied). With pages to spare, fork works: the grandchild
 * sees its copy of the data, and freeing the set there leaves the parent's
 * registration alone (the parent reads into it afterwards).
 */
#include "uring-test.h"

#include <sys/mman.h>

#define PSZ (2 * MB)

static struct tfile tf;

/* fork, run fn in the child, return its exit status (or -errno of fork) */
static int fork_run(int (*fn)(void *), void *arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(fn ? fn(arg) : 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Reserve every free 2 MiB page (free - resv) in one mapping. Others may
 * take pages meanwhile: retry with the new count. */
static void *hog_all(size_t *len)
{
	int tries;

	for (tries = 0; tries < 20; tries++) {
		long avail = kernel_avail(PSZ);
		void *p;

		if (avail <= 0)
			return NULL;
		*len = (size_t)avail * PSZ;
		p = mmap(NULL, *len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | (21 << MAP_HUGE_SHIFT), -1, 0);
		if (p != MAP_FAILED &&
		    kernel_counter(PSZ, "free_hugepages") == kernel_counter(PSZ, "resv_hugepages"))
			return p;
		if (p != MAP_FAILED)
			munmap(p, *len);
	}
	return NULL;
}

static int empty_pool_case(void *arg)
{
	struct hugepool_config cfg = { .page_size = PSZ, .min_pages = 4 };
	struct hugepool *pool;
	struct hugepool_bufset *bs;
	struct io_uring ring;
	size_t hog_len;
	void *hog;
	int ret;

	(void)arg;
	ring_init(&ring, 4);
	pool = hugepool_create(&cfg);
	CHECK(pool);
	bs = hugepool_uring_bufset(pool, &ring, 4, MB);
	CHECK(bs);
	CHECK_EQ(read_fixed(&ring, tf.fd, hugepool_bufset_buf(bs, 0), MB, 0, 0), (long)MB);

	hog = hog_all(&hog_len);
	CHECK(hog);
	/* 2 pinned pages to copy, none to copy them into */
	ret = fork_run(NULL, NULL);
	CHECK_EQ(ret, -ENOMEM);

	/* unpinned, the same pages are shared copy-on-write: fork works */
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	ret = fork_run(NULL, NULL);
	CHECK_EQ(ret, 0);

	CHECK(munmap(hog, hog_len) == 0);
	io_uring_queue_exit(&ring);
	CHECK_EQ(hugepool_destroy(pool), 0);
	return T_PASS;
}

static struct hugepool_bufset *bs;

static int child_sees_copy(void *arg)
{
	(void)arg;
	/* the child's copy of buffer 2 holds what the parent read */
	if (!check_data(&tf, hugepool_bufset_buf(bs, 2), MB, 3 * MB))
		return 2;
	/* a child freeing the set drops its own bookkeeping only: the ring
	 * (shared with the parent) keeps the parent's buffers */
	if (hugepool_bufset_free(bs) != 0)
		return 3;
	return 0;
}

int main(void)
{
	struct hugepool_config cfg = { .page_size = PSZ, .min_pages = 4 };
	struct hugepool *pool;
	struct io_uring ring;
	struct kbase kb;
	int ret;

	hp_verbose = 1;
	if (!hp_size_to_hstate(PSZ))
		skip_or_fail("the kernel has no 2 MiB pages");
	if (kernel_counter(PSZ, "nr_overcommit_hugepages") > 0)
		skip_or_fail("nr_overcommit_hugepages > 0: the kernel pool cannot be emptied");
	need_free_pages(PSZ, 16);
	kb = kernel_baseline(PSZ);
	tfile_create(&tf, 8 * MB, 0xf0f0);

	ret = run_in_child(empty_pool_case, NULL, 120);
	if (ret == T_SKIP)
		return T_SKIP;
	if (ret != T_PASS) {
		fprintf(stderr, "empty-pool child failed: %d\n", ret);
		return T_FAIL;
	}
	check_kernel_baseline(&kb);

	/* with pages to spare */
	ring_init(&ring, 4);
	pool = hugepool_create(&cfg);
	CHECK(pool);
	bs = hugepool_uring_bufset(pool, &ring, 4, MB);
	CHECK(bs);
	CHECK_EQ(read_fixed(&ring, tf.fd, hugepool_bufset_buf(bs, 2), MB, 3 * MB, 2), (long)MB);
	CHECK(check_data(&tf, hugepool_bufset_buf(bs, 2), MB, 3 * MB));
	CHECK_EQ(fork_run(child_sees_copy, NULL), 0);
	/* the parent's registration is intact and still its own pages */
	memset(hugepool_bufset_buf(bs, 1), 0, MB);
	CHECK_EQ(read_fixed(&ring, tf.fd, hugepool_bufset_buf(bs, 1), MB, 5 * MB, 1), (long)MB);
	CHECK(check_data(&tf, hugepool_bufset_buf(bs, 1), MB, 5 * MB));
	CHECK_EQ(hugepool_region_free(hugepool_bufset_region(bs)), -EBUSY);
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	io_uring_queue_exit(&ring);
	CHECK_EQ(hugepool_destroy(pool), 0);

	tfile_close(&tf);
	check_kernel_baseline(&kb);
	printf("uring-fork: ok\n");
	return 0;
}
