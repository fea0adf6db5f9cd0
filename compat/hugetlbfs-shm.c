/* SPDX-License-Identifier: MIT */
/*
 * hugetlbfs-shm.c - libhugetlbfs's shmget override, for the stand-in and
 * libhugepool-hugetlbfs until the library's own (lib/shm.c, issue 15)
 * lands; compat/meson.build builds lib/shm.c instead once it exists, and
 * this file can then go. With HUGETLB_SHM=yes (hp_opt.shm) a segment gets SHM_HUGETLB and
 * the pool page size's flag, its size rounded up to whole pages. Where the
 * kernel refuses (no pages; not in vm.hugetlb_shm_group) the call is made
 * again with base pages, as libhugetlbfs did, said once on stderr.
 */
#include "compat.h"

#include <string.h>
#include <sys/shm.h>

#ifndef SHM_HUGE_SHIFT
#define SHM_HUGE_SHIFT 26
#endif

COMPAT_EXPORT int shmget(key_t key, size_t size, int shmflg)
{
	static bool said;
	size_t page;
	int id;

	hp_options_init();
	page = hp_opt.shm ? compat_default_size() : 0;
	if (page && !(shmflg & SHM_HUGETLB) && size <= SIZE_MAX - page) {
		size_t rounded = (size + page - 1) & ~(page - 1);
		int huge = shmflg | SHM_HUGETLB | (__builtin_ctzl(page) << SHM_HUGE_SHIFT);

		id = hp_sys_shmget(key, rounded, huge);
		if (id >= 0)
			return id;
		/* no pages, or not allowed: say so; a key that exists or not is
		 * the plain call's answer too */
		if ((id == -ENOMEM || id == -EPERM || id == -ENOSPC) &&
		    !__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
			hp_log(0, "warning: shmget: SHM_HUGETLB refused (%s); base pages instead "
			       "(said once)", hp_errstr(-id));
	}
	id = hp_sys_shmget(key, size, shmflg);
	if (id < 0) {
		errno = -id;
		return -1;
	}
	return id;
}
