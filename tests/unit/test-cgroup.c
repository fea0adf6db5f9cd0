/* SPDX-License-Identifier: MIT */
/*
 * Description: the hugetlb cgroup reader (lib/cgroup.c) against a fake
 * /proc and cgroupfs tree (hp_sysfs_root): v2 found from "0::/path" and the
 * cgroup2 line of mountinfo, v1 from the hugetlb line and its mount, a
 * container's mount root (/docker/<id> mounted on /sys/fs/cgroup), "max"
 * and v1's near-2^63 "no limit", the room as the smallest over both
 * counters and every ancestor, levels without the controller skipped, and
 * no cgroup at all meaning LONG_MAX.
 */
#include "unit.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define MB2 (2UL << 20)

static char root[256];

static void put(const char *rel, const char *val)
{
	fake_put(root, rel, val);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/hp-unit-cgroup.XXXXXX");
	assert_non_null(mkdtemp(root));
	hp_sysfs_root = root;
	hp_cgroup_reset();
	return 0;
}

static int teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	hp_sysfs_root = "";
	return 0;
}

static const char *mountinfo_v2 =
	"22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
	"30 22 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755\n"
	"31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	"32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";

static void v2_group(const char *dir, const char *max, unsigned long cur, const char *rmax,
		     unsigned long rcur)
{
	char rel[256], v[64];

	snprintf(rel, sizeof(rel), "%s/cgroup.controllers", dir);
	put(rel, "cpu hugetlb\n");
	snprintf(rel, sizeof(rel), "%s/hugetlb.2MB.current", dir);
	snprintf(v, sizeof(v), "%lu\n", cur);
	put(rel, v);
	snprintf(rel, sizeof(rel), "%s/hugetlb.2MB.rsvd.current", dir);
	snprintf(v, sizeof(v), "%lu\n", rcur);
	put(rel, v);
	if (max) {
		snprintf(rel, sizeof(rel), "%s/hugetlb.2MB.max", dir);
		put(rel, max);
		snprintf(rel, sizeof(rel), "%s/hugetlb.2MB.rsvd.max", dir);
		put(rel, rmax);
		snprintf(rel, sizeof(rel), "%s/hugetlb.2MB.events", dir);
		put(rel, "max 7\n");
	}
}

static void test_v2(void **state)
{
	struct hp_cgroup_loc loc;
	struct hp_cgroup_hugetlb cg;
	char want[512];

	(void)state;
	put("proc/self/mountinfo", mountinfo_v2);
	put("proc/self/cgroup", "1:cpu:/\n0::/app/job\n");
	/* root: only .current; app: 10 pages; job: no files (hugetlb not
	 * enabled in app's subtree_control) */
	v2_group("sys/fs/cgroup/unified", NULL, 0, NULL, 0);
	v2_group("sys/fs/cgroup/unified/app", "20971520\n", 4 * MB2, "max\n", 6 * MB2);
	put("sys/fs/cgroup/unified/app/job/cgroup.controllers", "\n");

	assert_int_equal(hp_cgroup_self(&loc), 0);
	assert_int_equal(loc.version, 2);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/unified/app/job", root);
	assert_string_equal(loc.dir, want);
	/* job has no files of its own: its pages count against app */
	assert_int_equal(hp_cgroup_hugetlb_read(loc.dir, 2, MB2, &cg), -ENOENT);
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 6);	/* 10 - 4 */

	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/unified/app", root);
	assert_int_equal(hp_cgroup_hugetlb_read(want, 2, MB2, &cg), 0);
	assert_true(cg.has_limit);
	assert_false(cg.limit_unlimited);
	assert_true(cg.limit == 20971520ULL);
	assert_true(cg.usage == 4 * MB2);
	assert_true(cg.has_rsvd && cg.rsvd_unlimited);
	assert_true(cg.has_events && cg.events_max == 7);

	/* the reservation counter is the tighter one: 8 - 6 */
	put("sys/fs/cgroup/unified/app/hugetlb.2MB.rsvd.max", "16777216\n");
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 2);
	/* a limit below usage (lowered later) is no room, not a wrap */
	put("sys/fs/cgroup/unified/app/hugetlb.2MB.max", "2097152\n");
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 0);
	/* job gets its own files, unlimited: app still limits */
	v2_group("sys/fs/cgroup/unified/app/job", "max\n", 0, "max\n", 0);
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 0);
	/* a size without files (1 GiB not charged here): unlimited */
	assert_true(hp_cgroup_hugetlb_room(1UL << 30) == LONG_MAX);

	/* the mount is remembered: a mountinfo that no longer shows it
	 * changes nothing until hp_cgroup_reset (a hierarchy stays) */
	put("proc/self/mountinfo", "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n");
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 0);
	hp_cgroup_reset();
	assert_true(hp_cgroup_hugetlb_room(MB2) == LONG_MAX);
	put("proc/self/mountinfo", mountinfo_v2);

	/* --cgroup PATH: that group only, no walking above it */
	assert_int_equal(hp_cgroup_at(loc.dir, &loc), 0);
	assert_int_equal(loc.version, 2);
	assert_true(hp_cgroup_hugetlb_room_at(&loc, MB2) == LONG_MAX);
}

static void test_v2_container(void **state)
{
	char want[512];
	struct hp_cgroup_loc loc;

	(void)state;
	/* no cgroup namespace: the container sees its own group as the
	 * mount's root, and /proc/self/cgroup names the full path */
	put("proc/self/mountinfo",
	    "40 1 0:50 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
	put("proc/self/cgroup", "0::/docker/abc\n");
	v2_group("sys/fs/cgroup", "4194304\n", MB2, "max\n", MB2);
	assert_int_equal(hp_cgroup_self(&loc), 0);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup", root);
	assert_string_equal(loc.dir, want);
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 1);
}

static void test_v1(void **state)
{
	struct hp_cgroup_hugetlb cg;
	struct hp_cgroup_loc loc;
	char want[512];

	(void)state;
	put("proc/self/mountinfo",
	    "31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
	    "33 30 0:29 / /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb\n");
	put("proc/self/cgroup", "5:hugetlb:/batch\n1:cpu:/\n0::/\n");
	/* the root: v1's "no limit" */
	put("sys/fs/cgroup/hugetlb/tasks", "1\n");
	put("sys/fs/cgroup/hugetlb/hugetlb.2MB.usage_in_bytes", "0\n");
	put("sys/fs/cgroup/hugetlb/hugetlb.2MB.limit_in_bytes", "9223372036854771712\n");
	put("sys/fs/cgroup/hugetlb/batch/tasks", "1\n");
	put("sys/fs/cgroup/hugetlb/batch/hugetlb.2MB.usage_in_bytes", "2097152\n");
	put("sys/fs/cgroup/hugetlb/batch/hugetlb.2MB.limit_in_bytes", "6291456\n");
	put("sys/fs/cgroup/hugetlb/batch/hugetlb.2MB.failcnt", "3\n");
	put("sys/fs/cgroup/hugetlb/batch/hugetlb.2MB.rsvd.usage_in_bytes", "0\n");
	put("sys/fs/cgroup/hugetlb/batch/hugetlb.2MB.rsvd.limit_in_bytes",
	    "9223372036854771712\n");
	put("sys/fs/cgroup/hugetlb/batch/hugetlb.2MB.rsvd.failcnt", "0\n");

	assert_int_equal(hp_cgroup_self(&loc), 0);
	assert_int_equal(loc.version, 1);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/hugetlb/batch", root);
	assert_string_equal(loc.dir, want);
	assert_int_equal(hp_cgroup_hugetlb_read(loc.dir, 1, MB2, &cg), 0);
	assert_true(cg.limit == 6291456ULL && !cg.limit_unlimited);
	assert_true(cg.rsvd_unlimited);
	assert_true(cg.events_max == 3);
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 2);

	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/hugetlb", root);
	assert_int_equal(hp_cgroup_hugetlb_read(want, 1, MB2, &cg), 0);
	assert_true(cg.limit_unlimited);
	assert_int_equal(hp_cgroup_at(want, &loc), 0);
	assert_int_equal(loc.version, 1);
}

/* no mountinfo (a minimal /proc): the mounts table, mount roots "/" */
static void test_mounts_fallback(void **state)
{
	struct hp_cgroup_loc loc;
	char want[512];

	(void)state;
	put("proc/mounts", "proc /proc proc rw 0 0\n"
	    "cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid 0 0\n");
	put("proc/self/cgroup", "0::/svc\n");
	v2_group("sys/fs/cgroup/svc", "4194304\n", 0, "2097152\n", 0);
	assert_int_equal(hp_cgroup_self(&loc), 0);
	snprintf(want, sizeof(want), "%s/sys/fs/cgroup/svc", root);
	assert_string_equal(loc.dir, want);
	assert_int_equal(hp_cgroup_hugetlb_room(MB2), 1);	/* rsvd.max: 1 page */
	assert_int_equal(hp_cgroup_find(1, &loc), -ENOENT);
	assert_int_equal(hp_cgroup_find(2, &loc), 0);
}

static void test_none(void **state)
{
	struct hp_cgroup_loc loc;

	(void)state;
	/* no hugetlb anywhere: v1 controllers only, no cgroup2 mount */
	put("proc/self/mountinfo", "32 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n");
	put("proc/self/cgroup", "1:cpu:/\n");
	assert_int_equal(hp_cgroup_self(&loc), -ENOENT);
	assert_true(hp_cgroup_hugetlb_room(MB2) == LONG_MAX);
	/* junk does not crash and limits nothing */
	put("proc/self/cgroup", "garbage\n0:\n::\n");
	put("proc/self/mountinfo", "x\n - \n");
	assert_true(hp_cgroup_hugetlb_room(MB2) == LONG_MAX);
	assert_int_equal(hp_cgroup_at("/nonexistent/cg", &loc), -ENOENT);
}

static void test_size_name(void **state)
{
	char b[16];

	(void)state;
	hp_cgroup_size_name(2UL << 20, b, sizeof(b));
	assert_string_equal(b, "2MB");
	hp_cgroup_size_name(1UL << 30, b, sizeof(b));
	assert_string_equal(b, "1GB");
	hp_cgroup_size_name(64UL << 10, b, sizeof(b));
	assert_string_equal(b, "64KB");
	hp_cgroup_size_name(16UL << 30, b, sizeof(b));
	assert_string_equal(b, "16GB");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v2_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mounts_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_none, setup, teardown),
		cmocka_unit_test(test_size_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
