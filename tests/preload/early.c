/* SPDX-License-Identifier: MIT */
/*
 * early.c - blocks allocated by another preloaded library's constructor,
 * which ran before libhugepool's (libother.c), came from the pool when
 * they are above the threshold, are intact and can be freed by us.
 *
 * usage: early pool|glibc  (where the constructor's blocks must be)
 */
#include "preload-test.h"

#include <malloc.h>

int main(int argc, char **argv)
{
	void *(*blk)(int, size_t *) = (void *(*)(int, size_t *))pt_sym("other_block");
	bool want_pool = argc > 1 && !strcmp(argv[1], "pool");
	int bad = 0;

	if (!blk) {
		fprintf(stderr, "libpl-other.so is not preloaded\n");
		return T_FAIL;
	}
	if (want_pool && !pt_loaded()) {
		fprintf(stderr, "libhugepool.so is not preloaded\n");
		return T_FAIL;
	}
	for (int i = 0; i < 5; i++) {
		size_t n;
		unsigned char *p = blk(i, &n);
		bool pool = p && pt_owner(p);

		if (!p) {
			fprintf(stderr, "block %d: NULL\n", i);
			bad = 1;
			continue;
		}
		for (size_t j = 0; j < n; j++)
			if (p[j] != 0x40 + i) {
				fprintf(stderr, "block %d: byte %zu changed\n", i, j);
				bad = 1;
				break;
			}
		if (malloc_usable_size(p) < n) {
			fprintf(stderr, "block %d: usable size %zu < %zu\n", i, malloc_usable_size(p), n);
			bad = 1;
		}
		printf("constructor block %d (%zu bytes): %s\n", i, n, pool ? "pool" : "glibc");
		if (pool != want_pool)
			bad = 1;
		free(p);
	}
	return bad ? T_FAIL : T_PASS;
}
