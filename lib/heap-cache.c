/* SPDX-License-Identifier: MIT */
/*
 * heap-cache.c - the thread cache: per size class, the objects a thread
 * freed last, handed out again first (struct hp_theap's tc, tc_room; the
 * inline push and pop are in heap.h).
 *
 * A span's free list hands out whatever was freed into that span, often
 * long ago: popping it reads the link stored in a cold object, a cache
 * miss on nearly every malloc. The cache is a LIFO per class across
 * spans, so malloc gets back the object of its class freed last, still
 * in cache, and an owner's free writes only into the object and the
 * thread's heap, not into the span.
 *
 *  - Only the owner's objects are cached, so the cache and the spans it
 *    points into belong to one thread, and no lock is needed.
 *  - A cached object counts in its span's used: its span is not retired
 *    under it. What the cache may hold is bounded per class
 *    (HP_TC_BYTES, between HP_TC_MIN and HP_TC_MAX objects), and it is
 *    emptied into the spans whenever spans are given up or counted:
 *    thread exit, hugepool_trim (which the pool's counters trim first).
 *  - In a forked child the cache is forgotten, not emptied: emptying it
 *    would write into pages still shared copy-on-write with the parent.
 */
#include "heap.h"

static unsigned int tc_cap(unsigned int cls)
{
	size_t n = HP_TC_BYTES / hp_heap_class_size(cls);

	if (n > HP_TC_MAX)
		n = HP_TC_MAX;
	if (n < HP_TC_MIN)
		n = HP_TC_MIN;
	return (unsigned int)n;
}

/* A new heap's cache: empty, with room for a class's worth. */
void hp_tc_init(struct hp_theap *th)
{
	unsigned int c;

	for (c = 0; c < HP_HEAP_CLASSES; c++) {
		th->tc[c] = NULL;
		th->tc_room[c] = (uint16_t)tc_cap(c);
	}
}

/* Empty th's cache: each object back into its span's free list (link:
 * true), or only out of its span's used count (false: nothing written
 * into the object; it stays unused until its span goes back whole). */
static void tc_empty(struct hp_theap *th, bool link)
{
	unsigned int c;

	for (c = 0; c < HP_HEAP_CLASSES; c++) {
		void *p, *next;

		for (p = th->tc[c]; p; p = next) {
			struct hp_span *sp = hp_span_of(hp_arena_lookup(p), p);

			next = *(void **)p;
			if (link) {
				*(void **)p = sp->free;
				sp->free = p;
			}
			sp->used--;
		}
	}
	hp_tc_init(th);
}

/* Back to the spans: by the owner, before its spans are given up (the
 * caller retires the ones left empty). */
void hp_tc_flush(struct hp_theap *th)
{
	tc_empty(th, true);
}

/* In a forked child, before the forking thread's spans are abandoned:
 * the objects stay out of their spans' lists, but no longer count as
 * used, so each span still goes back once its live objects are freed. */
void hp_tc_forget(struct hp_theap *th)
{
	tc_empty(th, false);
}
