/* SPDX-License-Identifier: MIT */
/*
 * ctl-undo.c - what set, mount and apply have changed so far, so that a
 * command that fails half way puts the machine back as it found it: the
 * changes are undone in reverse order (unmount, remove the directories
 * --mkdir made, then overcommit and pool sizes written back).
 *
 * Checks before the first write catch what can be known; this catches
 * what cannot (the kernel giving fewer pages than asked, a mount refused
 * for a reason only mount(2) knows).
 */
#include "ctl.h"

#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

enum undo_kind { UNDO_COUNT, UNDO_OVER, UNDO_MOUNT, UNDO_DIR, UNDO_UMOUNT };

struct undo {
	enum undo_kind kind;
	const struct hp_hstate *h;
	int node;
	unsigned long val;
	char path[PATH_MAX];
	char opts[512];		/* UNDO_UMOUNT: the options to mount it with again */
};

/* two changes per config entry at most, and the directories of a mkdir -p */
static struct undo changes[1024];
static int nr_log;

static void push(enum undo_kind kind, const struct hp_hstate *h, int node, unsigned long val,
		 const char *path)
{
	struct undo *u;

	if (nr_log == (int)ARRAY_SIZE(changes)) {
		ctl_warn("too many changes to remember: the oldest cannot be undone");
		return;
	}
	u = &changes[nr_log++];
	u->kind = kind;
	u->h = h;
	u->node = node;
	u->val = val;
	snprintf(u->path, sizeof(u->path), "%s", path ? path : "");
}

void ctl_undo_count(const struct hp_hstate *h, int node, unsigned long old)
{
	push(UNDO_COUNT, h, node, old, NULL);
}

void ctl_undo_over(const struct hp_hstate *h, unsigned long old)
{
	push(UNDO_OVER, h, -1, old, NULL);
}

void ctl_undo_mount(const char *dir)
{
	push(UNDO_MOUNT, NULL, -1, 0, dir);
}

void ctl_undo_dir(const char *dir)
{
	push(UNDO_DIR, NULL, -1, 0, dir);
}

/* An unmounted hugetlbfs: mounted again, with the options /proc/mounts
 * showed (nosuid/nodev/ro/noexec as flags, rw/relatime dropped). */
void ctl_undo_remount(const char *dir, const char *opts)
{
	push(UNDO_UMOUNT, NULL, -1, 0, dir);
	if (nr_log)
		snprintf(changes[nr_log - 1].opts, sizeof(changes[nr_log - 1].opts), "%s", opts);
}

static int remount(const char *dir, const char *opts)
{
	char data[512] = "", buf[512], *t, *save = NULL;
	unsigned long flags = 0;

	snprintf(buf, sizeof(buf), "%s", opts);
	for (t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "nosuid"))
			flags |= MS_NOSUID;
		else if (!strcmp(t, "nodev"))
			flags |= MS_NODEV;
		else if (!strcmp(t, "noexec"))
			flags |= MS_NOEXEC;
		else if (!strcmp(t, "ro"))
			flags |= MS_RDONLY;
		else if (!strcmp(t, "rw") || !strcmp(t, "relatime") || !strcmp(t, "seclabel"))
			continue;
		else if (strlen(data) + strlen(t) + 2 < sizeof(data)) {
			strcat(data, data[0] ? "," : "");
			strcat(data, t);
		}
	}
	return mount("hugetlbfs", dir, "hugetlbfs", flags, data) ? -errno : 0;
}

int ctl_undo_pending(void)
{
	return nr_log;
}

void ctl_undo_forget(void)
{
	nr_log = 0;
}

/* One line per change put back on stdout (where the change was reported);
 * one on stderr for anything that could not be put back. */
int ctl_undo_all(void)
{
	int ret = 0;

	while (nr_log > 0) {
		struct undo *u = &changes[--nr_log];
		char sz[32] = "", lbl[64];
		unsigned long now = 0;

		if (u->h) {
			ctl_size_str(u->h->size, sz, sizeof(sz));
			if (u->node >= 0)
				snprintf(lbl, sizeof(lbl), "%s node %d", sz, u->node);
			else
				snprintf(lbl, sizeof(lbl), "%s", sz);
		}
		switch (u->kind) {
		case UNDO_MOUNT:
			if (umount2(u->path, 0)) {
				ctl_warn("could not unmount %s again: %s", u->path, strerror(errno));
				ret = -1;
			} else {
				printf("undone: unmounted hugetlbfs from %s\n", u->path);
			}
			break;
		case UNDO_UMOUNT:
			if (remount(u->path, u->opts)) {
				ctl_warn("could not mount %s again (%s): %s", u->path, u->opts,
					 strerror(errno));
				ret = -1;
			} else {
				printf("undone: mounted hugetlbfs on %s again\n", u->path);
			}
			break;
		case UNDO_DIR:
			if (rmdir(u->path)) {
				ctl_warn("could not remove %s again: %s", u->path, strerror(errno));
				ret = -1;
			} else {
				printf("undone: removed %s\n", u->path);
			}
			break;
		case UNDO_OVER:
			if (ctl_write(u->h, -1, "nr_overcommit_hugepages", u->val) ||
			    ctl_read(u->h, -1, "nr_overcommit_hugepages", &now) || now != u->val) {
				ctl_warn("%s: could not put nr_overcommit_hugepages back to %lu", lbl,
					 u->val);
				ret = -1;
			} else {
				printf("undone: %s: nr_overcommit_hugepages back to %lu\n", lbl, u->val);
			}
			break;
		case UNDO_COUNT:
			/* shrinking back always works; growing back (after a
			 * shrink) can come short, and then it says so */
			if (ctl_write(u->h, u->node, "nr_hugepages", u->val) ||
			    ctl_persistent(u->h, u->node, &now) || now != u->val) {
				ctl_warn("%s: could not put nr_hugepages back to %lu (it is %lu)", lbl,
					 u->val, now);
				ret = -1;
			} else {
				printf("undone: %s: nr_hugepages back to %lu\n", lbl, u->val);
			}
			break;
		}
	}
	return ret;
}

/* CAP_SYS_ADMIN in this process's effective set: mount(2) needs it, and
 * asking before creating a mount point spares removing it again. */
bool ctl_can_mount(void)
{
	char line[256];
	unsigned long long eff = 0;
	bool found = false;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return geteuid() == 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = true;
			break;
		}
	fclose(f);
	if (!found)
		return geteuid() == 0;
	return eff & (1ULL << 21);	/* CAP_SYS_ADMIN */
}
