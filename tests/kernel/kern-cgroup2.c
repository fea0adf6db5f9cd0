/* SPDX-License-Identifier: MIT */
/*
 * kern-cgroup2.c - a cgroup v2 hugetlb limit: allocation fails cleanly with
 * ENOMEM, never with SIGBUS; the group's counters match what the process
 * holds; lib/cgroup.c reads the same limit and room the kernel enforces.
 *
 * cgroup v2 charges a faulted page to hugetlb.<size>.current against
 * hugetlb.<size>.max (over it the fault is refused: SIGBUS for a program
 * that touches the page, an error from MADV_POPULATE_WRITE for the
 * library) and the reservation made at mmap to .rsvd.current against
 * .rsvd.max (mmap fails with ENOMEM). Refusals of .max count in
 * hugetlb.<size>.events as "max N".
 *
 * The hugetlb controller is on one hierarchy at a time. This test uses the
 * cgroup2 mount (or mounts a private one when there is none), and if the
 * controller is bound to a v1 hierarchy (kern-cgroup mounts one; it is
 * gone when that test unmounts it, after a moment) it unmounts that v1
 * hierarchy first and mounts it back at the end. It enables hugetlb in the
 * v2 root's cgroup.subtree_control only if it was not, and disables it
 * again afterwards, so kern-cgroup can bind it to v1 in the same CI run.
 * Needs root.
 */
#include "kernel.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define MB2 (2UL << 20)

static char v2root[256];	/* the cgroup2 mount */
static bool v2_mounted_here;
static bool enabled_here;	/* we wrote +hugetlb to subtree_control */
static char v1dir[256];		/* a v1 hugetlb mount we took away */
static char grp[400];

/* first mount of a type (cgroup: with the hugetlb option) in /proc/mounts */
static bool find_mount(const char *want, char *out, size_t len)
{
	char line[1024], dev[256], dir[256], type[64], opts[512];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s %63s %511s", dev, dir, type, opts) != 4 ||
		    strcmp(type, want))
			continue;
		if (!strcmp(want, "cgroup") && !strstr(opts, ",hugetlb") &&
		    strncmp(opts, "hugetlb", 7))
			continue;
		snprintf(out, len, "%s", dir);
		found = true;
	}
	fclose(f);
	return found;
}

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		e = -errno;
	close(fd);
	return e;
}

static bool file_has_word(const char *path, const char *word)
{
	char buf[512], *tok, *save;
	FILE *f = fopen(path, "r");
	bool found = false;

	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f))
		for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
			found |= !strcmp(tok, word);
	fclose(f);
	return found;
}

static void cg_write(const char *file, const char *val)
{
	char path[600];
	int e;

	snprintf(path, sizeof(path), "%s/%s", grp, file);
	e = write_file(path, val);
	if (e) {
		fprintf(stderr, "write %s to %s: %s\n", val, path, strerror(-e));
		exit(T_FAIL);
	}
}

static long cg_read(const char *dir, const char *file)
{
	char path[600];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* "max N" of hugetlb.<size>.events */
static long cg_events_max(const char *file)
{
	char path[600], line[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", grp, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "max %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static bool cycle_v1(void);

static void remove_group(void)
{
	if (grp[0]) {
		int tries;

		/* the child's exit frees its pages; rmdir is EBUSY until the
		 * kernel has finished with the dead task */
		for (tries = 0; tries < 50 && rmdir(grp) && errno == EBUSY; tries++)
			usleep(100 * 1000);
		grp[0] = '\0';
	}
}

static void cleanup(void)
{
	char path[300];

	remove_group();
	if (enabled_here) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", v2root);
		if (write_file(path, "-hugetlb"))
			fprintf(stderr, "cannot disable hugetlb in %s\n", path);
		enabled_here = false;
	}
	if (v2_mounted_here) {
		if (umount(v2root))
			fprintf(stderr, "umount %s: %s\n", v2root, strerror(errno));
		else
			rmdir(v2root);
		v2_mounted_here = false;
	}
	if (!v1dir[0]) {
		int tries;

		/* leave the controller free for v1 (kern-cgroup) as it was:
		 * v2 lets go of it once its dying groups are released */
		for (tries = 0; tries < 50 && !cycle_v1(); tries++)
			usleep(100 * 1000);
		if (tries == 50)
			fprintf(stderr, "the hugetlb controller did not become free for cgroup v1\n");
	}
	if (v1dir[0]) {
		int tries;

		/* hand the controller back to v1 as it was: the v2 side lets
		 * go of it only once its groups are gone */
		for (tries = 0; tries < 50; tries++) {
			if (!mount("cgroup", v1dir, "cgroup", 0, "hugetlb"))
				break;
			usleep(100 * 1000);
		}
		if (tries == 50)
			fprintf(stderr, "could not mount the v1 hugetlb hierarchy back on %s: %s\n",
				v1dir, strerror(errno));
		v1dir[0] = '\0';
	}
}

/*
 * Mount the hugetlb v1 hierarchy on a private directory and unmount it:
 * - a v1 hierarchy unmounted while it still had (dying) child groups is
 *   not destroyed and keeps the controller away from v2 with no mount to
 *   show for it (kern-cgroup leaves one behind that way); mounted again
 *   and unmounted with no children, it is destroyed;
 * - after this test, it shows that v1 can have the controller back.
 * true if the mount worked and had no child groups.
 */
static bool cycle_v1(void)
{
	char d[64], cmd[128];
	bool ok;

	snprintf(d, sizeof(d), "/tmp/hugepool-cgv1.XXXXXX");
	if (!mkdtemp(d))
		return false;
	if (mount("none", d, "cgroup", 0, "hugetlb")) {
		rmdir(d);
		return false;
	}
	snprintf(cmd, sizeof(cmd), "test -z \"$(find %s -mindepth 1 -type d)\"", d);
	ok = system(cmd) == 0;
	if (umount(d))
		ok = false;
	rmdir(d);
	return ok;
}

static void setup(void)
{
	char path[300];
	int tries;

	if (geteuid() != 0)
		skip_or_fail("the cgroup v2 hugetlb test needs root");
	if (!find_mount("cgroup2", v2root, sizeof(v2root))) {
		snprintf(v2root, sizeof(v2root), "/tmp/hugepool-cgroup2.XXXXXX");
		CHECK(mkdtemp(v2root));
		if (mount("none", v2root, "cgroup2", 0, NULL)) {
			int e = errno;

			rmdir(v2root);
			skip_or_fail("mount -t cgroup2 none %s: %s", v2root, strerror(e));
		}
		v2_mounted_here = true;
	}
	atexit(cleanup);
	snprintf(path, sizeof(path), "%s/cgroup.controllers", v2root);
	if (!file_has_word(path, "hugetlb") && find_mount("cgroup", v1dir, sizeof(v1dir))) {
		/* bound to v1: take that hierarchy away for the test */
		if (umount(v1dir)) {
			int e = errno;

			v1dir[0] = '\0';
			skip_or_fail("hugetlb is bound to cgroup v1 and umount failed: %s",
				     strerror(e));
		}
	}
	/* a v1 hierarchy without a mount may linger (see cycle_v1); one
	 * that is being destroyed releases the controller asynchronously */
	for (tries = 0; tries < 100 && !file_has_word(path, "hugetlb"); tries++) {
		if (tries % 10 == 0 && !v1dir[0])
			(void)cycle_v1();
		usleep(100 * 1000);
	}
	if (!file_has_word(path, "hugetlb"))
		skip_or_fail("the hugetlb controller is not available to cgroup v2 (%s)", path);
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", v2root);
	if (!file_has_word(path, "hugetlb")) {
		int e = write_file(path, "+hugetlb");

		if (e)
			skip_or_fail("write +hugetlb to %s: %s", path, strerror(-e));
		enabled_here = true;
	}
}

static void make_group(const char *name, const char *max2m, const char *rsvd2m,
		       const char *max1g)
{
	snprintf(grp, sizeof(grp), "%s/hugepool-test-%d-%s", v2root, (int)getpid(), name);
	if (mkdir(grp, 0755)) {
		fprintf(stderr, "mkdir %s: %s\n", grp, strerror(errno));
		exit(T_FAIL);
	}
	if (*max2m)
		cg_write("hugetlb.2MB.max", max2m);
	if (*rsvd2m)
		cg_write("hugetlb.2MB.rsvd.max", rsvd2m);
	if (*max1g)
		cg_write("hugetlb.1GB.max", max1g);
}

/* Fork, move the child into the group before it does anything, run fn
 * there. A SIGBUS kills the child (default disposition): status 135. */
static int run_in_group(int (*fn)(void))
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
		_exit(fn());
	}
	close(go[0]);
	snprintf(pid, sizeof(pid), "%d", (int)p);
	cg_write("cgroup.procs", pid);
	CHECK(write(go[1], &c, 1) == 1);
	close(go[1]);
	CHECK(waitpid(p, &status, 0) == p);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The group's charge is exactly what this process maps, and lib/cgroup.c
 * sees the room the kernel will enforce. */
static void cg_counters(long max_pages)
{
	struct hp_cgroup_loc loc;
	long cur = cg_read(grp, "hugetlb.2MB.current");

	CHECK_EQ(cur, self_hugetlb_bytes());
	CHECK_EQ(hp_cgroup_self(&loc), 0);
	CHECK_EQ(loc.version, 2);
	CHECK(!strcmp(loc.dir, grp));
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), max_pages - cur / (long)MB2);
}

/* hugetlb.2MB.max = 3 pages: charged at fault time */
static int fault_limit(void)
{
	struct hugepool *pool;
	struct hugepool_region *r;
	void *a, *b;

	hp_verbose = 0;
	cg_counters(3);
	{
		/* the pool plans on no page the group will refuse: a minimum
		 * above the limit fails before any fault is tried (the group
		 * counts no refusal, nothing is charged) */
		struct hugepool_config cfg = { .page_size = MB2, .min_pages = 4 };
		long refused = cg_events_max("hugetlb.2MB.events");

		errno = 0;
		CHECK(hugepool_create(&cfg) == NULL && errno == ENOMEM);
		CHECK_EQ(cg_events_max("hugetlb.2MB.events"), refused);
		CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
		CHECK_EQ(self_hugetlb_bytes(), 0);
		cfg.min_pages = 3;		/* what the group allows works */
		pool = hugepool_create(&cfg);
		CHECK(pool);
		CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 3 * (long)MB2);
		CHECK(hugepool_destroy(pool) == 0);
		CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
	}
	pool = kpool(MB2, 0, 0);
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 1, 2 * MB2);
	cg_counters(3);
	errno = 0;
	CHECK(hugepool_malloc(pool, 2 * MB2) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(pool, 2, MB2 + 4096) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_POPULATE) == NULL &&
	      errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);
	cg_counters(3);

	b = hugepool_malloc(pool, 100 * 1024);		/* the third page */
	CHECK(b);
	memset(b, 2, 100 * 1024);
	cg_counters(3);
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), 0);
	r = hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_NORESERVE);
	CHECK(r);
	CHECK_EQ(hugepool_region_populate(r, 0, 2 * MB2), -ENOMEM);
	CHECK_POOL(pool);
	CHECK(hugepool_region_free(r) == 0);

	hugepool_free(a);				/* reused, no new charge */
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 3, 2 * MB2);
	cg_counters(3);
	hugepool_free(a);
	hugepool_free(b);
	CHECK(hugepool_destroy(pool) == 0);
	CHECK_EQ(self_hugetlb_bytes(), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
	return 0;
}

/* hugetlb.2MB.rsvd.max = 2 pages: charged when the mapping is made */
static int rsvd_limit(void)
{
	struct hugepool *pool;
	void *a;

	hp_verbose = 0;
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), 2);
	pool = kpool(MB2, 0, 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, 3 * MB2) == NULL && errno == ENOMEM);
	a = hugepool_malloc(pool, 2 * MB2);
	CHECK(a);
	memset(a, 1, 2 * MB2);
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.rsvd.current"), 2 * (long)MB2);
	CHECK_EQ(hp_cgroup_hugetlb_room(MB2), 0);
	errno = 0;
	CHECK(hugepool_malloc(pool, MB2) == NULL && errno == ENOMEM);
	CHECK_POOL(pool);
	check_held(MB2);
	hugepool_free(a);
	CHECK(hugepool_destroy(pool) == 0);
	return 0;
}

/* hugetlb.1GB.max = 0: no gigantic page at all */
static int gigantic_none(void)
{
	struct hugepool *pool;

	hp_verbose = 0;
	CHECK_EQ(hp_cgroup_hugetlb_room(1UL << 30), 0);
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

/* After the child: nothing is charged any more. */
static void group_empty(void)
{
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.current"), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.2MB.rsvd.current"), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.1GB.current"), 0);
	CHECK_EQ(cg_read(grp, "hugetlb.1GB.rsvd.current"), 0);
}

int main(void)
{
	struct kbase kb = kernel_baseline(MB2), kg = kernel_baseline(1UL << 30);
	long ev_fault, ev_1g, rsvd_cur;
	int st;

	hp_options_init();
	hp_verbose = 0;
	need_free_pages(MB2, 8);
	need_free_pages(1UL << 30, 1);
	setup();

	make_group("fault", "6291456", "", "");
	st = run_in_group(fault_limit);
	child_ok("hugetlb.2MB.max", st);
	ev_fault = cg_events_max("hugetlb.2MB.events");
	group_empty();
	CHECK(ev_fault > 0);		/* the kernel did refuse faults */
	remove_group();
	printf("kern-cgroup2: hugetlb.2MB.max=6M: malloc, calloc, reserve and populate over it "
	       "failed with ENOMEM, no SIGBUS; .current matched HugetlbPages throughout "
	       "(events max %ld)\n", ev_fault);

	make_group("rsvd", "", "4194304", "");
	st = run_in_group(rsvd_limit);
	child_ok("hugetlb.2MB.rsvd.max", st);
	rsvd_cur = cg_read(grp, "hugetlb.2MB.rsvd.current");
	group_empty();
	remove_group();
	printf("kern-cgroup2: hugetlb.2MB.rsvd.max=4M: malloc over it failed with ENOMEM "
	       "(rsvd.current back to %ld)\n", rsvd_cur);

	make_group("1g", "", "", "0");
	st = run_in_group(gigantic_none);
	child_ok("hugetlb.1GB.max", st);
	ev_1g = cg_events_max("hugetlb.1GB.events");
	group_empty();
	remove_group();
	CHECK(ev_1g > 0);
	printf("kern-cgroup2: hugetlb.1GB.max=0: 1 GiB malloc and reserve failed with ENOMEM "
	       "(events max %ld)\n", ev_1g);

	cleanup();
	CHECK(kernel_back_at(&kb, "kern-cgroup2 2M"));
	CHECK(kernel_back_at(&kg, "kern-cgroup2 1G"));
	printf("kern-cgroup2: PASS (cgroup v2 hugetlb.2MB.max, .rsvd.max and hugetlb.1GB.max: "
	       "clean ENOMEM, never SIGBUS; counters exact; subtree_control and mounts "
	       "restored)\n");
	return T_PASS;
}
