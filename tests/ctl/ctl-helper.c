/* SPDX-License-Identifier: MIT */
/*
 * ctl-helper.c - the C side of the hugepool-ctl tests, one mode per use:
 *
 *   pool SECONDS     create a pool, allocate, publish (hp_publish_*), print
 *                    the counters it published as JSON, then wait for the
 *                    test to run `hugepool-ctl stats <pid>` (SIGTERM or
 *                    SECONDS ends it; it frees and destroys the pool)
 *   forkpool SECS    the same, then fork: the child publishes its own file
 *                    (prints "child <pid>") and both wait
 *   execpool SECS    publish, then exec sleep: a live pid whose file is stale
 *   touch FILE SIZE  create FILE on a hugetlbfs mount, mmap it shared, write
 *                    and read back every page, print its KernelPageSize
 *   seqlock MS       a writer thread refreshes a record as fast as it can
 *                    while this one reads it: no read may be torn
 *   bench            ns per publish refresh (forced and throttled)
 */
#include "internal.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void wait_for(unsigned int seconds)
{
	struct sigaction sa = { .sa_handler = on_term };
	unsigned int i;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (i = 0; i < seconds * 10 && !stop; i++)
		usleep(100000);
}

static void print_counters(struct hugepool *p)
{
	hp_pool_lock(p);
	printf("{\"pid\":%d,\"name\":\"%s\",\"page_size\":%zu,\"nr_pages\":%zu,"
	       "\"free_pages\":%zu,\"resv_pages\":%zu,\"surplus_pages\":%zu,"
	       "\"min_pages\":%zu,\"max_pages\":%zu,\"allocs\":%llu,\"frees\":%llu,"
	       "\"fallbacks\":%llu,\"failures\":%llu,\"bytes_in_use\":%llu,"
	       "\"bytes_requested\":%llu}\n",
	       (int)getpid(), p->name, p->h->size, p->nr_huge_pages, p->free_huge_pages,
	       p->resv_huge_pages, p->surplus_huge_pages, p->min_pages, p->max_pages,
	       (unsigned long long)p->stats.allocs, (unsigned long long)p->stats.frees,
	       (unsigned long long)p->stats.fallbacks, (unsigned long long)p->stats.failures,
	       (unsigned long long)p->stats.bytes_in_use,
	       (unsigned long long)p->stats.bytes_requested);
	hp_pool_unlock(p);
	fflush(stdout);
}

static void publish(struct hugepool *p)
{
	hp_pool_lock(p);
	hp_publish_pool_add(p);		/* what pool.c does at create */
	hp_publish_pool_update(p, true);
	hp_pool_unlock(p);
}

static int mode_pool(unsigned int seconds, bool do_fork, bool do_exec)
{
	struct hugepool_config cfg = { .min_pages = 2, .max_pages = 16 };
	struct hugepool *p;
	void *blk[4];
	size_t ps;
	pid_t child = 0;
	int i;

	p = hugepool_create(&cfg);
	if (!p) {
		fprintf(stderr, "ctl-helper: hugepool_create: %s\n", strerror(errno));
		return 77;
	}
	ps = hugepool_page_size(p);
	for (i = 0; i < 3; i++) {
		blk[i] = hugepool_malloc(p, ps);
		if (!blk[i]) {
			fprintf(stderr, "ctl-helper: hugepool_malloc: %s\n", strerror(errno));
			hugepool_destroy(p);
			return 77;
		}
		memset(blk[i], 0x5a, ps);
	}
	blk[3] = hugepool_malloc(p, 100 * 1024);
	hugepool_free(blk[2]);
	blk[2] = NULL;
	publish(p);
	/* a burst inside one refresh interval: the throttled updates leave
	 * the record behind, and hp_publish_flush() must catch it up */
	for (i = 0; i < 5; i++) {
		void *q = hugepool_malloc(p, 64 * 1024);

		hugepool_free(q);
		hp_pool_lock(p);
		hp_publish_pool_update(p, false);
		hp_pool_unlock(p);
	}
	hp_publish_flush();
	print_counters(p);
	if (do_exec) {
		/* the new image does not map the file: stats must call it stale */
		execlp("sleep", "sleep", "60", (char *)NULL);
		return 1;
	}
	if (do_fork) {
		child = fork();
		if (child == 0) {
			/* the child's first refresh moves it to its own file */
			void *more = hugepool_malloc(p, ps);

			publish(p);
			printf("child %d\n", (int)getpid());
			print_counters(p);
			wait_for(seconds);
			hugepool_free(more);
			_exit(0);	/* no destructor: the test checks stats cleans up */
		}
	}
	printf("ready\n");
	fflush(stdout);
	wait_for(seconds);
	if (child > 0) {
		kill(child, SIGTERM);
		waitpid(child, NULL, 0);
	}
	for (i = 0; i < 4; i++)
		hugepool_free(blk[i]);
	hp_pool_lock(p);
	hp_publish_pool_del(p);		/* what pool.c does at destroy */
	hp_pool_unlock(p);
	return hugepool_destroy(p) ? 1 : 0;
}

static int mode_touch(const char *file, const char *size_str)
{
	size_t size, off;
	long kps;
	char *m;
	int fd;

	if (hp_parse_size(size_str, &size) || !size) {
		fprintf(stderr, "ctl-helper: bad size %s\n", size_str);
		return 2;
	}
	fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)size)) {
		fprintf(stderr, "ctl-helper: %s: %s\n", file, strerror(errno));
		return 1;
	}
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		fprintf(stderr, "ctl-helper: mmap %s: %s\n", file, strerror(errno));
		return 1;
	}
	/* populate without SIGBUS: an exhausted mount fails here instead */
	if (madvise(m, size, MADV_POPULATE_WRITE)) {
		fprintf(stderr, "ctl-helper: populate %s: %s\n", file, strerror(errno));
		return 1;
	}
	for (off = 0; off < size; off += 4096)
		m[off] = (char)(off >> 12);
	for (off = 0; off < size; off += 4096)
		if (m[off] != (char)(off >> 12)) {
			fprintf(stderr, "ctl-helper: read back differs at %zu\n", off);
			return 1;
		}
	kps = hp_sys_kernel_page_size(m);
	printf("%ld\n", kps);
	munmap(m, size);
	close(fd);
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Seqlock check: a writer thread keeps refreshing a record whose counters
 * all hold the same value v; this thread reads the record through its own
 * read-only mapping of the file, as hugepool-ctl does. A torn read shows
 * counters that differ. */
struct stress {
	struct hugepool *p;
	volatile bool stop;
	uint64_t writes;
};

static void *stress_writer(void *arg)
{
	struct stress *st = arg;
	uint64_t v = 0;

	while (!st->stop) {
		v++;
		hp_pool_lock(st->p);
		st->p->stats.allocs = st->p->stats.frees = st->p->stats.fallbacks = v;
		st->p->stats.failures = st->p->stats.bytes_requested = v;
		st->p->stats.bytes_in_use = st->p->stats.bytes_peak = v;
		st->p->stats.pages_faulted = st->p->stats.pages_released = v;
		hp_publish_pool_update(st->p, true);
		hp_pool_unlock(st->p);
	}
	st->writes = v;
	return NULL;
}

static int mode_seqlock(unsigned int ms)
{
	struct stress st = { 0 };
	struct hp_pub_record r;
	const struct hp_pub_header *h;
	char path[128];
	uint64_t reads = 0, torn = 0, busy = 0, end;
	pthread_t t;
	void *map;
	int fd, slot = -1;
	unsigned int i;

	st.p = hugepool_create(NULL);
	if (!st.p)
		return 77;
	publish(st.p);
	snprintf(path, sizeof(path), "%s/" HP_PUB_DIR_PREFIX "%u/" HP_PUB_PREFIX "%d",
		 getenv("HUGEPOOL_PUBLISH_DIR") ? getenv("HUGEPOOL_PUBLISH_DIR") : HP_PUB_DIR,
		 (unsigned int)geteuid(), (int)getpid());
	fd = open(path, O_RDONLY);
	if (fd < 0 || (map = mmap(NULL, HP_PUB_FILE_SIZE, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		fprintf(stderr, "ctl-helper: %s: %s\n", path, strerror(errno));
		return 1;
	}
	h = map;
	for (i = 0; i < h->nr_slots; i++)
		if (!hp_publish_read_record(hp_pub_slot((struct hp_pub_header *)h, i), &r) &&
		    r.in_use && !strcmp(r.name, st.p->name))
			slot = (int)i;
	if (slot < 0) {
		fprintf(stderr, "ctl-helper: pool not found in %s\n", path);
		return 1;
	}
	pthread_create(&t, NULL, stress_writer, &st);
	end = now_ns() + (uint64_t)ms * 1000000;
	while (now_ns() < end) {
		if (hp_publish_read_record(hp_pub_slot((struct hp_pub_header *)h,
						       (unsigned int)slot), &r)) {
			busy++;
			continue;
		}
		reads++;
		if (r.frees != r.allocs || r.fallbacks != r.allocs || r.failures != r.allocs ||
		    r.bytes_requested != r.allocs || r.bytes_in_use != r.allocs ||
		    r.bytes_peak != r.allocs || r.pages_faulted != r.allocs ||
		    r.pages_released != r.allocs)
			torn++;
	}
	st.stop = true;
	pthread_join(t, NULL);
	printf("writes %llu reads %llu torn %llu busy %llu\n", (unsigned long long)st.writes,
	       (unsigned long long)reads, (unsigned long long)torn, (unsigned long long)busy);
	hp_pool_lock(st.p);
	memset(&st.p->stats, 0, sizeof(st.p->stats));
	hp_publish_pool_del(st.p);
	hp_pool_unlock(st.p);
	hugepool_destroy(st.p);
	return torn ? 1 : 0;
}


static int mode_bench(void)
{
	struct hugepool *p = hugepool_create(NULL);
	const int n = 1000000;
	uint64_t t0, t1, t2;
	int i;

	if (!p)
		return 77;
	publish(p);
	hp_pool_lock(p);
	t0 = now_ns();
	for (i = 0; i < n; i++)
		hp_publish_pool_update(p, true);
	t1 = now_ns();
	for (i = 0; i < n; i++)
		hp_publish_pool_update(p, false);
	t2 = now_ns();
	hp_publish_pool_del(p);
	hp_pool_unlock(p);
	printf("forced refresh: %.1f ns, throttled call: %.1f ns\n",
	       (double)(t1 - t0) / n, (double)(t2 - t1) / n);
	return hugepool_destroy(p) ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "pool"))
		return mode_pool((unsigned int)atoi(argv[2]), false, false);
	if (argc >= 3 && !strcmp(argv[1], "forkpool"))
		return mode_pool((unsigned int)atoi(argv[2]), true, false);
	if (argc >= 3 && !strcmp(argv[1], "execpool"))
		return mode_pool((unsigned int)atoi(argv[2]), false, true);
	if (argc >= 4 && !strcmp(argv[1], "touch"))
		return mode_touch(argv[2], argv[3]);
	if (argc >= 3 && !strcmp(argv[1], "seqlock"))
		return mode_seqlock((unsigned int)atoi(argv[2]));
	if (argc >= 2 && !strcmp(argv[1], "bench"))
		return mode_bench();
	fprintf(stderr, "usage: ctl-helper pool|forkpool|execpool SECS | touch FILE SIZE | "
		"seqlock MS | bench\n");
	return 2;
}
