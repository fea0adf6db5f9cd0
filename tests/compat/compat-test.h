/* SPDX-License-Identifier: MIT */
/*
 * compat-test.h - what the libhugetlbfs compat tests share: running a case
 * of the same program again under an environment (HUGETLB_* is read when
 * the library loads, so a case needs its own exec), and a private hugetlbfs
 * mount for the path and descriptor calls.
 */
#ifndef HUGEPOOL_COMPAT_TEST_H
#define HUGEPOOL_COMPAT_TEST_H

#include "../helpers.h"

#include <sys/mount.h>
#include <sys/stat.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Run "<this program> <name>" with the NULL-terminated "VAR=value" list
 * added to the environment; its exit status (T_FAIL if it died). */
static inline int run_case_env(const char *name, const char *const *env)
{
	pid_t pid = fork();
	int st;

	CHECK(pid >= 0);
	if (pid == 0) {
		char *argv[] = { (char *)"compat-case", (char *)name, NULL };

		for (; env && *env; env++)
			putenv((char *)*env);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid);
	if (!WIFEXITED(st)) {
		fprintf(stderr, "case %s: killed by signal %d\n", name, WTERMSIG(st));
		return T_FAIL;
	}
	return WEXITSTATUS(st);
}

#define RUN_CASE(name, ...)						\
	do {								\
		static const char *const env_[] = { __VA_ARGS__, NULL };	\
		int r_ = run_case_env(name, env_);			\
		if (r_ != 0) {						\
			fprintf(stderr, "case %s failed (%d)\n", name, r_);	\
			exit(r_ == T_SKIP ? T_SKIP : T_FAIL);		\
		}							\
	} while (0)

/* A private hugetlbfs mount of page_size in a new directory (root only:
 * skip or fail otherwise) into dir; unmounted and removed by umount_tmp. */
static inline void mount_tmp(size_t page_size, char *dir, size_t len)
{
	char opts[64];

	snprintf(dir, len, "/tmp/hugepool-compat.XXXXXX");
	CHECK(mkdtemp(dir));
	snprintf(opts, sizeof(opts), "pagesize=%zuK,mode=0700", page_size >> 10);
	if (mount("none", dir, "hugetlbfs", 0, opts)) {
		int e = errno;

		rmdir(dir);
		skip_or_fail("cannot mount hugetlbfs (%s): %s", opts, strerror(e));
	}
}

static inline void umount_tmp(const char *dir)
{
	CHECK(umount(dir) == 0);
	CHECK(rmdir(dir) == 0);
}

/* The kernel's default huge page size (Hugepagesize in /proc/meminfo),
 * or skip (fail under HUGEPOOL_TEST_REQUIRE) when there is none. */
static inline size_t need_default_size(void)
{
	long b = proc_kb_field("/proc/meminfo", "Hugepagesize");

	if (b <= 0)
		skip_or_fail("no huge pages in this kernel");
	return (size_t)b;
}

#endif
