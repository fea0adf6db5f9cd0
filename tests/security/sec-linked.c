/* SPDX-License-Identifier: MIT */
/*
 * sec-linked.c - a program linked with libhugepool.so (the public API
 * only), as a setuid program would be: where did a 4 MiB malloc go? The
 * library interposes malloc only when preloaded or HUGEPOOL_MALLOC=1, and
 * the default pool is made by the first malloc it serves, so a default
 * pool holding pages after the malloc means "pool". Its absolute runpath
 * (meson.build) is one that ld.so honours in a setuid copy.
 */
#include <hugepool/hugepool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
	struct hugepool_counters c = { 0 };
	void *p = malloc(4 << 20);
	struct hugepool *pool;

	if (!p)
		return 1;
	memset(p, 1, 4 << 20);
	pool = hugepool_default();
	printf("malloc=%s\n",
	       pool && !hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c) && c.nr_pages ? "pool" : "glibc");
	free(p);
	return 0;
}
