/* SPDX-License-Identifier: MIT */
/*
 * internal.h - hidden cross-file interface of libhugepool, grouped by the
 * file that defines each part (mimalloc's internal.h layout).
 *
 * Vocabulary follows mm/hugetlb.c: an hstate is one huge page size; a pool
 * (struct hugepool) is this process's pool of pages of one size, with the
 * hstate's counters; a subpool is a pool whose pages come from a parent pool
 * under the kernel's hugepage_subpool accounting; a resv_map records the
 * populated ranges of a region.
 */
#ifndef HUGEPOOL_INTERNAL_H
#define HUGEPOOL_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <hugepool/hugepool.h>
#include "resv.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define HP_ALIGN_UP(x, a)	(((x) + ((a) - 1)) & ~((a) - 1))
#define HP_ALIGN_DOWN(x, a)	((x) & ~((a) - 1))
#define hp_cold		__attribute__((cold))

#define HP_MAX_NODES	64	/* nodes a pool can place pages on */
#define HP_MAX_HSTATES	8
#define HP_FREE_BINS_A	32	/* log2 bins of empty runs */

/* ------------------------------------------------------------------------
 * sys.c: every kernel call of the library. Every function returns 0 (or a
 * count) on success and -errno on failure, leaving errno alone, so that a
 * test can fail any call site through hp_sys_inject.
 * ------------------------------------------------------------------------ */
enum hp_sys_call {
	HP_SYS_MMAP, HP_SYS_MUNMAP, HP_SYS_MREMAP, HP_SYS_MADVISE,
	HP_SYS_MBIND, HP_SYS_SET_MEMPOLICY, HP_SYS_GET_MEMPOLICY,
	HP_SYS_MOVE_PAGES, HP_SYS_MEMFD_CREATE, HP_SYS_FALLOCATE,
	HP_SYS_FTRUNCATE, HP_SYS_OPEN, HP_SYS_READ, HP_SYS_WRITE,
	HP_SYS_FCNTL, HP_SYS_IO_URING_REGISTER, HP_SYS_MPROTECT, HP_SYS_SHMGET,
	HP_SYS_NR_CALLS
};
extern const char *const hp_sys_call_names[HP_SYS_NR_CALLS];

/* Test hook: when set, called before each syscall; a negative return is
 * returned instead of making the call. NULL in production. */
extern int (*volatile hp_sys_inject)(enum hp_sys_call call);

int hp_sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off,
		void **out);
int hp_sys_munmap(void *addr, size_t len);
int hp_sys_mremap(void *old, size_t old_len, size_t new_len, int flags,
		  void *new_addr, void **out);
int hp_sys_madvise(void *addr, size_t len, int advice);
int hp_sys_mbind(void *addr, size_t len, int mode, const unsigned long *mask,
		 unsigned long maxnode, unsigned int flags);
int hp_sys_set_mempolicy(int mode, const unsigned long *mask, unsigned long maxnode);
int hp_sys_get_mempolicy(int *mode, unsigned long *mask, unsigned long maxnode,
			 void *addr, unsigned long flags);
int hp_sys_move_pages(unsigned long count, void **pages, int *status);
int hp_sys_memfd_create(const char *name, unsigned int flags);
int hp_sys_fallocate(int fd, int mode, off_t off, off_t len);
int hp_sys_ftruncate(int fd, off_t len);
/* fcntl(fd, F_ADD_SEALS, seals) */
int hp_sys_add_seals(int fd, unsigned int seals);
/* fcntl(fd, F_DUPFD_CLOEXEC, 3): a new fd or -errno */
int hp_sys_dupfd(int fd);
/* io_uring_register(2), retried on EINTR: >= 0 or -errno */
int hp_sys_io_uring_register(int fd, unsigned int op, const void *arg, unsigned int nr);
/* Diagnostics for an error message: CAP_IPC_LOCK is effective; the soft
 * RLIMIT_MEMLOCK (LONG_MAX: unlimited; -1: unknown). */
bool hp_sys_cap_ipc_lock(void);
long hp_sys_memlock_limit(void);
/* Whole small files (sysfs, procfs): bytes read, or -errno. NUL-terminated. */
long hp_sys_read_file(const char *path, char *buf, size_t len);
long hp_sys_write_file(const char *path, const char *buf, size_t len);
int hp_sys_read_ulong(const char *path, unsigned long *out);
/* write(2) all of buf, retrying on EINTR and short writes. */
long hp_sys_write_all(int fd, const void *buf, size_t len);
void hp_sys_close(int fd);
long hp_sys_list_dir(const char *path, void (*fn)(const char *name, void *arg), void *arg);
/* segments.c and shm.c: protections of a remapped segment, the
 * SHM_HUGETLB attempt, and the signal mask around a segment's swap (not
 * injected: sigprocmask cannot fail with valid arguments). */
int hp_sys_mprotect(void *addr, size_t len, int prot);
int hp_sys_shmget(int key, size_t size, int flags);	/* id or -errno */
int hp_sys_block_signals(sigset_t *old);	/* all of them */
int hp_sys_restore_signals(const sigset_t *old);
/* Page size of the mapping containing addr from /proc/self/smaps
 * (KernelPageSize, bytes), or -errno. For tests and the CLI, not hot paths. */
long hp_sys_kernel_page_size(const void *addr);

/* ------------------------------------------------------------------------
 * fork.c: the one pthread_atfork registration; modules register hooks,
 * run by layer (prepare from the highest down, parent and child up)
 * ------------------------------------------------------------------------ */
enum { HP_LAYER_META = 1, HP_LAYER_POOL = 3, HP_LAYER_DECAY = 4, HP_LAYER_CONSUMER = 5,
       HP_LAYER_FACES = 6 };
void hp_atfork_register(int level, void (*prepare)(void), void (*parent)(void),
			void (*child)(void));

/* ------------------------------------------------------------------------
 * hstate.c: the huge page sizes the kernel offers, and their counters
 * ------------------------------------------------------------------------ */
struct hp_hstate {
	size_t size;		/* bytes */
	unsigned int shift;	/* log2(size) */
	int mmap_flags;		/* MAP_HUGETLB | shift << MAP_HUGE_SHIFT */
	char name[32];		/* "hugepages-2048kB" */
};

/* Root of the sysfs/procfs trees ("" normally; a fake tree in tests).
 * Must be set before the first discovery. */
extern const char *hp_sysfs_root;

int hp_hstate_init(void);		/* idempotent; 0 or -errno */
void hp_hstate_reset(void);		/* tests: forget discovery */
int hp_hstate_count(void);
const struct hp_hstate *hp_hstate_get(int idx);
/* 0: the default size. NULL if the kernel lacks that size. */
const struct hp_hstate *hp_size_to_hstate(size_t size);
const struct hp_hstate *hp_default_hstate(void);
int hp_hstate_read_counters(const struct hp_hstate *h, int node,
			    struct hugepool_counters *out);
/* sysfs directory of an hstate (node < 0: global) into buf. */
int hp_hstate_path(const struct hp_hstate *h, int node, const char *file,
		   char *buf, size_t len);

/* ------------------------------------------------------------------------
 * node.c: NUMA topology through libnuma
 * ------------------------------------------------------------------------ */
typedef struct {
	unsigned long bits[HP_MAX_NODES / (8 * sizeof(unsigned long))];
} hp_nodemask_t;

static inline void hp_nodemask_set(hp_nodemask_t *m, int n)
{
	m->bits[n / (8 * sizeof(unsigned long))] |= 1UL << (n % (8 * sizeof(unsigned long)));
}
static inline bool hp_nodemask_test(const hp_nodemask_t *m, int n)
{
	if (n < 0 || n >= HP_MAX_NODES)
		return false;
	return m->bits[n / (8 * sizeof(unsigned long))] & (1UL << (n % (8 * sizeof(unsigned long))));
}
int hp_nodemask_weight(const hp_nodemask_t *m);
bool hp_nodemask_empty(const hp_nodemask_t *m);
/* First set node at or after n, wrapping; -1 if empty. */
int hp_nodemask_next(const hp_nodemask_t *m, int n);

int hp_node_count(void);		/* highest configured node + 1 */
bool hp_node_exists(int node);		/* node has memory */
/* The nodes with memory that this task may use. */
void hp_node_allowed(hp_nodemask_t *out);
/* Parse a libnuma node string ("0", "0-3", "all", "!1"...). NULL: allowed
 * nodes. -EINVAL on a string libnuma rejects or a node without memory. */
int hp_node_parse(const char *str, hp_nodemask_t *out);
/* Node of the page at addr, or -errno. */
int hp_node_of(void *addr);
/* Nodes of n pages at addr + i * stride (one move_pages call). */
int hp_node_of_pages(void *addr, size_t stride, unsigned long n, int *nodes);
/* Format a mask as "0-2,5" into buf. */
void hp_nodemask_format(const hp_nodemask_t *m, char *buf, size_t len);

/* ------------------------------------------------------------------------
 * meta.c: metadata memory that never goes through malloc (the library is
 * also the process malloc when preloaded)
 * ------------------------------------------------------------------------ */
void *hp_meta_zalloc(size_t size);	/* zeroed, or NULL */
void *hp_meta_alloc_part(size_t size, size_t zero);	/* its first zero bytes zeroed */
void hp_meta_free(void *p, size_t size);
/* Large zero-filled arrays mapped straight from the kernel (lazily backed). */
void *hp_meta_map(size_t size);
void hp_meta_unmap(void *p, size_t size);
/* munmap of [p, p + len) failed: give back what it holds anyway */
void hp_release_mapping(void *p, size_t len);


/* ------------------------------------------------------------------------
 * util.c: parsing shared by the library, the preload and hugepool-ctl
 * ------------------------------------------------------------------------ */
/* "2M", "1G", "4096", "2MB", "1GiB", "512k" -> bytes. -EINVAL/-ERANGE. */
int hp_parse_size(const char *s, size_t *out);
/* Pages or memory: "512" (pages) or "1G" (bytes / page_size, rounded up). */
int hp_parse_pages(const char *s, size_t page_size, size_t *out);
/* "1", "yes", "on", "true" / "0", "no", "off", "false". -EINVAL otherwise. */
int hp_parse_bool(const char *s, bool *out);
/* Unsigned decimal with no junk. */
int hp_parse_ulong(const char *s, unsigned long *out);
/* 2097152 -> "2M", 1073741824 -> "1G", 4096 -> "4K" */
void hp_format_size(size_t bytes, char *buf, size_t len);
/* Field 22 of /proc/<pid>/stat (pid 0: self), 0 if unreadable. */
uint64_t hp_proc_start_time(int pid);
/* Tiny formatting without stdio (safe inside malloc). */
size_t hp_fmt_ulong(char *buf, unsigned long v);
void hp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* strerror for the library: never translated, so it takes none of the
 * locale locks that strerror's gettext takes (a malloc called under
 * bindtextdomain's write lock must not take it again) */
const char *hp_errstr(int err);
extern int hp_verbose;			/* HUGEPOOL_VERBOSE */
static inline uint64_t hp_now_ms(void);

/* ------------------------------------------------------------------------
 * pool.c: the hstate pool engine
 * ------------------------------------------------------------------------ */

/* A slot is one huge-page-aligned address of a pool's arena. Its state says
 * what is there; runs of slots (extents) carry their length at both ends so
 * neighbours coalesce in O(1). Kept out of line: no header ever sits in
 * front of a block. */
enum hp_slot_state {
	HP_SLOT_EMPTY = 0,	/* placeholder: PROT_NONE, no page */
	HP_SLOT_FREE,		/* page on a free list of its pool */
	HP_SLOT_USED,		/* part of a block of whole pages */
	HP_SLOT_MIXED,		/* page carved into granules for small blocks */
	HP_SLOT_REGION,		/* inside a region's address range */
	HP_SLOT_LOST,		/* address taken by someone else; never used */
};

#define HP_SLOT_F_DIRTY		0x01	/* page handed out since the kernel zeroed it */
#define HP_SLOT_F_PAGE		0x02	/* a page is mapped here */
#define HP_SLOT_F_BASE		0x04	/* base pages (fallback), not a huge page */
#define HP_SLOT_F_SURPLUS	0x08	/* counted in surplus_huge_pages_node */

struct hp_mixed;
struct hp_heap_pool;
struct hugepool_region;

struct hp_slot {
	uint8_t state;
	uint8_t flags;
	int16_t node;		/* node of the page, -1 if none */
	uint32_t gen;		/* fork generation the page was made private in */
	uint32_t run;		/* at both ends of a run: its length in slots */
	uint32_t head;		/* USED/REGION: index of the run's first slot */
	union {
		uint32_t stamp;	/* FREE head: when freed (ms, wraps) */
		uint32_t frag;	/* USED head: granules of its block at the
				 * end of the MIXED page before the run
				 * (alloc.c); such a head is no block start */
	};
	uint32_t fpage;		/* HUGEPOOL_SHARED: file page mapped here */
	struct hugepool *owner;	/* pool that holds the page (FREE/USED/MIXED/REGION) */
	union {
		size_t req;		/* USED head: bytes requested */
		struct hp_mixed *mixed;	/* MIXED */
		struct hugepool_region *region;	/* REGION */
		struct hp_slot *next_free; /* FREE head: free list link */
	};
	struct hp_slot *prev_free;	/* FREE head: free list link */
};

/* The address window of a root pool: every page of the pool and of its
 * subpools sits at a slot of it. */
struct hp_arena {
	char *base;		/* first slot, aligned to the page size */
	size_t nslots;
	size_t shift;		/* log2 of the slot size */
	char *map;		/* the reserved window as mapped */
	size_t map_len;
	struct hp_slot *slots;
	struct hp_slot *empty_bins[HP_FREE_BINS_A]; /* EMPTY runs by log2(length) */
	bool base_pages;	/* 4 KiB anonymous memory (fallback, or a test pool) */
	bool fallback;		/* the pool's HUGEPOOL_FALLBACK window */
	int fd;			/* HUGEPOOL_SHARED: hugetlb memfd, slot i at i << shift */
	int32_t *slot_fd;	/* HUGEPOOL_SHARED: file of each slot's page, fd + 1
				 * (a region's own, region.c); 0: fd above */
	struct hugepool *pool;	/* root pool */
	uint32_t gen;		/* hp_fork_gen at creation (see hp_arena_foreign) */
};

#define HP_FREE_BINS	16	/* free extents binned by log2(length) */

struct hp_freelist {		/* per node: hugepage_freelists[nid] */
	struct hp_slot *bins[HP_FREE_BINS];
	size_t pages;
};

/* Activity counters, one X-macro list (mimalloc stats style). */
#define HP_STAT_FIELDS(X)	\
	X(allocs)		\
	X(frees)		\
	X(fallbacks)		\
	X(failures)		\
	X(bytes_requested)	\
	X(bytes_in_use)		\
	X(bytes_peak)		\
	X(pages_faulted)	\
	X(pages_released)	\
	X(pages_moved)		\
	X(region_reserves)	\
	X(region_populates)	\
	X(region_releases)	\
	X(bytes_held)		\
	X(bytes_zeroed)

struct hp_stats {
#define X(name) uint64_t name;
	HP_STAT_FIELDS(X)
#undef X
};

struct hugepool {
	pthread_mutex_t *lock;		/* the root's lock; subpools share it */
	pthread_mutex_t lock_storage;
	struct hugepool *parent;	/* NULL: root (pages come from the kernel) */
	struct hugepool *root;
	const struct hp_hstate *h;
	struct hp_arena *arena;		/* root's arena */
	struct hp_arena *fb_arena;	/* root's fallback arena (HUGEPOOL_FALLBACK) */
	struct hugepool_config cfg;
	hp_nodemask_t nodes;		/* allowed nodes */
	int next_nid_to_alloc;
	long decay_ms;

	/* hstate counters (pages) */
	size_t nr_huge_pages;
	size_t free_huge_pages;		/* includes resv_huge_pages */
	size_t resv_huge_pages;
	size_t surplus_huge_pages;
	size_t min_pages;		/* persistent target */
	size_t max_pages;		/* 0: no cap */
	size_t nr_huge_pages_node[HP_MAX_NODES];
	size_t free_huge_pages_node[HP_MAX_NODES];
	size_t resv_huge_pages_node[HP_MAX_NODES];
	size_t surplus_huge_pages_node[HP_MAX_NODES];

	/* pages physically on this pool's free lists (free minus those
	 * reserved inside regions) */
	struct hp_freelist freelists[HP_MAX_NODES];
	size_t nr_subpools;
	int decay_hold;			/* > 0: keep free pages (moving between pools) */
	uint64_t last_free_ms;		/* when the free lists last grew */

	struct hp_subpool_acct {	/* struct hugepage_subpool (subpools) */
		long max_hpages;	/* -1: no maximum */
		long min_hpages;	/* -1: no minimum */
		long used_hpages;	/* pages charged: in use + reserved */
		long rsv_hpages;	/* min pages reserved but not charged */
	} spool;

	struct hp_mixed *mixed_partial;	/* MIXED pages with free granules */
	struct hp_mixed *fb_mixed_partial;
	struct hp_heap_pool *heap;	/* small-object heap (heap*.c), or NULL */
	struct hugepool_region *regions;

	struct hp_stats stats;
	struct hugepool *next_pool;	/* process list of pools */
	struct hugepool *prev_pool;
	char name[32];
};

/* Kernel-style subpool accounting (pure; subpool.c). Return the pages the
 * parent must provide / take back, or -ENOMEM. */
long hp_subpool_get_pages(struct hp_subpool_acct *spool, long delta);
long hp_subpool_put_pages(struct hp_subpool_acct *spool, long delta);
void hp_subpool_init(struct hp_subpool_acct *spool, long min_hpages, long max_hpages);

/* Process-wide registry: address -> arena in O(1) without syscalls. */
struct hp_arena *hp_arena_lookup(const void *addr);

void hp_pool_lock(struct hugepool *pool);
void hp_pool_unlock(struct hugepool *pool);
/* pool locks the calling thread holds (a free from a signal handler that
 * interrupted the allocator must not wait for one of them) */
extern __thread unsigned int hp_tl_pool_locks __attribute__((tls_model("initial-exec")));
/* An operation on pool ends: watchers are told (lock held), then unlock. */
void hp_pool_op_end(struct hugepool *pool);

/* The layers above watch pools (publish.c: the live stats file) and tear
 * down what they hold in them (alloc.c: blocks; region.c: regions) through
 * hooks they register; the engine never calls them by name. */
struct hp_pool_watch {
	void (*added)(struct hugepool *p);		/* lock held */
	void (*removed)(struct hugepool *p);		/* lock held */
	void (*changed)(struct hugepool *p, bool force);	/* lock held */
	void (*flush)(void);				/* no pool lock held */
};
struct hp_pool_consumer {
	void (*destroy_all)(struct hugepool *p);	/* at destroy, lock held */
	bool (*busy)(const struct hugepool *p);		/* keeps p from destroy */
	void (*trim)(struct hugepool *p);	/* hugepool_trim: give back what
						 * the calling thread caches; lock held */
};
void hp_pool_set_watch(const struct hp_pool_watch *w);
void hp_pool_add_consumer(const struct hp_pool_consumer *c);
void hp_pool_watch_added(struct hugepool *pool);
void hp_pool_watch_removed(struct hugepool *pool);
void hp_pool_watch_changed(struct hugepool *pool, bool force);
void hp_pool_watch_flush(void);

/* Take npages contiguous pages for pool (lock held): from its free lists,
 * from the parent, or fresh from the kernel, placed per the pool's policy.
 * align: slot alignment (power of two, in slots). Returns the first slot
 * index or -errno; the slots are USED and owned by pool on return. */
long hp_pool_take_run(struct hugepool *pool, size_t npages, size_t align);
/* The same for a root pool from its free lists only (nothing faulted or
 * moved): -ENOMEM if no free extent is long enough. */
long hp_pool_take_free(struct hugepool *root, size_t npages, size_t align);
/* Give back a run of USED/MIXED slots of pool to its free lists (lock held). */
void hp_pool_put_run(struct hugepool *pool, struct hp_arena *a, size_t first, size_t npages);
/* Extend a USED run at first (npages) in place by extra pages. 0 or -errno. */
int hp_pool_grow_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		     size_t npages, size_t extra);
/* pool-gather.c: n pages for a root pool at a new run of slots, its free
 * pages of shorter extents moved there (mremap) before fresh ones are
 * faulted. First index or -ENOMEM (lock held). */
long hp_pool_gather_run(struct hugepool *root, size_t n, size_t align);
/* The same at [first, first + n), EMPTY slots with first the head of
 * their run: 0 or -ENOMEM (nothing changed). */
int hp_pool_fill_at(struct hugepool *root, size_t first, size_t n);
/* Move a run's pages (mremap) to a new run of new_npages; 0 or -errno. */
long hp_pool_move_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		      size_t npages, size_t new_npages);
/* Zero the pages of a run that are dirty (calloc, region populate);
 * returns how many it zeroed (pages fresh from the kernel are not). */
size_t hp_pool_zero_run(struct hp_arena *a, size_t first, size_t npages);
/* Unit tests: a pool on base pages (no huge pages needed). */
struct hugepool *hp_pool_create_fake(const struct hugepool_config *cfg);
/* Check the counter invariants; 0 or -EUCLEAN with a message at verbose. */
int hp_pool_check(const struct hugepool *pool);
/* Return unused surplus pages whose decay expired (lock held). */
long hp_pool_decay(struct hugepool *pool, uint64_t now_ms, bool force);
/* Undo the growth of a failed call: free surplus pages of the root beyond
 * nr_before go back to the kernel now (lock held). */
void hp_shrink_back(struct hugepool *pool, size_t nr_before);

/* ------------------------------------------------------------------------
 * The engine's own interface, file by file (every call with the root's
 * lock held). Lower files never call higher ones: arena < freelist <
 * fault < decay, move < pool (scripts/check-layers.sh).
 * ------------------------------------------------------------------------ */
/* arena.c: the window, the registry, EMPTY runs */
unsigned int hp_bin_of(size_t n, unsigned int nbins);
void hp_run_set_len(struct hp_arena *a, size_t first, size_t n);
void hp_ext_link(struct hp_slot **bins, unsigned int nbins, struct hp_slot *head, size_t n);
void hp_ext_unlink(struct hp_slot **bins, unsigned int nbins, struct hp_slot *head);
long hp_ext_find(struct hp_arena *a, struct hp_slot **bins, unsigned int nbins,
		 size_t n, size_t align, size_t *start);
void hp_empty_insert(struct hp_arena *a, size_t first, size_t n);
void hp_empty_remove(struct hp_arena *a, size_t idx);
long hp_empty_take(struct hp_arena *a, size_t n, size_t align);
int hp_empty_take_at(struct hp_arena *a, size_t first, size_t n);
size_t hp_window_slots(size_t shift, size_t max_pages);
struct hp_arena *hp_arena_create(size_t shift, size_t nslots, bool base_pages, bool shared,
				 const char *name);
void hp_arena_destroy(struct hp_arena *a);

/* freelist.c: counters and per-node free lists */
void hp_pool_acct(struct hugepool *pool, int node, long dnr, long dfree, long dresv);
void hp_surplus_added(struct hugepool *pool, int node);
void hp_surplus_removed(struct hugepool *pool, int node);
void hp_surplus_readjust(struct hugepool *pool);
void hp_free_insert(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n,
		    int node, uint32_t stamp);
void hp_free_carve(struct hugepool *pool, struct hp_arena *a, size_t head, size_t start, size_t n);
int hp_node_order(struct hugepool *pool, int *order);
long hp_free_take(struct hugepool *pool, struct hp_arena *a, size_t n, size_t align);
/* Head of a free extent of pool on one of the k nodes of order (NULL: any
 * node), the shortest first; -1 if none. */
long hp_free_head_any(const struct hugepool *pool, const int *order, int k);

/* fault.c: pages into and out of slots */
struct hp_ffile {	/* a shared arena's page: page fp of file fd */
	int fd;
	uint32_t fp;
};
void hp_unmap_pages(struct hp_arena *a, size_t first, size_t n);
int hp_fault_run(struct hugepool *root, struct hp_arena *a, size_t first, size_t n);
int hp_fault_run_in(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		    const struct hp_ffile *ff);
int hp_move_page(struct hp_arena *a, size_t src, size_t dst);
int hp_fault_base(struct hp_arena *a, size_t first, size_t n);
/* a slot whose page was moved out becomes address space again */
void hp_vacate(struct hp_arena *a, size_t idx);
int hp_pool_fault_at(struct hugepool *root, struct hp_arena *a, size_t first, size_t n);
int hp_pool_privatize(struct hp_arena *a, size_t first, size_t npages);
/* HUGEPOOL_SHARED arenas: the page of src is replaced by a fresh one at
 * dst (src itself: in place), in page fp of file fd (fd < 0: the pool's
 * memfd, page dst); counters unchanged. 0 or -ENOMEM. */
int hp_pool_refault_page(struct hugepool *pool, struct hp_arena *a, size_t src, size_t dst,
			 int fd, uint32_t fp);

/* decay.c */
void hp_decay_kick(struct hugepool *root);
void hp_decay_wake(void);
/* Undo the growth of a failed call: free surplus pages of the root beyond
 * nr_before go back to the kernel now. */
void hp_shrink_back(struct hugepool *pool, size_t nr_before);

/* (freelist.c) take pages off pool's free lists into USED state */
void hp_took_from_free(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n);
/* (fault.c) update_and_free_page for a root's run taken off its lists */
void hp_root_release(struct hugepool *root, struct hp_arena *a, size_t first, size_t n);

/* pool.c */
void hp_pool_drop_page(struct hugepool *pool, struct hp_arena *a, size_t idx);

/* hooks.c: the pool list, the pool lock, and the hooks of the layers above */
void hp_pool_list_add(struct hugepool *pool);
void hp_pool_list_del(struct hugepool *pool);
bool hp_pool_consumers_busy(const struct hugepool *pool);
void hp_pool_consumers_drain(struct hugepool *pool);
void hp_pool_consumers_trim(struct hugepool *pool);

static inline void *hp_slot_addr(const struct hp_arena *a, size_t idx)
{
	return a->base + (idx << a->shift);
}
static inline size_t hp_slot_index(const struct hp_arena *a, const void *p)
{
	return (size_t)((const char *)p - a->base) >> a->shift;
}

/* pool list, atfork */
extern pthread_mutex_t hp_pools_lock;
extern struct hugepool *hp_pools;	/* all live pools */
extern uint32_t hp_fork_gen;		/* bumped in every child */

/* A HUGEPOOL_SHARED arena inherited across fork: its file is the parent's
 * too, and the parent goes on handing out and giving back its pages. The
 * child must not take pages from it (both would hand out the same file
 * page) nor punch holes in it (the parent's data would go). */
static inline bool hp_arena_foreign(const struct hp_arena *a)
{
	return a->fd >= 0 && a->gen != __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * window.c: the arena's address window stays mapped by the pool (a
 * placeholder or a page at every slot) for as long as the arena lives
 * ------------------------------------------------------------------------ */
/* Map a placeholder over [first, first + n): MAP_FIXED over the pool's own
 * pages, or MAP_FIXED_NOREPLACE where a failed call may have left a hole. */
int hp_window_placeholder(struct hp_arena *a, size_t first, size_t n, bool noreplace);
/* Give up slots whose placeholder cannot be vouched for: LOST for good. */
void hp_window_lose(struct hp_arena *a, size_t first, size_t n);
/* Cover a range a failed call may have left unmapped, or lose it. */
int hp_window_recover(struct hp_arena *a, size_t first, size_t n);
/* Map n slots' worth of pages at [first, first + n): mmap (prot, flags, fd,
 * off) where the kernel likes, populate it if asked, then mremap it over the
 * placeholder. 0, or -errno with the window as it was (or the range LOST). */
int hp_window_map(struct hp_arena *a, size_t first, size_t n, int prot, int flags,
		  int fd, off_t off, bool populate);
/* Pages at [first, first + n) go back to the kernel; a placeholder stays. */
void hp_window_clear(struct hp_arena *a, size_t first, size_t n);
/* Move the page at src over dst, which holds a page of the pool's (it goes):
 * 0; 1 if src could not be covered again (the caller marks it LOST);
 * -errno if nothing moved. If the kernel took dst's page away and still
 * failed, dst is covered again (or LOST) and -EIO says the page is gone. */
int hp_window_replace(struct hp_arena *a, size_t src, size_t dst);
/* Move the page at src over the placeholder at dst (mremap) and cover src
 * again: 0, 1 if src could not be covered (the caller marks it LOST),
 * -errno if nothing moved. */
int hp_window_move(struct hp_arena *a, size_t src, size_t dst);

/* ------------------------------------------------------------------------
 * alloc.c: blocks on top of the engine
 * ------------------------------------------------------------------------ */
void *hp_alloc(struct hugepool *pool, size_t size, size_t align, bool zero);
void hp_free_in(struct hp_arena *a, void *ptr);
size_t hp_usable_in(struct hp_arena *a, const void *ptr);
/* region.c for uring.c: pin count (+/-), populated pages of [f, t) */
int hp_region_pin(struct hugepool_region *r, int delta);
long hp_region_populated(struct hugepool_region *r, long f, long t);

/* ------------------------------------------------------------------------
 * options.c: HUGEPOOL_* environment
 * ------------------------------------------------------------------------ */
struct hp_options {
	size_t page_size;
	size_t min_pages;
	size_t max_pages;
	const char *min_str;		/* raw, resolved once the page size is known */
	const char *max_str;
	const char *nodes;
	enum hugepool_policy policy;
	size_t threshold;
	bool fallback;
	int verbose;
	int stats;			/* 0 none, 1 text, 2 json */
	const char *stats_file;
	long decay_ms;
	int malloc_mode;		/* HUGEPOOL_MALLOC: -1 unset (auto), 0, 1 */
	bool publish;			/* HUGEPOOL_PUBLISH (default on) */
	unsigned int segments;		/* HP_SEG_* bits: which segments to remap */
	bool shm;			/* shmget gets SHM_HUGETLB */
	const char *segments_libs;	/* HUGEPOOL_SEGMENTS_LIBS: fnmatch pattern, or NULL */
	const char *publish_dir;	/* HUGEPOOL_PUBLISH_DIR, or NULL */
	bool secure;			/* AT_SECURE: the environment was ignored */
	const char *hugetlb_path;	/* HUGETLB_PATH: the compat library's mount */
};
/* shm.c (the preload's shmget): SysV segments made on huge pages, and
 * those the kernel refused (base pages instead) */
void hp_shm_counts(unsigned long *huge, unsigned long *fallbacks);
#define HP_SEG_TEXT	0x1	/* the read-only PT_LOAD segments (text, rodata) */
#define HP_SEG_DATA	0x2	/* a writable segment's file-backed part */
#define HP_SEG_BSS	0x4	/* ... and the rest of its memory size */
extern struct hp_options hp_opt;
void hp_options_init(void);		/* idempotent */
void hp_options_defaults(struct hp_options *opt);	/* as hp_opt starts */
/* Parse the variables get() returns into opt, which holds the defaults
 * (the process: getenv into hp_opt; tests/fuzz: a table), and resolve the
 * default pool's configuration from parsed options. */
typedef const char *(*hp_getenv_fn)(const char *name);
void hp_options_parse(struct hp_options *opt, hp_getenv_fn get);
void hp_options_config(const struct hp_options *opt, struct hugepool_config *cfg);
long hp_opt_decay_ms(void);		/* HUGEPOOL_DECAY_MS, or the default */
/* compat-env.c: libhugetlbfs's HUGETLB_* mapped into opt after the
 * HUGEPOOL_* table (which wins); exe NULL: this program's argv[0]. */
void hp_compat_env_parse(struct hp_options *opt, hp_getenv_fn get, const char *exe);
/* Is exe one of the colon-separated names of list (HUGETLB_RESTRICT_EXE)? */
bool hp_compat_exe_listed(const char *list, const char *exe);
struct hugepool *hp_default_pool_peek(void);	/* NULL until created */

/* ------------------------------------------------------------------------
 * stats.c
 * ------------------------------------------------------------------------ */
int hp_stats_write(const struct hugepool *pool, int fd, unsigned int flags);

#include <time.h>
static inline uint64_t hp_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------
 * publish.c: live pool counters for `hugepool-ctl stats`
 *
 * The first pool a process creates makes <dir>/hugepool-<euid>/hugepool.<pid>
 * (<dir>: /dev/shm or HUGEPOOL_PUBLISH_DIR; the directory 0700 and the file
 * 0600, both checked and created without following symlinks), a fixed
 * layout mapped MAP_SHARED: a header and HP_PUB_SLOTS records, one per
 * pool. Every pool operation refreshes its record's counters under the
 * pool lock; other processes read a record under its own seqlock, so
 * neither side ever blocks the other. The writer uses this build's layout,
 * never the header's sizes (anyone who can write the file can change
 * them); the reader copies the file with pread and validates the copy.
 * The file is unlinked at exit; files of processes that died without
 * exiting are removed by the next process of that user that publishes, a
 * few at a time, and by `stats`. The layout is an ABI between the library
 * and the tool: change it only together with HP_PUB_VERSION.
 * ------------------------------------------------------------------------ */
#define HP_PUB_MAGIC		0x4c4f4f5045475548ULL	/* "HUGEPOOL" */
#define HP_PUB_VERSION		2	/* 2: every HP_STAT_FIELDS counter */
#define HP_PUB_SLOTS		64
#define HP_PUB_NODES		HP_MAX_NODES
#define HP_PUB_DIR		"/dev/shm"	/* HUGEPOOL_PUBLISH_DIR overrides */
#define HP_PUB_PREFIX		"hugepool."
#define HP_PUB_DIR_PREFIX	"hugepool-"	/* + euid: the per-user directory */

struct hp_pub_header {
	uint64_t magic;		/* written last: a reader skips a file until then */
	uint32_t version;
	uint32_t header_size;
	uint32_t record_size;
	uint32_t nr_slots;
	int32_t pid;
	uint32_t interval_ms;	/* 0: every change is published */
	uint64_t start_time;	/* field 22 of /proc/<pid>/stat: a reused pid differs */
	uint64_t overflow;	/* pools left unpublished for want of a slot */
	char lib_version[32];
	uint64_t reserved[22];
};

struct hp_pub_node {
	uint64_t nr_pages, free_pages, resv_pages, surplus_pages;
};

struct hp_pub_record {
	uint64_t seq;		/* seqlock: odd while the writer is inside */
	uint32_t in_use;
	uint32_t nr_nodes;	/* valid entries of node[] */
	char name[32];
	char parent[32];	/* "" for a root pool */
	uint64_t page_size;
	uint64_t nr_pages, free_pages, resv_pages, surplus_pages, min_pages, max_pages;
	/* every activity counter, in HP_STAT_FIELDS order (one list: the
	 * record, its writer and every printer are made from it) */
#define X(name) uint64_t name;
	HP_STAT_FIELDS(X)
#undef X
	uint64_t updated_ms;	/* CLOCK_MONOTONIC_COARSE ms of the refresh */
	uint64_t reserved[7];
	struct hp_pub_node node[HP_PUB_NODES];
};

#define HP_PUB_RECORD_HEAD	offsetof(struct hp_pub_record, node)
#define HP_PUB_FILE_SIZE	HP_ALIGN_UP(sizeof(struct hp_pub_header) + \
				HP_PUB_SLOTS * sizeof(struct hp_pub_record), 4096UL)

/* Record i at this build's fixed offsets (never the header's sizes). */
static inline struct hp_pub_record *hp_pub_slot(struct hp_pub_header *h, unsigned int i)
{
	return (struct hp_pub_record *)((char *)h + sizeof(struct hp_pub_header)) + i;
}

/* The pools' watcher (registered with hooks.c), called with the pool lock
 * held. They never allocate, never block, and do nothing when publication
 * is off or failed. */
void hp_publish_pool_add(struct hugepool *p);
void hp_publish_pool_del(struct hugepool *p);
void hp_publish_pool_update(struct hugepool *p, bool force);
/* Records are refreshed by every operation and never behind: kept for the
 * watcher's interface (the decay thread, hugepool_stats_print). */
void hp_publish_flush(void);
/* Consistent copy of a record (reader side of the seqlock): 0, or -EAGAIN
 * if the writer kept it busy. Copies the head and nr_nodes node entries. */
int hp_publish_read_record(const struct hp_pub_record *rec, struct hp_pub_record *out);

/* sys.c seams publish.c needs (creating and removing its file) */
int hp_sys_open(const char *path, int flags, mode_t mode);	/* fd or -errno */
int hp_sys_unlink(const char *path);
/* ... and the per-user directory, created and checked through descriptors */
struct stat;
int hp_sys_mkdir(const char *path, mode_t mode);
int hp_sys_openat(int dirfd, const char *name, int flags, mode_t mode);
int hp_sys_unlinkat(int dirfd, const char *name);
int hp_sys_fstat(int fd, struct stat *st);
int hp_sys_fchmod(int fd, mode_t mode);
bool hp_sys_pid_alive(pid_t pid);	/* false only for a pid that is gone */
int hp_sys_rmdir(const char *path);
int hp_sys_getrandom(void *buf, size_t len);
/* compat/: statfs(2)'s f_type and f_bsize of path. 0 or -errno. */
int hp_sys_statfs(const char *path, long *type, long *bsize);

/* ------------------------------------------------------------------------
 * cgroup.c: the hugetlb cgroup of this process (v2 and v1): limits, usage,
 * refusals, and the pages it still allows. No allocation, no FILE: safe
 * inside malloc. Paths are below hp_sysfs_root (a fake tree in tests).
 * ------------------------------------------------------------------------ */
#define HP_CG_PATH	512

struct hp_cgroup_loc {
	int version;			/* 1 or 2 */
	char dir[HP_CG_PATH];		/* the group's directory */
	size_t mnt_len;			/* strlen of the hierarchy's mount point */
};

/* One size in one group; bytes. Unlimited limits read ULLONG_MAX. */
struct hp_cgroup_hugetlb {
	int version;
	bool has_limit;			/* .max / .limit_in_bytes exists (not the root) */
	bool limit_unlimited, rsvd_unlimited;
	bool has_rsvd;			/* reservation accounting (kernel 5.7+) */
	bool has_events, has_rsvd_events;
	unsigned long long limit, usage;	/* faulted pages */
	unsigned long long rsvd_limit, rsvd_usage;	/* reservations */
	unsigned long long events_max;	/* v2 events "max", v1 failcnt */
	unsigned long long rsvd_events;	/* v1 rsvd.failcnt */
};

/* "2MB", "1GB": how the kernel names a size in hugetlb.<size>.* */
void hp_cgroup_size_name(size_t size, char *buf, size_t len);
/* The calling process's hugetlb group: 0, or -ENOENT without a controller.
 * The hierarchy's mount point is looked up once per process; the group
 * every time. */
int hp_cgroup_self(struct hp_cgroup_loc *loc);
/* The same on one hierarchy only (1 or 2): hugepool-ctl looks at both. */
int hp_cgroup_find(int version, struct hp_cgroup_loc *loc);
/* A group named by its directory (hugepool-ctl --cgroup PATH). */
int hp_cgroup_at(const char *dir, struct hp_cgroup_loc *loc);
/* One group's files for a size: 0 or -errno (-ENOENT: no controller there). */
int hp_cgroup_hugetlb_read(const char *dir, int version, size_t page_size,
			   struct hp_cgroup_hugetlb *out);
/* Pages of page_size the group and its ancestors would still let be
 * faulted and reserved: the smallest room over both counters and every
 * level. LONG_MAX when nothing limits (or nothing can be read). */
long hp_cgroup_hugetlb_room_at(const struct hp_cgroup_loc *loc, size_t page_size);
/* The same for the calling process, its group read afresh on every call
 * (about 20 us: call it when planning growth, not per allocation). */
long hp_cgroup_hugetlb_room(size_t page_size);
/* Tests: forget the hierarchy mounts found (a new fake tree). */
void hp_cgroup_reset(void);

#endif /* HUGEPOOL_INTERNAL_H */
