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
 * are released too. -EBUSY if subpools of it still exist. */
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

/* Seconds... milliseconds an unused surplus page is kept before it goes back
 * to the kernel (-1: never, 0: at once). Returns the previous value. */
HUGEPOOL_EXPORT long hugepool_set_decay_ms(struct hugepool *pool, long ms);

/* Give unused surplus pages back to the kernel now; returns pages released. */
HUGEPOOL_EXPORT long hugepool_trim(struct hugepool *pool);

/* ------------------------------------------------------------------------
 * malloc-like interface (pool NULL: the default pool)
 * ------------------------------------------------------------------------ */

HUGEPOOL_EXPORT HUGEPOOL_NODISCARD HUGEPOOL_MALLOC_ATTR
void *hugepool_malloc(struct hugepool *pool, size_t size);
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD HUGEPOOL_MALLOC_ATTR
void *hugepool_calloc(struct hugepool *pool, size_t n, size_t size);
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD
void *hugepool_realloc(struct hugepool *pool, void *ptr, size_t size);
HUGEPOOL_EXPORT HUGEPOOL_NODISCARD HUGEPOOL_MALLOC_ATTR
void *hugepool_aligned_alloc(struct hugepool *pool, size_t alignment, size_t size);
HUGEPOOL_EXPORT void hugepool_free(void *ptr);
HUGEPOOL_EXPORT size_t hugepool_usable_size(const void *ptr);
HUGEPOOL_EXPORT struct hugepool *hugepool_owner(const void *ptr); /* NULL: not hugepool memory */

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

/* ------------------------------------------------------------------------
 * Statistics and version
 * ------------------------------------------------------------------------ */

#define HUGEPOOL_STATS_JSON (1u << 0)
/* pool NULL: all pools */
HUGEPOOL_EXPORT int hugepool_stats_print(const struct hugepool *pool, int fd,
					 unsigned int flags);
HUGEPOOL_EXPORT const char *hugepool_version(void);

/* ------------------------------------------------------------------------
 * io_uring fixed buffers (available when built with liburing)
 * ------------------------------------------------------------------------ */

struct io_uring;
/* buffers registered, or -errno */
HUGEPOOL_EXPORT int hugepool_uring_register(struct io_uring *ring,
					    struct hugepool_region *r, size_t buf_size);
HUGEPOOL_EXPORT int hugepool_uring_unregister(struct io_uring *ring,
					      struct hugepool_region *r);

#ifdef __cplusplus
}
#endif

#endif /* HUGEPOOL_HUGEPOOL_H */
