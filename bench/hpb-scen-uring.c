/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-uring.c - uring: registering 1 GiB of io_uring fixed buffers
 * (1024 x 1 MiB) from each peer's memory (ms).
 *
 * The kernel pins every page of a registered buffer, one page at a time:
 * 262144 for 1 GiB of 4 KiB pages, 512 of 2 MiB pages, one of a 1 GiB page
 * (coalesced since 6.3). hugepool registers a populated region with
 * hugepool_uring_register (its own checks included); every other peer's
 * 1 GiB is allocated, written in full (so the kernel only has to pin, not
 * fault) and registered with io_uring_register_buffers. One registration
 * warms up, then each run registers and unregisters once.
 *
 * This is the registration half of bench/bench-uring (which also measures
 * O_DIRECT reads into the buffers: disk-bound, the same for every peer).
 * Pinning 1 GiB needs RLIMIT_MEMLOCK >= 1 GiB or CAP_IPC_LOCK.
 */
#include "hpb.h"

#include <errno.h>
#include <hugepool/hugepool.h>
#include <stdlib.h>
#include <string.h>

#define UR_SIZE		GB
#define UR_BUF		MB

#if HPB_HAVE_URING
#include <liburing.h>

static int ur_prepare(void)
{
	hpb_metric_add("uring", "io_uring_register_buffers of 1 GiB as 1024 x 1 MiB", "ms", false,
		       "hugepool");
	return 0;
}

static bool ur_applies(const struct hpb_peer *p)
{
	return true;
}

static void ur_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	if (p->page_size == 2 * MB)
		*n2m = UR_SIZE / (2 * MB) + 8;
	else if (p->page_size == GB)
		*n1g = 1 + (p->kind == HPB_PRELOAD);
}

static int ur_worker(struct hpb_alloc *a, int job)
{
	struct hugepool_region *r = NULL;
	struct iovec *iov = NULL;
	struct hpb_backing bk = { 0 };
	struct io_uring ring;
	char *p = NULL, pages[48];
	int ret, i, k;
	double t0;

	ret = io_uring_queue_init(4, &ring, 0);
	if (ret < 0) {
		hpb_fail("io_uring_queue_init: %s", strerror(-ret));
		return -1;
	}
	if (a->pool) {
		if (!hpb_hp.uring_register) {
			hpb_fail("libhugepool built without io_uring");
			return -1;
		}
		r = hpb_hp.region_reserve(a->pool, UR_SIZE, HUGEPOOL_REGION_POPULATE);
		if (!r) {
			hpb_fail("hugepool_region_reserve 1 GiB: %m");
			return -1;
		}
		p = hpb_hp.region_addr(r);
	} else {
		p = a->peer->kind == HPB_MMAP ? hpb_mmap(UR_SIZE, a->page_size, true) :
		    hpb_alloc(a, UR_SIZE);
		if (!p) {
			hpb_fail("allocating 1 GiB: %m");
			return -1;
		}
		memset(p, 0x5a, UR_SIZE);
		iov = calloc(UR_SIZE / UR_BUF, sizeof(*iov));
		if (!iov)
			return -1;
		for (i = 0; i < (int)(UR_SIZE / UR_BUF); i++) {
			iov[i].iov_base = p + (size_t)i * UR_BUF;
			iov[i].iov_len = UR_BUF;
		}
	}
	hpb_backing_add(&bk, p, UR_SIZE);
	hpb_emit_pages("uring", hpb_backing_str(&bk, pages, sizeof(pages)));
	for (k = -1; k < hpb_opt.runs; k++) {
		t0 = hpb_now();
		if (r)
			ret = hpb_hp.uring_register(&ring, r, UR_BUF);
		else
			ret = io_uring_register_buffers(&ring, iov, UR_SIZE / UR_BUF);
		if (ret < 0) {
			hpb_fail("registering 1 GiB: %s%s", strerror(-ret),
				 ret == -ENOMEM ? " (RLIMIT_MEMLOCK: run as root or ulimit -l)" : "");
			return -1;
		}
		if (k >= 0)
			hpb_emit("uring", (hpb_now() - t0) * 1e3);
		if (r)
			ret = hpb_hp.uring_unregister(&ring, r);
		else
			ret = io_uring_unregister_buffers(&ring);
		if (ret < 0) {
			hpb_fail("unregistering: %s", strerror(-ret));
			return -1;
		}
	}
	io_uring_queue_exit(&ring);
	if (r)
		hpb_hp.region_free(r);
	else if (a->peer->kind == HPB_MMAP)
		hpb_munmap(p, UR_SIZE, a->page_size);
	else
		hpb_free(a, p, UR_SIZE);
	free(iov);
	return 0;
}

static void ur_verdict(FILE *out)
{
	int m = hpb_metric_find("uring");
	const struct hpb_peer *h = hpb_peer_find("hugepool"), *g = hpb_peer_find("glibc");
	double hm = hpb_series_median(hpb_series(m, hpb_peer_index(h)));
	double gm = hpb_series_median(hpb_series(m, hpb_peer_index(g)));

	if (hm > 0 && gm > 0)
		fprintf(out, "   registration from hugepool is %.1fx faster than from glibc's 4 KiB pages (issue 6 asked >= 3x)\n",
			gm / hm);
}
#else
static int ur_prepare(void)
{
	fprintf(stderr, "hugepool-bench: uring: built without liburing\n");
	return -1;
}

static bool ur_applies(const struct hpb_peer *p)
{
	return false;
}

static int ur_worker(struct hpb_alloc *a, int job)
{
	hpb_fail("built without liburing");
	return -1;
}

#define ur_needs NULL
#define ur_verdict NULL
#endif

const struct hpb_scenario hpb_scen_uring = {
	.name = "uring",
	.title = "uring: io_uring fixed-buffer registration",
	.prepare = ur_prepare,
	.applies = ur_applies,
	.needs = ur_needs,
	.inner_runs = true,
	.worker = ur_worker,
	.verdict = ur_verdict,
};
