/* SPDX-License-Identifier: MIT */
/*
 * seg-biglib.c - a shared library with 16 MiB of .bss, preloaded into a
 * program so that HUGEPOOL_SEGMENTS_LIBS='libseg-biglib*' moves it
 * (segments.sh). Its constructor writes a pattern that must survive the
 * move; its destructor checks it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define BIG (16UL << 20)

static unsigned char big[BIG];

__attribute__((constructor)) static void fill(void)
{
	for (size_t i = 0; i < BIG; i += 4096)
		big[i] = (unsigned char)(i >> 12);
}

__attribute__((destructor)) static void check(void)
{
	for (size_t i = 0; i < BIG; i += 4096)
		if (big[i] != (unsigned char)(i >> 12)) {
			fprintf(stderr, "seg-biglib: .bss changed at %zu\n", i);
			_exit(3);
		}
}
