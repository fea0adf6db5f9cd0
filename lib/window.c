/* SPDX-License-Identifier: MIT */
/*
 * window.c - a root pool's address window and its one invariant: for as
 * long as an arena lives, every byte of its window is mapped by the pool,
 * either a PROT_NONE placeholder (an EMPTY slot) or a page of the pool.
 *
 * Ownership is decided by address (hp_arena_lookup), so a mapping of anyone
 * else's inside the window would be taken for the pool's, and the pool's
 * next MAP_FIXED there would land on live memory. That happened: a
 * MAP_FIXED | MAP_HUGETLB over a placeholder whose reservation the kernel
 * refused (no pages, a hugetlb cgroup limit) had already unmapped the
 * placeholder, glibc's fallback mmap of the same block landed in the hole,
 * and the next fault mapped huge pages over it (issue 18).
 *
 * So nothing here ever maps over the window in a call that can fail after
 * it took the placeholder away:
 *
 *  - a page is mapped in two steps: the kernel maps (and, for huge pages,
 *    reserves and populates) it at an address of its own choosing, where a
 *    refusal costs the window nothing, and only then is it moved over the
 *    placeholder with mremap(MREMAP_FIXED), which needs no new page;
 *  - pages go back by mapping a placeholder over them (MAP_FIXED over the
 *    pool's own pages, which the slot state vouches for), or, if that
 *    fails, MADV_DONTNEED, which keeps the mapping;
 *  - a range that a failed call may have left unmapped is covered again
 *    with MAP_FIXED_NOREPLACE, never MAP_FIXED. If that cannot be done
 *    (the range is mapped: by us still, or by whoever took the hole), the
 *    slots are LOST: never used again, and not the pool's for ownership
 *    (hp_arena_lookup), so a pointer into them goes to glibc. A LOST slot
 *    costs address space only.
 */
#include "internal.h"

#include <linux/mman.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

int hp_window_placeholder(struct hp_arena *a, size_t first, size_t n, bool noreplace)
{
	void *p, *want = hp_slot_addr(a, first);
	int ret = hp_sys_mmap(want, n << a->shift, PROT_NONE,
			      (noreplace ? MAP_FIXED_NOREPLACE : MAP_FIXED) |
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, &p);

	if (!ret && p != want) {
		/* kernels before 4.17 ignore NOREPLACE: never keep a stray map */
		hp_sys_munmap(p, n << a->shift);
		return -EEXIST;
	}
	return ret;
}

void hp_window_lose(struct hp_arena *a, size_t first, size_t n)
{
	static bool told;
	size_t i;

	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		hp_log(1, "address range %p (%zu KiB) of a pool's window could not be kept; "
		       "it is not used again", hp_slot_addr(a, first), (n << a->shift) >> 10);
	for (i = first; i < first + n; i++) {
		a->slots[i].state = HP_SLOT_LOST;
		a->slots[i].flags = 0;
		a->slots[i].node = -1;
		a->slots[i].owner = NULL;
		a->slots[i].req = 0;
	}
}

/* Cover a hole with a placeholder. A refusal is not trusted alone: EEXIST
 * means a mapping is there (ours still, or whoever took the hole), which
 * madvise confirms (it fails with ENOMEM over any unmapped page); anything
 * else (ENOMEM at vm.max_map_count, a transient shortage) leaves a hole
 * that anyone could map into. Either way a hole is worth one more try
 * before the range is given up. */
static int cover_hole(struct hp_arena *a, size_t first, size_t n)
{
	int ret = hp_window_placeholder(a, first, n, true);

	if (ret == -EEXIST &&
	    hp_sys_madvise(hp_slot_addr(a, first), n << a->shift, MADV_NORMAL) != -ENOMEM)
		return ret;	/* all mapped: no hole to cover */
	if (ret)
		ret = hp_window_placeholder(a, first, n, true);
	return ret;
}

int hp_window_recover(struct hp_arena *a, size_t first, size_t n)
{
	int ret = cover_hole(a, first, n);

	if (ret)
		hp_window_lose(a, first, n);
	return ret;
}

static void drop_staged(void *t, size_t len)
{
	if (hp_sys_munmap(t, len))
		hp_release_mapping(t, len);
}

int hp_window_map(struct hp_arena *a, size_t first, size_t n, int prot, int flags,
		  int fd, off_t off, bool populate)
{
	void *addr = hp_slot_addr(a, first), *t, *p;
	size_t len = n << a->shift;
	int ret;

	/* the kernel picks the address: huge pages come aligned to their
	 * size, and the window is all mapped, so it is never inside it */
	ret = hp_sys_mmap(NULL, len, prot, flags & ~(MAP_FIXED | MAP_FIXED_NOREPLACE),
			  fd, off, &t);
	if (ret)
		return ret;
	if (populate) {
		ret = hp_sys_madvise(t, len, MADV_POPULATE_WRITE);
		if (ret) {
			drop_staged(t, len);
			return ret;
		}
	}
	ret = hp_sys_mremap(t, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr, &p);
	if (ret) {
		/* mremap can fail after it unmapped the destination
		 * (vm.max_map_count): the placeholder may be gone */
		hp_window_recover(a, first, n);
		drop_staged(t, len);
		return ret;
	}
	return 0;
}

void hp_window_clear(struct hp_arena *a, size_t first, size_t n)
{
	if (!hp_window_placeholder(a, first, n, false))
		return;
	/* no placeholder (vm.max_map_count): the pages still go back, and
	 * the mapping, ours, stays */
	if (!hp_sys_madvise(hp_slot_addr(a, first), n << a->shift, MADV_DONTNEED))
		return;
	hp_window_recover(a, first, n);
}

/* mremap the page at src over dst (a placeholder, or a page of the pool's
 * that goes: dst_page), then cover the hole left at src. */
static int move_over(struct hp_arena *a, size_t src, size_t dst, bool dst_page)
{
	void *s = hp_slot_addr(a, src), *d = hp_slot_addr(a, dst), *p;
	size_t sz = (size_t)1 << a->shift;
	int ret = hp_sys_mremap(s, sz, sz, MREMAP_MAYMOVE | MREMAP_FIXED, d, &p);

	if (ret) {
		/* a page at dst still mapped is there, untouched */
		if (dst_page && hp_sys_madvise(d, sz, MADV_NORMAL) != -ENOMEM)
			return ret;
		hp_window_recover(a, dst, 1);
		return dst_page ? -EIO : ret;
	}
	/* the source is a hole now (the kernel has no MREMAP_DONTUNMAP for
	 * hugetlb): cover it at once, never over anyone else's mapping */
	if (cover_hole(a, src, 1)) {
		hp_log(1, "slot %p was taken by another mapping; not used again", s);
		return 1;
	}
	return 0;
}

int hp_window_move(struct hp_arena *a, size_t src, size_t dst)
{
	return move_over(a, src, dst, false);
}

int hp_window_replace(struct hp_arena *a, size_t src, size_t dst)
{
	return move_over(a, src, dst, true);
}
