/* SPDX-License-Identifier: MIT */
/*
 * Description: a run assembled from scattered free pages (pool-gather.c).
 * When no free extent is long enough for a block, the pool's free pages
 * of shorter extents are moved (mremap) into a new run instead of new
 * pages being faulted. Checked: a pool at max_pages whose free pages are
 * all single pages between live blocks serves a block of three of them
 * (before, ENOMEM); a pool with no max does not grow for it; the pages
 * moved are counted (stats.pages_moved), are huge pages (smaps) at the
 * new place and nowhere at the old one; the live blocks keep their
 * contents; calloc zeroes moved pages that were used; a forked child that
 * gathers pages still shared with its parent gets private ones (no
 * SIGBUS, the parent's memory unchanged); the counters hold throughout.
 */
#include "api-helpers.h"

#include <sys/wait.h>
#include <unistd.h>

static const size_t psz = 2 * MB;

/* six one-page blocks; the even ones freed: three single free pages */
static void scatter(struct hugepool *p, char **a)
{
	int i;

	for (i = 0; i < 6; i++) {
		a[i] = hugepool_malloc(p, psz);
		CHECK(a[i]);
		pat_fill(a[i], psz, (unsigned char)(10 + i), 1);
	}
	for (i = 0; i < 6; i += 2) {
		hugepool_free(a[i]);
		a[i] = NULL;
	}
	/* no two free pages side by side: a live block between each */
	for (i = 1; i < 5; i += 2)
		CHECK(a[i + 2] == NULL || (size_t)(a[i + 2] > a[i] ? a[i + 2] - a[i] : a[i] - a[i + 2]) > psz);
	CHECK_EQ(pool_used(p), 3);
	CHECK_POOL(p);
}

static void live_intact(char **a)
{
	int i;

	for (i = 1; i < 6; i += 2)
		CHECK(pat_ok(a[i], psz, (unsigned char)(10 + i), 1));
}

static void at_max(void)
{
	struct hugepool *p = api_pool(psz, 0, 6, 0);
	uint64_t moved = p->stats.pages_moved;
	char *a[6], *b, *c;
	size_t i;

	scatter(p, a);
	b = hugepool_malloc(p, 3 * psz);
	CHECK(b);
	CHECK_EQ(p->stats.pages_moved - moved, 3);
	CHECK_EQ(pool_used(p), 6);
	memset(b, 0x5a, 3 * psz);
	CHECK_PAGE_SIZE(b, psz);
	CHECK_PAGE_SIZE(b + 3 * psz - 1, psz);
	live_intact(a);
	CHECK_POOL(p);

	/* b's three used pages and one more single page: a calloc of four
	 * gathers them and must zero all four */
	hugepool_free(a[3]);
	hugepool_free(b);
	c = hugepool_calloc(p, 1, 4 * psz);
	CHECK(c);
	for (i = 0; i < 4 * psz; i += 4096)
		CHECK_EQ(c[i] | c[i + 4095], 0);
	CHECK_EQ(pool_used(p), 6);
	CHECK(pat_ok(a[1], psz, 11, 1) && pat_ok(a[5], psz, 15, 1));
	CHECK_POOL(p);
	hugepool_free(c);
	hugepool_free(a[1]);
	hugepool_free(a[5]);
	CHECK_EQ(pool_used(p), 0);
	CHECK(hugepool_destroy(p) == 0);
}

static void no_growth(void)
{
	struct hugepool *p = api_pool(psz, 0, 0, 0);
	struct hugepool_counters c;
	char *a[6], *b;

	scatter(p, a);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 6);
	b = hugepool_malloc(p, 3 * psz);
	CHECK(b);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 6);	/* moved, not faulted */
	CHECK_EQ(c.free_pages, 0);
	memset(b, 1, 3 * psz);
	live_intact(a);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

/* the child's gathered pages are shared with the parent until made
 * private: it writes them all and must not die */
static void in_child(void)
{
	struct hugepool *p = api_pool(psz, 0, 6, 0);
	char *a[6];
	pid_t pid;
	int st;

	scatter(p, a);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char *b = hugepool_malloc(p, 3 * psz);

		if (!b)
			_exit(2);
		memset(b, 0x77, 3 * psz);
		live_intact(a);
		_exit(hp_pool_check(p) ? 3 : 0);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	live_intact(a);
	CHECK_EQ(pool_used(p), 3);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 24);

	at_max();
	no_growth();
	in_child();
	api_end(&kb);
	return 0;
}
