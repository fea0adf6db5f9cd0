/* SPDX-License-Identifier: MIT */
/*
 * numa-preload: LD_PRELOAD=libhugepool.so with HUGEPOOL_NODES=1 and
 * HUGEPOOL_POLICY=bind puts an unmodified program's large blocks on node 1.
 *
 * This program is not linked with libhugepool: it is the "unmodified
 * program". Run plainly it is the driver: it re-executes itself with
 *   LD_PRELOAD=$HUGEPOOL_NUMA_PRELOAD_LIB HUGEPOOL_NODES=1 HUGEPOOL_POLICY=bind
 * (run-guest.sh copies the library into the guest and meson passes its
 * path in HUGEPOOL_NUMA_PRELOAD_LIB) and checks that the child passed and
 * that every node's huge pages are back once it exited.
 *
 * The child, on node 0's CPU (so that local placement would be node 0):
 *  - malloc resolves to libhugepool (dlsym + dladdr), i.e. the preload is
 *    in effect;
 *  - malloc(64 MiB) + memset: the block is on 2 MiB huge pages
 *    (KernelPageSize in /proc/self/smaps) and each of its 32 pages is on
 *    node 1 by get_mempolicy and move_pages;
 *  - node 1's free_hugepages dropped by at least those 32 pages and no
 *    other node's moved.
 */
#include <dlfcn.h>
#include <stdint.h>

#include "numa-test.h"

#define BLOCK		(64UL << 20)
#define BLOCK_PAGES	(BLOCK / NT_PSZ)
#define CHILD_ENV	"HUGEPOOL_NUMA_PRELOAD_CHILD"

static int child(void)
{
	void *(*m)(size_t) = (void *(*)(size_t))dlsym(RTLD_DEFAULT, "malloc");
	const char *lib = getenv("LD_PRELOAD");
	struct nt_snap before, after;
	Dl_info info = { 0 };
	char *p;
	long kb;

	nt_init("numa-preload(child)");
	printf("%s: LD_PRELOAD=%s HUGEPOOL_NODES=%s HUGEPOOL_POLICY=%s\n", nt_name,
	       lib ? lib : "(unset)", getenv("HUGEPOOL_NODES"), getenv("HUGEPOOL_POLICY"));
	nt_run_on_node(0);
	/* (looked up before the check: argument evaluation order is unspecified) */
	if (m && !dladdr((void *)m, &info))
		info.dli_fname = NULL;
	ASSERT(info.dli_fname && strstr(info.dli_fname, "libhugepool"),
	       "malloc resolves to %s (want libhugepool: the preload's malloc)",
	       info.dli_fname ? info.dli_fname : "?");
	nt_snap(&before);

	p = malloc(BLOCK);
	ASSERT(p, "malloc(64 MiB)");
	memset(p, 0xa5, BLOCK);
	kb = smaps_page_size(p);
	kb = kb < 0 ? -1 : kb >> 10;
	EXPECT(kb == (long)(NT_PSZ >> 10), "block %p: KernelPageSize %ld kB (want %lu: huge pages)",
	       (void *)p, kb, NT_PSZ >> 10);
	EXPECT(((uintptr_t)p & (NT_PSZ - 1)) == 0, "block %p is 2 MiB aligned (whole pages)",
	       (void *)p);
	/* the pages the block covers (all of them when it is page aligned) */
	{
		char *first = (char *)(((uintptr_t)p + NT_PSZ - 1) & ~(NT_PSZ - 1));
		size_t n = (size_t)(p + BLOCK - first) / NT_PSZ;

		nt_check_pages("malloc(64 MiB)", first, n, 1UL << 1, NULL);
	}

	nt_snap(&after);
	for (int i = 0; i < before.nodes; i++) {
		long drop = before.free[i] - after.free[i];

		if (i == 1)
			EXPECT(drop >= (long)BLOCK_PAGES,
			       "node1 free_hugepages %ld -> %ld: dropped %ld (want >= %lu)",
			       before.free[i], after.free[i], drop, BLOCK_PAGES);
		else
			EXPECT(drop == 0, "node%d free_hugepages %ld -> %ld: unchanged", i,
			       before.free[i], after.free[i]);
	}
	free(p);
	return nt_finish();
}

int main(int argc, char **argv)
{
	const char *lib = getenv("HUGEPOOL_NUMA_PRELOAD_LIB");
	struct nt_snap base;
	int status;
	pid_t pid;

	(void)argc;
	if (getenv(CHILD_ENV))
		return child();

	nt_init("numa-preload");
	if (!lib || access(lib, R_OK))
		nt_skip_or_fail("HUGEPOOL_NUMA_PRELOAD_LIB=%s: no library to preload%s%s",
				lib ? lib : "(unset)", lib ? ": " : "", lib ? strerror(errno) : "");
	nt_require(2, (long)BLOCK_PAGES);
	nt_snap(&base);

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		setenv("LD_PRELOAD", lib, 1);
		setenv("HUGEPOOL_NODES", "1", 1);
		setenv("HUGEPOOL_POLICY", "bind", 1);
		setenv(CHILD_ENV, "1", 1);
		execv("/proc/self/exe", argv);
		printf("exec /proc/self/exe: %s\n", strerror(errno));
		_exit(127);
	}
	ASSERT(pid > 0, "fork%s%s", pid < 0 ? ": " : "", pid < 0 ? strerror(errno) : "");
	ASSERT(waitpid(pid, &status, 0) == pid, "waitpid");
	/* a child that printed nothing died before main: in the loader or in
	 * a constructor, under the preload (its message is above) */
	EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	       "preloaded child: %s %d%s", WIFEXITED(status) ? "exit" : "signal",
	       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "" :
	       " (no child output above: it died before main, under the preload)");
	nt_check_baseline("after the child exited", &base);
	return nt_finish();
}
