/* SPDX-License-Identifier: MIT */
/*
 * subpool.c - struct hugepage_subpool accounting, as mm/hugetlb.c does it
 * for a hugetlbfs mount with size= (max_hpages) and min_size= (min_hpages).
 *
 * used_hpages counts pages charged to the subpool (in use or reserved);
 * rsv_hpages counts minimum pages the parent set aside for it that are not
 * charged yet. A subpool therefore always holds used_hpages + rsv_hpages
 * pages of its parent. The functions are pure arithmetic: the caller moves
 * the pages they ask for.
 */
#include "internal.h"

void hp_subpool_init(struct hp_subpool_acct *spool, long min_hpages, long max_hpages)
{
	spool->max_hpages = max_hpages;
	spool->min_hpages = min_hpages;
	spool->used_hpages = 0;
	/* the minimum is taken from the parent at creation */
	spool->rsv_hpages = min_hpages > 0 ? min_hpages : 0;
}

/*
 * Charge delta pages to the subpool. Returns -ENOMEM if that would exceed
 * max_hpages; otherwise the number of pages the parent must provide
 * (delta minus what the minimum reservation already covers).
 */
long hp_subpool_get_pages(struct hp_subpool_acct *spool, long delta)
{
	long ret = delta;

	if (delta < 0)
		return -EINVAL;
	if (spool->max_hpages != -1) {
		if (spool->used_hpages + delta > spool->max_hpages)
			return -ENOMEM;
		spool->used_hpages += delta;
	} else {
		spool->used_hpages += delta;
	}
	if (spool->min_hpages != -1 && spool->rsv_hpages) {
		if (delta > spool->rsv_hpages) {
			ret = delta - spool->rsv_hpages;
			spool->rsv_hpages = 0;
		} else {
			ret = 0;
			spool->rsv_hpages -= delta;
		}
	}
	return ret;
}

/*
 * Uncharge delta pages. Returns the number of pages the parent gets back:
 * pages that drop used_hpages below min_hpages stay with the subpool as
 * its minimum reservation.
 */
long hp_subpool_put_pages(struct hp_subpool_acct *spool, long delta)
{
	long ret = delta;

	if (delta < 0 || delta > spool->used_hpages)
		return -EINVAL;
	spool->used_hpages -= delta;
	if (spool->min_hpages != -1 && spool->used_hpages < spool->min_hpages) {
		long want = spool->min_hpages - spool->used_hpages - spool->rsv_hpages;

		if (want > 0) {
			if (want > delta)
				want = delta;
			spool->rsv_hpages += want;
			ret = delta - want;
		}
	}
	return ret;
}
