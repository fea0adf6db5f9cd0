/* SPDX-License-Identifier: MIT */
/*
 * seg-thread-ctor.c - a preloaded library whose constructor starts a
 * thread before libhugepool.so's constructor runs (LD_PRELOAD=
 * libhugepool.so:this: ld.so runs the later one's constructor first).
 * HUGEPOOL_SEGMENTS must then refuse, with one line, and the program
 * must run as it would (segments.sh).
 */
#include <pthread.h>
#include <unistd.h>

static void *idle(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

__attribute__((constructor)) static void start_thread(void)
{
	pthread_t t;

	if (!pthread_create(&t, NULL, idle, NULL))
		pthread_detach(t);
}
