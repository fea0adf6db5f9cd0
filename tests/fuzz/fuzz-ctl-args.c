/* SPDX-License-Identifier: MIT */
/*
 * fuzz-ctl-args.c - libFuzzer harness for hugepool-ctl's command line: the
 * global options, the subcommand table and each subcommand's getopt_long
 * parsing and value parsers (sizes, COUNT, nodes, mount options, owners,
 * modes, run's environment options), run for real against a fake machine.
 *
 * The tool's sources are built into the harness with main renamed
 * (-Dmain=hp_ctl_main, see meson.build). Everything it reads and writes
 * below /sys and /proc goes to a fake tree (HUGEPOOL_CTL_ROOT, made here and
 * reset before each input), and its other effects are intercepted at link
 * time (-Wl,--wrap): mount/umount2/mkdir/unlink do nothing, execvp fails,
 * setenv is not kept, sleep advances a fake clock. `apply` is left to
 * fuzz-ctl-config: cmd_apply keeps its parse in a function-static table,
 * so it runs once per process.
 *
 * Input: arguments separated by NUL or newline (at most 24). Checks: no
 * crash, no leak, an exit status of 0, 1 or 2, and the same status for
 * the same arguments twice in a row (nothing leaks from one run into the
 * next: getopt state, static buffers, the fake tree).
 */
#include "internal.h"

#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FUZZ_NAME "fuzz-ctl-args"
#include "fuzz.h"

int hp_ctl_main(int argc, char **argv);

static char root[256];
static long fake_clock;

/* ------------------------------------------------------------------------
 * the tool's effects on the machine, intercepted
 * ------------------------------------------------------------------------ */
int __wrap_mount(const char *src, const char *dir, const char *type, unsigned long flags,
		 const void *data);
int __wrap_umount2(const char *dir, int flags);
int __wrap_mkdir(const char *path, mode_t mode);
int __wrap_unlink(const char *path);
int __wrap_execvp(const char *file, char *const argv[]);
int __wrap_setenv(const char *name, const char *value, int overwrite);
unsigned int __wrap_sleep(unsigned int s);
int __wrap_clock_gettime(clockid_t clk, struct timespec *ts);
int __real_clock_gettime(clockid_t clk, struct timespec *ts);
int __real_setenv(const char *name, const char *value, int overwrite);
int __real_mkdir(const char *path, mode_t mode);

int __wrap_mount(const char *src, const char *dir, const char *type, unsigned long flags,
		 const void *data)
{
	(void)src; (void)dir; (void)type; (void)flags; (void)data;
	return 0;
}

int __wrap_umount2(const char *dir, int flags)
{
	(void)dir; (void)flags;
	errno = EINVAL;		/* "not mounted" */
	return -1;
}

int __wrap_mkdir(const char *path, mode_t mode)
{
	(void)path; (void)mode;
	return 0;
}

int __wrap_unlink(const char *path)
{
	(void)path;
	return 0;
}

int __wrap_execvp(const char *file, char *const argv[])
{
	(void)file; (void)argv;
	errno = ENOENT;
	return -1;
}

int __wrap_setenv(const char *name, const char *value, int overwrite)
{
	if (!name || !*name || strchr(name, '=') || !value) {
		errno = EINVAL;
		return -1;
	}
	(void)overwrite;
	return 0;
}

unsigned int __wrap_sleep(unsigned int s)
{
	fake_clock += s;	/* `set --retry` waits on the clock */
	return 0;
}

int __wrap_clock_gettime(clockid_t clk, struct timespec *ts)
{
	int ret = __real_clock_gettime(clk, ts);

	if (!ret && clk == CLOCK_MONOTONIC)
		ts->tv_sec += fake_clock;
	return ret;
}

/* ------------------------------------------------------------------------
 * the fake machine
 * ------------------------------------------------------------------------ */
static void put(const char *rel, const char *text)
{
	char path[512], dir[512], *slash;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", path);
	for (slash = strchr(dir + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
		*slash = '\0';
		__real_mkdir(dir, 0755);
		*slash = '/';
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		fail("cannot write %s", path);
	close(fd);
}

static void reset_tree(void)
{
	static const char *const sizes[] = { "2048", "1048576" };
	static const char *const files[] = { "nr_hugepages", "free_hugepages", "resv_hugepages",
					     "surplus_hugepages", "nr_overcommit_hugepages" };
	char rel[256];
	size_t s, f;

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		for (f = 0; f < ARRAY_SIZE(files); f++) {
			snprintf(rel, sizeof(rel), "sys/kernel/mm/hugepages/hugepages-%skB/%s",
				 sizes[s], files[f]);
			put(rel, f == 0 || f == 1 ? "8\n" : "0\n");
			if (f == 2 || f == 4)
				continue;	/* no per-node resv/overcommit */
			snprintf(rel, sizeof(rel),
				 "sys/devices/system/node/node0/hugepages/hugepages-%skB/%s",
				 sizes[s], files[f]);
			put(rel, f == 0 || f == 1 ? "8\n" : "0\n");
		}
	}
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st; (void)type; (void)ftw;
	return remove(path) && errno != ENOENT;
}

/* the fake tree goes when libFuzzer exits */
static void remove_tree(void)
{
	nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char shm[300];
	int fd;

	(void)argc;
	(void)argv;
	/* on tmpfs: rewriting the tree before every input on a disk file
	 * system (ext4 flushes a file truncated and rewritten) was most of
	 * the time */
	snprintf(root, sizeof(root), "/dev/shm/fuzz-ctl-args.XXXXXX");
	if (!mkdtemp(root))
		fail("mkdtemp: %s", strerror(errno));
	atexit(remove_tree);
	reset_tree();
	put("proc/meminfo", "MemTotal: 8000000 kB\nHugepagesize:       2048 kB\n");
	put("proc/mounts", "proc /proc proc rw 0 0\n"
	    "none /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0\n"
	    "cgroup /sys/fs/cgroup/hugetlb cgroup rw,relatime,hugetlb 0 0\n");
	put("proc/cmdline", "BOOT_IMAGE=/vmlinuz hugepagesz=1G hugepages=2\n");
	put("proc/buddyinfo", "Node 0, zone   Normal   5 4 3 2 1 0 0 0 0 0 100\n");
	put("proc/self/cgroup", "3:hugetlb:/app\n");
	put("proc/sys/vm/compact_memory", "");
	put("sys/kernel/mm/transparent_hugepage/enabled", "always [madvise] never\n");
	put("sys/fs/cgroup/hugetlb/app/hugetlb.2MB.limit_in_bytes", "4194304\n");
	__real_setenv("HUGEPOOL_CTL_ROOT", root, 1);
	snprintf(shm, sizeof(shm), "%s/shm", root);
	__real_mkdir(shm, 0755);
	__real_setenv("HUGEPOOL_PUBLISH_DIR", shm, 1);
	/* `apply -` and friends must not wait for a terminal */
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * one input
 * ------------------------------------------------------------------------ */
#define MAX_ARGS 24

static int run(char *buf, size_t len)
{
	char *argv[MAX_ARGS + 2];
	int argc = 0, ret;
	size_t i, start = 0;

	argv[argc++] = "hugepool-ctl";
	for (i = 0; i <= len && argc <= MAX_ARGS; i++) {
		if (i == len || buf[i] == '\0' || buf[i] == '\n') {
			if (i < len)
				buf[i] = '\0';
			argv[argc++] = buf + start;
			start = i + 1;
		}
	}
	argv[argc] = NULL;
	/* apply: see the top of the file */
	for (i = 1; i < (size_t)argc; i++)
		if (!strcmp(argv[i], "apply"))
			return -1;
	reset_tree();
	optind = 0;		/* glibc: reinitialise getopt */
	opterr = 0;
	fflush(NULL);
	ret = hp_ctl_main(argc, argv);
	fflush(NULL);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char a[4096], b[4096];
	int r1, r2;

	if (size >= sizeof(a))
		return 0;
	memcpy(a, data, size);
	a[size] = '\0';
	memcpy(b, data, size);
	b[size] = '\0';
	r1 = run(a, size);
	if (r1 < 0)
		return 0;
	if (r1 != 0 && r1 != 1 && r1 != 2)
		fail("exit status %d", r1);
	r2 = run(b, size);
	if (r2 != r1)
		fail("the same arguments gave status %d, then %d", r1, r2);
	return 0;
}
