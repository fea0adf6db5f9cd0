/* SPDX-License-Identifier: MIT */
/*
 * uring-test.h - shared by the io_uring tests: a real ring (or skip/fail
 * under HUGEPOOL_TEST_REQUIRE), a test file with known content on a disk
 * filesystem opened with O_DIRECT where it can be, read_fixed of one buffer
 * and its check, VmPin, and catching what the library says on stderr.
 */
#ifndef HUGEPOOL_URING_TEST_H
#define HUGEPOOL_URING_TEST_H

#include "internal.h"
#include "../helpers.h"

#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <sys/stat.h>

#define KB (1UL << 10)
#define MB (1UL << 20)
#define GB (1UL << 30)

/* A ring with `entries` entries; no io_uring (disabled, seccomp, old
 * kernel) is a missing precondition, not a failure. */
static inline void ring_init(struct io_uring *ring, unsigned int entries)
{
	int ret = io_uring_queue_init(entries, ring, 0);

	if (ret < 0)
		skip_or_fail("io_uring_queue_init: %s", strerror(-ret));
}

/* The word at file offset off (8-aligned): distinct per offset and per
 * file, so a buffer filled from the wrong place or not at all shows. */
static inline uint64_t pattern(uint64_t seed, uint64_t off)
{
	uint64_t x = (off + seed) * 0x9E3779B97F4A7C15ULL;

	return x ^ (x >> 29) ^ seed;
}

struct tfile {
	char path[512];
	int fd;
	bool direct;		/* O_DIRECT took */
	size_t size;
	uint64_t seed;
};

/*
 * Create a file of size bytes with pattern(seed) content. It lives in the
 * build directory (a disk filesystem here: /tmp may be tmpfs, which has no
 * O_DIRECT) and is unlinked at once; the fd is reopened with O_DIRECT, or
 * buffered where the filesystem refuses it (EINVAL).
 */
static inline void tfile_create(struct tfile *t, size_t size, uint64_t seed)
{
	const char *dirs[] = { getenv("HUGEPOOL_TEST_BUILDDIR"), ".", "/var/tmp", "/tmp" };
	const char *dir = "/tmp";
	size_t chunk = 4 * MB, off, i;
	uint64_t *buf = malloc(chunk);
	int wfd;

	CHECK(buf);
	/* the first writable one (a non-root run may not own the build dir) */
	for (i = 0; i < ARRAY_SIZE(dirs); i++)
		if (dirs[i] && !access(dirs[i], W_OK)) {
			dir = dirs[i];
			break;
		}
	snprintf(t->path, sizeof(t->path), "%s/uring-test-%d-%llx.dat", dir, (int)getpid(),
		 (unsigned long long)seed);
	wfd = open(t->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(wfd >= 0);
	for (off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? size - off : chunk;

		for (i = 0; i < n / 8; i++)
			buf[i] = pattern(seed, off + i * 8);
		CHECK_EQ(pwrite(wfd, buf, n, (off_t)off), (long)n);
	}
	CHECK(fsync(wfd) == 0);
	free(buf);
	t->fd = open(t->path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	t->direct = t->fd >= 0;
	if (t->fd < 0) {
		CHECK(errno == EINVAL);
		fprintf(stderr, "note: %s has no O_DIRECT; reading buffered\n", dir);
		t->fd = open(t->path, O_RDONLY | O_CLOEXEC);
		CHECK(t->fd >= 0);
	}
	/* with O_DIRECT the page cache must not serve the reads */
	if (t->direct)
		posix_fadvise(wfd, 0, 0, POSIX_FADV_DONTNEED);
	close(wfd);
	unlink(t->path);
	t->size = size;
	t->seed = seed;
}

static inline void tfile_close(struct tfile *t)
{
	close(t->fd);
	t->fd = -1;
}

/* One read_fixed of len bytes at file offset off into addr (in registered
 * buffer idx); returns the CQE result. */
static inline int read_fixed(struct io_uring *ring, int fd, void *addr, unsigned int len,
			     off_t off, int idx)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	int ret;

	CHECK(sqe);
	io_uring_prep_read_fixed(sqe, fd, addr, len, (uint64_t)off, idx);
	CHECK_EQ(io_uring_submit(ring), 1);
	CHECK_EQ(io_uring_wait_cqe(ring, &cqe), 0);
	ret = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return ret;
}

/* addr holds len bytes of the file from offset off. */
static inline bool check_data(const struct tfile *t, const void *addr, size_t len, size_t off)
{
	const uint64_t *w = addr;
	size_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != pattern(t->seed, off + i * 8)) {
			fprintf(stderr, "data mismatch at buffer offset %zu (file offset %zu)\n",
				i * 8, off + i * 8);
			return false;
		}
	return true;
}

/* VmPin of this process, bytes (-1 if the kernel does not say). */
static inline long vm_pin(void)
{
	return status_bytes("VmPin");
}

/* Catch what the library writes to stderr between stderr_catch and
 * stderr_release (into a pipe; messages are far below its capacity). */
struct caught {
	int saved, pipe[2];
	char text[4096];
};

static inline void stderr_catch(struct caught *c)
{
	fflush(stderr);
	CHECK(pipe(c->pipe) == 0);
	c->saved = dup(2);
	CHECK(c->saved >= 0);
	CHECK(dup2(c->pipe[1], 2) == 2);
}

static inline const char *stderr_release(struct caught *c)
{
	ssize_t n;

	fflush(stderr);
	CHECK(dup2(c->saved, 2) == 2);
	close(c->saved);
	close(c->pipe[1]);
	n = read(c->pipe[0], c->text, sizeof(c->text) - 1);
	close(c->pipe[0]);
	c->text[n > 0 ? n : 0] = '\0';
	/* show it in the test log too */
	fputs(c->text, stderr);
	return c->text;
}

#endif
