/* SPDX-License-Identifier: MIT */
/*
 * Description: libhugetlbfs's HUGETLB_* environment mapped onto hp_opt
 * (lib/compat-env.c, through hp_options_parse as the library runs it):
 * MORECORE to the whole heap and its page size, SHRINK to decay_ms 0,
 * ELFMAP to the segment bits, SHM, DEFAULT_PAGE_SIZE, VERBOSE's 0..99 to
 * 0..4, PATH; HUGEPOOL_* wins over HUGETLB_*; RESTRICT_EXE; bad values
 * and variables without meaning leave the options alone. Page sizes come
 * from a fake sysfs tree with 2M (the default) and 1G.
 */
#include "unit.h"

#include <string.h>

#define MAX_VARS 16
static const char *names[MAX_VARS], *values[MAX_VARS];
static int nvars;
static char root[256];

static const char *table_get(const char *name)
{
	int i;

	for (i = 0; i < nvars; i++)
		if (!strcmp(names[i], name))
			return values[i];
	return NULL;
}

static void env(const char *name, const char *value)
{
	assert_true(nvars < MAX_VARS);
	names[nvars] = name;
	values[nvars++] = value;
}

/* the options after the environment set with env() */
static struct hp_options parse(void)
{
	struct hp_options o;

	hp_options_defaults(&o);
	hp_options_parse(&o, table_get);
	return o;
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/hugepool-compat-env.XXXXXX");
	assert_non_null(mkdtemp(root));
	fake_put(root, "sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "0\n");
	fake_put(root, "sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages", "0\n");
	fake_put(root, "proc/meminfo", "Hugepagesize:       2048 kB\n");
	hp_sysfs_root = root;
	hp_hstate_reset();
	hp_verbose = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fake_root_remove(root);
	hp_hstate_reset();
	return 0;
}

static int reset(void **state)
{
	(void)state;
	nvars = 0;
	return 0;
}

static void test_morecore(void **state)
{
	struct hp_options d, o;

	(void)state;
	hp_options_defaults(&d);
	o = parse();			/* nothing set: the defaults */
	assert_int_equal(o.threshold, d.threshold);
	assert_int_equal(o.malloc_mode, -1);
	env("HUGETLB_MORECORE", "yes");
	o = parse();
	assert_int_equal(o.threshold, 1);	/* every malloc, as HUGEPOOL_THRESHOLD=0 */
	assert_int_equal(o.malloc_mode, 1);	/* even where linked, not preloaded */
	assert_int_equal(o.page_size, 0);	/* the kernel's default */
	nvars = 0;
	env("HUGETLB_MORECORE", "1G");
	env("HUGETLB_DEFAULT_PAGE_SIZE", "2M");	/* MORECORE's size is the heap's */
	o = parse();
	assert_int_equal(o.threshold, 1);
	assert_int_equal(o.page_size, 1UL << 30);
	nvars = 0;
	env("HUGETLB_MORECORE", "no");
	o = parse();
	assert_int_equal(o.threshold, d.threshold);
	assert_int_equal(o.malloc_mode, -1);
	nvars = 0;
	env("HUGETLB_MORECORE", "64K");		/* not a huge page size here */
	o = parse();
	assert_int_equal(o.threshold, d.threshold);
	assert_int_equal(o.page_size, 0);
	nvars = 0;
	env("HUGETLB_MORECORE", "thp");		/* one line, nothing else */
	o = parse();
	assert_int_equal(o.malloc_mode, -1);
}

static void test_shrink(void **state)
{
	struct hp_options o;

	(void)state;
	env("HUGETLB_MORECORE", "yes");
	env("HUGETLB_MORECORE_SHRINK", "yes");
	o = parse();
	assert_int_equal(o.decay_ms, 0);	/* freed heap pages go back at once */
	nvars = 0;
	env("HUGETLB_MORECORE_SHRINK", "no");
	o = parse();
	assert_int_equal(o.decay_ms, 1000);
	nvars = 0;
	env("HUGETLB_MORECORE_SHRINK", "yes");
	env("HUGEPOOL_DECAY_MS", "250");	/* HUGEPOOL_* wins */
	o = parse();
	assert_int_equal(o.decay_ms, 250);
}

static void test_elfmap_shm(void **state)
{
	static const struct {
		const char *v;
		unsigned int seg;
	} cases[] = {
		{ "R", HP_SEG_TEXT }, { "W", HP_SEG_DATA | HP_SEG_BSS },
		{ "RW", HP_SEG_TEXT | HP_SEG_DATA | HP_SEG_BSS }, { "no", 0 }, { "X", 0 },
	};
	struct hp_options o;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		nvars = 0;
		env("HUGETLB_ELFMAP", cases[i].v);
		o = parse();
		assert_int_equal(o.segments, cases[i].seg);
	}
	env("HUGEPOOL_SEGMENTS", "text");	/* set: HUGETLB_ELFMAP is not used */
	o = parse();
	assert_int_equal(o.segments, 0);
	nvars = 0;
	env("HUGETLB_SHM", "yes");
	o = parse();
	assert_true(o.shm);
	nvars = 0;
	env("HUGETLB_SHM", "maybe");
	o = parse();
	assert_false(o.shm);
	nvars = 0;
	env("HUGETLB_SHM", "yes");
	env("HUGEPOOL_SHM", "0");
	o = parse();
	assert_false(o.shm);
}

static void test_page_size_verbose_path(void **state)
{
	struct hp_options o;

	(void)state;
	env("HUGETLB_DEFAULT_PAGE_SIZE", "1G");
	env("HUGETLB_PATH", "/mnt/huge");
	o = parse();
	assert_int_equal(o.page_size, 1UL << 30);
	assert_string_equal(o.hugetlb_path, "/mnt/huge");
	env("HUGEPOOL_PAGE_SIZE", "2M");	/* HUGEPOOL_* wins */
	o = parse();
	assert_int_equal(o.page_size, 2UL << 20);
	nvars = 0;
	env("HUGETLB_PATH", "relative");
	o = parse();
	assert_null(o.hugetlb_path);

	static const struct { const char *v; int level; } verb[] = {
		{ "0", 0 }, { "1", 0 }, { "2", 1 }, { "3", 2 }, { "4", 3 }, { "5", 4 }, { "99", 4 },
		{ "100", 1 }, { "x", 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(verb); i++) {
		nvars = 0;
		env("HUGETLB_VERBOSE", verb[i].v);
		o = parse();
		assert_int_equal(o.verbose, verb[i].level);
	}
	env("HUGEPOOL_VERBOSE", "2");
	o = parse();
	assert_int_equal(o.verbose, 2);
	hp_verbose = 0;
}

static void test_meaningless(void **state)
{
	static const char *const names_[] = {
		"HUGETLB_NO_PREFAULT", "HUGETLB_NO_RESERVE", "HUGETLB_FORCE_ELFMAP",
		"HUGETLB_MORECORE_HEAPBASE", "HUGETLB_SHARE", "HUGETLB_SHARE_PATH",
		"HUGETLB_MINIMAL_COPY", "HUGETLB_FEATURES",
	};
	struct hp_options d, o;
	size_t i;

	(void)state;
	hp_options_defaults(&d);
	for (i = 0; i < ARRAY_SIZE(names_); i++)
		env(names_[i], "yes");
	o = parse();
	assert_int_equal(o.threshold, d.threshold);
	assert_int_equal(o.page_size, d.page_size);
	assert_int_equal(o.decay_ms, d.decay_ms);
	assert_int_equal(o.malloc_mode, d.malloc_mode);
	assert_int_equal(o.segments, d.segments);
	assert_int_equal(o.verbose, d.verbose);
	assert_false(o.shm);
	assert_null(o.hugetlb_path);
}

static void test_restrict_exe(void **state)
{
	struct hp_options o;

	(void)state;
	assert_true(hp_compat_exe_listed("a:b:c", "b"));
	assert_true(hp_compat_exe_listed("prog", "prog"));
	assert_false(hp_compat_exe_listed("a:b", "ab"));
	assert_false(hp_compat_exe_listed("prog2:x", "prog"));
	assert_false(hp_compat_exe_listed("a::b", ""));
	env("HUGETLB_SHM", "yes");
	env("HUGETLB_RESTRICT_EXE", "not-this-one:nor-this");
	o = parse();			/* this program is test-compat-env */
	assert_false(o.shm);
	nvars = 0;
	env("HUGETLB_SHM", "yes");
	env("HUGETLB_RESTRICT_EXE", "other:test-compat-env");
	o = parse();
	assert_true(o.shm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_morecore, reset),
		cmocka_unit_test_setup(test_shrink, reset),
		cmocka_unit_test_setup(test_elfmap_shm, reset),
		cmocka_unit_test_setup(test_page_size_verbose_path, reset),
		cmocka_unit_test_setup(test_meaningless, reset),
		cmocka_unit_test_setup(test_restrict_exe, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
