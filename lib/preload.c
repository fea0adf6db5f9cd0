/* SPDX-License-Identifier: MIT */
/*
 * preload.c - the malloc family of LD_PRELOAD=libhugepool.so.
 *
 * malloc, free, calloc, realloc, posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc and malloc_usable_size. Requests of at least the threshold
 * (HUGEPOOL_THRESHOLD) are served from the process default pool; smaller
 * ones, and every pointer the pool does not own, go to glibc through its
 * exported __libc_malloc family. We never define a __libc_* name: we call
 * them, and defining them (as jemalloc and mimalloc do) would make us call
 * ourselves.
 *
 * Rules this file lives by (docs/reference/pitfalls.md, part A):
 *  - The small path is one compare and a tail call into glibc. Before
 *    initialisation and in passthrough the threshold is 0 and SIZE_MAX, so
 *    the same compare also routes to the slow path and to glibc.
 *  - Ownership is by address (hp_arena_lookup: one load, no syscall, no
 *    header read in front of a foreign pointer).
 *  - Anything the library calls may allocate (libnuma, pthread_create of
 *    the decay thread, dlsym on error). A per-thread guard sends the
 *    nested calls of a thread that is inside the library to glibc, so the
 *    library never re-enters itself and never deadlocks on its own locks.
 *  - Initialisation is lazy, idempotent and lock-free: ld.so and other
 *    preloaded libraries' constructors call malloc before ours runs, and
 *    threads may race the first call. Everything it computes is a pure
 *    function of the environment, so racing threads agree.
 *  - The pool never makes a program fail where glibc would have succeeded:
 *    when it cannot serve, glibc does, and the fallback is counted and said
 *    once (HUGEPOOL_VERBOSE >= 1).
 *  - No stdio stream is ever opened (stdio allocates through malloc): logs
 *    and stats go out with write(2); only the exit report formats a line
 *    with snprintf, into a buffer on the stack.
 *  - When libhugepool.so is merely linked (a program using the API), the
 *    symbols still interpose glibc's, since the library precedes libc in
 *    the lookup order; then every call passes through, unless
 *    HUGEPOOL_MALLOC=1. free() and realloc() still recognise pool blocks,
 *    so free(hugepool_malloc(...)) is correct either way.
 */
#include "heap.h"
#include "segments.h"

#if HP_PRELOAD

#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif

#define PL_EXPORT	__attribute__((visibility("default")))
#define PL_TLS		__attribute__((tls_model("initial-exec")))

/* glibc's MALLOC_ALIGNMENT on every 64-bit target and i386 */
#define PL_MALLOC_ALIGNMENT	(2 * sizeof(size_t) < __alignof__(long double) ? \
				 __alignof__(long double) : 2 * sizeof(size_t))

/* glibc's allocator under its exported internal names (libc.so ABI since
 * 2.0; not declared in any header). noplt: the fast paths jump through the
 * GOT entry directly instead of through a PLT stub that does the same, one
 * indirect branch less per call (the library is linked -z now anyway). */
#if defined(__x86_64__) || defined(__i386__)
#define PL_NOPLT	__attribute__((noplt))
#else
#define PL_NOPLT
#endif
extern void *__libc_malloc(size_t size) PL_NOPLT;
extern void __libc_free(void *ptr) PL_NOPLT;
extern void *__libc_calloc(size_t n, size_t size) PL_NOPLT;
extern void *__libc_realloc(void *ptr, size_t size) PL_NOPLT;
extern void *__libc_memalign(size_t align, size_t size) PL_NOPLT;
extern void *__libc_valloc(size_t size) PL_NOPLT;
extern void *__libc_pvalloc(size_t size) PL_NOPLT;

/*
 * The routing threshold: requests of at least this many bytes go to the
 * pool. 0 until initialised (every request then takes the slow path, which
 * initialises), SIZE_MAX in passthrough.
 */
static size_t pl_threshold;
static bool pl_active;		/* interposition on (set before pl_threshold) */
static size_t pl_pagesize = 4096;

/* Nesting depth of this thread inside the library: its mallocs go to
 * glibc. Initial-exec TLS, 4 bytes: reading it never calls malloc
 * (__tls_get_addr does), and it fits glibc's surplus static TLS when the
 * library is dlopen'd. */
static __thread unsigned int pl_busy PL_TLS;
static __thread bool pl_early PL_TLS;	/* the last pool_alloc was too early */

/* counters of the preload (only touched on large paths) */
static unsigned long pl_pool_blocks;	/* blocks the pool served */
static unsigned long pl_fallbacks;	/* requests glibc served for the pool */
static unsigned long pl_moves;		/* realloc across the threshold */

/*
 * _Fork (glibc 2.34) runs no atfork handler, so the library's child
 * handler does not bump hp_fork_gen and the child would hand out pages it
 * still shares copy-on-write with its parent: a write could then SIGBUS if
 * the kernel pool is empty. A MADV_WIPEONFORK page reads 0 in any child,
 * however it was forked (not after vfork/posix_spawn, which share memory);
 * the large path checks it with one load.
 */
static volatile unsigned int *pl_fork_mark;
static uint32_t pl_fork_gen;	/* hp_fork_gen when the mark was last set */

static size_t (*pl_libc_usable)(void *);

static inline size_t threshold(void)
{
	return __atomic_load_n(&pl_threshold, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * initialisation
 * ------------------------------------------------------------------------ */

/* Is a file whose name starts with "libhugepool" and contains ".so" in a
 * list separated by colons or white space (LD_PRELOAD, /etc/ld.so.preload)?
 * A name, not a path: LD_PRELOAD may hold a bare soname, a relative path
 * or $LIB, and comparing files would mean stat and realpath. */
static bool listed(const char *s)
{
	while (*s) {
		const char *tok, *end, *base;

		while (*s == ':' || *s == ' ' || *s == '\t' || *s == '\n')
			s++;
		tok = s;
		while (*s && *s != ':' && *s != ' ' && *s != '\t' && *s != '\n')
			s++;
		end = s;
		base = tok;
		for (const char *p = tok; p < end; p++)
			if (*p == '/')
				base = p + 1;
		if (end - base >= 14 && !strncmp(base, "libhugepool", 11) &&
		    memmem(base + 11, (size_t)(end - base - 11), ".so", 3))
			return true;
	}
	return false;
}

/*
 * This file is also in the static archive that hugepool-ctl and the tests
 * link; there it is part of the executable, and a libhugepool.so in
 * LD_PRELOAD is another copy, not us. The executable's program headers
 * (AT_PHDR) then lie in the object that holds this code. dladdr does not
 * allocate.
 */
static bool in_executable(void)
{
	Dl_info self, exe;
	void *phdr = (void *)getauxval(AT_PHDR);

	return phdr && dladdr((void *)in_executable, &self) && dladdr(phdr, &exe) &&
	       self.dli_fbase == exe.dli_fbase;
}

/* Listed in LD_PRELOAD or /etc/ld.so.preload. Under AT_SECURE the
 * environment is the caller's: only root's /etc/ld.so.preload counts, so
 * that the preload in a setuid program is inert unless root enabled it. */
static bool preloaded(void)
{
	const char *v = hp_opt.secure ? NULL : getenv("LD_PRELOAD");
	char buf[4096];

	if ((v && listed(v)) ||
	    (hp_sys_read_file("/etc/ld.so.preload", buf, sizeof(buf)) > 0 && listed(buf)))
		return !in_executable();
	return false;
}

static void fork_mark_init(void)
{
	volatile unsigned int *none = NULL;
	void *p;

	if (pl_fork_mark)
		return;
	if (hp_sys_mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			-1, 0, &p))
		return;
	if (hp_sys_madvise(p, 4096, MADV_WIPEONFORK)) {
		hp_sys_munmap(p, 4096);
		return;
	}
	*(volatile unsigned int *)p = 1;
	/* racing initialisers: the first one wins, the others give theirs back */
	if (!__atomic_compare_exchange_n(&pl_fork_mark, &none, (volatile unsigned int *)p,
					 false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		hp_sys_munmap(p, 4096);
		return;
	}
	pl_fork_gen = __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED);
}

/*
 * May run on several threads at once, and on a thread that is already
 * inside it (libnuma's allocations while HUGEPOOL_NODES is parsed): the
 * guard sends those to glibc. Returns without deciding when libc's
 * environment is not set up yet (ld.so allocating before libc's own
 * initialisation): deciding then would read an empty environment.
 */
static void pl_init(void)
{
	bool on;
	long ps;

	if (!environ)
		return;
	pl_busy++;
	hp_options_init();
	if (hp_opt.malloc_mode >= 0)
		on = hp_opt.malloc_mode;	/* HUGEPOOL_MALLOC forced it either way */
	else
		on = preloaded();	/* unset or invalid (already warned): auto */
	ps = sysconf(_SC_PAGESIZE);
	if (ps > 0)
		pl_pagesize = (size_t)ps;
	if (on)
		fork_mark_init();
	__atomic_store_n(&pl_active, on, __ATOMIC_RELAXED);
	if (on)
		hp_log(2, "malloc interposition on: requests of %zu bytes or more go to huge pages",
		       hp_opt.threshold);
	else
		hp_log(3, "malloc interposition off: libhugepool.so is linked, not preloaded");
	__atomic_store_n(&pl_threshold, on ? hp_opt.threshold : SIZE_MAX, __ATOMIC_RELEASE);
	pl_busy--;
}

/*
 * Decide as soon as we load, with the environment intact, so that the hot
 * path never pays for it; calls made before this point initialise lazily.
 *
 * When we were not preloaded we may have been dlopen'd (the API from a
 * plugin): then pin the library. A dlclose would unmap the code under the
 * pool's decay thread and the pages under every live block, and neither
 * can be taken back. A preloaded or DT_NEEDED library is never unloaded
 * anyway, and the pin is only needed until the library is linked with
 * -z nodelete.
 */
__attribute__((constructor(102))) static void pl_ctor(void)
{
	Dl_info info;

	if (!threshold())
		pl_init();
	/* before the program's constructors and threads (segments.c) */
	if (hp_opt.segments && !in_executable())
		hp_segments_remap();
	if (__atomic_load_n(&pl_active, __ATOMIC_RELAXED) || in_executable())
		return;
	pl_busy++;
	if (dladdr((void *)pl_ctor, &info) && info.dli_fname)
		dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
	pl_busy--;
}

/* The slow paths' gate: may this call use the pool? */
static inline bool pl_ready(void)
{
	if (unlikely(pl_busy))
		return false;
	if (unlikely(!__atomic_load_n(&pl_threshold, __ATOMIC_ACQUIRE)))
		pl_init();
	return __atomic_load_n(&pl_active, __ATOMIC_RELAXED) &&
	       __atomic_load_n(&pl_threshold, __ATOMIC_ACQUIRE) != 0;
}

/* ------------------------------------------------------------------------
 * the pool side
 * ------------------------------------------------------------------------ */

static hp_cold void fork_check_slow(void)
{
	/* first caller in this child re-arms the mark */
	if (__atomic_exchange_n(pl_fork_mark, 1, __ATOMIC_ACQ_REL))
		return;
	/* after fork() the library's atfork child handler has bumped the
	 * generation; after _Fork nobody did */
	if (__atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED) == pl_fork_gen)
		__atomic_add_fetch(&hp_fork_gen, 1, __ATOMIC_RELAXED);
	pl_fork_gen = __atomic_load_n(&hp_fork_gen, __ATOMIC_RELAXED);
}

static inline void fork_check(void)
{
	if (pl_fork_mark && unlikely(!*pl_fork_mark))
		fork_check_slow();
}

/*
 * The default pool, set up for life inside somebody else's program. The
 * library's decay thread stays off: a thread the program did not create
 * breaks what a single-threaded program may rely on (glibc skips its malloc
 * locks in fork() when single-threaded, so a fork from a signal handler
 * that interrupted malloc works; unshare(CLONE_NEWUSER) wants a single
 * thread), and it could only be started from inside the malloc family,
 * where glibc may hold its own locks: free() of a thread's TLS block runs
 * under the stack cache lock that pthread_create takes (a self-deadlock,
 * found at HUGEPOOL_THRESHOLD=0). So decay is done here, the way glibc
 * trims its heap: on a free that gave pages back to the pool, at most once
 * per HUGEPOOL_DECAY_MS, by whichever thread frees, the free surplus pages
 * go back. HUGEPOOL_DECAY_MS=0 and -1 keep their meaning (at once, never).
 */
static struct hugepool *pl_pool_ptr;	/* set once configured */
static long pl_decay_ms;		/* > 0: decay by time, on free */
static uint64_t pl_next_trim;		/* hp_now_ms() of the next trim */

static hp_cold struct hugepool *pl_pool_setup(void)
{
	struct hugepool *pool = hugepool_default();
	long ms = hp_opt_decay_ms();

	if (!pool)
		return NULL;
	if (ms > 0 && !__atomic_load_n(&pl_decay_ms, __ATOMIC_RELAXED)) {
		hugepool_set_decay_ms(pool, -1);
		pl_next_trim = hp_now_ms() + (uint64_t)ms;
		__atomic_store_n(&pl_decay_ms, ms, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&pl_pool_ptr, pool, __ATOMIC_RELEASE);
	return pool;
}

/* Decay after a free into pool (lock not held): trim by time. */
static void pl_decay(struct hugepool *pool)
{
	uint64_t now, next;
	long ms = __atomic_load_n(&pl_decay_ms, __ATOMIC_ACQUIRE);

	if (pool != pl_pool_ptr || ms <= 0)
		return;
	/* unlocked peek: only a hint whether trimming can find anything */
	if (!__atomic_load_n(&pool->surplus_huge_pages, __ATOMIC_RELAXED))
		return;
	now = hp_now_ms();
	next = __atomic_load_n(&pl_next_trim, __ATOMIC_RELAXED);
	if (now < next || !__atomic_compare_exchange_n(&pl_next_trim, &next, now + (uint64_t)ms,
						       false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	hugepool_trim(pool);
}

/* A block from the default pool, or NULL with errno untouched (the caller
 * then asks glibc). */
static void *pool_alloc(size_t size, size_t align, bool zero)
{
	struct hugepool *pool;
	void *p = NULL;
	int saved = errno;

	fork_check();
	pl_busy++;
	pool = __atomic_load_n(&pl_pool_ptr, __ATOMIC_ACQUIRE);
	if (unlikely(!pool)) {
		pool = pl_pool_setup();
		/* too early for a pool (a constructor that ran before libnuma's
		 * was set up): glibc serves it, and that is no fallback */
		pl_early = !pool && errno == EAGAIN;
	}
	if (likely(pool))
		p = hp_alloc(pool, size, align, zero);
	pl_busy--;
	if (likely(p))
		__atomic_add_fetch(&pl_pool_blocks, 1, __ATOMIC_RELAXED);
	else
		errno = saved;
	return p;
}

/* glibc served what the pool could not: count it, in the default pool's
 * stats when there is one, and say so once. */
static hp_cold void pl_fallback(size_t size)
{
	static bool told;
	struct hugepool *pool;
	int saved = errno;

	if (pl_early) {
		pl_early = false;
		return;
	}
	pool = hp_default_pool_peek();
	__atomic_add_fetch(&pl_fallbacks, 1, __ATOMIC_RELAXED);
	if (pool) {
		hp_pool_lock(pool);
		pool->stats.fallbacks++;
		hp_pool_op_end(pool);
	}
	if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
		hp_log(1, "a %zu-byte allocation could not be had from huge pages; "
		       "glibc malloc serves it (counted as fallbacks in the stats)", size);
	errno = saved;
}

static hp_cold __attribute__((noinline)) void pool_free(struct hp_arena *a, void *ptr)
{
	int saved = errno;

	fork_check();
	pl_busy++;
	hp_free_in(a, ptr);
	pl_decay(a->pool);
	pl_busy--;
	errno = saved;	/* free preserves errno (POSIX 2024, glibc >= 2.33) */
}

static size_t pool_usable(struct hp_arena *a, const void *ptr)
{
	size_t n;

	pl_busy++;
	n = hp_usable_in(a, ptr);
	pl_busy--;
	return n;
}

/* glibc's malloc_usable_size: there is no __libc_ name for it, so look it
 * up in the libc that defines __libc_malloc, whatever interposes between
 * us and it. dladdr1 finds that libc's link map without allocating; a map
 * loaded at startup has no search list of its own, so it is reopened by
 * name (RTLD_NOLOAD: the same object) to get a handle dlsym can search.
 * dlopen allocates: the guard sends that to glibc. Once per process. */
static hp_cold size_t (*libc_usable_resolve(void))(void *)
{
	size_t (*fn)(void *) = NULL;
	struct link_map *lm = NULL;
	Dl_info info;
	void *h;

	pl_busy++;
	if (dladdr1((void *)__libc_malloc, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm &&
	    (h = dlopen(lm->l_name, RTLD_LAZY | RTLD_NOLOAD)))
		fn = (size_t (*)(void *))dlsym(h, "malloc_usable_size");
	if (fn == &malloc_usable_size)
		fn = NULL;	/* never ourselves */
	if (fn)
		__atomic_store_n(&pl_libc_usable, fn, __ATOMIC_RELEASE);
	else
		hp_log(1, "cannot find glibc's malloc_usable_size: %s", dlerror());
	pl_busy--;
	return fn;
}

static size_t libc_usable(void *ptr)
{
	size_t (*fn)(void *) = __atomic_load_n(&pl_libc_usable, __ATOMIC_ACQUIRE);

	if (unlikely(!fn) && !(fn = libc_usable_resolve()))
		return 0;
	return fn(ptr);
}

/* ------------------------------------------------------------------------
 * the malloc family. The exported functions are thin: the small path is
 * inline, the rest out of line and cold, and internal calls go to static
 * functions rather than through our own PLT entries.
 * ------------------------------------------------------------------------ */

static hp_cold void *malloc_slow(size_t size)
{
	void *p;

	/* glibc fails the too large itself, with its errno */
	if (!pl_ready() || size < threshold() || size > PTRDIFF_MAX)
		return __libc_malloc(size);
	p = pool_alloc(size, 0, false);
	if (likely(p))
		return p;
	p = __libc_malloc(size);
	if (p)
		pl_fallback(size);
	return p;
}

/*
 * The small-object heap's path (HUGEPOOL_THRESHOLD at most HP_HEAP_MAX):
 * straight to this thread's heap once the default pool is set up, with no
 * lock and no shared write; NULL sends the call down the slow path, which
 * sets up the pool, falls back and counts.
 */
static hp_cold __attribute__((noinline)) void *heap_refill(struct hugepool *pool, size_t size)
{
	void *p;

	pl_busy++;
	p = hp_heap_alloc(pool, size, 0, false);
	pl_busy--;
	return p;
}

/* Inline into malloc and calloc: a call and a frame less on every one
 * (class 0 serves size 0 too). */
static inline __attribute__((always_inline)) void *heap_fast(size_t size, bool zero)
{
	struct hugepool *pool = __atomic_load_n(&pl_pool_ptr, __ATOMIC_ACQUIRE);
	void *p;

	if (unlikely(!pool || pl_busy || size > HP_HEAP_MAX) ||
	    unlikely(pl_fork_mark && !*pl_fork_mark))
		return NULL;
	p = hp_heap_alloc_fast(pool, size);
	if (unlikely(!p))
		p = heap_refill(pool, size);
	if (zero && p)
		memset(p, 0, size);
	return p;
}

static inline void *pl_malloc(size_t size)
{
	void *p;

	if (likely(size < threshold()))
		return __libc_malloc(size);
	p = heap_fast(size, false);
	if (likely(p))
		return p;
	return malloc_slow(size);
}

PL_EXPORT void *malloc(size_t size)
{
	return pl_malloc(size);
}

/* A pool block's free that is not the owner's push into its thread cache:
 * the heap's other paths (remote, cache full, span emptied), else the
 * pool's. */
static hp_cold __attribute__((noinline)) void free_slow(struct hp_arena *a, void *ptr)
{
	if (likely(!pl_busy && !(pl_fork_mark && !*pl_fork_mark))) {
		int r = hp_heap_free(a, ptr);

		if (likely(r == 1))
			return;
		if (r == 2) {
			pl_decay(a->pool);
			return;
		}
	}
	pool_free(a, ptr);
}

/* The free of a pool block (a: its arena): an object of the heap's on
 * the heap's inline path, the rest by free_slow. */
static inline void pl_free_in(struct hp_arena *a, void *ptr)
{
	struct hp_span *sp;

	if (likely(!pl_busy && !(pl_fork_mark && !*pl_fork_mark)) &&
	    likely(sp = hp_heap_object(a, ptr))) {
		if (unlikely(hp_heap_free_obj(sp, ptr) == 2))
			pl_decay(a->pool);
		return;
	}
	free_slow(a, ptr);
}

static inline void pl_free(void *ptr)
{
	struct hp_arena *a;

	if (unlikely(!ptr))
		return;
	a = hp_arena_lookup(ptr);
	if (likely(!a)) {
		__libc_free(ptr);
		return;
	}
	pl_free_in(a, ptr);
}

PL_EXPORT void free(void *ptr)
{
	pl_free(ptr);
}

#if defined(__GLIBC_PREREQ) && __GLIBC_PREREQ(2, 43)
/* C23's sized frees (glibc 2.43): glibc's own would hand a pool block to
 * glibc's free. The size is a hint; the address decides. (Exported once
 * lib/libhugepool.map lists them.) */
PL_EXPORT void free_sized(void *ptr, size_t size)
{
	(void)size;
	pl_free(ptr);
}

PL_EXPORT void free_aligned_sized(void *ptr, size_t align, size_t size)
{
	(void)align;
	(void)size;
	pl_free(ptr);
}
#endif

static hp_cold void *calloc_slow(size_t n, size_t size, size_t total)
{
	void *p;

	if (!pl_ready() || total < threshold() || total > PTRDIFF_MAX)
		return __libc_calloc(n, size);
	p = pool_alloc(total, 0, true);
	if (likely(p))
		return p;
	p = __libc_calloc(n, size);
	if (p)
		pl_fallback(total);
	return p;
}

PL_EXPORT void *calloc(size_t n, size_t size)
{
	size_t total;
	void *p;

	/* on overflow glibc fails with ENOMEM: let it */
	if (unlikely(__builtin_mul_overflow(n, size, &total)))
		return __libc_calloc(n, size);
	if (likely(total < threshold()))
		return __libc_calloc(n, size);
	p = heap_fast(total, true);
	if (likely(p))
		return p;
	return calloc_slow(n, size, total);
}

/* A glibc block grows to the threshold or beyond: move it to the pool,
 * copying min(old usable size, new size). */
static hp_cold void *realloc_up(void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (!pl_ready() || size < threshold() || size > PTRDIFF_MAX)
		return __libc_realloc(ptr, size);
	old = libc_usable(ptr);
	if (!old)	/* cannot tell how much to copy: leave it to glibc */
		return __libc_realloc(ptr, size);
	p = pool_alloc(size, 0, false);
	if (!p) {
		p = __libc_realloc(ptr, size);
		if (p)
			pl_fallback(size);
		return p;
	}
	memcpy(p, ptr, old < size ? old : size);
	__libc_free(ptr);
	__atomic_add_fetch(&pl_moves, 1, __ATOMIC_RELAXED);
	return p;
}

/* realloc of a pool block */
static hp_cold void *realloc_pool(struct hp_arena *a, void *ptr, size_t size)
{
	size_t old;
	void *p;

	if (size == 0) {
		/* glibc: realloc(p, 0) frees p and returns NULL */
		pool_free(a, ptr);
		return NULL;
	}
	if (size > PTRDIFF_MAX) {
		errno = ENOMEM;
		return NULL;
	}
	old = pool_usable(a, ptr);
	if (!old) {
		/* not a live block: glibc would abort; refuse it instead */
		hp_log(1, "realloc(%p): not the start of a live block", ptr);
		errno = EINVAL;
		return NULL;
	}
	/* passthrough (a program using the API) keeps pool blocks in the pool */
	if (!pl_ready() || size >= threshold()) {
		int saved = errno;

		fork_check();
		pl_busy++;
		p = hugepool_realloc(NULL, ptr, size);
		pl_busy--;
		if (p)
			return p;
		errno = saved;
		/* no page to grow into: glibc takes the block over (below) */
	}
	/* shrinking below the threshold, or no room in the pool: glibc gets
	 * a copy of min(old usable size, new size) bytes */
	p = __libc_malloc(size);
	if (!p)
		return NULL;	/* ENOMEM; the block is untouched */
	memcpy(p, ptr, old < size ? old : size);
	pool_free(a, ptr);
	if (size >= threshold())
		pl_fallback(size);
	else
		__atomic_add_fetch(&pl_moves, 1, __ATOMIC_RELAXED);
	return p;
}

/*
 * realloc of an object of the default pool's heap to a size the heap
 * serves, by realloc_small's rule (alloc.c: it stays while the new size
 * fits and uses more than half of it, else it moves) but on the inline
 * paths, without the API's second lookup. NULL: not such a case, or no
 * new object to be had inline; realloc_pool then does it all.
 */
static inline void *realloc_heap(struct hp_arena *a, void *ptr, size_t size)
{
	struct hugepool *pool = __atomic_load_n(&pl_pool_ptr, __ATOMIC_ACQUIRE);
	struct hp_span *sp;
	size_t usable;
	void *p;

	if (unlikely(!pool || pl_busy || !size || size < threshold() || size > HP_HEAP_MAX) ||
	    unlikely(pl_fork_mark && !*pl_fork_mark))
		return NULL;
	sp = hp_heap_object(a, ptr);
	if (unlikely(!sp || sp->pool != pool))
		return NULL;
	usable = sp->osize;
	if (size <= usable && size > usable / 2)
		return ptr;
	p = heap_fast(size, false);
	if (unlikely(!p))
		return NULL;
	memcpy(p, ptr, usable < size ? usable : size);
	pl_free_in(a, ptr);
	return p;
}

PL_EXPORT void *realloc(void *ptr, size_t size)
{
	struct hp_arena *a;
	void *p;

	if (unlikely(!ptr))
		return pl_malloc(size);
	a = hp_arena_lookup(ptr);
	if (likely(!a)) {
		if (likely(size < threshold()))
			return __libc_realloc(ptr, size);
		return realloc_up(ptr, size);
	}
	p = realloc_heap(a, ptr, size);
	if (likely(p))
		return p;
	return realloc_pool(a, ptr, size);
}

enum pl_aligned { PL_MEMALIGN, PL_VALLOC, PL_PVALLOC };

/* glibc's own function for a kind of aligned request */
static void *libc_aligned(enum pl_aligned kind, size_t align, size_t size)
{
	switch (kind) {
	case PL_VALLOC:
		return __libc_valloc(size);
	case PL_PVALLOC:
		return __libc_pvalloc(size);
	default:
		return __libc_memalign(align, size);
	}
}

/*
 * Aligned requests of at least the threshold. The alignment is normalised
 * as glibc 2.36's _mid_memalign does: up to MALLOC_ALIGNMENT is plain
 * malloc, one that is not a power of two rounds up to the next, and what
 * the pool cannot take (more than PTRDIFF_MAX: glibc's EINVAL or ENOMEM)
 * goes to glibc, so that errors and errno match glibc's exactly. rsize is
 * the size the pool must provide (pvalloc: whole pages).
 */
static hp_cold void *aligned_slow(enum pl_aligned kind, size_t align, size_t size, size_t rsize)
{
	size_t a = align;
	void *p;

	if (!pl_ready() || rsize < threshold() || rsize > PTRDIFF_MAX || align > PTRDIFF_MAX)
		return libc_aligned(kind, align, size);
	if (a <= PL_MALLOC_ALIGNMENT) {
		a = 0;
	} else if (a & (a - 1)) {
		size_t b = PL_MALLOC_ALIGNMENT * 2;

		while (b < a)
			b <<= 1;
		a = b;
	}
	p = pool_alloc(rsize, a, false);
	if (likely(p))
		return p;
	p = libc_aligned(kind, align, size);
	if (p)
		pl_fallback(rsize);
	return p;
}

static inline void *pl_memalign(size_t align, size_t size)
{
	if (likely(size < threshold()))
		return __libc_memalign(align, size);
	return aligned_slow(PL_MEMALIGN, align, size, size);
}

PL_EXPORT void *memalign(size_t align, size_t size)
{
	return pl_memalign(align, size);
}

PL_EXPORT void *aligned_alloc(size_t align, size_t size)
{
#if defined(__GLIBC_PREREQ) && __GLIBC_PREREQ(2, 38)
	/* glibc 2.38 made aligned_alloc reject what is not a power of two */
	if (align == 0 || (align & (align - 1))) {
		errno = EINVAL;
		return NULL;
	}
#endif
	/* up to glibc 2.37, aligned_alloc is an alias of memalign */
	return pl_memalign(align, size);
}

PL_EXPORT int posix_memalign(void **memptr, size_t align, size_t size)
{
	size_t words = align / sizeof(void *);
	void *p;

	/* a power of two multiple of sizeof(void *); the error is returned,
	 * not put in errno, and *memptr is left alone */
	if (align % sizeof(void *) != 0 || (words & (words - 1)) || align == 0)
		return EINVAL;
	p = pl_memalign(align, size);
	if (!p)
		return ENOMEM;
	*memptr = p;
	return 0;
}

PL_EXPORT void *valloc(size_t size)
{
	if (likely(size < threshold()))
		return __libc_valloc(size);
	return aligned_slow(PL_VALLOC, pl_pagesize, size, size);
}

PL_EXPORT void *pvalloc(size_t size)
{
	size_t rounded;

	/* whole pages; an overflow is glibc's ENOMEM. glibc rounds the size
	 * its own way when it serves it, so it gets the caller's size. */
	if (__builtin_add_overflow(size, pl_pagesize - 1, &rounded))
		return __libc_pvalloc(size);
	rounded &= ~(pl_pagesize - 1);
	if (likely(rounded < threshold()))
		return __libc_pvalloc(size);
	return aligned_slow(PL_PVALLOC, pl_pagesize, size, rounded);
}

PL_EXPORT size_t malloc_usable_size(void *ptr)
{
	struct hp_arena *a;

	if (!ptr)
		return 0;
	a = hp_arena_lookup(ptr);
	if (likely(!a))
		return libc_usable(ptr);
	return pool_usable(a, ptr);
}

/* ------------------------------------------------------------------------
 * HUGEPOOL_STATS at exit
 * ------------------------------------------------------------------------ */

/*
 * HUGEPOOL_STATS_FILE with "%p" replaced by the pid, opened for append:
 * children that exit() print too, and must not clobber each other.
 *
 * The path may lie in a directory that others can write (/var/tmp, the
 * pattern hugepool(7) shows), and root runs programs with it too (issue 12,
 * finding 3). So: no symlink is followed (O_NOFOLLOW), a new file is 0600,
 * a FIFO does not block us (O_NONBLOCK), and a file that exists must be a
 * regular file of our euid, as fs.protected_regular has it: otherwise we
 * say so in one line and the stats go to stderr.
 */
static int stats_open(const char *tmpl)
{
	char path[4096], num[24];
	struct stat st;
	size_t n = 0;
	int fd, ret;

	for (const char *s = tmpl; *s && n < sizeof(path) - 24; s++) {
		if (s[0] == '%' && s[1] == 'p') {
			size_t k = hp_fmt_ulong(num, (unsigned long)getpid());

			memcpy(path + n, num, k);
			n += k;
			s++;
		} else if (s[0] == '%' && s[1] == '%') {
			path[n++] = '%';
			s++;
		} else {
			path[n++] = *s;
		}
	}
	path[n] = '\0';
	fd = hp_sys_open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY |
			 O_NOFOLLOW | O_NONBLOCK, 0600);
	if (fd < 0) {
		hp_log(0, "cannot open HUGEPOOL_STATS_FILE=\"%s\": %s; stats go to stderr",
		       path, fd == -ELOOP ? "it is a symbolic link" : hp_errstr(-fd));
		return -1;
	}
	ret = hp_sys_fstat(fd, &st);
	if (!ret && (!S_ISREG(st.st_mode) || st.st_uid != geteuid())) {
		if (!S_ISREG(st.st_mode))
			hp_log(0, "refusing HUGEPOOL_STATS_FILE=\"%s\": not a regular file; "
			       "stats go to stderr", path);
		else
			hp_log(0, "refusing HUGEPOOL_STATS_FILE=\"%s\": owned by uid %lu, not by "
			       "uid %lu; stats go to stderr", path, (unsigned long)st.st_uid,
			       (unsigned long)geteuid());
		hp_sys_close(fd);
		return -1;
	}
	if (ret) {
		hp_sys_close(fd);
		return -1;
	}
	return fd;
}

/* HUGEPOOL_SEGMENTS in the exit report: bytes of each kind on huge pages,
 * of those the program has, and the segments left on base pages. */
static void pl_segments_line(int fd)
{
	const struct hp_seg_stats *s = &hp_seg_stats;
	char line[256];
	int n = snprintf(line, sizeof(line), "segments: text %zu of %zu, data %zu of %zu, bss %zu "
			 "of %zu bytes on huge pages; %lu segments moved, %lu refused\n",
			 s->moved[0], s->total[0], s->moved[1], s->total[1], s->moved[2],
			 s->total[2], s->segments, s->refused);

	if (n > 0)
		hp_sys_write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void pl_shm_line(int fd)
{
	unsigned long huge, fallbacks;
	char line[128];
	int n;

	hp_shm_counts(&huge, &fallbacks);
	n = snprintf(line, sizeof(line), "shm: %lu SysV segments on huge pages, %lu shm "
		     "fallbacks\n", huge, fallbacks);
	if (n > 0)
		hp_sys_write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/*
 * A destructor rather than atexit: it needs no registration from inside
 * malloc (atexit takes a libc lock that a malloc may run under) and runs
 * after the program's own atexit handlers and C++ static destructors, so
 * the numbers include their frees. _exit and signals print nothing.
 */
__attribute__((destructor)) static void pl_fini(void)
{
	int fd = STDERR_FILENO, saved = errno;
	bool active = __atomic_load_n(&pl_active, __ATOMIC_RELAXED);

	/* only a process that used a pool, or wanted to (a fallback), has
	 * something to say: `hugepool-ctl run --stats -- python3` runs many
	 * helper processes that never allocate a large block */
	if (!threshold() || !hp_opt.stats ||
	    (!hp_pools && !pl_fallbacks && !hp_seg_stats.tried && !hp_opt.shm))
		return;
	pl_busy++;
	/* in a setuid program hp_opt has no stats and no file: options.c
	 * ignores the caller's environment there (AT_SECURE) */
	if (hp_opt.stats_file && *hp_opt.stats_file) {
		fd = stats_open(hp_opt.stats_file);
		if (fd < 0)
			fd = STDERR_FILENO;
	}
	hp_stats_write(NULL, fd, hp_opt.stats == 2 ? HUGEPOOL_STATS_JSON : 0);
	if (hp_opt.stats == 1) {
		struct hugepool *pool = pl_pool_ptr;
		unsigned long objs = 0;
		char line[256];
		int n;

		if (pool) {
			hp_pool_lock(pool);
			objs = (unsigned long)hp_heap_objects(pool);
			hp_pool_op_end(pool);
		}
		n = snprintf(line, sizeof(line),
			     "preload: %s, threshold %zu, pool blocks %lu, heap objects %lu, "
			     "glibc fallbacks %lu, realloc moves %lu\n",
			     active ? "on" : "off (passthrough)", active ? hp_opt.threshold : 0,
			     pl_pool_blocks, objs, pl_fallbacks, pl_moves);

		if (n > 0)
			hp_sys_write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		if (hp_seg_stats.tried)
			pl_segments_line(fd);
		if (hp_opt.shm)
			pl_shm_line(fd);
	}
	if (fd != STDERR_FILENO)
		close(fd);
	pl_busy--;
	errno = saved;
}

#endif /* HP_PRELOAD */
