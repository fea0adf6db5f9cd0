// SPDX-License-Identifier: MIT
/*
 * seg-prog.cpp - a program whose own segments HUGEPOOL_SEGMENTS moves
 * (tests/preload/segments.sh): a 64 MiB array in .bss, a 4 MiB initialised
 * array in .data and, built with -DBIG_TEXT and 2 MiB segment alignment,
 * a text of more than 4 MiB with the functions below in its middle.
 *
 * `seg-prog run` prints what it computes, the same with and without the
 * preload: checksums of .data and .bss, a C++ exception thrown and caught
 * through the text, a backtrace(), a fork child that writes .bss (its
 * parent's copy must not change) and execs, threads that read .bss, and
 * a dlopen'd library's function called.
 * `seg-prog where` prints the KernelPageSize (kB) of the .bss and .data
 * arrays and of the text the exception crosses, from /proc/self/smaps.
 */
#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdexcept>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/wait.h>
#include <unistd.h>

#include "../support/support.h"

#define BSS_BYTES (64UL << 20)
#define DATA_WORDS (1UL << 20)

static unsigned char bss_arr[BSS_BYTES];
static unsigned int data_arr[DATA_WORDS] = { 1, 2, 3, 4, 5, 6, 7, 8 };	// 4 MiB of .data

#ifdef BIG_TEXT
// 1 MiB of text before the functions and 3 MiB after: with 2 MiB
// segment alignment they sit inside whole pages of the text segment
extern "C" __attribute__((used, noinline)) void seg_pad_before(void)
{
	asm volatile(".skip 1048576, 0x90");
}
#endif

extern "C" __attribute__((noinline)) unsigned long seg_thrower(int depth)
{
	void *frames[32];
	int n;

	if (depth > 0)
		return seg_thrower(depth - 1) + 1;
	n = backtrace(frames, 32);
	throw std::runtime_error(n >= 4 ? "thrown, backtrace deep enough" : "backtrace too short");
}

extern "C" __attribute__((noinline)) int seg_catcher(void)
{
	try {
		seg_thrower(5);
	} catch (const std::exception &e) {
		printf("exception: %s\n", e.what());
		return 0;
	}
	return 1;
}

#ifdef BIG_TEXT
extern "C" __attribute__((used, noinline)) void seg_pad_after(void)
{
	asm volatile(".skip 3145728, 0x90");
}
#endif

static unsigned long checksum(const unsigned char *p, size_t n)
{
	unsigned long s = 0;

	for (size_t i = 0; i < n; i += 4096)
		s = s * 31 + p[i];
	return s;
}

static void *reader(void *arg)
{
	long k = (long)arg;

	return (void *)checksum(bss_arr + (size_t)k * (BSS_BYTES / 4), BSS_BYTES / 4);
}

/* KernelPageSize of the mapping at addr, in kB (tests/support) */
static long kernel_page_kb(const void *addr)
{
	long b = smaps_page_size(addr);

	return b > 0 ? b >> 10 : b;
}

// a library loaded after the move: ld.so maps it next to moved segments
static int dlopen_call(void)
{
	void *h = dlopen("libm.so.6", RTLD_NOW);
	double (*fn)(double) = h ? (double (*)(double))dlsym(h, "sqrt") : NULL;

	if (!fn)
		return 4;
	printf("dlopen: sqrt(2) = %.6f\n", fn(2.0));
	return 0;
}

static int run(void)
{
	unsigned long threads_sum = 0;
	pthread_t t[4];
	pid_t pid;
	int st;

	for (size_t i = 0; i < BSS_BYTES; i += 4096)
		bss_arr[i] = (unsigned char)(i >> 12);
	for (size_t i = 8; i < DATA_WORDS; i += 1024)
		data_arr[i] = (unsigned int)i;
	printf("data %u %u checksum %lu\n", data_arr[0], data_arr[7],
	       checksum((const unsigned char *)data_arr, sizeof(data_arr)));
	printf("bss checksum %lu\n", checksum(bss_arr, BSS_BYTES));
	if (seg_catcher())
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		memset(bss_arr, 0xee, BSS_BYTES);	// copy-on-write: the parent's stays
		data_arr[0] = 99;
		execl("/bin/echo", "echo", "child exec ok", (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st))
		return 2;
	printf("after fork: bss checksum %lu data %u\n", checksum(bss_arr, BSS_BYTES), data_arr[0]);
	for (long k = 0; k < 4; k++)
		if (pthread_create(&t[k], NULL, reader, (void *)k))
			return 3;
	for (long k = 0; k < 4; k++) {
		void *r;

		pthread_join(t[k], &r);
		threads_sum += (unsigned long)r;
	}
	printf("threads: sum %lu\n", threads_sum);
	return dlopen_call();
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "where")) {
		printf("bss %ld data %ld text %ld\n", kernel_page_kb(bss_arr + BSS_BYTES / 2),
		       kernel_page_kb(data_arr + DATA_WORDS / 2), kernel_page_kb((void *)seg_catcher));
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "sleep")) {	// for gdb -p
		printf("ready\n");
		fflush(stdout);
		pause();
		return 0;
	}
	return run();
}
