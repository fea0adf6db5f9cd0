/* SPDX-License-Identifier: MIT */
/*
 * pool.c - the hstate pool: this process's pool of huge pages of one size.
 *
 * Every page of a root pool (and of its subpools) lives at a slot of one
 * address window (struct hp_arena) reserved PROT_NONE at creation. A slot is
 * either a placeholder (EMPTY), a free page on a per-node free list (FREE,
 * as the kernel's hugepage_freelists[nid]), part of a block (USED/MIXED) or
 * part of a region (REGION). Runs of slots carry their length at both ends,
 * so freeing coalesces with both neighbours in O(1).
 *
 * Pages come from the kernel as MAP_HUGETLB mappings populated with
 * MADV_POPULATE_WRITE (an error, never a SIGBUS) away from the window, and
 * are then moved over placeholders (window.c: the window is never left
 * with a hole), with the node policy set before the fault and the node verified
 * afterwards (alloc_fresh_huge_page). Pages above min_pages are surplus and
 * go back to the kernel (update_and_free_page) once unused for decay_ms
 * (return_unused_surplus_pages). A subpool takes its pages from its parent
 * under hugepage_subpool accounting (subpool.c).
 *
 * Locking: one mutex per root pool, shared by its subpools; every function
 * here that takes a pool expects it held unless it is a public entry point.
 */
#include "internal.h"

#include <linux/falloc.h>
#include <linux/memfd.h>
#include <linux/mman.h>
#include <numaif.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MPOL_PREFERRED_MANY
#define MPOL_PREFERRED_MANY 5
#endif

pthread_mutex_t hp_pools_lock = PTHREAD_MUTEX_INITIALIZER;
struct hugepool *hp_pools;
uint32_t hp_fork_gen = 1;

/* ------------------------------------------------------------------------
 * address -> arena registry: one entry per GiB of user address space, so
 * that free() decides ownership with one load and no syscall.
 * ------------------------------------------------------------------------ */
#define ARENA_MAP_SHIFT	30
#define ARENA_MAP_SIZE	(1UL << (47 - ARENA_MAP_SHIFT))
#define ARENA_ALIGN	(1UL << ARENA_MAP_SHIFT)

static struct hp_arena *arena_map[ARENA_MAP_SIZE];

struct hp_arena *hp_arena_lookup(const void *addr)
{
	uintptr_t a = (uintptr_t)addr;
	uintptr_t i = a >> ARENA_MAP_SHIFT;
	struct hp_arena *ar;

	if (unlikely(i >= ARENA_MAP_SIZE))
		return NULL;
	ar = __atomic_load_n(&arena_map[i], __ATOMIC_ACQUIRE);
	if (!ar || (const char *)addr < ar->base ||
	    (size_t)((const char *)addr - ar->base) >= (ar->nslots << ar->shift))
		return NULL;
	/* a LOST slot is address space someone else may have mapped into
	 * (window.c): whatever pointer is there is not the pool's */
	if (unlikely(__atomic_load_n(&ar->slots[hp_slot_index(ar, addr)].state,
				     __ATOMIC_RELAXED) == HP_SLOT_LOST))
		return NULL;
	return ar;
}

static void arena_register(struct hp_arena *a, bool on)
{
	uintptr_t i = (uintptr_t)a->base >> ARENA_MAP_SHIFT;
	uintptr_t end = ((uintptr_t)a->base + (a->nslots << a->shift)) >> ARENA_MAP_SHIFT;

	for (; i < end && i < ARENA_MAP_SIZE; i++)
		__atomic_store_n(&arena_map[i], on ? a : NULL, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------------------------
 * runs of slots
 * ------------------------------------------------------------------------ */
static unsigned int bin_of(size_t n, unsigned int nbins)
{
	unsigned int b = 63u - (unsigned int)__builtin_clzl(n);

	return b < nbins ? b : nbins - 1;
}

static void run_set_len(struct hp_arena *a, size_t first, size_t n)
{
	a->slots[first].run = (uint32_t)n;
	a->slots[first + n - 1].run = (uint32_t)n;
}

static void ext_link(struct hp_slot **bins, unsigned int nbins, struct hp_slot *head, size_t n)
{
	unsigned int b = bin_of(n, nbins);

	head->prev_free = NULL;
	head->next_free = bins[b];
	if (bins[b])
		bins[b]->prev_free = head;
	bins[b] = head;
}

static void ext_unlink(struct hp_slot **bins, unsigned int nbins, struct hp_slot *head)
{
	unsigned int b = bin_of(head->run, nbins);

	if (head->prev_free)
		head->prev_free->next_free = head->next_free;
	else
		bins[b] = head->next_free;
	if (head->next_free)
		head->next_free->prev_free = head->prev_free;
	head->next_free = head->prev_free = NULL;
}

/* First fit in the smallest bin that can hold n slots at the alignment;
 * returns the head index or -1. *start gets the aligned start. */
static long ext_find(struct hp_arena *a, struct hp_slot **bins, unsigned int nbins,
		     size_t n, size_t align, size_t *start)
{
	unsigned int b;

	for (b = bin_of(n, nbins); b < nbins; b++) {
		struct hp_slot *s;
		int budget = 64;	/* bounded scan: huge lists are rare */

		for (s = bins[b]; s && budget--; s = s->next_free) {
			size_t head = (size_t)(s - a->slots);
			/* aligned in the address space, not just in slot
			 * numbers: the window base is aligned to the slot size
			 * (and 1 GiB), not to every alignment a caller asks
			 * (aligned_alloc of 4 GiB) [api: absolute alignment] */
			size_t bias = ((uintptr_t)a->base >> a->shift) & (align - 1);
			size_t st = HP_ALIGN_UP(head + bias, align) - bias;

			if (s->run >= n && st + n <= head + s->run) {
				*start = st;
				return (long)head;
			}
		}
	}
	return -1;
}

/* EMPTY runs: address space with no page, owned by the arena. A LOST slot
 * in [first, first + n) stays LOST (window.c): only the runs around it
 * become EMPTY. */
static void empty_insert(struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (unlikely(a->slots[i].state == HP_SLOT_LOST)) {
			if (i > first)
				empty_insert(a, first, i - first);
			if (i + 1 < first + n)
				empty_insert(a, i + 1, first + n - i - 1);
			return;
		}
	}
	for (i = first; i < first + n; i++) {
		a->slots[i].state = HP_SLOT_EMPTY;
		a->slots[i].flags = 0;
		a->slots[i].node = -1;
		a->slots[i].owner = NULL;
		a->slots[i].req = 0;
	}
	if (first > 0 && a->slots[first - 1].state == HP_SLOT_EMPTY) {
		size_t lh = first - a->slots[first - 1].run;

		ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[lh]);
		n += first - lh;
		first = lh;
	}
	if (first + n < a->nslots && a->slots[first + n].state == HP_SLOT_EMPTY) {
		size_t rn = a->slots[first + n].run;

		ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[first + n]);
		n += rn;
	}
	run_set_len(a, first, n);
	ext_link(a->empty_bins, HP_FREE_BINS_A, &a->slots[first], n);
}

/* Take the single EMPTY slot idx out of its run (the rest stays EMPTY). */
static void empty_remove(struct hp_arena *a, size_t idx)
{
	size_t i = idx, head, len;

	/* find the run's head: walk left over EMPTY slots (runs are short
	 * here: this is an error path) */
	while (i > 0 && a->slots[i - 1].state == HP_SLOT_EMPTY)
		i--;
	head = i;
	len = a->slots[head].run;
	ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[head]);
	memset(&a->slots[idx], 0, sizeof(a->slots[idx]));
	a->slots[idx].state = HP_SLOT_USED;
	a->slots[idx].node = -1;
	if (idx > head)
		empty_insert(a, head, idx - head);
	if (idx + 1 < head + len)
		empty_insert(a, idx + 1, head + len - idx - 1);
}

/* Take n EMPTY slots at the alignment; returns the first index or -ENOMEM
 * (the window is full). The slots stay EMPTY until the caller maps them. */
static long empty_take(struct hp_arena *a, size_t n, size_t align)
{
	size_t start, head, len;
	long h = ext_find(a, a->empty_bins, HP_FREE_BINS_A, n, align, &start);

	if (h < 0)
		return -ENOMEM;
	head = (size_t)h;
	len = a->slots[head].run;
	ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[head]);
	/* mark the taken slots non-EMPTY before re-inserting the leftovers so
	 * that they do not coalesce back over them */
	memset(&a->slots[start], 0, n * sizeof(struct hp_slot));
	for (size_t i = start; i < start + n; i++) {
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].node = -1;
	}
	if (start > head)
		empty_insert(a, head, start - head);
	if (start + n < head + len)
		empty_insert(a, start + n, head + len - start - n);
	return (long)start;
}

/* ------------------------------------------------------------------------
 * counters
 * ------------------------------------------------------------------------ */
static void pool_acct(struct hugepool *pool, int node, long dnr, long dfree, long dresv)
{
	pool->nr_huge_pages += dnr;
	pool->free_huge_pages += dfree;
	pool->resv_huge_pages += dresv;
	if (node >= 0 && node < HP_MAX_NODES) {
		pool->nr_huge_pages_node[node] += dnr;
		pool->free_huge_pages_node[node] += dfree;
		pool->resv_huge_pages_node[node] += dresv;
	}
}

static size_t pool_min(const struct hugepool *pool)
{
	return pool->min_pages;
}

/*
 * Keep surplus_huge_pages = max(0, nr - min), attributed to nodes as the
 * kernel's adjust_pool_surplus does: a page that arrives while the pool is
 * at its minimum is surplus on its node; a page that leaves takes surplus
 * off its own node first, then off any node that has some.
 */
static void surplus_page_added(struct hugepool *pool, int node)
{
	if (pool->nr_huge_pages > pool_min(pool)) {
		pool->surplus_huge_pages++;
		if (node >= 0)
			pool->surplus_huge_pages_node[node]++;
	}
}

static void surplus_page_removed(struct hugepool *pool, int node)
{
	int n;

	if (pool->surplus_huge_pages == 0 || pool->nr_huge_pages >= pool_min(pool) +
	    pool->surplus_huge_pages)
		return;
	pool->surplus_huge_pages--;
	if (node >= 0 && pool->surplus_huge_pages_node[node]) {
		pool->surplus_huge_pages_node[node]--;
		return;
	}
	for (n = 0; n < HP_MAX_NODES; n++) {
		if (pool->surplus_huge_pages_node[n]) {
			pool->surplus_huge_pages_node[n]--;
			return;
		}
	}
}

/* min changed: convert pages between persistent and surplus */
static void surplus_readjust(struct hugepool *pool)
{
	size_t want = pool->nr_huge_pages > pool->min_pages ?
		      pool->nr_huge_pages - pool->min_pages : 0;
	int n;

	while (pool->surplus_huge_pages > want) {
		for (n = 0; n < HP_MAX_NODES; n++)
			if (pool->surplus_huge_pages_node[n]) {
				pool->surplus_huge_pages_node[n]--;
				break;
			}
		pool->surplus_huge_pages--;
	}
	while (pool->surplus_huge_pages < want) {
		/* nodes that have persistent pages to convert */
		for (n = 0; n < HP_MAX_NODES; n++)
			if (pool->nr_huge_pages_node[n] > pool->surplus_huge_pages_node[n]) {
				pool->surplus_huge_pages_node[n]++;
				break;
			}
		pool->surplus_huge_pages++;
	}
}

/* ------------------------------------------------------------------------
 * free lists (hugepage_freelists)
 * ------------------------------------------------------------------------ */
static void free_insert(struct hugepool *pool, struct hp_arena *a, size_t first,
			size_t n, int node, uint32_t stamp)
{
	struct hp_freelist *fl = &pool->freelists[node < 0 ? 0 : node];
	size_t i;

	for (i = first; i < first + n; i++) {
		a->slots[i].state = HP_SLOT_FREE;
		a->slots[i].owner = pool;
		a->slots[i].req = 0;
	}
	fl->pages += n;
	if (first > 0) {
		struct hp_slot *l = &a->slots[first - 1];

		if (l->state == HP_SLOT_FREE && l->owner == pool && l->node == node) {
			size_t lh = first - l->run;

			if (a->slots[lh].stamp > stamp)
				stamp = a->slots[lh].stamp;
			ext_unlink(fl->bins, HP_FREE_BINS, &a->slots[lh]);
			n += first - lh;
			first = lh;
		}
	}
	if (first + n < a->nslots) {
		struct hp_slot *r = &a->slots[first + n];

		if (r->state == HP_SLOT_FREE && r->owner == pool && r->node == node) {
			size_t rn = r->run;

			if (r->stamp > stamp)
				stamp = r->stamp;
			ext_unlink(fl->bins, HP_FREE_BINS, r);
			n += rn;
		}
	}
	run_set_len(a, first, n);
	a->slots[first].stamp = stamp;
	ext_link(fl->bins, HP_FREE_BINS, &a->slots[first], n);
}

/* Put back a leftover piece of a carved free extent: its slots are FREE,
 * the pool's, on node already, and its neighbours are the carved part and
 * whatever bordered the extent (never free of the same pool and node:
 * extents are kept coalesced), so only the ends and the list change.
 * Rewriting every slot here made a pair's cost grow with the extent. */
static void free_relink(struct hugepool *pool, struct hp_arena *a, size_t first,
			size_t n, int node, uint32_t stamp)
{
	struct hp_freelist *fl = &pool->freelists[node < 0 ? 0 : node];

	fl->pages += n;
	run_set_len(a, first, n);
	a->slots[first].stamp = stamp;
	ext_link(fl->bins, HP_FREE_BINS, &a->slots[first], n);
}

/* Remove [start, start + n) from the free extent headed at head. */
static void free_carve(struct hugepool *pool, struct hp_arena *a, size_t head,
		       size_t start, size_t n)
{
	int node = a->slots[head].node;
	struct hp_freelist *fl = &pool->freelists[node < 0 ? 0 : node];
	size_t len = a->slots[head].run;
	uint32_t stamp = a->slots[head].stamp;
	size_t i;

	ext_unlink(fl->bins, HP_FREE_BINS, &a->slots[head]);
	fl->pages -= len;
	for (i = start; i < start + n; i++)
		a->slots[i].state = HP_SLOT_USED;
	if (start > head)
		free_relink(pool, a, head, start - head, node, stamp);
	if (start + n < head + len)
		free_relink(pool, a, start + n, head + len - start - n, node, stamp);
}

/* Node search order for a pool's policy. */
static int node_order(struct hugepool *pool, int *order)
{
	int n, k = 0;
	hp_nodemask_t all;

	for (n = 0; n < HP_MAX_NODES; n++)
		if (hp_nodemask_test(&pool->root->nodes, n))
			order[k++] = n;
	if (pool->root->cfg.policy == HUGEPOOL_POLICY_PREFERRED ||
	    pool->root->cfg.policy == HUGEPOOL_POLICY_DEFAULT) {
		/* then any other node the pool has pages on */
		hp_node_allowed(&all);
		for (n = 0; n < HP_MAX_NODES; n++)
			if (!hp_nodemask_test(&pool->root->nodes, n) &&
			    (hp_nodemask_test(&all, n) || pool->freelists[n].pages))
				order[k++] = n;
	}
	return k;
}

/* A run of n free pages on one node, or -ENOMEM. */
static long free_take_node(struct hugepool *pool, struct hp_arena *a, int node,
			   size_t n, size_t align)
{
	struct hp_freelist *fl = &pool->freelists[node];
	size_t start;
	long head;

	if (fl->pages < n)
		return -ENOMEM;
	head = ext_find(a, fl->bins, HP_FREE_BINS, n, align, &start);
	if (head < 0)
		return -ENOMEM;
	free_carve(pool, a, (size_t)head, start, n);
	return (long)start;
}

/* dequeue_huge_page_nodemask: a run of n free pages on one node */
static long free_take(struct hugepool *pool, struct hp_arena *a, size_t n, size_t align)
{
	const hp_nodemask_t *m = &pool->root->nodes;
	int order[HP_MAX_NODES], k, i;
	long first;
	size_t w;

	/* [api: hot path] the pool's own nodes first, straight from the mask
	 * words: building the whole node_order() on every malloc was a third
	 * of a warm alloc+free pair */
	for (w = 0; w < ARRAY_SIZE(m->bits); w++) {
		unsigned long bits;

		for (bits = m->bits[w]; bits; bits &= bits - 1) {
			int node = (int)(w * 8 * sizeof(unsigned long)) + __builtin_ctzl(bits);

			first = free_take_node(pool, a, node, n, align);
			if (first >= 0)
				return first;
		}
	}
	if (pool->root->cfg.policy != HUGEPOOL_POLICY_PREFERRED &&
	    pool->root->cfg.policy != HUGEPOOL_POLICY_DEFAULT)
		return -ENOMEM;
	k = node_order(pool, order);
	for (i = 0; i < k; i++) {
		if (hp_nodemask_test(m, order[i]))
			continue;	/* tried above */
		first = free_take_node(pool, a, order[i], n, align);
		if (first >= 0)
			return first;
	}
	return -ENOMEM;
}

/* ------------------------------------------------------------------------
 * the kernel side: fault, release, move
 * ------------------------------------------------------------------------ */
/* Give pages back to the kernel; the window keeps a placeholder there
 * (hp_window_clear). */
/* [api: shared regions] the file a shared arena's page at slot i is in:
 * a region's own (see region.c) or the pool's. */
static int slot_file(const struct hp_arena *a, size_t i)
{
	return a->slot_fd[i] ? a->slot_fd[i] - 1 : a->fd;
}

static int punch_page(const struct hp_arena *a, int fd, uint32_t fpage)
{
	return hp_sys_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
				(off_t)fpage << a->shift, (off_t)1 << a->shift);
}

static void unmap_pages(struct hp_arena *a, size_t first, size_t n)
{
	/* [api: shared regions] not in a forked child: the file is the
	 * parent's too (hp_arena_foreign) */
	if (a->fd >= 0 && !hp_arena_foreign(a)) {
		size_t i;

		for (i = first; i < first + n; i++)
			if ((a->slots[i].flags & HP_SLOT_F_PAGE) &&
			    punch_page(a, slot_file(a, i), a->slots[i].fpage))
				/* the page stays in the file, and the next
				 * fault of this slot maps it again as if fresh
				 * from the kernel: make it what that promises,
				 * zero (found by tests/fault) */
				memset(hp_slot_addr(a, i), 0, (size_t)1 << a->shift);
	}
	hp_window_clear(a, first, n);
}

/* Undo a fault of [first, first + n) whose slots are not marked as holding
 * pages yet: unmap_pages punches the file pages of marked slots only, so a
 * shared pool kept the pages of a fault that failed after its fallocate
 * (found by tests/fault: MADV_POPULATE_WRITE or the node check failing
 * left them in the memfd until the pool was destroyed). */
static void unfault_range(struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++)
		a->slots[i].flags |= HP_SLOT_F_PAGE;
	unmap_pages(a, first, n);
	for (i = first; i < first + n; i++)
		a->slots[i].flags &= (uint8_t)~HP_SLOT_F_PAGE;
}

struct policy_save {
	bool saved;
	int mode;
	unsigned long mask[HP_MAX_NODES / (8 * sizeof(unsigned long))];
};

static int policy_set(int mode, const hp_nodemask_t *m, struct policy_save *sv)
{
	int ret;

	if (!sv->saved) {
		ret = hp_sys_get_mempolicy(&sv->mode, sv->mask, HP_MAX_NODES, NULL, 0);
		if (ret)
			return ret;
		sv->saved = true;
	}
	ret = hp_sys_set_mempolicy(mode, m->bits, HP_MAX_NODES + 1);
	if (ret == -EINVAL && mode == MPOL_PREFERRED_MANY) {
		/* kernels before 5.15: prefer the first node */
		hp_nodemask_t one = { { 0 } };

		hp_nodemask_set(&one, hp_nodemask_next(m, 0));
		ret = hp_sys_set_mempolicy(MPOL_PREFERRED, one.bits, HP_MAX_NODES + 1);
	}
	return ret;
}

static void policy_restore(struct policy_save *sv)
{
	if (sv->saved)
		hp_sys_set_mempolicy(sv->mode, sv->mode == MPOL_DEFAULT ? NULL : sv->mask,
				     HP_MAX_NODES + 1);
}

/* Map and populate n pages at slots [first, first + n) with the current
 * task policy. 0 or -errno; on error nothing stays mapped. */
/* Where the pages of a fault of a shared arena go: page fp on of file fd
 * (the pool's memfd, fp = the slot; or a region's own, see region.c). */
struct hp_ffile {
	int fd;
	uint32_t fp;
};

static int fault_range(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		       const struct hp_ffile *ff)
{
	size_t len = n << a->shift;
	int ret;

	if (a->base_pages)
		return hp_window_map(a, first, n, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, false);
	if (a->fd >= 0) {
		/* [api: shared regions] slot i is always file page i: a run
		 * of slots (a region) is then one range of the file that
		 * another process can map, and a hole punched for a slot is
		 * the page it had (a bump counter ran out of file pages after
		 * nslots faults and never reused one). Pages of such an
		 * arena never move between slots; see hp_pool_refault_page. */
		int fd = ff ? ff->fd : a->fd;
		uint32_t fp = ff ? ff->fp : (uint32_t)first;
		size_t i;

		if (hp_arena_foreign(a))
			return -ENOMEM;	/* the parent's file: not ours to fill */
		ret = hp_sys_fallocate(fd, 0, (off_t)fp << a->shift, (off_t)len);
		if (!ret)
			ret = hp_window_map(a, first, n, PROT_READ | PROT_WRITE, MAP_SHARED,
					    fd, (off_t)fp << a->shift, true);
		if (ret) {
			hp_sys_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
					 (off_t)fp << a->shift, (off_t)len);
			return ret;
		}
		for (i = 0; i < n; i++) {
			a->slots[first + i].fpage = fp + (uint32_t)i;
			a->slot_fd[first + i] = fd == a->fd ? 0 : fd + 1;
		}
		return 0;
	}
	/* reserved, charged and populated away from the window: a refusal
	 * (no page, a hugetlb cgroup limit) is an error here, never a hole
	 * in the window nor a SIGBUS later */
	return hp_window_map(a, first, n, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | root->h->mmap_flags, -1, 0, true);
}

/*
 * alloc_fresh_huge_page for n pages at [first, first + n): place them per
 * the pool's policy, verify where they landed, record nodes. 0 or -ENOMEM
 * (with nothing left mapped).
 */
static int fault_run_in(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
			const struct hp_ffile *ff);

static int fault_run(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	return fault_run_in(root, a, first, n, NULL);
}

static int fault_run_in(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
			const struct hp_ffile *ff)
{
	struct policy_save sv = { .saved = false };
	enum hugepool_policy pol = root->cfg.policy;
	int nodes_buf[64];
	int *nodes = nodes_buf;
	size_t i;
	int ret = 0;

	if (a->base_pages) {
		ret = fault_range(root, a, first, n, NULL);
		if (ret)
			return -ENOMEM;
		/* a test pool on base pages (hp_pool_create_fake): node 0 */
		for (i = first; i < first + n; i++) {
			a->slots[i].flags = HP_SLOT_F_PAGE | HP_SLOT_F_BASE;
			a->slots[i].node = 0;
			a->slots[i].gen = hp_fork_gen;
		}
		root->stats.pages_faulted += n;
		return 0;
	}

	if (pol == HUGEPOOL_POLICY_INTERLEAVE) {
		/* the kernel's for_each_node_mask_to_alloc: each page on the
		 * next node, skipping nodes that have none left */
		for (i = 0; i < n && !ret; i++) {
			int tries = hp_nodemask_weight(&root->nodes);

			ret = -ENOMEM;
			while (tries-- > 0) {
				hp_nodemask_t one = { { 0 } };
				int nid = hp_nodemask_next(&root->nodes, root->next_nid_to_alloc);

				root->next_nid_to_alloc = nid + 1;
				hp_nodemask_set(&one, nid);
				if (policy_set(MPOL_BIND, &one, &sv))
					break;
				struct hp_ffile f1 = { 0 }, *f1p = NULL;

				if (ff) {
					f1 = *ff;
					f1.fp += (uint32_t)i;
					f1p = &f1;
				}
				if (!fault_range(root, a, first + i, 1, f1p)) {
					ret = 0;
					break;
				}
			}
			if (ret && i)
				unfault_range(a, first, i);
		}
	} else {
		if (pol == HUGEPOOL_POLICY_BIND)
			ret = policy_set(MPOL_BIND, &root->nodes, &sv);
		else if (pol == HUGEPOOL_POLICY_PREFERRED)
			ret = policy_set(MPOL_PREFERRED_MANY, &root->nodes, &sv);
		if (!ret)
			ret = fault_range(root, a, first, n, ff);
	}
	policy_restore(&sv);
	if (ret) {
		hp_log(2, "cannot fault %zu page(s) of %zu KiB: %s", n,
		       ((size_t)1 << a->shift) >> 10, strerror(-ret));
		return -ENOMEM;
	}

	if (n > ARRAY_SIZE(nodes_buf)) {
		nodes = hp_meta_zalloc(n * sizeof(int));
		if (!nodes) {
			unfault_range(a, first, n);
			return -ENOMEM;
		}
	}
	ret = hp_node_of_pages(hp_slot_addr(a, first), (size_t)1 << a->shift, n, nodes);
	for (i = 0; !ret && i < n; i++) {
		if (nodes[i] < 0 || nodes[i] >= HP_MAX_NODES) {
			ret = nodes[i] < 0 ? nodes[i] : -ERANGE;
		} else if ((pol == HUGEPOOL_POLICY_BIND || pol == HUGEPOOL_POLICY_INTERLEAVE) &&
			   !hp_nodemask_test(&root->nodes, nodes[i])) {
			/* a page on a node we were told not to use is an
			 * error, not a success */
			hp_log(1, "page landed on node %d outside the pool's nodes", nodes[i]);
			ret = -ENOMEM;
		}
	}
	if (ret) {
		unfault_range(a, first, n);
		if (nodes != nodes_buf)
			hp_meta_free(nodes, n * sizeof(int));
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct hp_slot *s = &a->slots[first + i];

		s->flags = HP_SLOT_F_PAGE;	/* fresh from the kernel: zero */
		s->node = (int16_t)nodes[i];
		s->gen = hp_fork_gen;
	}
	if (nodes != nodes_buf)
		hp_meta_free(nodes, n * sizeof(int));
	root->stats.pages_faulted += n;
	return 0;
}

/* Move the page at slot src to the EMPTY slot dst (mremap for private
 * memory; a second mapping of the same file page for shared pools). The
 * source is left with a placeholder and no page; what it becomes (EMPTY,
 * or still part of a region) is the caller's business, except that it is
 * marked LOST if someone mapped into the hole meanwhile. 0 or -errno
 * (nothing moved). */
static int move_page(struct hp_arena *a, size_t src, size_t dst)
{
	int ret;

	/* [api: shared regions] a shared arena keeps slot i at file page i:
	 * a second mapping of src's file page at dst would break that (and a
	 * later fault at src would hand the same file page out twice). Its
	 * callers use hp_pool_refault_page or copy instead. */
	if (a->fd >= 0)
		return -EOPNOTSUPP;
	ret = hp_window_move(a, src, dst);
	if (ret < 0)
		return ret;
	a->slots[dst].flags = a->slots[src].flags;
	a->slots[dst].node = a->slots[src].node;
	a->slots[dst].gen = a->slots[src].gen;
	a->slots[dst].fpage = a->slots[src].fpage;
	a->slots[src].flags = 0;
	if (ret > 0)	/* someone mapped into the hole: never touch it again */
		hp_window_lose(a, src, 1);
	return 0;
}

/* A slot a page was moved out of becomes address space again. */
static void vacate(struct hp_arena *a, size_t idx)
{
	if (a->slots[idx].state != HP_SLOT_LOST)
		empty_insert(a, idx, 1);
}

/* ------------------------------------------------------------------------
 * taking and giving back runs
 * ------------------------------------------------------------------------ */

/* A root pool grows by n fresh pages (gather_surplus_pages); the run is
 * USED on return. -ENOMEM over max_pages or when the kernel has none. */
static long root_fresh(struct hugepool *root, size_t n, size_t align)
{
	struct hp_arena *a = root->arena;
	long first;
	size_t i;
	int ret;

	if (root->max_pages && root->nr_huge_pages + n > root->max_pages)
		return -ENOMEM;
	first = empty_take(a, n, align);
	if (first < 0)
		return first;
	ret = fault_run(root, a, (size_t)first, n);
	if (ret) {
		empty_insert(a, (size_t)first, n);
		return ret;
	}
	for (i = (size_t)first; i < (size_t)first + n; i++) {
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].owner = root;
		pool_acct(root, a->slots[i].node, 1, 0, 0);
		surplus_page_added(root, a->slots[i].node);
	}
	return first;
}

static void took_from_free(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n);

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
	k = node_order(root, order);
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
				free_carve(root, a, head, head, len);
				took_from_free(root, a, head, len);
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

/* Take pages the pool holds off its free lists into USED state for the
 * pool itself (free_huge_pages drops). */
static void took_from_free(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n)
{
	size_t i, j;

	/* counted per stretch of one node, not per page [api: hot path] */
	for (i = first; i < first + n; i = j) {
		int node = a->slots[i].node;

		for (j = i; j < first + n && a->slots[j].node == node; j++)
			a->slots[j].owner = pool;
		pool_acct(pool, node, 0, -(long)(j - i), 0);
	}
}

/* Move ownership of USED pages [first, first + n) from pool to its parent,
 * which takes them back as any freed pages: a parent that is itself a
 * subpool uncharges them (and may pass them further up). */
static void give_to_parent(struct hugepool *pool, struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		pool_acct(pool, a->slots[i].node, -1, 0, 0);
		surplus_page_removed(pool, a->slots[i].node);
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].owner = pool->parent;
	}
	hp_pool_put_run(pool->parent, a, first, n);
}

/* Head slot of any free extent of pool, or -1. */
static long any_free_head(struct hugepool *pool)
{
	int n;
	unsigned int b;

	for (n = 0; n < HP_MAX_NODES; n++) {
		if (!pool->freelists[n].pages)
			continue;
		for (b = 0; b < HP_FREE_BINS; b++)
			if (pool->freelists[n].bins[b])
				return pool->freelists[n].bins[b] - pool->arena->slots;
	}
	return -1;
}

static void decay_kick(struct hugepool *root);

/*
 * Take n contiguous pages for pool: off its free lists, else (subpool) from
 * its parent, else (root) fresh from the kernel. On success the slots are
 * USED, owned by pool, counted in nr and not in free; returns the first
 * index. -ENOMEM when the pool, its quota or the kernel cannot give them.
 */
long hp_pool_take_run(struct hugepool *pool, size_t npages, size_t align, bool fallback)
{
	struct hp_arena *a = pool->arena;
	long first;
	(void)fallback;

	if (npages == 0 || npages > a->nslots)
		return -ENOMEM;
	if (!pool->parent) {
		first = free_take(pool, a, npages, align);
		if (first >= 0) {
			took_from_free(pool, a, (size_t)first, npages);
			return first;
		}
		first = root_extend(pool, npages, align);
		if (first >= 0)
			return first;
		return root_fresh(pool, npages, align);
	}

	/* subpool: charge first (may fail on max), then find the pages */
	{
		long delta = hp_subpool_get_pages(&pool->spool, (long)npages);
		long from_rsv, given = 0;
		struct hugepool *root = pool->root;

		if (delta < 0)
			return delta;
		from_rsv = (long)npages - delta;
		if (delta == 0) {
			first = free_take(pool, a, npages, align);
			if (first >= 0) {
				took_from_free(pool, a, (size_t)first, npages);
				return first;
			}
		}
		/*
		 * The part of the minimum this charge consumes goes back to
		 * the parent first, so that the parent can build the run out
		 * of those very pages (they coalesce with its free extents)
		 * instead of handing out new ones. The root must not release
		 * them to the kernel meanwhile: decay is held.
		 */
		root->decay_hold++;
		while (given < from_rsv) {
			long h = any_free_head(pool);
			size_t len, take;

			if (h < 0)
				break;
			len = a->slots[h].run;
			take = len < (size_t)(from_rsv - given) ? len : (size_t)(from_rsv - given);
			free_carve(pool, a, (size_t)h, (size_t)h, take);
			took_from_free(pool, a, (size_t)h, take);
			give_to_parent(pool, a, (size_t)h, take);
			given += (long)take;
		}
		first = hp_pool_take_run(pool->parent, npages, align, fallback);
		if (first < 0) {
			/* take the minimum back, then undo the charge */
			while (given > 0) {
				long p1 = hp_pool_take_run(pool->parent, 1, 1, fallback);

				if (p1 < 0)
					break;
				a->slots[p1].owner = pool;
				pool_acct(pool, a->slots[p1].node, 1, 1, 0);
				surplus_page_added(pool, a->slots[p1].node);
				free_insert(pool, a, (size_t)p1, 1, a->slots[p1].node,
					    (uint32_t)hp_now_ms());
				given--;
			}
			hp_subpool_put_pages(&pool->spool, (long)npages);
			root->decay_hold--;
			return first;
		}
		root->decay_hold--;
		/* the parent's pages now belong to the subpool */
		for (size_t i = (size_t)first; i < (size_t)first + npages; i++) {
			a->slots[i].owner = pool;
			pool_acct(pool, a->slots[i].node, 1, 0, 0);
			surplus_page_added(pool, a->slots[i].node);
		}
		if (root->surplus_huge_pages && root->free_huge_pages > root->resv_huge_pages)
			decay_kick(root);
		return first;
	}
}

/* Release FREE-list run [first, first + n) of a root pool to the kernel
 * (update_and_free_page). The run must already be off the free lists. */
static void root_release(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		pool_acct(root, a->slots[i].node, -1, -1, 0);
		surplus_page_removed(root, a->slots[i].node);
	}
	unmap_pages(a, first, n);
	empty_insert(a, first, n);
	root->stats.pages_released += n;
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
		pool_acct(pool, node, 0, (long)(j - i), 0);
		free_insert(pool, a, i, j - i, node, now);
	}
	pool->last_free_ms = now;
	if (pool->parent)
		pool = pool->parent;
	while (pool->parent)
		pool = pool->parent;
	if (pool->surplus_huge_pages && pool->free_huge_pages > pool->resv_huge_pages)
		decay_kick(pool);
}

/*
 * return_unused_surplus_pages: free surplus pages that have sat unused for
 * decay_ms go back to the kernel (all of them with force). Never dips into
 * the persistent minimum or into reserved pages. Returns pages released.
 */
static long decay_some(struct hugepool *pool, uint64_t now_ms, bool force, size_t limit);

long hp_pool_decay(struct hugepool *pool, uint64_t now_ms, bool force)
{
	return decay_some(pool, now_ms, force, SIZE_MAX);
}

/* Undo growth that a failed operation caused: release up to n free surplus
 * pages of the root at once (a failed call leaves the pool as it was). */
static void shrink_back(struct hugepool *pool, size_t nr_before)
{
	struct hugepool *root = pool->root;

	if (root->nr_huge_pages > nr_before)
		decay_some(root, 0, true, root->nr_huge_pages - nr_before);
}

/* For region.c: a failed hugepool_region_reserve gives back what its
 * populate faulted (lock held). */
void hp_pool_shrink_back(struct hugepool *pool, size_t nr_before)
{
	shrink_back(pool, nr_before);
}

static long decay_some(struct hugepool *pool, uint64_t now_ms, bool force, size_t limit)
{
	struct hp_arena *a = pool->arena;
	long released = 0;
	int n;

	if (pool->parent)
		return 0;	/* subpools return pages to the parent at once */
	if (pool->decay_hold || (!force && pool->decay_ms < 0))
		return 0;
	for (n = 0; n < HP_MAX_NODES; n++) {
		struct hp_freelist *fl = &pool->freelists[n];
		unsigned int b;

		if (!fl->pages)
			continue;
		for (b = 0; b < HP_FREE_BINS; b++) {
			struct hp_slot *s = fl->bins[b], *next;

			for (; s; s = next) {
				size_t head = (size_t)(s - a->slots);
				size_t len = s->run, take, surplus;

				next = s->next_free;
				surplus = pool->nr_huge_pages > pool->min_pages ?
					  pool->nr_huge_pages - pool->min_pages : 0;
				if (surplus > limit - (size_t)released)
					surplus = limit - (size_t)released;
				if (!surplus)
					return released;
				if (!force && (uint32_t)now_ms - s->stamp < (uint32_t)pool->decay_ms)
					continue;
				/* keep reserved pages: resv <= free always */
				if (pool->free_huge_pages - len < pool->resv_huge_pages)
					continue;
				take = len < surplus ? len : surplus;
				free_carve(pool, a, head, head + len - take, take);
				root_release(pool, a, head + len - take, take);
				released += (long)take;
				/* the list changed under us: rescan this bin */
				next = fl->bins[b];
			}
		}
	}
	return released;
}

/* ------------------------------------------------------------------------
 * the decay thread: one per process, started when a pool first holds
 * unused surplus pages, so that memory a program stops using goes back
 * within a bounded time even if it never calls the allocator again.
 * ------------------------------------------------------------------------ */
static pthread_mutex_t decay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t decay_cond = PTHREAD_COND_INITIALIZER;
static bool decay_running;
static bool decay_pending;
/* [api: hot path] the thread sleeps with no timeout (nothing to watch).
 * Only then does a kick need to wake it: otherwise it looks again within
 * its period anyway, and waking it on every free cost a futex call and a
 * fight for the pool lock per free. decay_pending and decay_idle are a
 * Dekker pair (seq_cst): a kicker stores pending then loads idle, the
 * thread stores idle then loads pending, so one of them sees the other. */
static bool decay_idle;

static void *decay_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&decay_lock);
	for (;;) {
		struct timespec ts;
		long wait_ms = 1000;
		bool work = false;
		struct hugepool *p;

		__atomic_store_n(&decay_pending, false, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&decay_lock);

		pthread_mutex_lock(&hp_pools_lock);
		for (p = hp_pools; p; p = p->next_pool) {
			if (p->parent || p->decay_ms < 0)
				continue;
			hp_pool_lock(p);
			if (hp_pool_decay(p, hp_now_ms(), false))
				hp_publish_pool_update(p, true);
			if (p->surplus_huge_pages && p->free_huge_pages > p->resv_huge_pages) {
				work = true;
				if (p->decay_ms / 2 < wait_ms)
					wait_ms = p->decay_ms / 2 > 10 ? p->decay_ms / 2 : 10;
			}
			hp_pool_unlock(p);
		}
		pthread_mutex_unlock(&hp_pools_lock);
		hp_publish_flush();

		pthread_mutex_lock(&decay_lock);
		if (!work) {
			/* nothing to watch: sleep until kicked */
			__atomic_store_n(&decay_idle, true, __ATOMIC_SEQ_CST);
			while (!__atomic_load_n(&decay_pending, __ATOMIC_SEQ_CST))
				pthread_cond_wait(&decay_cond, &decay_lock);
			__atomic_store_n(&decay_idle, false, __ATOMIC_SEQ_CST);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&decay_cond, &decay_lock, &ts);
	}
	return NULL;
}

static void decay_kick(struct hugepool *root)
{
	pthread_t t;

	if (root->decay_hold)
		return;
	pthread_attr_t attr;
	sigset_t all, old;

	if (root->decay_ms == 0) {
		hp_pool_decay(root, hp_now_ms(), true);
		return;
	}
	if (root->decay_ms < 0)
		return;
	if (__atomic_load_n(&decay_running, __ATOMIC_ACQUIRE)) {
		/* [api: hot path] see decay_idle */
		if (!__atomic_load_n(&decay_pending, __ATOMIC_RELAXED))
			__atomic_store_n(&decay_pending, true, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&decay_idle, __ATOMIC_SEQ_CST))
			return;
	}
	pthread_mutex_lock(&decay_lock);
	if (!decay_running) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		/* the thread must not take the program's signals */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&t, &attr, decay_main, NULL) == 0)
			__atomic_store_n(&decay_running, true, __ATOMIC_RELEASE);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	} else {
		__atomic_store_n(&decay_pending, true, __ATOMIC_SEQ_CST);
		pthread_cond_signal(&decay_cond);
	}
	pthread_mutex_unlock(&decay_lock);
}

/* Wake the thread even from a timed sleep: a new decay period applies now. */
static void decay_wake(void)
{
	pthread_mutex_lock(&decay_lock);
	if (decay_running) {
		__atomic_store_n(&decay_pending, true, __ATOMIC_SEQ_CST);
		pthread_cond_signal(&decay_cond);
	}
	pthread_mutex_unlock(&decay_lock);
}

/* fork: the thread does not exist in the child; it restarts on demand */
void hp_decay_atfork_child(void)
{
	pthread_mutex_init(&decay_lock, NULL);
	pthread_cond_init(&decay_cond, NULL);
	decay_running = false;
	decay_pending = false;
	decay_idle = false;
}

/* ------------------------------------------------------------------------
 * growing a run in place and moving one (realloc)
 * ------------------------------------------------------------------------ */

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
		free_carve(pool, a, next, next, extra);
		took_from_free(pool, a, next, extra);
		return 0;
	}
	if (s->state == HP_SLOT_EMPTY && s->run >= extra && !pool->parent &&
	    a->fd < 0) {
		struct hugepool *root = pool;

		if (root->max_pages && root->nr_huge_pages + extra > root->max_pages)
			return -ENOMEM;
		ext_unlink(a->empty_bins, HP_FREE_BINS_A, s);
		{
			size_t len = s->run;

			for (i = next; i < next + extra; i++) {
				memset(&a->slots[i], 0, sizeof(a->slots[i]));
				a->slots[i].state = HP_SLOT_USED;
			}
			if (len > extra)
				empty_insert(a, next + extra, len - extra);
		}
		if (fault_run(root, a, next, extra)) {
			empty_insert(a, next, extra);
			return -ENOMEM;
		}
		for (i = next; i < next + extra; i++) {
			a->slots[i].owner = root;
			pool_acct(root, a->slots[i].node, 1, 0, 0);
			surplus_page_added(root, a->slots[i].node);
		}
		return 0;
	}
	return -ENOMEM;
}

/*
 * Move the pages of USED run [first, first + npages) to a new run of
 * new_npages slots without copying (mremap), then fill the rest with pages
 * of the pool. Returns the new first index or -errno (nothing changed).
 */
long hp_pool_move_run(struct hugepool *pool, struct hp_arena *a, size_t first,
		      size_t npages, size_t new_npages)
{
	size_t head_req = a->slots[first].req;	/* the block's, for an undo */
	long dst;
	size_t i;
	int ret;

	if (new_npages <= npages)
		return -EINVAL;
	if (a->fd >= 0)
		return -EOPNOTSUPP;	/* [api] see move_page */
	dst = empty_take(a, new_npages, 1);
	if (dst < 0)
		return dst;
	/* pages for the tail first: if they cannot be had, nothing moved */
	{
		size_t extra = new_npages - npages;
		long tail = hp_pool_take_run(pool, extra, 1, false);

		if (tail < 0) {
			empty_insert(a, (size_t)dst, new_npages);
			return tail;
		}
		for (i = 0; i < extra; i++) {
			size_t src = (size_t)tail + i, d = (size_t)dst + npages + i;

			ret = move_page(a, src, d);
			if (!ret)
				vacate(a, src);
			if (ret) {
				/* give back what is not placed yet, undo the rest */
				size_t k;

				for (k = i; k < extra; k++)
					a->slots[(size_t)tail + k].state = HP_SLOT_USED;
				hp_pool_put_run(pool, a, (size_t)tail + i, extra - i);
				for (k = 0; k < i; k++) {
					size_t back = (size_t)dst + npages + k;
					long e = empty_take(a, 1, 1);

					if (e < 0 || move_page(a, back, (size_t)e)) {
						root_release(pool->root, a, back, 1);
						continue;
					}
					vacate(a, back);
					a->slots[e].state = HP_SLOT_USED;
					a->slots[e].owner = pool;
					hp_pool_put_run(pool, a, (size_t)e, 1);
				}
				/* only the slots never filled go back to the empty
				 * lists: those moved back from were vacated above,
				 * and empty_take may have put a page in one of them
				 * again. Found by tests/fault: inserting the whole
				 * run made such a free page's slot EMPTY, and the
				 * page was lost while still counted. */
				empty_insert(a, (size_t)dst, npages);
				empty_insert(a, (size_t)dst + npages + i, extra - i);
				return ret;
			}
			a->slots[d].state = HP_SLOT_USED;
			a->slots[d].owner = pool;
		}
	}
	for (i = 0; i < npages; i++) {
		size_t d = (size_t)dst + i;

		ret = move_page(a, first + i, d);
		if (!ret)
			vacate(a, first + i);
		if (ret) {
			/* half moved: move the moved ones back */
			size_t k;

			for (k = 0; k < i; k++) {
				long e = (long)(first + k);

				/* the old slot went back to the empty
				 * lists: take it out again */
				if (a->slots[e].state != HP_SLOT_EMPTY)
					continue;
				empty_remove(a, (size_t)e);
				if (move_page(a, (size_t)dst + k, (size_t)e) == 0) {
					vacate(a, (size_t)dst + k);
					a->slots[e].state = HP_SLOT_USED;
					a->slots[e].owner = pool;
				}
			}
			/* the block is as it was: its head slot lost its
			 * description when it was vacated (found by
			 * tests/fault: the block was no longer live and its
			 * pages were never freed), and the slots never filled
			 * are address space again */
			a->slots[first].head = (uint32_t)first;
			a->slots[first].run = (uint32_t)npages;
			a->slots[first].req = head_req;
			empty_insert(a, (size_t)dst + i, npages - i);
			hp_pool_put_run(pool, a, (size_t)dst + npages, new_npages - npages);
			return ret;
		}
		a->slots[d].state = HP_SLOT_USED;
		a->slots[d].owner = pool;
	}
	pool->root->stats.pages_moved += npages;
	return dst;
}

size_t hp_pool_zero_run(struct hp_arena *a, size_t first, size_t npages)
{
	size_t i, zeroed = 0;

	for (i = first; i < first + npages; i++) {
		if (a->slots[i].flags & HP_SLOT_F_DIRTY) {
			memset(hp_slot_addr(a, i), 0, (size_t)1 << a->shift);
			a->slots[i].flags &= (uint8_t)~HP_SLOT_F_DIRTY;
			zeroed++;	/* [api] counted in stats.bytes_zeroed */
		}
	}
	return zeroed;
}

/* In a forked child, pages are shared copy-on-write with the parent: make
 * them private before handing them out, so that a write can never SIGBUS
 * for want of a page (MADV_POPULATE_WRITE fails with EFAULT instead).
 * 0 or -ENOMEM. */
int hp_pool_privatize(struct hp_arena *a, size_t first, size_t npages)
{
	size_t i;

	if (a->fd >= 0)
		return 0;	/* shared pools share with the child on purpose */
	for (i = first; i < first + npages; i++) {
		if (a->slots[i].gen == hp_fork_gen || !(a->slots[i].flags & HP_SLOT_F_PAGE))
			continue;
		if (hp_sys_madvise(hp_slot_addr(a, i), (size_t)1 << a->shift,
				   MADV_POPULATE_WRITE))
			return -ENOMEM;
		a->slots[i].gen = hp_fork_gen;
	}
	return 0;
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

/* ------------------------------------------------------------------------
 * creation, resize, destroy
 * ------------------------------------------------------------------------ */
void hp_pool_lock(struct hugepool *pool)
{
	pthread_mutex_lock(pool->lock);
}

/* Every operation ends here, so this is where the pool's record for
 * hugepool-ctl stats is refreshed (throttled in publish.c: a few ns). */
void hp_pool_unlock(struct hugepool *pool)
{
	hp_publish_pool_update(pool, false);
	pthread_mutex_unlock(pool->lock);
}

static size_t window_slots(size_t shift, size_t max_pages)
{
	long ram_pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	size_t ram = ram_pages > 0 && psz > 0 ? (size_t)ram_pages * (size_t)psz : (64UL << 30);
	size_t bytes = 2 * ram, slots;

	/* room for every page the machine could give, twice over (moves and
	 * regions need free address space), and never less than 64 GiB */
	if (bytes < (64UL << 30))
		bytes = 64UL << 30;
	if (bytes > (1UL << 40))
		bytes = 1UL << 40;
	slots = bytes >> shift;
	if (max_pages && slots < 2 * max_pages)
		slots = 2 * max_pages;
	if (slots > UINT32_MAX / 2)
		slots = UINT32_MAX / 2;
	return slots;
}

static struct hp_arena *arena_create(size_t shift, size_t nslots, bool base_pages, bool shared,
				     const char *name)
{
	struct hp_arena *a = hp_meta_zalloc(sizeof(*a));
	size_t len = nslots << shift, align = ((size_t)1 << shift) > ARENA_ALIGN ?
					       (size_t)1 << shift : ARENA_ALIGN;
	char *map, *base;
	int ret;

	if (!a)
		return NULL;
	a->fd = -1;
	a->gen = hp_fork_gen;
	ret = hp_sys_mmap(NULL, len + align, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, (void **)&map);
	/* a process with little address space (RLIMIT_AS: ENOMEM; valgrind,
	 * which maps no more than 32 GiB at once: EINVAL) gets a smaller
	 * window rather than no pool: it can hold fewer pages at a time,
	 * that is all. Found by the valgrind run of tests/unit: no pool could
	 * be created there at all. */
	while ((ret == -ENOMEM || ret == -EINVAL) && nslots > 16) {
		nslots /= 2;
		len = nslots << shift;
		ret = hp_sys_mmap(NULL, len + align, PROT_NONE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, (void **)&map);
	}
	if (ret)
		goto fail;
	base = (char *)HP_ALIGN_UP((uintptr_t)map, align);
	/* trim to the aligned window so the registry maps exactly it; a trim
	 * that fails leaves its slack in a->map, so that arena_destroy
	 * unmaps it too instead of leaking it [fault injection] */
	a->map = base;
	a->map_len = len;
	if (base > map && hp_sys_munmap(map, (size_t)(base - map))) {
		a->map = map;
		a->map_len += (size_t)(base - map);
	}
	if (map + len + align > base + len &&
	    hp_sys_munmap(base + len, (size_t)(map + len + align - (base + len))))
		a->map_len += (size_t)(map + len + align - (base + len));
	a->base = base;
	a->nslots = nslots;
	a->shift = shift;
	a->base_pages = base_pages;
	a->slots = hp_meta_map(nslots * sizeof(struct hp_slot));
	if (!a->slots)
		goto fail_unmap;
	if (shared) {
		int fd = hp_sys_memfd_create(name, MFD_CLOEXEC | MFD_HUGETLB |
					     (unsigned int)(shift << MFD_HUGE_SHIFT));

		if (fd < 0)
			goto fail_slots;
		a->fd = fd;
		if (hp_sys_ftruncate(fd, (off_t)len))
			goto fail_slots;
		/* which file each slot's page is in (fd + 1; 0: the pool's) */
		a->slot_fd = hp_meta_map(nslots * sizeof(*a->slot_fd));
		if (!a->slot_fd)
			goto fail_slots;
	}
	/* the slot array is fresh zeroed memory, already all EMPTY: only the
	 * run's two ends need writing (touching every slot of a 1 TiB window
	 * cost each process ~0.5 ms before its first block) */
	run_set_len(a, 0, nslots);
	ext_link(a->empty_bins, HP_FREE_BINS_A, &a->slots[0], nslots);
	arena_register(a, true);
	return a;
fail_slots:
	hp_sys_close(a->fd);
	hp_meta_unmap(a->slots, nslots * sizeof(struct hp_slot));
	hp_meta_unmap(a->slot_fd, a->slot_fd ? nslots * sizeof(*a->slot_fd) : 0);
fail_unmap:
	if (hp_sys_munmap(a->map, a->map_len))
		hp_release_mapping(a->map, a->map_len);
fail:
	hp_meta_free(a, sizeof(*a));
	return NULL;
}

static void arena_destroy(struct hp_arena *a)
{
	if (!a)
		return;
	arena_register(a, false);
	/* munmap of the window gives every page back at once */
	if (hp_sys_munmap(a->map, a->map_len))
		hp_release_mapping(a->map, a->map_len);
	/* [api: shared regions] and the file's pages too, even if another
	 * process still holds the file (hugepool_region_fd) */
	if (a->fd >= 0 && !hp_arena_foreign(a))
		hp_sys_fallocate(a->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
				 (off_t)(a->nslots << a->shift));
	hp_sys_close(a->fd);
	hp_meta_unmap(a->slots, a->nslots * sizeof(struct hp_slot));
	hp_meta_unmap(a->slot_fd, a->slot_fd ? a->nslots * sizeof(*a->slot_fd) : 0);
	hp_meta_free(a, sizeof(*a));
}

static void pool_list_add(struct hugepool *pool)
{
	pthread_mutex_lock(&hp_pools_lock);
	pool->next_pool = hp_pools;
	if (hp_pools)
		hp_pools->prev_pool = pool;
	hp_pools = pool;
	pthread_mutex_unlock(&hp_pools_lock);
}

static void pool_list_del(struct hugepool *pool)
{
	pthread_mutex_lock(&hp_pools_lock);
	if (pool->prev_pool)
		pool->prev_pool->next_pool = pool->next_pool;
	else
		hp_pools = pool->next_pool;
	if (pool->next_pool)
		pool->next_pool->prev_pool = pool->prev_pool;
	pthread_mutex_unlock(&hp_pools_lock);
}

/* Take pages until the pool holds min_pages (set_max_huge_pages growing
 * the persistent pool). 0 or -ENOMEM, leaving what it took in place. */
static int pool_fill_min(struct hugepool *root)
{
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

static struct hugepool *pool_create(const struct hugepool_config *cfg, bool fake)
{
	struct hugepool_config def = { 0 };
	const struct hp_hstate *h;
	struct hugepool *pool;
	int ret;

	hp_fork_init();
	if (!cfg)
		cfg = &def;
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
		return NULL;
	}
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

	pool->arena = arena_create(h->shift, window_slots(h->shift, cfg->max_pages), fake,
				   cfg->flags & HUGEPOOL_SHARED, pool->name);
	if (!pool->arena) {
		ret = -ENOMEM;
		goto fail;
	}
	pool->arena->pool = pool;
	if (cfg->flags & HUGEPOOL_FALLBACK) {
		pool->fb_arena = arena_create(h->shift, window_slots(h->shift, cfg->max_pages),
					      true, false, pool->name);
		if (!pool->fb_arena) {
			ret = -ENOMEM;
			goto fail;
		}
		pool->fb_arena->pool = pool;
		pool->fb_arena->fallback = true;
	}
	hp_pool_lock(pool);
	ret = pool_fill_min(pool);
	if (!ret)
		hp_publish_pool_add(pool);
	pthread_mutex_unlock(pool->lock);
	if (ret)
		goto fail;
	pool_list_add(pool);
	return pool;
fail:
	arena_destroy(pool->fb_arena);
	arena_destroy(pool->arena);
	pthread_mutex_destroy(&pool->lock_storage);
	hp_meta_free(pool, sizeof(*pool));
	errno = -ret;
	return NULL;
}

struct hugepool *hugepool_subpool(struct hugepool *parent, size_t min_pages, size_t max_pages)
{
	struct hugepool *sp;
	size_t nr_before;
	long first;

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

	hp_pool_lock(parent);
	nr_before = parent->root->nr_huge_pages;
	if (min_pages) {
		/* the minimum is taken from the parent now (hugetlbfs
		 * min_size=: the mount fails if it cannot be reserved);
		 * page by page so that fragmentation does not matter */
		size_t got = 0;

		while (got < min_pages) {
			first = hp_pool_take_run(parent, 1, 1, false);
			if (first < 0)
				break;
			sp->arena->slots[first].owner = sp;
			pool_acct(sp, sp->arena->slots[first].node, 1, 1, 0);
			free_insert(sp, sp->arena, (size_t)first, 1,
				    sp->arena->slots[first].node, (uint32_t)hp_now_ms());
			got++;
		}
		if (got < min_pages) {
			/* give back what we took */
			int n;

			for (n = 0; n < HP_MAX_NODES; n++) {
				struct hp_freelist *fl = &sp->freelists[n];
				unsigned int b;

				for (b = 0; b < HP_FREE_BINS; b++)
					while (fl->bins[b]) {
						size_t hd = (size_t)(fl->bins[b] - sp->arena->slots);
						size_t len = fl->bins[b]->run;

						free_carve(sp, sp->arena, hd, hd, len);
						took_from_free(sp, sp->arena, hd, len);
						give_to_parent(sp, sp->arena, hd, len);
					}
			}
			shrink_back(parent, nr_before);
			hp_pool_unlock(parent);
			hp_meta_free(sp, sizeof(*sp));
			errno = ENOMEM;
			return NULL;
		}
	}
	parent->nr_subpools++;
	hp_publish_pool_add(sp);
	hp_pool_unlock(parent);
	pool_list_add(sp);
	return sp;
}

int hugepool_resize(struct hugepool *pool, size_t min_pages, size_t max_pages)
{
	int ret = 0;

	if (!pool || (max_pages && min_pages > max_pages))
		return -EINVAL;
	hp_pool_lock(pool);
	if (max_pages && pool->nr_huge_pages - pool->free_huge_pages +
	    pool->resv_huge_pages > max_pages) {
		ret = -EBUSY;
		goto out;
	}
	if (pool->parent) {
		/* a new minimum changes how many pages the subpool keeps */
		long used = pool->spool.used_hpages;
		long want_rsv = (long)min_pages > used ? (long)min_pages - used : 0;
		long rsv_before = pool->spool.rsv_hpages;
		size_t nr_before = pool->root->nr_huge_pages;

		while (pool->spool.rsv_hpages < want_rsv) {
			long first = hp_pool_take_run(pool->parent, 1, 1, false);

			if (first < 0) {
				/* -ENOMEM leaves the subpool as it was: the
				 * pages taken so far go back (the loop below)
				 * and the root gives back what it faulted for
				 * them. Found by tests/fault: they stayed, as
				 * reserve that min_pages did not account for,
				 * and broke the subpool's invariants. */
				ret = -ENOMEM;
				want_rsv = rsv_before;
				break;
			}
			pool->arena->slots[first].owner = pool;
			pool_acct(pool, pool->arena->slots[first].node, 1, 1, 0);
			free_insert(pool, pool->arena, (size_t)first, 1,
				    pool->arena->slots[first].node, (uint32_t)hp_now_ms());
			pool->spool.rsv_hpages++;
		}
		while (pool->spool.rsv_hpages > want_rsv) {
			int n;
			long h = -1;

			for (n = 0; n < HP_MAX_NODES && h < 0; n++)
				for (unsigned int b = 0; b < HP_FREE_BINS && h < 0; b++)
					if (pool->freelists[n].bins[b])
						h = pool->freelists[n].bins[b] - pool->arena->slots;
			if (h < 0)
				break;
			free_carve(pool, pool->arena, (size_t)h, (size_t)h, 1);
			took_from_free(pool, pool->arena, (size_t)h, 1);
			give_to_parent(pool, pool->arena, (size_t)h, 1);
			pool->spool.rsv_hpages--;
		}
		if (ret) {
			shrink_back(pool, nr_before);
			goto out;
		}
		pool->spool.min_hpages = min_pages ? (long)min_pages : -1;
		pool->spool.max_hpages = max_pages ? (long)max_pages : -1;
		pool->min_pages = min_pages;
		pool->max_pages = max_pages;
		surplus_readjust(pool);
		goto out;
	}
	if (max_pages && pool->nr_huge_pages > max_pages) {
		/* shrink to the new cap now: free pages go first */
		pool->min_pages = min_pages;
		surplus_readjust(pool);
		hp_pool_decay(pool, hp_now_ms(), true);
		if (pool->nr_huge_pages > max_pages) {
			ret = -EBUSY;
			goto out;
		}
	}
	{
		size_t old_min = pool->min_pages, nr_before = pool->nr_huge_pages;

		pool->min_pages = min_pages;
		surplus_readjust(pool);
		ret = pool_fill_min(pool);
		if (ret) {
			/* -ENOMEM and nothing changed: give back what it took */
			pool->min_pages = old_min;
			surplus_readjust(pool);
			shrink_back(pool, nr_before);
			goto out;
		}
		pool->max_pages = max_pages;
		pool->cfg.min_pages = min_pages;
		pool->cfg.max_pages = max_pages;
		/* a smaller minimum: the unused pages it no longer keeps go
		 * back now (set_max_huge_pages lowering nr_hugepages) */
		if (min_pages < old_min && pool->surplus_huge_pages)
			hp_pool_decay(pool, hp_now_ms(), true);
	}
out:
	hp_publish_pool_update(pool, true);
	hp_pool_unlock(pool);
	return ret;
}

/* Release everything a pool holds: blocks, regions, free pages. */
static void pool_drain(struct hugepool *pool)
{
	hp_region_destroy_all(pool);
	hp_alloc_destroy_all(pool);
}

int hugepool_destroy(struct hugepool *pool)
{
	if (!pool)
		return -EINVAL;
	hp_pool_lock(pool);
	/* [uring] a region registered with io_uring keeps its pages pinned */
	if (pool->nr_subpools || hp_region_any_pinned(pool)) {
		hp_pool_unlock(pool);
		return -EBUSY;
	}
	hp_pool_unlock(pool);
	pool_list_del(pool);
	hp_pool_lock(pool);
	if (pool->parent) {
		struct hp_arena *a = pool->arena;
		int n;

		pool_drain(pool);
		/* every free page of the subpool goes back to the parent */
		for (n = 0; n < HP_MAX_NODES; n++) {
			struct hp_freelist *fl = &pool->freelists[n];
			unsigned int b;

			for (b = 0; b < HP_FREE_BINS; b++)
				while (fl->bins[b]) {
					size_t hd = (size_t)(fl->bins[b] - a->slots);
					size_t len = fl->bins[b]->run;

					free_carve(pool, a, hd, hd, len);
					took_from_free(pool, a, hd, len);
					give_to_parent(pool, a, hd, len);
				}
		}
		pool->parent->nr_subpools--;
		if (pool->parent->surplus_huge_pages)
			decay_kick(pool->root);
		hp_publish_pool_del(pool);
		hp_publish_pool_update(pool->parent, true);
		pthread_mutex_unlock(pool->lock);
		hp_meta_free(pool, sizeof(*pool));
		return 0;
	}
	hp_region_destroy_all(pool);
	hp_alloc_destroy_all(pool);
	hp_publish_pool_del(pool);
	pthread_mutex_unlock(pool->lock);
	arena_destroy(pool->fb_arena);
	arena_destroy(pool->arena);
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
	hp_pool_unlock(p);
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
		decay_kick(pool);
		decay_wake();	/* [api] kicks no longer wake a timed sleep */
	}
	hp_pool_unlock(pool);
	return old;
}

long hugepool_trim(struct hugepool *pool)
{
	long ret;

	if (!pool)
		return -EINVAL;
	hp_pool_lock(pool);
	ret = hp_pool_decay(pool->root, hp_now_ms(), true);
	hp_publish_pool_update(pool->root, true);
	hp_pool_unlock(pool);
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
	pool_acct(pool, node, -1, 0, 0);
	surplus_page_removed(pool, node);
	unmap_pages(a, idx, 1);
	empty_insert(a, idx, 1);
	pool->root->stats.pages_released++;
}

/* Regions get their pages through these (region.c). */
void hp_pool_acct(struct hugepool *pool, int node, long dnr, long dfree, long dresv)
{
	pool_acct(pool, node, dnr, dfree, dresv);
}

int hp_pool_move_page(struct hp_arena *a, size_t src, size_t dst)
{
	return move_page(a, src, dst);
}

void hp_pool_vacate(struct hp_arena *a, size_t idx)
{
	vacate(a, idx);
}

long hp_pool_empty_take(struct hp_arena *a, size_t n, size_t align)
{
	return empty_take(a, n, align);
}

void hp_pool_empty_put(struct hp_arena *a, size_t first, size_t n)
{
	empty_insert(a, first, n);
}

int hp_pool_fault_at(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	size_t i;
	int ret;

	if (root->max_pages && root->nr_huge_pages + n > root->max_pages)
		return -ENOMEM;
	ret = fault_run(root, a, first, n);
	if (ret)
		return ret;
	for (i = first; i < first + n; i++) {
		a->slots[i].owner = root;
		pool_acct(root, a->slots[i].node, 1, 0, 0);
		surplus_page_added(root, a->slots[i].node);
	}
	return 0;
}

void hp_pool_unmap_pages(struct hp_arena *a, size_t first, size_t n)
{
	unmap_pages(a, first, n);
}

/*
 * [api: shared regions] Pages of a HUGEPOOL_SHARED arena are pages of a
 * file: the pool's memfd (slot i at file page i) or a region's own (region
 * page k at file page k), and a page cannot change files. To "move" the
 * page at src (USED or REGION, counted for pool) to slot dst (an EMPTY slot
 * the caller took, or src itself: the page changes files in place), a fresh
 * page is faulted into page fp of file fd (fd < 0: the pool's memfd at
 * dst), placed per the pool's policy, and src's page goes back to the
 * kernel. The counters keep the page; if it landed on another node, every
 * pool of the chain counts it there now. A src other than dst is left with
 * a placeholder and no page, its state for the caller to set. Needs one
 * spare kernel page for a moment: 0, or -ENOMEM with nothing changed. Lock
 * held.
 */
int hp_pool_refault_page(struct hugepool *pool, struct hp_arena *a, size_t src, size_t dst,
			 int fd, uint32_t fp)
{
	struct hp_ffile ff = { .fd = fd < 0 ? a->fd : fd, .fp = fd < 0 ? (uint32_t)dst : fp };
	int old = a->slots[src].node, new, ofd;
	uint32_t ofp;
	struct hugepool *p;

	if (a->fd < 0 || hp_arena_foreign(a))
		return -ENOMEM;
	if (src != dst) {
		if (fault_run_in(pool->root, a, dst, 1, &ff))
			return -ENOMEM;
		a->slots[dst].owner = pool;
		unmap_pages(a, src, 1);
		a->slots[src].flags = 0;
	} else {
		/* in place: the fresh page comes at a spare slot and is
		 * moved over the old one, which stays until then */
		long t = empty_take(a, 1, 1);
		int ret;

		if (t < 0)
			return -ENOMEM;
		if (fault_run_in(pool->root, a, (size_t)t, 1, &ff)) {
			empty_insert(a, (size_t)t, 1);
			return -ENOMEM;
		}
		ofd = slot_file(a, src);
		ofp = a->slots[src].fpage;
		ret = hp_window_replace(a, (size_t)t, src);
		if (ret == -EIO)	/* the old page is gone already: place the new one */
			ret = a->slots[src].state == HP_SLOT_LOST ? -EIO :
			      hp_window_move(a, (size_t)t, src);
		if (ret < 0) {
			unmap_pages(a, (size_t)t, 1);
			empty_insert(a, (size_t)t, 1);
			return -ENOMEM;
		}
		if (punch_page(a, ofd, ofp))
			hp_log(2, "a replaced page stays in its file until the file goes");
		a->slots[src].flags = a->slots[t].flags;
		a->slots[src].node = a->slots[t].node;
		a->slots[src].gen = a->slots[t].gen;
		a->slots[src].fpage = a->slots[t].fpage;
		a->slot_fd[src] = a->slot_fd[t];
		a->slots[t].flags = 0;
		a->slot_fd[t] = 0;
		if (ret > 0)
			hp_window_lose(a, (size_t)t, 1);
		else
			empty_insert(a, (size_t)t, 1);
	}
	new = a->slots[dst].node;
	if (old == new || old < 0 || new < 0)
		return 0;
	for (p = pool; p; p = p->parent) {
		p->nr_huge_pages_node[old]--;
		p->nr_huge_pages_node[new]++;
		if (p->surplus_huge_pages_node[old] > p->nr_huge_pages_node[old]) {
			p->surplus_huge_pages_node[old]--;
			p->surplus_huge_pages_node[new]++;
		}
	}
	return 0;
}
