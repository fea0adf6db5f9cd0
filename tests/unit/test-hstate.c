/* SPDX-License-Identifier: MIT */
/*
 * Description: hstate discovery and the kernel's counters read from a fake
 * sysfs/procfs tree (hp_sysfs_root): every hugepages-<N>kB directory is a
 * size, ascending; the default comes from /proc/meminfo; junk directories
 * are ignored; per-node counters come from the node directories; a tree
 * without hugepages is "no sizes", not a crash.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

static char root[256];

static void put(const char *rel, const char *val)
{
	fake_put(root, rel, val);
}

static void hstate_files(const char *dir, long nr, long fr, long resv, long surp, long over)
{
	char rel[256], v[32];

	snprintf(rel, sizeof(rel), "%s/nr_hugepages", dir);
	snprintf(v, sizeof(v), "%ld\n", nr);
	put(rel, v);
	snprintf(rel, sizeof(rel), "%s/free_hugepages", dir);
	snprintf(v, sizeof(v), "%ld\n", fr);
	put(rel, v);
	snprintf(rel, sizeof(rel), "%s/surplus_hugepages", dir);
	snprintf(v, sizeof(v), "%ld\n", surp);
	put(rel, v);
	if (resv >= 0) {
		snprintf(rel, sizeof(rel), "%s/resv_hugepages", dir);
		snprintf(v, sizeof(v), "%ld\n", resv);
		put(rel, v);
		snprintf(rel, sizeof(rel), "%s/nr_overcommit_hugepages", dir);
		snprintf(v, sizeof(v), "%ld\n", over);
		put(rel, v);
	}
}

static int setup(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(root, sizeof(root), "/tmp/hugepool-fake-sysfs.XXXXXX");
	assert_non_null(mkdtemp(root));
	hstate_files("sys/kernel/mm/hugepages/hugepages-1048576kB", 2, 1, 0, 0, 0);
	hstate_files("sys/kernel/mm/hugepages/hugepages-2048kB", 100, 80, 5, 10, 20);
	hstate_files("sys/kernel/mm/hugepages/hugepages-64kB", 0, 0, 0, 0, 0);
	put("sys/kernel/mm/hugepages/not-a-size/x", "1\n");
	put("sys/kernel/mm/hugepages/hugepages-3000kB/nr_hugepages", "0\n");	/* not a power of 2 */
	hstate_files("sys/devices/system/node/node0/hugepages/hugepages-2048kB", 60, 50, -1, 6, 0);
	put("proc/meminfo", "MemTotal: 1000 kB\nHugepagesize:       2048 kB\nHugetlb: 0 kB\n");
	hp_sysfs_root = root;
	hp_hstate_reset();
	snprintf(cmd, sizeof(cmd), "test -d %s", root);
	return system(cmd);
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	hp_sysfs_root = "";
	hp_hstate_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void test_sizes(void **state)
{
	size_t sizes[8];

	(void)state;
	assert_int_equal(hugepool_page_sizes(sizes, 8), 3);
	assert_int_equal(sizes[0], 64UL << 10);
	assert_int_equal(sizes[1], 2UL << 20);
	assert_int_equal(sizes[2], 1UL << 30);
	/* the count even when the array is short */
	assert_int_equal(hugepool_page_sizes(sizes, 1), 3);
	assert_int_equal(hugepool_page_sizes(NULL, 0), 3);
	assert_non_null(hp_default_hstate());
	assert_int_equal(hp_default_hstate()->size, 2UL << 20);
	assert_null(hp_size_to_hstate(3000UL << 10));
	assert_ptr_equal(hp_size_to_hstate(0), hp_default_hstate());
	assert_string_equal(hp_size_to_hstate(1UL << 30)->name, "hugepages-1048576kB");
	assert_int_equal(hp_size_to_hstate(1UL << 30)->shift, 30);
}

static void test_counters(void **state)
{
	struct hugepool_counters c;

	(void)state;
	assert_int_equal(hp_hstate_read_counters(hp_size_to_hstate(2UL << 20), -1, &c), 0);
	assert_int_equal(c.nr_pages, 100);
	assert_int_equal(c.free_pages, 80);
	assert_int_equal(c.resv_pages, 5);
	assert_int_equal(c.surplus_pages, 10);
	assert_int_equal(c.min_pages, 90);
	assert_int_equal(c.max_pages, 110);
	/* per node: no resv or overcommit in the kernel's node files */
	assert_int_equal(hp_hstate_read_counters(hp_size_to_hstate(2UL << 20), 0, &c), 0);
	assert_int_equal(c.nr_pages, 60);
	assert_int_equal(c.free_pages, 50);
	assert_int_equal(c.resv_pages, 0);
	assert_int_equal(c.surplus_pages, 6);
	assert_int_equal(c.min_pages, 54);
	/* a node without files is EINVAL */
	assert_int_equal(hp_hstate_read_counters(hp_size_to_hstate(2UL << 20), 3, &c), -EINVAL);
}

static void test_no_hugetlb(void **state)
{
	char saved[256];

	(void)state;
	snprintf(saved, sizeof(saved), "%s", root);
	hp_sysfs_root = "/nonexistent-root";
	hp_hstate_reset();
	assert_int_equal(hugepool_page_sizes(NULL, 0), 0);
	assert_null(hp_default_hstate());
	hp_sysfs_root = root;
	hp_hstate_reset();
	assert_int_equal(hugepool_page_sizes(NULL, 0), 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_no_hugetlb),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
