/* SPDX-License-Identifier: MIT */
/*
 * kern-cgroup.c - a hugetlb cgroup limit: allocation fails cleanly, never
 * with SIGBUS.
 *
 * The v1 hugetlb controller charges a huge page when it is faulted
 * (hugetlb.<size>.limit_in_bytes: over the limit the fault is a SIGBUS for
 * a program that touches the page) and, separately, its reservation at
 * mmap time (hugetlb.<size>.rsvd.limit_in_bytes: over it mmap fails with
 * ENOMEM). The library populates with MADV_POPULATE_WRITE, so a charge
 * refused at fault time is an error there, not a signal later.
 *
 * The controller is mounted (mount -t cgroup -o hugetlb none DIR) unless
 * it already is; a child group gets a limit, a forked child is moved into
 * it before it allocates anything, and in it: malloc, calloc, a region's
 * reserve and populate over the limit give NULL/ENOMEM or -ENOMEM, what
 * fits works, freed pages are reused without a new charge; a second group
 * limits the reservations instead; a third allows no 1 GiB page at all.
 * failcnt shows the kernel refused charges. Everything is removed at the
 * end (the groups, and the mount if this test made it). Needs root.
 */
#include "kernel.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define MB2 (2UL << 20)

static char root[256];		/* the hugetlb hierarchy's mount point */
static bool mounted_here;
static char grp[300];

static bool find_mount(void)
{
	char line[1024], dev[256], dir[256], type[64], opts[512];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s %63s %511s", dev, dir, type, opts) != 4)
			continue;
		if (!strcmp(type, "cgroup") && (strstr(opts, ",hugetlb") || !strncmp(opts, "hugetlb", 7))) {
			snprintf(root, sizeof(root), "%s", dir);
			found = true;
		}
	}
	fclose(f);
	return found;
}

static void cg_write(const char *file, const char *val)
{
	char path[512];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", grp, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		fprintf(stderr, "write %s to %s: %s\n", val, path, strerror(errno));
		exit(T_FAIL);
	}
	close(fd);
}

static long cg_read(const char *file)
{
	char path[512];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", grp, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* the hugetlb line of /proc/cgroups: hierarchy id 0 is cgroup v2 */
static bool hugetlb_v1_bound(void)
{
	char line[256], name[64];
	int hier = 0;
	FILE *f = fopen("/proc/cgroups", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %d", name, &hier) == 2 && !strcmp(name, "hugetlb"))
			break;
	fclose(f);
	return hier != 0;
}

static void cleanup(void)
{
	if (grp[0]) {
		if (rmdir(grp) && errno != ENOENT)
			fprintf(stderr, "rmdir %s: %s\n", grp, strerror(errno));
		grp[0] = '\0';
	}
	if (mounted_here) {
		int tries;

		/* A v1 hierarchy unmounted while its removed groups are still
		 * dying is not destroyed: it keeps the hugetlb controller away
		 * from cgroup v2 with no mount to show for it. Mounted again
		 * and unmounted once they are gone, it is (kern-cgroup2 needs
		 * the controller on v2). */
		for (tries = 0; tries < 10; tries++) {
			int wait;

			if (umount(root)) {
				fprintf(stderr, "umount %s: %s\n", root, strerror(errno));
				break;
			}
			/* a hierarchy being destroyed lets go after a moment */
			for (wait = 0; wait < 20 && hugetlb_v1_bound(); wait++)
				usleep(100 * 1000);
			if (!hugetlb_v1_bound() || mount("none", root, "cgroup", 0, "hugetlb"))
				break;
		}
		if (hugetlb_v1_bound())
			fprintf(stderr, "kern-cgroup: the hugetlb controller is still bound to "
				"cgroup v1\n");
		rmdir(root);
		mounted_here = false;
	}
}

static void setup_mount(void)
{
	if (geteuid() != 0)
		skip_or_fail("the hugetlb cgroup test needs root");
	if (find_mount())
		return;
	snprintf(root, sizeof(root), "/tmp/hugepool-cgroup.XXXXXX");
	CHECK(mkdtemp(root));
	if (mount("none", root, "cgroup", 0, "hugetlb")) {
		int e = errno;

		rmdir(root);
		skip_or_fail("mount -t cgroup -o hugetlb none %s: %s", root, strerror(e));
	}
	mounted_here = true;
}

/* Make a group with limits; "" leaves a limit as it is (unlimited). */
static void make_group(const char *name, const char *limit2m, const char *rsvd2m,
		       const char *limit1g)
{
	snprintf(grp, sizeof(grp), "%s/hugepool-test-%d-%s", root, (int)getpid(), name);
	if (mkdir(grp, 0755)) {
		fprintf(stderr, "mkdir %s: %s\n", grp, strerror(errno));
		exit(T_FAIL);
	}
	if (*limit2m)
		cg_write("hugetlb.2MB.limit_in_bytes", limit2m);
	if (*rsvd2m)
		cg_write("hugetlb.2MB.rsvd.limit_in_bytes", rsvd2m);
	if (*limit1g)
		cg_write("hugetlb.1GB.limit_in_bytes", limit1g);
}

/*
 * Fork, move the child into the group before it does anything, run fn
 * there. A SIGBUS kills the child (default disposition): status 135.
 */
static int run_in_group(int (*fn)(void *))
{
	int go[2], status;
	char pid[32], c = 0;
	pid_t p;

	CHECK(pipe(go) == 0);
	fflush(NULL);
	p = fork();
	CHECK(p >= 0);
	if (p == 0) {
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		alarm(120);
		close(go[1]);
		if (read(go[0], &c, 1) != 1)
			_exit(T_FAIL);
		_exit(fn(NULL));
	}
	close(go[0]);
	snprintf(pid, sizeof(pid), "%d", (int)p);
	cg_write("cgroup.procs", pid);
	CHECK(write(go[1], &c, 1) == 1);
	close(go[1]);
	CHECK(waitpid(p, &status, 0) == p);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* limit_in_bytes = 3 pages: charged at fault time */
static int fault_limit(void *arg)
{
	struct hugepool *pool;
	struct hugepool_region *r;
	void *a, *b, *p;
	long ret;

	(void)arg;
	hp_verbose = 0;
	pool = kpool(MB2, 0, 0);
	a = hugepool_malloc(pool, 2 * MB2);		/* 2 pages charged */
	CHECK(a);
	memset(a, 1, 2 * MB2);
	errno = 0;
	CHECK(hugepool_malloc(pool, 2 * MB2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(pool, 2, MB2 + 4096) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 2 * MB2, 0) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);

	b = hugepool_malloc(pool, 100 * 1024);		/* the third page */
	CHECK(b);
	memset(b, 2, 100 * 1024);
	r = hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	ret = hugepool_region_populate(r, 0, 2 * MB2);
	CHECK_EQ(ret, -ENOMEM);
	CHECK_EQ(hp_region_populated(r, 0, 2), 0);
	CHECK_POOL(pool);

	/* pages given back to the pool are reused without a new charge */
	hugepool_free(a);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * MB2), 2);
	memset(hugepool_region_addr(r), 3, 2 * MB2);
	p = hugepool_realloc(pool, b, 3 * MB2);	/* over the limit again */
	CHECK(p == NULL && errno == ENOMEM);
	CHECK(((char *)b)[100 * 1024 - 1] == 2);	/* untouched */
	CHECK_POOL(pool);
	check_held(MB2);
	CHECK(hugepool_region_free(r) == 0);
	hugepool_free(b);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* rsvd.limit_in_bytes = 2 pages: charged when the mapping is made */
static int rsvd_limit(void *arg)
{
	struct hugepool *pool;
	void *a, *b;

	(void)arg;
	hp_verbose = 0;
	pool = kpool(MB2, 0, 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, 3 * MB2) == NULL && errno == ENOMEM);
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 1, 2 * MB2);
	errno = 0;
	CHECK(hugepool_malloc(pool, MB2) == NULL && errno == ENOMEM);
	CHECK_POOL(pool);
	hugepool_free(a);
	b = hugepool_malloc(pool, MB2);			/* from the free list */
	CHECK(b);
	hugepool_free(b);
	CHECK_POOL(pool);
	check_held(MB2);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* no 1 GiB page at all */
static int gigantic_none(void *arg)
{
	struct hugepool *pool;

	(void)arg;
	hp_verbose = 0;
	pool = kpool(1UL << 30, 0, 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, 1) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 1UL << 30, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(pool);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2), kg = kernel_baseline(1UL << 30);
	long fail_fault, fail_rsvd, fail_1g;
	bool had_mount;
	int st;

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 8);
	need_free_pages(1UL << 30, 1);
	setup_mount();
	atexit(cleanup);

	make_group("fault", "6291456", "", "");
	st = run_in_group(fault_limit);
	fail_fault = cg_read("hugetlb.2MB.failcnt");
	if (rmdir(grp))
		fprintf(stderr, "rmdir %s: %s\n", grp, strerror(errno));
	grp[0] = '\0';
	child_ok("hugetlb.2MB.limit_in_bytes", st);
	CHECK(fail_fault > 0);		/* the kernel did refuse charges */
	printf("kern-cgroup: hugetlb.2MB.limit_in_bytes=6M: malloc, calloc, reserve, populate and realloc "
	       "over it failed with ENOMEM, no SIGBUS (failcnt %ld)\n", fail_fault);

	make_group("rsvd", "", "4194304", "");
	st = run_in_group(rsvd_limit);
	fail_rsvd = cg_read("hugetlb.2MB.rsvd.failcnt");
	if (rmdir(grp))
		fprintf(stderr, "rmdir %s: %s\n", grp, strerror(errno));
	grp[0] = '\0';
	child_ok("hugetlb.2MB.rsvd.limit_in_bytes", st);
	CHECK(fail_rsvd > 0);
	printf("kern-cgroup: hugetlb.2MB.rsvd.limit_in_bytes=4M: malloc over it failed with ENOMEM "
	       "(failcnt %ld)\n", fail_rsvd);

	make_group("1g", "", "", "0");
	st = run_in_group(gigantic_none);
	fail_1g = cg_read("hugetlb.1GB.failcnt");
	if (rmdir(grp))
		fprintf(stderr, "rmdir %s: %s\n", grp, strerror(errno));
	grp[0] = '\0';
	child_ok("hugetlb.1GB.limit_in_bytes", st);
	CHECK(fail_1g > 0);
	printf("kern-cgroup: hugetlb.1GB.limit_in_bytes=0: 1 GiB malloc and reserve failed with ENOMEM "
	       "(failcnt %ld)\n", fail_1g);
	had_mount = !mounted_here;
	cleanup();
	CHECK(kernel_back_at(&kb, "kern-cgroup 2M"));
	CHECK(kernel_back_at(&kg, "kern-cgroup 1G"));
	printf("kern-cgroup: PASS (hugetlb.2MB.limit_in_bytes, hugetlb.2MB.rsvd.limit_in_bytes and "
	       "hugetlb.1GB.limit_in_bytes: clean ENOMEM, never SIGBUS; failcnt %ld/%ld/%ld; "
	       "test groups%s removed)\n", fail_fault, fail_rsvd, fail_1g,
	       had_mount ? "" : " and the hugetlb mount");
	return T_PASS;
}
