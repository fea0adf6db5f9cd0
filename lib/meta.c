/* SPDX-License-Identifier: MIT */
/*
 * meta.c - memory for hugepool's own metadata (pools, regions, resv_map
 * descriptors, granule maps). It never calls malloc: when libhugepool.so is
 * the process malloc, metadata allocation must not recurse into it. Small
 * objects come from power-of-two size classes carved out of 64 KiB chunks
 * taken from the kernel; big ones are mapped directly.
 */
#include "internal.h"

#include <string.h>
#include <sys/mman.h>

#define META_CHUNK	(64 * 1024)
#define META_MIN_SHIFT	4		/* 16 bytes */
#define META_MAX_SHIFT	12		/* 4 KiB; larger goes to hp_meta_map */
#define META_CLASSES	(META_MAX_SHIFT - META_MIN_SHIFT + 1)

struct meta_free {
	struct meta_free *next;
};

static pthread_mutex_t meta_lock = PTHREAD_MUTEX_INITIALIZER;
static struct meta_free *meta_bins[META_CLASSES];
static char *meta_cur;		/* bump area of the current chunk */
static size_t meta_left;

static unsigned int meta_class(size_t size)
{
	unsigned int c = 0;

	while (((size_t)1 << (c + META_MIN_SHIFT)) < size)
		c++;
	return c;
}

void *hp_meta_map(size_t size)
{
	void *p;

	if (hp_sys_mmap(NULL, HP_ALIGN_UP(size, 4096), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0, &p))
		return NULL;
	return p;
}

void hp_meta_unmap(void *p, size_t size)
{
	if (p && hp_sys_munmap(p, HP_ALIGN_UP(size, 4096)))
		hp_release_mapping(p, HP_ALIGN_UP(size, 4096));
}

/*
 * Unmap [p, p + len) after munmap of it failed. munmap of whole mappings
 * does not fail in practice, but if it does (an injected fault; a range
 * that would split a mapping at vm.max_map_count), what the range holds
 * must still go back: one placeholder mapped over the whole range replaces
 * every mapping in it, which gives their pages back, and is then unmapped
 * itself. Found by tests/fault: a failed munmap in hugepool_destroy kept
 * every page of the pool mapped for good.
 */
void hp_release_mapping(void *p, size_t len)
{
	void *q;

	if (!hp_sys_mmap(p, len, PROT_NONE, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS |
			 MAP_NORESERVE, -1, 0, &q))
		hp_sys_munmap(p, len);
}

void *hp_meta_zalloc(size_t size)
{
	return hp_meta_alloc_part(size, size);
}

/* size bytes of which the first zero are zeroed: a record whose tail is
 * written before it is read (the MIXED page's req[]) is not cleared on
 * every reuse. */
void *hp_meta_alloc_part(size_t size, size_t zero)
{
	unsigned int c;
	size_t csize;
	void *p;

	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << META_MAX_SHIFT))
		return hp_meta_map(size);
	c = meta_class(size);
	csize = (size_t)1 << (c + META_MIN_SHIFT);

	pthread_mutex_lock(&meta_lock);
	if (meta_bins[c]) {
		p = meta_bins[c];
		meta_bins[c] = meta_bins[c]->next;
		pthread_mutex_unlock(&meta_lock);
		memset(p, 0, zero < csize ? zero : csize);
		return p;
	}
	if (meta_left < csize) {
		/* the tail of the old chunk is lost: a few KiB at most, once */
		char *chunk = hp_meta_map(META_CHUNK);

		if (!chunk) {
			pthread_mutex_unlock(&meta_lock);
			return NULL;
		}
		meta_cur = chunk;
		meta_left = META_CHUNK;
	}
	p = meta_cur;
	meta_cur += csize;
	meta_left -= csize;
	pthread_mutex_unlock(&meta_lock);
	return p;	/* fresh chunk memory is zero */
}

void hp_meta_free(void *p, size_t size)
{
	unsigned int c;
	struct meta_free *f = p;

	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << META_MAX_SHIFT)) {
		hp_meta_unmap(p, size);
		return;
	}
	c = meta_class(size);
	pthread_mutex_lock(&meta_lock);
	f->next = meta_bins[c];
	meta_bins[c] = f;
	pthread_mutex_unlock(&meta_lock);
}

/* fork: the child must not inherit a held meta_lock */
static void meta_atfork_prepare(void)
{
	pthread_mutex_lock(&meta_lock);
}

static void meta_atfork_parent(void)
{
	pthread_mutex_unlock(&meta_lock);
}

static void meta_atfork_child(void)
{
	pthread_mutex_init(&meta_lock, NULL);
}

__attribute__((constructor(102))) static void meta_ctor(void)
{
	hp_atfork_register(HP_LAYER_META, meta_atfork_prepare, meta_atfork_parent,
			   meta_atfork_child);
}
