/* SPDX-License-Identifier: MIT */
/*
 * Description: the pool calls around the allocators. A pool whose minimum
 * the kernel cannot give fails with ENOMEM and leaks nothing (mappings,
 * descriptors, kernel pages); a shared pool's memfd is closed on destroy.
 * A subpool takes its minimum from the parent at creation, serves blocks up
 * to its max and fails past it (counted), keeps its minimum when blocks are
 * freed, and gives everything back when destroyed with blocks still live.
 * destroy releases live blocks and regions; counters, page sizes, decay,
 * trim and version answer their edge cases.
 */
#include "api-helpers.h"

#include <dirent.h>

static const size_t psz = 2 * MB;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	CHECK(d);
	while ((e = readdir(d)))
		n++;
	closedir(d);
	return n;
}

static void create_enomem(void)
{
	struct hugepool_config cfg = { .page_size = psz };
	struct kbase kb;
	int maps, fds;

	/* warm up lazily initialised state first */
	CHECK(hugepool_destroy(api_pool(psz, 1, 0, HUGEPOOL_SHARED)) == 0);
	kb = kernel_baseline(psz);
	maps = count_maps();
	fds = count_fds();
	cfg.min_pages = (size_t)kernel_avail(psz) + 1;
	errno = 0;
	CHECK(hugepool_create(&cfg) == NULL && errno == ENOMEM);
	cfg.flags = HUGEPOOL_SHARED | HUGEPOOL_FALLBACK;
	errno = 0;
	CHECK(hugepool_create(&cfg) == NULL && errno == ENOMEM);
	CHECK_EQ(count_maps(), maps);
	CHECK_EQ(count_fds(), fds);
	api_end(&kb);

	/* a shared pool's file goes with it */
	{
		struct hugepool *p = api_pool(psz, 2, 0, HUGEPOOL_SHARED);

		CHECK_EQ(count_fds(), fds + 1);
		CHECK(hugepool_destroy(p) == 0);
		CHECK_EQ(count_fds(), fds);
		CHECK_EQ(count_maps(), maps);
	}
}

static void defaults_and_counters(void)
{
	struct hugepool *p = hugepool_create(NULL);
	struct hugepool_counters c, k, n0;
	size_t sizes[HP_MAX_HSTATES];
	int i, n;
	bool found = false;

	CHECK(p);
	n = hugepool_page_sizes(sizes, HP_MAX_HSTATES);
	CHECK(n >= 1);
	CHECK_EQ(hugepool_page_sizes(NULL, 0), n);
	for (i = 0; i < n; i++) {
		found |= sizes[i] == hugepool_page_size(p);
		if (i)
			CHECK(sizes[i] > sizes[i - 1]);
	}
	CHECK(found);
	CHECK_EQ(hugepool_page_size(NULL), 0);
	CHECK(hugepool_kernel_counters(0, HUGEPOOL_NODE_ANY, &k) == 0);
	CHECK_EQ(k.page_size, hugepool_page_size(p));
	CHECK(hugepool_kernel_counters(psz, HUGEPOOL_NODE_ANY, &k) == 0);
	CHECK_EQ((long)k.free_pages, kernel_counter(psz, "free_hugepages"));
	CHECK_EQ((long)k.nr_pages, kernel_counter(psz, "nr_hugepages"));

	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 0);
	CHECK_EQ(hugepool_counters(p, -2, &c), -EINVAL);
	CHECK_EQ(hugepool_counters(p, HP_MAX_NODES, &c), -EINVAL);
	CHECK_EQ(hugepool_counters(p, HUGEPOOL_NODE_ANY, NULL), -EINVAL);
	/* per node: the node of a page counts it */
	{
		void *b = hugepool_malloc(p, hugepool_page_size(p));
		int node;

		CHECK(b);
		node = hp_node_of(b);
		CHECK(node >= 0);
		CHECK(hugepool_counters(p, node, &n0) == 0);
		CHECK_EQ(n0.nr_pages, 1);
		CHECK_EQ(n0.free_pages, 0);
		hugepool_free(b);
		CHECK(hugepool_counters(p, node, &n0) == 0);
		CHECK_EQ(n0.free_pages, n0.nr_pages);
	}

	CHECK_EQ(hugepool_set_decay_ms(NULL, 5), -EINVAL);
	CHECK_EQ(hugepool_set_decay_ms(p, -2), -EINVAL);
	CHECK(hugepool_set_decay_ms(p, -1) >= 0);
	CHECK_EQ(hugepool_set_decay_ms(p, 10), -1);
	CHECK_EQ(hugepool_trim(NULL), -EINVAL);
	CHECK(hugepool_trim(p) >= 0);
	CHECK_EQ(pool_used(p), 0);
	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 0);	/* trim gave the surplus back */
	CHECK(hugepool_version() && strcmp(hugepool_version(), HUGEPOOL_VERSION) == 0);
	CHECK_POOL(p);
	CHECK(hugepool_destroy(p) == 0);
}

static void subpool_min_max(void)
{
	struct hugepool *parent = api_pool(psz, 0, 16, 0), *sp;
	struct hugepool_counters c;
	void *b[5];
	int i;

	errno = 0;
	CHECK(hugepool_subpool(NULL, 0, 0) == NULL && errno == EINVAL);
	errno = 0;
	CHECK(hugepool_subpool(parent, 3, 2) == NULL && errno == EINVAL);
	/* a minimum the parent cannot give: ENOMEM, parent unchanged */
	errno = 0;
	CHECK(hugepool_subpool(parent, 17, 0) == NULL && errno == ENOMEM);
	CHECK(hugepool_counters(parent, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages - c.free_pages, 0);
	CHECK_POOL(parent);

	/* the minimum is taken now */
	sp = hugepool_subpool(parent, 2, 4);
	CHECK(sp);
	CHECK_POOL(parent);
	CHECK_POOL(sp);
	check_counters(sp, 2, 2, 0, 0);
	CHECK_EQ(pool_used(parent), 2);
	CHECK_EQ(hugepool_destroy(parent), -EBUSY);

	/* blocks up to max, then ENOMEM (counted) */
	for (i = 0; i < 4; i++) {
		b[i] = hugepool_malloc(sp, psz);
		CHECK(b[i]);
		CHECK(hugepool_owner(b[i]) == sp);
		CHECK_PAGE_SIZE(b[i], psz);
		memset(b[i], i, psz);
		CHECK_POOL(sp);
		CHECK_POOL(parent);
	}
	errno = 0;
	b[4] = hugepool_malloc(sp, psz);
	CHECK(b[4] == NULL && errno == ENOMEM);
	CHECK_EQ(sp->stats.failures, 1);
	errno = 0;
	CHECK(hugepool_malloc(sp, 100 * KB) == NULL && errno == ENOMEM);
	check_counters(sp, 4, 0, 0, 2);

	/* freed: the subpool keeps its minimum, the rest goes to the parent */
	for (i = 0; i < 4; i++)
		hugepool_free(b[i]);
	CHECK_POOL(sp);
	CHECK_POOL(parent);
	check_counters(sp, 2, 2, 0, 0);
	CHECK_EQ(pool_used(parent), 2);

	/* destroyed with blocks live: all of it back to the parent */
	b[0] = hugepool_malloc(sp, 3 * psz);
	b[1] = hugepool_malloc(sp, 10 * KB);
	CHECK(b[0] && b[1]);
	CHECK(hugepool_destroy(sp) == 0);
	CHECK_EQ(pool_used(parent), 0);
	CHECK_POOL(parent);
	CHECK(hugepool_owner(b[0]) == NULL);
	CHECK(hugepool_destroy(parent) == 0);
}

/* destroy gives back live blocks and regions */
static void destroy_live(void)
{
	struct kbase kb = kernel_baseline(psz);
	struct hugepool *p = api_pool(psz, 3, 0, HUGEPOOL_FALLBACK);
	struct hugepool_region *r;

	CHECK(hugepool_malloc(p, 5 * psz));
	CHECK(hugepool_calloc(p, 3, 100 * KB));
	CHECK(hugepool_aligned_alloc(p, 64 * MB, 10));
	r = hugepool_region_reserve(p, 4 * psz, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	CHECK(hugepool_region_reserve(p, 4 * psz, HUGEPOOL_REGION_NORESERVE));
	CHECK(hugepool_region_populate(r, 0, psz) == 0);
	CHECK_POOL(p);
	CHECK(kernel_counter(psz, "free_hugepages") < kb.free);
	CHECK(hugepool_destroy(p) == 0);
	api_end(&kb);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 64);

	create_enomem();
	defaults_and_counters();
	subpool_min_max();
	destroy_live();
	api_end(&kb);
	return 0;
}
