/* SPDX-License-Identifier: MIT */
/*
 * publish.c - live pool counters for `hugepool-ctl stats`, published in
 * /dev/shm/hugepool.<pid> (layout in internal.h). The writer side runs under
 * a pool lock on allocation paths, possibly inside malloc, so it never
 * allocates and never waits: the file is created by whichever thread gets
 * there first while the others skip publishing that once; slots are claimed
 * with a compare-and-swap; each record has its own seqlock, because two
 * root pools update their records concurrently under different locks.
 */
#include "internal.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* the file layout is read by other builds of hugepool-ctl: keep it fixed */
_Static_assert(sizeof(struct hp_pub_header) == 256, "hp_pub_header layout");
_Static_assert(HP_PUB_RECORD_HEAD == 256, "hp_pub_record layout");
_Static_assert(sizeof(struct hp_pub_record) == 256 + HP_PUB_NODES * 32, "hp_pub_record size");

enum pub_state {
	PUB_OFF = 0,		/* no file yet */
	PUB_BUSY,		/* one thread is creating or re-creating it */
	PUB_READY,
	PUB_FAILED,		/* could not create it: stay quiet, try no more */
	PUB_DISABLED,		/* HUGEPOOL_PUBLISH=0 */
};

static int pub_state;
static struct hp_pub_header *pub_map;
static uint32_t pub_gen;		/* hp_fork_gen the file belongs to */
static pid_t pub_pid;
static unsigned int pub_nodes;		/* node entries worth copying */
static char pub_path[256];

/* Which pool owns which slot, in private memory: the pool struct belongs
 * to pool.c and the shared file must not hold pointers. */
static struct hugepool *pub_owner[HP_PUB_SLOTS];
static uint64_t pub_last[HP_PUB_SLOTS];	/* last refresh (ms), per slot */
static bool pub_pending[HP_PUB_SLOTS];	/* a refresh was throttled since */

static size_t str_append(char *dst, size_t off, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (off + n >= cap)
		return cap;
	memcpy(dst + off, s, n + 1);
	return off + n;
}

/* start time of this process in clock ticks (field 22 of /proc/self/stat),
 * so that a reader can tell our file from one left by an earlier holder of
 * the same pid. 0 if unreadable; the reader then relies on the pid alone. */
static uint64_t self_start_time(void)
{
	char buf[1024];
	const char *p;
	unsigned long v = 0;
	int field;

	if (hp_sys_read_file("/proc/self/stat", buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p)
		return 0;
	/* after ")" comes field 3 */
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (unsigned long)(*p++ - '0');
	return v;
}

static bool publish_enabled(void)
{
	const char *v = getenv("HUGEPOOL_PUBLISH");
	bool on = true;

	if (v && hp_parse_bool(v, &on))
		on = true;	/* options.c warns about HUGEPOOL_* typos; keep the default */
	return on;
}

/* Make our file and map it; NULL on failure. */
static struct hp_pub_header *pub_create(void)
{
	const char *dir = secure_getenv("HUGEPOOL_PUBLISH_DIR");
	struct hp_pub_header *h;
	char num[24];
	size_t off = 0;
	void *map;
	int fd, tries;

	if (!dir || !*dir)
		dir = HP_PUB_DIR;
	hp_fmt_ulong(num, (unsigned long)getpid());
	off = str_append(pub_path, off, sizeof(pub_path), dir);
	off = str_append(pub_path, off, sizeof(pub_path), "/" HP_PUB_PREFIX);
	off = str_append(pub_path, off, sizeof(pub_path), num);
	if (off >= sizeof(pub_path))
		return NULL;
	for (tries = 0; tries < 2; tries++) {
		fd = hp_sys_open(pub_path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		/* a file with our pid is stale: its process is dead, or it is
		 * this process before an exec */
		if (fd == -EEXIST && hp_sys_unlink(pub_path) == 0)
			continue;
		break;
	}
	if (fd < 0)
		return NULL;
	if (hp_sys_ftruncate(fd, (off_t)HP_PUB_FILE_SIZE) ||
	    hp_sys_mmap(NULL, HP_PUB_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, &map)) {
		hp_sys_close(fd);
		hp_sys_unlink(pub_path);
		return NULL;
	}
	hp_sys_close(fd);
	h = map;
	h->version = HP_PUB_VERSION;
	h->header_size = sizeof(struct hp_pub_header);
	h->record_size = sizeof(struct hp_pub_record);
	h->nr_slots = HP_PUB_SLOTS;
	h->pid = (int32_t)getpid();
	h->interval_ms = HP_PUB_INTERVAL_MS;
	h->start_time = self_start_time();
	str_append(h->lib_version, 0, sizeof(h->lib_version), HUGEPOOL_VERSION);
	__atomic_store_n(&h->magic, HP_PUB_MAGIC, __ATOMIC_RELEASE);
	pub_pid = getpid();
	pub_nodes = (unsigned int)hp_node_count();
	if (pub_nodes > HP_PUB_NODES)
		pub_nodes = HP_PUB_NODES;
	return h;
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

static void pub_write(struct hp_pub_record *rec, const struct hp_pub_record *val)
{
	uint64_t seq = __atomic_load_n(&rec->seq, __ATOMIC_RELAXED);
	size_t len = HP_PUB_RECORD_HEAD + val->nr_nodes * sizeof(struct hp_pub_node);

	__atomic_store_n(&rec->seq, seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* seq odd before any data */
	copy_words((uint64_t *)rec + 1, (const uint64_t *)val + 1, len - sizeof(uint64_t));
	__atomic_store_n(&rec->seq, seq + 2, __ATOMIC_RELEASE);
}

static void fill_record(struct hp_pub_record *r, const struct hugepool *p, uint64_t now)
{
	unsigned int n;

	r->in_use = 1;
	r->nr_nodes = pub_nodes;
	memcpy(r->name, p->name, sizeof(r->name));
	r->name[sizeof(r->name) - 1] = '\0';
	memset(r->parent, 0, sizeof(r->parent));
	if (p->parent)
		memcpy(r->parent, p->parent->name, sizeof(r->parent) - 1);
	r->page_size = p->h->size;
	r->nr_pages = p->nr_huge_pages;
	r->free_pages = p->free_huge_pages;
	r->resv_pages = p->resv_huge_pages;
	r->surplus_pages = p->surplus_huge_pages;
	r->min_pages = p->min_pages;
	r->max_pages = p->max_pages;
	r->allocs = p->stats.allocs;
	r->frees = p->stats.frees;
	r->fallbacks = p->stats.fallbacks;
	r->failures = p->stats.failures;
	r->bytes_requested = p->stats.bytes_requested;
	r->bytes_in_use = p->stats.bytes_in_use;
	r->bytes_peak = p->stats.bytes_peak;
	r->pages_faulted = p->stats.pages_faulted;
	r->pages_released = p->stats.pages_released;
	r->bytes_held = p->stats.bytes_held;
	r->updated_ms = now;
	for (n = 0; n < pub_nodes; n++) {
		r->node[n].nr_pages = p->nr_huge_pages_node[n];
		r->node[n].free_pages = p->free_huge_pages_node[n];
		r->node[n].resv_pages = p->resv_huge_pages_node[n];
		r->node[n].surplus_pages = p->surplus_huge_pages_node[n];
	}
}

static void pub_refresh(struct hp_pub_header *h, int slot, const struct hugepool *p,
			uint64_t now)
{
	/* static would race between pools; a record is ~2 KiB of stack */
	struct hp_pub_record r;

	fill_record(&r, p, now);
	pub_last[slot] = now;
	__atomic_store_n(&pub_pending[slot], false, __ATOMIC_RELAXED);
	pub_write(hp_pub_slot(h, (unsigned int)slot), &r);
}

void hp_publish_pool_add(struct hugepool *p)
{
	struct hp_pub_header *h = pub_get();
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
	pub_refresh(h, slot, p, hp_now_ms());
}

void hp_publish_pool_update(struct hugepool *p, bool force)
{
	struct hp_pub_header *h = pub_get();
	uint64_t now;
	int slot;

	if (!h || !p)
		return;
	slot = pub_find(p);
	if (unlikely(slot < 0)) {
		/* the add came while another thread was creating the file */
		slot = pub_claim(p);
		if (slot < 0)
			return;
		force = true;
	}
	now = hp_now_ms();
	if (!force && now - pub_last[slot] < HP_PUB_INTERVAL_MS) {
		__atomic_store_n(&pub_pending[slot], true, __ATOMIC_RELAXED);
		return;
	}
	pub_refresh(h, slot, p, now);
}

/* A burst of throttled updates leaves the record behind until the pool's
 * next update; this catches up every such pool. Takes hp_pools_lock and
 * each pool lock: call it with no pool lock held (a periodic thread, or
 * before printing stats). */
void hp_publish_flush(void)
{
	struct hugepool *p;
	int slot;

	if (__atomic_load_n(&pub_state, __ATOMIC_ACQUIRE) != PUB_READY)
		return;
	pthread_mutex_lock(&hp_pools_lock);
	for (p = hp_pools; p; p = p->next_pool) {
		slot = pub_find(p);
		if (slot < 0 || !__atomic_load_n(&pub_pending[slot], __ATOMIC_RELAXED))
			continue;
		hp_pool_lock(p);
		hp_publish_pool_update(p, true);
		hp_pool_op_end(p);
	}
	pthread_mutex_unlock(&hp_pools_lock);
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
	pub_write(hp_pub_slot(h, (unsigned int)slot), &r);
	pub_last[slot] = 0;
	__atomic_store_n(&pub_pending[slot], false, __ATOMIC_RELAXED);
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
 * run; the next holder of the pid or `stats` removes it). A destructor,
 * not atexit(): registering can allocate, and this may run inside malloc. */
__attribute__((destructor)) static void publish_fini(void)
{
	if (__atomic_load_n(&pub_state, __ATOMIC_ACQUIRE) != PUB_READY)
		return;
	if (pub_gen != __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED) || pub_pid != getpid())
		return;
	hp_sys_unlink(pub_path);
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
