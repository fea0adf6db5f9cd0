/* SPDX-License-Identifier: MIT */
/*
 * hugetlbfs-sizes.c - libhugetlbfs's page size queries: gethugepagesize,
 * gethugepagesizes and getpagesizes, answered from hugepool's hstates
 * (sysfs) and options, so that they name the sizes its pools can have.
 */
#include "compat.h"

#include <unistd.h>

size_t compat_default_size(void)
{
	const struct hp_hstate *h;

	hp_options_init();
	h = hp_size_to_hstate(hp_opt.page_size);	/* 0: the kernel's default */
	return h ? h->size : 0;
}

size_t compat_valid_size(long page_size)
{
	const struct hp_hstate *h = page_size > 0 ? hp_size_to_hstate((size_t)page_size) : NULL;

	if (!h) {
		errno = EINVAL;
		return 0;
	}
	return h->size;
}

COMPAT_EXPORT long gethugepagesize(void)
{
	size_t s = compat_default_size();

	if (!s) {
		errno = ENOSYS;
		return -1;
	}
	return (long)s;
}

/* Huge page sizes into out[first..], the default first then the rest
 * ascending, as many as fit in n (out NULL and n 0: only the count).
 * Returns the number stored (or the count), or -1 with errno. */
static int huge_sizes(long *out, int n, int first)
{
	size_t def = compat_default_size();
	int i, k = first, count = hp_hstate_count();

	if (n < 0 || (n > 0 && !out)) {
		errno = EINVAL;
		return -1;
	}
	if (!out)
		return first + (count > 0 ? count : 0);
	if (def && k < n)
		out[k++] = (long)def;
	for (i = 0; i < count && k < n; i++) {
		const struct hp_hstate *h = hp_hstate_get(i);

		if (h->size != def)
			out[k++] = (long)h->size;
	}
	return k;
}

COMPAT_EXPORT int gethugepagesizes(long pagesizes[], int n_elem)
{
	hp_hstate_init();	/* no hugetlb at all: no sizes, not an error */
	return huge_sizes(pagesizes, n_elem, 0);
}

COMPAT_EXPORT int getpagesizes(long pagesizes[], int n_elem)
{
	long base = sysconf(_SC_PAGESIZE);

	if (n_elem < 0 || (n_elem > 0 && !pagesizes)) {
		errno = EINVAL;
		return -1;
	}
	hp_hstate_init();
	if (!pagesizes)
		return huge_sizes(NULL, 0, 1);
	if (n_elem == 0)
		return 0;
	pagesizes[0] = base;
	return huge_sizes(pagesizes, n_elem, 1);
}

/* libhugetlbfs's test probe (its tests/gethugepagesizes.c fakes sysfs and
 * meminfo, then asks for the sizes to be discovered again): exported, as
 * libhugetlbfs exports its __tp_* names, so that its suite runs as is. */
COMPAT_EXPORT void __tp_kernel_default_hugepage_size_reset(void);
COMPAT_EXPORT void __tp_kernel_default_hugepage_size_reset(void)
{
	hp_hstate_reset();
}
