/* SPDX-License-Identifier: MIT */
/*
 * hugepool: explicit huge pages (2 MiB, 1 GiB) managed inside the process the
 * way the kernel's hugetlb code manages them: a pool per page size with
 * per-node free lists, persistent and surplus pages, subpools with min/max
 * quotas, and reservation maps.
 *
 * Conventions
 *  - Functions returning int or long return >= 0 on success and -errno on
 *    failure; they leave errno alone.
 *  - Allocators (hugepool_malloc and friends, hugepool_create,
 *    hugepool_subpool, hugepool_region_reserve) return NULL and set errno,
 *    exactly like malloc.
 *  - Region sizes and offsets are bytes and must be multiples of the pool's
 *    page size (EINVAL otherwise).
 */
#ifndef HUGEPOOL_HUGEPOOL_H
#define HUGEPOOL_HUGEPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The version of this header (meson.build refuses to configure if they
 * differ from the project's version). hugepool_version() is the library's. */
#define HUGEPOOL_VERSION_MAJOR 0
#define HUGEPOOL_VERSION_MINOR 1
#define HUGEPOOL_VERSION_PATCH 0
/* #if HUGEPOOL_VERSION_NUMBER >= HUGEPOOL_VERSION_ENCODE(0, 2, 0) */
#define HUGEPOOL_VERSION_ENCODE(maj, min, patch) (((maj) << 16) | ((min) << 8) | (patch))
#define HUGEPOOL_VERSION_NUMBER \
	HUGEPOOL_VERSION_ENCODE(HUGEPOOL_VERSION_MAJOR, HUGEPOOL_VERSION_MINOR, \
				HUGEPOOL_VERSION_PATCH)

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define HUGEPOOL_EXPORT __attribute__((visibility("default")))
#define HUGEPOOL_NODISCARD __attribute__((warn_unused_result))
#define HUGEPOOL_MALLOC_ATTR __attribute__((malloc))
#else
#define HUGEPOOL_EXPORT
#define HUGEPOOL_NODISCARD
#define HUGEPOOL_MALLOC_ATTR
#endif

/* ------------------------------------------------------------------------
 * Pools
 * ------------------------------------------------------------------------ */

#define HUGEPOOL_NODE_ANY (-1)

enum hugepool_policy {		/* where pages come from */
	HUGEPOOL_POLICY_DEFAULT = 0,	/* the task's policy (usually local) */
	HUGEPOOL_POLICY_PREFERRED,	/* nodes first, others if empty */
	HUGEPOOL_POLICY_BIND,		/* only nodes; ENOMEM if they are empty */
	HUGEPOOL_POLICY_INTERLEAVE,	/* round robin over nodes */
};

#define HUGEPOOL_FALLBACK (1u << 0) /* base pages when no huge page can be had */
#define HUGEPOOL_SHARED   (1u << 1) /* file-backed (hugetlb memfd), MAP_SHARED pages */

struct hugepool_config {
	size_t page_size;	/* 0: the kernel's default huge page size */
	size_t min_pages;	/* persistent: taken at creation, kept until destroy */
	size_t max_pages;	/* 0: no cap; pages above min_pages are surplus */
	enum hugepool_policy policy;
	const char *nodes;	/* libnuma node string: "0", "0-3", "all"; NULL: all allowed */
	unsigned int flags;
};

struct hugepool_counters {	/* same shape for a pool and for the kernel's hstate */
	size_t page_size;
	size_t nr_pages;	/* held: persistent + surplus (kernel: nr_hugepages) */
	size_t free_pages;	/* held, not in use; includes reserved (free_hugepages) */
	size_t resv_pages;	/* reserved, not yet populated (resv_hugepages) */
	size_t surplus_pages;	/* surplus_hugepages */
	size_t min_pages;	/* persistent target (kernel: nr_hugepages - surplus) */
	size_t max_pages;	/* cap (kernel: persistent + nr_overcommit_hugepages); 0 = none */
};

struct hugepool;

/* Create a pool; min_pages are taken from the kernel now (ENOMEM if they
 * cannot be). NULL + errno (EINVAL: bad size/node/min > max). */
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD
struct hugepool *hugepool_create(const struct hugepool_config *cfg);

/* A subpool carved from parent: min_pages are reserved from the parent now
 * (ENOMEM if they cannot be), max_pages (0: none) caps what it may hold. */
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD
struct hugepool *hugepool_subpool(struct hugepool *parent, size_t min_pages,
				  size_t max_pages);

/* Change min and max; growing min takes pages now, shrinking releases
 * unused ones. -EINVAL, -ENOMEM (nothing changed), -EBUSY (max below use). */
HUGEPOOL_EXPORT int hugepool_resize(struct hugepool *pool, size_t min_pages,
				    size_t max_pages);

/* Give every page back. Blocks and regions still allocated from the pool
 * are released too. -EBUSY if subpools of it still exist, or if a region
 * of it is registered with io_uring (its pages are pinned: unregister or
 * hugepool_bufset_free first). */
HUGEPOOL_EXPORT int hugepool_destroy(struct hugepool *pool);

/* The process pool, configured from the HUGEPOOL_* environment. NULL +
 * errno if it cannot be created. */
HUGEPOOL_EXPORT struct hugepool *hugepool_default(void);

/* Counters of a pool (node = HUGEPOOL_NODE_ANY for totals). */
HUGEPOOL_EXPORT int hugepool_counters(const struct hugepool *pool, int node,
				      struct hugepool_counters *out);

/* The kernel's counters for one page size (0: default), totals or a node. */
HUGEPOOL_EXPORT int hugepool_kernel_counters(size_t page_size, int node,
					     struct hugepool_counters *out);

/* The huge page sizes the kernel supports, ascending; returns the count
 * (which may exceed max; sizes may be NULL when max is 0). */
HUGEPOOL_EXPORT int hugepool_page_sizes(size_t *sizes, int max);

/* The page size of a pool. */
HUGEPOOL_EXPORT size_t hugepool_page_size(const struct hugepool *pool);

/* Milliseconds an unused surplus page is kept before it goes back
 * to the kernel (-1: never, 0: at once). Returns the previous value. */
HUGEPOOL_EXPORT long hugepool_set_decay_ms(struct hugepool *pool, long ms);

/* Give unused surplus pages back to the kernel now; returns pages released.
 * Before that, the calling thread's small-object heap gives back the empty
 * spans it keeps (at most one per size class) to the pool. */
HUGEPOOL_EXPORT long hugepool_trim(struct hugepool *pool);

/* ------------------------------------------------------------------------
 * malloc-like interface (pool NULL: the default pool)
 * ------------------------------------------------------------------------ */

/*
 * As malloc, calloc, realloc and aligned_alloc, with glibc's edge cases:
 * size 0 gives a unique pointer; more than PTRDIFF_MAX, or n * size that
 * overflows, is NULL + ENOMEM; aligned_alloc wants a power of two (EINVAL
 * otherwise), of any size up to what the address window holds (a 1 GiB
 * alignment from a 2 MiB pool works). Blocks of at least a page are runs
 * of whole pages; one that is not a multiple of the page starts with the
 * part past its last whole page in the last granules of a page right
 * before the run, which it shares with other blocks. Smaller blocks share
 * pages in 1/512-page granules. Blocks aligned past a granule, blocks
 * realloc grows past a page, and a HUGEPOOL_SHARED pool's are whole pages
 * only. When no
 * huge page can be had: NULL + ENOMEM, or base pages for a HUGEPOOL_FALLBACK
 * pool; both are counted in the pool's stats (failures, fallbacks).
 * calloc zeroes only memory that was used before: pages fresh from the
 * kernel are zero already. realloc(NULL, n) is malloc; realloc(p, 0) frees
 * p and returns NULL; otherwise the block keeps its contents, shrinks in
 * place, grows in place when it can, and otherwise moves its pages (no
 * copy) or, across the page size, is copied; on failure NULL + ENOMEM and
 * p is untouched; a pointer that is not a live block gives EINVAL. In a
 * forked child, pages shared copy-on-write with the parent are made private
 * before they are handed out again: with no kernel page for that, ENOMEM.
 */
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD HUGEPOOL_MALLOC_ATTR
void *hugepool_malloc(struct hugepool *pool, size_t size);
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD HUGEPOOL_MALLOC_ATTR
void *hugepool_calloc(struct hugepool *pool, size_t n, size_t size);
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD
void *hugepool_realloc(struct hugepool *pool, void *ptr, size_t size);
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD HUGEPOOL_MALLOC_ATTR
void *hugepool_aligned_alloc(struct hugepool *pool, size_t alignment, size_t size);
/* NULL, and pointers that are not the start of a live block, are ignored
 * (the latter with a message at HUGEPOOL_VERBOSE >= 1); errno is kept. */
HUGEPOOL_EXPORT void hugepool_free(void *ptr);
/* Bytes usable at ptr (>= the size asked for, all writable); 0 if ptr is
 * not the start of a live block. */
HUGEPOOL_EXPORT size_t hugepool_usable_size(const void *ptr);
/* The pool of the block, region or page ptr points into (interior pointers
 * too); NULL: not hugepool memory. */
HUGEPOOL_EXPORT struct hugepool *hugepool_owner(const void *ptr);

/* ------------------------------------------------------------------------
 * Regions: address space and pages reserved up front
 * ------------------------------------------------------------------------ */

#define HUGEPOOL_REGION_NORESERVE (1u << 0) /* address space only; populate may fail */
#define HUGEPOOL_REGION_POPULATE  (1u << 1) /* populate everything now */

struct hugepool_region;

HUGEPOOL_EXPORT HUGEPOOL_NODISCARD
struct hugepool_region *hugepool_region_reserve(struct hugepool *pool, size_t size,
						unsigned int flags);
HUGEPOOL_EXPORT void *hugepool_region_addr(const struct hugepool_region *r);
HUGEPOOL_EXPORT size_t hugepool_region_size(const struct hugepool_region *r);
/* pages newly backed, or -errno */
HUGEPOOL_EXPORT long hugepool_region_populate(struct hugepool_region *r, size_t offset,
					      size_t len);
/* pages given back, or -errno */
HUGEPOOL_EXPORT long hugepool_region_release(struct hugepool_region *r, size_t offset,
					     size_t len);
HUGEPOOL_EXPORT int hugepool_region_free(struct hugepool_region *r);

/*
 * Sharing a region of a HUGEPOOL_SHARED pool with another process. Each
 * such region has a hugetlb memfd of its own that holds its pages and
 * nothing else, sealed (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL): a peer
 * cannot reach any other memory of the pool, nor truncate or grow the file
 * under the owner. This returns a new close-on-exec descriptor of that file
 * (the caller closes it) and stores 0, the offset of the region's first
 * page, in *offset. Pass the descriptor on
 * (SCM_RIGHTS over a Unix socket, or across fork/exec); the other process
 * maps the region with
 *
 *	mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, offset)
 *
 * and sees the same pages. Populate first: a page of a NORESERVE region
 * that is not populated is a hole in the file, and a peer touching it would
 * take a page outside any pool (SIGBUS if the kernel has none). The peer
 * unmaps before the region is released or freed: its pages then go back
 * to the pool. -EINVAL (NULL), -EOPNOTSUPP (a pool without HUGEPOOL_SHARED).
 */
HUGEPOOL_EXPORT int hugepool_region_fd(const struct hugepool_region *r, off_t *offset);

/* ------------------------------------------------------------------------
 * Statistics and version
 * ------------------------------------------------------------------------ */

#define HUGEPOOL_STATS_JSON (1u << 0)
/* pool NULL: all pools */
HUGEPOOL_EXPORT int hugepool_stats_print(const struct hugepool *pool, int fd,
					 unsigned int flags);
HUGEPOOL_EXPORT const char *hugepool_version(void);

/* ------------------------------------------------------------------------
 * io_uring fixed buffers (built when liburing is found: meson option 'uring';
 * without it every call fails with -ENOSYS / ENOSYS)
 *
 * Registered buffers are pinned by the kernel, and pinning charges whole
 * huge pages: a 4 KiB buffer in a 2 MiB page pins (and charges against
 * RLIMIT_MEMLOCK, unless the ring was created with CAP_IPC_LOCK) 2 MiB;
 * buffers sharing a page are charged once. Registering N bytes of a region
 * therefore needs RLIMIT_MEMLOCK >= N rounded up to the page size, plus
 * whatever this user has pinned already; when it is lower the call fails
 * with -ENOMEM (NULL + ENOMEM) and, at HUGEPOOL_VERBOSE >= 1 (the default),
 * says on stderr how much is needed.
 *
 * While a region is registered its pages are pinned: hugepool_region_release
 * and hugepool_region_free fail with -EBUSY, and hugepool_destroy of its
 * pool fails with -EBUSY, so a page the kernel may still DMA into is never
 * counted free or handed to anyone else. Unregister first.
 *
 * Buffers registered here stay registered until hugepool_uring_unregister
 * or hugepool_bufset_free, even across io_uring_queue_exit: the library
 * keeps its own reference to the ring (a duplicate of its fd) so that it
 * can always drop exactly the pins it took. Do not unregister them with
 * io_uring_unregister_buffers directly.
 *
 * The kernel takes at most 1 GiB per registered buffer. A larger buf_size
 * is split into k = ceil(buf_size / 1 GiB) equal registered buffers of
 * buf_size / k bytes each (buf_size must be divisible by k, else -EINVAL),
 * laid out back to back; one I/O must stay inside one registered buffer.
 * At most 16384 registered buffers per ring (the kernel's limit).
 *
 * fork: a private page that is pinned cannot be shared copy-on-write, so
 * fork copies it at once and needs a free kernel huge page for each one;
 * with the kernel pool empty, fork fails with ENOMEM. In the child the
 * registration still belongs to the parent's pages: unregistering or
 * freeing a set there only drops the child's bookkeeping and never touches
 * the (shared) ring.
 * ------------------------------------------------------------------------ */

#define HUGEPOOL_URING_MAX_BUF	(1UL << 30)	/* bytes per registered buffer */
#define HUGEPOOL_URING_MAX_BUFS	16384		/* registered buffers per ring */

struct io_uring;

/*
 * Register the whole of region r (populated) as fixed buffers of buf_size
 * bytes with ring: buffer i starts at hugepool_region_addr(r) + i * size,
 * where size = buf_size, or buf_size / k when buf_size > 1 GiB is split
 * (see above; size = hugepool_region_size(r) / return value in any case).
 * Returns the number of buffers registered, or:
 *  -EINVAL  ring or r NULL, buf_size 0, buf_size does not divide the
 *           region, cannot be split evenly, or more than 16384 buffers
 *  -EBADF   the ring is not set up (io_uring_queue_init not called, or
 *           its fd is not an io_uring)
 *  -EFAULT  part of the region is not populated (hugepool_region_populate
 *           it, or reserve it with HUGEPOOL_REGION_POPULATE)
 *  -ENOMEM  RLIMIT_MEMLOCK too low (see above) or no memory to pin
 *  -EBUSY   the ring already has registered buffers (one table per ring)
 *  -ENOSYS  built without liburing
 */
HUGEPOOL_EXPORT int hugepool_uring_register(struct io_uring *ring,
					    struct hugepool_region *r, size_t buf_size);

/* Unregister what hugepool_uring_register registered for r with ring and
 * unpin the region. Reap every I/O on its buffers first: the kernel keeps
 * a page under in-flight I/O pinned past unregistering, but the pool would
 * count it free again. 0, or -EINVAL (NULL), -ENOENT (r is not registered
 * with this ring), or the kernel's error (the region then stays pinned). */
HUGEPOOL_EXPORT int hugepool_uring_unregister(struct io_uring *ring,
					      struct hugepool_region *r);

/*
 * A buffer set: the common case in one call. Reserves and populates a
 * region of pool (NULL: the default pool) big enough for nbufs buffers of
 * buf_size bytes (rounded up to the page size), registers them with ring,
 * and returns the set. Buffers are back to back from a page-aligned start:
 * choose buf_size as a multiple of the device's logical block size (4096
 * is always safe) for O_DIRECT. A buf_size above 1 GiB is split as above,
 * so the set then holds nbufs * k registered buffers: use
 * hugepool_bufset_count and hugepool_bufset_buf_size, not nbufs and
 * buf_size, for the registered ones.
 * NULL + errno: EINVAL, EBADF, ENOMEM (pool or RLIMIT_MEMLOCK; see above),
 * EBUSY, ENOSYS as for hugepool_uring_register.
 */
struct hugepool_bufset;
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD
struct hugepool_bufset *hugepool_uring_bufset(struct hugepool *pool, struct io_uring *ring,
					      unsigned int nbufs, size_t buf_size);

/* Registered buffers in the set (nbufs, times k when split); 0 for NULL. */
HUGEPOOL_EXPORT unsigned int hugepool_bufset_count(const struct hugepool_bufset *bs);

/* Bytes of each registered buffer (buf_size, or buf_size / k); 0 for NULL. */
HUGEPOOL_EXPORT size_t hugepool_bufset_buf_size(const struct hugepool_bufset *bs);

/* Address of registered buffer idx: the addr for io_uring_prep_read_fixed /
 * write_fixed with buf_index idx. NULL if idx >= count. */
HUGEPOOL_EXPORT void *hugepool_bufset_buf(const struct hugepool_bufset *bs,
					  unsigned int idx);

/* buf_index of the registered buffer holding addr (any byte of it), or
 * -EINVAL if addr is not in one of the set's buffers. */
HUGEPOOL_EXPORT int hugepool_bufset_index(const struct hugepool_bufset *bs,
					  const void *addr);

/* The region holding the set's buffers (for hugepool_region_* queries; do
 * not release or free it: that is hugepool_bufset_free's job). */
HUGEPOOL_EXPORT struct hugepool_region *
hugepool_bufset_region(const struct hugepool_bufset *bs);

/* Unregister the buffers, free the region and the set. Reap every I/O on
 * the set first (as for hugepool_uring_unregister). 0, or -EINVAL (NULL),
 * or the kernel's error from unregistering: the set is then left intact
 * and may be freed again. */
HUGEPOOL_EXPORT int hugepool_bufset_free(struct hugepool_bufset *bs);

#ifdef __cplusplus
}
#endif

#endif /* HUGEPOOL_HUGEPOOL_H */
