/* SPDX-License-Identifier: MIT */
/*
 * bench-uring.c - io_uring fixed buffers on huge pages against 4 KiB pages,
 * side by side in one run:
 *
 *  1. registration: io_uring_register_buffers of 256 MiB and 1 GiB of
 *     buffers (BUFSIZE each) from a hugepool region of 2 MiB pages, of
 *     1 GiB pages when the kernel has a free one, and from malloc'd memory
 *     on 4 KiB pages (MADV_NOHUGEPAGE, every page touched first, so the
 *     kernel only has to pin, not fault); unregistration too. The kinds
 *     take turns within each run so drift hits them alike.
 *  2. O_DIRECT read throughput of a file on a disk filesystem into 256 MiB
 *     of registered buffers of each kind (read_fixed, QD requests in
 *     flight). O_DIRECT bypasses the page cache, so no cache dropping.
 *
 * Each figure is the median of several runs with its [min .. max]. The
 * target (issue 6) is registration at least 3x faster than from 4 KiB
 * pages. Registering pins memory: run as root or with RLIMIT_MEMLOCK above
 * 1 GiB.
 *
 *   bench-uring [-r RUNS] [-R READ_RUNS] [-b BUFSIZE] [-s FILESIZE] [-q QD]
 *               [-f FILE] [-k]
 */
#include <hugepool/hugepool.h>

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define MB (1UL << 20)
#define GB (1UL << 30)
#define MAX_RUNS 101

static size_t buf_size = MB;
static unsigned int qd = 16;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static size_t parse_size(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	}
	if (end == s || *end || !v) {
		fprintf(stderr, "bench-uring: bad size '%s'\n", s);
		exit(2);
	}
	return (size_t)v;
}

/* ---- statistics: median and spread of a handful of runs ---- */
struct series {
	double v[MAX_RUNS];
	int n;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(struct series *s)
{
	double t[MAX_RUNS];

	memcpy(t, s->v, sizeof(double) * (size_t)s->n);
	qsort(t, (size_t)s->n, sizeof(double), cmp_double);
	return s->n % 2 ? t[s->n / 2] : (t[s->n / 2 - 1] + t[s->n / 2]) / 2;
}

static double smin(const struct series *s)
{
	double m = s->v[0];
	int i;

	for (i = 1; i < s->n; i++)
		m = s->v[i] < m ? s->v[i] : m;
	return m;
}

static double smax(const struct series *s)
{
	double m = s->v[0];
	int i;

	for (i = 1; i < s->n; i++)
		m = s->v[i] > m ? s->v[i] : m;
	return m;
}

/* "1.23 ms [1.10 .. 1.40]" into buf */
static const char *fmt_series(char *buf, size_t len, struct series *s, const char *unit,
			      int prec)
{
	if (!s->n)
		snprintf(buf, len, "n/a");
	else
		snprintf(buf, len, "%.*f %s [%.*f .. %.*f]", prec, median(s), unit, prec, smin(s),
			 prec, smax(s));
	return buf;
}

/* ---- the memory kinds ---- */
enum { K_HP2M, K_HP1G, K_MALLOC, NKINDS };
static const char *const kind_name[NKINDS] = { "hugepool 2M", "hugepool 1G", "malloc 4K" };

struct mem {
	char *p;			/* NULL: kind not available */
	size_t len;			/* bytes mapped (>= the size registered) */
	struct hugepool_region *r;
};

static struct hugepool *pools[2];	/* 2 MiB, 1 GiB */

static int mem_get(int kind, size_t size, struct mem *m)
{
	memset(m, 0, sizeof(*m));
	if (kind == K_MALLOC) {
		void *p;

		if (posix_memalign(&p, 4096, size))
			return -ENOMEM;
		/* 4 KiB pages for sure (THP could otherwise back it) and all
		 * faulted: registration then only pins, as it does for the
		 * populated huge pages */
		madvise(p, size, MADV_NOHUGEPAGE);
		memset(p, 0x5a, size);
		m->p = p;
		m->len = size;
		return 0;
	}
	if (!pools[kind])
		return -ENODEV;
	{
		size_t psz = hugepool_page_size(pools[kind]);

		m->len = (size + psz - 1) / psz * psz;
		m->r = hugepool_region_reserve(pools[kind], m->len, HUGEPOOL_REGION_POPULATE);
		if (!m->r)
			return -errno;
		m->p = hugepool_region_addr(m->r);
	}
	return 0;
}

static void mem_put(struct mem *m)
{
	if (m->r)
		hugepool_region_free(m->r);
	else
		free(m->p);
	m->p = NULL;
}

/* size / buf_size buffers of buf_size from m */
static struct iovec *make_iov(const struct mem *m, size_t size, unsigned int *n)
{
	struct iovec *iov;
	unsigned int i;

	*n = (unsigned int)(size / buf_size);
	iov = calloc(*n, sizeof(*iov));
	if (!iov)
		exit(1);
	for (i = 0; i < *n; i++) {
		iov[i].iov_base = m->p + (size_t)i * buf_size;
		iov[i].iov_len = buf_size;
	}
	return iov;
}

/* ms to register, ms to unregister */
static void time_register(struct io_uring *ring, const struct mem *m, size_t size,
			  double *reg, double *unreg)
{
	unsigned int n;
	struct iovec *iov = make_iov(m, size, &n);
	double t0, t1;
	int ret;

	t0 = now_ms();
	ret = io_uring_register_buffers(ring, iov, n);
	t1 = now_ms();
	if (ret < 0) {
		fprintf(stderr, "bench-uring: io_uring_register_buffers: %s%s\n", strerror(-ret),
			ret == -ENOMEM ? " (RLIMIT_MEMLOCK? run as root or raise ulimit -l)" : "");
		exit(1);
	}
	*reg = t1 - t0;
	t0 = now_ms();
	io_uring_unregister_buffers(ring);
	*unreg = now_ms() - t0;
	free(iov);
}

/* ---- the file ---- */
static int make_file(const char *path, size_t size)
{
	struct stat st;
	size_t off, chunk = 4 * MB, i;
	uint64_t *buf, x = 0x243f6a8885a308d3ULL;
	int fd;

	if (!stat(path, &st) && (size_t)st.st_size == size)
		return 0;
	fprintf(stderr, "bench-uring: writing %zu MiB to %s...\n", size / MB, path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	buf = malloc(chunk);
	if (fd < 0 || !buf)
		return -1;
	for (off = 0; off < size; off += chunk) {
		for (i = 0; i < chunk / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[i] = x;
		}
		if (pwrite(fd, buf, chunk, (off_t)off) != (ssize_t)chunk)
			return -1;
	}
	fsync(fd);
	close(fd);
	free(buf);
	return 0;
}

/* Read the whole file with read_fixed into the n registered buffers of m,
 * qd at a time; MiB/s. */
static double read_file(struct io_uring *ring, int fd, size_t fsize, const struct mem *m,
			size_t size)
{
	unsigned int n, inflight = 0, i, depth;
	struct iovec *iov = make_iov(m, size, &n);
	struct io_uring_cqe *cqe;
	size_t next = 0;
	double t0, t;
	int ret;

	ret = io_uring_register_buffers(ring, iov, n);
	if (ret < 0) {
		fprintf(stderr, "bench-uring: io_uring_register_buffers: %s\n", strerror(-ret));
		exit(1);
	}
	depth = qd < n ? qd : n;
	t0 = now_ms();
	for (i = 0; i < depth && next < fsize; i++, next += buf_size) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

		io_uring_prep_read_fixed(sqe, fd, iov[i].iov_base, (unsigned int)buf_size,
					 next, (int)i);
		sqe->user_data = i;
		inflight++;
	}
	/* each completion hands its buffer the next chunk; buffers beyond
	 * depth take turns so all n are used over the run */
	while (inflight) {
		unsigned int b;

		io_uring_submit_and_wait(ring, 1);
		while (io_uring_peek_cqe(ring, &cqe) == 0) {
			if (cqe->res < 0) {
				fprintf(stderr, "bench-uring: read: %s\n", strerror(-cqe->res));
				exit(1);
			}
			b = (unsigned int)cqe->user_data;
			io_uring_cqe_seen(ring, cqe);
			inflight--;
			if (next >= fsize)
				continue;
			b = (b + depth) % n;
			{
				struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

				io_uring_prep_read_fixed(sqe, fd, iov[b].iov_base,
							 (unsigned int)buf_size, next, (int)b);
				sqe->user_data = b;
			}
			next += buf_size;
			inflight++;
		}
	}
	t = now_ms() - t0;
	io_uring_unregister_buffers(ring);
	free(iov);
	return (double)fsize / MB / (t / 1e3);
}

static void usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [-r RUNS] [-R READ_RUNS] [-b BUFSIZE] [-s FILESIZE] [-q QD] [-f FILE] [-k]\n"
		"  defaults: -r 9 -R 5 -b 1M -s 512M -q 16 -f ./bench-uring.dat (deleted unless -k)\n",
		argv0);
	exit(2);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 256 * MB, GB };
	struct series reg[2][NKINDS], unreg[2][NKINDS], rd[NKINDS], lib;
	int runs = 9, read_runs = 5, keep = 0, opt, s, k, i, fd;
	const char *path = "bench-uring.dat";
	size_t fsize = 512 * MB;
	struct io_uring ring;
	struct utsname un;
	char b1[64], b2[64], b3[64];
	double r, u;

	while ((opt = getopt(argc, argv, "r:R:b:s:q:f:kh")) != -1) {
		switch (opt) {
		case 'r': runs = atoi(optarg); break;
		case 'R': read_runs = atoi(optarg); break;
		case 'b': buf_size = parse_size(optarg); break;
		case 's': fsize = parse_size(optarg); break;
		case 'q': qd = (unsigned int)atoi(optarg); break;
		case 'f': path = optarg; break;
		case 'k': keep = 1; break;
		default: usage(argv[0]);
		}
	}
	if (runs < 1 || runs > MAX_RUNS || read_runs < 0 || read_runs > MAX_RUNS || !qd ||
	    buf_size % 4096 || buf_size > GB || (256 * MB) % buf_size || fsize % buf_size ||
	    (256 * MB) / buf_size > HUGEPOOL_URING_MAX_BUFS)
		usage(argv[0]);

	memset(reg, 0, sizeof(reg));
	memset(unreg, 0, sizeof(unreg));
	memset(rd, 0, sizeof(rd));
	memset(&lib, 0, sizeof(lib));
	{
		struct hugepool_config c2 = { .page_size = 2 * MB }, c1 = { .page_size = GB };

		pools[0] = hugepool_create(&c2);
		pools[1] = hugepool_create(&c1);
	}
	if (!pools[0]) {
		fprintf(stderr, "bench-uring: no pool of 2 MiB pages: %s\n", strerror(errno));
		return 1;
	}
	if (io_uring_queue_init(qd, &ring, 0) < 0) {
		fprintf(stderr, "bench-uring: no io_uring\n");
		return 1;
	}
	uname(&un);

	/* 1. registration, both sizes, kinds taking turns within each run */
	for (s = 0; s < 2; s++) {
		struct mem m[NKINDS];

		for (k = 0; k < NKINDS; k++) {
			int ret = mem_get(k, sizes[s], &m[k]);

			if (ret && k != K_HP1G) {
				fprintf(stderr, "bench-uring: %s: %zu MiB: %s\n", kind_name[k],
					sizes[s] / MB, strerror(-ret));
				return 1;
			}
			if (m[k].p)	/* warm-up, not counted */
				time_register(&ring, &m[k], sizes[s], &r, &u);
		}
		for (i = 0; i < runs; i++) {
			for (k = 0; k < NKINDS; k++) {
				if (!m[k].p)
					continue;
				time_register(&ring, &m[k], sizes[s], &r, &u);
				reg[s][k].v[reg[s][k].n++] = r;
				unreg[s][k].v[unreg[s][k].n++] = u;
			}
			/* the library call itself, on the 2 MiB region (its own
			 * bookkeeping: pin, populated check, fd dup, iovecs),
			 * in the same rotation */
			if (s == 1) {
				double t0 = now_ms();
				int n = hugepool_uring_register(&ring, m[K_HP2M].r, buf_size);

				lib.v[lib.n++] = now_ms() - t0;
				if (n < 0 || hugepool_uring_unregister(&ring, m[K_HP2M].r)) {
					fprintf(stderr, "bench-uring: hugepool_uring_register: %s\n",
						strerror(-n));
					return 1;
				}
			}
		}
		for (k = 0; k < NKINDS; k++)
			if (m[k].p)
				mem_put(&m[k]);
	}

	printf("bench-uring: kernel %s, %zu KiB buffers, %d runs, median [min .. max]\n",
	       un.release, buf_size >> 10, runs);
	printf("\nregistration (io_uring_register_buffers)\n");
	printf("%-6s %-28s %-28s %-28s %8s %8s\n", "size", kind_name[0], kind_name[1],
	       "malloc 4K (touched)", "4K/2M", "4K/1G");
	for (s = 0; s < 2; s++) {
		double m4 = median(&reg[s][K_MALLOC]);

		printf("%-6s %-28s %-28s %-28s %7.1fx ", s ? "1G" : "256M",
		       fmt_series(b1, sizeof(b1), &reg[s][K_HP2M], "ms", 2),
		       fmt_series(b2, sizeof(b2), &reg[s][K_HP1G], "ms", 2),
		       fmt_series(b3, sizeof(b3), &reg[s][K_MALLOC], "ms", 2),
		       m4 / median(&reg[s][K_HP2M]));
		if (reg[s][K_HP1G].n)
			printf("%7.1fx\n", m4 / median(&reg[s][K_HP1G]));
		else
			printf("%8s\n", "n/a");
	}
	printf("\nunregistration (io_uring_unregister_buffers)\n");
	for (s = 0; s < 2; s++)
		printf("%-6s %-28s %-28s %-28s\n", s ? "1G" : "256M",
		       fmt_series(b1, sizeof(b1), &unreg[s][K_HP2M], "ms", 2),
		       fmt_series(b2, sizeof(b2), &unreg[s][K_HP1G], "ms", 2),
		       fmt_series(b3, sizeof(b3), &unreg[s][K_MALLOC], "ms", 2));
	printf("\nhugepool_uring_register of the 1G region of 2M pages (library call): %s\n",
	       fmt_series(b1, sizeof(b1), &lib, "ms", 2));
	fflush(stdout);

	/* 2. O_DIRECT reads into 256 MiB of registered buffers of each kind */
	if (read_runs) {
		struct mem m[NKINDS];

		if (make_file(path, fsize)) {
			fprintf(stderr, "bench-uring: cannot write %s: %s\n", path, strerror(errno));
			return 1;
		}
		fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "bench-uring: %s: O_DIRECT: %s (put the file on a disk filesystem with -f)\n",
				path, strerror(errno));
			return 1;
		}
		{
			struct statfs sf;

			/* tmpfs takes O_DIRECT (6.6+) but reads memory, not a disk */
			if (!fstatfs(fd, &sf) && sf.f_type == TMPFS_MAGIC)
				fprintf(stderr, "bench-uring: warning: %s is on tmpfs, not a disk (use -f)\n",
					path);
		}
		for (k = 0; k < NKINDS; k++) {
			mem_get(k, 256 * MB, &m[k]);
			if (m[k].p)	/* warm-up, not counted */
				read_file(&ring, fd, fsize < 64 * MB ? fsize : 64 * MB, &m[k], 256 * MB);
		}
		for (i = 0; i < read_runs; i++)
			for (k = 0; k < NKINDS; k++)
				if (m[k].p)
					rd[k].v[rd[k].n++] = read_file(&ring, fd, fsize, &m[k], 256 * MB);
		printf("\nO_DIRECT read of %zu MiB (%s) into 256 MiB of registered buffers, %zu KiB reads, QD %u, %d runs\n",
		       fsize / MB, path, buf_size >> 10, qd, read_runs);
		for (k = 0; k < NKINDS; k++)
			printf("%-12s %s\n", kind_name[k], fmt_series(b1, sizeof(b1), &rd[k], "MiB/s", 0));
		for (k = 0; k < NKINDS; k++)
			if (m[k].p)
				mem_put(&m[k]);
		close(fd);
		if (!keep)
			unlink(path);
	}

	{
		double x256 = median(&reg[0][K_MALLOC]) / median(&reg[0][K_HP2M]);
		double x1g = median(&reg[1][K_MALLOC]) / median(&reg[1][K_HP2M]);

		printf("\ntarget: registration from 2M pages >= 3x faster than from 4K pages: 256M %.1fx, 1G %.1fx: %s\n",
		       x256, x1g, x256 >= 3 && x1g >= 3 ? "met" : "NOT met");
	}
	io_uring_queue_exit(&ring);
	for (k = 0; k < 2; k++)
		if (pools[k])
			hugepool_destroy(pools[k]);
	return 0;
}
