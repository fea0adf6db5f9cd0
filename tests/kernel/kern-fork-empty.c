/* SPDX-License-Identifier: MIT */
/*
 * kern-fork-empty.c - fork while the kernel's pool is empty.
 *
 * A child shares its parent's private huge pages copy-on-write; making one
 * its own needs a free kernel page. With none left (every other page
 * reserved by a hog mapping), a child that allocates from the inherited
 * pool must get NULL/ENOMEM (or -ENOMEM), never a SIGBUS: the library makes
 * an inherited page private with MADV_POPULATE_WRITE before handing it out,
 * and that fails cleanly. The child can still read what it inherited, free
 * inherited blocks, and its pool's invariants hold. fork + exec works with
 * the pool empty (exec drops the inherited mappings), and so does a
 * multi-threaded parent's fork (the atfork handlers). Afterwards the
 * parent's blocks are intact and the kernel's counters at their baseline.
 */
#include "kernel.h"

#include <spawn.h>

#define MB2 (2UL << 20)

extern char **environ;

struct state {
	struct hugepool *pool;
	void *big, *small, *spare;
	struct hugepool_region *r, *rn;
};

static int child_allocates(void *arg)
{
	struct state *s = arg;
	struct hugepool_counters before, after;
	void *p;

	hp_verbose = 0;
	CHECK(kernel_avail(MB2) == 0);
	CHECK(hugepool_counters(s->pool, HUGEPOOL_NODE_ANY, &before) == 0);

	/* reading what the parent wrote needs no page */
	CHECK(((char *)s->big)[0] == 0x11 && ((char *)s->big)[3 * MB2 - 1] == 0x11);
	CHECK(((char *)s->small)[0] == 0x22);

	/* a fresh page: the kernel has none */
	errno = 0;
	CHECK(hugepool_malloc(s->pool, 4 * MB2) == NULL && errno == ENOMEM);
	/* an inherited free page: cannot be made private */
	errno = 0;
	CHECK(hugepool_malloc(s->pool, MB2) == NULL && errno == ENOMEM);
	/* an inherited MIXED page with free granules: the same */
	errno = 0;
	CHECK(hugepool_malloc(s->pool, 8192) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(s->pool, 1, 8192) == NULL && errno == ENOMEM);
	/* growing an inherited block in place onto inherited free pages */
	errno = 0;
	CHECK(hugepool_realloc(s->pool, s->small, 2 * MB2) == NULL && errno == ENOMEM);
	CHECK(((char *)s->small)[0] == 0x22);
	/* a reserved region's page, and a NORESERVE region's populate */
	CHECK_EQ(hugepool_region_populate(s->r, 0, MB2), -ENOMEM);
	CHECK_EQ(hugepool_region_populate(s->rn, 0, MB2), -ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(s->pool, MB2, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(s->pool);
	CHECK(hugepool_counters(s->pool, HUGEPOOL_NODE_ANY, &after) == 0);
	CHECK_EQ(after.nr_pages, before.nr_pages);
	CHECK_EQ(after.free_pages, before.free_pages);

	/* freeing inherited blocks is fine, and errno survives it */
	errno = ERANGE;
	hugepool_free(s->spare);
	CHECK(errno == ERANGE);
	CHECK_POOL(s->pool);
	/* the child's own writes to a page it shares would need a page:
	 * that is the program's memory and the kernel's SIGBUS to give;
	 * not touched here */
	p = hugepool_malloc(s->pool, MB2);
	CHECK(p == NULL && errno == ENOMEM);
	return 0;
}

/* fork + exec: the child's mappings go at exec, nothing is copied */
static void fork_exec(void)
{
	char *argv[] = { "true", NULL };
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		execve("/bin/true", argv, environ);
		_exit(127);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) == 0);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* a second thread, so that the process is multi-threaded at fork */
static void *idle(void *arg)
{
	bool *stop = arg;

	while (!__atomic_load_n(stop, __ATOMIC_RELAXED))
		usleep(1000);
	return NULL;
}

static int scenario(void *arg)
{
	struct state s = { 0 };
	struct hog hog;
	bool stop = false;
	pthread_t t;
	int threaded = *(int *)arg;

	hp_verbose = 0;
	s.pool = kpool(MB2, 0, 0);
	s.big = hugepool_malloc(s.pool, 3 * MB2);
	s.small = hugepool_malloc(s.pool, 100 * 1024);
	s.spare = hugepool_malloc(s.pool, MB2);
	CHECK(s.big && s.small && s.spare);
	memset(s.big, 0x11, 3 * MB2);
	memset(s.small, 0x22, 100 * 1024);
	memset(s.spare, 0x33, MB2);
	/* free pages the child will find: in the pool and after s.small */
	hugepool_free(hugepool_malloc(s.pool, 2 * MB2));
	s.r = hugepool_region_reserve(s.pool, 2 * MB2, 0);
	s.rn = hugepool_region_reserve(s.pool, 2 * MB2, HUGEPOOL_REGION_NORESERVE);
	CHECK(s.r && s.rn);
	CHECK_POOL(s.pool);

	if (threaded)	/* fork_prepare takes the pool locks */
		CHECK(pthread_create(&t, NULL, idle, &stop) == 0);
	if (!hog_all_but(&hog, MB2, 0))
		skip_or_fail("cannot empty the kernel's 2 MiB pool (the machine is busy)");
	child_ok("child of an empty pool", run_in_child(child_allocates, &s, 60));
	fork_exec();
	hog_release(&hog);
	if (threaded) {
		__atomic_store_n(&stop, true, __ATOMIC_RELAXED);
		CHECK(pthread_join(t, NULL) == 0);
	}

	/* the parent's blocks are intact and the pool works */
	CHECK(((char *)s.big)[MB2] == 0x11 && ((char *)s.small)[99 * 1024] == 0x22 &&
	      ((char *)s.spare)[5] == 0x33);
	CHECK_EQ(hugepool_region_populate(s.r, 0, 2 * MB2), 2);
	CHECK_EQ(hugepool_region_populate(s.rn, 0, 2 * MB2), 2);
	memset(hugepool_region_addr(s.rn), 0x44, 2 * MB2);
	CHECK_POOL(s.pool);
	check_held(MB2);
	CHECK(hugepool_destroy(s.pool) == 0);
	return 0;
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2);
	int threaded;

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 16);
	for (threaded = 0; threaded < 2; threaded++) {
		child_ok(threaded ? "multi-threaded" : "single-threaded",
			 run_in_child(scenario, &threaded, 120));
		CHECK(kernel_back_at(&kb, "kern-fork-empty"));
		printf("kern-fork-empty: %s parent, kernel pool empty: child allocations NULL/ENOMEM "
		       "and -ENOMEM, no SIGBUS; fork+exec and posix_spawn work\n",
		       threaded ? "multi-threaded" : "single-threaded");
	}
	printf("kern-fork-empty: PASS (child allocations NULL/ENOMEM with the kernel pool empty, "
	       "no SIGBUS; fork+exec and posix_spawn work)\n");
	return T_PASS;
}
