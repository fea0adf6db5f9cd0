/* SPDX-License-Identifier: MIT */
/*
 * demo.c - hugepool in a dozen calls: a pool of 2 MiB pages, a 64 MiB
 * block written end to end, where its pages really are (smaps), the pool's
 * and the kernel's counters before and after, and everything given back;
 * then, when the kernel has a free 1 GiB page, a block on it.
 */
#include <hugepool/hugepool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void show(const char *when, const struct hugepool *pool)
{
	struct hugepool_counters p, k;

	hugepool_counters(pool, HUGEPOOL_NODE_ANY, &p);
	hugepool_kernel_counters(p.page_size, HUGEPOOL_NODE_ANY, &k);
	printf("%-22s pool: nr %3zu free %3zu surplus %3zu | kernel: free %5zu of %5zu\n",
	       when, p.nr_pages, p.free_pages, p.surplus_pages, k.free_pages, k.nr_pages);
}

static long page_size_of(const void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi, kb;
	char line[512];
	int in = 0;
	long ret = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
			in = a >= lo && a < hi;
		else if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1) {
			ret = (long)kb;
			break;
		}
	}
	if (f)
		fclose(f);
	return ret;
}

/* A block on a 1 GiB page, when the kernel has a free one (the README's
 * promise): its KernelPageSize in smaps is 1048576 kB. */
static void gigantic(void)
{
	struct hugepool_config cfg = { .page_size = 1UL << 30 };
	struct hugepool_counters k;
	struct hugepool *pool;
	char *block;

	if (hugepool_kernel_counters(1UL << 30, HUGEPOOL_NODE_ANY, &k) < 0) {
		printf("1 GiB pages: this kernel has none (hugepagesz=1G on the command line)\n");
		return;
	}
	if (k.free_pages <= k.resv_pages) {
		printf("1 GiB pages: none free (%zu of %zu; hugepool-ctl set 1G +1)\n",
		       k.free_pages, k.nr_pages);
		return;
	}
	pool = hugepool_create(&cfg);
	block = pool ? hugepool_malloc(pool, 256UL << 20) : NULL;
	if (!block) {
		perror("1 GiB pages: hugepool_malloc");
		if (pool)
			hugepool_destroy(pool);
		return;
	}
	memset(block, 0x42, 256UL << 20);
	printf("256 MiB block at %p on a 1 GiB page: KernelPageSize %ld kB\n", (void *)block,
	       page_size_of(block));
	hugepool_free(block);
	hugepool_destroy(pool);
}

int main(void)
{
	struct hugepool_config cfg = { .page_size = 2UL << 20, .min_pages = 8, .max_pages = 64 };
	size_t sizes[8];
	int n = hugepool_page_sizes(sizes, 8);
	struct hugepool *pool;
	char *block;

	printf("hugepool %s; huge page sizes:", hugepool_version());
	for (int i = 0; i < n && i < 8; i++)
		printf(" %zu kB", sizes[i] >> 10);
	printf("\n");

	pool = hugepool_create(&cfg);
	if (!pool) {
		perror("hugepool_create (reserve pages: hugepool-ctl set 2M +64)");
		return 1;
	}
	show("created (min 8)", pool);
	block = hugepool_malloc(pool, 64UL << 20);
	if (!block) {
		perror("hugepool_malloc");
		return 1;
	}
	memset(block, 0x42, 64UL << 20);
	show("64 MiB block in use", pool);
	printf("block at %p: KernelPageSize %ld kB, usable %zu bytes\n", (void *)block,
	       page_size_of(block), hugepool_usable_size(block));
	hugepool_free(block);
	show("freed (pages kept)", pool);
	hugepool_trim(pool);
	show("trimmed to min", pool);
	fflush(stdout);		/* the stats are written with write(2) */
	hugepool_stats_print(pool, 1, 0);
	hugepool_destroy(pool);
	{
		struct hugepool_counters k;

		hugepool_kernel_counters(2UL << 20, HUGEPOOL_NODE_ANY, &k);
		printf("destroyed: kernel free %zu of %zu 2 MiB pages\n", k.free_pages, k.nr_pages);
	}
	gigantic();
	return 0;
}
