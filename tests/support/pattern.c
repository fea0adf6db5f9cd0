/* SPDX-License-Identifier: MIT */
/*
 * pattern.c - block contents that tell blocks and words apart, to show that
 * no byte of a block was lost, moved or written by someone else.
 */
#include "support.h"

uint64_t pat_word(uint64_t seed, size_t i)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + i;

	x ^= x >> 29;
	return x * 0xbf58476d1ce4e5b9ULL;
}

void pat_fill(void *p, size_t n, uint64_t seed, size_t stride)
{
	uint64_t *w = p;
	size_t i;

	for (i = 0; i < n / 8; i += stride)
		w[i] = pat_word(seed, i);
}

bool pat_ok(const void *p, size_t n, uint64_t seed, size_t stride)
{
	const uint64_t *w = p;
	size_t i;

	for (i = 0; i < n / 8; i += stride)
		if (w[i] != pat_word(seed, i))
			return false;
	return true;
}

bool all_zero(const void *p, size_t n)
{
	const uint64_t *w = p;
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n / 8; i++)
		if (w[i])
			return false;
	for (i = n & ~(size_t)7; i < n; i++)	/* a tail shorter than a word */
		if (b[i])
			return false;
	return true;
}
