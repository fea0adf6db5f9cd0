/* SPDX-License-Identifier: MIT */
/*
 * Description: the support library that tests and benchmarks share
 * (tests/support): its readers parse what the kernel writes (a number, a
 * "Field: N kB" line, smaps, maps), run_in_child reports a signal, the
 * block pattern catches a changed word, all_zero a byte in the tail, the
 * median, and the small-allocation workload runs and frees what it made.
 * A wrong reader would make every test that leans on it pass or fail for
 * the wrong reason.
 */
#include "unit.h"
#include "support.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static char dir[] = "/tmp/hugepool-support.XXXXXX";

static const char *put(const char *name, const char *text)
{
	static char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return path;
}

static void test_file_number(void **state)
{
	(void)state;
	assert_int_equal(file_number(put("n", "512\n")), 512);
	assert_int_equal(file_number(put("neg", "-1\n")), -1);
	assert_int_equal(file_number(put("junk", "none\n")), -1);
	assert_int_equal(file_number_at("%s/%s", dir, "n"), 512);
	assert_int_equal(file_number_at("%s/missing", dir), -1);
}

static void test_kb_fields(void **state)
{
	const char *p;

	(void)state;
	p = put("status", "Name:\tx\nVmPin:\t       0 kB\nHugetlbPages:\t    4096 kB\nThreads:\t1\n");
	assert_int_equal(proc_kb_field(p, "HugetlbPages"), 4096L * 1024);
	assert_int_equal(proc_kb_field(p, "VmPin"), 0);
	assert_int_equal(proc_kb_field(p, "Hugetlb"), -1);	/* a prefix is not the field */
	assert_int_equal(proc_kb_field(p, "RssAnon"), -1);
	/* this process: it maps no huge page */
	assert_int_equal(self_hugetlb_bytes(), 0);
}

static void test_maps(void **state)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);
	int before = count_maps();
	char *m;

	(void)state;
	assert_true(before > 0);
	m = mmap(NULL, 3 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(m != MAP_FAILED);
	assert_int_equal(mprotect(m + pg, pg, PROT_READ), 0);	/* three mappings now */
	assert_int_equal(smaps_page_size(m + pg), (long)pg);
	assert_true(count_maps() >= before + 1);
	assert_int_equal(munmap(m, 3 * pg), 0);
	assert_int_equal(smaps_page_size(m), -1);			/* nothing there */
}

static int exit_7(void *arg)
{
	(void)arg;
	return 7;
}

static int usr1(void *arg)
{
	(void)arg;
	raise(SIGUSR1);	/* a signal no sanitizer runtime handles */
	return 0;
}

static void test_child(void **state)
{
	(void)state;
	assert_int_equal(run_in_child(exit_7, NULL, 10), 7);
	assert_int_equal(run_in_child(usr1, NULL, 10), 128 + SIGUSR1);
}

static void test_pattern(void **state)
{
	uint64_t w[64];
	unsigned char z[21] = { 0 };

	(void)state;
	pat_fill(w, sizeof(w), 42, 1);
	assert_true(pat_ok(w, sizeof(w), 42, 1));
	assert_false(pat_ok(w, sizeof(w), 43, 1));	/* another block's */
	w[63] ^= 1;
	assert_false(pat_ok(w, sizeof(w), 42, 1));
	assert_true(pat_ok(w, sizeof(w), 42, 2));	/* stride 2 skips word 63 */
	assert_true(pat_word(1, 0) != pat_word(1, 1));
	assert_true(all_zero(z, sizeof(z)));
	z[20] = 1;					/* the tail, past the last word */
	assert_false(all_zero(z, sizeof(z)));
	assert_true(all_zero(z, 16));
}

static void test_median(void **state)
{
	double odd[] = { 3, 1, 2 }, even[] = { 4, 1, 3, 2 };

	(void)state;
	assert_true(median(odd, 3) == 2);
	assert_true(median(even, 4) == 2.5);
}

static void test_small_workload(void **state)
{
	struct small_set set;
	uint64_t seed = 1, seed2 = 1, sum;
	unsigned int i;

	(void)state;
	small_set_fill(&set, 64, &seed);
	for (i = 0; i < set.n; i++)
		assert_true(set.len[i] >= 16 && set.len[i] <= 4096 && set.slot[i]);
	sum = small_churn(&set, 10000, &seed);
	assert_true(seed != 1);
	for (i = 0; i < set.n; i++)
		assert_true(set.len[i] >= 16 && set.len[i] <= 4096 && set.slot[i]);
	small_set_free(&set);
	assert_null(set.slot);
	(void)sum;	/* reads a realloc'd tail too: not the same twice */
	/* the same seed, the same sizes and operations */
	small_set_fill(&set, 64, &seed2);
	small_churn(&set, 10000, &seed2);
	assert_true(seed2 == seed);
	small_set_free(&set);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_file_number),
		cmocka_unit_test(test_kb_fields),
		cmocka_unit_test(test_maps),
		cmocka_unit_test(test_child),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_median),
		cmocka_unit_test(test_small_workload),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
