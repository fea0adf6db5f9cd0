/* SPDX-License-Identifier: MIT */
/*
 * <hugepool/hugetlbfs.h> - libhugetlbfs's public API, served by hugepool.
 *
 * The same names, types, flags and meanings as libhugetlbfs's
 * <hugetlbfs.h> (its man pages: get_huge_pages(3), get_hugepage_region(3),
 * gethugepagesize(3), gethugepagesizes(3), getpagesizes(3),
 * hugetlbfs_find_path(3), hugetlbfs_test_path(3), hugetlbfs_unlinked_fd(3)),
 * so that a program written for it builds unchanged against
 * libhugepool-hugetlbfs (pkg-config hugepool-hugetlbfs). The memory comes
 * from hugepool pools: it is populated when it is handed out, so running
 * out is NULL/ENOMEM and never a SIGBUS. Where hugepool is stricter it says
 * so below. See hugepool(7), "libhugetlbfs".
 */
#ifndef HUGEPOOL_HUGETLBFS_H
#define HUGEPOOL_HUGETLBFS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* statfs(2) f_type of a hugetlbfs mount */
#define HUGETLBFS_MAGIC		0x958458f6

/* ELF program header flag of libhugetlbfs's relinked segments (hugeedit);
 * hugepool remaps segments without it (hugepool(7), HUGETLB_ELFMAP). */
#define PF_LINUX_HUGETLB	0x100000

/* The default huge page size (HUGETLB_DEFAULT_PAGE_SIZE, else the
 * kernel's), or -1 with errno ENOSYS when there are no huge pages. */
long gethugepagesize(void);
/* Huge page sizes, the default first; (NULL, 0): how many. -1/EINVAL for
 * n_elem < 0, or n_elem > 0 with pagesizes NULL. */
int gethugepagesizes(long pagesizes[], int n_elem);
/* The base page size, then the huge page sizes as above. */
int getpagesizes(long pagesizes[], int n_elem);

/* 1 if mount is a hugetlbfs mount, 0 if not, -1 on error (errno). */
int hugetlbfs_test_path(const char *mount);
/* A hugetlbfs mount this process may use for the default size or for
 * page_size (HUGETLB_PATH first, then /proc/mounts), or NULL. */
const char *hugetlbfs_find_path(void);
const char *hugetlbfs_find_path_for_size(long page_size);
/* A new file in that mount, already unlinked (O_TMPFILE): its descriptor,
 * or -1 with errno. */
int hugetlbfs_unlinked_fd(void);
int hugetlbfs_unlinked_fd_for_size(long page_size);

/* get_huge_pages: len bytes (rounded up to the default huge page size),
 * huge-page aligned and zeroed. Only GHP_DEFAULT is defined; any other bit
 * is EINVAL. NULL with errno (ENOMEM when the pool cannot have the pages). */
typedef unsigned long ghp_t;
#define GHP_DEFAULT	((ghp_t)0x01UL)
#define GHP_MASK	(GHP_DEFAULT)

void *get_huge_pages(size_t len, ghp_t flags);
void free_huge_pages(void *ptr);

/*
 * get_hugepage_region: len bytes of any length, on huge pages.
 *   GHR_STRICT    huge pages or NULL (also what no GHR_FALLBACK means);
 *   GHR_FALLBACK  base pages when no huge page can be had (said once on
 *                 stderr and counted, never silent);
 *   GHR_COLOR     offset the start by a random cache line within the
 *                 slack of the last huge page (pointers not page aligned);
 *   GHR_DEFAULT   GHR_FALLBACK | GHR_COLOR, as libhugetlbfs.
 * GHR_STRICT with GHR_FALLBACK contradict each other: EINVAL (libhugetlbfs
 * let GHR_FALLBACK win). Unknown bits: EINVAL.
 */
typedef unsigned long ghr_t;
#define GHR_STRICT	((ghr_t)0x10000000U)
#define GHR_FALLBACK	((ghr_t)0x20000000U)
#define GHR_COLOR	((ghr_t)0x40000000U)
#define GHR_DEFAULT	(GHR_FALLBACK | GHR_COLOR)
#define GHR_MASK	(GHR_FALLBACK | GHR_STRICT | GHR_COLOR)

void *get_hugepage_region(size_t len, ghr_t flags);
/* Any pointer get_hugepage_region returned (coloured ones included). */
void free_hugepage_region(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* HUGEPOOL_HUGETLBFS_H */
