/* SPDX-License-Identifier: MIT */
/*
 * vmafill.c - free keeps errno when the kernel refuses to split a mapping
 * (glibc tst-free-errno), under LD_PRELOAD=libhugepool.so with
 * HUGEPOOL_DECAY_MS=0 so that every free of a pool page unmaps it at once.
 *
 * The process fills its mapping count (vm.max_map_count) by splitting a
 * reserved area page by page, then frees pool and glibc blocks: errno must
 * be what it was, and nothing may crash. realloc that needs a new mapping
 * may fail then, but only with NULL and ENOMEM, leaving the block intact.
 * Once the area is gone, allocation works again from both allocators.
 */
#include "preload-test.h"

#include <sys/mman.h>

#define NB 8

int main(void)
{
	size_t t = pt_threshold(), area_len = 1UL << 30, splits = 0;
	unsigned char *pool[NB], *glibc[NB], *area;
	long base;
	int bad = 0, status;
	pid_t pid;

	base = pt_begin(64);
	pid = pt_fork();
	if (pid == 0) {
		pt_watchdog(120);
		for (int i = 0; i < NB; i++) {
			pool[i] = malloc(3 * MB + (size_t)i * 4096);
			glibc[i] = malloc(t / 2);
			CHECK(pool[i] && glibc[i] && pt_owner(pool[i]) && !pt_owner(glibc[i]));
			memset(pool[i], i, 3 * MB);
			memset(glibc[i], i, t / 2);
		}
		area = mmap(NULL, area_len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			    -1, 0);
		CHECK(area != MAP_FAILED);
		/* every other page readable: each mprotect adds mappings until
		 * the count is exhausted */
		for (size_t off = 4096; off < area_len; off += 8192) {
			if (mprotect(area + off, 4096, PROT_READ)) {
				CHECK(errno == ENOMEM);
				break;
			}
			splits++;
		}
		printf("%zu splits until the map count ran out\n", splits);
		for (int i = 0; i < NB; i++) {
			unsigned char *q;

			/* realloc may need a mapping: NULL + ENOMEM, or success */
			errno = 0;
			q = realloc(pool[i], 9 * MB);
			if (q) {
				if (q[0] != i || q[3 * MB - 1] != i)
					bad = 1;
				pool[i] = q;
			} else if (errno != ENOMEM || pool[i][3 * MB - 1] != i) {
				fprintf(stderr, "realloc under map exhaustion: errno %d\n", errno);
				bad = 1;
			}
			errno = 4242;
			free(pool[i]);
			if (errno != 4242) {
				fprintf(stderr, "free of a pool block changed errno to %d\n", errno);
				bad = 1;
			}
			errno = 4242;
			free(glibc[i]);
			if (errno != 4242) {
				fprintf(stderr, "free of a glibc block changed errno to %d\n", errno);
				bad = 1;
			}
		}
		CHECK(munmap(area, area_len) == 0);
		for (int i = 0; i < NB; i++) {
			pool[i] = malloc(3 * MB);
			CHECK(pool[i] && pt_owner(pool[i]));
			memset(pool[i], 1, 3 * MB);
			free(pool[i]);
		}
		printf("free kept errno under map exhaustion: %s\n", bad ? "no" : "yes");
		fflush(NULL);
		_exit(bad ? T_FAIL : T_PASS);
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		fprintf(stderr, "child status 0x%x\n", status);
		return T_FAIL;
	}
	return pt_baseline_ok(base, "vmafill") ? T_PASS : T_FAIL;
}
