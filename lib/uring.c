/* SPDX-License-Identifier: MIT */
/*
 * uring.c - io_uring fixed buffers carved from a region. Registration pins
 * whole huge pages, so a region with registered buffers is pinned: it
 * cannot be released or freed (-EBUSY) until it is unregistered, and its
 * pages are never counted free or handed to anyone else meanwhile.
 */
#include "internal.h"

#if HAVE_LIBURING
#include <liburing.h>
#include <sys/resource.h>
#include <sys/uio.h>

int hugepool_uring_register(struct io_uring *ring, struct hugepool_region *r, size_t buf_size)
{
	size_t size, psz, nbufs, i;
	struct iovec *iov;
	char *base;
	int ret;

	if (!ring || !r || !buf_size || ring->ring_fd < 0)
		return -EINVAL;
	size = hugepool_region_size(r);
	psz = hugepool_page_size(hugepool_owner(hugepool_region_addr(r)));
	if (buf_size > (1UL << 30) || size % buf_size) {
		hp_log(1, "uring: buffer size %zu must divide the region (%zu bytes) and be at most 1 GiB",
		       buf_size, size);
		return -EINVAL;
	}
	if (hp_region_populated(r, 0, (long)(size / psz)) != (long)(size / psz)) {
		hp_log(1, "uring: populate the region before registering it");
		return -EFAULT;
	}
	nbufs = size / buf_size;
	if (nbufs > 16384)
		return -EINVAL;
	iov = hp_meta_zalloc(nbufs * sizeof(*iov));
	if (!iov)
		return -ENOMEM;
	base = hugepool_region_addr(r);
	for (i = 0; i < nbufs; i++) {
		iov[i].iov_base = base + i * buf_size;
		iov[i].iov_len = buf_size;
	}
	hp_region_pin(r, 1);
	ret = io_uring_register_buffers(ring, iov, (unsigned int)nbufs);
	hp_meta_free(iov, nbufs * sizeof(*iov));
	if (ret < 0) {
		hp_region_pin(r, -1);
		if (ret == -ENOMEM) {
			struct rlimit rl;

			if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
			    rl.rlim_cur < size)
				hp_log(1, "uring: RLIMIT_MEMLOCK is %llu bytes; registering this region needs %zu (raise it with ulimit -l %zu or run with CAP_IPC_LOCK)",
				       (unsigned long long)rl.rlim_cur, size, (size + 1023) / 1024);
		}
		return ret;
	}
	return (int)nbufs;
}

int hugepool_uring_unregister(struct io_uring *ring, struct hugepool_region *r)
{
	int ret;

	if (!ring || !r)
		return -EINVAL;
	ret = io_uring_unregister_buffers(ring);
	if (ret < 0)
		return ret;
	hp_region_pin(r, -1);
	return 0;
}
#else
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
#endif
