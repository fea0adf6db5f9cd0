/* SPDX-License-Identifier: MIT */
/*
 * Description: 1 GiB pages: a pool of them, a block on one (smaps says
 * KernelPageSize 1048576 kB and the pointer is 1 GiB aligned), exhaustion
 * of the kernel's 1 GiB pages is ENOMEM without falling back silently to
 * 2 MiB, and every page goes back.
 */
#include "internal.h"
#include "../helpers.h"

#define GB (1UL << 30)

int main(void)
{
	struct hugepool_config cfg = { .page_size = GB, .max_pages = 0 };
	struct kbase kb;
	struct hugepool *p;
	char *a;
	long kfree;

	hp_verbose = 0;
	if (!hp_size_to_hstate(GB))
		skip_or_fail("the kernel has no 1 GiB pages");
	need_free_pages(GB, 1);
	kb = kernel_baseline(GB);
	kfree = kb.free - kb.resv;

	p = hugepool_create(&cfg);
	CHECK(p);
	CHECK_EQ(hugepool_page_size(p), GB);
	a = hugepool_malloc(p, GB);
	CHECK(a);
	CHECK(((uintptr_t)a & (GB - 1)) == 0);
	a[0] = 1;
	a[GB - 1] = 2;
	CHECK_EQ(smaps_page_size(a), (long)GB);
	CHECK_EQ(kernel_counter(GB, "free_hugepages"), kb.free - 1);
	check_counters(p, 1, 0, 0, 1);
	CHECK(hp_pool_check(p) == 0);

	/* small blocks share one gigantic page instead of one each */
	if (kfree >= 2) {
		char *s1 = hugepool_malloc(p, 1UL << 20), *s2 = hugepool_malloc(p, 3UL << 20);

		CHECK(s1 && s2);
		memset(s1, 1, 1UL << 20);
		memset(s2, 2, 3UL << 20);
		check_counters(p, 2, 0, 0, 2);
		CHECK_EQ(smaps_page_size(s2), (long)GB);
		hugepool_free(s1);
		hugepool_free(s2);
	}

	/* more than the kernel has: ENOMEM, no 2 MiB substitute */
	{
		void *x;

		errno = 0;
		x = hugepool_malloc(p, (size_t)(kfree + 1) * GB);
		CHECK(x == NULL && errno == ENOMEM);
		CHECK(hp_pool_check(p) == 0);
	}
	hugepool_free(a);
	CHECK(hugepool_destroy(p) == 0);
	check_kernel_baseline(&kb);
	printf("sys-gigantic: ok\n");
	return T_PASS;
}
