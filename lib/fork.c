/* SPDX-License-Identifier: MIT */
/*
 * fork.c - fork safety. The atfork handlers are registered from a
 * constructor, as early as the library loads: glibc runs prepare handlers
 * in reverse order of registration, so ours run after any handler
 * registered later, and a later handler that allocates does not find our
 * locks taken. The child re-initialises every lock and bumps hp_fork_gen:
 * pages it inherited are shared copy-on-write with the parent and are made
 * private (MADV_POPULATE_WRITE) before the child hands them out again.
 */
#include "internal.h"

#include <sys/single_threaded.h>

static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static bool fork_locked;	/* prepare took the locks (multi-threaded) */

static void fork_prepare(void)
{
	struct hugepool *p;

	/* a single-threaded process (for example forking from a signal
	 * handler) cannot race itself; taking the locks could deadlock on a
	 * lock the interrupted code holds. glibc skips its malloc locks the
	 * same way. */
	fork_locked = !__libc_single_threaded;
	if (!fork_locked)
		return;
	pthread_mutex_lock(&hp_pools_lock);
	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			pthread_mutex_lock(p->lock);
	hp_meta_atfork_prepare();
}

static void fork_parent(void)
{
	struct hugepool *p;

	if (!fork_locked)
		return;
	hp_meta_atfork_parent();
	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			pthread_mutex_unlock(p->lock);
	pthread_mutex_unlock(&hp_pools_lock);
}

static void fork_child(void)
{
	struct hugepool *p;

	hp_meta_atfork_child();
	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent)
			pthread_mutex_init(&p->lock_storage, NULL);
	pthread_mutex_init(&hp_pools_lock, NULL);
	hp_decay_atfork_child();
	__atomic_add_fetch(&hp_fork_gen, 1, __ATOMIC_RELAXED);
}

static void fork_register(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

void hp_fork_init(void)
{
	pthread_once(&fork_once, fork_register);
}

__attribute__((constructor(101))) static void fork_ctor(void)
{
	hp_fork_init();
}
