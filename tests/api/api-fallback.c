/* SPDX-License-Identifier: MIT */
/*
 * Description: running out of huge pages. With the kernel's pool empty, a
 * HUGEPOOL_FALLBACK pool serves every kind of block (whole pages, small,
 * zeroed, aligned, realloc'd) from base pages: smaps says 4 kB, each one is
 * counted in stats.fallbacks, and the fallback is reported once on stderr
 * at the default verbosity. A pool without the flag returns NULL/ENOMEM and
 * counts failures. Once huge pages are back, a fallback block that grows
 * moves onto them. Runs in a child (a missed fallback would SIGBUS).
 */
#include "api-helpers.h"

#include <fcntl.h>
#include <sys/mman.h>

static const size_t psz = 2 * MB;

/* stderr into a temporary file; returns the saved stderr */
static int capture_stderr(FILE **tmp)
{
	int saved = dup(2);

	*tmp = tmpfile();
	CHECK(saved >= 0 && *tmp);
	CHECK(dup2(fileno(*tmp), 2) == 2);
	return saved;
}

static int count_lines_with(FILE *f, const char *what)
{
	char line[512];
	int n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			n++;
	return n;
}

static int exhausted(void *arg)
{
	struct hugepool *fb = api_pool(psz, 0, 0, HUGEPOOL_FALLBACK);
	struct hugepool *strict = api_pool(psz, 0, 0, 0);
	struct hugepool *hog = api_hog(psz, 0);
	char *big, *small, *zero, *al, *grown;
	FILE *err;
	int saved;

	(void)arg;
	hp_verbose = 1;		/* the default */
	saved = capture_stderr(&err);

	big = hugepool_malloc(fb, 4 * MB);
	CHECK(big);
	CHECK_PAGE_SIZE(big, 4096);
	CHECK_EQ(fb->stats.fallbacks, 1);
	CHECK(hugepool_owner(big) == fb);
	CHECK_EQ(hugepool_usable_size(big), 4 * MB);
	pat_fill(big, 4 * MB, 1, 1);

	small = hugepool_malloc(fb, 100 * KB);
	CHECK(small);
	CHECK_PAGE_SIZE(small, 4096);
	CHECK_EQ(fb->stats.fallbacks, 2);
	memset(small, 0x33, 100 * KB);

	zero = hugepool_calloc(fb, 3, MB);
	CHECK(zero && all_zero(zero, 3 * MB));
	CHECK_PAGE_SIZE(zero, 4096);

	al = hugepool_aligned_alloc(fb, 64 * MB, MB);
	CHECK(al);
	CHECK_EQ((uintptr_t)al % (64 * MB), 0);
	CHECK_PAGE_SIZE(al, 4096);
	CHECK_EQ(fb->stats.fallbacks, 4);
	CHECK_EQ(fb->stats.failures, 0);
	CHECK_POOL(fb);
	check_counters(fb, 0, 0, 0, 0);	/* no huge page in any of it */

	/* realloc: shrinks in place, grows by a new fallback block */
	CHECK(hugepool_realloc(fb, big, 2 * MB) == big);
	CHECK(pat_ok(big, 2 * MB, 1, 1));
	grown = hugepool_realloc(fb, big, 6 * MB);
	CHECK(grown);
	CHECK(pat_ok(grown, 2 * MB, 1, 1));
	CHECK_PAGE_SIZE(grown, 4096);
	CHECK_EQ(fb->stats.fallbacks, 5);

	/* without the flag: NULL, ENOMEM, counted */
	errno = 0;
	CHECK(hugepool_malloc(strict, 4 * MB) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_malloc(strict, 100 * KB) == NULL && errno == ENOMEM);
	errno = 0;
	CHECK(hugepool_calloc(strict, 1, 100) == NULL && errno == ENOMEM);
	CHECK_EQ(strict->stats.failures, 3);
	CHECK_EQ(strict->stats.fallbacks, 0);
	CHECK_POOL(strict);

	/* told once, however many fallbacks */
	fflush(stderr);
	CHECK(dup2(saved, 2) == 2);
	CHECK_EQ(count_lines_with(err, "falling back"), 1);
	fclose(err);

	/* huge pages again: a growing fallback block moves onto them */
	CHECK(hugepool_destroy(hog) == 0);
	grown = hugepool_realloc(fb, grown, 8 * MB);
	CHECK(grown);
	CHECK_PAGE_SIZE(grown, psz);
	CHECK(pat_ok(grown, 2 * MB, 1, 1));
	CHECK_EQ(fb->stats.fallbacks, 5);

	hugepool_free(grown);
	hugepool_free(small);
	hugepool_free(zero);
	hugepool_free(al);
	CHECK_EQ(fb->stats.allocs, fb->stats.frees);
	CHECK_EQ(fb->stats.bytes_in_use, 0);
	CHECK_POOL(fb);
	CHECK(hugepool_destroy(fb) == 0);
	CHECK(hugepool_destroy(strict) == 0);
	return 0;
}

int main(void)
{
	struct kbase kb = api_begin(psz, 16);

	CHECK_EQ(run_in_child(exhausted, NULL, 60), 0);
	api_end(&kb);
	return 0;
}
