/* SPDX-License-Identifier: MIT */
/*
 * Description: the small-object heap (lib/heap*.c) through the malloc-like
 * API: every size up to HP_HEAP_MAX on huge pages and owned by its pool,
 * every alignment, calloc after dirty reuse, realloc across classes, the
 * thread cache (last freed first out, bounded, emptied by trim), 64
 * threads holding 16 bytes each in a few pages (not 64), frees from
 * another thread reused by the owner with the pool bounded, everything
 * back at thread exit (live objects freed later by another thread too), a
 * subpool's objects on the subpool's pages, a forked child, and a pool
 * destroyed while another thread still has a heap of it.
 */
#include "api-helpers.h"
#include "heap.h"

#include <pthread.h>
#include <stdalign.h>

static const size_t psz = 2 * MB;

static void sizes(struct hugepool *p)
{
	static void *v[HP_HEAP_MAX + 1];
	size_t n, last = 1;

	for (n = 1; n <= HP_HEAP_MAX; n += n < 512 ? 1 : 61) {
		size_t u;

		last = n;
		v[n] = hugepool_malloc(p, n);
		CHECK(v[n]);
		CHECK((uintptr_t)v[n] % alignof(max_align_t) == 0);
		u = hugepool_usable_size(v[n]);
		CHECK(u >= n && u <= HP_HEAP_MAX);
		pat_fill(v[n], u, n, 1);
		CHECK(hugepool_owner(v[n]) == p);
	}
	CHECK_PAGE_SIZE(v[1], psz);
	CHECK_PAGE_SIZE(v[last], psz);
	for (n = 1; n <= HP_HEAP_MAX; n += n < 512 ? 1 : 61) {
		CHECK(pat_ok(v[n], hugepool_usable_size(v[n]), n, 1));
		hugepool_free(v[n]);
	}
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

static void alignments(struct hugepool *p)
{
	size_t al, n;

	for (al = 1; al <= 64 * KB; al <<= 1) {
		for (n = 1; n <= 3 * al && n <= 64 * KB; n = n * 3 + 1) {
			void *x = hugepool_aligned_alloc(p, al, n);

			CHECK(x);
			CHECK((uintptr_t)x % al == 0);
			CHECK(hugepool_usable_size(x) >= n);
			memset(x, 0x3c, n);
			hugepool_free(x);
		}
	}
	CHECK_EQ(pool_used(p), 0);
}

static void zero_and_realloc(struct hugepool *p)
{
	unsigned char *x, *y;
	size_t n, i, old;

	for (n = 16; n <= 4096; n *= 4) {
		x = hugepool_malloc(p, n);
		memset(x, 0xff, n);
		hugepool_free(x);
		y = hugepool_calloc(p, 1, n);
		CHECK(y == x);	/* the owner's free list hands it back */
		CHECK(all_zero(y, n));
		hugepool_free(y);
	}
	/* grow across every class and past the heap, then shrink: the
	 * bytes that fit stay */
	x = hugepool_malloc(p, 1);
	x[0] = 0;
	for (n = 2, old = 1; n <= 3 * HP_HEAP_MAX; old = n, n += n / 3 + 1) {
		x = hugepool_realloc(p, x, n);
		CHECK(x);
		for (i = 0; i < old; i++)
			CHECK(x[i] == (unsigned char)(i * 31));
		for (i = old; i < n; i++)
			x[i] = (unsigned char)(i * 31);
	}
	for (n = old / 2; n >= 1; n /= 2) {
		x = hugepool_realloc(p, x, n);
		CHECK(x);
		for (i = 0; i < n; i++)
			CHECK(x[i] == (unsigned char)(i * 31));
	}
	hugepool_free(x);
	CHECK_EQ(pool_used(p), 0);
}

static size_t heap_spans(struct hugepool *p)
{
	size_t n;

	hp_pool_lock(p);
	n = p->heap ? p->heap->spans : 0;
	hp_pool_unlock(p);
	return n;
}

/* The thread cache (heap-cache.c): it takes the owner's frees up to its
 * bound (HP_TC_MAX objects of 16 bytes) and hands the last one back
 * first; frees past the bound go to their spans, which then go back to
 * the pool, so a thread that frees many objects holds only the spans the
 * cached ones are in. */
static void thread_cache(struct hugepool *p)
{
	enum { N = 20000 };
	static void *v[N];
	struct hp_theap *th;
	size_t i, n = 0, full;
	void *q;

	for (i = 0; i < N; i++) {
		v[i] = hugepool_malloc(p, 16);
		CHECK(v[i]);
	}
	full = heap_spans(p);
	CHECK(full >= 8);	/* 20000 x 16 B in spans of 32 KiB */
	for (i = 0; i < N; i++)
		hugepool_free(v[i]);
	th = hp_tl_heap;
	CHECK(th && th->pool == p);
	for (q = th->tc[0]; q; q = *(void **)q)
		n++;
	CHECK_EQ(n, HP_TC_MAX);
	CHECK_EQ(th->tc_room[0], 0);
	/* the ring's head and the cached ones' span: the rest went back */
	CHECK(heap_spans(p) <= 2);
	q = hugepool_malloc(p, 16);
	CHECK(q == v[HP_TC_MAX - 1]);
	CHECK_EQ(th->tc_room[0], 1);
	hugepool_free(q);
	CHECK_EQ(pool_used(p), 0);	/* trim empties the cache first */
	CHECK(th->tc[0] == NULL);
	CHECK_EQ(heap_spans(p), 0);
}

/* ------------------------------------------------------------------------
 * threads
 * ------------------------------------------------------------------------ */
struct targ {
	struct hugepool *p;
	void **objs;
	size_t n;
	pthread_barrier_t *bar;
};

static void *hold16(void *arg)
{
	struct targ *t = arg;

	t->objs[0] = hugepool_malloc(t->p, 16);
	pthread_barrier_wait(t->bar);	/* all 64 hold theirs */
	pthread_barrier_wait(t->bar);	/* counted */
	hugepool_free(t->objs[0]);
	return NULL;
}

static void many_threads(struct hugepool *p)
{
	enum { N = 64 };
	pthread_t th[N];
	struct targ a[N];
	void *objs[N];
	pthread_barrier_t bar;
	int i;

	pthread_barrier_init(&bar, NULL, N + 1);
	for (i = 0; i < N; i++) {
		a[i] = (struct targ){ .p = p, .objs = &objs[i], .bar = &bar };
		CHECK(pthread_create(&th[i], NULL, hold16, &a[i]) == 0);
	}
	pthread_barrier_wait(&bar);
	/* 64 spans of 16-byte objects share one page, not 64 */
	CHECK(pool_used(p) <= 3);
	for (i = 0; i < N; i++)
		CHECK(objs[i] && hugepool_owner(objs[i]) == p);
	pthread_barrier_wait(&bar);
	for (i = 0; i < N; i++)
		pthread_join(th[i], NULL);
	CHECK_EQ(pool_used(p), 0);	/* all back at thread exit */
	pthread_barrier_destroy(&bar);
}

static void *free_all(void *arg)
{
	struct targ *t = arg;
	size_t i;

	for (i = 0; i < t->n; i++)
		hugepool_free(t->objs[i]);
	return NULL;
}

/* The owner allocates, another thread frees: the owner takes its objects
 * back from the xfree stacks, so the pool does not grow round after round. */
static void remote_frees(struct hugepool *p)
{
	enum { N = 20000, ROUNDS = 30 };
	static void *objs[N];
	struct targ t = { .p = p, .objs = objs, .n = N };
	size_t first = 0, i;
	int r;

	for (r = 0; r < ROUNDS; r++) {
		pthread_t th;

		for (i = 0; i < N; i++) {
			objs[i] = hugepool_malloc(p, 24 + i % 200);
			CHECK(objs[i]);
			memset(objs[i], (int)r, 24);
		}
		if (r == 0)
			first = pool_used(p);
		CHECK(pthread_create(&th, NULL, free_all, &t) == 0);
		pthread_join(th, NULL);
	}
	CHECK(pool_used(p) <= first + 1);
	CHECK_EQ(pool_used(p), 0);
}

static void *keep_some(void *arg)
{
	struct targ *t = arg;
	size_t i;

	for (i = 0; i < t->n; i++) {
		t->objs[i] = hugepool_malloc(t->p, 8 + i % 1000);
		CHECK(t->objs[i]);
	}
	for (i = 0; i < t->n; i += 2)
		hugepool_free(t->objs[i]);
	return NULL;	/* exits holding every other object */
}

static void thread_exit(struct hugepool *p)
{
	enum { N = 5000 };
	static void *objs[N];
	struct targ t = { .p = p, .objs = objs, .n = N };
	pthread_t th;
	size_t i;

	CHECK(pthread_create(&th, NULL, keep_some, &t) == 0);
	pthread_join(th, NULL);
	CHECK(pool_used(p) > 0);	/* abandoned spans hold the live ones */
	for (i = 1; i < N; i += 2)
		hugepool_free(objs[i]);
	CHECK_EQ(pool_used(p), 0);
	CHECK_POOL(p);
}

static void subpool(struct hugepool *p)
{
	struct hugepool *sp = hugepool_subpool(p, 0, 2);
	void *x, *y;

	CHECK(sp);
	x = hugepool_malloc(sp, 100);
	y = hugepool_malloc(p, 100);
	CHECK(x && y);
	CHECK(hugepool_owner(x) == sp);
	CHECK(hugepool_owner(y) == p);
	CHECK(hp_arena_lookup(x)->slots[hp_slot_index(hp_arena_lookup(x), x)].owner == sp);
	hugepool_free(x);
	hugepool_free(y);
	CHECK_EQ(pool_used(sp), 0);
	CHECK(hugepool_destroy(sp) == 0);
}

static int child_allocs(void *arg)
{
	struct hugepool *p = arg;
	void *v[1000];
	int i;

	for (i = 0; i < 1000; i++) {
		v[i] = hugepool_malloc(p, 32 + i);
		if (!v[i])
			return 1;
		memset(v[i], 0x11, 32 + (size_t)i);
	}
	for (i = 0; i < 1000; i++)
		hugepool_free(v[i]);
	return 0;
}

static void forked(struct hugepool *p)
{
	char *x = hugepool_malloc(p, 40);

	strcpy(x, "parent");
	CHECK_EQ(run_in_child(child_allocs, p, 30), 0);
	CHECK(strcmp(x, "parent") == 0);
	hugepool_free(x);
	CHECK_EQ(pool_used(p), 0);
}

static void *use_pool(void *arg)
{
	struct targ *t = arg;
	void *x = hugepool_malloc(t->p, 64);

	CHECK(x);
	hugepool_free(x);
	pthread_barrier_wait(t->bar);	/* main destroys the pool */
	pthread_barrier_wait(t->bar);
	x = hugepool_malloc(t->objs[0], 64);	/* another pool */
	CHECK(x);
	hugepool_free(x);
	return NULL;
}

static void destroy_under_thread(void)
{
	struct hugepool *a = api_pool(psz, 0, 0, 0), *b = api_pool(psz, 0, 0, 0);
	pthread_barrier_t bar;
	void *objs[1] = { b };
	struct targ t = { .p = a, .objs = objs, .bar = &bar };
	pthread_t th;

	pthread_barrier_init(&bar, NULL, 2);
	CHECK(pthread_create(&th, NULL, use_pool, &t) == 0);
	pthread_barrier_wait(&bar);
	CHECK(hugepool_destroy(a) == 0);
	pthread_barrier_wait(&bar);
	pthread_join(th, NULL);
	CHECK(hugepool_destroy(b) == 0);
	pthread_barrier_destroy(&bar);
}

int main(void)
{
	struct kbase kb = api_begin(psz, 32);
	struct hugepool *p = api_pool(psz, 0, 0, 0);

	sizes(p);
	alignments(p);
	zero_and_realloc(p);
	thread_cache(p);
	many_threads(p);
	remote_frees(p);
	thread_exit(p);
	subpool(p);
	forked(p);
	CHECK(hugepool_destroy(p) == 0);
	destroy_under_thread();
	api_end(&kb);
	return 0;
}
