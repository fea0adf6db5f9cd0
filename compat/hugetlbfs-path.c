/* SPDX-License-Identifier: MIT */
/*
 * hugetlbfs-path.c - libhugetlbfs's hugetlbfs mounts: hugetlbfs_test_path,
 * hugetlbfs_find_path(_for_size) and hugetlbfs_unlinked_fd(_for_size).
 *
 * hugepool's own pools need no mount (MAP_HUGETLB, hugetlb memfds); these
 * calls exist for programs that want a file. A mount qualifies when statfs
 * says hugetlbfs, its block size is the page size asked for, and this
 * process may create files in it; HUGETLB_PATH is tried first. The mount
 * table is read whole, at any line length, on every call (mounts change;
 * libhugetlbfs read it once at load).
 */
#include "compat.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One path per hstate, so that the pointer returned stays valid (the
 * same string, rewritten only with the same or a newer answer). */
static char found_path[HP_MAX_HSTATES][PATH_MAX];
static pthread_mutex_t path_lock = PTHREAD_MUTEX_INITIALIZER;

COMPAT_EXPORT int hugetlbfs_test_path(const char *mount)
{
	long type, bsize;
	int ret;

	if (!mount) {
		errno = EFAULT;
		return -1;
	}
	ret = hp_sys_statfs(mount, &type, &bsize);
	if (ret < 0) {
		errno = -ret;
		return -1;
	}
	return (unsigned long)type == HUGETLBFS_MAGIC;
}

static bool usable_mount(const char *dir, size_t size)
{
	long type, bsize;

	return !hp_sys_statfs(dir, &type, &bsize) && (unsigned long)type == HUGETLBFS_MAGIC &&
	       (size_t)bsize == size && !access(dir, R_OK | W_OK | X_OK);
}

/* /proc/mounts escapes space, tab, newline and backslash as \ooo */
static void unescape(char *s)
{
	char *d = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

/* The whole mount table, NUL-terminated, in a buffer the caller frees. */
static char *read_mounts(void)
{
	char path[PATH_MAX];
	size_t len = 64 * 1024;

	snprintf(path, sizeof(path), "%s/proc/mounts", hp_sysfs_root);
	for (;;) {
		char *buf = malloc(len);
		long n;

		if (!buf)
			return NULL;
		n = hp_sys_read_file(path, buf, len);
		if (n >= 0 && (size_t)n < len - 1)
			return buf;
		free(buf);
		if (n < 0 || len >= (64UL << 20)) {
			errno = n < 0 ? (int)-n : EFBIG;
			return NULL;
		}
		len *= 4;	/* filled: a bigger table than the buffer */
	}
}

/* The first usable hugetlbfs mount of size in the table into out. */
static bool scan_mounts(size_t size, char *out, size_t len)
{
	char *buf = read_mounts(), *line, *save = NULL;
	bool found = false;

	if (!buf)
		return false;
	for (line = strtok_r(buf, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		char *dir = strchr(line, ' '), *type;

		if (!dir || !(type = strchr(++dir, ' ')))
			continue;
		*type++ = '\0';
		if (strncmp(type, "hugetlbfs ", 10))
			continue;
		unescape(dir);
		if (strlen(dir) < len && usable_mount(dir, size)) {
			strcpy(out, dir);
			found = true;
		}
	}
	free(buf);
	return found;
}

COMPAT_EXPORT const char *hugetlbfs_find_path_for_size(long page_size)
{
	size_t size = compat_valid_size(page_size);
	const char *ret = NULL;
	char dir[PATH_MAX];
	int i;

	if (!size)
		return NULL;
	hp_options_init();
	if (hp_opt.hugetlb_path && strlen(hp_opt.hugetlb_path) < sizeof(dir) &&
	    usable_mount(hp_opt.hugetlb_path, size))
		strcpy(dir, hp_opt.hugetlb_path);
	else if (!scan_mounts(size, dir, sizeof(dir))) {
		errno = ENOENT;
		return NULL;
	}
	for (i = 0; i < hp_hstate_count() && i < HP_MAX_HSTATES; i++) {
		if (hp_hstate_get(i)->size != size)
			continue;
		pthread_mutex_lock(&path_lock);
		if (strcmp(found_path[i], dir))
			strcpy(found_path[i], dir);
		ret = found_path[i];
		pthread_mutex_unlock(&path_lock);
	}
	return ret;
}

COMPAT_EXPORT const char *hugetlbfs_find_path(void)
{
	size_t size = compat_default_size();

	if (!size) {
		errno = ENOSYS;
		return NULL;
	}
	return hugetlbfs_find_path_for_size((long)size);
}

/* A file no other process can open: created unlinked (O_TMPFILE), so that
 * no name ever exists to race on and nothing is left behind. */
COMPAT_EXPORT int hugetlbfs_unlinked_fd_for_size(long page_size)
{
	const char *dir = hugetlbfs_find_path_for_size(page_size);
	int fd;

	if (!dir)
		return -1;	/* errno: EINVAL (size) or ENOENT (no mount) */
	fd = hp_sys_open(dir, O_TMPFILE | O_RDWR | O_EXCL, 0600);
	if (fd < 0) {
		hp_log(1, "cannot create a file in %s: %s", dir, hp_errstr(-fd));
		errno = -fd;
		return -1;
	}
	return fd;
}

COMPAT_EXPORT int hugetlbfs_unlinked_fd(void)
{
	size_t size = compat_default_size();

	if (!size) {
		errno = ENOSYS;
		return -1;
	}
	return hugetlbfs_unlinked_fd_for_size((long)size);
}
