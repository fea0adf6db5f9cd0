/* SPDX-License-Identifier: MIT */
/*
 * hooks.c - what the engine knows of the rest of the process without
 * calling it by name: the list of live pools (for fork, the decay thread
 * and stats), the pool lock, and the hooks the layers above register:
 * watchers (publish.c: the live stats file) and consumers (alloc.c:
 * blocks; region.c: regions), which the engine calls through pointers.
 * Sits below the engine: it calls nothing but pthreads and fork.c.
 */
#include "internal.h"

pthread_mutex_t hp_pools_lock = PTHREAD_MUTEX_INITIALIZER;
struct hugepool *hp_pools;
uint32_t hp_fork_gen = 1;

void hp_pool_list_add(struct hugepool *pool)
{
	pthread_mutex_lock(&hp_pools_lock);
	pool->next_pool = hp_pools;
	if (hp_pools)
		hp_pools->prev_pool = pool;
	hp_pools = pool;
	pthread_mutex_unlock(&hp_pools_lock);
}


void hp_pool_list_del(struct hugepool *pool)
{
	pthread_mutex_lock(&hp_pools_lock);
	if (pool->prev_pool)
		pool->prev_pool->next_pool = pool->next_pool;
	else
		hp_pools = pool->next_pool;
	if (pool->next_pool)
		pool->next_pool->prev_pool = pool->prev_pool;
	pthread_mutex_unlock(&hp_pools_lock);
}


/* ------------------------------------------------------------------------
 * the pool lock
 *
 * Pool locks this thread holds are counted, so that a free from a signal
 * handler that interrupted the allocator on the same thread can tell, and
 * defer instead of deadlocking on a lock its own thread holds (glibc
 * tolerates such a free in a single-threaded program).
 * ------------------------------------------------------------------------ */
__thread unsigned int hp_tl_pool_locks __attribute__((tls_model("initial-exec")));

void hp_pool_lock(struct hugepool *pool)
{
	pthread_mutex_lock(pool->lock);
	hp_tl_pool_locks++;
}

void hp_pool_unlock(struct hugepool *pool)
{
	hp_tl_pool_locks--;
	pthread_mutex_unlock(pool->lock);
}


/* ------------------------------------------------------------------------
 * hooks: the layers above watch pools (publish.c) and tear down what they
 * hold in them (alloc.c, region.c) through what they register here; the
 * engine calls none of them by name.
 * ------------------------------------------------------------------------ */
static const struct hp_pool_watch *watch;
static const struct hp_pool_consumer *consumers[4];
static int nconsumers;

void hp_pool_set_watch(const struct hp_pool_watch *w)
{
	__atomic_store_n(&watch, w, __ATOMIC_RELEASE);
}

void hp_pool_add_consumer(const struct hp_pool_consumer *c)
{
	if (nconsumers < (int)ARRAY_SIZE(consumers))
		consumers[nconsumers++] = c;
}

void hp_pool_watch_added(struct hugepool *pool)
{
	const struct hp_pool_watch *w = __atomic_load_n(&watch, __ATOMIC_ACQUIRE);

	if (w)
		w->added(pool);
}

void hp_pool_watch_removed(struct hugepool *pool)
{
	const struct hp_pool_watch *w = __atomic_load_n(&watch, __ATOMIC_ACQUIRE);

	if (w)
		w->removed(pool);
}

void hp_pool_watch_changed(struct hugepool *pool, bool force)
{
	const struct hp_pool_watch *w = __atomic_load_n(&watch, __ATOMIC_ACQUIRE);

	if (w)
		w->changed(pool, force);
}

void hp_pool_watch_flush(void)
{
	const struct hp_pool_watch *w = __atomic_load_n(&watch, __ATOMIC_ACQUIRE);

	if (w)
		w->flush();
}

/* An operation on pool ends: its watchers see it (lock held), then the
 * lock goes. */
void hp_pool_op_end(struct hugepool *pool)
{
	hp_pool_watch_changed(pool, false);
	hp_pool_unlock(pool);
}

bool hp_pool_consumers_busy(const struct hugepool *pool)
{
	int i;

	for (i = 0; i < nconsumers; i++)
		if (consumers[i]->busy && consumers[i]->busy(pool))
			return true;
	return false;
}

/* Release everything a pool's consumers hold in it: blocks, regions. */
void hp_pool_consumers_drain(struct hugepool *pool)
{
	int i;

	for (i = 0; i < nconsumers; i++)
		consumers[i]->destroy_all(pool);
}

/* hugepool_trim: what the consumers cache for the calling thread. */
void hp_pool_consumers_trim(struct hugepool *pool)
{
	int i;

	for (i = 0; i < nconsumers; i++)
		if (consumers[i]->trim)
			consumers[i]->trim(pool);
}

/* fork: the pool locks are taken around it (the pool list's first), and
 * the child re-initialises them and starts a new fork generation: pages
 * it inherited are shared copy-on-write with the parent and are made
 * private (MADV_POPULATE_WRITE) before the child hands them out again. */
static void pool_atfork_prepare(void)
{
	struct hugepool *p;

	pthread_mutex_lock(&hp_pools_lock);
	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			pthread_mutex_lock(p->lock);
}

static void pool_atfork_parent(void)
{
	struct hugepool *p;

	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			pthread_mutex_unlock(p->lock);
	pthread_mutex_unlock(&hp_pools_lock);
}

static void pool_atfork_child(void)
{
	struct hugepool *p;

	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			pthread_mutex_init(&p->lock_storage, NULL);
	pthread_mutex_init(&hp_pools_lock, NULL);
	__atomic_add_fetch(&hp_fork_gen, 1, __ATOMIC_RELAXED);
}

__attribute__((constructor(102))) static void pool_ctor(void)
{
	hp_atfork_register(HP_LAYER_POOL, pool_atfork_prepare, pool_atfork_parent,
			   pool_atfork_child);
}

