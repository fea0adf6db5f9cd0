/* SPDX-License-Identifier: MIT */
/*
 * kern-window-prog.c - an unmodified program for kern-window (issue 18),
 * run under LD_PRELOAD=libhugepool.so inside a hugetlb cgroup whose 2 MiB
 * limits are 0: a block of 1 GiB + 1 MiB (more than a pool window's
 * alignment slack) falls back to glibc and is filled; then, with the limits
 * lifted first when argv[1] is "lifted" (argv[2]: the group's limit files,
 * argv[3]: the value meaning no limit), an 8 MiB block is asked for, which
 * the pool serves when it can. The first block must keep its contents,
 * the blocks must not overlap, the first must not be the pool's, and its
 * free must go to glibc (kern-window checks stderr for the library's
 * complaint about a pointer that is not a live block).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../helpers.h"

static void set_limit(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	if (fd < 0 || write(fd, val, strlen(val)) != (ssize_t)strlen(val)) {
		fprintf(stderr, "kern-window-prog: cannot write %s to %s\n", val, path);
		exit(T_FAIL);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	const size_t big = (1UL << 30) + (1UL << 20), small = 8UL << 20;
	void *(*owner)(const void *) = (void *(*)(const void *))dlsym(RTLD_DEFAULT, "hugepool_owner");
	bool lifted = argc > 1 && !strcmp(argv[1], "lifted");
	unsigned char *a, *b;
	size_t i;

	CHECK(owner);			/* the library is preloaded */
	a = malloc(big);
	CHECK(a);
	memset(a, 0xAA, big);
	CHECK(owner(a) == NULL);	/* glibc's: the pool had no page */
	if (lifted) {
		int k;

		CHECK(argc >= 4);
		for (k = 2; k + 1 < argc; k += 2)
			set_limit(argv[k], argv[k + 1]);
	}
	b = malloc(small);
	CHECK(b);
	memset(b, 0x55, small);
	CHECK((uintptr_t)b + small <= (uintptr_t)a || (uintptr_t)a + big <= (uintptr_t)b);
	for (i = 0; i < big; i += 4096)
		if (a[i] != 0xAA || a[i + 4095] != 0xAA) {
			fprintf(stderr, "kern-window-prog: the fallback block lost its contents at +%zu\n", i);
			return T_FAIL;
		}
	if (lifted) {
		CHECK(owner(b) != NULL);	/* the pool's, on huge pages */
		CHECK_EQ(smaps_page_size(b), 2L << 20);
	} else {
		CHECK(owner(b) == NULL);
	}
	CHECK(owner(a) == NULL);
	free(a);			/* glibc's free, no complaint */
	free(b);
	printf("kern-window-prog: %s: 1 GiB + 1 MiB fallback block intact, 8 MiB block %s\n",
	       lifted ? "lifted" : "starved", lifted ? "on 2 MiB pages" : "from glibc");
	return T_PASS;
}
