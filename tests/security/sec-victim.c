/* SPDX-License-Identifier: MIT */
/*
 * sec-victim.c - the program the security suite (security.sh) attacks, or
 * attacks with. Linked with the internal static library, so that a copy
 * made setuid or setgid carries the library inside it (no rpath that
 * ld.so would ignore under AT_SECURE).
 *
 *   env            print what the library took from the environment, and
 *                  where a 4 MiB malloc went (pool or glibc)
 *   pub SECONDS    publish a pool and keep using it for SECONDS while
 *                  someone attacks the file; exit 0 if the block it wrote
 *                  first is intact ("intact" line)
 *   hostile SECS   the attacker's publisher: a pool and a command whose
 *                  names hold terminal escapes, then, for SECS, its own
 *                  file rewritten and truncated under readers
 *   stale          pool with min 8, a 32 MiB block, its own counters on
 *                  one line, then sleep (finding 10)
 */
#include "internal.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

static void pub_path(char *buf, size_t len)
{
	const char *base = getenv("HUGEPOOL_PUBLISH_DIR");

	snprintf(buf, len, "%s/" HP_PUB_DIR_PREFIX "%u/" HP_PUB_PREFIX "%d",
		 base && *base ? base : HP_PUB_DIR, (unsigned int)geteuid(), (int)getpid());
}

static int mode_env(void)
{
	void *p = malloc(4 << 20);

	printf("secure=%d verbose=%d stats=%d malloc_mode=%d publish=%d stats_file=%s "
	       "threshold=%zu malloc=%s\n", hp_opt.secure, hp_opt.verbose, hp_opt.stats,
	       hp_opt.malloc_mode, hp_opt.publish, hp_opt.stats_file ? hp_opt.stats_file : "-",
	       hp_opt.threshold, p && hp_arena_lookup(p) ? "pool" : "glibc");
	free(p);
	return 0;
}

static int mode_pub(int seconds)
{
	struct hugepool *pool = hugepool_create(NULL);
	unsigned char *first;
	time_t end;
	size_t i;

	if (!pool)
		return 77;
	first = hugepool_malloc(pool, 1 << 20);
	if (!first)
		return 77;
	memset(first, 0xa5, 1 << 20);
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		/* every operation writes this pool's record */
		void *q = hugepool_malloc(pool, 4096);

		hugepool_free(q);
		usleep(1000);
	}
	for (i = 0; i < (1 << 20); i++)
		if (first[i] != 0xa5) {
			printf("corrupt at %zu\n", i);
			return 1;
		}
	printf("intact\n");
	return 0;
}

static int mode_hostile(int seconds)
{
	struct hugepool *pool;
	struct hp_pub_header *h;
	char path[512];
	time_t end;
	void *map;
	int fd, round = 0;

	prctl(PR_SET_NAME, "\033]0;pwned\007\033[2J", 0, 0, 0);
	pool = hugepool_create(NULL);
	if (!pool)
		return 77;
	hugepool_set_decay_ms(pool, -1);	/* nothing of ours writes after this */
	hp_pool_lock(pool);
	snprintf(pool->name, sizeof(pool->name), "\033]0;pwned\007\033[2J");
	hp_pool_unlock(pool);
	hp_publish_pool_add(pool);
	pub_path(path, sizeof(path));
	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 1;
	}
	map = mmap(NULL, HP_PUB_FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 1;
	h = map;
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	end = time(NULL) + seconds;
	while (time(NULL) < end) {
		/* the header and the records as a reader sees them, lying */
		switch (round++ % 6) {
		case 0:
			if (ftruncate(fd, HP_PUB_FILE_SIZE) == 0) {
				h->header_size = 0x10000000;
				h->nr_slots = 0xffffffff;
			}
			break;
		case 1:
			if (ftruncate(fd, 0))
				return 1;
			break;
		case 2:
			if (ftruncate(fd, HP_PUB_FILE_SIZE) == 0) {
				h->magic = HP_PUB_MAGIC;
				h->version = HP_PUB_VERSION;
				h->pid = getpid();
				h->header_size = sizeof(*h);
				h->record_size = sizeof(struct hp_pub_record);
				h->nr_slots = HP_PUB_SLOTS;
				h->start_time = 0;
			}
			break;
		case 3:
			if (ftruncate(fd, sizeof(*h) + 100))
				return 1;
			break;
		case 4:
			if (ftruncate(fd, HP_PUB_FILE_SIZE) == 0) {
				struct hp_pub_record *r = hp_pub_slot(h, 0);

				r->in_use = 1;
				r->nr_nodes = 0x7fffffff;
				memset(r->name, 'A', sizeof(r->name));	/* no NUL */
			}
			break;
		default:
			if (ftruncate(fd, HP_PUB_FILE_SIZE) == 0) {
				struct hp_pub_record *r = hp_pub_slot(h, 1);

				r->seq = 2;
				r->in_use = 1;
				r->nr_nodes = 1;
				snprintf(r->name, sizeof(r->name), "\033]0;pwned\007\033[2J");
			}
			break;
		}
		usleep(200);
	}
	return 0;
}

static int mode_stale(void)
{
	struct hugepool_config cfg = { .min_pages = 8 };
	struct hugepool_counters c;
	struct hugepool *pool = hugepool_create(&cfg);
	void *p;

	if (!pool)
		return 77;
	p = hugepool_malloc(pool, 32 << 20);
	if (!p || hugepool_counters(pool, HUGEPOOL_NODE_ANY, &c))
		return 77;
	memset(p, 1, 32 << 20);
	printf("ready %d nr_pages=%zu bytes_in_use=%llu allocs=%llu\n", (int)getpid(), c.nr_pages,
	       (unsigned long long)pool->stats.bytes_in_use, (unsigned long long)pool->stats.allocs);
	fflush(stdout);
	sleep(120);
	return 0;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	int secs = argc > 2 ? atoi(argv[2]) : 5;

	if (!strcmp(mode, "env"))
		return mode_env();
	if (!strcmp(mode, "pub"))
		return mode_pub(secs);
	if (!strcmp(mode, "hostile"))
		return mode_hostile(secs);
	if (!strcmp(mode, "stale"))
		return mode_stale();
	fprintf(stderr, "usage: sec-victim env|pub SECONDS|hostile SECONDS|stale\n");
	return 2;
}
