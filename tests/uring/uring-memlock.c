/* SPDX-License-Identifier: MIT */
/*
 * Description: registering as an unprivileged user with a small
 * RLIMIT_MEMLOCK. In a child that sets an 8 MiB limit and becomes nobody
 * (65534) when started as root: a 64 MiB buffer set fails with ENOMEM and
 * the message says the limit, that whole huge pages are pinned, and how
 * much is needed (ulimit -l 65536); the low-level register says the same
 * with -ENOMEM; nothing stays pinned or taken. 6 MiB (3 pages) fits and
 * reads. With one 4 KiB buffer registered (which pins a whole 2 MiB page),
 * 8 MiB more is refused and the message counts the 2 MiB already pinned.
 */
#include "uring-test.h"

#include <grp.h>
#include <sys/resource.h>

#define PSZ (2 * MB)
#define NOBODY 65534

static struct tfile tf;

/* Each call that must fail: ENOMEM, and the message is the clear one. */
static void expect_memlock_message(const char *msg, const char *need, const char *ulimit)
{
	CHECK(strstr(msg, "RLIMIT_MEMLOCK is 8M"));
	CHECK(strstr(msg, "pins whole huge pages"));
	CHECK(strstr(msg, need));
	CHECK(strstr(msg, ulimit));
}

static int child(void *arg)
{
	struct rlimit rl = { 8 * MB, 8 * MB };
	struct hugepool_config cfg = { .page_size = PSZ };
	struct hugepool *pool;
	struct hugepool_bufset *bs, *small;
	struct hugepool_region *r;
	struct io_uring ring, ring2;
	struct caught c;
	const char *msg;
	long pin0;

	(void)arg;
	CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
	if (geteuid() == 0) {
		/* dropping root drops CAP_IPC_LOCK, which would bypass the limit */
		CHECK(setgroups(0, NULL) == 0);
		CHECK(setgid(NOBODY) == 0);
		CHECK(setuid(NOBODY) == 0);
		CHECK_EQ(geteuid(), NOBODY);
	}
	hp_verbose = 1;
	/* the ring is created unprivileged: the charge is decided there */
	ring_init(&ring, 8);
	pool = hugepool_create(&cfg);
	CHECK(pool);
	pin0 = vm_pin();

	/* 64 MiB of buffers: 32 pages of 2 MiB, over the 8 MiB limit */
	stderr_catch(&c);
	errno = 0;
	bs = hugepool_uring_bufset(pool, &ring, 64, MB);
	CHECK(!bs && errno == ENOMEM);
	msg = stderr_release(&c);
	expect_memlock_message(msg, "32 x 2M = 64M", "ulimit -l 65536");
	CHECK(strstr(msg, "at least 64M (67108864 bytes"));
	/* nothing pinned, nothing kept */
	if (pin0 >= 0)
		CHECK_EQ(vm_pin(), pin0);
	hugepool_trim(pool);
	check_counters(pool, 0, 0, 0, 0);

	/* the low-level call: the same -ENOMEM and message; no pin left */
	r = hugepool_region_reserve(pool, 64 * MB, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	stderr_catch(&c);
	CHECK_EQ(hugepool_uring_register(&ring, r, 4 * MB), -ENOMEM);
	msg = stderr_release(&c);
	expect_memlock_message(msg, "32 x 2M = 64M", "ulimit -l 65536");
	CHECK_EQ(hugepool_region_free(r), 0);

	/* under the limit it works, as nobody */
	bs = hugepool_uring_bufset(pool, &ring, 3, PSZ);
	CHECK(bs);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, 6 * MB);
	CHECK_EQ(read_fixed(&ring, tf.fd, hugepool_bufset_buf(bs, 2), PSZ, 2 * MB, 2),
		 (long)PSZ);
	CHECK(check_data(&tf, hugepool_bufset_buf(bs, 2), PSZ, 2 * MB));
	CHECK_EQ(hugepool_bufset_free(bs), 0);

	/* a 4 KiB buffer is charged a whole 2 MiB page, and what is pinned
	 * already counts: 2 MiB + 8 MiB is over 8 MiB */
	small = hugepool_uring_bufset(pool, &ring, 1, 4 * KB);
	CHECK(small);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin() - pin0, PSZ);
	ring_init(&ring2, 4);
	stderr_catch(&c);
	errno = 0;
	bs = hugepool_uring_bufset(pool, &ring2, 4, PSZ);
	CHECK(!bs && errno == ENOMEM);
	msg = stderr_release(&c);
	expect_memlock_message(msg, "4 x 2M = 8M", "ulimit -l 10240");
	CHECK(strstr(msg, "plus 2097152 bytes this process has pinned already"));
	CHECK_EQ(hugepool_bufset_free(small), 0);
	if (pin0 >= 0)
		CHECK_EQ(vm_pin(), pin0);

	io_uring_queue_exit(&ring2);
	io_uring_queue_exit(&ring);
	CHECK_EQ(hugepool_destroy(pool), 0);
	return T_PASS;
}

int main(void)
{
	struct kbase kb;
	int ret;

	if (!hp_size_to_hstate(PSZ))
		skip_or_fail("the kernel has no 2 MiB pages");
	if (geteuid() != 0 && getuid() != 0) {
		/* already unprivileged: the child only lowers the limit */
		fprintf(stderr, "note: not root; testing as uid %d\n", (int)getuid());
	}
	need_free_pages(PSZ, 40);
	kb = kernel_baseline(PSZ);
	/* made here, where the build directory is writable; the child
	 * inherits the open fd */
	tfile_create(&tf, 8 * MB, 0x10c4);
	ret = run_in_child(child, NULL, 120);
	if (ret == T_SKIP)
		return T_SKIP;
	if (ret != T_PASS) {
		fprintf(stderr, "child failed: %d\n", ret);
		return T_FAIL;
	}
	tfile_close(&tf);
	check_kernel_baseline(&kb);
	printf("uring-memlock: ok\n");
	return 0;
}
