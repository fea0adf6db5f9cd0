/* SPDX-License-Identifier: MIT */
/*
 * shm.c - SysV shared memory on huge pages (HUGEPOOL_SHM=1), libhugetlbfs's
 * HUGETLB_SHM: the preload's shmget adds SHM_HUGETLB, with the page size
 * flag of HUGEPOOL_PAGE_SIZE (or the default size), to every call that may
 * create a segment, its size rounded up to whole pages.
 *
 * Where the kernel refuses a hugetlb segment (no free pages: ENOMEM or
 * ENOSPC; a user neither root nor in vm.hugetlb_shm_group: EPERM; an
 * existing segment smaller than the rounded size: EINVAL) the call is
 * made again as the program made it, on base pages: the program never
 * fails where it would have worked. That fallback is counted and said
 * once. Calls that only look a segment up (no IPC_CREAT) and those that
 * ask for SHM_HUGETLB themselves pass through unchanged.
 *
 * Exported from libhugepool.so only (like the malloc family): shmget is
 * a plain syscall wrapper in glibc, so the seam makes the syscall itself.
 */
#include "internal.h"

#if HP_PRELOAD

#include <string.h>
#include <sys/shm.h>

#ifndef SHM_HUGE_SHIFT
#define SHM_HUGE_SHIFT 26
#endif

static unsigned long shm_huge;		/* segments created on huge pages */
static unsigned long shm_fallbacks;	/* refused by the kernel: base pages */

static hp_cold void shm_fallback(size_t size, int err)
{
	static bool told;

	__atomic_add_fetch(&shm_fallbacks, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		hp_log(1, "shmget: a %zu-byte SysV segment could not be had on huge pages (%s%s); "
		       "it is on base pages (counted as shm fallbacks in the stats)", size,
		       hp_errstr(err), err == EPERM ? ": not root and not in vm.hugetlb_shm_group" :
		       "");
}

/* The kernel's "no" to a hugetlb segment, as opposed to the program's
 * own error (EEXIST with IPC_EXCL, EACCES, ENOENT), which stays. */
static bool shm_refused(int err)
{
	return err == ENOMEM || err == ENOSPC || err == EPERM || err == EINVAL;
}

__attribute__((visibility("default"))) int shmget(key_t key, size_t size, int shmflg)
{
	const struct hp_hstate *h;
	size_t rounded;
	int id, flags;

	hp_options_init();
	if (!hp_opt.shm || (shmflg & SHM_HUGETLB) || !(shmflg & IPC_CREAT) || !size)
		goto plain;
	h = hp_opt.page_size ? hp_size_to_hstate(hp_opt.page_size) : hp_default_hstate();
	if (!h || __builtin_add_overflow(size, h->size - 1, &rounded))
		goto plain;
	rounded &= ~(h->size - 1);
	flags = shmflg | SHM_HUGETLB | (int)(h->shift << SHM_HUGE_SHIFT);
	id = hp_sys_shmget(key, rounded, flags);
	if (id >= 0) {
		__atomic_add_fetch(&shm_huge, 1, __ATOMIC_RELAXED);
		hp_log(2, "shmget: %zu bytes on %zu KiB pages (%zu asked), id %d", rounded,
		       h->size >> 10, size, id);
		return id;
	}
	if (!shm_refused(-id)) {
		errno = -id;
		return -1;
	}
	shm_fallback(size, -id);
plain:
	id = hp_sys_shmget(key, size, shmflg);
	if (id < 0) {
		errno = -id;
		return -1;
	}
	return id;
}

/* For the exit report: segments on huge pages, fallbacks. */
void hp_shm_counts(unsigned long *huge, unsigned long *fallbacks)
{
	*huge = __atomic_load_n(&shm_huge, __ATOMIC_RELAXED);
	*fallbacks = __atomic_load_n(&shm_fallbacks, __ATOMIC_RELAXED);
}

#endif /* HP_PRELOAD */
