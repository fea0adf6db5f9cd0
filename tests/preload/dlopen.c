/* SPDX-License-Identifier: MIT */
/*
 * dlopen.c - libhugepool.so dlopen'd by a program that did not preload it
 * (the API inside a plugin or a Python extension). The library's TLS is
 * initial-exec (static TLS, pitfall 6): the dlopen must still succeed
 * from glibc's surplus static TLS, the API must work, and the program's
 * malloc must stay glibc's (a dlopen'd library does not interpose).
 */
#include "preload-test.h"

int main(void)
{
	void *h, *blk, *m;
	void *(*hp_malloc)(struct hugepool *, size_t);
	void (*hp_free)(void *);
	struct hugepool *(*owner)(const void *);

	if (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "hugepool")) {
		fprintf(stderr, "run this test without LD_PRELOAD\n");
		return T_FAIL;
	}
	h = dlopen(pt_lib(), RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return T_FAIL;
	}
	hp_malloc = (void *(*)(struct hugepool *, size_t))dlsym(h, "hugepool_malloc");
	hp_free = (void (*)(void *))dlsym(h, "hugepool_free");
	owner = (struct hugepool *(*)(const void *))dlsym(h, "hugepool_owner");
	CHECK(hp_malloc && hp_free && owner);
	need_free_pages(HUGE_2M, 8);
	blk = hp_malloc(NULL, 4 * MB);
	CHECK(blk);
	memset(blk, 1, 4 * MB);
	CHECK(owner(blk) != NULL);
	CHECK(smaps_page_size(blk) == (long)HUGE_2M);
	m = malloc(4 * MB);	/* glibc's: the dlopen'd library is not the malloc */
	CHECK(m && owner(m) == NULL);
	free(m);
	hp_free(blk);
	printf("dlopen of an initial-exec TLS library: ok\n");
	CHECK(dlclose(h) == 0);
	return T_PASS;
}
