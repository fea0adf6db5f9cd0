/* SPDX-License-Identifier: MIT */
/*
 * Description: buffers over the kernel's 1 GiB per registered buffer. A
 * set of one 1026 MiB buffer (2 MiB pages) is registered as two of 513
 * MiB; the index <-> address mapping follows the pieces; read_fixed lands
 * at the end of the first piece and at both ends of the second; a read
 * across the seam is refused by the kernel (one I/O per registered
 * buffer). The low-level call splits the same way and a 1 GiB buffer is
 * not split. With two free 1 GiB pages, a 2 GiB buffer becomes two 1 GiB
 * buffers on them. Everything goes back to the kernel.
 */
#include "uring-test.h"

#define PSZ (2 * MB)
#define BIG (GB + 2 * MB)	/* 1026 MiB: k = 2 pieces of 513 MiB */
#define PIECE (BIG / 2)

/* Read 4 MiB of the file at foff into addr (in registered buffer idx) and
 * check it. */
static void read_check(struct io_uring *ring, const struct tfile *t, char *addr, int idx,
		       size_t foff)
{
	memset(addr, 0xee, 4 * MB);
	CHECK_EQ(read_fixed(ring, t->fd, addr, 4 * MB, (off_t)foff, idx), (long)(4 * MB));
	CHECK(check_data(t, addr, 4 * MB, foff));
}

static void test_2m(struct io_uring *ring, const struct tfile *t)
{
	struct hugepool_config cfg = { .page_size = PSZ };
	struct hugepool *pool = hugepool_create(&cfg);
	struct hugepool_bufset *bs;
	struct hugepool_region *r;
	char *base;
	long pin0 = vm_pin();

	CHECK(pool);
	bs = hugepool_uring_bufset(pool, ring, 1, BIG);
	CHECK(bs);
	CHECK_EQ(hugepool_bufset_count(bs), 2);
	CHECK_EQ(hugepool_bufset_buf_size(bs), PIECE);
	base = hugepool_bufset_buf(bs, 0);
	CHECK(hugepool_bufset_buf(bs, 1) == base + PIECE);
	CHECK(hugepool_bufset_buf(bs, 2) == NULL);
	CHECK_EQ(hugepool_bufset_index(bs, base + PIECE - 1), 0);
	CHECK_EQ(hugepool_bufset_index(bs, base + PIECE), 1);
	CHECK_EQ(hugepool_bufset_index(bs, base + BIG - 1), 1);
	CHECK_EQ(hugepool_bufset_index(bs, base + BIG), -EINVAL);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, (long)BIG);

	read_check(ring, t, base + PIECE - 4 * MB, 0, 0);
	read_check(ring, t, base + PIECE, 1, 4 * MB);
	read_check(ring, t, base + BIG - 4 * MB, 1, 8 * MB);
	/* one I/O cannot straddle two registered buffers */
	CHECK_EQ(read_fixed(ring, t->fd, base + PIECE - 2 * MB, 4 * MB, 0, 0), -EFAULT);
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin(), pin0);

	/* the low-level call splits alike; exactly 1 GiB is one buffer */
	r = hugepool_region_reserve(pool, BIG, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	CHECK_EQ(hugepool_uring_register(ring, r, BIG), 2);
	read_check(ring, t, (char *)hugepool_region_addr(r) + PIECE, 1, 12 * MB);
	CHECK_EQ(hugepool_uring_unregister(ring, r), 0);
	CHECK_EQ(hugepool_uring_register(ring, r, GB), -EINVAL);	/* does not divide */
	CHECK_EQ(hugepool_region_free(r), 0);
	r = hugepool_region_reserve(pool, GB, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	CHECK_EQ(hugepool_uring_register(ring, r, GB), 1);
	read_check(ring, t, (char *)hugepool_region_addr(r) + GB - 4 * MB, 0, 0);
	CHECK_EQ(hugepool_uring_unregister(ring, r), 0);
	CHECK_EQ(hugepool_region_free(r), 0);
	CHECK_EQ(hugepool_destroy(pool), 0);
}

static void test_1g(struct io_uring *ring, const struct tfile *t)
{
	struct hugepool_config cfg = { .page_size = GB };
	struct hugepool *pool;
	struct hugepool_bufset *bs;
	struct kbase kb;
	char *base;

	if (!hp_size_to_hstate(GB) ||
	    kernel_avail(GB) < 2) {
		fprintf(stderr, "note: fewer than two free 1 GiB pages; 1 GiB part not run\n");
		return;
	}
	kb = kernel_baseline(GB);
	pool = hugepool_create(&cfg);
	CHECK(pool);
	bs = hugepool_uring_bufset(pool, ring, 1, 2 * GB);
	CHECK(bs);
	CHECK_EQ(hugepool_bufset_count(bs), 2);
	CHECK_EQ(hugepool_bufset_buf_size(bs), GB);
	base = hugepool_bufset_buf(bs, 0);
	CHECK_EQ(smaps_page_size(base), (long)GB);
	read_check(ring, t, base + GB - 4 * MB, 0, 0);
	read_check(ring, t, base + GB, 1, 4 * MB);
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	CHECK_EQ(hugepool_destroy(pool), 0);
	check_kernel_baseline(&kb);
}

int main(void)
{
	struct io_uring ring;
	struct tfile t;
	struct kbase kb;

	hp_verbose = 1;
	if (!hp_size_to_hstate(PSZ))
		skip_or_fail("the kernel has no 2 MiB pages");
	need_free_pages(PSZ, BIG / PSZ + 8);
	kb = kernel_baseline(PSZ);
	ring_init(&ring, 4);
	tfile_create(&t, 16 * MB, 0x5b117);

	test_2m(&ring, &t);
	check_kernel_baseline(&kb);
	test_1g(&ring, &t);

	io_uring_queue_exit(&ring);
	tfile_close(&t);
	check_kernel_baseline(&kb);
	printf("uring-split: ok\n");
	return 0;
}
