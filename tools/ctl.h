/* SPDX-License-Identifier: MIT */
/*
 * ctl.h - what the hugepool-ctl source files share: exit codes and error
 * reporting, the sysfs view of one page size, COUNT parsing, pool changes
 * (set and apply), hugetlbfs mounts (mount, umount, apply, show, explain),
 * and a little JSON writing.
 *
 * Every subcommand validates all of its input before it writes anything, so
 * that bad input leaves the machine exactly as it was.
 */
#ifndef HUGEPOOL_CTL_H
#define HUGEPOOL_CTL_H

#include "internal.h"

#include <stdio.h>
#include <sys/types.h>

/* exit status: 2 = the command line or config can never work as written;
 * 1 = the system refused or gave less than asked */
enum { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2 };

extern const char *ctl_cmd;		/* "hugepool-ctl set", for messages */
extern const char *ctl_where;		/* "file:3: " while apply parses, else "" */

/* One line "hugepool-ctl set: <message>" on stderr; returns status. */
int ctl_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The "<option> needs root" line for -EACCES/-EPERM, else strerror. */
int ctl_error_errno(int err, const char *what, const char *path);
/* getopt_long error for option parsing (unknown option, missing arg). */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The error for getopt_long's ':' or '?' (optstring starts with ':'). */
int ctl_getopt_error(int ch, char **argv);
/* getopt would read "-8" as an option: hide a leading '-' before a digit
 * while getopt runs, and put it back afterwards (positionals and values). */
void ctl_protect_negatives(int argc, char **argv);
void ctl_unprotect_negatives(int argc, char **argv);

/* subcommands: argv[0] is the subcommand name */
int cmd_show(int argc, char **argv);
int cmd_set(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_segments(int argc, char **argv);
/* 1 if the ELF executable at path is not dynamically linked (LD_PRELOAD
 * cannot reach it), 0 if it is, -errno (-ENOEXEC: not 64-bit ELF). */
int ctl_elf_static(const char *path);
int cmd_stats(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_thp(int argc, char **argv);
int cmd_setup(int argc, char **argv);
int cmd_clear(int argc, char **argv);
/* ctl-compat.c: libhugetlbfs's tools */
int cmd_hugeadm(int argc, char **argv);
int cmd_hugectl(int argc, char **argv);
int cmd_pagesize(int argc, char **argv);

/* ------------------------------------------------------------------------
 * ctl-util.c: sizes, nodes, counters, counts
 * ------------------------------------------------------------------------ */
/* Hugetlb sizes of this kernel: -ENOENT when there is no hugetlb at all. */
int ctl_hstates(void);
/* "2M" -> its hstate, or an error line and *status (CTL_USAGE). */
const struct hp_hstate *ctl_parse_hstate(const char *arg, int *status);
/* "2M, 1G" */
void ctl_size_list(char *buf, size_t len);
void ctl_size_str(size_t bytes, char *buf, size_t len);
/* 4296704 -> "4.1M": for people, not for parsing */
void ctl_human(unsigned long long bytes, char *buf, size_t len);

/* Nodes that have a sysfs directory for this size (per-node pools). */
int ctl_nodes(const struct hp_hstate *h, int *nodes, int max);
bool ctl_node_has(const struct hp_hstate *h, int node);
/* Parse a node number for --node / node=: the node must have h. */
int ctl_parse_node(const char *arg, const struct hp_hstate *h, int *node);

/* One sysfs counter of a size (node < 0: global). 0 or -errno. */
int ctl_read(const struct hp_hstate *h, int node, const char *file, unsigned long *out);
int ctl_write(const struct hp_hstate *h, int node, const char *file, unsigned long val);
void ctl_path(const struct hp_hstate *h, int node, const char *file, char *buf, size_t len);

/* A whole sysfs/procfs file below the tree root, NUL-terminated. */
long ctl_read_text(const char *rel, char *buf, size_t len);
/* "always [madvise] never" -> "madvise"; "" if unreadable. */
void ctl_bracketed(const char *rel, char *out, size_t len);

/* hp_parse_size that also takes "1.5G" (exact bytes only). */
int ctl_parse_bytes(const char *s, size_t *out);
/* COUNT: "512", "+8", "-8", "4G", "+1G", "1.5G". */
struct ctl_count {
	int sign;		/* 0: absolute, +1 / -1: relative */
	unsigned long pages;
};
/* 0, or CTL_USAGE after printing what is wrong with s. */
int ctl_parse_count(const char *s, const struct hp_hstate *h, const char *what,
		    struct ctl_count *out);
/* current +/- count; CTL_USAGE (printed) if below zero or overflowing. */
int ctl_count_resolve(const struct ctl_count *c, const struct hp_hstate *h,
		      const char *what, unsigned long cur, unsigned long *out);

/* Size for mount options: bytes that must be whole pages of h, or "N%". */
int ctl_parse_mount_size(const char *s, const struct hp_hstate *h, const char *what,
			 char *out, size_t len);
int ctl_parse_uid(const char *s, uid_t *out);
int ctl_parse_gid(const char *s, gid_t *out);
int ctl_parse_mode(const char *s, mode_t *out);
/* nr_inodes: a count, or with K/M/G (1M = 1048576 inodes, as the kernel's
 * memparse reads it); "" never. */
int ctl_parse_inodes(const char *s, const char *what, char *out, size_t len);

/* progress on a terminal only */
bool ctl_tty(void);

/* ------------------------------------------------------------------------
 * ctl-pool.c: change a kernel pool and read it back (set, apply)
 * ------------------------------------------------------------------------ */
struct ctl_pool_change {
	const struct hp_hstate *h;
	int node;			/* -1: the global pool */
	bool set_count;
	unsigned long count;		/* persistent pages wanted */
	bool set_over;
	unsigned long over;		/* nr_overcommit_hugepages wanted */
	unsigned int retry_s;		/* keep trying for a short pool */
	bool dry_run;
	const char *where;		/* "file:3: " prefix for apply, or "" */
};
/* Persistent pages (nr - surplus) of h on node (-1: all). */
int ctl_persistent(const struct hp_hstate *h, int node, unsigned long *out);
/* What can be known before writing (access, the kernel's refusal of
 * overcommit for gigantic pages): CTL_OK, or the error the real run would
 * have, printed. */
int ctl_pool_check(const struct ctl_pool_change *c);
/* Write what changes, read it back; prints one line per change. Every
 * change is remembered (ctl-undo.c). */
int ctl_pool_apply(const struct ctl_pool_change *c);

/* ------------------------------------------------------------------------
 * ctl-mounts.c: /proc/mounts and hugetlbfs mounts
 * ------------------------------------------------------------------------ */
struct ctl_mount {
	char *src, *dir, *type, *opts;
};
struct ctl_mounts {
	struct ctl_mount *m;
	size_t n;
};
/* Parse <root>/proc/mounts (any line length, octal escapes). 0 or -errno. */
int ctl_mounts_read(struct ctl_mounts *out);
void ctl_mounts_free(struct ctl_mounts *ms);
/* Value of key= in a comma-separated option list into val; false if absent. */
bool ctl_opt_get(const char *opts, const char *key, char *val, size_t len);
/* Page size of a hugetlbfs mount (its pagesize= option, else the default). */
size_t ctl_mount_pagesize(const struct ctl_mount *m);
/* Is m a hugetlbfs mount (of page size only, unless 0)? */
bool ctl_mount_is_hugetlbfs(const struct ctl_mount *m, size_t only);
/* The hugetlbfs mount at dir (last one wins, as the kernel shows it). */
const struct ctl_mount *ctl_mount_find(const struct ctl_mounts *ms, const char *dir);

struct ctl_mount_req {
	const char *dir;
	const struct hp_hstate *h;
	char size[32];			/* "" or bytes or "N%" */
	char min_size[32];
	char nr_inodes[32];		/* "" or a number of inodes */
	bool has_uid, has_gid, has_mode;
	uid_t uid;
	gid_t gid;
	mode_t mode;
	bool mkdir;			/* create dir if missing */
	bool dry_run;
	bool idempotent;		/* apply: an identical mount is fine */
	bool checked;			/* ctl_mount_check passed against the
					 * planned pools: a dry run does not
					 * check again against today's */
	const char *where;
};
/* What the pool of a mount's size will be by the time it is mounted
 * (apply resizes pools first). */
struct ctl_pool_plan {
	long delta;			/* persistent pages added (<0: removed) */
	bool set_over;
	unsigned long over;		/* nr_overcommit_hugepages then */
};
/* Everything about a mount that can be known before the first write (the
 * mount point, an existing mount, CAP_SYS_ADMIN, min_size against what the
 * pool can give, with the min_size pages of earlier mounts of the same
 * size in *claimed): CTL_OK or the real run's error, printed. */
int ctl_mount_check(const struct ctl_mount_req *r, const struct ctl_pool_plan *plan,
		    unsigned long *claimed);
/* Check, create the mount point (--mkdir), mount; each change remembered
 * (ctl-undo.c) so that the caller can put it back. */
int ctl_do_mount(const struct ctl_mount_req *r);
int ctl_do_umount(const char *dir, bool lazy, bool dry_run);

/* ------------------------------------------------------------------------
 * ctl-undo.c: what a command changed, put back in reverse when it fails
 * ------------------------------------------------------------------------ */
void ctl_undo_count(const struct hp_hstate *h, int node, unsigned long old);
void ctl_undo_over(const struct hp_hstate *h, unsigned long old);
void ctl_undo_mount(const char *dir);
void ctl_undo_dir(const char *dir);
void ctl_undo_remount(const char *dir, const char *opts);
int ctl_undo_pending(void);
void ctl_undo_forget(void);
/* Undo everything remembered, newest first: 0, or -1 if something could
 * not be put back (said on stderr). */
int ctl_undo_all(void);
/* CAP_SYS_ADMIN: allowed to mount */
bool ctl_can_mount(void);

/* ------------------------------------------------------------------------
 * ctl-cgroup.c: hugetlb cgroup limits for show and explain (lib/cgroup.c)
 * ------------------------------------------------------------------------ */
struct ctl_cg_size {
	bool has_own;			/* the group has the size's files */
	struct hp_cgroup_hugetlb own;	/* its own limits, usage, events */
	unsigned long long limit;	/* tightest along the ancestors, bytes */
	unsigned long long rsvd_limit;	/* ULLONG_MAX: none */
	char limit_dir[HP_CG_PATH], rsvd_dir[HP_CG_PATH];
	long room;			/* pages still allowed (LONG_MAX: no limit) */
};
/* The groups to report: path (--cgroup) or this process's v1 and v2
 * hugetlb groups. Count, or -CTL_USAGE after an error line. */
int ctl_cgroup_locs(const char *path, struct hp_cgroup_loc *locs, int max);
void ctl_cgroup_size(const struct hp_cgroup_loc *loc, const struct hp_hstate *h,
		     struct ctl_cg_size *out);
const char *ctl_cgroup_name(const struct hp_cgroup_loc *loc);
void ctl_cgroup_limit_file(const struct hp_cgroup_loc *loc, const char *dir, size_t size,
			   bool rsvd, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * ctl-openmetrics.c: show and stats as OpenMetrics / Prometheus text
 * ------------------------------------------------------------------------ */
enum { CTL_FMT_TEXT, CTL_FMT_JSON, CTL_FMT_OPENMETRICS, CTL_FMT_PROMETHEUS };
/* --format ARG: 0, or CTL_USAGE after an error line */
int ctl_metrics_format(const char *arg, int *fmt);
int ctl_om_show(const struct hp_hstate *only, const struct ctl_mounts *ms,
		const struct hp_cgroup_loc *locs, int nlocs);
/* stats: one process's records, collected; _end prints them all */
void ctl_om_stats_record(pid_t pid, const char *comm, const struct hp_pub_record *r);
int ctl_om_stats_end(void);

/* ------------------------------------------------------------------------
 * JSON output
 * ------------------------------------------------------------------------ */
void json_str(FILE *f, const char *s);

#endif /* HUGEPOOL_CTL_H */
