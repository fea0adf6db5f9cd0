/* SPDX-License-Identifier: MIT */
/*
 * Description: blocks across fork. A child sees its parent's blocks, and
 * its writes to them stay its own (copy-on-write, private); its pool state
 * is the parent's, consistent, and it can allocate, free and destroy. With
 * the kernel's pool nearly empty, a child's allocation that would need a
 * page the kernel does not have (to make an inherited page private) fails
 * with ENOMEM, counted, instead of a SIGBUS on first write. Forking while
 * other threads allocate does not deadlock, and the child allocates. Every
 * child runs with default signal dispositions and an alarm.
 */
#include "api-helpers.h"

#include <pthread.h>

static const size_t psz = 2 * MB;

struct fixture {
	struct hugepool *p;
	char *big;		/* 3 pages, pattern 1 */
	char *small;		/* 200 KiB in a MIXED page, pattern 2 */
	struct hugepool_counters c;
};

static void fixture_init(struct fixture *f)
{
	f->p = api_pool(psz, 6, 0, 0);
	f->big = hugepool_malloc(f->p, 3 * psz);
	f->small = hugepool_malloc(f->p, 200 * KB);
	CHECK(f->big && f->small);
	pat_fill(f->big, 3 * psz, 1, 1);
	pat_fill(f->small, 200 * KB, 2, 1);
	CHECK(hugepool_counters(f->p, HUGEPOOL_NODE_ANY, &f->c) == 0);
	CHECK_EQ(f->c.free_pages, 2);
}

/* the child's view of the pool is the parent's, and consistent */
static void same_state(const struct fixture *f)
{
	CHECK_POOL(f->p);
	check_counters(f->p, f->c.nr_pages, f->c.free_pages, f->c.resv_pages,
		       f->c.surplus_pages);
	CHECK(hugepool_owner(f->big) == f->p);
	CHECK_EQ(hugepool_usable_size(f->small), 200 * KB);
	CHECK(pat_ok(f->big, 3 * psz, 1, 1));
	CHECK(pat_ok(f->small, 200 * KB, 2, 1));
}

static int roomy_child(void *arg)
{
	struct fixture *f = arg;
	char *a, *b, *c;

	same_state(f);
	/* writes are the child's own (the parent checks its copy after) */
	pat_fill(f->big, 3 * psz, 3, 1);
	pat_fill(f->small, 200 * KB, 4, 1);
	/* allocation: the pool's free (inherited) pages, then fresh ones */
	a = hugepool_malloc(f->p, 2 * psz);
	b = hugepool_calloc(f->p, 1, 300 * KB);
	c = hugepool_malloc(f->p, 5 * psz);
	CHECK(a && b && c);
	CHECK(all_zero(b, 300 * KB));
	memset(a, 0x61, 2 * psz);
	memset(b, 0x62, 300 * KB);
	memset(c, 0x63, 5 * psz);
	CHECK_PAGE_SIZE(a, psz);
	CHECK_POOL(f->p);
	CHECK(pat_ok(f->big, 3 * psz, 3, 1));
	hugepool_free(a);
	hugepool_free(b);
	hugepool_free(c);
	hugepool_free(f->big);
	hugepool_free(f->small);
	CHECK_POOL(f->p);
	CHECK_EQ(pool_used(f->p), 0);
	/* a grandchild too */
	{
		pid_t pid = fork();
		int st;

		CHECK(pid >= 0);
		if (pid == 0) {
			char *g = hugepool_malloc(f->p, psz);

			if (!g)
				_exit(3);
			memset(g, 0x64, psz);
			hugepool_free(g);
			_exit(hp_pool_check(f->p) ? 4 : 0);
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	CHECK(hugepool_destroy(f->p) == 0);
	return 0;
}

static void roomy(void)
{
	struct fixture f;

	fixture_init(&f);
	CHECK_EQ(run_in_child(roomy_child, &f, 60), 0);
	/* the parent's blocks never saw the child's writes */
	same_state(&f);
	CHECK(hugepool_destroy(f.p) == 0);
}

/* the kernel has one page: enough to make one inherited page private */
static int tight_child(void *arg)
{
	struct fixture *f = arg;
	uint64_t failures = f->p->stats.failures;
	char *a, *b;

	same_state(f);		/* reading needs no page */
	CHECK_EQ(kernel_avail(psz), 1);
	a = hugepool_malloc(f->p, psz);
	CHECK(a);		/* one free page, made private with the kernel's last */
	memset(a, 0x71, psz);
	CHECK_EQ(kernel_avail(psz), 0);
	CHECK_POOL(f->p);
	/* the other free page cannot be made private: ENOMEM, no SIGBUS */
	errno = 0;
	b = hugepool_malloc(f->p, psz);
	CHECK(b == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(f->p, 1, 100 * KB) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_realloc(f->p, a, 2 * psz) == NULL && errno == ENOMEM);
	CHECK_EQ(f->p->stats.failures, failures + 3);
	CHECK_POOL(f->p);
	check_counters(f->p, f->c.nr_pages, f->c.free_pages - 1, 0, f->c.surplus_pages);
	hugepool_free(a);
	CHECK_POOL(f->p);
	check_counters(f->p, f->c.nr_pages, f->c.free_pages, 0, f->c.surplus_pages);
	/* freed: that page is private now and can be handed out again */
	a = hugepool_malloc(f->p, psz);
	CHECK(a);
	memset(a, 0x72, psz);
	hugepool_free(a);
	CHECK_POOL(f->p);
	return 0;
}

static void tight(void)
{
	struct fixture f;
	struct hugepool *hog;

	fixture_init(&f);
	hog = api_hog(psz, 1);
	CHECK_EQ(run_in_child(tight_child, &f, 60), 0);
	same_state(&f);
	CHECK(hugepool_destroy(hog) == 0);
	CHECK(hugepool_destroy(f.p) == 0);
}

/* fork while other threads allocate: no deadlock, the child allocates */
static struct hugepool *busy_pool;
static volatile bool busy_stop;

static void *busy(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	while (!busy_stop) {
		void *b = hugepool_malloc(busy_pool, i++ % 2 ? psz : 64 * KB);

		CHECK(b);
		hugepool_free(b);
	}
	return NULL;
}

static void threads(void)
{
	pthread_t t[3];
	int i;

	busy_pool = api_pool(psz, 8, 0, 0);
	for (i = 0; i < 3; i++)
		CHECK(pthread_create(&t[i], NULL, busy, (void *)(uintptr_t)i) == 0);
	for (i = 0; i < 30; i++) {
		int st;
		pid_t pid;

		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			void *b;

			alarm(10);
			b = hugepool_malloc(busy_pool, psz);
			if (!b)
				_exit(2);
			memset(b, 1, psz);
			hugepool_free(b);
			_exit(hp_pool_check(busy_pool) ? 3 : 0);
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "fork %d: child status %#x\n", i, st);
			exit(T_FAIL);
		}
	}
	busy_stop = true;
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	CHECK_POOL(busy_pool);
	CHECK_EQ(pool_used(busy_pool), 0);
	CHECK(hugepool_destroy(busy_pool) == 0);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 40);

	roomy();
	api_end(&kb);
	tight();
	api_end(&kb);
	threads();
	api_end(&kb);
	return 0;
}
