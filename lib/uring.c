/* SPDX-License-Identifier: MIT */
/*
 * uring.c - io_uring fixed buffers carved from a region.
 *
 * Registration pins whole huge pages (io_uring charges a compound page
 * once, for its full size), so a region with registered buffers is pinned:
 * it cannot be released or freed, nor its pool destroyed (-EBUSY), until
 * it is unregistered, and its pages are never counted free or handed to
 * anyone else meanwhile. The pin count lives in the region (region.c); this
 * file keeps one record per (ring, region) registration so that unregister
 * drops exactly the pins it took.
 *
 * Each record holds a duplicate of the ring's fd. io_uring has one buffer
 * table per ring and frees it only when the ring's file is released; with
 * our own reference, unregistering after the caller's io_uring_queue_exit
 * still reaches the right ring (the bare fd number may have been reused by
 * then), and the kernel's unpin is synchronous with our unregister instead
 * of happening later in the ring's teardown work.
 *
 * A record also remembers the process that registered: after fork the
 * child shares the ring but not the pinned pages (fork copied them), so a
 * child that unregisters must not empty the parent's buffer table.
 *
 * The buffer set (hugepool_uring_bufset) is the one-call form: a region of
 * the right size, populated, registered, with index <-> address helpers
 * for io_uring_prep_read_fixed / write_fixed.
 */
#include "internal.h"

#if HAVE_LIBURING
#include <fcntl.h>
#include <liburing.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

/* One registration: the pins region r holds on behalf of a ring. */
struct hp_uring_reg {
	struct hp_uring_reg *next;
	struct io_uring *ring;		/* as passed by the caller (identity) */
	struct hugepool_region *r;
	int fd;				/* our dup of the ring fd */
	pid_t pid;			/* process whose pages are pinned */
	unsigned int nbufs;
};

struct hugepool_bufset {
	struct hugepool_region *r;
	struct io_uring *ring;
	char *base;
	size_t buf_size;		/* bytes per registered buffer */
	unsigned int count;		/* registered buffers */
};

/*
 * The registration list. Its lock is never taken inside malloc or under a
 * pool lock, so the atfork handlers below cannot deadlock against other
 * handlers that allocate; they exist so that a child forked while another
 * thread was registering does not inherit a held lock or a half-linked list.
 */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hp_uring_reg *regs;

static void reg_prepare(void)
{
	pthread_mutex_lock(&reg_lock);
}

static void reg_parent(void)
{
	pthread_mutex_unlock(&reg_lock);
}

static void reg_child(void)
{
	pthread_mutex_init(&reg_lock, NULL);
}

__attribute__((constructor(102))) static void reg_ctor(void)
{
	hp_atfork_register(HP_LAYER_CONSUMER, reg_prepare, reg_parent, reg_child);
}

/* io_uring_register(2) on our own fd; liburing 2.3 only offers it on a
 * struct io_uring, which may be gone by the time we unregister. */
static int ring_unregister_buffers(int fd)
{
	int ret = hp_sys_io_uring_register(fd, IORING_UNREGISTER_BUFFERS, NULL, 0);

	return ret < 0 ? ret : 0;
}

/*
 * A ring that io_uring_queue_init set up has its SQ ring mapped; a zeroed
 * or torn-down struct io_uring does not (and its ring_fd 0 would be stdin).
 */
static int ring_check(struct io_uring *ring)
{
	if (!ring)
		return -EINVAL;
	if (ring->ring_fd < 0 || !ring->sq.khead) {
		hp_log(1, "uring: the ring is not set up (call io_uring_queue_init first)");
		return -EBADF;
	}
	return 0;
}

/*
 * Registered buffers per requested buffer: the kernel refuses a buffer over
 * 1 GiB (with a bare EFAULT), so a larger one is cut into k equal pieces.
 * Returns k and the piece size, or -EINVAL.
 */
static long split_buf(size_t buf_size, size_t *piece)
{
	size_t k = (buf_size + HUGEPOOL_URING_MAX_BUF - 1) / HUGEPOOL_URING_MAX_BUF;

	if (k > HUGEPOOL_URING_MAX_BUFS || buf_size % k) {
		char b[32];

		hp_format_size(buf_size, b, sizeof(b));
		hp_log(1, "uring: a buffer of %s (%zu bytes) is over the kernel's 1 GiB per registered buffer and cannot be split into %zu equal pieces; use a size divisible by %zu",
		       b, buf_size, k, k);
		return -EINVAL;
	}
	*piece = buf_size / k;
	return (long)k;
}

/* Bytes this process has pinned (VmPin), 0 if unknown. Not a hot path. */
static size_t pinned_bytes(void)
{
	char buf[8192], *p;

	if (hp_sys_read_file("/proc/self/status", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "VmPin:");
	return p ? (size_t)strtoul(p + 6, NULL, 10) << 10 : 0;
}

/*
 * The kernel said ENOMEM. Explain it: almost always RLIMIT_MEMLOCK, which
 * is charged per huge page touched, not per byte registered.
 */
static void explain_enomem(size_t bytes, size_t pinned, size_t psz)
{
	size_t already = pinned_bytes(), need = pinned + already;
	char b[4][32];
	long lim = hp_sys_memlock_limit();

	hp_format_size(bytes, b[0], sizeof(b[0]));
	hp_format_size(pinned, b[1], sizeof(b[1]));
	hp_format_size(psz, b[2], sizeof(b[2]));
	hp_format_size(need, b[3], sizeof(b[3]));
	if (lim >= 0 && lim != LONG_MAX && (size_t)lim < need && !hp_sys_cap_ipc_lock()) {
		char l[32];

		hp_format_size((size_t)lim, l, sizeof(l));
		hp_log(1, "uring: cannot register %s of buffers: RLIMIT_MEMLOCK is %s (%llu bytes), and registering pins whole huge pages: %zu x %s = %s here, plus %zu bytes this process has pinned already; raise the limit to at least %s (%zu bytes: ulimit -l %zu, LimitMEMLOCK= or limits.conf memlock), or create the ring with CAP_IPC_LOCK",
		       b[0], l, (unsigned long long)lim, pinned / psz, b[2], b[1],
		       already, b[3], need, (need + 1023) / 1024);
	} else {
		hp_log(1, "uring: the kernel could not pin %s of buffers (%zu x %s pages): out of memory",
		       b[0], pinned / psz, b[2]);
	}
}

/*
 * Register n buffers of piece bytes from the start of r with ring and link
 * the record. Returns n or -errno. The pin is taken first: once it is held,
 * release and free fail with -EBUSY, so the populated check below cannot
 * be undone by a concurrent release before the kernel pins the pages.
 */
/* What io_uring_register_buffers does, through the syscall seam, with the
 * kernel's refusal explained. 0 or -errno. */
static int register_iov(struct io_uring *ring, const struct iovec *iov, size_t n, size_t span,
			size_t pinned, size_t psz)
{
	int ret = hp_sys_io_uring_register(ring->ring_fd, IORING_REGISTER_BUFFERS, iov,
					   (unsigned int)n);

	if (ret >= 0)
		return 0;
	if (ret == -ENOMEM)
		explain_enomem(span, pinned, psz);
	else if (ret == -EBUSY)
		hp_log(1, "uring: the ring already has registered buffers (one table per ring); unregister them first");
	else if (ret == -EOPNOTSUPP || ret == -EBADF)
		hp_log(1, "uring: fd %d is not an io_uring: the ring is not set up", ring->ring_fd);
	else
		hp_log(1, "uring: io_uring_register_buffers: %s", hp_errstr(-ret));
	return ret == -EOPNOTSUPP ? -EBADF : ret;
}

static int do_register(struct io_uring *ring, struct hugepool_region *r, size_t piece,
		       size_t n)
{
	struct hugepool *pool = hugepool_owner(hugepool_region_addr(r));
	size_t psz = hugepool_page_size(pool), span = piece * n, i;
	struct hp_uring_reg *reg = NULL;
	struct iovec *iov = NULL;
	long npages;
	char *base;
	int ret;

	if (!psz)
		return -EINVAL;		/* not a live region */
	npages = (long)(HP_ALIGN_UP(span, psz) / psz);
	hp_region_pin(r, 1);
	if (hp_region_populated(r, 0, npages) != npages) {
		hp_log(1, "uring: the region is not populated; populate it (hugepool_region_populate, or reserve it with HUGEPOOL_REGION_POPULATE) before registering it");
		ret = -EFAULT;
		goto unpin;
	}
	reg = hp_meta_zalloc(sizeof(*reg));
	iov = hp_meta_zalloc(n * sizeof(*iov));
	if (!reg || !iov) {
		ret = -ENOMEM;
		goto free;
	}
	reg->fd = hp_sys_dupfd(ring->ring_fd);
	if (reg->fd < 0) {
		ret = reg->fd;
		hp_log(1, "uring: cannot duplicate the ring fd %d: %s", ring->ring_fd,
		       hp_errstr(-ret));
		goto free;
	}
	base = hugepool_region_addr(r);
	for (i = 0; i < n; i++) {
		iov[i].iov_base = base + i * piece;
		iov[i].iov_len = piece;
	}
	ret = register_iov(ring, iov, n, span, (size_t)npages * psz, psz);
	if (ret < 0) {
		hp_sys_close(reg->fd);
		goto free;
	}
	hp_meta_free(iov, n * sizeof(*iov));
	reg->ring = ring;
	reg->r = r;
	reg->pid = getpid();
	reg->nbufs = (unsigned int)n;
	pthread_mutex_lock(&reg_lock);
	reg->next = regs;
	regs = reg;
	pthread_mutex_unlock(&reg_lock);
	return (int)n;
free:
	if (iov)
		hp_meta_free(iov, n * sizeof(*iov));
	if (reg)
		hp_meta_free(reg, sizeof(*reg));
unpin:
	hp_region_pin(r, -1);
	return ret;
}

/* Take the record of (ring, r) off the list, so that two threads cannot
 * both undo it; NULL if there is none. */
static struct hp_uring_reg *reg_take(struct io_uring *ring, struct hugepool_region *r)
{
	struct hp_uring_reg **pp, *reg = NULL;

	pthread_mutex_lock(&reg_lock);
	for (pp = &regs; *pp; pp = &(*pp)->next)
		if ((*pp)->ring == ring && (*pp)->r == r) {
			reg = *pp;
			*pp = reg->next;
			break;
		}
	pthread_mutex_unlock(&reg_lock);
	return reg;
}

/* Undo a record taken off the list. On a kernel error it goes back on the
 * list and the region stays pinned: the caller may try again. */
static int do_unregister(struct hp_uring_reg *reg)
{
	int ret = 0;

	/* in a forked child the table holds the parent's pages: leave it */
	if (reg->pid == getpid()) {
		ret = ring_unregister_buffers(reg->fd);
		if (ret == -ENXIO) {
			/* already emptied behind our back (io_uring_unregister_buffers):
			 * the kernel holds no pins any more */
			hp_log(2, "uring: the ring's buffers were already unregistered");
			ret = 0;
		}
		if (ret) {
			hp_log(1, "uring: unregistering buffers: %s", hp_errstr(-ret));
			pthread_mutex_lock(&reg_lock);
			reg->next = regs;
			regs = reg;
			pthread_mutex_unlock(&reg_lock);
			return ret;
		}
	}
	hp_sys_close(reg->fd);
	hp_region_pin(reg->r, -1);
	hp_meta_free(reg, sizeof(*reg));
	return 0;
}

int hugepool_uring_register(struct io_uring *ring, struct hugepool_region *r, size_t buf_size)
{
	size_t size, piece, n;
	long k;
	int ret;

	if (!r || !buf_size)
		return -EINVAL;
	ret = ring_check(ring);
	if (ret)
		return ret;
	size = hugepool_region_size(r);
	if (size % buf_size) {
		hp_log(1, "uring: buffer size %zu does not divide the region (%zu bytes)",
		       buf_size, size);
		return -EINVAL;
	}
	k = split_buf(buf_size, &piece);
	if (k < 0)
		return (int)k;
	n = size / piece;
	if (n > HUGEPOOL_URING_MAX_BUFS) {
		hp_log(1, "uring: %zu buffers of %zu bytes: the kernel registers at most %d per ring",
		       n, piece, HUGEPOOL_URING_MAX_BUFS);
		return -EINVAL;
	}
	return do_register(ring, r, piece, n);
}

int hugepool_uring_unregister(struct io_uring *ring, struct hugepool_region *r)
{
	struct hp_uring_reg *reg;

	if (!ring || !r)
		return -EINVAL;
	reg = reg_take(ring, r);
	if (!reg)
		return -ENOENT;
	return do_unregister(reg);
}

/* The registered buffers nbufs buffers of buf_size bytes make: *piece bytes
 * each, *n of them. 0 or -errno (said why at verbosity 1). */
static int bufset_shape(struct io_uring *ring, unsigned int nbufs, size_t buf_size,
			size_t *piece, size_t *n)
{
	long k;
	int ret;

	if (!nbufs || !buf_size)
		return -EINVAL;
	ret = ring_check(ring);
	if (ret)
		return ret;
	if (buf_size > SIZE_MAX / nbufs)
		return -ENOMEM;
	k = split_buf(buf_size, piece);
	if (k < 0)
		return -EINVAL;
	*n = (size_t)nbufs * buf_size / *piece;
	if (*n > HUGEPOOL_URING_MAX_BUFS) {
		if (k > 1)
			hp_log(1, "uring: %u buffers of %zu bytes split into %zu registered buffers: the kernel registers at most %d per ring",
			       nbufs, buf_size, *n, HUGEPOOL_URING_MAX_BUFS);
		else
			hp_log(1, "uring: %u buffers: the kernel registers at most %d per ring",
			       nbufs, HUGEPOOL_URING_MAX_BUFS);
		return -EINVAL;
	}
	return 0;
}

struct hugepool_bufset *hugepool_uring_bufset(struct hugepool *pool, struct io_uring *ring,
					      unsigned int nbufs, size_t buf_size)
{
	struct hugepool_bufset *bs;
	struct hugepool_region *r;
	size_t piece, total, psz, n;
	int ret;

	ret = bufset_shape(ring, nbufs, buf_size, &piece, &n);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	total = (size_t)nbufs * buf_size;
	if (!pool && !(pool = hugepool_default()))
		return NULL;
	psz = hugepool_page_size(pool);
	if (total > SIZE_MAX - psz) {
		errno = ENOMEM;
		return NULL;
	}
	bs = hp_meta_zalloc(sizeof(*bs));
	if (!bs) {
		errno = ENOMEM;
		return NULL;
	}
	r = hugepool_region_reserve(pool, HP_ALIGN_UP(total, psz), HUGEPOOL_REGION_POPULATE);
	if (!r) {
		char b[2][32];

		ret = errno;
		hp_format_size(HP_ALIGN_UP(total, psz), b[0], sizeof(b[0]));
		hp_format_size(psz, b[1], sizeof(b[1]));
		hp_log(1, "uring: cannot get %s of %s pages from the pool for %u buffers of %zu bytes: %s",
		       b[0], b[1], nbufs, buf_size, hp_errstr(ret));
		hp_meta_free(bs, sizeof(*bs));
		errno = ret;
		return NULL;
	}
	ret = do_register(ring, r, piece, n);
	if (ret < 0) {
		hugepool_region_free(r);
		hp_meta_free(bs, sizeof(*bs));
		errno = -ret;
		return NULL;
	}
	bs->r = r;
	bs->ring = ring;
	bs->base = hugepool_region_addr(r);
	bs->buf_size = piece;
	bs->count = (unsigned int)n;
	return bs;
}

unsigned int hugepool_bufset_count(const struct hugepool_bufset *bs)
{
	return bs ? bs->count : 0;
}

size_t hugepool_bufset_buf_size(const struct hugepool_bufset *bs)
{
	return bs ? bs->buf_size : 0;
}

void *hugepool_bufset_buf(const struct hugepool_bufset *bs, unsigned int idx)
{
	if (!bs || idx >= bs->count)
		return NULL;
	return bs->base + (size_t)idx * bs->buf_size;
}

int hugepool_bufset_index(const struct hugepool_bufset *bs, const void *addr)
{
	uintptr_t a = (uintptr_t)addr, b;

	if (!bs)
		return -EINVAL;
	b = (uintptr_t)bs->base;
	/* the tail of the last page past the buffers is not registered */
	if (a < b || a - b >= (uintptr_t)bs->count * bs->buf_size)
		return -EINVAL;
	return (int)((a - b) / bs->buf_size);
}

struct hugepool_region *hugepool_bufset_region(const struct hugepool_bufset *bs)
{
	return bs ? bs->r : NULL;
}

int hugepool_bufset_free(struct hugepool_bufset *bs)
{
	int ret;

	if (!bs)
		return -EINVAL;
	ret = hugepool_uring_unregister(bs->ring, bs->r);
	if (ret && ret != -ENOENT)
		return ret;
	ret = hugepool_region_free(bs->r);
	if (ret)
		return ret;
	hp_meta_free(bs, sizeof(*bs));
	return 0;
}

#else /* !HAVE_LIBURING */

int hugepool_uring_register(struct io_uring *ring, struct hugepool_region *r, size_t buf_size)
{
	(void)ring; (void)r; (void)buf_size;
	return -ENOSYS;
}

int hugepool_uring_unregister(struct io_uring *ring, struct hugepool_region *r)
{
	(void)ring; (void)r;
	return -ENOSYS;
}

struct hugepool_bufset *hugepool_uring_bufset(struct hugepool *pool, struct io_uring *ring,
					      unsigned int nbufs, size_t buf_size)
{
	(void)pool; (void)ring; (void)nbufs; (void)buf_size;
	errno = ENOSYS;
	return NULL;
}

unsigned int hugepool_bufset_count(const struct hugepool_bufset *bs)
{
	(void)bs;
	return 0;
}

size_t hugepool_bufset_buf_size(const struct hugepool_bufset *bs)
{
	(void)bs;
	return 0;
}

void *hugepool_bufset_buf(const struct hugepool_bufset *bs, unsigned int idx)
{
	(void)bs; (void)idx;
	return NULL;
}

int hugepool_bufset_index(const struct hugepool_bufset *bs, const void *addr)
{
	(void)bs; (void)addr;
	return -ENOSYS;
}

struct hugepool_region *hugepool_bufset_region(const struct hugepool_bufset *bs)
{
	(void)bs;
	return NULL;
}

int hugepool_bufset_free(struct hugepool_bufset *bs)
{
	(void)bs;
	return -ENOSYS;
}
#endif
