/* SPDX-License-Identifier: MIT */
/*
 * ctl-stats.c - `hugepool-ctl stats [PID]`: the live pool counters of the
 * processes that use libhugepool, read from the files they publish
 * (<dir>/hugepool-<uid>/hugepool.<pid>, written by lib/publish.c; <dir> is
 * /dev/shm or HUGEPOOL_PUBLISH_DIR) without stopping or signalling them.
 * root reads every user's directory, a user only their own.
 *
 * The files are another process's shared memory, and whoever owns one can
 * rewrite or truncate it while we read. So nothing is mapped: the header
 * is copied with pread and validated once, each record is copied with
 * pread under its seqlock, and only the copies are used (issue 12, finding
 * 6). The directory must be a real directory owned by the uid its name
 * says and closed to everyone else, and each file a regular file of that
 * uid (finding 8). Names and commands are printed with non-printable bytes
 * escaped (finding 7).
 *
 * A file is believed only if its process is alive, belongs to the
 * directory's uid, started when the file says (pids are reused) and, where
 * /proc/<pid>/maps is readable, still maps it (an exec drops the mapping
 * but not the file). Files that fail these checks are stale: removed when
 * we may (a bounded number per run), never shown.
 */
#include "ctl.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define STALE_MAX	256	/* stale files removed per run */

struct proc_pub {
	pid_t pid;
	char comm[64];
	int fd;				/* the file, for the records */
	struct hp_pub_header h;		/* private copy, validated */
};

static unsigned int stale_removed;

static const char *pub_base(void)
{
	const char *d = getenv("HUGEPOOL_PUBLISH_DIR");

	return d && *d ? d : HP_PUB_DIR;
}

/* Does pid map the file (dev, ino)? -1: cannot tell (maps unreadable),
 * 0: no, 1: yes. By inode, not by name: the directory may be reached by
 * another path (a symlinked /dev/shm, a trailing slash). */
static int maps_have(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		unsigned int maj, min;
		unsigned long long inode;

		/* start-end perms offset maj:min inode [path] */
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3 &&
		    inode == (unsigned long long)ino && makedev(maj, min) == dev) {
			found = 1;
			break;
		}
	}
	if (ferror(f))
		found = -1;
	free(line);
	fclose(f);
	return found;
}

/* Is the file (pid's, header h) a live publication? */
static bool alive(pid_t pid, const struct hp_pub_header *h, const struct stat *st)
{
	uint64_t start;

	if (kill(pid, 0) && errno == ESRCH)
		return false;
	start = hp_proc_start_time(pid);
	if (h->start_time && start && start != h->start_time)
		return false;
	return maps_have(pid, st->st_dev, st->st_ino) != 0;
}

/* Copy and validate one file; 1 if it belongs to a live process of uid
 * (out->fd open), 0 if not shown (stale, not ours to judge, or being
 * created), -errno on error. */
static int open_pub(int dfd, const char *name, uid_t uid, pid_t pid, struct proc_pub *out)
{
	struct hp_pub_header *h = &out->h;
	struct stat st, ps;
	char proc[64];
	ssize_t n;
	int fd;

	out->fd = -1;
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP ? 0 : -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_uid != uid ||
	    (size_t)st.st_size < HP_PUB_FILE_SIZE) {
		close(fd);
		return 0;
	}
	n = pread(fd, h, sizeof(*h), 0);
	if (n != (ssize_t)sizeof(*h) || h->magic != HP_PUB_MAGIC)
		goto skip;	/* being created, truncated, or not ours */
	if (h->version != HP_PUB_VERSION || h->pid != pid ||
	    h->header_size != sizeof(struct hp_pub_header) ||
	    h->record_size != sizeof(struct hp_pub_record) || h->nr_slots > HP_PUB_SLOTS)
		goto skip;
	h->lib_version[sizeof(h->lib_version) - 1] = '\0';
	/* the process must be the directory's user: a file for a pid that is
	 * not theirs is a lie (or a left-over of a reused pid) */
	snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
	if (!stat(proc, &ps) && ps.st_uid != uid && uid != 0)
		goto skip;
	if (!alive(pid, h, &st)) {
		/* stale: its process died or exec'd without cleaning up; by
		 * name in the checked directory (unlinkat follows no link) */
		close(fd);
		if (stale_removed < STALE_MAX && !unlinkat(dfd, name, 0))
			stale_removed++;
		return 0;
	}
	{
		char path[64];
		long len;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		len = hp_sys_read_file(path, out->comm, sizeof(out->comm));
		if (len <= 0)
			snprintf(out->comm, sizeof(out->comm), "?");
		else if (out->comm[len - 1] == '\n')
			out->comm[len - 1] = '\0';
	}
	out->fd = fd;
	out->pid = pid;
	return 1;
skip:
	close(fd);
	return 0;
}

static void close_pub(struct proc_pub *p)
{
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
}

/* Record i copied with pread under its seqlock: the sequence number alone,
 * the record, the sequence number again; each pread is a full copy made
 * in the kernel, so they are ordered. 0, -ENOENT (free slot), or -EAGAIN
 * (busy, torn or truncated: not shown). */
static int read_slot(const struct proc_pub *p, unsigned int i, struct hp_pub_record *r)
{
	off_t off = (off_t)(sizeof(struct hp_pub_header) + (size_t)i * sizeof(*r));
	int tries;

	for (tries = 0; tries < 1000; tries++) {
		uint64_t s1, s2;

		if (pread(p->fd, &s1, sizeof(s1), off) != (ssize_t)sizeof(s1))
			return -EAGAIN;
		if (s1 & 1)
			continue;
		if (pread(p->fd, r, sizeof(*r), off) != (ssize_t)sizeof(*r) ||
		    pread(p->fd, &s2, sizeof(s2), off) != (ssize_t)sizeof(s2))
			return -EAGAIN;
		if (s1 != s2 || r->seq != s1)
			continue;
		if (!r->in_use)
			return -ENOENT;
		if (r->nr_nodes > HP_PUB_NODES)
			r->nr_nodes = HP_PUB_NODES;
		r->name[sizeof(r->name) - 1] = r->parent[sizeof(r->parent) - 1] = '\0';
		return 0;
	}
	return -EAGAIN;
}

/* s with every byte that is not printable ASCII as \xHH (and \ as \\):
 * a name can hold terminal escapes (finding 7). JSON has its own. */
static const char *esc(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\') {
			buf[o++] = '\\';
			buf[o++] = '\\';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void print_json_proc(const struct proc_pub *p)
{
	uint64_t now = hp_now_ms();
	struct hp_pub_record r;
	bool first = true;
	unsigned int i, n;

	printf("{\"pid\":%d,\"comm\":", (int)p->pid);
	json_str(stdout, p->comm);
	printf(",\"version\":");
	json_str(stdout, p->h.lib_version);
	printf(",\"unpublished_pools\":%llu,\"pools\":[", (unsigned long long)p->h.overflow);
	for (i = 0; i < p->h.nr_slots; i++) {
		if (read_slot(p, i, &r))
			continue;
		printf("%s{\"name\":", first ? "" : ",");
		json_str(stdout, r.name);
		printf(",\"parent\":");
		if (r.parent[0])
			json_str(stdout, r.parent);
		else
			printf("null");
#define F(x) printf(",\"" #x "\":%llu", (unsigned long long)r.x)
		F(page_size); F(nr_pages); F(free_pages); F(resv_pages); F(surplus_pages);
		F(min_pages); F(max_pages);
#define X(name) F(name);
		HP_STAT_FIELDS(X)
#undef X
#undef F
		printf(",\"age_ms\":%llu,\"nodes\":[",
		       (unsigned long long)(now > r.updated_ms ? now - r.updated_ms : 0));
		for (n = 0; n < r.nr_nodes; n++)
			printf("%s{\"node\":%u,\"nr_pages\":%llu,\"free_pages\":%llu,"
			       "\"resv_pages\":%llu,\"surplus_pages\":%llu}", n ? "," : "", n,
			       (unsigned long long)r.node[n].nr_pages,
			       (unsigned long long)r.node[n].free_pages,
			       (unsigned long long)r.node[n].resv_pages,
			       (unsigned long long)r.node[n].surplus_pages);
		printf("]}");
		first = false;
	}
	printf("]}");
}

static void print_table_head(void)
{
	printf("%-8s %-15s %-14s %5s %7s %7s %6s %7s %7s %7s %9s %9s %6s %6s %9s %6s\n",
	       "PID", "COMMAND", "POOL", "SIZE", "NR", "FREE", "RESV", "SURPLUS", "MIN", "MAX",
	       "ALLOCS", "FREES", "FALLBK", "FAILED", "IN_USE", "AGE");
}

/* time since the record last changed: 850ms, 12s, 7m, 3h */
static void age_str(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (ms < 120000)
		snprintf(buf, len, "%llus", (unsigned long long)(ms / 1000));
	else if (ms < 7200000)
		snprintf(buf, len, "%llum", (unsigned long long)(ms / 60000));
	else
		snprintf(buf, len, "%lluh", (unsigned long long)(ms / 3600000));
}

static void print_table_proc(const struct proc_pub *p)
{
	uint64_t now = hp_now_ms();
	struct hp_pub_record r;
	char comm[sizeof(p->comm) * 4 + 1];
	unsigned int i;
	int shown = 0;

	esc(p->comm, comm, sizeof(comm));
	for (i = 0; i < p->h.nr_slots; i++) {
		char sz[32], use[32], max[32], age[32], name[sizeof(r.name) * 4 + 1];

		if (read_slot(p, i, &r))
			continue;
		ctl_size_str(r.page_size, sz, sizeof(sz));
		ctl_human(r.bytes_in_use, use, sizeof(use));
		snprintf(max, sizeof(max), "%llu", (unsigned long long)r.max_pages);
		age_str(now > r.updated_ms ? now - r.updated_ms : 0, age, sizeof(age));
		printf("%-8d %-15s %-14s %5s %7llu %7llu %6llu %7llu %7llu %7s %9llu %9llu %6llu "
		       "%6llu %9s %6s\n", (int)p->pid, comm, esc(r.name, name, sizeof(name)), sz,
		       (unsigned long long)r.nr_pages, (unsigned long long)r.free_pages,
		       (unsigned long long)r.resv_pages, (unsigned long long)r.surplus_pages,
		       (unsigned long long)r.min_pages, r.max_pages ? max : "-",
		       (unsigned long long)r.allocs, (unsigned long long)r.frees,
		       (unsigned long long)r.fallbacks, (unsigned long long)r.failures, use, age);
		shown++;
	}
	if (!shown)
		printf("%-8d %-15s (no pools)\n", (int)p->pid, comm);
	if (p->h.overflow)
		printf("%-8d %-15s (%llu more pools not published: no free slot)\n", (int)p->pid,
		       comm, (unsigned long long)p->h.overflow);
}

static void help(void)
{
	printf("Usage: hugepool-ctl stats [PID] [--json | --format FORMAT]\n\n"
	       "Show the live pool counters of running processes that use libhugepool\n"
	       "(all of them, or PID), read from the files they publish in\n"
	       "%s/%s<uid>/%s<pid>. root sees every user's processes, a user their own.\n"
	       "Files left by processes that died are removed.\n\n"
	       "  -j, --json   JSON: for PID, the object {\"pid\", \"comm\", \"pools\": [...]};\n"
	       "               otherwise {\"processes\": [those objects]}\n"
	       "  -f, --format F  text, json, openmetrics or prometheus (metrics with\n"
	       "               labels pid, comm, pool, size, node)\n"
	       "  -h, --help   this help\n", HP_PUB_DIR, HP_PUB_DIR_PREFIX, HP_PUB_PREFIX);
}

/* "<prefix><number>" -> number (1..INT_MAX) */
static int name_num(const char *name, const char *prefix, unsigned long *out)
{
	unsigned long v;

	if (strncmp(name, prefix, strlen(prefix)))
		return -EINVAL;
	if (hp_parse_ulong(name + strlen(prefix), &v) || v > INT_MAX)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "hugepool-<uid>" or a squatted user's "hugepool-<uid>.<random>" -> uid */
static int dir_uid(const char *name, uid_t *uid)
{
	char num[24];
	const char *dot;
	unsigned long v;
	size_t n;

	if (strncmp(name, HP_PUB_DIR_PREFIX, strlen(HP_PUB_DIR_PREFIX)))
		return -EINVAL;
	name += strlen(HP_PUB_DIR_PREFIX);
	dot = strchr(name, '.');
	n = dot ? (size_t)(dot - name) : strlen(name);
	if (n == 0 || n >= sizeof(num))
		return -EINVAL;
	memcpy(num, name, n);
	num[n] = '\0';
	if (hp_parse_ulong(num, &v) || v > UINT32_MAX - 1)
		return -EINVAL;
	*uid = (uid_t)v;
	return 0;
}

/* <base>/hugepool-<uid>, opened without following a link and checked: a
 * directory owned by uid that nobody else may enter. -1 (errno) if not. */
static int open_user_dir(int bfd, const char *name, uid_t uid)
{
	struct stat st;
	int dfd = openat(bfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (dfd < 0)
		return -1;
	if (fstat(dfd, &st) || st.st_uid != uid || (st.st_mode & 077)) {
		fprintf(stderr, "hugepool-ctl: ignoring %s/%s: not a private directory of uid %lu\n",
			pub_base(), name, (unsigned long)uid);
		close(dfd);
		errno = EPERM;
		return -1;
	}
	return dfd;
}

struct out_state {
	bool json, first;
	int fmt;			/* CTL_FMT_* */
	int shown;
};

static void show(struct out_state *o, struct proc_pub *p)
{
	if (o->fmt >= CTL_FMT_OPENMETRICS) {
		struct hp_pub_record r;
		unsigned int i;

		for (i = 0; i < p->h.nr_slots; i++)
			if (!read_slot(p, i, &r))
				ctl_om_stats_record(p->pid, p->comm, &r);
	} else if (o->json) {
		if (!o->first)
			printf(",");
		print_json_proc(p);
	} else {
		print_table_proc(p);
	}
	o->first = false;
	o->shown++;
}

/* every live publication in one user's directory */
static void scan_user(struct out_state *o, int bfd, const char *name, uid_t uid)
{
	struct proc_pub p;
	struct dirent *de;
	DIR *d;
	int dfd = open_user_dir(bfd, name, uid), dfd2;

	if (dfd < 0)
		return;
	dfd2 = dup(dfd);
	d = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
	if (!d) {
		if (dfd2 >= 0)
			close(dfd2);
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		unsigned long pid;

		if (name_num(de->d_name, HP_PUB_PREFIX, &pid) || pid == 0)
			continue;
		memset(&p, 0, sizeof(p));
		if (open_pub(dfd, de->d_name, uid, (pid_t)pid, &p) <= 0)
			continue;
		show(o, &p);
		close_pub(&p);
	}
	closedir(d);
	close(dfd);
}

/* root: every user's directory; a user: their own, and their fallback
 * ones (hugepool-<uid>.<random>) */
static void scan_users(struct out_state *o, int bfd, uid_t me)
{
	struct dirent *de;
	int bfd2 = dup(bfd);
	DIR *d = bfd2 >= 0 ? fdopendir(bfd2) : NULL;

	while (d && (de = readdir(d))) {
		uid_t du;

		if (dir_uid(de->d_name, &du) || (me != 0 && du != me))
			continue;
		scan_user(o, bfd, de->d_name, du);
	}
	if (d)
		closedir(d);
	else if (bfd2 >= 0)
		close(bfd2);
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },	/* ctl-openmetrics.c */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base = pub_base();
	struct out_state o = { .first = true, .fmt = CTL_FMT_TEXT };
	uid_t me = geteuid();
	char dname[64];
	unsigned long ul;
	pid_t only = 0;
	int ch, bfd;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":jf:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': o.json = true; break;
		case 'f':
			if (ctl_metrics_format(optarg, &o.fmt))
				return CTL_USAGE;
			o.json = o.fmt == CTL_FMT_JSON;
			break;
		case 'h': help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind + 1 < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc) {
		if (hp_parse_ulong(argv[optind], &ul) || ul == 0 || ul > INT_MAX)
			return ctl_error(CTL_USAGE, "'%s' is not a process id", argv[optind]);
		only = (pid_t)ul;
	}
	bfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0 && errno != ENOENT)
		return ctl_error(CTL_FAIL, "cannot read %s: %s", base, strerror(errno));

	if (only) {
		struct proc_pub p;
		struct stat ps;
		char proc[64], name[64];
		uid_t uid = me;
		int ret = 0, dfd, bfd2 = -1;
		DIR *d = NULL;

		if (kill(only, 0) && errno == ESRCH) {
			if (bfd >= 0)
				close(bfd);
			return ctl_error(CTL_FAIL, "no process %d", (int)only);
		}
		/* root looks in the directories of the process's user, and of
		 * root (a process that changed uid after publishing); a user in
		 * their own */
		snprintf(proc, sizeof(proc), "/proc/%d", (int)only);
		if (me == 0 && !stat(proc, &ps))
			uid = ps.st_uid;
		snprintf(dname, sizeof(dname), HP_PUB_DIR_PREFIX "%lu", (unsigned long)uid);
		snprintf(name, sizeof(name), HP_PUB_PREFIX "%d", (int)only);
		memset(&p, 0, sizeof(p));
		if (bfd >= 0 && (bfd2 = dup(bfd)) >= 0 && (d = fdopendir(bfd2))) {
			struct dirent *de;
			uid_t du;

			while (ret == 0 && (de = readdir(d))) {
				if (dir_uid(de->d_name, &du) || (du != uid && (me != 0 || du != 0)))
					continue;
				if ((dfd = open_user_dir(bfd, de->d_name, du)) < 0)
					continue;
				ret = open_pub(dfd, name, du, only, &p);
				close(dfd);
			}
			closedir(d);
		} else if (bfd2 >= 0) {
			close(bfd2);
		}
		if (bfd >= 0)
			close(bfd);
		if (ret < 0)
			return ctl_error(CTL_FAIL, "cannot read %s/%s/%s: %s", base, dname, name,
					 strerror(-ret));
		if (ret == 0)
			return ctl_error(CTL_FAIL, "process %d publishes no hugepool stats (it does "
					 "not use libhugepool, has no pool yet, runs with "
					 "HUGEPOOL_PUBLISH=0, is setuid/setgid, or is another "
					 "user's)", (int)only);
		if (o.fmt >= CTL_FMT_OPENMETRICS) {
			show(&o, &p);
			close_pub(&p);
			return ctl_om_stats_end();
		}
		if (o.json) {
			print_json_proc(&p);
			printf("\n");
		} else {
			print_table_head();
			print_table_proc(&p);
		}
		close_pub(&p);
		return fflush(stdout) ? CTL_FAIL : CTL_OK;
	}

	if (o.fmt >= CTL_FMT_OPENMETRICS)
		;	/* families and samples, then one end */
	else if (o.json)
		printf("{\"processes\":[");
	else
		print_table_head();
	if (bfd >= 0)
		scan_users(&o, bfd, me);
	if (bfd >= 0)
		close(bfd);
	if (o.fmt >= CTL_FMT_OPENMETRICS)
		return ctl_om_stats_end();
	if (o.json)
		printf("]}\n");
	else if (!o.shown)
		printf("(no process is publishing hugepool stats)\n");
	return fflush(stdout) ? CTL_FAIL : CTL_OK;
}
