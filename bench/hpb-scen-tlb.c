/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-tlb.c - tlb: a dependent pointer chase over 1 GiB and 4 GiB
 * (ns per hop): what huge pages buy in random access.
 *
 * The buffer holds one random cycle through all of its 64-byte lines (a
 * cyclic permutation from Sattolo's algorithm), so every hop is a load
 * whose address depends on the previous one, to a line chosen at random
 * from the whole buffer: on 4 KiB pages nearly every hop misses the TLB
 * and walks the page table; on 2 MiB pages 1 GiB is 512 entries; on 1 GiB
 * pages, one.
 *
 * The parent draws each cycle once, into a memfd the workers inherit (the
 * successor of line i is entry i), so every peer chases the same cycle and
 * a worker fills its buffer with one sequential pass. Each run is a worker
 * of its own, in the parent's alternating order: the time of a hop depends
 * on where the pages landed (cache sets, the host's page tables under a
 * virtual machine) and on what else runs, so runs on separate allocations,
 * interleaved with the other peers, give the honest spread.
 *
 * The targets compare hugepool with raw mmap of the same page size. Two
 * workers minutes apart on a busy machine differ by more than the 5% in
 * question, so the verdict uses pairs instead: one worker per run chases
 * hugepool's pages and then fresh raw ones (or the other way round), and
 * the ratio of the two is the figure (the tlb-SIZE-pair metrics).
 *
 * 4 GiB of 2 MiB pages is 2048 pages. When the kernel has fewer free, and
 * --tlb-sizes was not given, a size is scaled down to what leaves an eighth
 * of the free pages (and at least 64) to the other programs on the machine,
 * and the report says so.
 */
#include "hpb.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define LINE		64
#define REP_SECONDS	0.15

static struct {
	size_t size;
	int fd;
	char metric[24], pair_metric[24];
	char size_arg[24], fd_arg[16];
} tlb[4];
static int ntlb;
static char scaled_note[256];

static int build_cycle(size_t size)
{
	size_t n = size / LINE, i;
	uint64_t seed = 0x243f6a8885a308d3ULL ^ size;
	uint32_t *a;
	int fd = memfd_create("hpb-tlb-cycle", 0);	/* inherited by workers */

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)(n * sizeof(*a)))) {
		close(fd);
		return -errno;
	}
	a = mmap(NULL, n * sizeof(*a), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED) {
		close(fd);
		return -errno;
	}
	for (i = 0; i < n; i++)
		a[i] = (uint32_t)i;
	/* Sattolo: j < i, so the permutation is one cycle through all */
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(((hpb_rand(&seed) >> 32) * (uint64_t)i) >> 32);
		uint32_t t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
	munmap(a, n * sizeof(*a));
	return fd;
}

static int tlb_prepare(void)
{
	long free2m = hpb_free_huge(2 * MB), keep = free2m / 8 > 64 ? free2m / 8 : 64;
	size_t maxb = free2m > keep ? (size_t)(free2m - keep) * 2 * MB / (GB / 2) * (GB / 2) : 0;
	char a[16], b[16];
	int i, k;

	ntlb = 0;
	scaled_note[0] = '\0';
	for (i = 0; i < hpb_opt.ntlb && ntlb < (int)ARRAY_SIZE(tlb); i++) {
		size_t s = hpb_opt.tlb_sizes[i] / (2 * MB) * (2 * MB);
		bool dup = false;

		if (!s)
			continue;
		if (!hpb_opt.tlb_sizes_given && s > maxb && maxb >= GB / 2) {
			snprintf(scaled_note + strlen(scaled_note), sizeof(scaled_note) - strlen(scaled_note),
				 "%s%s needs %zu free 2 MiB pages, %ld are free: measured %s instead",
				 scaled_note[0] ? "; " : "", hpb_size_str(s, a, sizeof(a)), s / (2 * MB),
				 free2m, hpb_size_str(maxb, b, sizeof(b)));
			s = maxb;
		}
		for (k = 0; k < ntlb; k++)
			dup |= tlb[k].size == s;
		if (dup)
			continue;
		tlb[ntlb].size = s;
		ntlb++;
	}
	for (i = 0; i < ntlb; i++) {
		char title[96];

		fprintf(stderr, "hugepool-bench: tlb: drawing a random cycle through %s...\n",
			hpb_size_str(tlb[i].size, a, sizeof(a)));
		tlb[i].fd = build_cycle(tlb[i].size);
		if (tlb[i].fd < 0) {
			fprintf(stderr, "hugepool-bench: tlb: %s\n", strerror(-tlb[i].fd));
			return -1;
		}
		snprintf(tlb[i].metric, sizeof(tlb[i].metric), "tlb-%s", a);
		snprintf(tlb[i].size_arg, sizeof(tlb[i].size_arg), "%zu", tlb[i].size);
		snprintf(tlb[i].fd_arg, sizeof(tlb[i].fd_arg), "%d", tlb[i].fd);
		snprintf(title, sizeof(title), "dependent loads, a random cycle through %s in 64 B lines", a);
		hpb_metric_add(tlb[i].metric, title, "ns/hop", false, "hugepool");
	}
	/* then the paired ratios behind the targets (jobs ntlb..), the
	 * verdict's alone */
	for (i = 0; i < ntlb; i++) {
		int m;

		snprintf(tlb[i].pair_metric, sizeof(tlb[i].pair_metric), "%s-pair", tlb[i].metric);
		m = hpb_metric_add(tlb[i].pair_metric, "hugepool / raw mmap of its page size, paired",
				   "x", false, "hugepool");
		if (m >= 0)
			hpb_metric(m)->aux = true;
	}
	return ntlb ? 0 : -1;
}

static void tlb_cleanup(void)
{
	int i;

	for (i = 0; i < ntlb; i++)
		if (tlb[i].fd >= 0)
			close(tlb[i].fd);
}

static bool tlb_applies(const struct hpb_peer *p)
{
	return true;
}

/* jobs 0..ntlb-1: a chase per peer; ntlb..2 ntlb-1: the pairs */
static int tlb_jobs(void)
{
	return 2 * ntlb;
}

static bool tlb_applies_job(const struct hpb_peer *p, int job)
{
	return job < ntlb || p->kind == HPB_HUGEPOOL;
}

static void tlb_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	size_t s = tlb[job % ntlb].size;

	if (p->page_size == 2 * MB)
		*n2m = s / (2 * MB) + 8;
	else if (p->page_size == GB)
		*n1g = (s + GB - 1) / GB + (p->kind == HPB_PRELOAD);
}

static void tlb_job_args(int job, char **argv, int max)
{
	if (max < 6)
		return;
	argv[0] = "--size";
	argv[1] = tlb[job % ntlb].size_arg;
	argv[2] = "--perm-fd";
	argv[3] = tlb[job % ntlb].fd_arg;
	argv[4] = job >= ntlb ? "--pair" : NULL;
	argv[5] = NULL;
}

static volatile uintptr_t sink;

static void *chase(void *p, long n)
{
	for (; n >= 8; n -= 8) {
		p = *(void **)p; p = *(void **)p; p = *(void **)p; p = *(void **)p;
		p = *(void **)p; p = *(void **)p; p = *(void **)p; p = *(void **)p;
	}
	while (n-- > 0)
		p = *(void **)p;
	return p;
}

/* Link the cycle into buf, warm up, and time one run of about
 * REP_SECONDS: ns per hop. */
static double fill_and_chase(char *buf, size_t size, const uint32_t *succ)
{
	size_t n = size / LINE, j;
	long hops, warm = 1L << 18;
	double t0, per;
	void *p = buf;

	for (j = 0; j < n; j++)
		*(char **)(buf + j * LINE) = buf + (size_t)succ[j] * LINE;
	t0 = hpb_now();
	p = chase(p, warm);
	per = (hpb_now() - t0) / (double)warm;
	hops = per > 0 ? (long)(REP_SECONDS / per) : 1L << 22;
	if (hops < 1L << 20)
		hops = 1L << 20;
	if (hops > 1L << 24)
		hops = 1L << 24;
	t0 = hpb_now();
	p = chase(p, hops);
	per = (hpb_now() - t0) / (double)hops * 1e9;
	sink = (uintptr_t)p;
	return per;
}

/*
 * The pair behind the targets: hugepool's pages against raw mmap of the
 * same page size, one after the other in this process (the order flips
 * from run to run), each on fresh pages (the pool gives its pages back
 * between). Slow drift of a busy machine, which moves figures taken
 * seconds apart in separate workers, cancels in the ratio.
 */
static int tlb_pair(struct hpb_alloc *a, size_t size, const uint32_t *succ, const char *metric)
{
	double ns[2] = { 0, 0 };
	int k, side;

	for (k = 0; k < 2; k++) {
		char *buf;

		side = (k + hpb_opt.run) % 2;	/* 0: hugepool, 1: raw */
		buf = side ? hpb_mmap(size, a->page_size, true) : hpb_alloc(a, size);
		if (!buf) {
			hpb_fail("allocating %zu MiB (%s): %m", size >> 20, side ? "mmap" : "hugepool");
			return -1;
		}
		ns[side] = fill_and_chase(buf, size, succ);
		if (side) {
			hpb_munmap(buf, size, a->page_size);
		} else {
			hpb_free(a, buf, size);
			hpb_hp.trim(a->pool);
		}
	}
	hpb_emit(metric, ns[0] / ns[1]);
	return 0;
}

static int tlb_worker(struct hpb_alloc *a, int job)
{
	size_t size = hpb_opt.size, n = size / LINE;
	struct hpb_backing bk = { 0 };
	char metric[32], sz[16], pages[48];
	const uint32_t *succ;
	int r, ret = 0;
	char *buf;

	snprintf(metric, sizeof(metric), "tlb-%s%s", hpb_size_str(size, sz, sizeof(sz)),
		 hpb_opt.pair ? "-pair" : "");
	succ = mmap(NULL, n * sizeof(*succ), PROT_READ, MAP_SHARED, hpb_opt.perm_fd, 0);
	if (!n || succ == MAP_FAILED) {
		hpb_fail("no cycle to chase (--perm-fd %d): %m", hpb_opt.perm_fd);
		return -1;
	}
	if (hpb_opt.pair) {
		if (!a->pool) {
			hpb_fail("--pair is for the hugepool peers");
			return -1;
		}
		for (r = 0; r < hpb_opt.runs && !ret; r++)
			ret = tlb_pair(a, size, succ, metric);
		munmap((void *)succ, n * sizeof(*succ));
		return ret;
	}
	buf = a->peer->kind == HPB_MMAP ? hpb_mmap(size, a->page_size, true) : hpb_alloc(a, size);
	if (!buf) {
		hpb_fail("allocating %s: %m", sz);
		return -1;
	}
	for (r = 0; r < hpb_opt.runs; r++)	/* 1 but for --worker by hand */
		hpb_emit(metric, fill_and_chase(buf, size, succ));
	munmap((void *)succ, n * sizeof(*succ));
	hpb_backing_add(&bk, buf, size);
	hpb_emit_pages(metric, hpb_backing_str(&bk, pages, sizeof(pages)));
	if (a->peer->kind == HPB_MMAP)
		hpb_munmap(buf, size, a->page_size);
	else
		hpb_free(a, buf, size);
	return 0;
}

static double med(int m, const char *peer)
{
	const struct hpb_peer *p = hpb_peer_find(peer);

	return p ? hpb_series_median(hpb_series(m, hpb_peer_index(p))) : 0;
}

/* the paired ratio of peer hp (hugepool on raw's page size) */
static void within(FILE *out, int m, int pm, const char *hp, const char *raw)
{
	const struct hpb_peer *p = hpb_peer_find(hp);
	const struct hpb_series *s = hpb_series(pm, hpb_peer_index(p));
	double a = med(m, hp), b = med(m, raw), r;

	if (!s->n) {
		fprintf(out, "   target: %s within 5%% of %s: no figure (%s)\n", hp, raw,
			s->status[0] ? s->status : p->why[0] ? p->why : "not measured");
		return;
	}
	r = hpb_series_median(s);
	fprintf(out, "   target: %s within 5%% of %s: paired in one process, %+.1f%% [%+.1f .. %+.1f] over %d pairs: %s\n",
		hp, raw, (r - 1) * 100, (hpb_series_min(s) - 1) * 100, (hpb_series_max(s) - 1) * 100,
		s->n, r <= 1.05 ? "met" : "MISSED");
	if (a > 0 && b > 0)
		fprintf(out, "           (the separate workers above: %.0f vs %.0f ns, %+.1f%%)\n", a, b,
			(a / b - 1) * 100);
}

static void tlb_verdict(FILE *out)
{
	int i;

	if (scaled_note[0])
		fprintf(out, "   note: %s (to measure the full sizes, free more 2 MiB pages, or pass --tlb-sizes)\n",
			scaled_note);
	for (i = 0; i < ntlb; i++) {
		int m = hpb_metric_find(tlb[i].metric), pm = hpb_metric_find(tlb[i].pair_metric);
		double g = med(m, "glibc"), h = med(m, "hugepool");

		fprintf(out, "   %s:\n", tlb[i].metric);
		within(out, m, pm, "hugepool", "mmap-2m");
		within(out, m, pm, "hugepool-1g", "mmap-1g");
		if (g > 0 && h > 0)
			fprintf(out, "           a hop on hugepool's pages costs %.0f%% of one on glibc's 4 KiB pages\n",
				h / g * 100);
	}
}

const struct hpb_scenario hpb_scen_tlb = {
	.name = "tlb",
	.title = "tlb: random access, the TLB reach of huge pages",
	.prepare = tlb_prepare,
	.applies = tlb_applies,
	.needs = tlb_needs,
	.jobs = tlb_jobs,
	.applies_job = tlb_applies_job,
	.job_args = tlb_job_args,
	.worker = tlb_worker,
	.verdict = tlb_verdict,
	.cleanup = tlb_cleanup,
};
