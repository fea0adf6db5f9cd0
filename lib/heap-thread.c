/* SPDX-License-Identifier: MIT */
/*
 * heap-thread.c - per-thread heaps (struct hp_theap): one per thread and
 * pool, found through thread-local storage, and what becomes of their
 * spans when the thread exits, the process forks or the pool goes.
 *
 *  - Thread exit (a pthread key's destructor): empty spans go back to the
 *    pool; spans with live objects are abandoned to the pool, where the
 *    next thread that needs their class adopts them, and where a free
 *    into them takes the pool lock instead of the (gone) owner's path.
 *    A thread that allocates after its destructor ran (another key's
 *    destructor calling malloc) gets granule blocks instead: nothing would
 *    ever abandon a heap made that late.
 *  - fork: the child has only the forking thread. The other threads'
 *    heaps are left as they were, unused: one of them may have been
 *    stopped half-way through a list update, so nothing of theirs is
 *    trusted; their spans are held (a leak bounded by what those threads
 *    held), and frees into them go to the spans' xfree stacks.
 *  - Pool destroy: every heap of the pool is marked dead (the pool's pages
 *    are going anyway); each thread drops its dead heaps the next time it
 *    looks, or at exit.
 *
 * TLS is initial-exec (a few pointers), so that looking up a heap never
 * calls into the dynamic linker, which can call malloc.
 */
#include "heap.h"

#include <pthread.h>

#define TH_TLS	__attribute__((tls_model("initial-exec")))

__thread struct hp_theap *hp_tl_heap TH_TLS;
static __thread struct hp_theap *tl_heaps TH_TLS;	/* all of this thread's */
static __thread bool tl_exiting TH_TLS;

static pthread_key_t theap_key;
static bool theap_key_ok;
static pthread_once_t theap_once = PTHREAD_ONCE_INIT;

static void theap_exit(void *arg);

static const struct hp_theap_client *client;

void hp_theap_set_client(const struct hp_theap_client *c)
{
	client = c;
}

static void client_drop(struct hp_theap *th, bool child)
{
	if (client && th->large)
		client->drop(th, child);
}

static void theap_key_init(void)
{
	theap_key_ok = pthread_key_create(&theap_key, theap_exit) == 0;
}

/* ------------------------------------------------------------------------
 * abandoned spans (pool lock held)
 * ------------------------------------------------------------------------ */
static void span_link(struct hp_span **head, struct hp_span *sp)
{
	sp->prev = NULL;
	sp->next = *head;
	if (*head)
		(*head)->prev = sp;
	*head = sp;
}

static void span_unlink(struct hp_span **head, struct hp_span *sp)
{
	if (sp->prev)
		sp->prev->next = sp->next;
	else
		*head = sp->next;
	if (sp->next)
		sp->next->prev = sp->prev;
	sp->next = sp->prev = NULL;
}

/* The span's thread is gone: empty, it goes back; else the pool keeps it
 * for the next thread that needs its class. */
void hp_theap_abandon_span(struct hp_span *sp)
{
	if (hp_span_private(sp)) {
		hp_span_collect(sp);
		if (!sp->used) {
			hp_span_release(sp);
			return;
		}
	}
	__atomic_store_n(&sp->owner, NULL, __ATOMIC_RELEASE);
	sp->abandoned = true;
	span_link(&sp->pool->heap->abandoned[sp->cls], sp);
}

/* An abandoned span of cls with a free object, made this thread's to own
 * by the caller (lock held); empty ones met on the way go back. */
struct hp_span *hp_theap_adopt(struct hugepool *pool, unsigned int cls)
{
	struct hp_span *sp, *next;

	if (!pool->heap)
		return NULL;
	for (sp = pool->heap->abandoned[cls]; sp; sp = next) {
		next = sp->next;
		/* a forked child writes only into pages it made private */
		if (!hp_span_private(sp) && hp_pool_privatize(sp->arena, sp->slot, 1))
			continue;
		hp_span_collect(sp);
		if (sp->used && !sp->free && sp->bump == sp->nobj)
			continue;
		hp_theap_unabandon(sp);
		if (!sp->used) {
			hp_span_release(sp);
			continue;
		}
		return sp;
	}
	return NULL;
}

/* Off the pool's abandoned list (lock held). */
void hp_theap_unabandon(struct hp_span *sp)
{
	span_unlink(&sp->pool->heap->abandoned[sp->cls], sp);
	sp->abandoned = false;
}

/* ------------------------------------------------------------------------
 * this thread's heaps
 * ------------------------------------------------------------------------ */
static void theap_drop_spans(struct hp_theap *th)
{
	unsigned int c;

	for (c = 0; c < HP_HEAP_CLASSES; c++) {
		struct hp_span *sp = th->ring[c], *next;

		if (!sp)
			continue;
		/* the ring is circular through next/prev */
		sp->prev->next = NULL;
		for (; sp; sp = next) {
			next = sp->next;
			sp->next = sp->prev = NULL;
			hp_theap_abandon_span(sp);
		}
		th->ring[c] = NULL;
	}
}

static void theap_unlink_pool(struct hp_theap *th)
{
	struct hp_heap_pool *hp = th->pool->heap;

	if (th->pprev)
		th->pprev->pnext = th->pnext;
	else
		hp->theaps = th->pnext;
	if (th->pnext)
		th->pnext->pprev = th->pprev;
}

/* Unlink th from this thread's list and free it (it is dead, or the
 * thread is leaving). */
static void theap_forget(struct hp_theap *th)
{
	struct hp_theap **pp;

	for (pp = &tl_heaps; *pp; pp = &(*pp)->tnext) {
		if (*pp == th) {
			*pp = th->tnext;
			break;
		}
	}
	if (hp_tl_heap == th)
		hp_tl_heap = NULL;
	hp_meta_free(th, sizeof(*th));
}

static hp_cold struct hp_theap *theap_new(struct hugepool *pool)
{
	struct hp_theap *th;

	/* a HUGEPOOL_SHARED pool's pages are its file's: no per-thread state
	 * written into them (a forked child would share it) */
	if (pool->root->arena->fd >= 0 || tl_exiting)
		return NULL;
	pthread_once(&theap_once, theap_key_init);
	if (!theap_key_ok)
		return NULL;
	hp_pool_lock(pool);
	th = hp_meta_zalloc(sizeof(*th));
	if (th && (pool->heap || (pool->heap = hp_meta_zalloc(sizeof(*pool->heap))))) {
		th->pool = pool;
		hp_tc_init(th);
		th->pnext = pool->heap->theaps;
		if (th->pnext)
			th->pnext->pprev = th;
		pool->heap->theaps = th;
	} else if (th) {
		hp_meta_free(th, sizeof(*th));
		th = NULL;
	}
	hp_pool_op_end(pool);
	if (!th)
		return NULL;
	th->tnext = tl_heaps;
	tl_heaps = th;
	pthread_setspecific(theap_key, th);
	return th;
}

/* Slow path of hp_theap_get: another pool than last time, or the first
 * call; dead heaps met on the way are dropped. */
hp_cold struct hp_theap *hp_theap_find(struct hugepool *pool)
{
	struct hp_theap *th, *next;

	for (th = tl_heaps; th; th = next) {
		next = th->tnext;
		if (__atomic_load_n(&th->dead, __ATOMIC_ACQUIRE)) {
			theap_forget(th);
			continue;
		}
		if (th->pool == pool)
			return hp_tl_heap = th;
	}
	th = theap_new(pool);
	if (th)
		hp_tl_heap = th;
	return th;
}

/* Is o one of this thread's heaps? Compared, never read: o may be the
 * stale owner of a span whose thread has just exited. */
bool hp_theap_mine(const struct hp_theap *o)
{
	const struct hp_theap *th;

	if (o == hp_tl_heap)
		return true;
	for (th = tl_heaps; th; th = th->tnext)
		if (th == o)
			return true;
	return false;
}

/* A pool still in the list (hp_pools_lock held) is not being destroyed,
 * and cannot be until the lock is let go. */
static bool pool_listed(const struct hugepool *pool)
{
	const struct hugepool *p;

	for (p = hp_pools; p; p = p->next_pool)
		if (p == pool)
			return true;
	return false;
}

/* pthread key destructor: every heap of the thread, spans abandoned or
 * returned. The pool list lock keeps a pool from being destroyed under us;
 * a heap whose pool is already gone is dead and only freed. */
static void theap_exit(void *arg)
{
	struct hp_theap *th;

	(void)arg;
	tl_exiting = true;
	pthread_mutex_lock(&hp_pools_lock);
	while ((th = tl_heaps)) {
		struct hugepool *pool = th->pool;

		if (!__atomic_load_n(&th->dead, __ATOMIC_ACQUIRE) && pool_listed(pool)) {
			hp_pool_lock(pool);
			if (!th->dead) {
				pool->heap->allocs += th->allocs;
				hp_tc_flush(th);
				client_drop(th, false);
				theap_drop_spans(th);
				theap_unlink_pool(th);
			}
			hp_pool_op_end(pool);
		}
		theap_forget(th);
	}
	pthread_mutex_unlock(&hp_pools_lock);
}

uint64_t hp_heap_objects(struct hugepool *pool)
{
	const struct hp_theap *th;
	uint64_t n;

	if (!pool->heap)
		return 0;
	n = pool->heap->allocs;
	for (th = pool->heap->theaps; th; th = th->pnext)
		n += __atomic_load_n(&th->allocs, __ATOMIC_RELAXED);
	return n;
}

/* ------------------------------------------------------------------------
 * fork and destroy
 * ------------------------------------------------------------------------ */

/* In the child: only this thread's heaps stay in use. The others are
 * unlinked from their pools (still marked live for no one) and never
 * touched again; see the banner. This thread's spans are abandoned, so
 * that it adopts them again through hp_theap_adopt, which makes a page
 * private before anything is written into it. */
static void heap_atfork_child(void)
{
	struct hugepool *pool;

	for (pool = hp_pools; pool; pool = pool->next_pool) {
		struct hp_theap *th, *next;

		if (!pool->heap)
			continue;
		for (th = pool->heap->theaps; th; th = next) {
			next = th->pnext;
			th->pnext = th->pprev = NULL;
		}
		pool->heap->theaps = NULL;
	}
	for (struct hp_theap *th = tl_heaps; th; th = th->tnext) {
		if (th->dead)
			continue;
		client_drop(th, true);
		hp_tc_forget(th);
		theap_drop_spans(th);
		th->pnext = th->pool->heap->theaps;
		th->pprev = NULL;
		if (th->pnext)
			th->pnext->pprev = th;
		th->pool->heap->theaps = th;
	}
}

/* Span structs of a pool going away; its pages go with the MIXED pages. */
static void spans_forget(struct hp_span *sp)
{
	struct hp_span *next;

	for (; sp; sp = next) {
		next = sp->next;
		hp_meta_free(sp, sizeof(*sp));
	}
}

/* The pool is being destroyed (lock held): its pages go with it, so its
 * spans are forgotten, not returned, and its heaps die. */
static void heap_destroy_all(struct hugepool *pool)
{
	struct hp_heap_pool *hp = pool->heap;
	struct hp_theap *th;
	unsigned int c;

	if (!hp)
		return;
	for (th = hp->theaps; th; th = th->pnext) {
		if (client && th->large)
			client->forget(th);
		for (c = 0; c < HP_HEAP_CLASSES; c++) {
			struct hp_span *sp = th->ring[c];

			if (sp)
				sp->prev->next = NULL;
			spans_forget(sp);
			th->ring[c] = NULL;
		}
		__atomic_store_n(&th->dead, true, __ATOMIC_RELEASE);
	}
	for (c = 0; c < HP_HEAP_CLASSES; c++)
		spans_forget(hp->abandoned[c]);
	hp_meta_free(hp, sizeof(*hp));
	pool->heap = NULL;
}

/* hugepool_trim (lock held): this thread's cache goes back to its spans,
 * and its empty spans go back to the pool, the heads of the rings too. */
static void heap_trim(struct hugepool *pool)
{
	struct hp_theap *th;
	unsigned int c;

	for (th = tl_heaps; th && (th->dead || th->pool != pool); th = th->tnext)
		;
	if (!th)
		return;
	client_drop(th, false);
	hp_tc_flush(th);
	for (c = 0; c < HP_HEAP_CLASSES; c++) {
		struct hp_span *sp = th->ring[c], *next;

		if (!sp)
			continue;
		sp->prev->next = NULL;	/* the ring as a list */
		th->ring[c] = NULL;
		for (; sp; sp = next) {
			next = sp->next;
			if (hp_span_private(sp)) {
				hp_span_collect(sp);
				if (!sp->used) {
					hp_span_release(sp);
					continue;
				}
			}
			hp_theap_ring_add(&th->ring[c], sp);
		}
	}
}

static const struct hp_pool_consumer heap_consumer = {
	.destroy_all = heap_destroy_all,
	.trim = heap_trim,
};

__attribute__((constructor(101))) static void heap_ctor(void)
{
	hp_pool_add_consumer(&heap_consumer);
	hp_atfork_register(HP_LAYER_CONSUMER, NULL, NULL, heap_atfork_child);
}
