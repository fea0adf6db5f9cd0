/* SPDX-License-Identifier: MIT */
/*
 * fault-inject.c - every kernel call the library makes, failed in turn with
 * every errno that call can return, through every public entry point.
 *
 * The library makes all its kernel calls through the seam in lib/sys.c,
 * which asks hp_sys_inject before each one. The injector here fails the
 * k-th call of one type (mmap, munmap, ...) with one errno. For each
 * scenario (an entry point in a given state: a malloc that needs fresh
 * pages, a realloc that must move, a populate of a shared NORESERVE
 * region, a destroy with blocks and regions left...), each call type and
 * each errno, k runs from 1 until the operation completes without making a
 * k-th call of that type, so every call an operation makes is failed once.
 * Each such case starts from a fresh state and checks:
 *
 *  - the operation returns its documented error: NULL + ENOMEM for the
 *    allocators and constructors, -ENOMEM for resize/populate/release,
 *    -errno of the failed call for counters and stats that only read or
 *    write; int/long-returning calls leave errno alone, free preserves it;
 *  - nothing leaks or changes: the pool's counters are as before the call
 *    (populate and release may keep what they finished: the counters must
 *    then agree with what the region holds), the pool invariants hold
 *    (hp_pool_check), the mappings of /proc/self/maps are as many as
 *    before, the huge pages this process maps (HugetlbPages) equal what its
 *    pools count, and live blocks keep their contents;
 *  - the next call works: the same operation, not failed, succeeds;
 *  - after the case's pools are destroyed, mappings and the kernel's
 *    free/resv/nr/surplus counters are back at their baseline.
 *
 * A failure the library absorbs (an operation that succeeds anyway, e.g. a
 * failed MADV_NOHUGEPAGE hint) must leave the same invariants. Each failed
 * call is attributed to its call site (the return address into the
 * library, named with addr2line), and the run ends with a table per call:
 * sites x errnos, cases, passes.
 *
 * FAULT_ONLY=<scenario> runs one scenario; FAULT_VERBOSE=1 prints every
 * case. Exit status 0 (all passed), 1, or 77 without huge pages.
 */
#include "fault.h"

#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <sys/mman.h>

static size_t psz;			/* 2 MiB */
static bool verbose;

/* ------------------------------------------------------------------------
 * what each call can return (the man pages' ERRORS, as far as they can
 * happen for the way the library calls it; EINTR where a call can be
 * interrupted and the seam does not retry)
 * ------------------------------------------------------------------------ */
#define MAX_ERRS 10
static const struct {
	enum hp_sys_call call;
	int errs[MAX_ERRS];
} errtab[] = {
	{ HP_SYS_MMAP, { ENOMEM, EINVAL, EAGAIN, EPERM, EEXIST, ENODEV, EACCES, EBADF, EOVERFLOW } },
	{ HP_SYS_MUNMAP, { EINVAL, ENOMEM, EPERM } },
	{ HP_SYS_MREMAP, { ENOMEM, EINVAL, EFAULT, EAGAIN, EPERM } },
	{ HP_SYS_MADVISE, { ENOMEM, EINVAL, EFAULT, EAGAIN, EPERM, EIO, EINTR, EHWPOISON } },
	{ HP_SYS_MBIND, { EFAULT, EINVAL, EIO, ENOMEM, EPERM } },
	{ HP_SYS_SET_MEMPOLICY, { EFAULT, EINVAL, ENOMEM } },
	{ HP_SYS_GET_MEMPOLICY, { EFAULT, EINVAL } },
	{ HP_SYS_MOVE_PAGES, { E2BIG, EACCES, EFAULT, EINVAL, ENODEV, ENOENT, EPERM, ESRCH, ENOMEM } },
	{ HP_SYS_MEMFD_CREATE, { EFAULT, EINVAL, EMFILE, ENFILE, ENOMEM, EPERM } },
	{ HP_SYS_FALLOCATE, { ENOSPC, ENOMEM, EINVAL, EINTR, EIO, EPERM, EOPNOTSUPP, EFBIG, EBADF } },
	{ HP_SYS_FTRUNCATE, { EINVAL, EFBIG, EINTR, EIO, EPERM, EBADF, ETXTBSY } },
	{ HP_SYS_OPEN, { EACCES, EMFILE, ENFILE, ENOENT, ENOMEM, EINTR } },
	{ HP_SYS_READ, { EIO, EAGAIN, EINTR } },
	{ HP_SYS_WRITE, { EIO, ENOSPC, EPIPE, EAGAIN, EBADF, EDQUOT } },
	{ HP_SYS_FCNTL, { EBUSY, EINVAL, EPERM, EMFILE } },
	{ HP_SYS_IO_URING_REGISTER, { ENOMEM, EFAULT, EBUSY, EINVAL, EINTR } },
	{ HP_SYS_MPROTECT, { ENOMEM, EINVAL, EACCES } },
	{ HP_SYS_SHMGET, { ENOMEM, EPERM, ENOSPC, EINVAL } },
};

static int nerrs(int t)
{
	int n = 0;

	while (n < MAX_ERRS && errtab[t].errs[n])
		n++;
	return n;
}

/* ------------------------------------------------------------------------
 * results, in shared memory: some scenarios run each case in a child
 * ------------------------------------------------------------------------ */
#define MAX_SITES 256

struct site {
	uintptr_t pc;			/* return address into the library */
	int call;
	unsigned long cases[MAX_ERRS], passed[MAX_ERRS];
};

struct results {
	struct site sites[MAX_SITES];
	int nsites;
	unsigned long cases, passed, absorbed, failed;
	unsigned long per_call_cases[HP_SYS_NR_CALLS];
	unsigned long per_call_passed[HP_SYS_NR_CALLS];
	unsigned long per_call_kmax[HP_SYS_NR_CALLS];	/* largest k that fired */
	unsigned long scenarios_with_calls[HP_SYS_NR_CALLS];
	unsigned long kept_resv;	/* absorbed cases that kept a kernel reservation */
	unsigned long kept_pages;	/* ... or a kernel page (shared pools' file) */
	long child_seen[HP_SYS_NR_CALLS];	/* what a child's case saw */
	bool child_fired;
};
static struct results *res;

/* ------------------------------------------------------------------------
 * the injector
 * ------------------------------------------------------------------------ */
static struct {
	bool armed;
	int call;		/* -1: count only */
	long k;
	int err;
	int pre_call, pre_err;	/* scenario.pre_call: failed, not counted */
	bool pre_done;
	long seen[HP_SYS_NR_CALLS];
	bool fired;
	uintptr_t pc;
} inj;
static pthread_t main_thread;
static pid_t main_pid;

static int inject(enum hp_sys_call call)
{
	void *bt[4];

	/* only the thread under test (a decay thread must not shift k) */
	if (!inj.armed || !pthread_equal(pthread_self(), main_thread))
		return 0;
	if (inj.pre_err && (int)call == inj.pre_call && !inj.pre_done) {
		inj.pre_done = true;
		return -inj.pre_err;
	}
	inj.seen[call]++;
	if ((int)call != inj.call || inj.seen[call] != inj.k)
		return 0;
	inj.fired = true;
	/* bt[0] is here, bt[1] the hp_sys_* wrapper, bt[2] its caller */
	inj.pc = backtrace(bt, 3) == 3 ? (uintptr_t)bt[2] : 0;
	return -inj.err;
}

static int cur_pre_call, cur_pre_err;	/* the scenario's pre_call, pre_err */

static void arm(int call, long k, int err)
{
	memset(&inj, 0, sizeof(inj));
	inj.call = call;
	inj.k = k;
	inj.err = err;
	inj.pre_call = cur_pre_call;
	inj.pre_err = cur_pre_err;
	inj.armed = true;
}

static void disarm(void)
{
	inj.armed = false;
}

/* ------------------------------------------------------------------------
 * a case's state
 * ------------------------------------------------------------------------ */
#define MAX_BLK 8
#define STRIDE	512		/* pattern: one word per 4 KiB */

struct blk {
	void *p;
	size_t n;
	uint64_t seed;
};

struct ctx {
	struct hugepool *pool;		/* the pool under test */
	struct hugepool *sub;		/* a subpool of it */
	struct hugepool *made;		/* made by the operation */
	struct hugepool_region *r;	/* set up for the operation */
	struct hugepool_region *rmade;	/* made by the operation */
	struct blk b[MAX_BLK];
	int nb;
	int target;			/* index of the block the op works on */
	int devnull;
	const char *why;		/* what a successful op found wrong */
};

static uint64_t seed_ctr = 1;

static int blk_add(struct ctx *c, void *p, size_t n)
{
	struct blk *b;

	CHECK(c->nb < MAX_BLK);
	b = &c->b[c->nb];
	b->p = p;
	b->n = n;
	b->seed = seed_ctr++;
	pat_fill(p, n, b->seed, n >= 64 * KB ? STRIDE : 1);
	return c->nb++;
}

static bool blks_ok(const struct ctx *c)
{
	int i;

	for (i = 0; i < c->nb; i++)
		if (c->b[i].p && !pat_ok(c->b[i].p, c->b[i].n, c->b[i].seed,
					 c->b[i].n >= 64 * KB ? STRIDE : 1))
			return false;
	return true;
}

static struct hugepool *mkpool(size_t min, size_t max, unsigned int flags,
			       enum hugepool_policy pol, long decay)
{
	struct hugepool_config cfg = { .page_size = psz, .min_pages = min, .max_pages = max,
				       .flags = flags, .policy = pol,
				       .nodes = pol != HUGEPOOL_POLICY_DEFAULT ? "0" : NULL };
	struct hugepool *p = hugepool_create(&cfg);

	CHECK(p);
	CHECK(hugepool_set_decay_ms(p, decay) >= -1);
	return p;
}

static void *xmalloc(struct ctx *c, struct hugepool *p, size_t n)
{
	void *m = hugepool_malloc(p, n);

	CHECK(m);
	c->target = blk_add(c, m, n);
	return m;
}

static struct hugepool_region *xregion(struct hugepool *p, size_t pages, unsigned int flags,
				       size_t populate)
{
	struct hugepool_region *r = hugepool_region_reserve(p, pages * psz, flags);

	CHECK(r);
	if (populate)
		CHECK(hugepool_region_populate(r, 0, populate * psz) == (long)populate);
	if (populate)
		pat_fill(hugepool_region_addr(r), populate * psz, 7, STRIDE);
	return r;
}

/* ------------------------------------------------------------------------
 * scenarios: set up (not failed), then the operation (failed)
 *
 * An operation returns 0 on success, else the errno its entry point
 * reported; -1 if it broke the entry point's conventions (NULL without
 * errno, errno changed by an int-returning call, wrong results).
 * ------------------------------------------------------------------------ */
#define SENTINEL 4242		/* an errno value no call sets */

static int ret_ptr(struct ctx *c, void *p)
{
	if (p)
		return 0;
	if (!errno) {
		c->why = "NULL without errno";
		return -1;
	}
	return errno;
}

static int ret_long(struct ctx *c, long v)
{
	if (errno != SENTINEL) {
		c->why = "errno changed by a call that returns -errno";
		return -1;
	}
	return v < 0 ? (int)-v : 0;
}

/* --- constructors --- */
static int create_cfg(struct ctx *c, size_t min, unsigned int flags, enum hugepool_policy pol)
{
	struct hugepool_config cfg = { .page_size = psz, .min_pages = min, .flags = flags,
				       .policy = pol,
				       .nodes = pol != HUGEPOOL_POLICY_DEFAULT ? "0" : NULL };
	struct hugepool_counters k;

	errno = 0;
	c->made = hugepool_create(&cfg);
	if (!c->made)
		return ret_ptr(c, NULL);
	if (hugepool_counters(c->made, HUGEPOOL_NODE_ANY, &k) || k.nr_pages != min) {
		c->why = "pool created without its min_pages";
		return -1;
	}
	hugepool_set_decay_ms(c->made, -1);
	return 0;
}

static int op_create(struct ctx *c) { return create_cfg(c, 2, 0, HUGEPOOL_POLICY_DEFAULT); }
static int op_create_shared(struct ctx *c) { return create_cfg(c, 2, HUGEPOOL_SHARED, 0); }
static int op_create_fallback(struct ctx *c) { return create_cfg(c, 1, HUGEPOOL_FALLBACK, 0); }
static int op_create_bind(struct ctx *c) { return create_cfg(c, 2, 0, HUGEPOOL_POLICY_BIND); }
static int op_create_preferred(struct ctx *c) { return create_cfg(c, 2, 0, HUGEPOOL_POLICY_PREFERRED); }
static int op_create_interleave(struct ctx *c) { return create_cfg(c, 2, 0, HUGEPOOL_POLICY_INTERLEAVE); }

static void setup_pool(struct ctx *c) { c->pool = mkpool(0, 0, 0, 0, -1); }
static void setup_pool1(struct ctx *c) { c->pool = mkpool(1, 0, 0, 0, -1); }
static void setup_shared(struct ctx *c) { c->pool = mkpool(0, 0, HUGEPOOL_SHARED, 0, -1); }
static void setup_bind(struct ctx *c) { c->pool = mkpool(0, 0, 0, HUGEPOOL_POLICY_BIND, -1); }
static void setup_preferred(struct ctx *c) { c->pool = mkpool(0, 0, 0, HUGEPOOL_POLICY_PREFERRED, -1); }
static void setup_interleave(struct ctx *c) { c->pool = mkpool(0, 0, 0, HUGEPOOL_POLICY_INTERLEAVE, -1); }

static int op_subpool(struct ctx *c)
{
	errno = 0;
	c->made = hugepool_subpool(c->pool, 3, 6);
	return ret_ptr(c, c->made);
}

/* --- resize --- */
static int op_resize_grow(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_resize(c->pool, 3, 8));
}

static void setup_pool3_decay0(struct ctx *c) { c->pool = mkpool(3, 0, 0, 0, 0); }

static int op_resize_shrink(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_resize(c->pool, 1, 0));
}

static void setup_sub(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->sub = hugepool_subpool(c->pool, 0, 6);
	CHECK(c->sub);
}

static int op_resize_sub(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_resize(c->sub, 3, 6));
}

/* --- destroy: with blocks and regions still there --- */
static void fill_pool(struct ctx *c, struct hugepool *p)
{
	struct hugepool_region *r;

	xmalloc(c, p, 3 * psz);
	xmalloc(c, p, 64 * KB);
	r = xregion(p, 2, 0, 2);
	(void)r;	/* left for destroy to free */
	r = xregion(p, 3, HUGEPOOL_REGION_NORESERVE, 1);
	(void)r;
}

static void setup_destroy(struct ctx *c)
{
	c->pool = mkpool(1, 0, 0, 0, -1);
	fill_pool(c, c->pool);
	c->nb = 0;		/* destroy takes the blocks */
}

static void setup_destroy_shared(struct ctx *c)
{
	c->pool = mkpool(1, 0, HUGEPOOL_SHARED, 0, -1);
	fill_pool(c, c->pool);
	c->nb = 0;
}

static int op_destroy(struct ctx *c)
{
	long ret;

	errno = SENTINEL;
	ret = hugepool_destroy(c->pool);
	if (!ret)
		c->pool = NULL;
	return ret_long(c, ret);
}

static void setup_destroy_sub(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, 0);
	c->sub = hugepool_subpool(c->pool, 1, 8);
	CHECK(c->sub);
	fill_pool(c, c->sub);
	c->nb = 0;
}

static int op_destroy_sub(struct ctx *c)
{
	long ret;

	errno = SENTINEL;
	ret = hugepool_destroy(c->sub);
	if (!ret)
		c->sub = NULL;
	return ret_long(c, ret);
}

/* --- the malloc family --- */
static int alloc_into(struct ctx *c, struct hugepool *p, size_t n, size_t align, bool zero)
{
	void *m;

	errno = 0;
	if (zero)
		m = hugepool_calloc(p, 1, n);
	else if (align)
		m = hugepool_aligned_alloc(p, align, n);
	else
		m = hugepool_malloc(p, n);
	if (!m)
		return ret_ptr(c, m);
	if (hugepool_usable_size(m) < n || hugepool_owner(m) != p) {
		c->why = "block too small or not owned by its pool";
		return -1;
	}
	if (align && (uintptr_t)m % align) {
		c->why = "block not aligned";
		return -1;
	}
	if (zero) {
		const uint64_t *w = m;
		size_t i;

		for (i = 0; i < n / 8; i += 64)
			if (w[i]) {
				c->why = "calloc block not zero";
				return -1;
			}
	}
	blk_add(c, m, n);
	return 0;
}

static int op_malloc_small(struct ctx *c) { return alloc_into(c, c->pool, 100 * KB, 0, false); }
static int op_malloc_large(struct ctx *c) { return alloc_into(c, c->pool, 5 * MB, 0, false); }
static int op_malloc_sub(struct ctx *c) { return alloc_into(c, c->sub, 3 * psz, 0, false); }
static int op_aligned(struct ctx *c) { return alloc_into(c, c->pool, 3 * MB, 8 * MB, false); }
static int op_aligned_small(struct ctx *c) { return alloc_into(c, c->pool, 20 * KB, 64 * KB, false); }
static int op_calloc(struct ctx *c) { return alloc_into(c, c->pool, 4 * psz, 0, true); }

static void setup_sub_min(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->sub = hugepool_subpool(c->pool, 1, 8);
	CHECK(c->sub);
}

/* free pages that were used before (dirty): calloc must zero them */
static void setup_dirty(struct ctx *c)
{
	void *p;

	c->pool = mkpool(0, 0, 0, 0, -1);
	p = hugepool_malloc(c->pool, 2 * psz);
	CHECK(p);
	memset(p, 0xa5, 2 * psz);
	hugepool_free(p);
}

/* a pool at its max whose three free pages are single pages between live
 * blocks: a run of three is gathered from them (pool-gather.c) */
static void setup_scattered(struct ctx *c)
{
	void *p[6];
	int i;

	c->pool = mkpool(0, 6, 0, 0, -1);
	for (i = 0; i < 6; i++) {
		p[i] = hugepool_malloc(c->pool, psz);
		CHECK(p[i]);
		memset(p[i], 0xa5, psz);
	}
	for (i = 0; i < 6; i += 2)
		hugepool_free(p[i]);
	for (i = 1; i < 6; i += 2)
		blk_add(c, p[i], psz);
}

static int op_malloc_gather(struct ctx *c) { return alloc_into(c, c->pool, 3 * psz, 0, true); }

/* the place a straddling block left, its run given back to the kernel
 * (decay 0): the next one's run is faulted in there (hp_pool_fill_at) */
static void setup_straddle_left(struct ctx *c)
{
	void *a;

	c->pool = mkpool(0, 0, 0, 0, 0);
	a = hugepool_malloc(c->pool, 2 * psz + 300 * KB);
	CHECK(a);
	xmalloc(c, c->pool, 100 * KB);	/* keeps the fragment's page */
	hugepool_free(a);
}

static int op_malloc_straddle(struct ctx *c)
{
	return alloc_into(c, c->pool, psz + 200 * KB, 0, false);
}

/* a fallback pool whose huge pages are used up (max_pages) */
static void setup_fallback(struct ctx *c)
{
	c->pool = mkpool(0, 1, HUGEPOOL_FALLBACK, 0, -1);
	xmalloc(c, c->pool, psz);
}

static int op_malloc_fb_large(struct ctx *c)
{
	int ret = alloc_into(c, c->pool, 3 * MB, 0, false);

	if (!ret && hugepool_owner(c->b[c->nb - 1].p) != c->pool) {
		c->why = "fallback block not owned by its pool";
		return -1;
	}
	return ret;
}

static int op_malloc_fb_small(struct ctx *c) { return alloc_into(c, c->pool, 64 * KB, 0, false); }

/* --- realloc --- */
static int realloc_target(struct ctx *c, size_t n)
{
	struct blk *b = &c->b[c->target];
	size_t keep = b->n < n ? b->n : n;
	void *np;

	errno = 0;
	np = hugepool_realloc(c->pool, b->p, n);
	if (!np)
		return ret_ptr(c, np);	/* the block must be intact: blks_ok */
	if (!pat_ok(np, keep, b->seed, keep >= 64 * KB ? STRIDE : 1)) {
		c->why = "realloc lost the contents";
		return -1;
	}
	if (hugepool_usable_size(np) < n) {
		c->why = "realloc block too small";
		return -1;
	}
	b->p = np;
	b->n = n;
	pat_fill(np, n, b->seed, n >= 64 * KB ? STRIDE : 1);
	return 0;
}

static void setup_realloc(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	xmalloc(c, c->pool, 2 * psz);
}

/* a block right after the target keeps it from growing in place */
static void setup_realloc_blocked(struct ctx *c)
{
	void *p, *q;
	int t;

	c->pool = mkpool(0, 0, 0, 0, -1);
	p = xmalloc(c, c->pool, 2 * psz);
	t = c->target;
	q = xmalloc(c, c->pool, psz);
	CHECK((char *)q == (char *)p + 2 * psz);
	c->target = t;
}

static void setup_realloc_blocked_shared(struct ctx *c)
{
	int t;

	c->pool = mkpool(0, 0, HUGEPOOL_SHARED, 0, -1);
	xmalloc(c, c->pool, 2 * psz);
	t = c->target;
	xmalloc(c, c->pool, psz);
	c->target = t;
}

static void setup_realloc_shrink(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, 0);
	xmalloc(c, c->pool, 4 * psz);
}

static void setup_realloc_small(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	xmalloc(c, c->pool, 100 * KB);
}

static int op_realloc_grow(struct ctx *c) { return realloc_target(c, 4 * psz); }
static int op_realloc_move(struct ctx *c) { return realloc_target(c, 5 * psz); }
static int op_realloc_shrink(struct ctx *c) { return realloc_target(c, psz + 8); }
static int op_realloc_up(struct ctx *c) { return realloc_target(c, 3 * MB); }

/* --- free: returns nothing, preserves errno, gives the pages back --- */
static void setup_free_large(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, 0);
	xmalloc(c, c->pool, 3 * psz);
}

static void setup_free_small(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, 0);
	xmalloc(c, c->pool, 64 * KB);
}

static void setup_free_shared(struct ctx *c)
{
	c->pool = mkpool(0, 0, HUGEPOOL_SHARED, 0, 0);
	xmalloc(c, c->pool, 3 * psz);
}

static void setup_free_fallback(struct ctx *c)
{
	c->pool = mkpool(0, 1, HUGEPOOL_FALLBACK, 0, 0);
	xmalloc(c, c->pool, psz);
	xmalloc(c, c->pool, 3 * MB);	/* base pages: the pool is at max */
}

static int op_free(struct ctx *c)
{
	struct blk *b = &c->b[c->target];

	errno = SENTINEL;
	hugepool_free(b->p);
	if (errno != SENTINEL) {
		c->why = "free changed errno";
		return -1;
	}
	if (hugepool_usable_size(b->p)) {
		c->why = "block still live after free";
		return -1;
	}
	b->p = NULL;
	return 0;
}

/* a shorter decay gives back the pool's unused surplus pages at once */
static int op_set_decay(struct ctx *c)
{
	long ret;

	errno = SENTINEL;
	ret = hugepool_set_decay_ms(c->pool, 0);
	if (ret != -1) {
		c->why = "set_decay_ms did not return the previous value";
		return -1;
	}
	return ret_long(c, 0);
}

static void setup_trim(struct ctx *c)
{
	void *p;

	c->pool = mkpool(0, 0, 0, 0, -1);
	p = hugepool_malloc(c->pool, 3 * psz);
	CHECK(p);
	hugepool_free(p);
}

static int op_trim(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_trim(c->pool));
}

/* --- regions --- */
static int reserve(struct ctx *c, size_t pages, unsigned int flags)
{
	errno = 0;
	c->rmade = hugepool_region_reserve(c->pool, pages * psz, flags);
	if (!c->rmade)
		return ret_ptr(c, NULL);
	if (flags & HUGEPOOL_REGION_POPULATE)
		pat_fill(hugepool_region_addr(c->rmade), pages * psz, 9, STRIDE);
	return 0;
}

static int op_reserve(struct ctx *c) { return reserve(c, 3, 0); }
static int op_reserve_populate(struct ctx *c) { return reserve(c, 3, HUGEPOOL_REGION_POPULATE); }
static int op_reserve_noreserve(struct ctx *c) { return reserve(c, 4, HUGEPOOL_REGION_NORESERVE); }
static int op_reserve_nr_populate(struct ctx *c)
{
	return reserve(c, 3, HUGEPOOL_REGION_NORESERVE | HUGEPOOL_REGION_POPULATE);
}

static void setup_region(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->r = xregion(c->pool, 3, 0, 0);
}

static void setup_region_nr(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->r = xregion(c->pool, 3, HUGEPOOL_REGION_NORESERVE, 0);
}

static void setup_region_nr_shared(struct ctx *c)
{
	c->pool = mkpool(0, 0, HUGEPOOL_SHARED, 0, -1);
	c->r = xregion(c->pool, 3, HUGEPOOL_REGION_NORESERVE, 0);
}

static void setup_region_pop(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->r = xregion(c->pool, 3, 0, 3);
}

static void setup_region_nr_pop(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->r = xregion(c->pool, 3, HUGEPOOL_REGION_NORESERVE, 3);
}

static void setup_region_nr_pop_decay0(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, 0);
	c->r = xregion(c->pool, 3, HUGEPOOL_REGION_NORESERVE, 3);
}

static void setup_region_pop_decay0(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, 0);
	c->r = xregion(c->pool, 3, 0, 3);
}

static void setup_region_nr_pop_shared(struct ctx *c)
{
	c->pool = mkpool(0, 0, HUGEPOOL_SHARED, 0, -1);
	c->r = xregion(c->pool, 3, HUGEPOOL_REGION_NORESERVE, 3);
}

/* populate and release keep what they finished before a failure: the
 * counters are checked against the region instead (see check_partial) */
static int op_populate(struct ctx *c)
{
	long ret;

	errno = SENTINEL;
	ret = hugepool_region_populate(c->r, 0, 3 * psz);
	if (ret >= 0)
		pat_fill(hugepool_region_addr(c->r), 3 * psz, 11, STRIDE);
	return ret_long(c, ret);
}

static int op_release(struct ctx *c)
{
	long before = hp_region_populated(c->r, 0, 3), ret;

	errno = SENTINEL;
	ret = hugepool_region_release(c->r, 0, 3 * psz);
	if (ret >= 0 && hp_region_populated(c->r, 0, 3) != before - ret) {
		c->why = "release count does not match the region";
		return -1;
	}
	/* a release that gave back only part of the range reports what it
	 * did; for this test that is a failure of the rest, and the next
	 * call must release it */
	if (ret >= 0 && ret < before) {
		if (errno != SENTINEL) {
			c->why = "errno changed by a call that returns -errno";
			return -1;
		}
		return ENOMEM;
	}
	return ret_long(c, ret);
}

static int op_region_free(struct ctx *c)
{
	long ret;

	errno = SENTINEL;
	ret = hugepool_region_free(c->r);
	if (!ret)
		c->r = NULL;
	return ret_long(c, ret);
}

/* --- counters and stats --- */
static int op_counters(struct ctx *c)
{
	struct hugepool_counters k;
	long ret;

	errno = SENTINEL;
	ret = hugepool_counters(c->pool, HUGEPOOL_NODE_ANY, &k);
	if (!ret)
		ret = hugepool_counters(c->pool, 0, &k);
	return ret_long(c, ret);
}

static int op_kernel_counters(struct ctx *c)
{
	struct hugepool_counters k;
	long ret;

	errno = SENTINEL;
	ret = hugepool_kernel_counters(psz, HUGEPOOL_NODE_ANY, &k);
	if (!ret)
		ret = hugepool_kernel_counters(psz, 0, &k);
	return ret_long(c, ret);
}

static int op_page_sizes(struct ctx *c)
{
	size_t sizes[8];
	int n;

	errno = SENTINEL;
	n = hugepool_page_sizes(sizes, 8);
	if (n >= 1 && sizes[0] > sizes[n > 1 ? 1 : 0]) {
		c->why = "page sizes not ascending";
		return -1;
	}
	return ret_long(c, n);
}

static void setup_stats(struct ctx *c)
{
	c->pool = mkpool(1, 0, 0, 0, -1);
	xmalloc(c, c->pool, 64 * KB);
	c->devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	CHECK(c->devnull >= 0);
}

static int op_stats_text(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_stats_print(c->pool, c->devnull, 0));
}

static int op_stats_json(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_stats_print(c->pool, c->devnull, HUGEPOOL_STATS_JSON));
}

static int op_stats_all(struct ctx *c)
{
	errno = SENTINEL;
	return ret_long(c, hugepool_stats_print(NULL, c->devnull, HUGEPOOL_STATS_JSON));
}

/* --- in a forked child: pages inherited copy-on-write are made private
 * (MADV_POPULATE_WRITE) before the child hands them out --- */
static void setup_fork_free(struct ctx *c)
{
	c->pool = mkpool(3, 0, 0, 0, -1);
}

static int op_fork_malloc(struct ctx *c) { return alloc_into(c, c->pool, 2 * psz, 0, false); }
static int op_fork_small(struct ctx *c) { return alloc_into(c, c->pool, 64 * KB, 0, false); }

static void setup_fork_region(struct ctx *c)
{
	c->pool = mkpool(0, 0, 0, 0, -1);
	c->r = xregion(c->pool, 3, 0, 0);
}

static void setup_fork_region_nr(struct ctx *c)
{
	c->pool = mkpool(3, 0, 0, 0, -1);
	c->r = xregion(c->pool, 3, HUGEPOOL_REGION_NORESERVE, 0);
}

static void setup_fork_realloc(struct ctx *c)
{
	void *p;

	/* free pages right after the block: it grows in place onto pages
	 * inherited from the parent */
	c->pool = mkpool(0, 0, 0, 0, -1);
	p = hugepool_malloc(c->pool, 4 * psz);
	CHECK(p);
	hugepool_free(p);
	xmalloc(c, c->pool, 2 * psz);
}

/* --- the default pool, created on first use (in a child: it is made
 * once per process) --- */
static int op_default_malloc(struct ctx *c)
{
	void *m;

	errno = 0;
	m = hugepool_malloc(NULL, 3 * MB);
	if (!m)
		return ret_ptr(c, NULL);
	blk_add(c, m, 3 * MB);
	return 0;
}

static int op_default_region(struct ctx *c)
{
	errno = 0;
	c->rmade = hugepool_region_reserve(NULL, 2 * psz, HUGEPOOL_REGION_POPULATE);
	return ret_ptr(c, c->rmade);
}

/* ------------------------------------------------------------------------
 * the scenario table
 * ------------------------------------------------------------------------ */
enum {
	A_ENOMEM = 1,		/* the documented allocation failure */
	A_INJECTED = 2,		/* -errno of the call that failed (counters, stats) */
	A_EIO = 4,		/* hp_sys_read_file reports a failed read as EIO */
	PARTIAL = 8,		/* may keep what it finished before the failure */
	CHILD = 16,		/* each case in a forked child */
	NO_RETRY = 32,		/* the op consumes its input: no second call */
	DEFAULT = 64,		/* the op may create the process default pool,
				 * which stays: its mappings are not a leak */
};

struct scenario {
	const char *name;
	void (*setup)(struct ctx *);
	int (*op)(struct ctx *);
	unsigned int flags;
	/* a call failed every time before the k-th rule applies (it is
	 * not counted in k): the first set_mempolicy with EINVAL is a
	 * kernel older than 5.15, without MPOL_PREFERRED_MANY, and makes
	 * the library take its fallback, whose calls are then failed */
	int pre_call, pre_err;
};

static const struct scenario scenarios[] = {
	{ "create", NULL, op_create, A_ENOMEM },
	{ "create-shared", NULL, op_create_shared, A_ENOMEM },
	{ "create-fallback", NULL, op_create_fallback, A_ENOMEM },
	{ "create-bind", NULL, op_create_bind, A_ENOMEM },
	{ "create-preferred", NULL, op_create_preferred, A_ENOMEM },
	{ "create-preferred-pre5.15", NULL, op_create_preferred, A_ENOMEM,
	  HP_SYS_SET_MEMPOLICY, EINVAL },
	{ "create-interleave", NULL, op_create_interleave, A_ENOMEM },
	{ "subpool", setup_pool1, op_subpool, A_ENOMEM },
	{ "resize-grow", setup_pool, op_resize_grow, A_ENOMEM },
	{ "resize-shrink", setup_pool3_decay0, op_resize_shrink, A_ENOMEM },
	{ "resize-subpool", setup_sub, op_resize_sub, A_ENOMEM },
	{ "destroy", setup_destroy, op_destroy, NO_RETRY },
	{ "destroy-shared", setup_destroy_shared, op_destroy, NO_RETRY },
	{ "destroy-subpool", setup_destroy_sub, op_destroy_sub, NO_RETRY },
	{ "malloc-small", setup_pool, op_malloc_small, A_ENOMEM },
	{ "malloc-large", setup_pool, op_malloc_large, A_ENOMEM },
	{ "malloc-shared", setup_shared, op_malloc_large, A_ENOMEM },
	{ "malloc-shared-small", setup_shared, op_malloc_small, A_ENOMEM },
	{ "malloc-bind", setup_bind, op_malloc_large, A_ENOMEM },
	{ "malloc-preferred", setup_preferred, op_malloc_large, A_ENOMEM },
	{ "malloc-preferred-pre5.15", setup_preferred, op_malloc_large, A_ENOMEM,
	  HP_SYS_SET_MEMPOLICY, EINVAL },
	{ "malloc-interleave", setup_interleave, op_malloc_large, A_ENOMEM },
	{ "malloc-subpool", setup_sub_min, op_malloc_sub, A_ENOMEM },
	{ "malloc-fallback", setup_fallback, op_malloc_fb_large, A_ENOMEM },
	{ "malloc-fallback-small", setup_fallback, op_malloc_fb_small, A_ENOMEM },
	{ "calloc", setup_dirty, op_calloc, A_ENOMEM },
	{ "calloc-gather", setup_scattered, op_malloc_gather, A_ENOMEM },
	{ "malloc-straddle", setup_straddle_left, op_malloc_straddle, A_ENOMEM },
	{ "aligned_alloc", setup_pool, op_aligned, A_ENOMEM },
	{ "aligned_alloc-small", setup_pool, op_aligned_small, A_ENOMEM },
	{ "realloc-grow", setup_realloc, op_realloc_grow, A_ENOMEM },
	{ "realloc-move", setup_realloc_blocked, op_realloc_move, A_ENOMEM },
	{ "realloc-shared", setup_realloc_blocked_shared, op_realloc_move, A_ENOMEM },
	{ "realloc-shrink", setup_realloc_shrink, op_realloc_shrink, A_ENOMEM },
	{ "realloc-small-up", setup_realloc_small, op_realloc_up, A_ENOMEM },
	{ "free-large", setup_free_large, op_free, NO_RETRY },
	{ "free-small", setup_free_small, op_free, NO_RETRY },
	{ "free-shared", setup_free_shared, op_free, NO_RETRY },
	{ "free-fallback", setup_free_fallback, op_free, NO_RETRY },
	{ "trim", setup_trim, op_trim, A_ENOMEM },
	{ "set_decay_ms", setup_trim, op_set_decay, NO_RETRY },
	{ "region-reserve", setup_pool, op_reserve, A_ENOMEM },
	{ "region-reserve-populate", setup_pool, op_reserve_populate, A_ENOMEM },
	{ "region-reserve-noreserve", setup_pool, op_reserve_noreserve, A_ENOMEM },
	{ "region-reserve-nr-populate", setup_pool, op_reserve_nr_populate, A_ENOMEM },
	{ "region-reserve-shared", setup_shared, op_reserve_nr_populate, A_ENOMEM },
	{ "region-populate", setup_region, op_populate, A_ENOMEM | PARTIAL },
	{ "region-populate-noreserve", setup_region_nr, op_populate, A_ENOMEM | PARTIAL },
	{ "region-populate-shared", setup_region_nr_shared, op_populate, A_ENOMEM | PARTIAL },
	{ "region-release", setup_region_pop, op_release, A_ENOMEM | PARTIAL },
	{ "region-release-noreserve", setup_region_nr_pop, op_release, A_ENOMEM | PARTIAL },
	{ "region-release-shared", setup_region_nr_pop_shared, op_release, A_ENOMEM | PARTIAL },
	{ "region-free", setup_region_pop_decay0, op_region_free, NO_RETRY },
	{ "region-free-noreserve", setup_region_nr_pop_decay0, op_region_free, NO_RETRY },
	{ "counters", setup_stats, op_counters, 0 },
	{ "kernel-counters", setup_pool, op_kernel_counters, A_INJECTED | A_EIO },
	{ "page-sizes", setup_pool, op_page_sizes, A_INJECTED },
	{ "stats-text", setup_stats, op_stats_text, A_INJECTED },
	{ "stats-json", setup_stats, op_stats_json, A_INJECTED },
	{ "stats-all", setup_stats, op_stats_all, A_INJECTED },
	{ "fork-malloc", setup_fork_free, op_fork_malloc, A_ENOMEM | CHILD },
	{ "fork-malloc-small", setup_fork_free, op_fork_small, A_ENOMEM | CHILD },
	{ "fork-populate", setup_fork_region, op_populate, A_ENOMEM | PARTIAL | CHILD },
	{ "fork-populate-noreserve", setup_fork_region_nr, op_populate, A_ENOMEM | PARTIAL | CHILD },
	{ "fork-realloc", setup_fork_realloc, op_realloc_grow, A_ENOMEM | CHILD },
	{ "default-malloc", NULL, op_default_malloc, A_ENOMEM | CHILD | DEFAULT },
	{ "default-region", NULL, op_default_region, A_ENOMEM | CHILD | DEFAULT },
};

/* ------------------------------------------------------------------------
 * checks
 * ------------------------------------------------------------------------ */
struct snap {
	int maps;
	long huge;			/* HugetlbPages */
	long kfree, kresv;		/* the kernel's free/resv_hugepages */
	struct hugepool_counters pool, sub;
};

static const struct scenario *cur_sc;
static int cur_call, cur_err;
static long cur_k;
static int case_fails;

__attribute__((format(printf, 1, 2)))
static void case_fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL %s: %s k=%ld %s: ", cur_sc->name,
		cur_call >= 0 ? hp_sys_call_names[cur_call] : "-", cur_k,
		cur_err ? strerror(cur_err) : "-");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	case_fails++;
}

static void take(struct ctx *c, struct snap *s)
{
	s->maps = count_maps();
	s->huge = self_hugetlb_bytes();
	s->kfree = kernel_counter(psz, "free_hugepages");
	s->kresv = kernel_counter(psz, "resv_hugepages");
	memset(&s->pool, 0, sizeof(s->pool));
	memset(&s->sub, 0, sizeof(s->sub));
	if (c->pool)
		CHECK(hugepool_counters(c->pool, HUGEPOOL_NODE_ANY, &s->pool) == 0);
	if (c->sub)
		CHECK(hugepool_counters(c->sub, HUGEPOOL_NODE_ANY, &s->sub) == 0);
}

static bool same_counters(const struct hugepool_counters *a, const struct hugepool_counters *b)
{
	return a->nr_pages == b->nr_pages && a->free_pages == b->free_pages &&
	       a->resv_pages == b->resv_pages && a->surplus_pages == b->surplus_pages &&
	       a->min_pages == b->min_pages && a->max_pages == b->max_pages;
}

static void check_pool(struct hugepool *p, const char *what)
{
	if (!p)
		return;
	if (pool_check_locked(p))
		case_fail("%s: pool invariants broken", what);
}

/* No pool's address window has a hole or a mapping not its own
 * (lib/window.c), whatever call failed [issue 18]. */
static void check_windows(const char *what)
{
	char why[256];

	if (windows_broken(why, sizeof(why)))
		case_fail("%s: %s", what, why);
}

/* Pages this process maps = pages its root pools hold; and their windows
 * are whole. */
static void check_held(const char *what)
{
	long mapped = self_hugetlb_bytes(), held = 0;
	struct hugepool *p;

	pthread_mutex_lock(&hp_pools_lock);
	for (p = hp_pools; p; p = p->next_pool)
		if (!p->parent && p->h->size == psz)
			held += (long)(p->nr_huge_pages * psz);
	pthread_mutex_unlock(&hp_pools_lock);
	if (mapped != held)
		case_fail("%s: %ld KiB of huge pages mapped, the pools hold %ld KiB", what,
			  mapped >> 10, held >> 10);
	check_windows(what);
}

/*
 * The kernel's free pages moved exactly as this process's mapped huge
 * pages did: a page the library dropped from its books but not from the
 * kernel (or the reverse) shows here at once. Not in a forked child,
 * where making a shared page private takes a kernel page without changing
 * what the child maps. Another program on the machine can move the count
 * for a moment: looked at again for up to three seconds. A reservation
 * left behind (the MADV_DONTNEED fallback of a failed placeholder mmap
 * keeps one until the pool is destroyed, where the case's end checks it)
 * is counted in res->kept_resv.
 */
static void check_kernel_now(const struct snap *pre, const char *what, bool absorbed)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	long want = pre->kfree - (self_hugetlb_bytes() - pre->huge) / (long)psz, now = 0;
	int tries;

	if (getpid() != main_pid)
		return;
	/* an absorbed failure may keep a page on purpose (below): no waiting
	 * for it, only counting */
	for (tries = 0; tries < (absorbed ? 1 : 60); tries++) {
		now = kernel_counter(psz, "free_hugepages");
		/* more free than expected: someone else gave pages back */
		if (now >= want || absorbed)
			break;
		nanosleep(&ts, NULL);
	}
	if (now < want && !absorbed)
		case_fail("%s: the kernel has %ld free pages, expected %ld", what, now, want);
	/* a failed call that gives pages back (a hole punch, a placeholder
	 * mmap) leaves its page with the kernel's books until the slot is
	 * faulted again or the pool is destroyed: counted, and the case's
	 * end checks that destroy gave it back */
	if (now < want)
		res->kept_pages++;
	if (kernel_counter(psz, "resv_hugepages") > pre->kresv)
		res->kept_resv++;
}

/* After a failed call: nothing changed (PARTIAL: consistent). */
static void check_after_failure(struct ctx *c, const struct snap *pre, bool partial)
{
	/* a failed call may have made the default pool before failing: it
	 * stays (hp_pool_check and check_held still look at it) */
	bool default_made = (cur_sc->flags & DEFAULT) && hp_default_pool_peek();
	struct snap post;

	take(c, &post);
	if (!partial) {
		if (c->pool && !same_counters(&pre->pool, &post.pool))
			case_fail("pool counters changed: nr %zu->%zu free %zu->%zu resv %zu->%zu surplus %zu->%zu",
				  pre->pool.nr_pages, post.pool.nr_pages, pre->pool.free_pages,
				  post.pool.free_pages, pre->pool.resv_pages, post.pool.resv_pages,
				  pre->pool.surplus_pages, post.pool.surplus_pages);
		if (c->sub && !same_counters(&pre->sub, &post.sub))
			case_fail("subpool counters changed");
		if (post.maps != pre->maps && !default_made)
			case_fail("%d mappings before, %d after", pre->maps, post.maps);
		if (post.huge != pre->huge && !default_made)
			case_fail("huge pages mapped: %ld KiB before, %ld KiB after",
				  pre->huge >> 10, post.huge >> 10);
	}
	check_pool(c->pool, "after the failure");
	check_pool(c->sub, "after the failure (subpool)");
	check_held("after the failure");
	check_kernel_now(pre, "after the failure", false);
	if (!blks_ok(c))
		case_fail("a live block lost its contents");
}

static bool allowed(unsigned int flags, int err, int injected)
{
	return ((flags & A_ENOMEM) && err == ENOMEM) ||
	       ((flags & A_INJECTED) && err == injected) ||
	       /* a node's sysfs file that is not there: no such node
	        * (hugepool_kernel_counters documents EINVAL) */
	       ((flags & A_INJECTED) && injected == ENOENT && err == EINVAL) ||
	       ((flags & A_EIO) && err == EIO);
}

static void check_all_free(struct hugepool *p, const char *what)
{
	struct hugepool_counters k;

	if (!p || hugepool_counters(p, HUGEPOOL_NODE_ANY, &k))
		return;
	if (k.free_pages != k.nr_pages || k.resv_pages)
		case_fail("%s: %zu of %zu pages still in use (resv %zu) with no block or region left",
			  what, k.nr_pages - k.free_pages, k.nr_pages, k.resv_pages);
}

static void teardown(struct ctx *c)
{
	int i;

	for (i = 0; i < c->nb; i++)
		if (c->b[i].p)
			hugepool_free(c->b[i].p);
	c->nb = 0;
	if (c->rmade)
		CHECK(hugepool_region_free(c->rmade) == 0);
	if (c->r)
		CHECK(hugepool_region_free(c->r) == 0);
	/* with every block and region gone, every page a pool holds is free:
	 * a block that a failed call made unreachable would show here */
	check_all_free(c->made, "new pool");
	if (c->made)
		CHECK(hugepool_destroy(c->made) == 0);
	check_all_free(c->sub, "subpool");
	if (c->sub)
		CHECK(hugepool_destroy(c->sub) == 0);
	check_all_free(c->pool, "pool");	/* its subpools are gone */
	if (c->pool)
		CHECK(hugepool_destroy(c->pool) == 0);
	if (c->devnull > 0)
		close(c->devnull);
	memset(c, 0, sizeof(*c));
}

static void record(int call, int err, uintptr_t pc, bool pass)
{
	int i, e;

	for (e = 0; e < MAX_ERRS && errtab[call].errs[e] != err; e++)
		;
	for (i = 0; i < res->nsites; i++)
		if (res->sites[i].pc == pc && res->sites[i].call == call)
			break;
	if (i == res->nsites) {
		CHECK(res->nsites < MAX_SITES);
		res->sites[i].pc = pc;
		res->sites[i].call = call;
		res->nsites++;
	}
	if (e < MAX_ERRS) {
		res->sites[i].cases[e]++;
		res->sites[i].passed[e] += pass;
	}
	res->cases++;
	res->passed += pass;
	res->failed += !pass;
	res->per_call_cases[call]++;
	res->per_call_passed[call] += pass;
}

/*
 * One case, in the current process: set up, fail the k-th call of type
 * `call` with err during the operation, check. Returns whether the
 * injection fired (false: the operation made fewer than k such calls).
 */
static bool case_body(const struct scenario *sc, int call, long k, int err, long *seen)
{
	struct ctx c = { .devnull = -1 };
	struct snap pre;
	bool fired, partial = sc->flags & PARTIAL;
	int rc, fails_before = case_fails;

	if (sc->setup)
		sc->setup(&c);
	if (!blks_ok(&c))
		case_fail("setup blocks broken");
	take(&c, &pre);
	c.why = NULL;
	arm(call, k, err);
	rc = sc->op(&c);
	disarm();
	fired = inj.fired;
	if (seen)
		memcpy(seen, inj.seen, sizeof(inj.seen));

	if (rc < 0) {
		case_fail("%s", c.why ? c.why : "broke its conventions");
	} else if (rc > 0) {
		if (!fired)
			case_fail("failed (%s) with no failure injected", strerror(rc));
		else if (!allowed(sc->flags, rc, err))
			case_fail("failed with %s, not a documented error", strerror(rc));
		check_after_failure(&c, &pre, partial);
		/* the next call works */
		if (!(sc->flags & NO_RETRY)) {
			c.why = NULL;
			rc = sc->op(&c);
			if (rc)
				case_fail("the next call failed too (%s%s)",
					  rc > 0 ? strerror(rc) : "", c.why ? c.why : "");
		}
	} else {
		/* absorbed (or not reached): the same invariants */
		check_pool(c.pool, "after an absorbed failure");
		check_pool(c.sub, "after an absorbed failure (subpool)");
		check_held("after an absorbed failure");
		check_kernel_now(&pre, "after an absorbed failure", true);
		if (!blks_ok(&c))
			case_fail("a live block lost its contents");
		if (fired)
			res->absorbed++;
	}
	teardown(&c);
	if (fired)
		record(call, err, inj.pc, case_fails == fails_before);
	return fired;
}

/* A case, with its baseline checks around it; in a child if needed. */
static bool run_case(const struct scenario *sc, int call, long k, int err, long *seen)
{
	struct kbase kb = kernel_baseline(psz);
	int maps = count_maps();
	long huge = self_hugetlb_bytes();
	bool fired;

	cur_sc = sc;
	cur_pre_call = sc->pre_call;
	cur_pre_err = sc->pre_err;
	cur_call = call;
	cur_k = k;
	cur_err = err;
	if (sc->flags & CHILD) {
		long *shared_seen = res->child_seen;
		bool *shared_fired = &res->child_fired;
		struct ctx c = { .devnull = -1 };
		int st;
		pid_t pid;

		/* the parent's pool, inherited by the child */
		if (sc->setup)
			sc->setup(&c);
		fflush(NULL);
		pid = fork();
		CHECK(pid >= 0);
		if (pid == 0) {
			main_thread = pthread_self();
			alarm(60);
			/* the state under test is the parent's, inherited */
			{
				struct snap pre;
				bool partial = sc->flags & PARTIAL;
				int rc, before = case_fails;

				take(&c, &pre);
				arm(call, k, err);
				rc = sc->op(&c);
				disarm();
				*shared_fired = inj.fired;
				memcpy(shared_seen, inj.seen, sizeof(inj.seen));
				if (rc < 0)
					case_fail("%s", c.why ? c.why : "broke its conventions");
				else if (rc > 0) {
					if (!inj.fired)
						case_fail("failed with no failure injected");
					else if (!allowed(sc->flags, rc, err))
						case_fail("failed with %s, not a documented error",
							  strerror(rc));
					check_after_failure(&c, &pre, partial);
					rc = sc->op(&c);
					if (rc)
						case_fail("the next call failed too");
				} else {
					check_pool(c.pool, "after an absorbed failure");
					check_held("after an absorbed failure");
					if (inj.fired)
						res->absorbed++;
				}
				if (inj.fired)
					record(call, err, inj.pc, case_fails == before);
				_exit(case_fails > before ? 1 : 0);
			}
		}
		CHECK(waitpid(pid, &st, 0) == pid);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			if (WIFSIGNALED(st))
				case_fail("child died of signal %d", WTERMSIG(st));
			else
				case_fails++;
		}
		fired = *shared_fired;
		if (seen)
			memcpy(seen, shared_seen, sizeof(inj.seen));
		teardown(&c);
	} else {
		fired = case_body(sc, call, k, err, seen);
	}
	if (count_maps() != maps)
		case_fail("mappings after the case: %d, before: %d", count_maps(), maps);
	if (self_hugetlb_bytes() != huge)
		case_fail("huge pages mapped after the case: %ld KiB, before: %ld KiB",
			  self_hugetlb_bytes() >> 10, huge >> 10);
	if (!kernel_back_at(&kb, cur_sc->name))
		case_fail("kernel counters not back at baseline");
	if (verbose)
		printf("  %-28s %-14s k=%-3ld %-10s %s\n", sc->name,
		       call >= 0 ? hp_sys_call_names[call] : "(count)", k,
		       err ? strerrorname_np(err) : "", fired ? "fired" : "not reached");
	return fired;
}

/* ------------------------------------------------------------------------
 * naming call sites
 * ------------------------------------------------------------------------ */
static void site_name(uintptr_t pc, char *buf, size_t len)
{
	Dl_info di;
	char cmd[512], line[512], fn[256] = "?", where[256] = "?";
	FILE *f;

	snprintf(buf, len, "%#lx", (unsigned long)pc);
	if (!pc || !dladdr((void *)pc, &di) || !di.dli_fname)
		return;
	/* the return address is after the call: look up the call itself;
	 * -i names the functions it was inlined into as well */
	snprintf(cmd, sizeof(cmd), "addr2line -i -f -C -e %s %#lx 2>/dev/null",
		 di.dli_fname, (unsigned long)(pc - 1 - (uintptr_t)di.dli_fbase));
	f = popen(cmd, "r");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f))
		sscanf(line, "%255s", fn);
	if (fgets(line, sizeof(line), f)) {
		char *s = strrchr(line, '/');

		sscanf(s ? s + 1 : line, "%255s", where);
	}
	if (strcmp(fn, "??"))
		snprintf(buf, len, "%s (%s)", fn, where);
	/* the outer functions: "hp_meta_map (meta.c:41) in hp_meta_zalloc" */
	while (fgets(line, sizeof(line), f)) {
		char outer[128];
		size_t n = strlen(buf);

		if (sscanf(line, "%127s", outer) == 1 && !strchr(outer, ':') && n + 4 < len)
			snprintf(buf + n, len - n, " in %s", outer);
		if (!fgets(line, sizeof(line), f))
			break;
	}
	pclose(f);
}

/* ------------------------------------------------------------------------
 * main
 * ------------------------------------------------------------------------ */
static int call_index(int call)
{
	size_t t;

	for (t = 0; t < ARRAY_SIZE(errtab); t++)
		if ((int)errtab[t].call == call)
			return (int)t;
	return -1;
}

/* Objects of every metadata size class, allocated and freed once, so that
 * a case's metadata comes from the free bins and a new metadata chunk is
 * never mistaken for a leaked mapping. */
static void warm_meta(void)
{
	void *p[64];
	size_t sz;
	int i;

	for (sz = 16; sz <= 4096; sz *= 2) {
		for (i = 0; i < 64; i++)
			CHECK((p[i] = hp_meta_zalloc(sz)));
		for (i = 0; i < 64; i++)
			hp_meta_free(p[i], sz);
	}
}

int main(void)
{
	const char *only = getenv("FAULT_ONLY");
	uint64_t t0 = now_ms();
	struct kbase kb0;
	size_t s, t;
	int maps0, call_sites[HP_SYS_NR_CALLS] = { 0 };
	unsigned long pairs = 0, nscen = 0;

	verbose = getenv("FAULT_VERBOSE") && strcmp(getenv("FAULT_VERBOSE"), "0");
	/* no decay thread: every call is made by the thread under test */
	setenv("HUGEPOOL_DECAY_MS", "-1", 1);
	setenv("HUGEPOOL_VERBOSE", "0", 1);
	hp_options_init();
	hp_verbose = 0;
	psz = 2 * MB;
	need_free_pages(psz, 24);
	main_thread = pthread_self();
	main_pid = getpid();
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(res != MAP_FAILED);
	hp_sys_inject = inject;

	/* warm up: hstate discovery, libnuma, the unwinder, metadata bins,
	 * one pool of every kind, so that no case pays for a first time */
	{
		struct ctx c = { .devnull = -1 };
		void *bt[4];

		CHECK(backtrace(bt, 4) > 0);
		cur_sc = &scenarios[0];
		warm_meta();
		setup_destroy_shared(&c);
		CHECK(op_destroy(&c) == 0);
		teardown(&c);
		setup_interleave(&c);
		CHECK(op_malloc_large(&c) == 0);
		teardown(&c);
		setup_stats(&c);
		CHECK(op_stats_all(&c) == 0);
		CHECK(op_kernel_counters(&c) == 0);
		teardown(&c);
	}
	kb0 = kernel_baseline(psz);
	maps0 = count_maps();

	for (s = 0; s < ARRAY_SIZE(scenarios); s++) {
		const struct scenario *sc = &scenarios[s];
		long seen[HP_SYS_NR_CALLS];
		uint64_t ts = now_ms();
		unsigned long before = res->cases;
		int call;

		if (only && strcmp(only, sc->name))
			continue;
		nscen++;
		/* an uninjected run: it must succeed, and says how many calls
		 * of each type the operation makes */
		run_case(sc, -1, 0, 0, seen);
		for (call = 0; call < HP_SYS_NR_CALLS; call++) {
			int ti = call_index(call), e;

			if (ti < 0 || !seen[call])
				continue;
			res->scenarios_with_calls[call]++;
			for (e = 0; e < nerrs(ti); e++) {
				long k;

				/* k = 1.. until the operation completes
				 * without reaching a k-th call */
				for (k = 1; k < 10000; k++) {
					if (!run_case(sc, call, k, errtab[ti].errs[e], NULL))
						break;
					if ((unsigned long)k > res->per_call_kmax[call])
						res->per_call_kmax[call] = (unsigned long)k;
				}
				if (k == 10000)
					case_fail("k never stops growing");
			}
		}
		printf("fault-injection: %-28s %5lu cases %6.2fs\n", sc->name, res->cases - before,
		       (double)(now_ms() - ts) / 1000);
	}

	hp_sys_inject = NULL;
	if (count_maps() != maps0) {
		cur_sc = &scenarios[0];
		case_fail("mappings at the end: %d, at the start: %d", count_maps(), maps0);
	}
	if (!kernel_back_at(&kb0, "fault-injection"))
		case_fails++;

	/* the table: per call, its sites (named), errnos, cases */
	printf("\nfault-injection: call sites failed with each errno (site: cases passed/run per errno)\n");
	for (t = 0; t < ARRAY_SIZE(errtab); t++) {
		int call = (int)errtab[t].call, i, e, n = nerrs((int)t);
		char errs[256] = "";

		for (e = 0; e < n; e++) {
			strcat(errs, e ? "," : "");
			strcat(errs, strerrorname_np(errtab[t].errs[e]));
		}
		for (i = 0; i < res->nsites; i++)
			if (res->sites[i].call == call)
				call_sites[call]++;
		printf("  %-14s %3d site(s) x %d errnos {%s}: %lu cases, %lu passed\n",
		       hp_sys_call_names[call], call_sites[call], n, errs,
		       res->per_call_cases[call], res->per_call_passed[call]);
		if (!call_sites[call])
			printf("      (no call of the library reaches %s from these entry points)\n",
			       hp_sys_call_names[call]);
		for (i = 0; i < res->nsites; i++) {
			struct site *st = &res->sites[i];
			char name[300];
			unsigned long c = 0, p = 0;

			if (st->call != call)
				continue;
			for (e = 0; e < n; e++) {
				c += st->cases[e];
				p += st->passed[e];
			}
			site_name(st->pc, name, sizeof(name));
			printf("      %-52s %lu/%lu\n", name, p, c);
		}
		pairs += (unsigned long)call_sites[call] * (unsigned long)n;
	}
	printf("\nfault-injection: %d call sites x their errnos = %lu site/errno pairs; "
	       "%lu cases in %lu scenarios: %lu passed, %lu failed (%lu absorbed by the library) in %.1fs\n",
	       res->nsites, pairs, res->cases, nscen, res->passed,
	       res->cases - res->passed, res->absorbed, (double)(now_ms() - t0) / 1000);
	if (res->kept_resv || res->kept_pages)
		printf("fault-injection: of the absorbed failures, %lu kept a kernel reservation and %lu a kernel page\n"
		       "  until the slot was reused or the pool destroyed (checked given back): a placeholder mmap\n"
		       "  that fails while giving pages back falls back to MADV_DONTNEED (the page goes back, the\n"
		       "  private mapping's reservation stays); a failed hole punch leaves the page in the pool's\n"
		       "  memfd, zeroed, for the next fault of that slot\n", res->kept_resv, res->kept_pages);
	if (case_fails || res->failed) {
		printf("fault-injection: FAIL (%d check(s) failed)\n", case_fails);
		return T_FAIL;
	}
	return T_PASS;
}
