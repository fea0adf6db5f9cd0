/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the hstate pool: this process's pool of huge pages of one size.
 *
 * Every page of a root pool (and of its subpools) lives at a slot of one
 * address window (arena.c, kept whole by window.c). A slot is a placeholder
 * (EMPTY), a free page on a per-node free list (FREE, freelist.c), part of
 * a block (USED/MIXED, alloc.c) or of a region (REGION, region.c).
 *
 * This file takes runs of pages for a pool and gives them back: off its
 * free lists, from its parent (a subpool, under hugepage_subpool
 * accounting, subpool.c), or fresh from the kernel (fault.c); and it
 * creates, resizes and destroys pools. Pages above min_pages are surplus
 * and go back to the kernel once unused for decay_ms (decay.c). The layers
 * above reach in only through the hooks at the end of this file's lock
 * section (watchers, consumers) and fork.c's.
 *
 * Locking: one mutex per root pool, shared by its subpools; every function
 * here that takes a pool expects it held unless it is a public entry point.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>


/* ------------------------------------------------------------------------
 * taking and giving back runs
 * ------------------------------------------------------------------------ */

/* A root pool grows by n fresh pages (gather_surplus_pages); the run is
 * USED on return. -ENOMEM over max_pages or when the kernel has none. */
static long root_fresh(struct hugepool *root, size_t n, size_t align)
{
	struct hp_arena *a = root->arena;
	long first;
	int ret;

	if (root->max_pages && root->nr_huge_pages + n > root->max_pages)
		return -ENOMEM;
	first = hp_empty_take(a, n, align);	/* the slots are USED already */
	if (first < 0)
		return first;
	ret = hp_pool_fault_at(root, a, (size_t)first, n);
	if (ret) {
		hp_empty_insert(a, (size_t)first, n);
		return ret;
	}
	return first;
}


/* Extend the USED run [first, first + npages) by extra pages right after
 * it, taken from the pool's free extent there or faulted into empty slots.
 * 0 or -ENOMEM (nothing changed). */
int hp_pool_grow_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		     size_t npages, size_t extra)
{
	size_t next = first + npages, i;
	struct hp_slot *s;

	if (next + extra > a->nslots)
		return -ENOMEM;
	s = &a->slots[next];
	if (s->state == HP_SLOT_FREE && s->owner == pool && s->run >= extra &&
	    !pool->parent) {
		hp_free_carve(pool, a, next, next, extra);
		hp_took_from_free(pool, a, next, extra);
		return 0;
	}
	if (s->state == HP_SLOT_EMPTY && s->run >= extra && !pool->parent &&
	    a->fd < 0) {
		struct hugepool *root = pool;

		if (root->max_pages && root->nr_huge_pages + extra > root->max_pages)
			return -ENOMEM;
		hp_ext_unlink(a->empty_bins, HP_FREE_BINS_A, s);
		{
			size_t len = s->run;

			for (i = next; i < next + extra; i++) {
				memset(&a->slots[i], 0, sizeof(a->slots[i]));
				a->slots[i].state = HP_SLOT_USED;
			}
			if (len > extra)
				hp_empty_insert(a, next + extra, len - extra);
		}
		if (hp_pool_fault_at(root, a, next, extra)) {
			hp_empty_insert(a, next, extra);
			return -ENOMEM;
		}
		return 0;
	}
	return -ENOMEM;
}


/*
 * A free extent too short for n pages but followed by empty slots is
 * completed with fresh pages there, so that held free pages are used
 * before new ones are faulted (a pool with min_pages = 4 asked for 10
 * pages faults 6, not 10). Returns the first index or -ENOMEM.
 */
static long root_extend(struct hugepool *root, size_t n, size_t align)
{
	struct hp_arena *a = root->arena;
	int order[HP_MAX_NODES], k, i;

	if (align > 1)
		return -ENOMEM;
	k = hp_node_order(root, order);
	for (i = 0; i < k; i++) {
		struct hp_freelist *fl = &root->freelists[order[i]];
		unsigned int b;

		if (!fl->pages)
			continue;
		for (b = 0; b < HP_FREE_BINS; b++) {
			struct hp_slot *s;
			int budget = 16;

			for (s = fl->bins[b]; s && budget--; s = s->next_free) {
				size_t head = (size_t)(s - a->slots), len = s->run;
				size_t end = head + len, extra = n - len;
				struct hp_slot *r;

				if (len >= n || end >= a->nslots)
					continue;
				r = &a->slots[end];
				if (r->state != HP_SLOT_EMPTY || r->run < extra)
					continue;
				if (root->max_pages && root->nr_huge_pages + extra > root->max_pages)
					return -ENOMEM;
				hp_free_carve(root, a, head, head, len);
				hp_took_from_free(root, a, head, len);
				if (hp_pool_grow_run(root, a, head, len, extra)) {
					hp_pool_put_run(root, a, head, len);
					return -ENOMEM;
				}
				return (long)head;
			}
		}
	}
	return -ENOMEM;
}

/* Move ownership of USED pages [first, first + n) from pool to its parent,
 * which takes them back as any freed pages: a parent that is itself a
 * subpool uncharges them (and may pass them further up). */
static void give_to_parent(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		hp_pool_acct(pool, a->slots[i].node, -1, 0, 0);
		hp_surplus_removed(pool, a->slots[i].node);
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].owner = pool->parent;
	}
	hp_pool_put_run(pool->parent, a, first, n);
}

void hp_decay_kick(struct hugepool *root);

/*
 * Take n contiguous pages for pool: off its free lists, else (subpool) from
 * its parent, else (root) fresh from the kernel. On success the slots are
 * USED, owned by pool, counted in nr and not in free; returns the first
 * index. -ENOMEM when the pool, its quota or the kernel cannot give them.
 */
/* The part of a subpool's minimum that a charge consumes (want pages) goes
 * back to the parent first, so that the parent can build the run out of
 * those very pages (they coalesce with its free extents) instead of
 * handing out new ones. Returns how many went. */
static long subpool_give_min(struct hugepool *pool, long want)
{
	struct hp_arena *a = pool->arena;
	long given = 0;

	while (given < want) {
		long h = hp_free_head_any(pool, NULL, 0);
		size_t len, take;

		if (h < 0)
			break;
		len = a->slots[h].run;
		take = len < (size_t)(want - given) ? len : (size_t)(want - given);
		hp_free_carve(pool, a, (size_t)h, (size_t)h, take);
		hp_took_from_free(pool, a, (size_t)h, take);
		give_to_parent(pool, a, (size_t)h, take);
		given += (long)take;
	}
	return given;
}

/* Undo subpool_give_min: take given pages back from the parent. */
static void subpool_take_min_back(struct hugepool *pool, long given)
{
	struct hp_arena *a = pool->arena;

	while (given-- > 0) {
		long p1 = hp_pool_take_run(pool->parent, 1, 1);

		if (p1 < 0)
			break;
		a->slots[p1].owner = pool;
		hp_pool_acct(pool, a->slots[p1].node, 1, 1, 0);
		hp_surplus_added(pool, a->slots[p1].node);
		hp_free_insert(pool, a, (size_t)p1, 1, a->slots[p1].node, (uint32_t)hp_now_ms());
	}
}

/* A subpool's run: charge first (may fail on max), then its own free
 * pages, else the parent's, which the subpool then owns. */
static long subpool_take_run(struct hugepool *pool, size_t npages, size_t align)
{
	struct hp_arena *a = pool->arena;
	struct hugepool *root = pool->root;
	long delta = hp_subpool_get_pages(&pool->spool, (long)npages), first, given;
	size_t i;

	if (delta < 0)
		return delta;
	if (delta == 0) {
		first = hp_free_take(pool, a, npages, align);
		if (first >= 0) {
			hp_took_from_free(pool, a, (size_t)first, npages);
			return first;
		}
	}
	/* the root must not release the given pages meanwhile */
	root->decay_hold++;
	given = subpool_give_min(pool, (long)npages - delta);
	first = hp_pool_take_run(pool->parent, npages, align);
	if (first < 0) {
		subpool_take_min_back(pool, given);
		hp_subpool_put_pages(&pool->spool, (long)npages);
		root->decay_hold--;
		return first;
	}
	root->decay_hold--;
	for (i = (size_t)first; i < (size_t)first + npages; i++) {
		a->slots[i].owner = pool;
		hp_pool_acct(pool, a->slots[i].node, 1, 0, 0);
		hp_surplus_added(pool, a->slots[i].node);
	}
	if (root->surplus_huge_pages && root->free_huge_pages > root->resv_huge_pages)
		hp_decay_kick(root);
	return first;
}

/* A root pool's run of n pages off its free lists only: no page faulted
 * or moved. First index, or -ENOMEM. */
long hp_pool_take_free(struct hugepool *root, size_t npages, size_t align)
{
	long first = hp_free_take(root, root->arena, npages, align);

	if (first >= 0)
		hp_took_from_free(root, root->arena, (size_t)first, npages);
	return first;
}

long hp_pool_take_run(struct hugepool *pool, size_t npages, size_t align)
{
	struct hp_arena *a = pool->arena;
	long first;

	if (npages == 0 || npages > a->nslots)
		return -ENOMEM;
	if (pool->parent)
		return subpool_take_run(pool, npages, align);
	first = hp_pool_take_free(pool, npages, align);
	if (first >= 0)
		return first;
	first = root_extend(pool, npages, align);
	if (first >= 0)
		return first;
	first = hp_pool_gather_run(pool, npages, align);
	if (first >= 0)
		return first;
	return root_fresh(pool, npages, align);
}


/*
 * Give back USED or MIXED pages [first, first + n) of pool: a subpool
 * uncharges them and returns what its minimum does not keep to the parent;
 * a root pool keeps them on its free lists, and surplus goes back to the
 * kernel at once when decay_ms is 0, or later by decay.
 */
void hp_pool_put_run(struct hugepool *pool, struct hp_arena *a, size_t first, size_t npages)
{
	uint32_t now = (uint32_t)hp_now_ms();
	size_t i, j, keep = npages;

	/* pages handed out are DIRTY: marked in the node pass below (one
	 * pass, not two [api: hot path]); pages given to the parent are
	 * marked by the parent's put_run */
	if (pool->parent) {
		long back = hp_subpool_put_pages(&pool->spool, (long)npages);

		if (back > 0) {
			give_to_parent(pool, a, first + npages - (size_t)back, (size_t)back);
			keep = npages - (size_t)back;
		}
	}
	for (i = first; i < first + keep; i = j) {
		int node = a->slots[i].node;

		for (j = i; j < first + keep && a->slots[j].node == node; j++)
			a->slots[j].flags |= HP_SLOT_F_DIRTY;
		hp_pool_acct(pool, node, 0, (long)(j - i), 0);
		hp_free_insert(pool, a, i, j - i, node, now);
	}
	pool->last_free_ms = now;
	if (pool->parent)
		pool = pool->parent;
	while (pool->parent)
		pool = pool->parent;
	if (pool->surplus_huge_pages && pool->free_huge_pages > pool->resv_huge_pages)
		hp_decay_kick(pool);
}

/* ------------------------------------------------------------------------
 * invariants
 * ------------------------------------------------------------------------ */
int hp_pool_check(const struct hugepool *pool)
{
	size_t nr = 0, fr = 0, rs = 0, su = 0, listed = 0;
	int n;

	for (n = 0; n < HP_MAX_NODES; n++) {
		nr += pool->nr_huge_pages_node[n];
		fr += pool->free_huge_pages_node[n];
		rs += pool->resv_huge_pages_node[n];
		su += pool->surplus_huge_pages_node[n];
		listed += pool->freelists[n].pages;
		if (pool->free_huge_pages_node[n] > pool->nr_huge_pages_node[n] ||
		    pool->resv_huge_pages_node[n] > pool->free_huge_pages_node[n] ||
		    pool->surplus_huge_pages_node[n] > pool->nr_huge_pages_node[n])
			goto bad;
	}
	if (nr != pool->nr_huge_pages || fr != pool->free_huge_pages ||
	    rs != pool->resv_huge_pages || su != pool->surplus_huge_pages)
		goto bad;
	if (pool->resv_huge_pages > pool->free_huge_pages ||
	    pool->free_huge_pages > pool->nr_huge_pages)
		goto bad;
	if (pool->surplus_huge_pages != (pool->nr_huge_pages > pool->min_pages ?
					 pool->nr_huge_pages - pool->min_pages : 0))
		goto bad;
	if (pool->max_pages && pool->nr_huge_pages > pool->max_pages)
		goto bad;
	/* pages on free lists are free pages not reserved in regions */
	if (listed + pool->resv_huge_pages != pool->free_huge_pages)
		goto bad;
	if (pool->parent &&
	    (long)pool->nr_huge_pages != pool->spool.used_hpages + pool->spool.rsv_hpages)
		goto bad;
	return 0;
bad:
	hp_log(2, "pool %s: counters broken: nr %zu free %zu resv %zu surplus %zu min %zu max %zu listed %zu",
	       pool->name, pool->nr_huge_pages, pool->free_huge_pages, pool->resv_huge_pages,
	       pool->surplus_huge_pages, pool->min_pages, pool->max_pages, listed);
	return -EUCLEAN;
}

/* Take pages until the pool holds min_pages (set_max_huge_pages growing
 * the persistent pool). 0 or -ENOMEM, leaving what it took in place. */
static int pool_fill_min(struct hugepool *root)
{
	if (root->nr_huge_pages < root->min_pages && !root->arena->base_pages) {
		/* plan on no page the hugetlb cgroup will refuse: fail before
		 * the first fault, not after the kernel refused some */
		size_t want = root->min_pages - root->nr_huge_pages;
		long room = hp_cgroup_hugetlb_room(root->h->size);

		if (room >= 0 && (size_t)room < want) {
			hp_log(1, "pool %s: the hugetlb cgroup allows %ld more %zu KiB page(s), "
			       "min_pages needs %zu", root->name, room, root->h->size >> 10, want);
			return -ENOMEM;
		}
	}
	while (root->nr_huge_pages < root->min_pages) {
		size_t want = root->min_pages - root->nr_huge_pages;
		long first = root_fresh(root, want, 1);

		if (first < 0)
			return (int)first;
		hp_pool_put_run(root, root->arena, (size_t)first, want);
	}
	return 0;
}

static unsigned int pool_seq;

static struct hugepool *pool_create(const struct hugepool_config *cfg, bool fake);

struct hugepool *hugepool_create(const struct hugepool_config *cfg)
{
	return pool_create(cfg, false);
}

/* A pool whose pages are base pages: the whole engine (free lists,
 * surplus, subpools, regions, decay) runs without huge pages, so that its
 * accounting can be unit tested on any machine. Not exported. */
struct hugepool *hp_pool_create_fake(const struct hugepool_config *cfg)
{
	return pool_create(cfg, true);
}

/* The configuration is one a pool can have: its hstate, or NULL with
 * errno set. */
static const struct hp_hstate *config_hstate(const struct hugepool_config *cfg)
{
	const struct hp_hstate *h;
	int ret;

	if ((cfg->max_pages && cfg->min_pages > cfg->max_pages) ||
	    cfg->policy < HUGEPOOL_POLICY_DEFAULT || cfg->policy > HUGEPOOL_POLICY_INTERLEAVE ||
	    (cfg->flags & ~(HUGEPOOL_FALLBACK | HUGEPOOL_SHARED))) {
		errno = EINVAL;
		return NULL;
	}
	ret = hp_hstate_init();
	if (ret) {
		errno = ret == -ENOENT ? EINVAL : -ret;
		return NULL;
	}
	h = hp_size_to_hstate(cfg->page_size);
	if (!h) {
		hp_log(2, "no %zu-byte huge pages in this kernel", cfg->page_size);
		errno = EINVAL;
	}
	return h;
}

static void root_init(struct hugepool *pool, const struct hugepool_config *cfg,
		      const struct hp_hstate *h)
{
	pthread_mutex_init(&pool->lock_storage, NULL);
	pool->lock = &pool->lock_storage;
	pool->root = pool;
	pool->h = h;
	pool->cfg = *cfg;
	pool->cfg.page_size = h->size;
	pool->cfg.nodes = NULL;		/* not ours to keep */
	pool->min_pages = cfg->min_pages;
	pool->max_pages = cfg->max_pages;
	pool->decay_ms = hp_opt_decay_ms();
	pool->next_nid_to_alloc = hp_nodemask_next(&pool->nodes, 0);
	hp_subpool_init(&pool->spool, -1, -1);
	snprintf(pool->name, sizeof(pool->name), "pool%u-%zuK",
		 __atomic_add_fetch(&pool_seq, 1, __ATOMIC_RELAXED), h->size >> 10);
}

/* The root's windows: its own, and the fallback's (HUGEPOOL_FALLBACK). */
static int root_arenas(struct hugepool *pool, bool fake)
{
	const struct hp_hstate *h = pool->h;
	size_t nslots = hp_window_slots(h->shift, pool->max_pages);

	pool->arena = hp_arena_create(h->shift, nslots, fake, pool->cfg.flags & HUGEPOOL_SHARED,
				      pool->name);
	if (!pool->arena)
		return -ENOMEM;
	pool->arena->pool = pool;
	if (!(pool->cfg.flags & HUGEPOOL_FALLBACK))
		return 0;
	pool->fb_arena = hp_arena_create(h->shift, nslots, true, false, pool->name);
	if (!pool->fb_arena)
		return -ENOMEM;
	pool->fb_arena->pool = pool;
	pool->fb_arena->fallback = true;
	return 0;
}

static struct hugepool *pool_create(const struct hugepool_config *cfg, bool fake)
{
	struct hugepool_config def = { 0 };
	const struct hp_hstate *h;
	struct hugepool *pool;
	int ret;

	if (!cfg)
		cfg = &def;
	h = config_hstate(cfg);
	if (!h)
		return NULL;
	pool = hp_meta_zalloc(sizeof(*pool));
	if (!pool) {
		errno = ENOMEM;
		return NULL;
	}
	ret = hp_node_parse(cfg->nodes, &pool->nodes);
	if (ret) {
		hp_meta_free(pool, sizeof(*pool));
		errno = ret == -EAGAIN ? EAGAIN : EINVAL;
		return NULL;
	}
	root_init(pool, cfg, h);
	ret = root_arenas(pool, fake);
	if (!ret) {
		hp_pool_lock(pool);
		ret = pool_fill_min(pool);
		if (!ret)
			hp_pool_watch_added(pool);
		hp_pool_unlock(pool);
	}
	if (!ret) {
		hp_pool_list_add(pool);
		return pool;
	}
	hp_arena_destroy(pool->fb_arena);
	hp_arena_destroy(pool->arena);
	pthread_mutex_destroy(&pool->lock_storage);
	hp_meta_free(pool, sizeof(*pool));
	errno = -ret;
	return NULL;
}

static void subpool_init(struct hugepool *sp, struct hugepool *parent, size_t min_pages,
			 size_t max_pages)
{
	sp->lock = parent->lock;
	sp->parent = parent;
	sp->root = parent->root;
	sp->h = parent->h;
	sp->arena = parent->arena;
	sp->fb_arena = parent->fb_arena;
	sp->cfg = parent->cfg;
	sp->cfg.min_pages = min_pages;
	sp->cfg.max_pages = max_pages;
	sp->nodes = parent->nodes;
	sp->min_pages = min_pages;
	sp->max_pages = max_pages;
	sp->decay_ms = 0;
	hp_subpool_init(&sp->spool, min_pages ? (long)min_pages : -1,
			max_pages ? (long)max_pages : -1);
	snprintf(sp->name, sizeof(sp->name), "sub%u-%zuK",
		 __atomic_add_fetch(&pool_seq, 1, __ATOMIC_RELAXED), sp->h->size >> 10);
}

/* Every free page of subpool sp goes back to its parent. */
static void subpool_return_free(struct hugepool *sp)
{
	struct hp_arena *a = sp->arena;
	int n;

	for (n = 0; n < HP_MAX_NODES; n++) {
		struct hp_freelist *fl = &sp->freelists[n];
		unsigned int b;

		for (b = 0; b < HP_FREE_BINS; b++)
			while (fl->bins[b]) {
				size_t hd = (size_t)(fl->bins[b] - a->slots);
				size_t len = fl->bins[b]->run;

				hp_free_carve(sp, a, hd, hd, len);
				hp_took_from_free(sp, a, hd, len);
				give_to_parent(sp, a, hd, len);
			}
	}
}

/* The minimum is taken from the parent now (hugetlbfs min_size=: the mount
 * fails if it cannot be reserved), page by page so that fragmentation does
 * not matter. 0, or -ENOMEM with every page given back. */
static int subpool_fill_min(struct hugepool *sp)
{
	struct hp_arena *a = sp->arena;
	size_t got;

	for (got = 0; got < sp->min_pages; got++) {
		long first = hp_pool_take_run(sp->parent, 1, 1);

		if (first < 0) {
			subpool_return_free(sp);
			return -ENOMEM;
		}
		a->slots[first].owner = sp;
		hp_pool_acct(sp, a->slots[first].node, 1, 1, 0);
		hp_free_insert(sp, a, (size_t)first, 1, a->slots[first].node,
			       (uint32_t)hp_now_ms());
	}
	return 0;
}

struct hugepool *hugepool_subpool(struct hugepool *parent, size_t min_pages, size_t max_pages)
{
	struct hugepool *sp;
	size_t nr_before;

	if (!parent || (max_pages && min_pages > max_pages) ||
	    min_pages > LONG_MAX || max_pages > LONG_MAX) {
		errno = EINVAL;
		return NULL;
	}
	sp = hp_meta_zalloc(sizeof(*sp));
	if (!sp) {
		errno = ENOMEM;
		return NULL;
	}
	subpool_init(sp, parent, min_pages, max_pages);
	hp_pool_lock(parent);
	nr_before = parent->root->nr_huge_pages;
	if (subpool_fill_min(sp)) {
		hp_shrink_back(parent, nr_before);
		hp_pool_op_end(parent);
		hp_meta_free(sp, sizeof(*sp));
		errno = ENOMEM;
		return NULL;
	}
	parent->nr_subpools++;
	hp_pool_watch_added(sp);
	hp_pool_op_end(parent);
	hp_pool_list_add(sp);
	return sp;
}

/* A subpool's new minimum changes how many pages it keeps reserved. 0, or
 * -ENOMEM leaving the subpool as it was: the pages taken so far go back
 * and the root gives back what it faulted for them (found by tests/fault:
 * they stayed, as reserve that min_pages did not account for, and broke
 * the subpool's invariants). */
static int subpool_resize(struct hugepool *pool, size_t min_pages, size_t max_pages)
{
	struct hp_arena *a = pool->arena;
	long used = pool->spool.used_hpages;
	long want_rsv = (long)min_pages > used ? (long)min_pages - used : 0;
	long rsv_before = pool->spool.rsv_hpages;
	size_t nr_before = pool->root->nr_huge_pages;
	int ret = 0;

	while (pool->spool.rsv_hpages < want_rsv) {
		long first = hp_pool_take_run(pool->parent, 1, 1);

		if (first < 0) {
			ret = -ENOMEM;
			want_rsv = rsv_before;
			break;
		}
		a->slots[first].owner = pool;
		hp_pool_acct(pool, a->slots[first].node, 1, 1, 0);
		hp_free_insert(pool, a, (size_t)first, 1, a->slots[first].node,
			       (uint32_t)hp_now_ms());
		pool->spool.rsv_hpages++;
	}
	while (pool->spool.rsv_hpages > want_rsv) {
		long h = hp_free_head_any(pool, NULL, 0);

		if (h < 0)
			break;
		hp_free_carve(pool, a, (size_t)h, (size_t)h, 1);
		hp_took_from_free(pool, a, (size_t)h, 1);
		give_to_parent(pool, a, (size_t)h, 1);
		pool->spool.rsv_hpages--;
	}
	if (ret) {
		hp_shrink_back(pool, nr_before);
		return ret;
	}
	pool->spool.min_hpages = min_pages ? (long)min_pages : -1;
	pool->spool.max_hpages = max_pages ? (long)max_pages : -1;
	pool->min_pages = min_pages;
	pool->max_pages = max_pages;
	hp_surplus_readjust(pool);
	return 0;
}

/* set_max_huge_pages for a root pool. */
static int root_resize(struct hugepool *pool, size_t min_pages, size_t max_pages)
{
	size_t old_min = pool->min_pages, nr_before;
	int ret;

	if (max_pages && pool->nr_huge_pages > max_pages) {
		/* shrink to the new cap now: free pages go first */
		pool->min_pages = min_pages;
		hp_surplus_readjust(pool);
		hp_pool_decay(pool, hp_now_ms(), true);
		if (pool->nr_huge_pages > max_pages)
			return -EBUSY;
	}
	nr_before = pool->nr_huge_pages;
	pool->min_pages = min_pages;
	hp_surplus_readjust(pool);
	ret = pool_fill_min(pool);
	if (ret) {
		/* -ENOMEM and nothing changed: give back what it took */
		pool->min_pages = old_min;
		hp_surplus_readjust(pool);
		hp_shrink_back(pool, nr_before);
		return ret;
	}
	pool->max_pages = max_pages;
	pool->cfg.min_pages = min_pages;
	pool->cfg.max_pages = max_pages;
	/* a smaller minimum: the unused pages it no longer keeps go back now
	 * (set_max_huge_pages lowering nr_hugepages) */
	if (min_pages < old_min && pool->surplus_huge_pages)
		hp_pool_decay(pool, hp_now_ms(), true);
	return 0;
}

int hugepool_resize(struct hugepool *pool, size_t min_pages, size_t max_pages)
{
	int ret;

	if (!pool || (max_pages && min_pages > max_pages))
		return -EINVAL;
	hp_pool_lock(pool);
	if (max_pages && pool->nr_huge_pages - pool->free_huge_pages +
	    pool->resv_huge_pages > max_pages)
		ret = -EBUSY;
	else if (pool->parent)
		ret = subpool_resize(pool, min_pages, max_pages);
	else
		ret = root_resize(pool, min_pages, max_pages);
	hp_pool_watch_changed(pool, true);
	hp_pool_op_end(pool);
	return ret;
}

int hugepool_destroy(struct hugepool *pool)
{
	if (!pool)
		return -EINVAL;
	hp_pool_lock(pool);
	/* [uring] a region registered with io_uring keeps its pages pinned */
	if (pool->nr_subpools || hp_pool_consumers_busy(pool)) {
		hp_pool_op_end(pool);
		return -EBUSY;
	}
	hp_pool_op_end(pool);
	hp_pool_list_del(pool);
	hp_pool_lock(pool);
	if (pool->parent) {
		hp_pool_consumers_drain(pool);
		subpool_return_free(pool);
		pool->parent->nr_subpools--;
		if (pool->parent->surplus_huge_pages)
			hp_decay_kick(pool->root);
		hp_pool_watch_removed(pool);
		hp_pool_watch_changed(pool->parent, true);
		hp_pool_unlock(pool);
		hp_meta_free(pool, sizeof(*pool));
		return 0;
	}
	hp_pool_consumers_drain(pool);
	hp_pool_watch_removed(pool);
	hp_pool_unlock(pool);
	hp_arena_destroy(pool->fb_arena);
	hp_arena_destroy(pool->arena);
	pthread_mutex_destroy(&pool->lock_storage);
	hp_meta_free(pool, sizeof(*pool));
	return 0;
}

int hugepool_counters(const struct hugepool *pool, int node, struct hugepool_counters *out)
{
	struct hugepool *p = (struct hugepool *)pool;

	if (!pool || !out || node < HUGEPOOL_NODE_ANY || node >= HP_MAX_NODES)
		return -EINVAL;
	if (node != HUGEPOOL_NODE_ANY && !hp_node_exists(node))
		return -EINVAL;
	hp_pool_lock(p);
	out->page_size = pool->h->size;
	out->min_pages = pool->min_pages;
	out->max_pages = pool->max_pages;
	if (node == HUGEPOOL_NODE_ANY) {
		out->nr_pages = pool->nr_huge_pages;
		out->free_pages = pool->free_huge_pages;
		out->resv_pages = pool->resv_huge_pages;
		out->surplus_pages = pool->surplus_huge_pages;
	} else {
		out->nr_pages = pool->nr_huge_pages_node[node];
		out->free_pages = pool->free_huge_pages_node[node];
		out->resv_pages = pool->resv_huge_pages_node[node];
		out->surplus_pages = pool->surplus_huge_pages_node[node];
	}
	hp_pool_op_end(p);
	return 0;
}

size_t hugepool_page_size(const struct hugepool *pool)
{
	return pool ? pool->h->size : 0;
}

long hugepool_set_decay_ms(struct hugepool *pool, long ms)
{
	long old;

	if (!pool || ms < -1)
		return -EINVAL;
	hp_pool_lock(pool);
	old = pool->decay_ms;
	pool->decay_ms = ms;
	if (!pool->parent && pool->surplus_huge_pages) {
		hp_decay_kick(pool);
		hp_decay_wake();	/* [api] kicks no longer wake a timed sleep */
	}
	hp_pool_op_end(pool);
	return old;
}

long hugepool_trim(struct hugepool *pool)
{
	long ret;

	if (!pool)
		return -EINVAL;
	hp_pool_lock(pool);
	hp_pool_consumers_trim(pool);
	ret = hp_pool_decay(pool->root, hp_now_ms(), true);
	hp_pool_watch_changed(pool->root, true);
	hp_pool_op_end(pool);
	return ret;
}

/* [api: shared regions] A page of pool at idx, neither free nor on a free
 * list (a freed region's page that could not be swapped back into the
 * pool's file), goes back to the kernel and out of pool's counters and
 * quota. Lock held. */
void hp_pool_drop_page(struct hugepool *pool, struct hp_arena *a, size_t idx)
{
	int node = a->slots[idx].node;

	hp_log(1, "a page of a freed shared region could not go back to pool %s; "
	       "it went back to the kernel", pool->name);
	if (pool->parent)
		hp_subpool_put_pages(&pool->spool, 1);
	hp_pool_acct(pool, node, -1, 0, 0);
	hp_surplus_removed(pool, node);
	hp_unmap_pages(a, idx, 1);
	hp_empty_insert(a, idx, 1);
	pool->root->stats.pages_released++;
}
