/* SPDX-License-Identifier: MIT */
/*
 * Description: struct hugepage_subpool accounting (lib/subpool.c) against
 * the kernel's rules: max_hpages caps charges, min_hpages is held back from
 * the parent, get_pages returns the global delta, put_pages what goes back.
 */
#include "unit.h"

#include <stdlib.h>

static void test_no_limits(void **state)
{
	struct hp_subpool_acct s;

	(void)state;
	hp_subpool_init(&s, -1, -1);
	assert_int_equal(hp_subpool_get_pages(&s, 5), 5);
	assert_int_equal(s.used_hpages, 5);
	assert_int_equal(hp_subpool_put_pages(&s, 5), 5);
	assert_int_equal(s.used_hpages, 0);
	assert_int_equal(s.rsv_hpages, 0);
}

static void test_max(void **state)
{
	struct hp_subpool_acct s;

	(void)state;
	hp_subpool_init(&s, -1, 4);
	assert_int_equal(hp_subpool_get_pages(&s, 3), 3);
	assert_int_equal(hp_subpool_get_pages(&s, 2), -ENOMEM);
	assert_int_equal(s.used_hpages, 3);	/* a refused charge changes nothing */
	assert_int_equal(hp_subpool_get_pages(&s, 1), 1);
	assert_int_equal(hp_subpool_get_pages(&s, 1), -ENOMEM);
	assert_int_equal(hp_subpool_put_pages(&s, 4), 4);
}

static void test_min(void **state)
{
	struct hp_subpool_acct s;

	(void)state;
	hp_subpool_init(&s, 3, -1);
	assert_int_equal(s.rsv_hpages, 3);
	/* covered by the minimum: the parent gives nothing */
	assert_int_equal(hp_subpool_get_pages(&s, 2), 0);
	assert_int_equal(s.rsv_hpages, 1);
	/* partly covered */
	assert_int_equal(hp_subpool_get_pages(&s, 4), 3);
	assert_int_equal(s.rsv_hpages, 0);
	assert_int_equal(s.used_hpages, 6);
	/* going back below the minimum keeps pages */
	assert_int_equal(hp_subpool_put_pages(&s, 4), 3);
	assert_int_equal(s.rsv_hpages, 1);
	assert_int_equal(hp_subpool_put_pages(&s, 2), 0);
	assert_int_equal(s.rsv_hpages, 3);
	assert_int_equal(s.used_hpages, 0);
}

static void test_invalid(void **state)
{
	struct hp_subpool_acct s;

	(void)state;
	hp_subpool_init(&s, 2, 5);
	assert_int_equal(hp_subpool_get_pages(&s, -1), -EINVAL);
	assert_int_equal(hp_subpool_put_pages(&s, 1), -EINVAL);	/* nothing charged */
}

/* held = used + rsv never drops below min, and put undoes get exactly */
static void test_random_roundtrip(void **state)
{
	unsigned int seed = 12345;

	(void)state;
	for (int iter = 0; iter < 20000; iter++) {
		long min = rand_r(&seed) % 8 - 1, max = rand_r(&seed) % 16 - 1;
		struct hp_subpool_acct s, before;
		long held_parent = 0;

		if (min >= 0 && max >= 0 && min > max)
			max = min;
		hp_subpool_init(&s, min, max);
		held_parent = s.rsv_hpages;
		for (int op = 0; op < 20; op++) {
			long d = rand_r(&seed) % 6;

			before = s;
			if (rand_r(&seed) % 2) {
				long r = hp_subpool_get_pages(&s, d);

				if (r == -ENOMEM) {
					assert_memory_equal(&s, &before, sizeof(s));
					continue;
				}
				assert_true(r >= 0 && r <= d);
				held_parent += r;
			} else if (d <= s.used_hpages) {
				long r = hp_subpool_put_pages(&s, d);

				assert_true(r >= 0 && r <= d);
				held_parent -= r;
			}
			/* pages taken from the parent = what the subpool holds */
			assert_int_equal(held_parent, s.used_hpages + s.rsv_hpages);
			if (min > 0)
				assert_true(s.used_hpages + s.rsv_hpages >= min);
			if (max >= 0)
				assert_true(s.used_hpages <= max);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_limits),
		cmocka_unit_test(test_max),
		cmocka_unit_test(test_min),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_random_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
