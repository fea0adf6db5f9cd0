/* SPDX-License-Identifier: MIT */
/*
 * ctl-stats.c - `hugepool-ctl stats [PID]`: the live pool counters of the
 * processes that use libhugepool, read from the files they publish
 * (/dev/shm/hugepool.<pid>, written by lib/publish.c) without stopping or
 * signalling them. Each record is copied under its seqlock.
 *
 * A file is believed only if its process is alive, started when the file
 * says (pids are reused) and, where /proc/<pid>/maps is readable, still maps
 * it (an exec drops the mapping but not the file). Files that fail these
 * checks are stale: removed when we may, never shown.
 */
#include "ctl.h"

#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

struct proc_pub {
	pid_t pid;
	char comm[64];
	char path[512];
	const struct hp_pub_header *h;
	size_t len;
};

static const char *pub_dir(void)
{
	const char *d = getenv("HUGEPOOL_PUBLISH_DIR");

	return d && *d ? d : HP_PUB_DIR;
}

static uint64_t proc_start_time(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (hp_sys_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long long)(*p++ - '0');
	return v;
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
	start = proc_start_time(pid);
	if (h->start_time && start && start != h->start_time)
		return false;
	return maps_have(pid, st->st_dev, st->st_ino) != 0;
}

/* Map and validate one file; 1 if it belongs to a live process, 0 if not
 * shown (stale, not ours to judge, or being created), -errno on error. */
static int open_pub(const char *dir, const char *name, pid_t pid, struct proc_pub *out)
{
	struct stat st;
	void *map;
	int fd;
	const struct hp_pub_header *h;

	snprintf(out->path, sizeof(out->path), "%s/%s", dir, name);
	fd = open(out->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size < sizeof(struct hp_pub_header)) {
		close(fd);
		return 0;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return -errno;
	h = map;
	out->h = h;
	out->len = (size_t)st.st_size;
	out->pid = pid;
	if (__atomic_load_n(&h->magic, __ATOMIC_ACQUIRE) != HP_PUB_MAGIC)
		goto skip;	/* being created, or not ours */
	if (h->version != HP_PUB_VERSION || h->pid != pid ||
	    h->header_size < sizeof(*h) || h->record_size < sizeof(struct hp_pub_record) ||
	    h->nr_slots > 4096 ||
	    (size_t)h->header_size + (size_t)h->nr_slots * h->record_size > out->len)
		goto skip;
	/* a file someone else made under a pid that is not theirs is a lie */
	{
		struct stat ps;
		char proc[64];

		snprintf(proc, sizeof(proc), "/proc/%d", (int)pid);
		if (!stat(proc, &ps) && ps.st_uid != st.st_uid && st.st_uid != 0)
			goto skip;
	}
	if (!alive(pid, h, &st)) {
		/* stale: its process died or exec'd without cleaning up */
		munmap(map, out->len);
		out->h = NULL;
		unlink(out->path);	/* may fail (another user's file): fine */
		return 0;
	}
	{
		char path[64];
		long n;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		n = hp_sys_read_file(path, out->comm, sizeof(out->comm));
		if (n <= 0)
			snprintf(out->comm, sizeof(out->comm), "?");
		else if (out->comm[n - 1] == '\n')
			out->comm[n - 1] = '\0';
	}
	return 1;
skip:
	munmap(map, out->len);
	out->h = NULL;
	return 0;
}

static void close_pub(struct proc_pub *p)
{
	if (p->h)
		munmap((void *)p->h, p->len);
	p->h = NULL;
}

static const struct hp_pub_record *slot(const struct hp_pub_header *h, unsigned int i)
{
	return (const struct hp_pub_record *)((const char *)h + h->header_size +
					      (size_t)i * h->record_size);
}

static int read_slot(const struct hp_pub_header *h, unsigned int i, struct hp_pub_record *r)
{
	if (hp_publish_read_record(slot(h, i), r))
		return -EAGAIN;
	return r->in_use ? 0 : -ENOENT;
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
	{
		char v[sizeof(p->h->lib_version) + 1];

		memcpy(v, p->h->lib_version, sizeof(p->h->lib_version));
		v[sizeof(v) - 1] = '\0';
		json_str(stdout, v);
	}
	printf(",\"unpublished_pools\":%llu,\"pools\":[",
	       (unsigned long long)__atomic_load_n(&p->h->overflow, __ATOMIC_RELAXED));
	for (i = 0; i < p->h->nr_slots; i++) {
		if (read_slot(p->h, i, &r))
			continue;
		r.name[sizeof(r.name) - 1] = r.parent[sizeof(r.parent) - 1] = '\0';
		printf("%s{\"name\":", first ? "" : ",");
		json_str(stdout, r.name);
		printf(",\"parent\":");
		if (r.parent[0])
			json_str(stdout, r.parent);
		else
			printf("null");
#define F(x) printf(",\"" #x "\":%llu", (unsigned long long)r.x)
		F(page_size); F(nr_pages); F(free_pages); F(resv_pages); F(surplus_pages);
		F(min_pages); F(max_pages); F(allocs); F(frees); F(fallbacks); F(failures);
		F(bytes_requested); F(bytes_in_use); F(bytes_peak); F(bytes_held); F(pages_faulted);
		F(pages_released);
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
	printf("%-8s %-15s %-14s %5s %7s %7s %6s %7s %7s %7s %9s %9s %6s %6s %9s\n",
	       "PID", "COMMAND", "POOL", "SIZE", "NR", "FREE", "RESV", "SURPLUS", "MIN", "MAX",
	       "ALLOCS", "FREES", "FALLBK", "FAILED", "IN_USE");
}

static void print_table_proc(const struct proc_pub *p)
{
	struct hp_pub_record r;
	unsigned int i;
	int shown = 0;

	for (i = 0; i < p->h->nr_slots; i++) {
		char sz[32], use[32], max[32];

		if (read_slot(p->h, i, &r))
			continue;
		r.name[sizeof(r.name) - 1] = '\0';
		ctl_size_str(r.page_size, sz, sizeof(sz));
		ctl_human(r.bytes_in_use, use, sizeof(use));
		snprintf(max, sizeof(max), "%llu", (unsigned long long)r.max_pages);
		printf("%-8d %-15s %-14s %5s %7llu %7llu %6llu %7llu %7llu %7s %9llu %9llu %6llu "
		       "%6llu %9s\n", (int)p->pid, p->comm, r.name, sz,
		       (unsigned long long)r.nr_pages, (unsigned long long)r.free_pages,
		       (unsigned long long)r.resv_pages, (unsigned long long)r.surplus_pages,
		       (unsigned long long)r.min_pages, r.max_pages ? max : "-",
		       (unsigned long long)r.allocs, (unsigned long long)r.frees,
		       (unsigned long long)r.fallbacks, (unsigned long long)r.failures, use);
		shown++;
	}
	if (!shown)
		printf("%-8d %-15s (no pools)\n", (int)p->pid, p->comm);
	if (p->h->overflow)
		printf("%-8d %-15s (%llu more pools not published: no free slot)\n", (int)p->pid,
		       p->comm, (unsigned long long)p->h->overflow);
}

static void help(void)
{
	printf("Usage: hugepool-ctl stats [PID] [--json | --format FORMAT]\n\n"
	       "Show the live pool counters of running processes that use libhugepool\n"
	       "(all of them, or PID), read from the %s/%s<pid> files they publish.\n"
	       "Files left by processes that died are removed.\n\n"
	       "  -j, --json   JSON: for PID, the object {\"pid\", \"comm\", \"pools\": [...]};\n"
	       "               otherwise {\"processes\": [those objects]}\n"
	       "  -f, --format F  text, json, openmetrics or prometheus (metrics with\n"
	       "               labels pid, comm, pool, size, node)\n"
	       "  -h, --help   this help\n", HP_PUB_DIR, HP_PUB_PREFIX);
}

static int name_pid(const char *name, pid_t *pid)
{
	unsigned long v;

	if (strncmp(name, HP_PUB_PREFIX, strlen(HP_PUB_PREFIX)))
		return -EINVAL;
	if (hp_parse_ulong(name + strlen(HP_PUB_PREFIX), &v) || v == 0 || v > INT_MAX)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },	/* ctl-openmetrics.c */
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int fmt = CTL_FMT_TEXT;
	const char *dir = pub_dir();
	struct proc_pub p;
	bool json = false, first = true;
	unsigned long ul;
	pid_t only = 0;
	struct dirent *de;
	DIR *d;
	int ch, ret, shown = 0;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":jf:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'f': if (ctl_metrics_format(optarg, &fmt)) return CTL_USAGE; json = fmt == CTL_FMT_JSON; break;
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

	if (only) {
		char name[64];

		if (kill(only, 0) && errno == ESRCH)
			return ctl_error(CTL_FAIL, "no process %d", (int)only);
		snprintf(name, sizeof(name), HP_PUB_PREFIX "%d", (int)only);
		memset(&p, 0, sizeof(p));
		ret = open_pub(dir, name, only, &p);
		if (ret < 0)
			return ctl_error(CTL_FAIL, "cannot read %s/%s: %s", dir, name, strerror(-ret));
		if (ret == 0)
			return ctl_error(CTL_FAIL, "process %d publishes no hugepool stats (it does "
					 "not use libhugepool, has no pool yet, or runs with "
					 "HUGEPOOL_PUBLISH=0)", (int)only);
		if (fmt >= CTL_FMT_OPENMETRICS) {
			ctl_om_stats_proc(p.pid, p.comm, p.h);
			ret = ctl_om_stats_end();
		} else if (json) {
			print_json_proc(&p);
			printf("\n");
		} else {
			print_table_head();
			print_table_proc(&p);
		}
		close_pub(&p);
		return fflush(stdout) ? CTL_FAIL : CTL_OK;
	}

	d = opendir(dir);
	if (!d && errno != ENOENT)
		return ctl_error(CTL_FAIL, "cannot read %s: %s", dir, strerror(errno));
	if (fmt >= CTL_FMT_OPENMETRICS)
		;
	else if (json)
		printf("{\"processes\":[");
	else
		print_table_head();
	while (d && (de = readdir(d))) {
		pid_t pid;

		if (name_pid(de->d_name, &pid))
			continue;
		memset(&p, 0, sizeof(p));
		if (open_pub(dir, de->d_name, pid, &p) <= 0)
			continue;
		if (fmt >= CTL_FMT_OPENMETRICS) {
			ctl_om_stats_proc(p.pid, p.comm, p.h);
		} else if (json) {
			if (!first)
				printf(",");
			print_json_proc(&p);
		} else {
			print_table_proc(&p);
		}
		first = false;
		shown++;
		close_pub(&p);
	}
	if (d)
		closedir(d);
	if (fmt >= CTL_FMT_OPENMETRICS)
		return ctl_om_stats_end();
	if (json)
		printf("]}\n");
	else if (!shown)
		printf("(no process is publishing hugepool stats)\n");
	return fflush(stdout) ? CTL_FAIL : CTL_OK;
}
