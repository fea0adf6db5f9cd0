/* SPDX-License-Identifier: MIT */
/*
 * api-region-isolation.c - a shared region exposes only itself (issue 12,
 * finding 4), run as an attack.
 *
 * Before: hugepool_region_fd() returned the pool's own memfd (64 GiB, not
 * sealed): a peer mapped offset 0 and overwrote the owner's separate
 * hugepool_malloc block, and its ftruncate(fd, 0) made the owner's next
 * touch a SIGBUS.
 *
 * Now the owner, with a 2 MiB block filled with a secret pattern and a
 * populated 4 MiB region, hands the region's descriptor to a peer (a child
 * that drops to uid/gid 65534 when run as root). The peer checks that the
 * file is exactly the region (size 4 MiB, offset 0, sealed against shrink,
 * grow and further seals), that ftruncate to 0 or to 1 GiB, fallocate past
 * the end and F_ADD_SEALS all fail with EPERM, that nothing it can map
 * holds a word of the secret, and writes its own pattern over the region.
 * The owner then finds its block intact, the peer's pattern in the region,
 * and new blocks and regions still working (no SIGBUS, in a child); the
 * kernel's counters come back to their baseline.
 */
#include "api-helpers.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define MB2	(2UL << 20)
#define SECRET	0x5ec12e75ec12e75eULL

static int peer(int fd)
{
	struct stat st;
	uint64_t *m;
	size_t i, n;
	int seals;

	if (geteuid() == 0 && (setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534)))
		return 10;
	if (fstat(fd, &st) || st.st_size != (off_t)(4 * MB2))
		return 11;
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || (seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) !=
	    (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		return 12;
	if (ftruncate(fd, 0) == 0 || errno != EPERM)
		return 13;
	if (ftruncate(fd, 1L << 30) == 0 || errno != EPERM)
		return 14;
	if (fallocate(fd, 0, st.st_size, (off_t)MB2) == 0 || errno != EPERM)
		return 15;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) == 0 || errno != EPERM)
		return 16;
	n = (size_t)st.st_size;
	m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		return 17;
	for (i = 0; i < n / 8; i++)
		if (m[i] == SECRET)
			return 18;	/* reached the owner's other memory */
	for (i = 0; i < n / 8; i++)
		m[i] = 0xEEEEEEEEEEEEEEEEULL;
	munmap(m, n);
	return 0;
}

/* the owner goes on: no SIGBUS (the whole scenario runs in a child) */
static void after(struct hugepool *pool)
{
	struct hugepool_region *r2;
	char *b = hugepool_malloc(pool, 3 * MB2);

	CHECK(b);
	memset(b, 1, 3 * MB2);
	r2 = hugepool_region_reserve(pool, 2 * MB2, HUGEPOOL_REGION_POPULATE);
	CHECK(r2);
	memset(hugepool_region_addr(r2), 2, 2 * MB2);
	hugepool_free(b);
	CHECK(hugepool_region_free(r2) == 0);
}

static int scenario(void *arg)
{
	struct hugepool *pool = api_pool(MB2, 4, 0, HUGEPOOL_SHARED);
	struct hugepool_region *r;
	uint64_t *blk, *rg;
	off_t off = -1;
	size_t i;
	int fd, st;
	pid_t p;

	blk = hugepool_malloc(pool, MB2);
	CHECK(blk);
	for (i = 0; i < MB2 / 8; i++)
		blk[i] = SECRET;
	r = hugepool_region_reserve(pool, 4 * MB2, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	rg = hugepool_region_addr(r);
	memset(rg, 0x11, 4 * MB2);
	CHECK_PAGE_SIZE(rg, MB2);
	CHECK_POOL(pool);
	fd = hugepool_region_fd(r, &off);
	CHECK(fd >= 0);
	CHECK_EQ(off, 0);

	fflush(NULL);
	p = fork();
	CHECK(p >= 0);
	if (p == 0)
		_exit(peer(fd));
	CHECK(waitpid(p, &st, 0) == p);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "peer: %s %d\n", WIFEXITED(st) ? "failed check" : "died of signal",
			WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
		exit(T_FAIL);
	}
	close(fd);
	for (i = 0; i < MB2 / 8; i++)
		CHECK(blk[i] == SECRET);
	for (i = 0; i < 4 * MB2 / 8; i++)
		CHECK(rg[i] == 0xEEEEEEEEEEEEEEEEULL);
	after(pool);
	CHECK(hugepool_region_free(r) == 0);
	hugepool_free(blk);
	CHECK_POOL(pool);
	CHECK(hugepool_destroy(pool) == 0);
	(void)arg;
	return T_PASS;
}

int main(void)
{
	struct kbase kb = api_begin(MB2, 16);
	int st = run_in_child(scenario, NULL, 120);

	if (st) {
		fprintf(stderr, "api-region-isolation: the owner %s %d\n",
			st > 128 ? "died of signal" : "exited with", st > 128 ? st - 128 : st);
		return T_FAIL;
	}
	api_end(&kb);
	printf("api-region-isolation: PASS (the region's fd is its 4 MiB alone, sealed; "
	       "truncate, grow and reseal refused to a uid-65534 peer; the owner's block intact)\n");
	return T_PASS;
}
