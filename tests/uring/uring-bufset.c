/* SPDX-License-Identifier: MIT */
/*
 * Description: io_uring fixed buffers from a pool of 2 MiB pages on a real
 * ring. A buffer set is registered, every buffer is filled with read_fixed
 * from a file of known content (O_DIRECT where the filesystem has it) and
 * checked, index <-> address mapping holds both ways; while registered the
 * pages are pinned (VmPin, whole huge pages even for a 4 KiB buffer) and
 * region release, region free and pool destroy fail with -EBUSY leaving
 * every counter as it was; the low-level register/unregister pair and its
 * errors (unpopulated region, ring not set up, not an io_uring, a second
 * table, bad sizes, wrong pair); freeing a set after io_uring_queue_exit
 * still unpins at once. At the end the pool's counters, VmPin and the
 * kernel's free_hugepages are back at their baseline.
 */
#include "uring-test.h"

#define PSZ (2 * MB)

static struct hugepool *pool;

static void counters_are(size_t nr, size_t fr, size_t resv, size_t surplus)
{
	check_counters(pool, nr, fr, resv, surplus);
	CHECK(hp_pool_check(pool) == 0);
}

/* Fill every buffer of bs from the file: buffer i gets file block
 * perm(i), so a wrong index <-> address mapping cannot pass. Half of the
 * reads are one at a time, the rest all in flight together. */
static void read_every_buffer(struct io_uring *ring, const struct tfile *t,
			      struct hugepool_bufset *bs)
{
	unsigned int n = hugepool_bufset_count(bs), i;
	size_t bsz = hugepool_bufset_buf_size(bs), nblocks = t->size / bsz;
	struct io_uring_cqe *cqe;

	for (i = 0; i < n; i++)
		memset(hugepool_bufset_buf(bs, i), 0xff, bsz);
	for (i = 0; i < n / 2; i++) {
		size_t blk = (i * 7 + 3) % nblocks;
		void *b = hugepool_bufset_buf(bs, i);

		CHECK_EQ(read_fixed(ring, t->fd, b, (unsigned int)bsz, (off_t)(blk * bsz),
				    hugepool_bufset_index(bs, b)), (long)bsz);
		CHECK(check_data(t, b, bsz, blk * bsz));
	}
	for (; i < n; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		CHECK(sqe);
		io_uring_prep_read_fixed(sqe, t->fd, hugepool_bufset_buf(bs, i), (unsigned int)bsz,
					 ((i * 7 + 3) % nblocks) * bsz, (int)i);
		sqe->user_data = i;
	}
	if (n - n / 2)
		CHECK_EQ(io_uring_submit(ring), (long)(n - n / 2));
	for (i = n / 2; i < n; i++) {
		unsigned int b;

		CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
		CHECK_EQ(cqe->res, (long)bsz);
		b = (unsigned int)cqe->user_data;
		io_uring_cqe_seen(ring, cqe);
		CHECK(check_data(t, hugepool_bufset_buf(bs, b), bsz, ((b * 7 + 3) % nblocks) * bsz));
	}
}

static void test_bufset(struct io_uring *ring, const struct tfile *t, const struct kbase *kb)
{
	struct hugepool_bufset *bs;
	struct hugepool_region *r;
	char *base, *blk;
	unsigned int i;
	long pin0 = vm_pin();

	bs = hugepool_uring_bufset(pool, ring, 16, MB);
	CHECK(bs);
	CHECK_EQ(hugepool_bufset_count(bs), 16);
	CHECK_EQ(hugepool_bufset_buf_size(bs), MB);
	r = hugepool_bufset_region(bs);
	CHECK(r);
	CHECK_EQ(hugepool_region_size(r), 16 * MB);
	base = hugepool_region_addr(r);
	CHECK(((uintptr_t)base & (PSZ - 1)) == 0);
	CHECK_EQ(smaps_page_size(base), (long)PSZ);

	/* index <-> address, both ways, and the edges */
	for (i = 0; i < 16; i++) {
		char *b = hugepool_bufset_buf(bs, i);

		CHECK(b == base + i * MB);
		CHECK_EQ(hugepool_bufset_index(bs, b), i);
		CHECK_EQ(hugepool_bufset_index(bs, b + MB - 1), i);
	}
	CHECK(hugepool_bufset_buf(bs, 16) == NULL);
	CHECK_EQ(hugepool_bufset_index(bs, base - 1), -EINVAL);
	CHECK_EQ(hugepool_bufset_index(bs, base + 16 * MB), -EINVAL);
	CHECK_EQ(hugepool_bufset_index(NULL, base), -EINVAL);

	/* 8 pages in use, pinned; the kernel's pool did not move */
	counters_are(16, 8, 0, 0);
	CHECK_EQ(kernel_counter(PSZ, "free_hugepages"), kb->free - 16);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, 16 * MB);

	read_every_buffer(ring, t, bs);

	/* write_fixed from a registered buffer lands in a file intact */
	{
		char path[600];
		int wfd;
		struct io_uring_sqe *sqe;
		struct io_uring_cqe *cqe;
		char *back = malloc(MB);

		snprintf(path, sizeof(path), "%s.w", t->path);
		wfd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		CHECK(wfd >= 0 && back);
		unlink(path);
		sqe = io_uring_get_sqe(ring);
		io_uring_prep_write_fixed(sqe, wfd, hugepool_bufset_buf(bs, 5), MB, 0, 5);
		CHECK_EQ(io_uring_submit(ring), 1);
		CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
		CHECK_EQ(cqe->res, (long)MB);
		io_uring_cqe_seen(ring, cqe);
		CHECK_EQ(pread(wfd, back, MB, 0), (long)MB);
		CHECK(memcmp(back, hugepool_bufset_buf(bs, 5), MB) == 0);
		close(wfd);
		free(back);
	}

	/* pinned: nothing may give these pages away, and nothing changes */
	CHECK_EQ(hugepool_region_release(r, 0, 16 * MB), -EBUSY);
	CHECK_EQ(hugepool_region_release(r, 2 * PSZ, PSZ), -EBUSY);
	CHECK_EQ(hugepool_region_free(r), -EBUSY);
	CHECK_EQ(hugepool_destroy(pool), -EBUSY);
	counters_are(16, 8, 0, 0);
	CHECK_EQ(kernel_counter(PSZ, "free_hugepages"), kb->free - 16);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, 16 * MB);
	/* the pool hands out its other pages, never the pinned ones */
	blk = hugepool_malloc(pool, 8 * PSZ);
	CHECK(blk);
	CHECK(blk + 8 * PSZ <= base || blk >= base + 16 * MB);
	counters_are(16, 0, 0, 0);
	hugepool_free(blk);
	counters_are(16, 8, 0, 0);
	/* and the set still works after all of that */
	CHECK_EQ(read_fixed(ring, t->fd, base, MB, 0, 0), (long)MB);
	CHECK(check_data(t, base, MB, 0));

	CHECK_EQ(hugepool_bufset_free(bs), 0);
	counters_are(16, 16, 0, 0);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin(), pin0);
	CHECK_EQ(hugepool_bufset_free(NULL), -EINVAL);

	/* registering pins whole huge pages: one 4 KiB buffer pins 2 MiB */
	bs = hugepool_uring_bufset(pool, ring, 1, 4 * KB);
	CHECK(bs);
	CHECK_EQ(hugepool_region_size(hugepool_bufset_region(bs)), PSZ);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, PSZ);
	CHECK_EQ(read_fixed(ring, t->fd, hugepool_bufset_buf(bs, 0), 4 * KB, 12 * KB, 0),
		 (long)(4 * KB));
	CHECK(check_data(t, hugepool_bufset_buf(bs, 0), 4 * KB, 12 * KB));
	/* outside the registered 4 KiB (same page): the kernel refuses */
	CHECK_EQ(hugepool_bufset_index(bs, (char *)hugepool_bufset_buf(bs, 0) + 4 * KB), -EINVAL);
	CHECK_EQ(read_fixed(ring, t->fd, (char *)hugepool_bufset_buf(bs, 0) + 4 * KB, 4 * KB, 0, 0),
		 -EFAULT);
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	counters_are(16, 16, 0, 0);
}

static void test_register(struct io_uring *ring, const struct tfile *t)
{
	struct hugepool_region *r, *r2;
	struct io_uring other, fake;
	char *base;
	int n;

	/* not populated: -EFAULT, and no pin is left behind */
	r = hugepool_region_reserve(pool, 8 * MB, 0);
	CHECK(r);
	CHECK_EQ(hugepool_uring_register(ring, r, MB), -EFAULT);
	CHECK_EQ(hugepool_region_populate(r, 0, 4 * MB), 2);
	CHECK_EQ(hugepool_uring_register(ring, r, MB), -EFAULT);
	CHECK_EQ(hugepool_region_release(r, 0, 4 * MB), 2);
	CHECK_EQ(hugepool_region_populate(r, 0, 8 * MB), 4);
	counters_are(16, 12, 0, 0);

	/* bad arguments */
	CHECK_EQ(hugepool_uring_register(NULL, r, MB), -EINVAL);
	CHECK_EQ(hugepool_uring_register(ring, NULL, MB), -EINVAL);
	CHECK_EQ(hugepool_uring_register(ring, r, 0), -EINVAL);
	CHECK_EQ(hugepool_uring_register(ring, r, 3 * MB), -EINVAL);	/* does not divide */
	CHECK_EQ(hugepool_uring_register(ring, r, 256), -EINVAL);	/* 32768 buffers */
	/* ring not set up: zeroed, torn down, or not an io_uring at all */
	memset(&fake, 0, sizeof(fake));
	CHECK_EQ(hugepool_uring_register(&fake, r, MB), -EBADF);
	fake = *ring;
	fake.ring_fd = -1;
	CHECK_EQ(hugepool_uring_register(&fake, r, MB), -EBADF);
	fake.ring_fd = t->fd;
	CHECK_EQ(hugepool_uring_register(&fake, r, MB), -EBADF);
	CHECK_EQ(hugepool_uring_unregister(NULL, r), -EINVAL);
	CHECK_EQ(hugepool_uring_unregister(ring, r), -ENOENT);
	counters_are(16, 12, 0, 0);

	/* 128 buffers of 64 KiB; first and last are where they should be */
	n = hugepool_uring_register(ring, r, 64 * KB);
	CHECK_EQ(n, 128);
	base = hugepool_region_addr(r);
	CHECK_EQ(read_fixed(ring, t->fd, base, 64 * KB, 5 * MB, 0), (long)(64 * KB));
	CHECK(check_data(t, base, 64 * KB, 5 * MB));
	CHECK_EQ(read_fixed(ring, t->fd, base + 127 * 64 * KB, 64 * KB, MB, 127),
		 (long)(64 * KB));
	CHECK(check_data(t, base + 127 * 64 * KB, 64 * KB, MB));
	/* an address outside the buffer named by the index is refused */
	CHECK_EQ(read_fixed(ring, t->fd, base + 64 * KB, 64 * KB, 0, 0), -EFAULT);
	CHECK_EQ(hugepool_region_free(r), -EBUSY);

	/* one table per ring: a second region is refused and left unpinned */
	r2 = hugepool_region_reserve(pool, 2 * MB, HUGEPOOL_REGION_POPULATE);
	CHECK(r2);
	CHECK_EQ(hugepool_uring_register(ring, r2, MB), -EBUSY);
	CHECK_EQ(hugepool_uring_unregister(ring, r2), -ENOENT);
	CHECK_EQ(hugepool_region_free(r2), 0);
	/* the pair is (ring, region): another ring does not unpin r */
	ring_init(&other, 4);
	CHECK_EQ(hugepool_uring_unregister(&other, r), -ENOENT);
	/* but another ring may register the same pages too: two pins */
	CHECK_EQ(hugepool_uring_register(&other, r, 8 * MB), 1);
	CHECK_EQ(hugepool_uring_unregister(ring, r), 0);
	CHECK_EQ(hugepool_region_free(r), -EBUSY);	/* other still has it */
	CHECK_EQ(read_fixed(&other, t->fd, base, MB, 0, 0), (long)MB);
	CHECK(check_data(t, base, MB, 0));
	CHECK_EQ(hugepool_uring_unregister(&other, r), 0);
	CHECK_EQ(hugepool_uring_unregister(&other, r), -ENOENT);
	io_uring_queue_exit(&other);
	CHECK_EQ(hugepool_region_free(r), 0);
	counters_are(16, 16, 0, 0);

	/* a NORESERVE region registers once its pages are in */
	r = hugepool_region_reserve(pool, 4 * MB, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	CHECK_EQ(hugepool_uring_register(ring, r, MB), -EFAULT);
	CHECK_EQ(hugepool_region_populate(r, 0, 4 * MB), 2);
	CHECK_EQ(hugepool_uring_register(ring, r, MB), 4);
	base = hugepool_region_addr(r);
	CHECK_EQ(read_fixed(ring, t->fd, base + 3 * MB, MB, 7 * MB, 3), (long)MB);
	CHECK(check_data(t, base + 3 * MB, MB, 7 * MB));
	CHECK_EQ(hugepool_region_release(r, 0, 4 * MB), -EBUSY);
	counters_are(16, 14, 0, 0);
	CHECK_EQ(hugepool_uring_unregister(ring, r), 0);
	CHECK_EQ(hugepool_region_release(r, 0, 4 * MB), 2);
	CHECK_EQ(hugepool_region_free(r), 0);
	counters_are(16, 16, 0, 0);
}

static void test_bufset_errors(struct io_uring *ring)
{
	struct hugepool_config small = { .page_size = PSZ, .max_pages = 4 };
	struct hugepool *sp;
	struct io_uring zero;
	struct caught c;
	const char *msg;

	memset(&zero, 0, sizeof(zero));
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, ring, 0, MB) && errno == EINVAL);
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, ring, 4, 0) && errno == EINVAL);
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, NULL, 4, MB) && errno == EINVAL);
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, &zero, 4, MB) && errno == EBADF);
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, ring, 20000, 4 * KB) && errno == EINVAL);
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, ring, 1U << 31, 1UL << 40) && errno == ENOMEM);
	/* over 1 GiB and not divisible into equal pieces of at most 1 GiB:
	 * refused up front, with the reason, before any page is taken */
	stderr_catch(&c);
	errno = 0;
	CHECK(!hugepool_uring_bufset(pool, ring, 1, 2 * GB + 2 * MB) && errno == EINVAL);
	msg = stderr_release(&c);
	CHECK(strstr(msg, "1 GiB") && strstr(msg, "divisible by 3"));
	counters_are(16, 16, 0, 0);

	/* a pool that cannot hold the set: ENOMEM, said, nothing kept */
	sp = hugepool_create(&small);
	CHECK(sp);
	stderr_catch(&c);
	errno = 0;
	CHECK(!hugepool_uring_bufset(sp, ring, 5, PSZ) && errno == ENOMEM);
	msg = stderr_release(&c);
	CHECK(strstr(msg, "uring: cannot get"));
	check_counters(sp, 0, 0, 0, 0);
	CHECK_EQ(hugepool_destroy(sp), 0);
}

/* The set outlives the caller's ring: freeing it afterwards still reaches
 * that ring (the library holds its own reference) and unpins at once. */
static void test_after_queue_exit(const struct tfile *t, long pin0)
{
	struct io_uring ring;
	struct hugepool_bufset *bs;

	ring_init(&ring, 4);
	bs = hugepool_uring_bufset(pool, &ring, 4, 2 * MB);
	CHECK(bs);
	CHECK_EQ(read_fixed(&ring, t->fd, hugepool_bufset_buf(bs, 3), 2 * MB, 8 * MB, 3),
		 (long)(2 * MB));
	CHECK(check_data(t, hugepool_bufset_buf(bs, 3), 2 * MB, 8 * MB));
	io_uring_queue_exit(&ring);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, 8 * MB);
	CHECK_EQ(hugepool_region_free(hugepool_bufset_region(bs)), -EBUSY);
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin(), pin0);
	counters_are(16, 16, 0, 0);
}

int main(void)
{
	struct hugepool_config cfg = { .page_size = PSZ, .min_pages = 16 };
	struct io_uring ring;
	struct tfile t;
	struct kbase kb;
	long pin0;

	hp_verbose = 1;
	if (!hp_size_to_hstate(PSZ))
		skip_or_fail("the kernel has no 2 MiB pages");
	need_free_pages(PSZ, 32);
	kb = kernel_baseline(PSZ);
	ring_init(&ring, 32);
	tfile_create(&t, 16 * MB, 0x5eed);
	fprintf(stderr, "test file: %s\n", t.direct ? "O_DIRECT" : "buffered");
	pin0 = vm_pin();

	pool = hugepool_create(&cfg);
	CHECK(pool);
	counters_are(16, 16, 0, 0);

	test_bufset(&ring, &t, &kb);
	test_register(&ring, &t);
	test_bufset_errors(&ring);
	test_after_queue_exit(&t, pin0);

	io_uring_queue_exit(&ring);
	tfile_close(&t);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin(), pin0);
	CHECK_EQ(hugepool_destroy(pool), 0);
	check_kernel_baseline(&kb);
	printf("uring-bufset: ok\n");
	return 0;
}
