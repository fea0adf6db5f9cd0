/* SPDX-License-Identifier: MIT */
/*
 * uring-read.c - read a file with O_DIRECT into io_uring fixed buffers that
 * live on huge pages, and print the throughput.
 *
 *   uring-read [-b BUFSIZE] [-n NBUFS] [-p PAGESIZE] FILE
 *
 * One call (hugepool_uring_bufset) gives NBUFS registered buffers of
 * BUFSIZE bytes (default 16 x 1M) on pages of PAGESIZE (default: the
 * kernel's default huge page size). Every buffer is kept in flight with
 * io_uring_prep_read_fixed; a checksum of the data (the sum of its 64-bit
 * words, so any -b/-n gives the same) is printed so the reads are used. Registered buffers save the kernel from pinning and
 * mapping the user pages on every I/O; on huge pages the registration
 * itself is cheap too (whole 2 MiB or 1 GiB pages instead of 4 KiB ones).
 *
 * Registering pins memory: without CAP_IPC_LOCK, RLIMIT_MEMLOCK must cover
 * NBUFS x BUFSIZE rounded up to whole huge pages (the library says so).
 */
#include <hugepool/hugepool.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "1M", "64k", "2G", "4096" */
static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (end == s || *end) {
		fprintf(stderr, "uring-read: bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

/* What is in flight in each buffer (user_data is the buffer index). */
struct slot {
	off_t off;
	unsigned int want;	/* bytes of the file this buffer gets */
	unsigned int done;
};

static int direct = 1;

static void queue_read(struct io_uring *ring, struct hugepool_bufset *bs, int fd,
		       struct slot *s, unsigned int idx)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	char *buf = hugepool_bufset_buf(bs, idx);
	unsigned int len = s->want - s->done;

	/* O_DIRECT wants block-aligned lengths: ask for the whole last block
	 * at the end of the file, the kernel stops at EOF (the buffer size is
	 * a multiple of 4096, so it fits) */
	if (direct)
		len = (len + 4095) & ~4095u;
	/* the ring has one entry per buffer: there is always an sqe */
	io_uring_prep_read_fixed(sqe, fd, buf + s->done, len, (uint64_t)(s->off + s->done),
				 (int)idx);
	io_uring_sqe_set_data64(sqe, idx);
}

/* Give slot s the next piece of the file. */
static void next_piece(struct slot *s, off_t *next, off_t size, size_t bsz)
{
	s->off = *next;
	s->want = (unsigned int)(bsz < (size_t)(size - *next) ? bsz : (size_t)(size - *next));
	s->done = 0;
	*next += s->want;
}

int main(int argc, char **argv)
{
	size_t buf_size = 1 << 20, page_size = 0;
	unsigned int nbufs = 16, inflight = 0, i;
	struct hugepool_config cfg = { 0 };
	struct hugepool_bufset *bs;
	struct hugepool *pool;
	struct io_uring ring;
	struct slot *slots;
	double t0, t_reg, t_read;
	uint64_t sum = 0;
	off_t size, next = 0;
	int opt, fd, ret;
	struct stat st;

	while ((opt = getopt(argc, argv, "b:n:p:h")) != -1) {
		switch (opt) {
		case 'b': buf_size = parse_size(optarg); break;
		case 'n': nbufs = (unsigned int)strtoul(optarg, NULL, 10); break;
		case 'p': page_size = parse_size(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-b BUFSIZE] [-n NBUFS] [-p PAGESIZE] FILE\n", argv[0]);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind + 1 != argc || !nbufs || nbufs > 4096 || buf_size % 4096 || !buf_size) {
		fprintf(stderr, "usage: %s [-b BUFSIZE] [-n NBUFS] [-p PAGESIZE] FILE\n"
			"  BUFSIZE a multiple of 4096 (O_DIRECT), 1 <= NBUFS <= 4096\n", argv[0]);
		return 2;
	}

	fd = open(argv[optind], O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0 && errno == EINVAL) {
		/* tmpfs and some others have no O_DIRECT */
		fprintf(stderr, "uring-read: %s: no O_DIRECT on this filesystem, reading buffered\n",
			argv[optind]);
		direct = 0;
		fd = open(argv[optind], O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0 || fstat(fd, &st)) {
		fprintf(stderr, "uring-read: %s: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	size = S_ISBLK(st.st_mode) ? lseek(fd, 0, SEEK_END) : st.st_size;

	cfg.page_size = page_size;
	pool = hugepool_create(&cfg);
	if (!pool) {
		fprintf(stderr, "uring-read: hugepool_create: %s (are huge pages reserved? hugepool-ctl show)\n",
			strerror(errno));
		return 1;
	}
	ret = io_uring_queue_init(nbufs, &ring, 0);
	if (ret < 0) {
		fprintf(stderr, "uring-read: io_uring_queue_init: %s\n", strerror(-ret));
		return 1;
	}
	t0 = now_s();
	/* the one call: region reserved, populated and registered */
	bs = hugepool_uring_bufset(pool, &ring, nbufs, buf_size);
	t_reg = now_s() - t0;
	if (!bs) {
		/* the library has said why on stderr (memlock, pool size...) */
		fprintf(stderr, "uring-read: hugepool_uring_bufset: %s\n", strerror(errno));
		return 1;
	}
	slots = calloc(hugepool_bufset_count(bs), sizeof(*slots));
	if (!slots)
		return 1;

	t0 = now_s();
	/* each registered buffer holds one read in flight (a buffer over
	 * 1 GiB is split by the library: use the registered count/size) */
	for (i = 0; i < hugepool_bufset_count(bs) && next < size; i++) {
		next_piece(&slots[i], &next, size, hugepool_bufset_buf_size(bs));
		queue_read(&ring, bs, fd, &slots[i], i);
		inflight++;
	}
	while (inflight) {
		struct io_uring_cqe *cqe;
		unsigned int idx;
		struct slot *s;

		ret = io_uring_submit_and_wait(&ring, 1);
		if (ret < 0 && ret != -EINTR) {
			fprintf(stderr, "uring-read: io_uring_submit_and_wait: %s\n", strerror(-ret));
			return 1;
		}
		while (io_uring_peek_cqe(&ring, &cqe) == 0) {
			idx = (unsigned int)io_uring_cqe_get_data64(cqe);
			s = &slots[idx];
			if (cqe->res < 0) {
				fprintf(stderr, "uring-read: read at %lld: %s\n",
					(long long)(s->off + s->done), strerror(-cqe->res));
				return 1;
			}
			io_uring_cqe_seen(&ring, cqe);
			s->done += (unsigned int)cqe->res;
			if (s->done > s->want)
				s->done = s->want;
			if (cqe->res > 0 && s->done < s->want) {
				queue_read(&ring, bs, fd, s, idx);	/* short read */
				continue;
			}
			{
				const uint64_t *w = hugepool_bufset_buf(bs, idx);
				size_t k;

				/* a sum does not depend on how the file was cut */
				for (k = 0; k < s->done / 8; k++)
					sum += w[k];
			}
			/* done, or the file ended early (res 0): no more */
			if (next >= size || s->done < s->want) {
				inflight--;
				continue;
			}
			next_piece(s, &next, size, hugepool_bufset_buf_size(bs));
			queue_read(&ring, bs, fd, s, idx);
		}
	}
	t_read = now_s() - t0;

	printf("read %.1f MiB in %.3f s: %.0f MiB/s (%s, %u buffers of %zu KiB on %zu KiB pages, set up in %.2f ms), checksum %016llx\n",
	       (double)size / (1 << 20), t_read, t_read > 0 ? (double)size / (1 << 20) / t_read : 0.0,
	       direct ? "O_DIRECT" : "buffered", hugepool_bufset_count(bs),
	       hugepool_bufset_buf_size(bs) >> 10, hugepool_page_size(pool) >> 10, t_reg * 1e3,
	       (unsigned long long)sum);

	/* unregister before the pool goes: destroy refuses pinned pages */
	ret = hugepool_bufset_free(bs);
	if (ret)
		fprintf(stderr, "uring-read: hugepool_bufset_free: %s\n", strerror(-ret));
	io_uring_queue_exit(&ring);
	hugepool_destroy(pool);
	free(slots);
	close(fd);
	return ret ? 1 : 0;
}
