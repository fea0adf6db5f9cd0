/* SPDX-License-Identifier: MIT */
/*
 * kern-max-map-count.c - the process has as many mappings as
 * vm.max_map_count allows.
 *
 * The limit is global (a sysctl), so instead of lowering it this test fills
 * its own child's map count: 4 KiB mappings with alternating protections
 * (so that they cannot merge) until mmap says ENOMEM, as glibc's
 * tst-free-errno does. Then every call that needs a new mapping, or a split
 * of one, fails:
 *  - hugepool_create: NULL/ENOMEM;
 *  - malloc/calloc/aligned_alloc/region populate needing fresh pages:
 *    NULL/ENOMEM or -ENOMEM; what the pool holds free still works;
 *  - giving part of a mapping back (realloc shrinking a block, free of a
 *    block whose pages were faulted together with others) cannot put a
 *    placeholder there: the pages go back anyway (MADV_DONTNEED), the
 *    counters stay exact, and free preserves errno.
 * With a few mappings given back, the next calls work; after the pool is
 * destroyed the kernel's counters are at their baseline.
 */
#include "kernel.h"

#define MB2 (2UL << 20)
#define MAX_FILL (1 << 20)

static void **fill;
static long nfill;

/* Map 4 KiB pages until the kernel refuses: the map count is full. */
static void fill_maps(void)
{
	fill = mmap(NULL, MAX_FILL * sizeof(void *), PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(fill != MAP_FAILED);
	for (nfill = 0; nfill < MAX_FILL; nfill++) {
		void *p = mmap(NULL, 4096, nfill % 2 ? PROT_READ : PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (p == MAP_FAILED) {
			CHECK(errno == ENOMEM);
			break;
		}
		fill[nfill] = p;
	}
	CHECK(nfill < MAX_FILL);
}

/* Give back n filler mappings (room for n new ones, more or less). */
static void unfill(long n)
{
	while (n-- > 0 && nfill > 0)
		CHECK(munmap(fill[--nfill], 4096) == 0);
}

static int full(void *arg)
{
	struct hugepool_config cfg = { .page_size = MB2 };
	struct hugepool_counters c;
	struct hugepool_region *r;
	struct hugepool *pool;
	char *a, *b, *p;
	long maps;

	(void)arg;
	hp_verbose = 0;
	pool = kpool(MB2, 0, 0);		/* decay off for now */
	/* a block of 4 pages faulted together (one mapping), a free page in
	 * the pool, a NORESERVE region */
	a = hugepool_malloc(pool, 4 * MB2);
	CHECK(a);
	memset(a, 0x5a, 4 * MB2);
	hugepool_free(hugepool_malloc(pool, MB2));
	r = hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 5);
	CHECK_EQ(c.free_pages, 1);

	fill_maps();
	maps = count_maps();
	printf("kern-max-map-count: filled to %ld mappings (%ld of them 4 KiB fillers)\n", maps, nfill);
	fflush(stdout);		/* the child leaves with _exit */

	/* nothing that needs a new mapping works */
	errno = 0;
	CHECK(hugepool_create(&cfg) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_malloc(pool, 3 * MB2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(pool, 3, MB2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_aligned_alloc(pool, 64 * MB2, MB2 * 2) == NULL && errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);

	/* the pool's free page still works (no mapping needed) */
	b = hugepool_malloc(pool, MB2);
	CHECK(b);
	memset(b, 0x6b, MB2);
	/* from here on, pages freed go back to the kernel at once */
	CHECK(hugepool_set_decay_ms(pool, 0) == -1);

	/* shrinking a block gives back part of its mapping: no placeholder
	 * can go there, the pages go back with MADV_DONTNEED */
	p = hugepool_realloc(pool, a, MB2);
	CHECK(p == a);
	CHECK(a[0] == 0x5a && a[MB2 - 1] == 0x5a);
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 2);		/* a's first page and b */
	CHECK_POOL(pool);
	check_held(MB2);

	/* populate needs a new page: -ENOMEM; nothing in the region */
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * MB2), -ENOMEM);
	CHECK_EQ(hp_region_populated(r, 0, 2), 0);

	/* free preserves errno even though its munmap/mmap fail */
	errno = EDOM;
	hugepool_free(a);
	CHECK(errno == EDOM);
	errno = ERANGE;
	hugepool_free(b);
	CHECK(errno == ERANGE);
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.nr_pages, 0);
	CHECK_POOL(pool);
	check_held(MB2);
	CHECK(count_maps() <= maps);

	/* room again: the next calls work */
	unfill(64);
	p = hugepool_malloc(pool, 3 * MB2);
	CHECK(p);
	memset(p, 1, 3 * MB2);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * MB2), 2);
	CHECK_POOL(pool);
	check_held(MB2);
	hugepool_free(p);
	CHECK(hugepool_region_free(r) == 0);
	unfill(nfill);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2);
	long max = file_number("/proc/sys/vm/max_map_count");

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 8);
	if (max <= 0 || max > MAX_FILL / 2)
		skip_or_fail("vm.max_map_count is %ld: too many mappings to fill", max);
	child_ok("max_map_count", run_in_child(full, NULL, 120));
	CHECK(kernel_back_at(&kb, "kern-max-map-count"));
	printf("kern-max-map-count: PASS (vm.max_map_count=%ld reached: create, malloc, calloc, "
	       "aligned_alloc NULL/ENOMEM, populate -ENOMEM, free preserves errno, counters exact)\n",
	       max);
	return T_PASS;
}
