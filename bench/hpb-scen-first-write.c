/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-first-write.c - first-write: allocate 1 GiB as 16 blocks of
 * 64 MiB, write every byte, free them; again and again (GB/s).
 *
 * What a program pays for fresh memory: an allocator that hands the same
 * 64 MiB back from one round to the next writes at memory bandwidth; one
 * that maps and unmaps it (glibc above its mmap threshold) faults and the
 * kernel zeroes every page first, on 4 KiB pages 262144 faults per GiB.
 * One round warms up (a pool fills, the kernel's pages are found); the
 * figure is the rounds after it.
 *
 * The raw mmap rows are the ceiling, not an allocator: 1 GiB mapped and
 * populated once with that page size, handed out as the same 16 slices
 * every round, so they measure only the writes (memset bandwidth over
 * resident memory). Nothing that allocates can beat them; glibc on 4 KiB
 * pages is the floor. So "10x glibc" can only be met where the ceiling is
 * at least 10x the floor; the verdict prints both.
 */
#include "hpb.h"

#include <stdlib.h>
#include <string.h>

#define FW_BLOCKS	16
#define FW_BLOCK	(64 * MB)
#define FW_ROUNDS	2		/* timed rounds per run, after one warm-up */

static int fw_prepare(void)
{
	hpb_metric_add("first-write", "1 GiB as 16 x 64 MiB: allocate, write every byte, free; repeated",
		       "GB/s", true, "hugepool");
	return 0;
}

static bool fw_applies(const struct hpb_peer *p)
{
	return true;
}

static void fw_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	if (p->page_size == 2 * MB)
		*n2m = FW_BLOCKS * (FW_BLOCK / (2 * MB) + 1) + 8;	/* a header page per block */
	else if (p->page_size == GB)
		*n1g = p->kind == HPB_PRELOAD ? 2 : 1;
}

static int fw_worker(struct hpb_alloc *a, int job)
{
	char *b[FW_BLOCKS], *ceiling = NULL, pages[48] = "";
	double t0 = 0, t;
	int k, i;

	if (a->peer->kind == HPB_MMAP) {
		ceiling = hpb_mmap(FW_BLOCKS * FW_BLOCK, a->page_size, true);
		if (!ceiling) {
			hpb_fail("mmap 1 GiB of %zu KiB pages: %m", a->page_size >> 10);
			return -1;
		}
	}
	for (k = -1; k < FW_ROUNDS; k++) {
		if (k == 0)
			t0 = hpb_now();
		for (i = 0; i < FW_BLOCKS; i++) {
			b[i] = ceiling ? ceiling + (size_t)i * FW_BLOCK : hpb_alloc(a, FW_BLOCK);
			if (!b[i]) {
				hpb_fail("64 MiB allocation failed in round %d: %m", k + 1);
				return -1;
			}
			memset(b[i], k + i + 2, FW_BLOCK);
		}
		if (k == -1) {
			struct hpb_backing bk = { 0 };

			for (i = 0; i < FW_BLOCKS; i++)
				hpb_backing_add(&bk, b[i], FW_BLOCK);
			hpb_backing_str(&bk, pages, sizeof(pages));
		}
		if (!ceiling)
			for (i = 0; i < FW_BLOCKS; i++)
				hpb_free(a, b[i], FW_BLOCK);
	}
	t = hpb_now() - t0;
	hpb_emit_pages("first-write", pages);
	hpb_emit("first-write", (double)FW_ROUNDS * FW_BLOCKS * FW_BLOCK / t / 1e9);
	return 0;
}

static double med(const char *peer)
{
	const struct hpb_peer *p = hpb_peer_find(peer);
	int m = hpb_metric_find("first-write");

	if (!p || m < 0)
		return 0;
	return hpb_series_median(hpb_series(m, hpb_peer_index(p)));
}

static void fw_verdict(FILE *out)
{
	double hp = med("hugepool"), gl = med("glibc"), ceil2m = med("mmap-2m");
	double ceil4k = med("mmap-4k");
	int m = hpb_metric_find("first-write");

	if (hp <= 0 || m < 0) {
		fprintf(out, "   target: no hugepool figure\n");
		return;
	}
	if (gl > 0) {
		fprintf(out, "   target: >= 10x glibc: %.1fx: %s\n", hp / gl, hp >= 10 * gl ? "met" : "MISSED");
		if (ceil2m > 0 || ceil4k > 0) {
			double c = ceil2m > ceil4k ? ceil2m : ceil4k;

			fprintf(out, "           the ceiling (writes alone, resident memory) is %.1fx glibc here%s\n",
				c / gl, c < 10 * gl ? ": 10x cannot be reached on this machine" : "");
		}
	}
	hpb_verdict_ahead(out, m, "first-write");
	if (ceil2m > 0)
		fprintf(out, "           hugepool reaches %.0f%% of the 2 MiB ceiling\n", hp / ceil2m * 100);
}

const struct hpb_scenario hpb_scen_first_write = {
	.name = "first-write",
	.title = "first-write: fresh memory, written in full",
	.prepare = fw_prepare,
	.applies = fw_applies,
	.needs = fw_needs,
	.worker = fw_worker,
	.verdict = fw_verdict,
};
