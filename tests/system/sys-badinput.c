/* SPDX-License-Identifier: MIT */
/*
 * Description: bad input is EINVAL and changes nothing: a page size the
 * kernel lacks, min > max, an unknown policy or flag, a node that does not
 * exist, a node string libnuma rejects. Afterwards the process has the same
 * mappings and the kernel the same counters.
 */
#include "internal.h"
#include "../helpers.h"

static void expect_einval(const struct hugepool_config *cfg, const char *what)
{
	struct hugepool *p;

	errno = 0;
	p = hugepool_create(cfg);
	if (p || errno != EINVAL) {
		fprintf(stderr, "%s: expected EINVAL, got %p errno %d\n", what, (void *)p, errno);
		exit(T_FAIL);
	}
}

int main(void)
{
	const size_t psz = 2UL << 20;
	struct hugepool_config cfg;
	struct hugepool_counters c;
	struct kbase kb;
	int maps;

	hp_verbose = 0;
	need_free_pages(psz, 4);
	/* warm up lazily initialised state (hstates, libnuma) first */
	{
		struct hugepool *p = hugepool_create(&(struct hugepool_config){ .page_size = psz });

		CHECK(p);
		CHECK(hugepool_destroy(p) == 0);
	}
	kb = kernel_baseline(psz);
	maps = count_maps();

	cfg = (struct hugepool_config){ .page_size = 3UL << 20 };
	expect_einval(&cfg, "3M pages");
	cfg = (struct hugepool_config){ .page_size = 4096 };
	expect_einval(&cfg, "4K pages");
	cfg = (struct hugepool_config){ .page_size = psz, .min_pages = 5, .max_pages = 4 };
	expect_einval(&cfg, "min > max");
	cfg = (struct hugepool_config){ .page_size = psz, .nodes = "7" };
	expect_einval(&cfg, "node 7");
	cfg = (struct hugepool_config){ .page_size = psz, .nodes = "banana" };
	expect_einval(&cfg, "node string");
	cfg = (struct hugepool_config){ .page_size = psz, .nodes = "" };
	expect_einval(&cfg, "empty node string");
	cfg = (struct hugepool_config){ .page_size = psz, .policy = (enum hugepool_policy)9 };
	expect_einval(&cfg, "policy");
	cfg = (struct hugepool_config){ .page_size = psz, .flags = 1u << 7 };
	expect_einval(&cfg, "flags");

	CHECK_EQ(hugepool_counters(NULL, -1, &c), -EINVAL);
	CHECK_EQ(hugepool_kernel_counters(3UL << 20, -1, &c), -EINVAL);
	CHECK_EQ(hugepool_kernel_counters(psz, 7, &c), -EINVAL);
	CHECK_EQ(hugepool_kernel_counters(psz, -1, NULL), -EINVAL);
	CHECK_EQ(hugepool_resize(NULL, 1, 2), -EINVAL);
	CHECK_EQ(hugepool_destroy(NULL), -EINVAL);
	CHECK_EQ(hugepool_page_sizes(NULL, 4), -EINVAL);

	/* nothing leaked: same mappings, same kernel counters */
	CHECK_EQ(count_maps(), maps);
	check_kernel_baseline(&kb);
	printf("sys-badinput: ok\n");
	return T_PASS;
}
