/* SPDX-License-Identifier: MIT */
/*
 * fork.c - fork safety: one pthread_atfork registration for the whole
 * library, made from a constructor as early as the library loads, that
 * runs the hooks each module registers here (meta.c its lock, pool.c the
 * pool locks and the fork generation, decay.c its thread). glibc runs
 * prepare handlers in reverse order of registration, so ours run after any
 * handler registered later, and a later handler that allocates does not
 * find our locks taken.
 *
 * The hooks run by layer: prepare from the highest layer down (a pool's
 * lock is taken before the metadata lock that pool operations take inside
 * it), parent and child from the lowest up. This file calls no other part
 * of the library: it sits at the bottom with sys.c.
 */
#include "internal.h"

#include <sys/single_threaded.h>

#define HP_ATFORK_MAX	8

static struct hp_atfork {
	int level;
	void (*prepare)(void);
	void (*parent)(void);
	void (*child)(void);
} hooks[HP_ATFORK_MAX];
static int nhooks;
static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static bool fork_locked;	/* prepare took the locks (multi-threaded) */

void hp_atfork_register(int level, void (*prepare)(void), void (*parent)(void),
			void (*child)(void))
{
	int i;

	pthread_mutex_lock(&hooks_lock);
	if (nhooks < HP_ATFORK_MAX) {
		/* sorted by level, lowest first */
		for (i = nhooks; i > 0 && hooks[i - 1].level > level; i--)
			hooks[i] = hooks[i - 1];
		hooks[i] = (struct hp_atfork){ level, prepare, parent, child };
		nhooks++;
	}
	pthread_mutex_unlock(&hooks_lock);
}

static void fork_prepare(void)
{
	int i;

	/* a single-threaded process (for example forking from a signal
	 * handler) cannot race itself; taking the locks could deadlock on a
	 * lock the interrupted code holds. glibc skips its malloc locks the
	 * same way. */
	fork_locked = !__libc_single_threaded;
	if (!fork_locked)
		return;
	for (i = nhooks - 1; i >= 0; i--)
		if (hooks[i].prepare)
			hooks[i].prepare();
}

static void fork_parent(void)
{
	int i;

	if (!fork_locked)
		return;
	for (i = 0; i < nhooks; i++)
		if (hooks[i].parent)
			hooks[i].parent();
}

/* The child re-initialises what prepare locked, whether or not it did:
 * a single-threaded parent may have forked inside a locked section only
 * from a signal handler, and then the child starts over anyway. */
static void fork_child(void)
{
	int i;

	pthread_mutex_init(&hooks_lock, NULL);
	for (i = 0; i < nhooks; i++)
		if (hooks[i].child)
			hooks[i].child();
}

__attribute__((constructor(101))) static void fork_ctor(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}
