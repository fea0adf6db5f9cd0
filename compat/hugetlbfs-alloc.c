/* SPDX-License-Identifier: MIT */
/*
 * hugetlbfs-alloc.c - libhugetlbfs's direct allocators on hugepool pools:
 * get_huge_pages/free_huge_pages and get_hugepage_region/
 * free_hugepage_region.
 *
 * Each page size has one pool of its own (created at the first call, from
 * the HUGEPOOL_* options, without base-page fallback and without
 * HUGEPOOL_MIN: the process default pool keeps those), so that GHR_STRICT
 * can never be handed base pages and the malloc heap's pool is left alone.
 * Pages are populated when the pool takes them: running out is NULL and
 * ENOMEM here, never a SIGBUS at first touch. Free is O(1) from the pool's
 * own metadata, where libhugetlbfs parsed /proc/self/maps. GHR_FALLBACK's
 * base-page mappings (rare by nature) are kept on a short list.
 */
#include "compat.h"

#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define COMPAT_CACHELINE	64

static struct hugepool *compat_pools[HP_MAX_HSTATES];
static pthread_mutex_t compat_lock = PTHREAD_MUTEX_INITIALIZER;

/* The pool of page size size (a size of this kernel), or NULL + errno. */
static struct hugepool *compat_pool(size_t size)
{
	struct hugepool_config cfg;
	struct hugepool *p = NULL;
	int i;

	for (i = 0; i < hp_hstate_count() && hp_hstate_get(i)->size != size; i++)
		;
	if (i == hp_hstate_count()) {
		errno = EINVAL;
		return NULL;
	}
	if ((p = __atomic_load_n(&compat_pools[i], __ATOMIC_ACQUIRE)))
		return p;
	pthread_mutex_lock(&compat_lock);
	if (!(p = compat_pools[i])) {
		hp_options_config(&hp_opt, &cfg);
		cfg.page_size = size;
		cfg.min_pages = 0;
		cfg.flags = 0;
		p = hugepool_create(&cfg);
		if (p)
			__atomic_store_n(&compat_pools[i], p, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&compat_lock);
	return p;
}

/* len rounded up to whole pages of size, zeroed and page aligned. */
static void *compat_huge_alloc(size_t len, size_t size)
{
	struct hugepool *pool = compat_pool(size);
	size_t rounded;
	void *p;

	if (!pool)
		return NULL;
	if (!len || __builtin_add_overflow(len, size - 1, &rounded)) {
		errno = len ? ENOMEM : EINVAL;
		return NULL;
	}
	rounded &= ~(size - 1);
	/* whole pages are a run of the pool's, which starts on a page */
	p = hugepool_calloc(pool, 1, rounded);
	if (p && ((uintptr_t)p & (size - 1))) {
		hugepool_free(p);
		hp_log(0, "error: pool run at %p is not page aligned", p);
		errno = EFAULT;
		return NULL;
	}
	return p;
}

COMPAT_EXPORT void *get_huge_pages(size_t len, ghp_t flags)
{
	size_t size = compat_default_size();

	if (flags & ~GHP_MASK) {
		errno = EINVAL;
		return NULL;
	}
	if (!size) {
		errno = ENOSYS;
		return NULL;
	}
	return compat_huge_alloc(len, size);
}

/* The pool block a pointer of ours lies in: blocks start on a page and a
 * coloured pointer is less than a page past the start. */
static void *block_start(void *ptr, struct hugepool **pool)
{
	*pool = hugepool_owner(ptr);
	if (!*pool)
		return NULL;
	return (void *)((uintptr_t)ptr & ~(hugepool_page_size(*pool) - 1));
}

COMPAT_EXPORT void free_huge_pages(void *ptr)
{
	struct hugepool *pool;
	void *start = block_start(ptr, &pool);

	if (!start || start != ptr) {
		hp_log(0, "error: free_huge_pages(%p): not from get_huge_pages; ignored", ptr);
		return;
	}
	hugepool_free(ptr);
}

/* ------------------------------------------------------------------------
 * get_hugepage_region: colour and base-page fallback
 * ------------------------------------------------------------------------ */
struct compat_fallback {
	void *addr;
	size_t len;
	struct compat_fallback *next;
};
static struct compat_fallback *fallbacks;
static unsigned long fallback_count;

/* A random cache line of the slack (0 when there is none): splitmix64 of
 * a counter, seeded once from getrandom. Not for secrets: it only spreads
 * buffers over cache sets. */
static size_t colour_offset(size_t slack)
{
	static uint64_t seed, ctr;
	uint64_t z;
	size_t lines = slack / COMPAT_CACHELINE;

	if (!lines)
		return 0;
	if (!__atomic_load_n(&seed, __ATOMIC_RELAXED)) {
		uint64_t s = 0;

		if (hp_sys_getrandom(&s, sizeof(s)) || !s)
			s = hp_now_ms() | 1;
		__atomic_store_n(&seed, s, __ATOMIC_RELAXED);
	}
	z = __atomic_add_fetch(&ctr, 1, __ATOMIC_RELAXED) * 0x9e3779b97f4a7c15ULL + seed;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	return (size_t)(z % (lines + 1)) * COMPAT_CACHELINE;
}

/* Base pages for GHR_FALLBACK: said once, counted, and remembered so that
 * free_hugepage_region can find the mapping's length. */
static void *fallback_alloc(size_t len)
{
	struct compat_fallback *f = hp_meta_zalloc(sizeof(*f));
	long base = sysconf(_SC_PAGESIZE);
	void *p;
	int ret;

	if (!f) {
		errno = ENOMEM;
		return NULL;
	}
	f->len = (len + (size_t)base - 1) & ~((size_t)base - 1);
	ret = hp_sys_mmap(NULL, f->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
			  0, &p);
	if (ret) {
		hp_meta_free(f, sizeof(*f));
		errno = -ret;
		return NULL;
	}
	f->addr = p;
	pthread_mutex_lock(&compat_lock);
	f->next = fallbacks;
	fallbacks = f;
	if (!fallback_count++)
		hp_log(0, "warning: get_hugepage_region: no huge page to be had; GHR_FALLBACK "
		       "gives base pages (said once)");
	pthread_mutex_unlock(&compat_lock);
	return p;
}

/* Unmap and forget the fallback mapping starting at ptr: true if it was one. */
static bool fallback_free(void *ptr)
{
	struct compat_fallback **pp, *f = NULL;

	pthread_mutex_lock(&compat_lock);
	for (pp = &fallbacks; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == ptr) {
			f = *pp;
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&compat_lock);
	if (!f)
		return false;
	hp_sys_munmap(f->addr, f->len);
	hp_meta_free(f, sizeof(*f));
	return true;
}

COMPAT_EXPORT void *get_hugepage_region(size_t len, ghr_t flags)
{
	size_t size = compat_default_size(), rounded;
	char *p;

	if ((flags & ~GHR_MASK) || ((flags & GHR_STRICT) && (flags & GHR_FALLBACK))) {
		errno = EINVAL;
		return NULL;
	}
	if (!len) {
		errno = EINVAL;
		return NULL;
	}
	p = size ? compat_huge_alloc(len, size) : (errno = ENOSYS, NULL);
	if (!p)		/* no page to be had; a bad length stays an error */
		return (flags & GHR_FALLBACK) && errno != EINVAL ? fallback_alloc(len) : NULL;
	rounded = (len + size - 1) & ~(size - 1);
	if (flags & GHR_COLOR)
		p += colour_offset(rounded - len);
	return p;
}

COMPAT_EXPORT void free_hugepage_region(void *ptr)
{
	struct hugepool *pool;
	void *start;

	if (!ptr || fallback_free(ptr))
		return;
	start = block_start(ptr, &pool);
	if (!start) {
		hp_log(0, "error: free_hugepage_region(%p): not from get_hugepage_region; "
		       "ignored", ptr);
		return;
	}
	hugepool_free(start);
}
