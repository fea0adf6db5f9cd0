/* SPDX-License-Identifier: MIT */
/*
 * bench-decay.c - how long should unused surplus pages stay in a pool?
 * A program frees 64 MiB and allocates it again after a gap; with a decay
 * shorter than the gap the pages went back to the kernel and are faulted
 * (and zeroed) again. For each decay time and gap this prints the median
 * cost of the re-allocation plus first write, and how long the memory was
 * held after the program stopped using it. The default (HP_DEFAULT_DECAY_MS
 * in lib/options.c) is chosen from this table.
 */
#include <hugepool/hugepool.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64UL << 20)
#define RUNS 5

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(void)
{
	long decays[] = { 0, 100, 1000, 10000 };
	long gaps[] = { 1, 50, 500, 2000 };
	struct hugepool_config cfg = { .page_size = 2UL << 20 };

	printf("re-allocating and writing 64 MiB after a gap (median of %d, microseconds)\n", RUNS);
	printf("%10s", "decay\\gap");
	for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++)
		printf("  %7ld ms", gaps[g]);
	printf("   held after last free\n");
	for (size_t d = 0; d < sizeof(decays) / sizeof(decays[0]); d++) {
		struct hugepool *p = hugepool_create(&cfg);
		double held_ms;

		if (!p) {
			perror("hugepool_create");
			return 1;
		}
		hugepool_set_decay_ms(p, decays[d]);
		printf("%7ld ms", decays[d]);
		for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
			double t[RUNS];

			for (int r = 0; r < RUNS; r++) {
				char *b = hugepool_malloc(p, BLOCK);
				double t0;

				if (!b)
					return 1;
				memset(b, 1, BLOCK);
				hugepool_free(b);
				usleep((useconds_t)gaps[g] * 1000);
				t0 = now_us();
				b = hugepool_malloc(p, BLOCK);
				if (!b)
					return 1;
				memset(b, 2, BLOCK);
				t[r] = now_us() - t0;
				hugepool_free(b);
			}
			qsort(t, RUNS, sizeof(t[0]), cmp);
			printf("  %10.0f", t[RUNS / 2]);
			fflush(stdout);
		}
		/* how long until the pool holds nothing after the last free */
		{
			double t0 = now_us();
			struct hugepool_counters c;

			do {
				usleep(10000);
				hugepool_counters(p, HUGEPOOL_NODE_ANY, &c);
			} while (c.nr_pages && now_us() - t0 < 30e6);
			held_ms = (now_us() - t0) / 1e3;
		}
		printf("   %8.0f ms\n", held_ms);
		hugepool_destroy(p);
	}
	return 0;
}
