/* SPDX-License-Identifier: MIT */
/* Description: size, page-count and boolean parsing (lib/util.c). */
#include "unit.h"

static void test_sizes(void **state)
{
	size_t v;

	(void)state;
	assert_int_equal(hp_parse_size("2M", &v), 0);
	assert_int_equal(v, 2UL << 20);
	assert_int_equal(hp_parse_size("1G", &v), 0);
	assert_int_equal(v, 1UL << 30);
	assert_int_equal(hp_parse_size("1GiB", &v), 0);
	assert_int_equal(v, 1UL << 30);
	assert_int_equal(hp_parse_size("2MB", &v), 0);
	assert_int_equal(v, 2UL << 20);
	assert_int_equal(hp_parse_size("512k", &v), 0);
	assert_int_equal(v, 512UL << 10);
	assert_int_equal(hp_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(hp_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(hp_parse_size("", &v), -EINVAL);
	assert_int_equal(hp_parse_size("M", &v), -EINVAL);
	assert_int_equal(hp_parse_size("2X", &v), -EINVAL);
	assert_int_equal(hp_parse_size("-2M", &v), -EINVAL);
	assert_int_equal(hp_parse_size("2 M", &v), -EINVAL);
	assert_int_equal(hp_parse_size("2Mx", &v), -EINVAL);
	assert_int_equal(hp_parse_size("99999999999999999999", &v), -ERANGE);
	assert_int_equal(hp_parse_size("99999999999T", &v), -ERANGE);
	assert_int_equal(hp_parse_size(NULL, &v), -EINVAL);
}

static void test_pages(void **state)
{
	size_t v;

	(void)state;
	assert_int_equal(hp_parse_pages("512", 2UL << 20, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(hp_parse_pages("1G", 2UL << 20, &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(hp_parse_pages("3M", 2UL << 20, &v), 0);
	assert_int_equal(v, 2);	/* rounded up to whole pages */
	assert_int_equal(hp_parse_pages("4G", 1UL << 30, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(hp_parse_pages("x", 2UL << 20, &v), -EINVAL);
	assert_int_equal(hp_parse_pages("1", 0, &v), -EINVAL);
}

static void test_bool(void **state)
{
	bool b;

	(void)state;
	assert_int_equal(hp_parse_bool("yes", &b), 0);
	assert_true(b);
	assert_int_equal(hp_parse_bool("OFF", &b), 0);
	assert_false(b);
	assert_int_equal(hp_parse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(hp_parse_bool("maybe", &b), -EINVAL);
}

static void test_format(void **state)
{
	char buf[32];

	(void)state;
	hp_format_size(2UL << 20, buf, sizeof(buf));
	assert_string_equal(buf, "2M");
	hp_format_size(1UL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "1G");
	hp_format_size(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1000");
	assert_int_equal(hp_fmt_ulong(buf, 1234567), 7);
	assert_string_equal(buf, "1234567");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
