/* SPDX-License-Identifier: MIT */
/*
 * cgroup.h - a hugetlb cgroup for a kernel test, v1 or v2, with the same
 * calls: set up the hierarchy (mounting or enabling the controller only if
 * it is not already, and undoing exactly that at the end), make a group,
 * set the 2 MiB fault and reservation limits (0, a byte count, or none),
 * read a counter of the group, move a process in, or fork a child that
 * joins the group before it does anything.
 *
 * The hugetlb controller is on one hierarchy at a time: v1 is used while a
 * v1 mount exists or can be made; v2 needs the controller free of v1 (a v1
 * hierarchy that was just unmounted lingers for a moment) and enabled in
 * the cgroup2 root's cgroup.subtree_control. Needs root.
 */
#ifndef HUGEPOOL_TEST_CGROUP_H
#define HUGEPOOL_TEST_CGROUP_H

#include "kernel.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

struct hcg {
	int version;		/* 1 or 2 */
	char root[256];		/* hierarchy mount point */
	char grp[400];		/* the test's group; "" when none */
	bool mounted;		/* we mounted root */
	bool enabled;		/* v2: we enabled +hugetlb in the root */
	char v1_taken[256];	/* v2: a v1 hugetlb mount we took away */
};

static inline int hcg_write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), e = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		e = -errno;
	close(fd);
	return e;
}

/* mount point of the first mount of type (v1: the one with hugetlb) */
static inline bool hcg_find_mount(const char *type, char *out, size_t len)
{
	char line[1024], dev[256], dir[256], ty[64], opts[512];
	FILE *f = fopen("/proc/mounts", "r");
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%255s %255s %63s %511s", dev, dir, ty, opts) != 4 || strcmp(ty, type))
			continue;
		if (!strcmp(type, "cgroup") && !strstr(opts, ",hugetlb") && strncmp(opts, "hugetlb", 7))
			continue;
		snprintf(out, len, "%s", dir);
		found = true;
	}
	fclose(f);
	return found;
}

static inline bool hcg_has_word(const char *path, const char *word)
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

/* The hugetlb line of /proc/cgroups: hierarchy id 0 is cgroup v2's. */
static inline bool hcg_v1_bound(void)
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

/* Mount and unmount the v1 hugetlb hierarchy on a private directory: a
 * lingering one (see hcg_setup) is destroyed. */
static inline void hcg_cycle_v1(void)
{
	char d[64] = "/tmp/hugepool-cgv1.XXXXXX";

	if (!mkdtemp(d))
		return;
	if (!mount("none", d, "cgroup", 0, "hugetlb"))
		umount(d);
	rmdir(d);
}

/* Set up the hierarchy of the given version; false (with a message) if
 * this machine cannot have it now. */
static inline bool hcg_setup(struct hcg *c, int version)
{
	char path[400];
	int tries;

	memset(c, 0, sizeof(*c));
	c->version = version;
	if (version == 1) {
		if (hcg_find_mount("cgroup", c->root, sizeof(c->root)))
			return true;
		snprintf(c->root, sizeof(c->root), "/tmp/hugepool-cgroup.XXXXXX");
		if (!mkdtemp(c->root))
			return false;
		if (mount("none", c->root, "cgroup", 0, "hugetlb")) {
			fprintf(stderr, "mount -t cgroup -o hugetlb: %s\n", strerror(errno));
			rmdir(c->root);
			return false;
		}
		c->mounted = true;
		return true;
	}
	if (!hcg_find_mount("cgroup2", c->root, sizeof(c->root))) {
		snprintf(c->root, sizeof(c->root), "/tmp/hugepool-cgroup2.XXXXXX");
		if (!mkdtemp(c->root))
			return false;
		if (mount("none", c->root, "cgroup2", 0, NULL)) {
			fprintf(stderr, "mount -t cgroup2: %s\n", strerror(errno));
			rmdir(c->root);
			return false;
		}
		c->mounted = true;
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", c->root);
	if (hcg_has_word(path, "hugetlb"))
		return true;
	snprintf(path, sizeof(path), "%s/cgroup.controllers", c->root);
	if (!hcg_has_word(path, "hugetlb") &&
	    hcg_find_mount("cgroup", c->v1_taken, sizeof(c->v1_taken)) && umount(c->v1_taken)) {
		fprintf(stderr, "hugetlb is on cgroup v1 (%s): %s\n", c->v1_taken, strerror(errno));
		c->v1_taken[0] = '\0';
		return false;
	}
	/* a v1 hierarchy keeps the controller for a moment after its unmount,
	 * and for good if it still had (dying) groups then: mounted again
	 * and unmounted with none, it goes */
	for (tries = 0; tries < 100 && !hcg_has_word(path, "hugetlb"); tries++) {
		if (tries % 10 == 9)
			hcg_cycle_v1();
		usleep(50 * 1000);
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", c->root);
	if (hcg_write_file(path, "+hugetlb")) {
		fprintf(stderr, "cannot enable hugetlb in %s\n", path);
		return false;
	}
	c->enabled = true;
	return true;
}

static inline void hcg_set(struct hcg *c, const char *file, const char *val)
{
	char path[600];
	int e;

	snprintf(path, sizeof(path), "%s/%s", c->grp, file);
	e = hcg_write_file(path, val);
	if (e) {
		fprintf(stderr, "write %s to %s: %s\n", val, path, strerror(-e));
		exit(T_FAIL);
	}
}

/* 2 MiB limits: bytes, or NULL for none. Callable from inside the group. */
static inline void hcg_limit_2m(struct hcg *c, const char *fault, const char *rsvd)
{
	bool v1 = c->version == 1;

	hcg_set(c, v1 ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max",
		fault ? fault : (v1 ? "-1" : "max"));
	hcg_set(c, v1 ? "hugetlb.2MB.rsvd.limit_in_bytes" : "hugetlb.2MB.rsvd.max",
		rsvd ? rsvd : (v1 ? "-1" : "max"));
}

static inline void hcg_make_group(struct hcg *c, const char *name)
{
	snprintf(c->grp, sizeof(c->grp), "%s/hugepool-test-%d-%s", c->root, (int)getpid(), name);
	if (mkdir(c->grp, 0755)) {
		fprintf(stderr, "mkdir %s: %s\n", c->grp, strerror(errno));
		exit(T_FAIL);
	}
}

/* A group with limits (bytes; "" leaves a limit as it is, none): the 2 MiB
 * fault and reservation limits and the 1 GiB fault limit, in this
 * version's files. */
static inline void hcg_make_group_limits(struct hcg *c, const char *name, const char *fault2m,
					 const char *rsvd2m, const char *fault1g)
{
	bool v1 = c->version == 1;

	hcg_make_group(c, name);
	if (*fault2m)
		hcg_set(c, v1 ? "hugetlb.2MB.limit_in_bytes" : "hugetlb.2MB.max", fault2m);
	if (*rsvd2m)
		hcg_set(c, v1 ? "hugetlb.2MB.rsvd.limit_in_bytes" : "hugetlb.2MB.rsvd.max", rsvd2m);
	if (*fault1g)
		hcg_set(c, v1 ? "hugetlb.1GB.limit_in_bytes" : "hugetlb.1GB.max", fault1g);
}

static inline void hcg_enter(struct hcg *c, pid_t pid)
{
	char v[32];

	snprintf(v, sizeof(v), "%d", (int)pid);
	hcg_set(c, "cgroup.procs", v);
}

/* A number the group's file holds (failcnt, usage_in_bytes, ...); -1 if
 * it cannot be read. */
static inline long hcg_read(const struct hcg *c, const char *file)
{
	return file_number_at("%s/%s", c->grp, file);
}

/*
 * Fork a child that joins the group before it does anything: 0 in the
 * child (default SIGBUS and SIGSEGV, so that a refused fault kills it with
 * status 135, and an alarm of timeout_s unless 0), the child's pid in the
 * parent once the child is in the group. Wait for it with hcg_wait.
 */
static inline pid_t hcg_fork_in(struct hcg *c, unsigned int timeout_s)
{
	int go[2];
	char ch = 0;
	pid_t p;

	CHECK(pipe(go) == 0);
	fflush(NULL);
	p = fork();
	CHECK(p >= 0);
	if (p == 0) {
		signal(SIGBUS, SIG_DFL);
		signal(SIGSEGV, SIG_DFL);
		if (timeout_s)
			alarm(timeout_s);
		close(go[1]);
		if (read(go[0], &ch, 1) != 1)
			_exit(T_FAIL);
		close(go[0]);
		return 0;
	}
	close(go[0]);
	hcg_enter(c, p);
	CHECK(write(go[1], &ch, 1) == 1);
	close(go[1]);
	return p;
}

/* A child's exit status, or 128 + signal if one killed it. */
static inline int hcg_wait(pid_t p)
{
	int status;

	CHECK(waitpid(p, &status, 0) == p);
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}

/* The group's members are gone: remove it (a group empties a moment after
 * its last process is reaped). */
static inline void hcg_remove_group(struct hcg *c)
{
	int tries;

	if (!c->grp[0])
		return;
	for (tries = 0; tries < 100 && rmdir(c->grp) && errno == EBUSY; tries++)
		usleep(20 * 1000);
	c->grp[0] = '\0';
}

/* Undo what hcg_setup did, so that the other version can be had next. */
static inline void hcg_teardown(struct hcg *c)
{
	char path[400];
	int tries;

	hcg_remove_group(c);
	if (c->enabled) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", c->root);
		for (tries = 0; tries < 100 && hcg_write_file(path, "-hugetlb"); tries++)
			usleep(20 * 1000);
		c->enabled = false;
	}
	if (c->mounted) {
		if (umount(c->root))
			fprintf(stderr, "umount %s: %s\n", c->root, strerror(errno));
		else
			rmdir(c->root);
		c->mounted = false;
		/* a v1 hierarchy unmounted while its removed groups were still
		 * dying lingers, holding the controller away from cgroup v2:
		 * mounted again and unmounted once they are gone, it goes */
		for (tries = 0; c->version == 1 && tries < 20 && hcg_v1_bound(); tries++) {
			usleep(100 * 1000);
			if (tries % 5 == 4)
				hcg_cycle_v1();
		}
	}
	if (c->v1_taken[0]) {
		/* the controller comes free of v2 a moment after it is disabled */
		for (tries = 0; tries < 100 && mount("none", c->v1_taken, "cgroup", 0, "hugetlb");
		     tries++)
			usleep(50 * 1000);
		c->v1_taken[0] = '\0';
	}
}

#endif
