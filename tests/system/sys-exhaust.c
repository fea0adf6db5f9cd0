/* SPDX-License-Identifier: MIT */
/*
 * Description: running out of huge pages is an error, never a signal.
 * With every free page of the kernel held by one pool, a second pool's
 * malloc returns NULL/ENOMEM, a region reserve fails with ENOMEM, and a
 * NORESERVE region's populate returns -ENOMEM; all of it runs in a child
 * with default signal dispositions, so a SIGBUS would show as death.
 */
#include "internal.h"
#include "../helpers.h"

#define MB (1UL << 20)
static const size_t psz = 2 * MB;

static int exhausted(void *arg)
{
	struct hugepool *hog, *other;
	struct hugepool_region *r;
	struct hugepool_config cfg = { .page_size = psz };
	long kfree = kernel_avail(psz);
	void *p;
	long ret;

	(void)arg;
	hp_verbose = 0;
	/* take everything the kernel has */
	cfg.min_pages = (size_t)kfree;
	hog = hugepool_create(&cfg);
	CHECK(hog);
	CHECK_EQ(kernel_avail(psz), 0);

	cfg.min_pages = 0;
	other = hugepool_create(&cfg);
	CHECK(other);
	errno = 0;
	p = hugepool_malloc(other, 4 * MB);
	CHECK(p == NULL && errno == ENOMEM);
	errno = 0;
	p = hugepool_malloc(other, 100 * 1024);	/* a granule block needs a page too */
	CHECK(p == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(other, 2 * psz, 0) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(other, 2 * psz, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	r = hugepool_region_reserve(other, 4 * psz, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	ret = hugepool_region_populate(r, 0, 4 * psz);
	CHECK_EQ(ret, -ENOMEM);
	check_counters(other, 0, 0, 0, 0);
	CHECK(hp_pool_check(other) == 0);
	CHECK(hugepool_region_free(r) == 0);

	/* the hog gives one page back: now exactly one can be had */
	CHECK(hugepool_resize(hog, (size_t)kfree - 1, 0) == 0);
	p = hugepool_malloc(other, psz);
	CHECK(p);
	memset(p, 1, psz);
	errno = 0;
	CHECK(hugepool_malloc(other, psz) == NULL && errno == ENOMEM);
	hugepool_free(p);
	CHECK(hugepool_destroy(other) == 0);
	CHECK(hugepool_destroy(hog) == 0);
	return 0;
}

/* A fallback pool gets base pages instead, and says so in its stats. */
static int fallback(void *arg)
{
	struct hugepool_config cfg = { .page_size = psz, .flags = HUGEPOOL_FALLBACK };
	struct hugepool_config hcfg = { .page_size = psz };
	long kfree = kernel_avail(psz);
	struct hugepool *hog, *fb;
	char *p;

	(void)arg;
	hp_verbose = 0;
	hcfg.min_pages = (size_t)kfree;
	hog = hugepool_create(&hcfg);
	CHECK(hog);
	fb = hugepool_create(&cfg);
	CHECK(fb);
	p = hugepool_malloc(fb, 8 * MB);
	CHECK(p);
	memset(p, 3, 8 * MB);
	CHECK_EQ(smaps_page_size(p), 4096);
	CHECK(hugepool_owner(p) == fb);
	CHECK(fb->stats.fallbacks >= 1);
	check_counters(fb, 0, 0, 0, 0);
	hugepool_free(p);
	CHECK(hugepool_destroy(fb) == 0);
	CHECK(hugepool_destroy(hog) == 0);
	return 0;
}

int main(void)
{
	struct kbase kb;
	int st;

	need_free_pages(psz, 8);
	kb = kernel_baseline(psz);
	st = run_in_child(exhausted, NULL, 120);
	if (st) {
		fprintf(stderr, "exhausted child: status %d%s\n", st, st == 128 + SIGBUS ? " (SIGBUS)" : "");
		return T_FAIL;
	}
	check_kernel_baseline(&kb);
	st = run_in_child(fallback, NULL, 120);
	if (st) {
		fprintf(stderr, "fallback child: status %d\n", st);
		return T_FAIL;
	}
	check_kernel_baseline(&kb);
	printf("sys-exhaust: ok\n");
	return T_PASS;
}
