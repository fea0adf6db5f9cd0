/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-segments.c - segments: a program's own .bss and text on huge
 * pages (HUGEPOOL_SEGMENTS, issue 15) against the same program as linked,
 * and against transparent huge pages.
 *
 *   seg-bss   a dependent pointer chase over a 512 MiB static array (ns
 *             per hop): the data TLB. 512 MiB, not 1 GiB: the 1 GiB array
 *             needs 512 of the machine's 1024 2 MiB pages, which other
 *             programs are using at the same time.
 *   seg-text  calls wandering over 6 MiB of generated branchy code (ns per
 *             call): the instruction TLB.
 *
 * The workload is bench/hpb-seg-prog (2 MiB segment alignment, so that
 * the whole of both can move). Each worker of this scenario execs it in
 * the peer's place:
 *   glibc             as linked: 4 KiB pages (THP left to the kernel's
 *                     setting, which is madvise here: none);
 *   glibc-thp         with MADV_HUGEPAGE on the array, and MADV_HUGEPAGE +
 *                     MADV_COLLAPSE on its text (file THP for text, where
 *                     the kernel offers it: the pages line says);
 *   hugepool-preload  under LD_PRELOAD=libhugepool.so with
 *                     HUGEPOOL_SEGMENTS=bss (or text): hugetlb 2 MiB pages.
 * Ratios are against hugepool-preload.
 */
#include "hpb.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static int sg_prepare(void)
{
	hpb_metric_add("seg-bss", "random hops over a 512 MiB static .bss array", "ns/hop", false,
		       "hugepool-preload");
	hpb_metric_add("seg-text", "calls over 6 MiB of branchy text", "ns/call", false,
		       "hugepool-preload");
	return 0;
}

static bool sg_applies(const struct hpb_peer *p)
{
	return !strcmp(p->name, "glibc") || !strcmp(p->name, "glibc-thp") ||
	       !strcmp(p->name, "hugepool-preload");
}

static int sg_jobs(void)
{
	return 2;
}

static void sg_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	(void)n1g;
	if (p->kind == HPB_HUGEPOOL_PRELOAD)
		*n2m = job == 0 ? 256 + 8 : 4 + 8;
}

/* exec hpb-seg-prog (next to this program) in the worker's place */
static int sg_worker(struct hpb_alloc *a, int job)
{
	const char *mode = job == 0 ? "bss" : "text";
	bool thp = !strcmp(a->peer->name, "glibc-thp");
	char path[PATH_MAX], self[PATH_MAX];

	snprintf(self, sizeof(self), "%s", hpb_self());
	snprintf(path, sizeof(path), "%s/hpb-seg-prog", dirname(self));
	if (a->peer->kind == HPB_HUGEPOOL_PRELOAD) {
		setenv("HUGEPOOL_SEGMENTS", mode, 1);
	} else {
		unsetenv("LD_PRELOAD");
		unsetenv("HUGEPOOL_SEGMENTS");
	}
	fflush(stdout);
	execle(path, "hpb-seg-prog", mode, thp ? "thp" : "plain", (char *)NULL, environ);
	hpb_fail("exec %s: %s", path, strerror(errno));
	return -1;
}

static void sg_verdict(FILE *out)
{
	static const char *const metrics[] = { "seg-bss", "seg-text" };
	int h = hpb_peer_index(hpb_peer_find("hugepool-preload"));
	int g = hpb_peer_index(hpb_peer_find("glibc"));
	int t = hpb_peer_index(hpb_peer_find("glibc-thp"));

	for (size_t i = 0; i < ARRAY_SIZE(metrics); i++) {
		int m = hpb_metric_find(metrics[i]);
		double hm = hpb_series_median(hpb_series(m, h));
		double gm = hpb_series_median(hpb_series(m, g));
		double tm = hpb_series_median(hpb_series(m, t));

		if (hm <= 0 || gm <= 0)
			continue;
		fprintf(out, "   %s: hugetlb segments %.2fx faster than 4 KiB pages", metrics[i],
			gm / hm);
		if (tm > 0)
			fprintf(out, ", %.2fx against THP", tm / hm);
		fprintf(out, "\n");
	}
}

const struct hpb_scenario hpb_scen_segments = {
	.name = "segments",
	.title = "segments: a program's .bss and text on huge pages (HUGEPOOL_SEGMENTS)",
	.prepare = sg_prepare,
	.applies = sg_applies,
	.jobs = sg_jobs,
	.needs = sg_needs,
	.worker = sg_worker,
	.verdict = sg_verdict,
};
