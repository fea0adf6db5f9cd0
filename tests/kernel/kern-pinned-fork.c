/* SPDX-License-Identifier: MIT */
/*
 * kern-pinned-fork.c - fork of a process whose huge pages are pinned by
 * io_uring, in the ways tests/uring/uring-fork.c does not look at.
 *
 * A pinned private page cannot be shared copy-on-write, so fork copies it
 * at once, taking a free kernel page per pinned page:
 *  - with pages to spare, the child's copy is its own: writes on either
 *    side do not show on the other, and the kernel's free pages drop by
 *    exactly the pinned pages while the child lives;
 *  - with the kernel's pool empty, fork fails with ENOMEM. In a
 *    multi-threaded process the library's atfork prepare handler took its
 *    locks; glibc runs the parent handler on the failure too, so the pools
 *    must be usable at once from every thread (a watchdog turns a deadlock
 *    into a failure), the fork generation unchanged (a parent must not
 *    think its pages are shared), the registration intact (release is
 *    -EBUSY), and the counters as before;
 *  - posix_spawn (vfork + exec, nothing copied) works with the pool empty.
 * After unregistering, everything goes back to the kernel.
 */
#include "kernel.h"

#include <fcntl.h>
#include <liburing.h>
#include <spawn.h>

#define MB2 (2UL << 20)

extern char **environ;

static struct hugepool *pool;
static volatile bool stop;

/* the other thread: allocates and frees all along, so a lock left taken
 * by a failed fork would stop it (and the watchdog would fire) */
static unsigned long worker_ops;

static void *worker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		void *p = hugepool_malloc(pool, 64 * 1024);

		if (p) {
			memset(p, 7, 64);
			hugepool_free(p);
		}
		__atomic_add_fetch(&worker_ops, 1, __ATOMIC_RELAXED);
		usleep(100);
	}
	return NULL;
}

static int scenario(void *arg)
{
	struct hugepool_config cfg = { .page_size = MB2, .min_pages = 4 };
	struct hugepool_counters c0, c1;
	struct hugepool_bufset *bs;
	struct io_uring ring;
	char *buf, *argv[] = { "true", NULL };
	unsigned long ops;
	uint32_t gen;
	struct hog hog;
	pthread_t t;
	long before;
	int status, ret;
	pid_t pid;

	(void)arg;
	hp_verbose = 0;
	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0)
		skip_or_fail("io_uring_queue_init: %s", strerror(-ret));
	pool = hugepool_create(&cfg);
	CHECK(pool);
	CHECK(hugepool_set_decay_ms(pool, -1) >= -1);
	bs = hugepool_uring_bufset(pool, &ring, 2, MB2);	/* 2 pinned pages */
	if (!bs)
		skip_or_fail("hugepool_uring_bufset: %s (RLIMIT_MEMLOCK?)", strerror(errno));
	buf = hugepool_bufset_buf(bs, 0);
	memset(buf, 0x31, 2 * MB2);

	/* pages to spare: the child gets copies, now (single-threaded: a
	 * write by another thread to a page shared copy-on-write would take
	 * a page too) */
	before = kernel_avail(MB2);
	fflush(NULL);
	{
		int sync[2];
		char c;

		CHECK(pipe(sync) == 0);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			signal(SIGBUS, SIG_DFL);
			close(sync[0]);
			if (buf[0] != 0x31 || buf[2 * MB2 - 1] != 0x31)
				_exit(2);
			memset(buf, 0x42, MB2);			/* its own copy */
			if (write(sync[1], "x", 1) != 1)
				_exit(3);
			sleep(1);
			_exit(buf[MB2 + 5] == 0x31 && buf[5] == 0x42 ? 0 : 4);
		}
		close(sync[1]);
		CHECK(read(sync[0], &c, 1) == 1);
		close(sync[0]);
		/* the two pinned pages were copied at fork; the child's
		 * write needed nothing more */
		CHECK_EQ(avail_settles(MB2, before - 2), before - 2);
		CHECK(buf[0] == 0x31);			/* the child's write is not ours */
		memset(buf + MB2, 0x53, MB2);		/* ours is not the child's */
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	CHECK_EQ(avail_settles(MB2, before), before);
	CHECK(pthread_create(&t, NULL, worker, NULL) == 0);

	/* the kernel's pool empty: fork must fail, cleanly */
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c0) == 0);
	if (!hog_all_but(&hog, MB2, 0))
		skip_or_fail("cannot empty the kernel's 2 MiB pool (the machine is busy)");
	gen = hp_fork_gen;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(9);	/* must not happen: pinned pages with no copies */
	CHECK(pid < 0 && errno == ENOMEM);
	CHECK_EQ(hp_fork_gen, gen);	/* a parent: its pages are its own */
	ops = __atomic_load_n(&worker_ops, __ATOMIC_RELAXED);
	alarm(20);				/* a lock left taken: deadlock */
	{
		void *p = hugepool_malloc(pool, 100 * 1024);

		CHECK(p);			/* from the pool's own pages */
		hugepool_free(p);
	}
	while (__atomic_load_n(&worker_ops, __ATOMIC_RELAXED) < ops + 10)
		usleep(1000);
	alarm(0);
	CHECK(hugepool_stats_print(pool, open("/dev/null", O_WRONLY | O_CLOEXEC), 0) == 0);
	CHECK_EQ(hugepool_region_release(hugepool_bufset_region(bs), 0, 2 * MB2), -EBUSY);
	CHECK(buf[0] == 0x31 && buf[MB2] == 0x53);
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c1) == 0);
	CHECK_EQ(c1.nr_pages, c0.nr_pages);	/* free_pages moves with the worker */
	CHECK_POOL(pool);

	/* vfork + exec copies nothing: it works with the pool empty */
	CHECK(posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* unpinned, the pages are shared copy-on-write: fork works */
	CHECK_EQ(hugepool_bufset_free(bs), 0);
	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status));
	hog_release(&hog);

	__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
	CHECK(pthread_join(t, NULL) == 0);
	io_uring_queue_exit(&ring);
	CHECK_POOL(pool);
	check_held(MB2);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2);

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 16);
	if (kernel_counter(MB2, "nr_overcommit_hugepages") > 0)
		skip_or_fail("nr_overcommit_hugepages > 0: the kernel pool cannot be emptied");
	child_ok("pinned fork", run_in_child(scenario, NULL, 120));
	CHECK(kernel_back_at(&kb, "kern-pinned-fork"));
	printf("kern-pinned-fork: PASS (pinned pages copied at fork; with the kernel pool empty fork "
	       "fails with ENOMEM and the pools stay usable from every thread; posix_spawn works)\n");
	return T_PASS;
}
