/* SPDX-License-Identifier: MIT */
/*
 * hpb-peers.c - the allocators hugepool is measured against, both sides:
 *
 *  - parent: which peers are installed (a library on the system's library
 *    path, a huge page size the kernel has, a glibc that knows the
 *    tunable), resolved to the paths the workers preload or dlopen;
 *  - worker: the allocator behind hpb_alloc()/hpb_free(), and a check that
 *    it really is in place. A library that cannot be preloaded is only a
 *    warning to ld.so, which then runs the program on glibc: without the
 *    check a broken peer would be measured as glibc under its name.
 */
#include "hpb.h"

#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <hugepool/hugepool.h>
#include <limits.h>
#include <linux/mman.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* libhugetlbfs.h: huge pages of the default size or NULL */
#define GHR_STRICT	0x10000000UL

struct hpb_peer hpb_peers[] = {
	{ "hugepool", "hugepool_malloc, pool of 2 MiB pages",
	  HPB_HUGEPOOL, NULL, { NULL }, 2 * MB },
	{ "hugepool-1g", "hugepool_malloc, pool of 1 GiB pages",
	  HPB_HUGEPOOL, NULL, { NULL }, GB },
	{ "hugepool-preload", "malloc under LD_PRELOAD=libhugepool.so (threshold 256 KiB)",
	  HPB_HUGEPOOL_PRELOAD, NULL, { NULL }, 2 * MB },
	{ "hugepool-preload-t0", "malloc under LD_PRELOAD=libhugepool.so, HUGEPOOL_THRESHOLD=0 (every malloc)",
	  HPB_HUGEPOOL_PRELOAD, NULL, { "HUGEPOOL_THRESHOLD=0" }, 2 * MB },
	{ "glibc", "glibc malloc, 4 KiB pages (the default)",
	  HPB_GLIBC, NULL, { NULL }, 0 },
	{ "glibc-thp", "glibc, GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (madvise THP)",
	  HPB_GLIBC, NULL, { "GLIBC_TUNABLES=glibc.malloc.hugetlb=1" }, 0 },
	{ "glibc-hugetlb", "glibc, GLIBC_TUNABLES=glibc.malloc.hugetlb=2 (MAP_HUGETLB)",
	  HPB_GLIBC, NULL, { "GLIBC_TUNABLES=glibc.malloc.hugetlb=2" }, 2 * MB },
	{ "jemalloc", "jemalloc (LD_PRELOAD, defaults)",
	  HPB_PRELOAD, "libjemalloc.so.2", { NULL }, 0 },
	{ "mimalloc", "mimalloc (LD_PRELOAD, defaults)",
	  HPB_PRELOAD, "libmimalloc.so.2", { NULL }, 0 },
	/* MIMALLOC_LARGE_OS_PAGES: the name mimalloc 2.0 reads (2.1 also
	 * takes ALLOW_LARGE_OS_PAGES; 2.0.9, Debian 12's, ignores it) */
	{ "mimalloc-large", "mimalloc, MIMALLOC_LARGE_OS_PAGES=1 (2 MiB pages)",
	  HPB_PRELOAD, "libmimalloc.so.2", { "MIMALLOC_LARGE_OS_PAGES=1" }, 2 * MB },
	{ "mimalloc-1g", "mimalloc, MIMALLOC_RESERVE_HUGE_OS_PAGES=N (1 GiB pages)",
	  HPB_PRELOAD, "libmimalloc.so.2", { "MIMALLOC_RESERVE_HUGE_OS_PAGES=%zu" }, GB },
	{ "tcmalloc", "tcmalloc (gperftools, LD_PRELOAD, defaults)",
	  HPB_PRELOAD, "libtcmalloc_minimal.so.4", { NULL }, 0 },
	{ "libhugetlbfs", "libhugetlbfs get_hugepage_region(GHR_STRICT)",
	  HPB_HUGETLBFS, "libhugetlbfs.so.0", { NULL }, 2 * MB },
	{ "mmap-4k", "raw mmap, 4 KiB pages (THP off)",
	  HPB_MMAP, NULL, { NULL }, 4 * KB },
	{ "mmap-2m", "raw mmap MAP_HUGETLB, 2 MiB pages",
	  HPB_MMAP, NULL, { NULL }, 2 * MB },
	{ "mmap-1g", "raw mmap MAP_HUGETLB, 1 GiB pages",
	  HPB_MMAP, NULL, { NULL }, GB },
};

const int hpb_npeers = (int)ARRAY_SIZE(hpb_peers);

struct hpb_peer *hpb_peer_find(const char *name)
{
	int i;

	for (i = 0; i < hpb_npeers; i++)
		if (!strcmp(hpb_peers[i].name, name))
			return &hpb_peers[i];
	return NULL;
}

int hpb_peer_index(const struct hpb_peer *p)
{
	return (int)(p - hpb_peers);
}

/* ------------------------------------------------------------------------
 * parent: what is installed
 * ------------------------------------------------------------------------ */

/* soname in LD_LIBRARY_PATH, libc's own directory (the multiarch one) or
 * the usual places; buf, or NULL */
const char *hpb_find_library(const char *soname, char *buf, size_t len)
{
	static const char *const dirs[] = {
		"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
		"/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
		"/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
	};
	char libcdir[PATH_MAX] = "", llp[4096];
	const char *env = getenv("LD_LIBRARY_PATH");
	Dl_info info;
	char *save, *d;
	size_t i;

	if (env) {
		snprintf(llp, sizeof(llp), "%s", env);
		for (d = strtok_r(llp, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
			snprintf(buf, len, "%s/%s", d, soname);
			if (!access(buf, R_OK))
				return buf;
		}
	}
	if (dladdr((void *)gnu_get_libc_version, &info) && info.dli_fname) {
		char *slash;

		snprintf(libcdir, sizeof(libcdir), "%s", info.dli_fname);
		slash = strrchr(libcdir, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, len, "%s/%s", libcdir, soname);
			if (!access(buf, R_OK))
				return buf;
		}
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(buf, len, "%s/%s", dirs[i], soname);
		if (!access(buf, R_OK))
			return buf;
	}
	return NULL;
}

static bool kernel_has(size_t page_size)
{
	char path[96];

	if (page_size <= 4 * KB)
		return true;
	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB", page_size >> 10);
	return !access(path, F_OK);
}

/* hugepool-preload takes the parent's HUGEPOOL_THRESHOLD (the default
 * threshold's measurement runs the bench at several): its line says so */
static void preload_threshold_desc(void)
{
	static char desc[128];
	const char *t = getenv("HUGEPOOL_THRESHOLD");

	if (!t)
		return;
	snprintf(desc, sizeof(desc),
		 "malloc under LD_PRELOAD=libhugepool.so (HUGEPOOL_THRESHOLD=%.24s, from the environment)",
		 t);
	hpb_peer_find("hugepool-preload")->desc = desc;
}

void hpb_peers_probe(void)
{
	const char *ps = getenv("HUGEPOOL_PAGE_SIZE");
	unsigned int maj = 0, min = 0;
	int i;

	sscanf(gnu_get_libc_version(), "%u.%u", &maj, &min);
	preload_threshold_desc();
	for (i = 0; i < hpb_npeers; i++) {
		struct hpb_peer *p = &hpb_peers[i];

		p->available = true;
		p->why[0] = '\0';
		switch (p->kind) {
		case HPB_HUGEPOOL_PRELOAD:
			/* the preload's page size follows the environment */
			if (ps && (ps[0] == '1' && (ps[1] == 'G' || ps[1] == 'g')))
				p->page_size = GB;
			/* fall through */
		case HPB_HUGEPOOL:
			if (!hpb_opt.lib || access(hpb_opt.lib, R_OK)) {
				p->available = false;
				snprintf(p->why, sizeof(p->why), "libhugepool.so not found (--lib)");
			}
			break;
		case HPB_GLIBC:
			if (p->env[0] && (maj < 2 || (maj == 2 && min < 35))) {
				p->available = false;
				snprintf(p->why, sizeof(p->why),
					 "glibc %u.%u has no glibc.malloc.hugetlb (2.35)", maj, min);
			}
			break;
		case HPB_PRELOAD:
		case HPB_HUGETLBFS:
			if (!hpb_find_library(p->soname, p->path, sizeof(p->path))) {
				p->available = false;
				snprintf(p->why, sizeof(p->why), "not installed (%s)", p->soname);
			}
			break;
		case HPB_MMAP:
			break;
		}
		if (p->available && p->page_size > 4 * KB && !kernel_has(p->page_size)) {
			char sz[16];

			p->available = false;
			snprintf(p->why, sizeof(p->why), "no %s huge pages in this kernel",
				 hpb_size_str(p->page_size, sz, sizeof(sz)));
		}
	}
}

/* ------------------------------------------------------------------------
 * worker: raw mappings
 * ------------------------------------------------------------------------ */
static size_t round_up(size_t n, size_t a)
{
	return (n + a - 1) / a * a;
}

void *hpb_mmap(size_t len, size_t page_size, bool populate)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;
	void *p;

	len = round_up(len, page_size);
	if (page_size > 4 * KB)
		flags |= MAP_HUGETLB | (__builtin_ctzl(page_size) << MAP_HUGE_SHIFT);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (page_size <= 4 * KB)
		madvise(p, len, MADV_NOHUGEPAGE);
	/* MAP_HUGETLB without MAP_NORESERVE has reserved the pages: a
	 * touch cannot SIGBUS; populating is only faster */
	if (populate && madvise(p, len, MADV_POPULATE_WRITE)) {
		int e = errno;

		munmap(p, len);
		errno = e;
		return NULL;
	}
	return p;
}

void hpb_munmap(void *p, size_t len, size_t page_size)
{
	if (p)
		munmap(p, round_up(len, page_size));
}

/* ------------------------------------------------------------------------
 * worker: the allocators
 * ------------------------------------------------------------------------ */
struct hpb_hugepool_api hpb_hp;

int hpb_hugepool_load(void)
{
	void *h = dlopen(hpb_opt.lib, RTLD_NOW | RTLD_LOCAL);

	if (!h) {
		hpb_fail("dlopen %s: %s", hpb_opt.lib, dlerror());
		return -1;
	}
#define SYM(field, name) \
	do { \
		*(void **)&hpb_hp.field = dlsym(h, name); \
		if (!hpb_hp.field) { \
			hpb_fail("%s: no %s", hpb_opt.lib, name); \
			return -1; \
		} \
	} while (0)
	SYM(version, "hugepool_version");
	SYM(create, "hugepool_create");
	SYM(destroy, "hugepool_destroy");
	SYM(malloc, "hugepool_malloc");
	SYM(free, "hugepool_free");
	SYM(page_size, "hugepool_page_size");
	SYM(counters, "hugepool_counters");
	SYM(region_reserve, "hugepool_region_reserve");
	SYM(region_addr, "hugepool_region_addr");
	SYM(region_free, "hugepool_region_free");
	SYM(stats_print, "hugepool_stats_print");
	SYM(trim, "hugepool_trim");
#undef SYM
	/* built without liburing these fail with -ENOSYS; absent is fine */
	*(void **)&hpb_hp.uring_register = dlsym(h, "hugepool_uring_register");
	*(void **)&hpb_hp.uring_unregister = dlsym(h, "hugepool_uring_unregister");
	return 0;
}

static void *hp_alloc(struct hpb_alloc *a, size_t size)
{
	return hpb_hp.malloc(a->pool, size);
}

static void hp_free(struct hpb_alloc *a, void *p, size_t size)
{
	hpb_hp.free(p);
}

static void *libc_alloc(struct hpb_alloc *a, size_t size)
{
	return malloc(size);
}

static void libc_free(struct hpb_alloc *a, void *p, size_t size)
{
	free(p);
}

static void *mmap_alloc(struct hpb_alloc *a, size_t size)
{
	return hpb_mmap(size, a->page_size, false);
}

static void mmap_free(struct hpb_alloc *a, void *p, size_t size)
{
	hpb_munmap(p, size, a->page_size);
}

static void *(*ghr_get)(size_t len, unsigned long flags);
static void (*ghr_free)(void *p);

static void *ghr_alloc(struct hpb_alloc *a, size_t size)
{
	return ghr_get(size, GHR_STRICT);
}

static void ghr_release(struct hpb_alloc *a, void *p, size_t size)
{
	ghr_free(p);
}

/* the library whose malloc this process calls, or "" */
static const char *malloc_owner(void)
{
	void *(*volatile m)(size_t) = malloc;
	Dl_info info;

	if (dladdr((void *)m, &info) && info.dli_fname)
		return info.dli_fname;
	return "";
}

static int check_malloc(const char *want)
{
	const char *owner = malloc_owner();

	if (!strstr(owner, want)) {
		hpb_fail("malloc is %s's, not %s's: the preload did not take", owner, want);
		return -1;
	}
	return 0;
}

int hpb_worker_setup(struct hpb_alloc *a, const struct hpb_peer *peer)
{
	memset(a, 0, sizeof(*a));
	a->peer = peer;
	a->page_size = peer->page_size;
	a->alloc = libc_alloc;
	a->free = libc_free;
	switch (peer->kind) {
	case HPB_HUGEPOOL: {
		struct hugepool_config cfg = { .page_size = peer->page_size };

		if (hpb_hugepool_load())
			return -1;
		a->pool = hpb_hp.create(&cfg);
		if (!a->pool) {
			hpb_fail("hugepool_create (%zu MiB pages): %s", peer->page_size >> 20,
				 strerror(errno));
			return -1;
		}
		a->alloc = hp_alloc;
		a->free = hp_free;
		return 0;
	}
	case HPB_HUGEPOOL_PRELOAD:
		return check_malloc("libhugepool");
	case HPB_GLIBC:
		return check_malloc("libc.so");
	case HPB_PRELOAD: {
		char base[64];

		snprintf(base, sizeof(base), "%.*s", (int)strcspn(peer->soname, "."),
			 peer->soname);
		return check_malloc(base);
	}
	case HPB_HUGETLBFS: {
		void *h = dlopen(peer->soname, RTLD_NOW | RTLD_LOCAL);

		if (!h) {
			hpb_fail("dlopen %s: %s", peer->soname, dlerror());
			return -1;
		}
		*(void **)&ghr_get = dlsym(h, "get_hugepage_region");
		*(void **)&ghr_free = dlsym(h, "free_hugepage_region");
		if (!ghr_get || !ghr_free) {
			hpb_fail("%s: no get_hugepage_region", peer->soname);
			return -1;
		}
		a->alloc = ghr_alloc;
		a->free = ghr_release;
		return 0;
	}
	case HPB_MMAP:
		a->alloc = mmap_alloc;
		a->free = mmap_free;
		return 0;
	}
	return -1;
}
