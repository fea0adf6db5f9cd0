/* SPDX-License-Identifier: MIT */
/*
 * pool-check.h - CHECK_POOL(p): a pool's invariants (hp_pool_check: resv
 * <= free <= nr, per-node sums, surplus = max(0, nr - min), free lists)
 * hold, checked with the pool lock held so that no other thread moves
 * them meanwhile; a failure ends the test. For the tests that link the
 * internal archive (api, kernel, fault, soak); a macro, so that the message
 * names the test's line. Part of the support library's headers; it needs
 * lib/internal.h and helpers.h (T_FAIL).
 */
#ifndef HUGEPOOL_TEST_POOL_CHECK_H
#define HUGEPOOL_TEST_POOL_CHECK_H

#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* hp_pool_check(p) with the pool lock held: 0, or which invariant broke */
static inline int pool_check_locked(struct hugepool *p)
{
	int ret;

	hp_pool_lock(p);
	ret = hp_pool_check(p);
	hp_pool_unlock(p);
	return ret;
}

#define CHECK_POOL(p)							\
	do {								\
		int ret_ = pool_check_locked(p);			\
		if (ret_) {						\
			fprintf(stderr, "%s:%d: pool invariants broken (%d)\n", \
				__FILE__, __LINE__, ret_);		\
			exit(T_FAIL);					\
		}							\
	} while (0)

#endif
