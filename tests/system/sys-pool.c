/* SPDX-License-Identifier: MIT */
/*
 * Description: the hstate pool on real 2 MiB pages: creation takes min
 * pages from the kernel, blocks grow the pool into surplus up to max,
 * exhaustion is ENOMEM, freed surplus goes back on trim and by decay,
 * resize works both ways, destroy returns every page. Counter invariants
 * are checked after every step, and the kernel's counters at the end.
 */
#include "internal.h"
#include "../helpers.h"

#include <sys/mman.h>

#define MB (1UL << 20)

static struct hugepool *pool;

static void step(const char *what)
{
	int ret = hp_pool_check(pool);

	if (ret) {
		fprintf(stderr, "invariants broken after: %s\n", what);
		exit(T_FAIL);
	}
}

int main(void)
{
	const size_t psz = 2 * MB;
	struct hugepool_config cfg = { .page_size = psz, .min_pages = 4, .max_pages = 24 };
	struct kbase kb;
	struct hugepool_counters c;
	void *a, *b, *big;
	long kfree0;

	hp_verbose = 0;
	need_free_pages(psz, 64);
	kb = kernel_baseline(psz);
	kfree0 = kb.free;

	/* creation: min pages taken from the kernel now */
	pool = hugepool_create(&cfg);
	CHECK(pool);
	step("create");
	check_counters(pool, 4, 4, 0, 0);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 4);
	CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
	CHECK_EQ(c.min_pages, 4);
	CHECK_EQ(c.max_pages, 24);
	CHECK_EQ(c.page_size, psz);
	CHECK_EQ(hugepool_page_size(pool), psz);

	/* a block from the persistent pages: no new kernel pages */
	a = hugepool_malloc(pool, 4 * psz);
	CHECK(a);
	step("malloc 4 pages");
	check_counters(pool, 4, 0, 0, 0);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 4);
	memset(a, 0xa5, 4 * psz);
	CHECK_EQ(smaps_page_size(a), (long)psz);
	CHECK(hugepool_owner(a) == pool);
	CHECK_EQ(hugepool_usable_size(a), 4 * psz);

	/* growth into surplus */
	b = hugepool_malloc(pool, 10 * psz);
	CHECK(b);
	step("malloc 10 pages");
	check_counters(pool, 14, 0, 0, 10);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 14);
	memset(b, 0x5a, 10 * psz);
	CHECK_EQ(smaps_page_size((char *)b + 9 * psz), (long)psz);

	/* the cap: 14 + 11 > 24 is ENOMEM and changes nothing */
	errno = 0;
	big = hugepool_malloc(pool, 11 * psz);
	CHECK(big == NULL);
	CHECK_EQ(errno, ENOMEM);
	step("over max");
	check_counters(pool, 14, 0, 0, 10);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 14);

	/* exactly up to the cap works */
	big = hugepool_malloc(pool, 10 * psz);
	CHECK(big);
	check_counters(pool, 24, 0, 0, 20);
	step("at max");
	hugepool_free(big);
	check_counters(pool, 24, 10, 0, 20);
	step("free at max");

	/* freed surplus stays (decay) until trimmed */
	hugepool_set_decay_ms(pool, -1);
	hugepool_free(b);
	step("free surplus");
	check_counters(pool, 24, 20, 0, 20);
	CHECK_EQ(hugepool_trim(pool), 20);
	step("trim");
	check_counters(pool, 4, 0, 0, 0);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 4);
	CHECK(memchr(a, 0x00, 4 * psz) == NULL);	/* a is intact */

	/* decay returns unused surplus by itself within a bounded time */
	b = hugepool_malloc(pool, 6 * psz);
	CHECK(b);
	check_counters(pool, 10, 0, 0, 6);
	hugepool_set_decay_ms(pool, 50);
	hugepool_free(b);
	for (int i = 0; i < 100; i++) {
		CHECK(hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) == 0);
		if (c.nr_pages == 4)
			break;
		usleep(20000);
	}
	step("decay");
	check_counters(pool, 4, 0, 0, 0);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 4);

	/* resize up takes pages now; down gives them back */
	CHECK_EQ(hugepool_resize(pool, 8, 32), 0);
	step("resize up");
	check_counters(pool, 8, 4, 0, 0);
	CHECK_EQ(kernel_counter(psz, "free_hugepages"), kfree0 - 8);
	CHECK_EQ(hugepool_resize(pool, 2, 32), 0);
	step("resize down");
	check_counters(pool, 4, 0, 0, 2);	/* a holds 4 pages in use */
	CHECK_EQ(hugepool_resize(pool, 2, 3), -EBUSY);	/* 4 in use > 3 */
	CHECK_EQ(hugepool_resize(pool, 5, 3), -EINVAL);
	check_counters(pool, 4, 0, 0, 2);
	step("resize refused");

	hugepool_free(a);
	step("free a");
	CHECK_EQ(hugepool_destroy(pool), 0);
	check_kernel_baseline(&kb);
	printf("sys-pool: ok\n");
	return T_PASS;
}
