/* SPDX-License-Identifier: MIT */
/*
 * decay.c - surplus pages go back to the kernel once unused for decay_ms
 * (return_unused_surplus_pages): at once when decay_ms is 0, else from one
 * thread per process, started when a pool first holds unused surplus, so
 * that memory a program stops using goes back within a bounded time even if
 * it never calls the allocator again. Also the undo of a failed call's
 * growth (hp_shrink_back).
 */
#include "internal.h"

#include <signal.h>
#include <time.h>

/*
 * return_unused_surplus_pages: free surplus pages that have sat unused for
 * decay_ms go back to the kernel (all of them with force). Never dips into
 * the persistent minimum or into reserved pages. Returns pages released.
 */
static long decay_some(struct hugepool *pool, uint64_t now_ms, bool force, size_t limit);

long hp_pool_decay(struct hugepool *pool, uint64_t now_ms, bool force)
{
	return decay_some(pool, now_ms, force, SIZE_MAX);
}

/* Undo growth that a failed operation caused: release up to n free surplus
 * pages of the root at once (a failed call leaves the pool as it was). */
void hp_shrink_back(struct hugepool *pool, size_t nr_before)
{
	struct hugepool *root = pool->root;

	if (root->nr_huge_pages > nr_before)
		decay_some(root, 0, true, root->nr_huge_pages - nr_before);
}

static long decay_some(struct hugepool *pool, uint64_t now_ms, bool force, size_t limit)
{
	struct hp_arena *a = pool->arena;
	long released = 0;
	int n;

	if (pool->parent)
		return 0;	/* subpools return pages to the parent at once */
	if (pool->decay_hold || (!force && pool->decay_ms < 0))
		return 0;
	for (n = 0; n < HP_MAX_NODES; n++) {
		struct hp_freelist *fl = &pool->freelists[n];
		unsigned int b;

		if (!fl->pages)
			continue;
		for (b = 0; b < HP_FREE_BINS; b++) {
			struct hp_slot *s = fl->bins[b], *next;

			for (; s; s = next) {
				size_t head = (size_t)(s - a->slots);
				size_t len = s->run, take, surplus;

				next = s->next_free;
				surplus = pool->nr_huge_pages > pool->min_pages ?
					  pool->nr_huge_pages - pool->min_pages : 0;
				if (surplus > limit - (size_t)released)
					surplus = limit - (size_t)released;
				if (!surplus)
					return released;
				if (!force && (uint32_t)now_ms - s->stamp < (uint32_t)pool->decay_ms)
					continue;
				/* keep reserved pages: resv <= free always */
				if (pool->free_huge_pages - len < pool->resv_huge_pages)
					continue;
				take = len < surplus ? len : surplus;
				hp_free_carve(pool, a, head, head + len - take, take);
				hp_root_release(pool, a, head + len - take, take);
				released += (long)take;
				/* the list changed under us: rescan this bin */
				next = fl->bins[b];
			}
		}
	}
	return released;
}

/* ------------------------------------------------------------------------
 * the decay thread: one per process, started when a pool first holds
 * unused surplus pages, so that memory a program stops using goes back
 * within a bounded time even if it never calls the allocator again.
 * ------------------------------------------------------------------------ */
static pthread_mutex_t decay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t decay_cond = PTHREAD_COND_INITIALIZER;
static bool decay_running;
static bool decay_pending;
/* [api: hot path] the thread sleeps with no timeout (nothing to watch).
 * Only then does a kick need to wake it: otherwise it looks again within
 * its period anyway, and waking it on every free cost a futex call and a
 * fight for the pool lock per free. decay_pending and decay_idle are a
 * Dekker pair (seq_cst): a kicker stores pending then loads idle, the
 * thread stores idle then loads pending, so one of them sees the other. */
static bool decay_idle;

static void *decay_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&decay_lock);
	for (;;) {
		struct timespec ts;
		long wait_ms = 1000;
		bool work = false;
		struct hugepool *p;

		__atomic_store_n(&decay_pending, false, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&decay_lock);

		pthread_mutex_lock(&hp_pools_lock);
		for (p = hp_pools; p; p = p->next_pool) {
			if (p->parent || p->decay_ms < 0)
				continue;
			hp_pool_lock(p);
			if (hp_pool_decay(p, hp_now_ms(), false))
				hp_pool_watch_changed(p, true);
			if (p->surplus_huge_pages && p->free_huge_pages > p->resv_huge_pages) {
				work = true;
				if (p->decay_ms / 2 < wait_ms)
					wait_ms = p->decay_ms / 2 > 10 ? p->decay_ms / 2 : 10;
			}
			hp_pool_op_end(p);
		}
		pthread_mutex_unlock(&hp_pools_lock);
		hp_pool_watch_flush();

		pthread_mutex_lock(&decay_lock);
		if (!work) {
			/* nothing to watch: sleep until kicked */
			__atomic_store_n(&decay_idle, true, __ATOMIC_SEQ_CST);
			while (!__atomic_load_n(&decay_pending, __ATOMIC_SEQ_CST))
				pthread_cond_wait(&decay_cond, &decay_lock);
			__atomic_store_n(&decay_idle, false, __ATOMIC_SEQ_CST);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait_ms / 1000;
		ts.tv_nsec += (wait_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&decay_cond, &decay_lock, &ts);
	}
	return NULL;
}

void hp_decay_kick(struct hugepool *root)
{
	pthread_t t;

	if (root->decay_hold)
		return;
	pthread_attr_t attr;
	sigset_t all, old;

	if (root->decay_ms == 0) {
		hp_pool_decay(root, hp_now_ms(), true);
		return;
	}
	if (root->decay_ms < 0)
		return;
	if (__atomic_load_n(&decay_running, __ATOMIC_ACQUIRE)) {
		/* [api: hot path] see decay_idle */
		if (!__atomic_load_n(&decay_pending, __ATOMIC_RELAXED))
			__atomic_store_n(&decay_pending, true, __ATOMIC_SEQ_CST);
		if (!__atomic_load_n(&decay_idle, __ATOMIC_SEQ_CST))
			return;
	}
	pthread_mutex_lock(&decay_lock);
	if (!decay_running) {
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&attr, 64 * 1024);
		/* the thread must not take the program's signals */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		if (pthread_create(&t, &attr, decay_main, NULL) == 0)
			__atomic_store_n(&decay_running, true, __ATOMIC_RELEASE);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		pthread_attr_destroy(&attr);
	} else {
		__atomic_store_n(&decay_pending, true, __ATOMIC_SEQ_CST);
		pthread_cond_signal(&decay_cond);
	}
	pthread_mutex_unlock(&decay_lock);
}

/* Wake the thread even from a timed sleep: a new decay period applies now. */
void hp_decay_wake(void)
{
	pthread_mutex_lock(&decay_lock);
	if (decay_running) {
		__atomic_store_n(&decay_pending, true, __ATOMIC_SEQ_CST);
		pthread_cond_signal(&decay_cond);
	}
	pthread_mutex_unlock(&decay_lock);
}

/* fork: the thread does not exist in the child; it restarts on demand */
static void decay_atfork_child(void)
{
	pthread_mutex_init(&decay_lock, NULL);
	pthread_cond_init(&decay_cond, NULL);
	decay_running = false;
	decay_pending = false;
	decay_idle = false;
}

__attribute__((constructor(102))) static void decay_ctor(void)
{
	hp_atfork_register(HP_LAYER_DECAY, NULL, NULL, decay_atfork_child);
}
