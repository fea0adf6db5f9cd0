/* SPDX-License-Identifier: MIT */
/*
 * libother.c - another preloaded library whose constructor allocates above
 * the threshold (pitfalls item 5). With
 * LD_PRELOAD=libhugepool.so:libpl-other.so, ld.so runs this constructor
 * before libhugepool's, so the first calls into our malloc come from here,
 * before our constructor: the preload must initialise lazily.
 */
#include <stdlib.h>
#include <string.h>

#define KB 1024UL

void *other_block(int i, size_t *size);

static void *blocks[5];
static const size_t sizes[5] = { 1024 * KB, 512 * KB, 600 * KB, 700 * KB, 300 * KB };

__attribute__((constructor)) static void other_ctor(void)
{
	void *p = NULL;

	blocks[0] = malloc(sizes[0]);
	blocks[1] = calloc(1, sizes[1]);
	if (posix_memalign(&p, 4096, sizes[2]) == 0)
		blocks[2] = p;
	blocks[3] = realloc(malloc(100), sizes[3]);
	blocks[4] = aligned_alloc(64, sizes[4]);
	for (int i = 0; i < 5; i++)
		if (blocks[i])
			memset(blocks[i], 0x40 + i, sizes[i]);
}

__attribute__((visibility("default"))) void *other_block(int i, size_t *size)
{
	*size = sizes[i];
	return blocks[i];
}
