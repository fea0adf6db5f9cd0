/* SPDX-License-Identifier: MIT */
/*
 * arena.c - a root pool's arena: its address window, the registry that maps
 * an address to its arena in one load (so that free() decides ownership
 * without a syscall), and the runs of slots in it. A slot is one
 * huge-page-aligned address of the window; runs of EMPTY slots (address
 * space with a placeholder and no page) carry their length at both ends and
 * sit in log2 bins, so that taking and giving back address space coalesces
 * in O(1). The window itself is kept whole by window.c.
 */
#include "internal.h"

#include <linux/falloc.h>
#include <linux/memfd.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
unsigned int hp_bin_of(size_t n, unsigned int nbins)
{
	unsigned int b = 63u - (unsigned int)__builtin_clzl(n);

	return b < nbins ? b : nbins - 1;
}

void hp_run_set_len(struct hp_arena *a, size_t first, size_t n)
{
	a->slots[first].run = (uint32_t)n;
	a->slots[first + n - 1].run = (uint32_t)n;
}

void hp_ext_link(struct hp_slot **bins, unsigned int nbins, struct hp_slot *head, size_t n)
{
	unsigned int b = hp_bin_of(n, nbins);

	head->prev_free = NULL;
	head->next_free = bins[b];
	if (bins[b])
		bins[b]->prev_free = head;
	bins[b] = head;
}

void hp_ext_unlink(struct hp_slot **bins, unsigned int nbins, struct hp_slot *head)
{
	unsigned int b = hp_bin_of(head->run, nbins);

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
long hp_ext_find(struct hp_arena *a, struct hp_slot **bins, unsigned int nbins,
		     size_t n, size_t align, size_t *start)
{
	unsigned int b;

	for (b = hp_bin_of(n, nbins); b < nbins; b++) {
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
void hp_empty_insert(struct hp_arena *a, size_t first, size_t n)
{
	size_t i;

	for (i = first; i < first + n; i++) {
		if (unlikely(a->slots[i].state == HP_SLOT_LOST)) {
			if (i > first)
				hp_empty_insert(a, first, i - first);
			if (i + 1 < first + n)
				hp_empty_insert(a, i + 1, first + n - i - 1);
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

		hp_ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[lh]);
		n += first - lh;
		first = lh;
	}
	if (first + n < a->nslots && a->slots[first + n].state == HP_SLOT_EMPTY) {
		size_t rn = a->slots[first + n].run;

		hp_ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[first + n]);
		n += rn;
	}
	hp_run_set_len(a, first, n);
	hp_ext_link(a->empty_bins, HP_FREE_BINS_A, &a->slots[first], n);
}

/* Take the single EMPTY slot idx out of its run (the rest stays EMPTY). */
void hp_empty_remove(struct hp_arena *a, size_t idx)
{
	size_t i = idx, head, len;

	/* find the run's head: walk left over EMPTY slots (runs are short
	 * here: this is an error path) */
	while (i > 0 && a->slots[i - 1].state == HP_SLOT_EMPTY)
		i--;
	head = i;
	len = a->slots[head].run;
	hp_ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[head]);
	memset(&a->slots[idx], 0, sizeof(a->slots[idx]));
	a->slots[idx].state = HP_SLOT_USED;
	a->slots[idx].node = -1;
	if (idx > head)
		hp_empty_insert(a, head, idx - head);
	if (idx + 1 < head + len)
		hp_empty_insert(a, idx + 1, head + len - idx - 1);
}

/* Take [start, start + n) out of the EMPTY run headed at head. */
static void empty_carve(struct hp_arena *a, size_t head, size_t start, size_t n)
{
	size_t len = a->slots[head].run;

	hp_ext_unlink(a->empty_bins, HP_FREE_BINS_A, &a->slots[head]);
	/* mark the taken slots non-EMPTY before re-inserting the leftovers so
	 * that they do not coalesce back over them */
	memset(&a->slots[start], 0, n * sizeof(struct hp_slot));
	for (size_t i = start; i < start + n; i++) {
		a->slots[i].state = HP_SLOT_USED;
		a->slots[i].node = -1;
	}
	if (start > head)
		hp_empty_insert(a, head, start - head);
	if (start + n < head + len)
		hp_empty_insert(a, start + n, head + len - start - n);
}

/* Take n EMPTY slots at the alignment; returns the first index or -ENOMEM
 * (the window is full). The slots stay EMPTY until the caller maps them. */
long hp_empty_take(struct hp_arena *a, size_t n, size_t align)
{
	size_t start;
	long h = hp_ext_find(a, a->empty_bins, HP_FREE_BINS_A, n, align, &start);

	if (h < 0)
		return -ENOMEM;
	empty_carve(a, (size_t)h, start, n);
	return (long)start;
}

/* Take the n EMPTY slots from first on, first being the head of its EMPTY
 * run (the slot before it is not EMPTY). 0 or -ENOMEM (not that many). */
int hp_empty_take_at(struct hp_arena *a, size_t first, size_t n)
{
	const struct hp_slot *s = &a->slots[first];

	if (first >= a->nslots || s->state != HP_SLOT_EMPTY || s->run < n ||
	    (first > 0 && a->slots[first - 1].state == HP_SLOT_EMPTY))
		return -ENOMEM;
	empty_carve(a, first, first, n);
	return 0;
}

size_t hp_window_slots(size_t shift, size_t max_pages)
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

/* Reserve the window (PROT_NONE), aligned to the page size and to the
 * registry's granule. 0 or -errno. */
static int window_reserve(struct hp_arena *a, size_t shift, size_t nslots)
{
	size_t len = nslots << shift, align = ((size_t)1 << shift) > ARENA_ALIGN ?
					       (size_t)1 << shift : ARENA_ALIGN;
	char *map, *base;
	int ret;

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
		return ret;
	base = (char *)HP_ALIGN_UP((uintptr_t)map, align);
	/* trim to the aligned window so the registry maps exactly it; a trim
	 * that fails leaves its slack in a->map, so that hp_arena_destroy
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
	return 0;
}

/* HUGEPOOL_SHARED: the pool's own hugetlb memfd, slot i at page i, and
 * which file each slot's page is in (fd + 1; 0: the pool's). */
static int arena_file(struct hp_arena *a, const char *name)
{
	int fd = hp_sys_memfd_create(name, MFD_CLOEXEC | MFD_HUGETLB |
				     (unsigned int)(a->shift << MFD_HUGE_SHIFT));

	if (fd < 0)
		return fd;
	a->fd = fd;
	if (hp_sys_ftruncate(fd, (off_t)(a->nslots << a->shift)))
		return -ENOMEM;
	a->slot_fd = hp_meta_map(a->nslots * sizeof(*a->slot_fd));
	return a->slot_fd ? 0 : -ENOMEM;
}

struct hp_arena *hp_arena_create(size_t shift, size_t nslots, bool base_pages, bool shared,
				 const char *name)
{
	struct hp_arena *a = hp_meta_zalloc(sizeof(*a));

	if (!a)
		return NULL;
	a->fd = -1;
	a->gen = hp_fork_gen;
	a->base_pages = base_pages;
	if (window_reserve(a, shift, nslots)) {
		hp_meta_free(a, sizeof(*a));
		return NULL;
	}
	a->slots = hp_meta_map(a->nslots * sizeof(struct hp_slot));
	if (!a->slots || (shared && arena_file(a, name))) {
		hp_sys_close(a->fd);
		hp_meta_unmap(a->slots, a->slots ? a->nslots * sizeof(struct hp_slot) : 0);
		hp_meta_unmap(a->slot_fd, a->slot_fd ? a->nslots * sizeof(*a->slot_fd) : 0);
		if (hp_sys_munmap(a->map, a->map_len))
			hp_release_mapping(a->map, a->map_len);
		hp_meta_free(a, sizeof(*a));
		return NULL;
	}
	/* the slot array is fresh zeroed memory, already all EMPTY: only the
	 * run's two ends need writing (touching every slot of a 1 TiB window
	 * cost each process ~0.5 ms before its first block) */
	hp_run_set_len(a, 0, a->nslots);
	hp_ext_link(a->empty_bins, HP_FREE_BINS_A, &a->slots[0], a->nslots);
	arena_register(a, true);
	return a;
}

void hp_arena_destroy(struct hp_arena *a)
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
