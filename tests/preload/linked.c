/* SPDX-License-Identifier: MIT */
/*
 * linked.c - a program linked against libhugepool.so (the API). The
 * library's malloc family still interposes glibc's, since the library
 * comes before libc in the lookup order, but passes everything through
 * unless it is preloaded or HUGEPOOL_MALLOC=1; HUGEPOOL_MALLOC=0 turns a
 * preload off. In every case free(), realloc() and malloc_usable_size()
 * of an API block do the right thing.
 *
 * usage: linked pool|glibc  (who must serve a 4 MiB malloc)
 */
#include "../helpers.h"

#include <malloc.h>

#define MB (1UL << 20)

int main(int argc, char **argv)
{
	bool want_pool = argc > 1 && !strcmp(argv[1], "pool");
	unsigned char *p, *q;

	need_free_pages(2 * MB, 16);
	p = malloc(4 * MB);
	CHECK(p);
	memset(p, 1, 4 * MB);
	printf("malloc(4M) served by %s\n", hugepool_owner(p) ? "the pool" : "glibc");
	CHECK((hugepool_owner(p) != NULL) == want_pool);
	free(p);
	p = malloc(100);
	CHECK(p && !hugepool_owner(p));
	free(p);

	/* API blocks through the malloc family */
	p = hugepool_malloc(NULL, 3 * MB);
	CHECK(p && hugepool_owner(p));
	memset(p, 0x3c, 3 * MB);
	CHECK(malloc_usable_size(p) >= 3 * MB);
	q = realloc(p, 5 * MB);		/* stays a pool block */
	CHECK(q && hugepool_owner(q));
	CHECK(q[0] == 0x3c && q[3 * MB - 1] == 0x3c);
	errno = 4242;
	free(q);
	CHECK(errno == 4242);
	printf("API blocks through free/realloc/malloc_usable_size: ok\n");
	return T_PASS;
}
