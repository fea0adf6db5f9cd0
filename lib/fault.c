/* SPDX-License-Identifier: MIT */
/*
 * fault.c - the kernel side of the engine: pages faulted into slots of the
 * window with the node policy set first and the node verified afterwards
 * (alloc_fresh_huge_page), given back (update_and_free_page), moved between
 * slots (mremap), made private after fork, and zeroed. Three kinds of
 * backing: hugetlb anonymous memory, hugetlb memfds (HUGEPOOL_SHARED: the
 * pool's own, or a region's), and base pages (the fallback window, and test
 * pools). Every mapping goes through window.c, which keeps the window whole.
 */
#include "internal.h"

#include <linux/falloc.h>
#include <linux/mman.h>
#include <numaif.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MPOL_PREFERRED_MANY
#define MPOL_PREFERRED_MANY 5
#endif

/* ------------------------------------------------------------------------
 * the three backings, behind one interface: fault.c is the only place that
 * tells them apart
 * ------------------------------------------------------------------------ */
struct hp_backing {
	/* map and populate n pages at [first, first + n) with the current
	 * task policy: 0 or -errno, with nothing left mapped */
	int (*fault)(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		     const struct hp_ffile *ff);
	/* the pages' own cleanup before the window takes them back */
	void (*release)(struct hp_arena *a, size_t first, size_t n);
	/* move the page at src over the placeholder at dst (hp_window_move) */
	bool movable;
};

/* hugetlb anonymous memory: reserved, charged and populated away from the
 * window, so a refusal (no page, a hugetlb cgroup limit) is an error here,
 * never a hole in the window nor a SIGBUS later */
static int anon_fault(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		      const struct hp_ffile *ff)
{
	(void)ff;
	return hp_window_map(a, first, n, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | root->h->mmap_flags, -1, 0, true);
}

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

/* hugetlb memfds (HUGEPOOL_SHARED): slot i of the pool's own file at file
 * page i, so that a hole punched for a slot is the page it had (a bump
 * counter ran out of file pages after nslots faults and never reused one);
 * a region's file at the region's page (ff). Such pages never move between
 * slots; see hp_pool_refault_page. */
static int memfd_fault(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		       const struct hp_ffile *ff)
{
	int fd = ff ? ff->fd : a->fd, ret;
	uint32_t fp = ff ? ff->fp : (uint32_t)first;
	off_t off = (off_t)fp << a->shift, len = (off_t)(n << a->shift);
	size_t i;

	(void)root;
	if (hp_arena_foreign(a))
		return -ENOMEM;	/* the parent's file: not ours to fill */
	ret = hp_sys_fallocate(fd, 0, off, len);
	if (!ret)
		ret = hp_window_map(a, first, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off, true);
	if (ret) {
		hp_sys_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len);
		return ret;
	}
	for (i = 0; i < n; i++) {
		a->slots[first + i].fpage = fp + (uint32_t)i;
		a->slot_fd[first + i] = fd == a->fd ? 0 : fd + 1;
	}
	return 0;
}

static void memfd_release(struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	/* not in a forked child: the file is the parent's too */
	if (hp_arena_foreign(a))
		return;
	for (i = first; i < first + n; i++)
		if ((a->slots[i].flags & HP_SLOT_F_PAGE) &&
		    punch_page(a, slot_file(a, i), a->slots[i].fpage))
			/* the page stays in the file, and the next fault of
			 * this slot maps it again as if fresh from the
			 * kernel: make it what that promises, zero (found by
			 * tests/fault) */
			memset(hp_slot_addr(a, i), 0, (size_t)1 << a->shift);
}

/* base pages: the fallback window, and pools for unit tests */
static int base_fault(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		      const struct hp_ffile *ff)
{
	(void)root;
	(void)ff;
	return hp_window_map(a, first, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			     -1, 0, false);
}

static const struct hp_backing backing_anon = { anon_fault, NULL, true };
static const struct hp_backing backing_memfd = { memfd_fault, memfd_release, false };
static const struct hp_backing backing_base = { base_fault, NULL, true };

static const struct hp_backing *backing(const struct hp_arena *a)
{
	if (a->base_pages)
		return &backing_base;
	return a->fd >= 0 ? &backing_memfd : &backing_anon;
}

/* ------------------------------------------------------------------------
 * the kernel side: fault, release, move
 * ------------------------------------------------------------------------ */
/* Give pages back to the kernel; the window keeps a placeholder there
 * (hp_window_clear). */
void hp_unmap_pages(struct hp_arena *a, size_t first, size_t n)
{
	const struct hp_backing *b = backing(a);

	if (b->release)
		b->release(a, first, n);
	hp_window_clear(a, first, n);
}

/* Undo a fault of [first, first + n) whose slots are not marked as holding
 * pages yet: hp_unmap_pages punches the file pages of marked slots only, so a
 * shared pool kept the pages of a fault that failed after its fallocate
 * (found by tests/fault: MADV_POPULATE_WRITE or the node check failing
 * left them in the memfd until the pool was destroyed). */
static void unfault_range(struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++)
		a->slots[i].flags |= HP_SLOT_F_PAGE;
	hp_unmap_pages(a, first, n);
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

/* INTERLEAVE, the kernel's for_each_node_mask_to_alloc: each page on the
 * next node, skipping nodes that have none left. 0 or -errno, with nothing
 * left mapped. */
static int fault_interleave(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
			    const struct hp_ffile *ff, struct policy_save *sv)
{
	size_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++) {
		int tries = hp_nodemask_weight(&root->nodes);
		struct hp_ffile f1 = { 0 };

		if (ff)
			f1 = (struct hp_ffile){ ff->fd, ff->fp + (uint32_t)i };
		ret = -ENOMEM;
		while (tries-- > 0) {
			hp_nodemask_t one = { { 0 } };
			int nid = hp_nodemask_next(&root->nodes, root->next_nid_to_alloc);

			root->next_nid_to_alloc = nid + 1;
			hp_nodemask_set(&one, nid);
			if (policy_set(MPOL_BIND, &one, sv))
				break;
			if (!backing(a)->fault(root, a, first + i, 1, ff ? &f1 : NULL)) {
				ret = 0;
				break;
			}
		}
		if (ret && i)
			unfault_range(a, first, i);
	}
	return ret;
}

/* Where the n new pages at first landed, checked against the policy and
 * recorded: 0, or -ENOMEM with the pages unmapped. */
static int verify_nodes(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	enum hugepool_policy pol = root->cfg.policy;
	int nodes_buf[64], *nodes = nodes_buf, ret;
	size_t i;

	if (n > ARRAY_SIZE(nodes_buf) && !(nodes = hp_meta_zalloc(n * sizeof(int)))) {
		unfault_range(a, first, n);
		return -ENOMEM;
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
	if (ret)
		unfault_range(a, first, n);
	for (i = 0; !ret && i < n; i++) {
		struct hp_slot *s = &a->slots[first + i];

		s->flags = HP_SLOT_F_PAGE;	/* fresh from the kernel: zero */
		s->node = (int16_t)nodes[i];
		s->gen = hp_fork_gen;
	}
	if (nodes != nodes_buf)
		hp_meta_free(nodes, n * sizeof(int));
	return ret ? -ENOMEM : 0;
}

/* Base pages at [first, first + n) of a base-page arena (the fallback
 * window, test pools): mapped, not populated (anonymous memory cannot
 * SIGBUS), on "node 0". 0 or -ENOMEM. */
int hp_fault_base(struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	if (backing(a)->fault(NULL, a, first, n, NULL))
		return -ENOMEM;
	/* base pages, honestly: no transparent huge pages behind our back */
	hp_sys_madvise(hp_slot_addr(a, first), n << a->shift, MADV_NOHUGEPAGE);
	for (i = first; i < first + n; i++) {
		a->slots[i].flags = HP_SLOT_F_PAGE | HP_SLOT_F_BASE;
		a->slots[i].node = 0;
		a->slots[i].gen = hp_fork_gen;
	}
	return 0;
}

/*
 * alloc_fresh_huge_page for n pages at [first, first + n): place them per
 * the pool's policy, verify where they landed, record nodes. 0 or -ENOMEM
 * (with nothing left mapped). ff: where a shared arena's pages go (NULL:
 * the pool's file, page first).
 */
int hp_fault_run(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	return hp_fault_run_in(root, a, first, n, NULL);
}

int hp_fault_run_in(struct hugepool *root, struct hp_arena *a, size_t first, size_t n,
		    const struct hp_ffile *ff)
{
	struct policy_save sv = { .saved = false };
	enum hugepool_policy pol = root->cfg.policy;
	int ret = 0;

	if (a->base_pages) {
		/* a test pool on base pages (hp_pool_create_fake) */
		if (hp_fault_base(a, first, n))
			return -ENOMEM;
		root->stats.pages_faulted += n;
		return 0;
	}
	if (pol == HUGEPOOL_POLICY_INTERLEAVE) {
		ret = fault_interleave(root, a, first, n, ff, &sv);
	} else {
		if (pol == HUGEPOOL_POLICY_BIND)
			ret = policy_set(MPOL_BIND, &root->nodes, &sv);
		else if (pol == HUGEPOOL_POLICY_PREFERRED)
			ret = policy_set(MPOL_PREFERRED_MANY, &root->nodes, &sv);
		if (!ret)
			ret = backing(a)->fault(root, a, first, n, ff);
	}
	policy_restore(&sv);
	if (ret) {
		hp_log(2, "cannot fault %zu page(s) of %zu KiB: %s", n,
		       ((size_t)1 << a->shift) >> 10, hp_errstr(-ret));
		return -ENOMEM;
	}
	ret = verify_nodes(root, a, first, n);
	if (!ret)
		root->stats.pages_faulted += n;
	return ret;
}

/* The page that was at slot src is at dst now: what describes the page
 * goes with it (what the slot is part of stays the caller's). */
static void slot_page_moved(struct hp_arena *a, size_t src, size_t dst)
{
	a->slots[dst].flags = a->slots[src].flags;
	a->slots[dst].node = a->slots[src].node;
	a->slots[dst].gen = a->slots[src].gen;
	a->slots[dst].fpage = a->slots[src].fpage;
	a->slots[src].flags = 0;
	if (a->slot_fd) {
		a->slot_fd[dst] = a->slot_fd[src];
		a->slot_fd[src] = 0;
	}
}

/* Move the page at slot src to the EMPTY slot dst (mremap for private
 * memory; a second mapping of the same file page for shared pools). The
 * source is left with a placeholder and no page; what it becomes (EMPTY,
 * or still part of a region) is the caller's business, except that it is
 * marked LOST if someone mapped into the hole meanwhile. 0 or -errno
 * (nothing moved). */
int hp_move_page(struct hp_arena *a, size_t src, size_t dst)
{
	int ret;

	/* [api: shared regions] a shared arena keeps slot i at file page i:
	 * a second mapping of src's file page at dst would break that (and a
	 * later fault at src would hand the same file page out twice). Its
	 * callers use hp_pool_refault_page or copy instead. */
	if (!backing(a)->movable)
		return -EOPNOTSUPP;
	ret = hp_window_move(a, src, dst);
	if (ret < 0)
		return ret;
	slot_page_moved(a, src, dst);
	if (ret > 0)	/* someone mapped into the hole: never touch it again */
		hp_window_lose(a, src, 1);
	return 0;
}

/* A slot a page was moved out of becomes address space again. */
void hp_vacate(struct hp_arena *a, size_t idx)
{
	if (a->slots[idx].state != HP_SLOT_LOST)
		hp_empty_insert(a, idx, 1);
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






int hp_pool_fault_at(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	size_t i;
	int ret;

	if (root->max_pages && root->nr_huge_pages + n > root->max_pages)
		return -ENOMEM;
	ret = hp_fault_run(root, a, first, n);
	if (ret)
		return ret;
	for (i = first; i < first + n; i++) {
		a->slots[i].owner = root;
		hp_pool_acct(root, a->slots[i].node, 1, 0, 0);
		hp_surplus_added(root, a->slots[i].node);
	}
	return 0;
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
/* The page at src changes files in place: the fresh page comes at a spare
 * slot and is moved over the old one, which stays until then. */
static int refault_in_place(struct hugepool *pool, struct hp_arena *a, size_t src,
			    const struct hp_ffile *ff)
{
	long t = hp_empty_take(a, 1, 1);
	int ret, ofd = slot_file(a, src);
	uint32_t ofp = a->slots[src].fpage;

	if (t < 0)
		return -ENOMEM;
	if (hp_fault_run_in(pool->root, a, (size_t)t, 1, ff)) {
		hp_empty_insert(a, (size_t)t, 1);
		return -ENOMEM;
	}
	ret = hp_window_replace(a, (size_t)t, src);
	if (ret == -EIO)	/* the old page is gone already: place the new one */
		ret = a->slots[src].state == HP_SLOT_LOST ? -EIO : hp_window_move(a, (size_t)t, src);
	if (ret < 0) {
		hp_unmap_pages(a, (size_t)t, 1);
		hp_empty_insert(a, (size_t)t, 1);
		return -ENOMEM;
	}
	if (punch_page(a, ofd, ofp))
		hp_log(2, "a replaced page stays in its file until the file goes");
	slot_page_moved(a, (size_t)t, src);
	if (ret > 0)
		hp_window_lose(a, (size_t)t, 1);
	else
		hp_empty_insert(a, (size_t)t, 1);
	return 0;
}

int hp_pool_refault_page(struct hugepool *pool, struct hp_arena *a, size_t src, size_t dst,
			 int fd, uint32_t fp)
{
	struct hp_ffile ff = { .fd = fd < 0 ? a->fd : fd, .fp = fd < 0 ? (uint32_t)dst : fp };
	int old = a->slots[src].node, new;
	struct hugepool *p;

	if (a->fd < 0 || hp_arena_foreign(a))
		return -ENOMEM;
	if (src == dst) {
		if (refault_in_place(pool, a, src, &ff))
			return -ENOMEM;
	} else {
		if (hp_fault_run_in(pool->root, a, dst, 1, &ff))
			return -ENOMEM;
		a->slots[dst].owner = pool;
		hp_unmap_pages(a, src, 1);
		a->slots[src].flags = 0;
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

/* Release FREE-list run [first, first + n) of a root pool to the kernel
 * (update_and_free_page). The run must already be off the free lists. */
void hp_root_release(struct hugepool *root, struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		hp_pool_acct(root, a->slots[i].node, -1, -1, 0);
		hp_surplus_removed(root, a->slots[i].node);
	}
	hp_unmap_pages(a, first, n);
	hp_empty_insert(a, first, n);
	root->stats.pages_released += n;
}

