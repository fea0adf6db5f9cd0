/* SPDX-License-Identifier: MIT */
/*
 * region.c - regions: a range of address space with its pages reserved up
 * front (hugetlb_reserve_pages at mmap), populated and released by range.
 *
 * A reserved region holds its pages from the start, at its own slots: they
 * count as free and reserved in the pool (as the kernel counts reserved
 * pages in free_hugepages and resv_hugepages), so a reserved page can
 * always be had, on the node the pool's policy chose. Populate consumes the
 * reservation (and zeroes pages that were used before); release returns
 * pages to the reservation. A NORESERVE region holds only address space:
 * populate takes pages from the pool then (and may fail with -ENOMEM, never
 * SIGBUS), release gives them back to the pool.
 *
 * The resv_map of a region records its populated ranges, updated with the
 * kernel's region_chg / region_add / region_abort / region_del protocol.
 *
 * Sharing: a region of a HUGEPOOL_SHARED pool has a hugetlb memfd of its
 * own, holding its pages and nothing else (page k of the region is page k
 * of the file), sealed against growing and shrinking. hugepool_region_fd()
 * hands out that file: a peer that maps it reaches this region's pages and
 * no other page of the pool, and cannot truncate it under the owner (a
 * shrink would SIGBUS the owner's next touch). Pages cannot change files,
 * so a page that enters or leaves a region is swapped for a fresh one in
 * the other file (hp_pool_refault_page: a spare kernel page for a moment,
 * or -ENOMEM with nothing changed): at reserve, populate and release, and
 * at free, where a page that cannot be swapped back goes to the kernel
 * instead (hp_pool_drop_page). The pool's own memfd is never handed out.
 */
#include "internal.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/memfd.h>
#include <string.h>
#include <unistd.h>

struct hugepool_region {
	struct hugepool *pool;
	struct hp_arena *a;
	size_t first;
	size_t npages;
	unsigned int flags;
	struct hp_resv_map map;		/* populated page ranges */
	struct hugepool_region *next, *prev;
	int pinned;			/* io_uring registrations holding pages */
	int fd;				/* HUGEPOOL_SHARED: its own memfd; else -1 */
};

/* [shared] The region's own file: its pages only, sealed so that a peer
 * holding it can neither grow nor shrink it. */
static int region_file_create(struct hugepool_region *r)
{
	int fd = hp_sys_memfd_create("hugepool-region", MFD_CLOEXEC | MFD_HUGETLB |
				     MFD_ALLOW_SEALING |
				     (unsigned int)(r->a->shift << MFD_HUGE_SHIFT)), ret;

	if (fd < 0)
		return fd;
	ret = hp_sys_ftruncate(fd, (off_t)(r->npages << r->a->shift));
	if (!ret)
		ret = hp_sys_add_seals(fd, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	if (ret) {
		hp_sys_close(fd);
		return ret;
	}
	r->fd = fd;
	return 0;
}

/* [shared] The page at region page i moves into the region's file in
 * place. 0 or -ENOMEM (nothing changed). Lock held. */
static int page_in(struct hugepool_region *r, size_t i)
{
	size_t idx = r->first + i;
	int old = r->a->slots[idx].node, ret;

	ret = hp_pool_refault_page(r->pool, r->a, idx, idx, r->fd, (uint32_t)i);
	/* a reserved page is free and reserved on its node: the fresh one
	 * is, on its own (refault moved nr only) */
	if (!ret && old != r->a->slots[idx].node) {
		hp_pool_acct(r->pool, old, 0, -1, -1);
		hp_pool_acct(r->pool, r->a->slots[idx].node, 0, 1, 1);
	}
	return ret;
}

/* [shared] The page at slot idx of a region being freed goes back into the
 * pool's file; if no page can be had for that, to the kernel. true if it
 * is the pool's to keep. Lock held. */
static bool page_home(struct hugepool_region *r, size_t idx)
{
	struct hp_arena *a = r->a;

	if (r->fd < 0 || hp_arena_foreign(a) || !a->slot_fd[idx])
		return true;
	if (!hp_pool_refault_page(r->pool, a, idx, idx, -1, 0))
		return true;
	hp_pool_drop_page(r->pool, a, idx);
	return false;
}

/* [shared] Close the region's file; its pages, if a peer still maps any,
 * go (as the pool's own file's do at destroy). */
static void region_file_close(struct hugepool_region *r)
{
	if (r->fd < 0)
		return;
	if (!hp_arena_foreign(r->a))
		hp_sys_fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				 (off_t)(r->npages << r->a->shift));
	hp_sys_close(r->fd);
	r->fd = -1;
}

static void region_link(struct hugepool *pool, struct hugepool_region *r)
{
	r->prev = NULL;
	r->next = pool->regions;
	if (pool->regions)
		pool->regions->prev = r;
	pool->regions = r;
}

static void region_unlink(struct hugepool *pool, struct hugepool_region *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		pool->regions = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

static void mark_region(struct hugepool_region *r, size_t idx)
{
	struct hp_slot *s = &r->a->slots[idx];

	s->state = HP_SLOT_REGION;
	s->owner = r->pool;
	s->region = r;
	s->head = (uint32_t)r->first;
}

static long region_free_locked(struct hugepool_region *r);

static struct hugepool_region *region_new(struct hugepool *pool, size_t n, unsigned int flags)
{
	struct hugepool_region *r = hp_meta_zalloc(sizeof(*r));

	if (!r)
		return NULL;
	r->pool = pool;
	r->a = pool->arena;
	r->npages = n;
	r->flags = flags;
	r->fd = -1;
	hp_resv_map_init(&r->map);
	if (r->a->fd >= 0 && region_file_create(r)) {
		hp_meta_free(r, sizeof(*r));
		return NULL;
	}
	return r;
}

static void region_discard(struct hugepool_region *r)
{
	region_file_close(r);
	hp_meta_free(r, sizeof(*r));
}

/* The region's slots: address space only (NORESERVE: the slots keep their
 * placeholders), or pages, which are the reservation (free and reserved in
 * the pool, in the region's own file for a shared pool). 0, or -ENOMEM with
 * nothing taken and r freed. Lock held. */
static int region_take(struct hugepool_region *r, size_t nr_before)
{
	struct hp_arena *a = r->a;
	size_t i, n = r->npages;
	long first;

	bool noreserve = r->flags & HUGEPOOL_REGION_NORESERVE;

	first = noreserve ? hp_empty_take(a, n, 1) : hp_pool_take_run(r->pool, n, 1);
	if (first < 0) {
		region_discard(r);
		return -ENOMEM;
	}
	r->first = (size_t)first;
	for (i = 0; i < n; i++) {
		mark_region(r, r->first + i);
		if (noreserve)
			a->slots[r->first + i].flags = 0;
		else
			hp_pool_acct(r->pool, a->slots[r->first + i].node, 0, 1, 1);
	}
	if (noreserve)
		return 0;
	for (i = 0; r->fd >= 0 && i < n; i++)
		if (page_in(r, i)) {
			/* give back what it took, in whichever file */
			region_link(r->pool, r);
			region_free_locked(r);
			hp_shrink_back(r->pool, nr_before);
			return -ENOMEM;
		}
	return 0;
}

struct hugepool_region *hugepool_region_reserve(struct hugepool *pool, size_t size,
						unsigned int flags)
{
	struct hugepool_region *r;
	size_t nr_before;

	if (!pool && !(pool = hugepool_default()))
		return NULL;
	if (!size || size % pool->h->size ||
	    (flags & ~(HUGEPOOL_REGION_NORESERVE | HUGEPOOL_REGION_POPULATE))) {
		errno = EINVAL;
		return NULL;
	}
	/* a shared pool inherited across fork: its free pages are the
	 * parent's to hand out (see alloc.c) */
	r = hp_arena_foreign(pool->arena) ? NULL : region_new(pool, size / pool->h->size, flags);
	hp_pool_lock(pool);
	nr_before = pool->root->nr_huge_pages;
	if (!r || region_take(r, nr_before)) {
		pool->stats.failures++;
		hp_pool_op_end(pool);
		errno = ENOMEM;
		return NULL;
	}
	region_link(pool, r);
	pool->stats.region_reserves++;
	hp_pool_op_end(pool);
	if (flags & HUGEPOOL_REGION_POPULATE) {
		long ret = hugepool_region_populate(r, 0, size);

		if (ret < 0) {
			hugepool_region_free(r);
			/* a failed reserve leaves the pool as it was: pages
			 * populate faulted before it failed go back to the
			 * kernel (found by tests/fault: they stayed in the
			 * pool as surplus) */
			hp_pool_lock(pool);
			hp_shrink_back(pool, nr_before);
			hp_pool_op_end(pool);
			errno = -ret;
			return NULL;
		}
	}
	return r;
}

void *hugepool_region_addr(const struct hugepool_region *r)
{
	return r ? hp_slot_addr(r->a, r->first) : NULL;
}

size_t hugepool_region_size(const struct hugepool_region *r)
{
	return r ? r->npages << r->a->shift : 0;
}

int hugepool_region_fd(const struct hugepool_region *r, off_t *offset)
{
	int fd;

	if (!r || !offset)
		return -EINVAL;
	if (r->fd < 0)
		return -EOPNOTSUPP;	/* private pages: nothing to share */
	fd = hp_sys_dupfd(r->fd);
	if (fd < 0)
		return fd;
	*offset = 0;		/* the file is the region's alone */
	return fd;
}

static int range_check(const struct hugepool_region *r, size_t offset, size_t len,
		       long *f, long *t)
{
	size_t psz;

	if (!r)
		return -EINVAL;
	psz = (size_t)1 << r->a->shift;
	if (offset % psz || len % psz || offset > (r->npages << r->a->shift) ||
	    len > (r->npages << r->a->shift) - offset)
		return -EINVAL;
	*f = (long)(offset / psz);
	*t = *f + (long)(len / psz);
	return 0;
}

/* Back page i (region-relative) of r; 0 or -ENOMEM. Lock held. */
static int populate_page(struct hugepool_region *r, size_t i)
{
	struct hp_arena *a = r->a;
	size_t idx = r->first + i;
	struct hugepool *pool = r->pool;

	if (!(r->flags & HUGEPOOL_REGION_NORESERVE)) {
		if (hp_pool_privatize(a, idx, 1))
			return -ENOMEM;
		pool->stats.bytes_zeroed += hp_pool_zero_run(a, idx, 1) << a->shift;
		hp_pool_acct(pool, a->slots[idx].node, 0, -1, -1);
		return 0;
	}
	{
		long src;
		int ret;

		if (hp_arena_foreign(a))
			return -ENOMEM;		/* see hugepool_region_reserve */
		src = hp_pool_take_run(pool, 1, 1);
		if (src < 0)
			return (int)src;
		/* a page inherited across fork is made private where it is,
		 * before it moves: if that cannot be, nothing has changed */
		if (hp_pool_privatize(a, (size_t)src, 1)) {
			hp_pool_put_run(pool, a, (size_t)src, 1);
			return -ENOMEM;
		}
		if (a->fd >= 0)
			/* a shared pool's page stays in its file: a fresh
			 * one comes in the region's, and src's goes back */
			ret = hp_pool_refault_page(pool, a, (size_t)src, idx, r->fd,
						   (uint32_t)i);
		else
			ret = hp_move_page(a, (size_t)src, idx);
		if (ret) {
			hp_pool_put_run(pool, a, (size_t)src, 1);
			return -ENOMEM;
		}
		hp_vacate(a, (size_t)src);
		mark_region(r, idx);
		pool->stats.bytes_zeroed += hp_pool_zero_run(a, idx, 1) << a->shift;
		if (a->fd < 0)
			pool->root->stats.pages_moved++;
		return 0;
	}
}

/*
 * Populate [offset, offset + len): for each unpopulated stretch, region_chg,
 * back its pages, region_add (or region_add of what was backed and
 * region_abort of the rest). Returns pages newly backed, or -errno; pages
 * backed before a failure stay populated.
 */
long hugepool_region_populate(struct hugepool_region *r, size_t offset, size_t len)
{
	long f, t, i, done = 0, needed, chg;
	int ret = range_check(r, offset, len, &f, &t);

	if (ret)
		return ret;
	hp_pool_lock(r->pool);
	for (i = f; i < t; ) {
		long j, k;

		if (hp_region_count(&r->map, i, i + 1)) {
			i++;
			continue;
		}
		for (j = i + 1; j < t && !hp_region_count(&r->map, j, j + 1); j++)
			;
		/* [i, j) is unpopulated */
		chg = hp_region_chg(&r->map, i, j, &needed);
		if (chg < 0) {
			ret = (int)chg;
			break;
		}
		for (k = i; k < j; k++) {
			ret = populate_page(r, (size_t)k);
			if (ret)
				break;
		}
		if (k == j) {
			hp_region_add(&r->map, i, j, needed);
		} else {
			hp_region_abort(&r->map, i, j, needed);
			if (k > i) {
				/* keep what was backed: a second, smaller chg/add */
				chg = hp_region_chg(&r->map, i, k, &needed);
				if (chg >= 0)
					hp_region_add(&r->map, i, k, needed);
			}
		}
		done += k - i;
		if (ret)
			break;
		i = j;
	}
	if (done)
		r->pool->stats.region_populates++;
	if (ret)
		r->pool->stats.failures++;
	hp_pool_op_end(r->pool);
	return ret ? ret : done;
}

/* Give back populated page i of r. 0 or -errno. Lock held. */
static int release_page(struct hugepool_region *r, size_t i)
{
	struct hp_arena *a = r->a;
	size_t idx = r->first + i;

	a->slots[idx].flags |= HP_SLOT_F_DIRTY;
	if (!(r->flags & HUGEPOOL_REGION_NORESERVE)) {
		/* back to the reservation: it stays the region's */
		hp_pool_acct(r->pool, a->slots[idx].node, 0, 1, 1);
		return 0;
	}
	{
		long e = hp_empty_take(a, 1, 1);
		int ret;

		if (e < 0)
			return (int)e;
		if (a->fd >= 0)
			/* shared pool: see populate_page; needs a spare
			 * kernel page for a moment, else nothing changes */
			ret = hp_pool_refault_page(r->pool, a, idx, (size_t)e, -1, 0);
		else
			ret = hp_move_page(a, idx, (size_t)e);
		if (ret) {
			hp_empty_insert(a, (size_t)e, 1);
			/* the caller gets -ENOMEM, not mremap's own errno
			 * (EFAULT, EAGAIN...: meaningless to it); found by
			 * tests/fault */
			return -ENOMEM;
		}
		mark_region(r, idx);
		a->slots[idx].flags = 0;
		a->slots[e].state = HP_SLOT_USED;
		a->slots[e].owner = r->pool;
		hp_pool_put_run(r->pool, a, (size_t)e, 1);
		return 0;
	}
}

long hugepool_region_release(struct hugepool_region *r, size_t offset, size_t len)
{
	long f, t, i, done = 0;
	int ret = range_check(r, offset, len, &f, &t);

	if (ret)
		return ret;
	hp_pool_lock(r->pool);
	if (r->pinned) {
		hp_pool_op_end(r->pool);
		return -EBUSY;
	}
	for (i = f; i < t; i++) {
		long d;

		if (!hp_region_count(&r->map, i, i + 1))
			continue;
		/* the map first: region_del can fail (splitting a range needs
		 * a descriptor), and then nothing has changed yet */
		d = hp_region_del(&r->map, i, i + 1);
		if (d < 0) {
			ret = (int)d;
			break;
		}
		ret = release_page(r, (size_t)i);
		if (ret) {
			/* the page stays populated: back into the map */
			long needed;

			if (hp_region_chg(&r->map, i, i + 1, &needed) >= 0)
				hp_region_add(&r->map, i, i + 1, needed);
			break;
		}
		done++;
	}
	if (done)
		r->pool->stats.region_releases++;
	hp_pool_op_end(r->pool);
	return done || !ret ? done : ret;
}

/* Lock held. */
static long region_free_locked(struct hugepool_region *r)
{
	struct hugepool *pool = r->pool;
	struct hp_arena *a = r->a;
	size_t i;

	if (r->pinned)
		return -EBUSY;
	if (r->flags & HUGEPOOL_REGION_NORESERVE) {
		/* populated pages become the pool's free pages where they
		 * are; the rest of the range is address space again */
		for (i = 0; i < r->npages; i++) {
			size_t idx = r->first + i;

			if (hp_region_count(&r->map, (long)i, (long)i + 1)) {
				a->slots[idx].state = HP_SLOT_USED;
				a->slots[idx].flags |= HP_SLOT_F_DIRTY;
				if (page_home(r, idx))
					hp_pool_put_run(pool, a, idx, 1);
			} else {
				hp_empty_insert(a, idx, 1);
			}
		}
	} else {
		size_t run = r->first;

		for (i = 0; i < r->npages; i++) {
			size_t idx = r->first + i;

			if (!hp_region_count(&r->map, (long)i, (long)i + 1))
				hp_pool_acct(pool, a->slots[idx].node, 0, -1, -1);
			a->slots[idx].state = HP_SLOT_USED;
			if (!page_home(r, idx)) {
				/* gone to the kernel: the runs around it go back */
				if (idx > run)
					hp_pool_put_run(pool, a, run, idx - run);
				run = idx + 1;
			}
		}
		if (r->first + r->npages > run)
			hp_pool_put_run(pool, a, run, r->first + r->npages - run);
	}
	region_file_close(r);
	hp_resv_map_release(&r->map);
	region_unlink(pool, r);
	hp_meta_free(r, sizeof(*r));
	return 0;
}

int hugepool_region_free(struct hugepool_region *r)
{
	struct hugepool *pool;
	long ret;

	if (!r)
		return -EINVAL;
	pool = r->pool;
	hp_pool_lock(pool);
	ret = region_free_locked(r);
	hp_pool_op_end(pool);
	return (int)ret;
}

static void region_destroy_all(struct hugepool *pool)
{
	while (pool->regions) {
		pool->regions->pinned = 0;	/* destroy wins; the ring must be gone */
		region_free_locked(pool->regions);
	}
}

/* For uring.c: pin state of a region (lock taken here). */
int hp_region_pin(struct hugepool_region *r, int delta)
{
	int ret;

	hp_pool_lock(r->pool);
	r->pinned += delta;
	ret = r->pinned;
	hp_pool_op_end(r->pool);
	return ret;
}

/*
 * [uring] For hugepool_destroy (pool.c), lock held: does a region of pool
 * still have pages pinned by io_uring? Destroy must then fail with -EBUSY:
 * freeing the region would hand pages the kernel may still DMA into back
 * to the pool (or its bookkeeping to nobody) while a ring holds them.
 */
static bool region_any_pinned(const struct hugepool *pool)
{
	const struct hugepool_region *r;

	for (r = pool->regions; r; r = r->next)
		if (r->pinned)
			return true;
	return false;
}

/* Pages of [f, t) that are populated (for uring.c). */
long hp_region_populated(struct hugepool_region *r, long f, long t)
{
	long n;

	hp_pool_lock(r->pool);
	n = hp_region_count(&r->map, f, t);
	hp_pool_op_end(r->pool);
	return n;
}

static const struct hp_pool_consumer region_consumer = {
	.destroy_all = region_destroy_all,
	.busy = region_any_pinned,
};

__attribute__((constructor(102))) static void region_ctor(void)
{
	hp_pool_add_consumer(&region_consumer);
}
