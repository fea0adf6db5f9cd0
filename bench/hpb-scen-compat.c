/* SPDX-License-Identifier: MIT */
/*
 * hpb-scen-compat.c - libhugetlbfs-compat: libhugetlbfs's
 * get_hugepage_region(GHR_STRICT)/free_hugepage_region, called through
 * hugepool's libhugetlbfs.so.0 stand-in (the "hugepool" column) and
 * through the real libhugetlbfs (the "libhugetlbfs" column), in the same
 * two workloads as first-write and churn:
 *   compat-first-write  16 blocks of 64 MiB, every byte written, freed,
 *                       again and again (GB/s)
 *   compat-churn        alloc+free pairs of 256 KiB..64 MiB, 8 live,
 *                       untouched, 1 thread (ns per pair)
 * Both columns dlopen a library and call the same two functions: what
 * differs is only what is behind them (a hugepool pool, O(1) free; or an
 * mmap per call and a /proc/self/maps scan per free). The stand-in is
 * found next to --lib: <dir>/../compat/ in the build tree, else
 * <dir>/hugepool/compat/ where it is installed.
 */
#include "hpb.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#define CP_BLOCKS	16
#define CP_BLOCK	(64 * MB)
#define CP_ROUNDS	2
#define CP_LIVE		8
#define CP_SECONDS	0.25
#define CP_STRICT	0x10000000UL	/* GHR_STRICT of <hugetlbfs.h> */

static void *(*cp_get)(size_t len, unsigned long flags);
static void (*cp_free)(void *p);

static int cp_prepare(void)
{
	hpb_metric_add("compat-first-write", "get_hugepage_region: 16 x 64 MiB written, freed",
		       "GB/s", true, "hugepool");
	hpb_metric_add("compat-churn", "get/free_hugepage_region, 256 KiB..64 MiB, 8 live",
		       "ns/pair", false, "hugepool");
	return 0;
}

/* hugepool (through the stand-in) and upstream libhugetlbfs only */
static bool cp_applies(const struct hpb_peer *p)
{
	return !strcmp(p->name, "hugepool") || p->kind == HPB_HUGETLBFS;
}

static void cp_needs(const struct hpb_peer *p, int job, size_t *n2m, size_t *n1g)
{
	(void)p, (void)job, (void)n1g;
	*n2m = CP_BLOCKS * (CP_BLOCK / (2 * MB)) + 8;
}

/* the stand-in beside --lib (build tree, then installed layout) */
static const char *standin_path(char *buf, size_t len)
{
	static const char *const rel[] = { "../compat", "hugepool/compat" };
	char dir[PATH_MAX - 64];	/* room for the relative part */
	char *slash;
	size_t i;

	if (!hpb_opt.lib)
		return NULL;
	snprintf(dir, sizeof(dir), "%s", hpb_opt.lib);
	slash = strrchr(dir, '/');
	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else
		*slash = '\0';
	for (i = 0; i < ARRAY_SIZE(rel); i++) {
		snprintf(buf, len, "%s/%s/libhugetlbfs.so.0", dir, rel[i]);
		if (!access(buf, R_OK))
			return buf;
	}
	return NULL;
}

static int cp_load(const struct hpb_peer *peer)
{
	char path[PATH_MAX];
	const char *lib = peer->kind == HPB_HUGETLBFS ? peer->soname
						       : standin_path(path, sizeof(path));
	void *h;

	if (!lib) {
		hpb_fail("no libhugetlbfs.so.0 stand-in beside %s", hpb_opt.lib);
		return -1;
	}
	h = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		hpb_fail("dlopen %s: %s", lib, dlerror());
		return -1;
	}
	*(void **)&cp_get = dlsym(h, "get_hugepage_region");
	*(void **)&cp_free = dlsym(h, "free_hugepage_region");
	if (!cp_get || !cp_free) {
		hpb_fail("%s: no get_hugepage_region", lib);
		return -1;
	}
	hpb_note("%s: %s", peer->name, lib);
	return 0;
}

static int first_write(void)
{
	char *b[CP_BLOCKS], pages[48] = "";
	double t0 = 0;
	int i, k;

	for (k = -1; k < CP_ROUNDS; k++) {
		if (k == 0)
			t0 = hpb_now();
		for (i = 0; i < CP_BLOCKS; i++) {
			b[i] = cp_get(CP_BLOCK, CP_STRICT);
			if (!b[i]) {
				hpb_fail("get_hugepage_region(64 MiB): %s", strerror(errno));
				return -1;
			}
			memset(b[i], k + 2, CP_BLOCK);
		}
		if (k == -1) {
			struct hpb_backing bk = { 0 };

			for (i = 0; i < CP_BLOCKS; i++)
				hpb_backing_add(&bk, b[i], CP_BLOCK);
			hpb_backing_str(&bk, pages, sizeof(pages));
		}
		for (i = 0; i < CP_BLOCKS; i++)
			cp_free(b[i]);
	}
	hpb_emit_pages("compat-first-write", pages);
	hpb_emit("compat-first-write",
		 (double)CP_ROUNDS * CP_BLOCKS * CP_BLOCK / (hpb_now() - t0) / 1e9);
	return 0;
}

/* pairs for about CP_SECONDS after as long a warm-up; ns per pair */
static int churn(void)
{
	void *blk[CP_LIVE] = { NULL };
	uint64_t seed = 0x5eed + (uint64_t)hpb_opt.run;
	unsigned long n = 0, i = 0;
	double t0, t = 0;
	int warm;

	for (warm = 1; warm >= 0; warm--) {
		n = 0;
		t0 = hpb_now();
		do {
			unsigned int k = (unsigned int)(i++ % CP_LIVE);

			if (blk[k])
				cp_free(blk[k]);
			blk[k] = cp_get(hpb_rand_size(&seed, 256 * KB, 64 * MB), CP_STRICT);
			if (!blk[k]) {
				hpb_fail("get_hugepage_region: %s", strerror(errno));
				return -1;
			}
			n++;
			t = hpb_now() - t0;
		} while (t < CP_SECONDS);
	}
	for (i = 0; i < CP_LIVE; i++)
		cp_free(blk[i]);
	hpb_emit("compat-churn", t / (double)n * 1e9);
	return 0;
}

static int cp_worker(struct hpb_alloc *a, int job)
{
	(void)job;
	if (cp_load(a->peer))
		return -1;
	return first_write() || churn() ? -1 : 0;
}

static void cp_verdict(FILE *out)
{
	hpb_verdict_ahead(out, hpb_metric_find("compat-first-write"), "first-write");
	hpb_verdict_ahead(out, hpb_metric_find("compat-churn"), "churn");
}

const struct hpb_scenario hpb_scen_compat = {
	.name = "libhugetlbfs-compat",
	.title = "libhugetlbfs-compat: get_hugepage_region, stand-in against libhugetlbfs",
	.prepare = cp_prepare,
	.applies = cp_applies,
	.needs = cp_needs,
	.worker = cp_worker,
	.verdict = cp_verdict,
};
