/* SPDX-License-Identifier: MIT */
/*
 * compat.h - what the files of the libhugetlbfs compat library share. The
 * library is built twice from them (compat/meson.build): as
 * libhugepool-hugetlbfs.so for programs built against <hugepool/hugetlbfs.h>,
 * and as a libhugetlbfs.so.0 stand-in for binaries linked against
 * libhugetlbfs. Both carry hugepool's engine and its preload (the
 * HUGETLB_MORECORE heap), like libhugepool.so itself.
 */
#ifndef HUGEPOOL_COMPAT_H
#define HUGEPOOL_COMPAT_H

#include "internal.h"
#include "hugepool/hugetlbfs.h"

#define COMPAT_EXPORT __attribute__((visibility("default")))

/* hugetlbfs-sizes.c: the size libhugetlbfs calls the default (the pool's:
 * HUGEPOOL_PAGE_SIZE or HUGETLB_DEFAULT_PAGE_SIZE, else the kernel's), or
 * 0 when there are no huge pages. */
size_t compat_default_size(void);
/* A huge page size of this kernel given as a long, or 0 (errno EINVAL). */
size_t compat_valid_size(long page_size);

#endif /* HUGEPOOL_COMPAT_H */
