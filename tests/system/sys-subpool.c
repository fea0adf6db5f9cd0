/* SPDX-License-Identifier: MIT */
/*
 * Description: subpools (struct hugepage_subpool): the minimum is taken
 * from the parent at creation and fails with ENOMEM when the parent cannot
 * give it, the maximum caps what the subpool may hold, pages return to the
 * parent as the kernel's hugepage_subpool_put_pages says, nested subpools
 * chain, and destroy gives everything back. Counters checked at each step.
 */
#include "internal.h"
#include "../helpers.h"

#define MB (1UL << 20)

static void inv(struct hugepool *p, const char *what)
{
	if (hp_pool_check(p)) {
		fprintf(stderr, "invariants broken after %s (pool %s)\n", what, p->name);
		exit(T_FAIL);
	}
}

int main(void)
{
	const size_t psz = 2 * MB;
	struct hugepool_config cfg = { .page_size = psz, .min_pages = 8, .max_pages = 16 };
	struct hugepool *parent, *sp, *sp2, *nested;
	struct kbase kb;
	void *x, *y, *z;

	hp_verbose = 0;
	need_free_pages(psz, 32);
	kb = kernel_baseline(psz);

	parent = hugepool_create(&cfg);
	CHECK(parent);
	hugepool_set_decay_ms(parent, -1);

	/* min 3 comes out of the parent's free pages at once */
	sp = hugepool_subpool(parent, 3, 6);
	CHECK(sp);
	inv(parent, "subpool create");
	inv(sp, "subpool create");
	check_counters(sp, 3, 3, 0, 0);
	check_counters(parent, 8, 5, 0, 0);
	CHECK(hugepool_page_size(sp) == psz);

	/* within the minimum: no new parent pages */
	x = hugepool_malloc(sp, 2 * psz);
	CHECK(x);
	memset(x, 1, 2 * psz);
	CHECK(hugepool_owner(x) == sp);
	inv(sp, "alloc in min");
	check_counters(sp, 3, 1, 0, 0);
	check_counters(parent, 8, 5, 0, 0);

	/* beyond the minimum: charged, the parent gives pages */
	y = hugepool_malloc(sp, 3 * psz);
	CHECK(y);
	inv(sp, "alloc beyond min");
	inv(parent, "alloc beyond min");
	check_counters(sp, 5, 0, 0, 2);

	/* max 6: one more page is fine, two are ENOMEM */
	errno = 0;
	z = hugepool_malloc(sp, 2 * psz);
	CHECK(!z && errno == ENOMEM);
	inv(sp, "over max");
	check_counters(sp, 5, 0, 0, 2);
	z = hugepool_malloc(sp, psz);
	CHECK(z);
	check_counters(sp, 6, 0, 0, 3);
	inv(parent, "at max");

	/* freeing returns what the minimum does not keep */
	hugepool_free(y);
	hugepool_free(z);
	inv(sp, "free");
	inv(parent, "free");
	check_counters(sp, 3, 1, 0, 0);
	hugepool_free(x);
	check_counters(sp, 3, 3, 0, 0);
	inv(sp, "free all");

	/* a minimum the parent cannot give: ENOMEM, nothing changed */
	{
		struct hugepool_counters before, after;

		CHECK(hugepool_counters(parent, HUGEPOOL_NODE_ANY, &before) == 0);
		errno = 0;
		sp2 = hugepool_subpool(parent, 20, 0);	/* parent max is 16 */
		CHECK(!sp2 && errno == ENOMEM);
		CHECK(hugepool_counters(parent, HUGEPOOL_NODE_ANY, &after) == 0);
		CHECK_EQ(after.nr_pages, before.nr_pages);
		CHECK_EQ(after.free_pages, before.free_pages);
		inv(parent, "failed subpool");
	}
	/* bad arguments */
	errno = 0;
	CHECK(!hugepool_subpool(parent, 5, 2) && errno == EINVAL);
	errno = 0;
	CHECK(!hugepool_subpool(NULL, 1, 2) && errno == EINVAL);

	/* nesting: a subpool of a subpool */
	nested = hugepool_subpool(sp, 1, 2);
	CHECK(nested);
	check_counters(nested, 1, 1, 0, 0);
	check_counters(sp, 3, 2, 0, 0);
	x = hugepool_malloc(nested, 2 * psz);
	CHECK(x);
	inv(nested, "nested alloc");
	inv(sp, "nested alloc");
	inv(parent, "nested alloc");
	check_counters(nested, 2, 0, 0, 1);
	CHECK_EQ(hugepool_destroy(sp), -EBUSY);	/* it has a subpool */
	hugepool_free(x);
	CHECK_EQ(hugepool_destroy(nested), 0);
	check_counters(sp, 3, 3, 0, 0);
	inv(sp, "nested destroyed");

	/* subpool resize: a larger minimum takes pages from the parent */
	CHECK_EQ(hugepool_resize(sp, 5, 6), 0);
	check_counters(sp, 5, 5, 0, 0);
	inv(sp, "resize up");
	inv(parent, "resize up");
	CHECK_EQ(hugepool_resize(sp, 1, 6), 0);
	check_counters(sp, 1, 1, 0, 0);
	inv(sp, "resize down");

	/* destroy with a live block: everything goes back to the parent */
	x = hugepool_malloc(sp, 4 * psz);
	CHECK(x);
	CHECK_EQ(hugepool_destroy(sp), 0);
	inv(parent, "destroy sub");
	check_counters(parent, 8, 8, 0, 0);
	CHECK_EQ(hugepool_destroy(parent), 0);
	check_kernel_baseline(&kb);
	printf("sys-subpool: ok\n");
	return T_PASS;
}
