/* SPDX-License-Identifier: MIT */
/*
 * publish.c - live pool counters for `hugepool-ctl stats`, published in
 * <dir>/hugepool-<euid>/hugepool.<pid> (layout in internal.h; <dir> is
 * /dev/shm or HUGEPOOL_PUBLISH_DIR). The writer side runs under a pool lock
 * on allocation paths, possibly inside malloc, so it never allocates and
 * never waits: the file is created by whichever thread gets there first
 * while the others skip publishing that once; slots are claimed with a
 * compare-and-swap; each record has its own seqlock, because two root
 * pools update their records concurrently under different locks.
 *
 * Security (issue 12): the file is shared memory that its owner can write,
 * so the writer takes nothing from it that steers a store: the layout
 * (header size, record size, slot count) is this build's constants, never
 * the header's fields. The directory is the euid's own, mode 0700, checked
 * through a descriptor (O_NOFOLLOW|O_DIRECTORY, fstat) before any file is
 * made in it; the file is created O_EXCL|O_NOFOLLOW, mode 0600. A process
 * under AT_SECURE (setuid, setgid, raised capabilities), or whose real and
 * effective ids differ, publishes nothing: its file would belong to a user
 * who could truncate it under the mapping and kill the process (SIGBUS).
 *
 * Staleness (issue 12, finding 10): every pool operation ends in
 * hp_publish_pool_update, which copies the counters that change (about
 * twenty words) into the record at once. There is no throttle, so there is
 * no trailing change to lose and nothing (timer, thread) to flush it; the
 * cost is a handful of stores next to the clock read the throttle cost.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* the file layout is read by other builds of hugepool-ctl: keep it fixed */
_Static_assert(sizeof(struct hp_pub_header) == 256, "hp_pub_header layout");
_Static_assert(HP_PUB_RECORD_HEAD == 320, "hp_pub_record layout");
_Static_assert(sizeof(struct hp_pub_record) == 320 + HP_PUB_NODES * 32, "hp_pub_record size");

enum pub_state {
	PUB_OFF = 0,		/* no file yet */
	PUB_BUSY,		/* one thread is creating or re-creating it */
	PUB_READY,
	PUB_FAILED,		/* could not create it: stay quiet, try no more */
	PUB_DISABLED,		/* HUGEPOOL_PUBLISH=0, or AT_SECURE */
};

static int pub_state;
static struct hp_pub_header *pub_map;
static uint32_t pub_gen;		/* hp_fork_gen the file belongs to */
static pid_t pub_pid;
static unsigned int pub_nodes;		/* node entries worth copying */
static char pub_path[512];

/* Which pool owns which slot, in private memory: the pool struct belongs
 * to pool.c and the shared file must not hold pointers. */
static struct hugepool *pub_owner[HP_PUB_SLOTS];

static size_t str_append(char *dst, size_t off, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (off + n >= cap)
		return cap;
	memcpy(dst + off, s, n + 1);
	return off + n;
}

/* Not under AT_SECURE, and not while the real and effective ids differ
 * (a daemon between seteuid calls): the file would belong to a user other
 * than the one the process really runs as, who could truncate it under
 * our mapping. */
static bool publish_enabled(void)
{
	hp_options_init();
	return hp_opt.publish && !hp_opt.secure && getuid() == geteuid() &&
	       getgid() == getegid();
}

/* Open path as our private directory: not a symlink, a directory, owned
 * by uid; made 0700 if it is ours but looser. The descriptor, or -errno
 * (-EPERM: it is someone else's). */
static int dir_check(const char *path, uid_t uid)
{
	struct stat st;
	int dfd, ret;

	dfd = hp_sys_open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
	if (dfd < 0)
		return dfd;
	ret = hp_sys_fstat(dfd, &st);
	if (!ret && (!S_ISDIR(st.st_mode) || st.st_uid != uid))
		ret = -EPERM;
	/* ours: make it private whatever the umask or an earlier chmod did */
	if (!ret && (st.st_mode & 07777) != 0700)
		ret = hp_sys_fchmod(dfd, 0700);
	if (ret) {
		hp_sys_close(dfd);
		return ret;
	}
	return dfd;
}

static bool pub_dir_made;	/* a fallback directory of our own: rmdir at exit */

/*
 * <dir>/hugepool-<euid>, made if missing, opened without following a
 * symlink and checked through the descriptor: a directory, owned by the
 * euid, that nobody else can enter. If someone else holds that name (a
 * squatter, finding 8: a directory or a symlink made before us), we make
 * <dir>/hugepool-<euid>.<random> instead, which `stats` reads too, so
 * that squatting neither silences us nor gets our file. The path goes to
 * pub_path, with room left for the file name; *off is its length. The
 * descriptor, or -errno.
 */
static int pub_dir_open(size_t *off)
{
	const char *base = hp_opt.publish_dir;
	uid_t uid = geteuid();
	char num[24];
	size_t len;
	int dfd, ret, tries;

	if (!base || !*base)
		base = HP_PUB_DIR;
	hp_fmt_ulong(num, (unsigned long)uid);
	len = str_append(pub_path, 0, sizeof(pub_path), base);
	len = str_append(pub_path, len, sizeof(pub_path), "/" HP_PUB_DIR_PREFIX);
	len = str_append(pub_path, len, sizeof(pub_path), num);
	if (len + 64 >= sizeof(pub_path))
		return -ENAMETOOLONG;
	*off = len;
	ret = hp_sys_mkdir(pub_path, 0700);
	if (ret && ret != -EEXIST)
		return ret;
	dfd = dir_check(pub_path, uid);
	if (dfd >= 0 || (dfd != -EPERM && dfd != -ELOOP && dfd != -ENOTDIR))
		return dfd;
	for (tries = 0; tries < 4; tries++) {
		static const char hex[] = "0123456789abcdef";
		unsigned char rnd[6];
		char sfx[2 * sizeof(rnd) + 2];
		size_t i;

		if (hp_sys_getrandom(rnd, sizeof(rnd)))
			break;
		sfx[0] = '.';
		for (i = 0; i < sizeof(rnd); i++) {
			sfx[1 + 2 * i] = hex[rnd[i] >> 4];
			sfx[2 + 2 * i] = hex[rnd[i] & 15];
		}
		sfx[sizeof(sfx) - 1] = '\0';
		pub_path[len] = '\0';
		*off = str_append(pub_path, len, sizeof(pub_path), sfx);
		ret = hp_sys_mkdir(pub_path, 0700);
		if (ret == -EEXIST)
			continue;	/* guessed, or planted: another name */
		if (ret)
			break;
		dfd = dir_check(pub_path, uid);
		if (dfd >= 0)
			pub_dir_made = true;
		return dfd;
	}
	pub_path[len] = '\0';
	hp_log(1, "not publishing stats: %s belongs to someone else", pub_path);
	return -EPERM;
}

/* Remove files of processes that are gone (killed, or ended by _exit) from
 * our directory: a few per new file, so that the cost stays bounded and
 * the directory does not grow without end. By name relative to the checked
 * directory; unlinkat does not follow a symlink. */
#define PUB_SWEEP_LOOK	64	/* entries looked at */
#define PUB_SWEEP_DROP	16	/* files removed */

struct sweep {
	int dfd;
	unsigned int looked, dropped;
};

static void sweep_one(const char *name, void *arg)
{
	struct sweep *sw = arg;
	unsigned long pid;

	if (sw->looked >= PUB_SWEEP_LOOK || sw->dropped >= PUB_SWEEP_DROP)
		return;
	sw->looked++;
	if (strncmp(name, HP_PUB_PREFIX, strlen(HP_PUB_PREFIX)) ||
	    hp_parse_ulong(name + strlen(HP_PUB_PREFIX), &pid) || pid == 0 || pid > INT_MAX ||
	    (pid_t)pid == getpid() || hp_sys_pid_alive((pid_t)pid))
		return;
	if (hp_sys_unlinkat(sw->dfd, name) == 0)
		sw->dropped++;
}

/* Make our file and map it; NULL on failure. */
/* A new file's header, the magic last: a reader skips the file until then. */
static struct hp_pub_header *pub_header_init(void *map)
{
	struct hp_pub_header *h = map;

	h->version = HP_PUB_VERSION;
	h->header_size = sizeof(struct hp_pub_header);
	h->record_size = sizeof(struct hp_pub_record);
	h->nr_slots = HP_PUB_SLOTS;
	h->pid = (int32_t)getpid();
	h->interval_ms = 0;	/* no throttle: records are never behind */
	h->start_time = hp_proc_start_time(0);
	str_append(h->lib_version, 0, sizeof(h->lib_version), HUGEPOOL_VERSION);
	__atomic_store_n(&h->magic, HP_PUB_MAGIC, __ATOMIC_RELEASE);
	pub_pid = getpid();
	pub_nodes = (unsigned int)hp_node_count();
	if (pub_nodes > HP_PUB_NODES)
		pub_nodes = HP_PUB_NODES;
	return h;
}

static struct hp_pub_header *pub_create(void)
{
	struct sweep sw = { 0 };
	char name[40];
	size_t off, dir_len;
	void *map;
	int dfd, fd = -ENOENT, tries;

	pub_dir_made = false;
	dfd = pub_dir_open(&off);
	if (dfd < 0)
		return NULL;
	dir_len = off;
	hp_fmt_ulong(name, (unsigned long)getpid());
	memmove(name + strlen(HP_PUB_PREFIX), name, strlen(name) + 1);
	memcpy(name, HP_PUB_PREFIX, strlen(HP_PUB_PREFIX));
	off = str_append(pub_path, off, sizeof(pub_path), "/");
	off = str_append(pub_path, off, sizeof(pub_path), name);
	for (tries = 0; tries < 2; tries++) {
		fd = hp_sys_openat(dfd, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				   0600);
		/* a file with our pid is stale: its process is dead, or it is
		 * this process before an exec */
		if (fd == -EEXIST && hp_sys_unlinkat(dfd, name) == 0)
			continue;
		break;
	}
	if (fd < 0)
		goto fail_dir;
	/* exactly 0600 whatever the umask: root's and our own stats read it */
	if (hp_sys_fchmod(fd, 0600) || hp_sys_ftruncate(fd, (off_t)HP_PUB_FILE_SIZE) ||
	    hp_sys_mmap(NULL, HP_PUB_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &map)) {
		hp_sys_close(fd);
		hp_sys_unlinkat(dfd, name);
		goto fail_dir;
	}
	hp_sys_close(fd);
	sw.dfd = dfd;
	pub_path[dir_len] = '\0';
	hp_sys_list_dir(pub_path, sweep_one, &sw);
	pub_path[dir_len] = '/';
	hp_sys_close(dfd);
	return pub_header_init(map);
fail_dir:
	hp_sys_close(dfd);
	if (pub_dir_made) {
		pub_path[dir_len] = '\0';
		hp_sys_rmdir(pub_path);
		pub_dir_made = false;
	}
	pub_path[0] = '\0';
	return NULL;
}

/* In a child after fork the mapping is still the parent's file: writing
 * there would mix the two processes' pools. The child gets its own file,
 * starting from a consistent copy of the records (its pools are copies of
 * the parent's), and lets go of the parent's mapping. */
static void pub_refork(void)
{
	struct hp_pub_header *old = pub_map, *h;
	unsigned int i;

	h = pub_create();
	if (h) {
		for (i = 0; i < HP_PUB_SLOTS; i++) {
			struct hp_pub_record *dst = hp_pub_slot(h, i);

			if (hp_publish_read_record(hp_pub_slot(old, i), dst))
				memset(dst, 0, sizeof(*dst));
			dst->seq = 0;
		}
		__atomic_store_n(&h->overflow, old->overflow, __ATOMIC_RELAXED);
	}
	hp_sys_munmap(old, HP_PUB_FILE_SIZE);
	pub_map = h;
	pub_gen = __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED);
	__atomic_store_n(&pub_state, h ? PUB_READY : PUB_FAILED, __ATOMIC_RELEASE);
}

/* The mapped file, creating it on first use; NULL when there is none (yet). */
static struct hp_pub_header *pub_get(void)
{
	int s = __atomic_load_n(&pub_state, __ATOMIC_ACQUIRE);

	if (likely(s == PUB_READY)) {
		if (likely(pub_gen == __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED)))
			return pub_map;
		if (__atomic_compare_exchange_n(&pub_state, &s, PUB_BUSY, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
			pub_refork();
			return __atomic_load_n(&pub_state, __ATOMIC_ACQUIRE) == PUB_READY ?
			       pub_map : NULL;
		}
		return NULL;
	}
	if (s != PUB_OFF ||
	    !__atomic_compare_exchange_n(&pub_state, &s, PUB_BUSY, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return NULL;
	if (!publish_enabled()) {
		__atomic_store_n(&pub_state, PUB_DISABLED, __ATOMIC_RELEASE);
		return NULL;
	}
	pub_map = pub_create();
	pub_gen = __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED);
	__atomic_store_n(&pub_state, pub_map ? PUB_READY : PUB_FAILED, __ATOMIC_RELEASE);
	return pub_map;
}

/* Slots are probed from a hash of the pool address, so that the common
 * lookup is one compare; the table is small enough to scan on a miss. */
static unsigned int pub_hash(const struct hugepool *p)
{
	return (unsigned int)(((uintptr_t)p >> 6) * 0x9E3779B97F4A7C15ULL >> 58) % HP_PUB_SLOTS;
}

static int pub_find(const struct hugepool *p)
{
	unsigned int i, start = pub_hash(p);

	for (i = 0; i < HP_PUB_SLOTS; i++) {
		unsigned int s = (start + i) % HP_PUB_SLOTS;

		if (__atomic_load_n(&pub_owner[s], __ATOMIC_RELAXED) == p)
			return (int)s;
	}
	return -1;
}

static int pub_claim(struct hugepool *p)
{
	unsigned int i, start = pub_hash(p);

	for (i = 0; i < HP_PUB_SLOTS; i++) {
		unsigned int s = (start + i) % HP_PUB_SLOTS;
		struct hugepool *none = NULL;

		if (__atomic_compare_exchange_n(&pub_owner[s], &none, p, false,
						__ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
			return (int)s;
	}
	return -1;
}

/* Copy words with relaxed atomics: the other side reads concurrently, and
 * the seqlock decides whether what it read is usable. */
static void copy_words(uint64_t *dst, const uint64_t *src, size_t bytes)
{
	size_t i;

	for (i = 0; i < bytes / sizeof(uint64_t); i++)
		__atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED),
				 __ATOMIC_RELAXED);
}

/* Seqlock writer. The sequence number we write is our own count, kept in
 * private memory: an odd value planted in the file does not make every
 * later record look busy for good. */
static uint64_t pub_seq[HP_PUB_SLOTS];

static void seq_begin(struct hp_pub_record *rec, unsigned int slot)
{
	__atomic_store_n(&rec->seq, ++pub_seq[slot], __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* seq odd before any data */
}

static void seq_end(struct hp_pub_record *rec, unsigned int slot)
{
	__atomic_store_n(&rec->seq, ++pub_seq[slot], __ATOMIC_RELEASE);
}

static void pub_write(struct hp_pub_record *rec, unsigned int slot,
		      const struct hp_pub_record *val)
{
	size_t len = HP_PUB_RECORD_HEAD + val->nr_nodes * sizeof(struct hp_pub_node);

	if (pub_seq[slot] & 1)
		pub_seq[slot]++;
	seq_begin(rec, slot);
	copy_words((uint64_t *)rec + 1, (const uint64_t *)val + 1, len - sizeof(uint64_t));
	seq_end(rec, slot);
}

#define PUT(dst, v)	__atomic_store_n(&(dst), (uint64_t)(v), __ATOMIC_RELAXED)

/* The counters an operation can change, stored straight into the record:
 * the per-operation refresh (names and sizes are written once, by add). */
static void put_counters(struct hp_pub_record *r, const struct hugepool *p, uint64_t now)
{
	unsigned int n;

	PUT(r->nr_pages, p->nr_huge_pages);
	PUT(r->free_pages, p->free_huge_pages);
	PUT(r->resv_pages, p->resv_huge_pages);
	PUT(r->surplus_pages, p->surplus_huge_pages);
	PUT(r->min_pages, p->min_pages);
	PUT(r->max_pages, p->max_pages);
#define X(name) PUT(r->name, p->stats.name);
	HP_STAT_FIELDS(X)
#undef X
	PUT(r->updated_ms, now);
	for (n = 0; n < pub_nodes; n++) {
		PUT(r->node[n].nr_pages, p->nr_huge_pages_node[n]);
		PUT(r->node[n].free_pages, p->free_huge_pages_node[n]);
		PUT(r->node[n].resv_pages, p->resv_huge_pages_node[n]);
		PUT(r->node[n].surplus_pages, p->surplus_huge_pages_node[n]);
	}
}

static void fill_record(struct hp_pub_record *r, const struct hugepool *p, uint64_t now)
{
	memset(r, 0, HP_PUB_RECORD_HEAD);
	r->in_use = 1;
	r->nr_nodes = pub_nodes;
	memcpy(r->name, p->name, sizeof(r->name));
	r->name[sizeof(r->name) - 1] = '\0';
	if (p->parent)
		memcpy(r->parent, p->parent->name, sizeof(r->parent) - 1);
	r->page_size = p->h->size;
	put_counters(r, p, now);
}

void hp_publish_pool_add(struct hugepool *p)
{
	struct hp_pub_header *h = pub_get();
	struct hp_pub_record r;	/* ~2 KiB of stack; static would race */
	int slot;

	if (!h || !p)
		return;
	slot = pub_find(p);
	if (slot < 0)
		slot = pub_claim(p);
	if (slot < 0) {
		__atomic_add_fetch(&h->overflow, 1, __ATOMIC_RELAXED);
		return;
	}
	fill_record(&r, p, hp_now_ms());
	pub_write(hp_pub_slot(h, (unsigned int)slot), (unsigned int)slot, &r);
}

void hp_publish_pool_update(struct hugepool *p, bool force)
{
	struct hp_pub_header *h = pub_get();
	struct hp_pub_record *rec;
	int slot;

	(void)force;	/* every update is published: see the banner */
	if (!h || !p)
		return;
	slot = pub_find(p);
	if (unlikely(slot < 0)) {
		/* the add came while another thread was creating the file */
		if (pub_claim(p) < 0)
			return;
		hp_publish_pool_add(p);
		return;
	}
	rec = hp_pub_slot(h, (unsigned int)slot);
	seq_begin(rec, (unsigned int)slot);
	put_counters(rec, p, hp_now_ms());
	seq_end(rec, (unsigned int)slot);
}

/* Records are refreshed by every operation, so none is ever behind: kept
 * for the callers (the decay thread, hugepool_stats_print). */
void hp_publish_flush(void)
{
}

void hp_publish_pool_del(struct hugepool *p)
{
	struct hp_pub_header *h = pub_get();
	struct hp_pub_record r;
	int slot;

	if (!h || !p)
		return;
	slot = pub_find(p);
	if (slot < 0)
		return;
	memset(&r, 0, HP_PUB_RECORD_HEAD);
	pub_write(hp_pub_slot(h, (unsigned int)slot), (unsigned int)slot, &r);
	__atomic_store_n(&pub_owner[slot], NULL, __ATOMIC_RELEASE);
}

int hp_publish_read_record(const struct hp_pub_record *rec, struct hp_pub_record *out)
{
	int tries;

	for (tries = 0; tries < 10000; tries++) {
		uint64_t s1 = __atomic_load_n(&rec->seq, __ATOMIC_ACQUIRE), s2;
		uint32_t nodes;

		if (s1 & 1)
			continue;
		copy_words((uint64_t *)out, (const uint64_t *)rec, HP_PUB_RECORD_HEAD);
		nodes = out->nr_nodes < HP_PUB_NODES ? out->nr_nodes : HP_PUB_NODES;
		copy_words((uint64_t *)out->node, (const uint64_t *)rec->node,
			   nodes * sizeof(struct hp_pub_node));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);	/* data before the re-check */
		s2 = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
		if (s1 == s2) {
			out->nr_nodes = nodes;
			return 0;
		}
	}
	return -EAGAIN;
}

/* exit(): remove our file. Not in a child that never made its own (its
 * pub_path is still the parent's), nor after an exec (destructors do not
 * run; the next process of this user that publishes, the next holder of
 * the pid, or `stats` removes it). A destructor, not atexit(): registering
 * can allocate, and this may run inside malloc. */
__attribute__((destructor)) static void publish_fini(void)
{
	if (__atomic_load_n(&pub_state, __ATOMIC_ACQUIRE) != PUB_READY)
		return;
	if (pub_gen != __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED) || pub_pid != getpid())
		return;
	hp_sys_unlink(pub_path);
	if (pub_dir_made) {
		/* our fallback directory: gone with us, unless others use it */
		char *slash = strrchr(pub_path, '/');

		if (slash) {
			*slash = '\0';
			hp_sys_rmdir(pub_path);
		}
	}
}

static const struct hp_pool_watch publish_watch = {
	.added = hp_publish_pool_add,
	.removed = hp_publish_pool_del,
	.changed = hp_publish_pool_update,
	.flush = hp_publish_flush,
};

__attribute__((constructor(102))) static void publish_ctor(void)
{
	hp_pool_set_watch(&publish_watch);
}
