/* SPDX-License-Identifier: MIT */
/*
 * numa-test.h - shared by the guest tests of tests/numa (run inside the
 * multi-node qemu guest that run-guest.sh boots).
 *
 *  - Verbose checks: every check prints "ok" or "FAIL" and the values it
 *    compared, because the guest's serial console is the only record a CI
 *    run leaves. EXPECT counts a failure and goes on (so one run shows
 *    every wrong node, not just the first); ASSERT stops the test.
 *  - Skip or fail: a missing precondition (one node, no free huge pages)
 *    is a skip (77) on a developer machine and a failure under
 *    HUGEPOOL_TEST_REQUIRE=1, which the guest always sets.
 *  - The kernel's side, read from sysfs rather than from the library, so
 *    that the library is checked against an independent source: per-node
 *    2 MiB free_hugepages / nr_hugepages / surplus_hugepages and the global
 *    resv_hugepages.
 *  - Where a page really is: get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) and
 *    move_pages() with no target nodes (a status query); both must agree.
 *  - A pool's per-node counters against the kernel's per-node movement.
 *
 * Only the 2 MiB page size is used: the guest reserves 2 MiB pages per node.
 */
#ifndef HUGEPOOL_NUMA_TEST_H
#define HUGEPOOL_NUMA_TEST_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"	/* T_*, sysfs readers, run_in_child */


#define NT_PSZ		(2UL << 20)
#define NT_MAX_NODES	64

static const char *nt_name = "numa-test";
static int nt_checks, nt_failures;

__attribute__((format(printf, 2, 3)))
static inline bool nt_expect(bool ok, const char *fmt, ...)
{
	va_list ap;

	nt_checks++;
	if (!ok)
		nt_failures++;
	printf(ok ? "  ok   " : "  FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	return ok;
}

/* the result line; the exit status of the test */
static inline int nt_finish(void)
{
	printf("%s: %s (%d checks, %d failed)\n", nt_name,
	       nt_failures ? "FAIL" : "PASS", nt_checks, nt_failures);
	return nt_failures ? T_FAIL : T_PASS;
}

#define EXPECT(cond, ...) nt_expect(!!(cond), __VA_ARGS__)
/* a check whose failure makes everything after it meaningless */
#define ASSERT(cond, ...)						\
	do {								\
		if (!nt_expect(!!(cond), __VA_ARGS__))			\
			exit(nt_finish());				\
	} while (0)

static inline bool nt_required(void)
{
	const char *v = getenv("HUGEPOOL_TEST_REQUIRE");

	return v && *v && strcmp(v, "0");
}

__attribute__((noreturn, format(printf, 1, 2)))
static inline void nt_skip_or_fail(const char *fmt, ...)
{
	va_list ap;

	printf("%s: %s: ", nt_name, nt_required() ? "FAIL (HUGEPOOL_TEST_REQUIRE=1)" : "SKIP");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	exit(nt_required() ? T_FAIL : T_SKIP);
}

static inline void nt_init(const char *name)
{
	nt_name = name;
	/* the console interleaves our stdout with the library's stderr
	 * warnings: line buffering keeps them in order */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

/* ------------------------------------------------------------------------
 * the kernel's counters (sysfs)
 * ------------------------------------------------------------------------ */

/* a 2 MiB counter of one node: free_hugepages, nr_hugepages, ... */
static inline long nt_node_hp(int node, const char *counter)
{
	return node_counter(node, 2UL << 20, counter);
}

static inline int nt_node_hp_write(int node, const char *counter, long v)
{
	char path[160];
	FILE *f;
	int ret = 0;

	snprintf(path, sizeof(path),
		 "/sys/devices/system/node/node%d/hugepages/hugepages-2048kB/%s",
		 node, counter);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	if (fprintf(f, "%ld\n", v) < 0)
		ret = -EIO;
	if (fclose(f))
		ret = -errno;
	return ret;
}

/* a 2 MiB counter of the whole machine */
static inline long nt_global_hp(const char *counter)
{
	return kernel_counter(2UL << 20, counter);
}

/* Nodes of the guest: 0 .. nt_nodes() - 1, every one with memory. */
static inline int nt_nodes(void)
{
	if (numa_available() < 0)
		return 1;
	return numa_max_node() + 1;
}

/*
 * The test needs at least min_nodes nodes, each with memory and with at
 * least free_pages free 2 MiB pages, and nothing reserved (the guest runs
 * one test at a time, so resv_hugepages must be 0 between tests).
 */
static inline int nt_require(int min_nodes, long free_pages)
{
	int n = nt_nodes(), i;
	long resv;

	if (numa_available() < 0)
		nt_skip_or_fail("numa_available() < 0: no NUMA in this kernel");
	if (n < min_nodes)
		nt_skip_or_fail("%d node(s), the test needs %d", n, min_nodes);
	if (n > NT_MAX_NODES)
		nt_skip_or_fail("%d nodes: more than %d", n, NT_MAX_NODES);
	for (i = 0; i < n; i++) {
		long f = nt_node_hp(i, "free_hugepages");

		if (!numa_bitmask_isbitset(numa_nodes_ptr, (unsigned int)i))
			nt_skip_or_fail("node %d has no memory", i);
		if (f < free_pages)
			nt_skip_or_fail("node %d has %ld free 2 MiB huge pages, the test needs %ld",
					i, f, free_pages);
	}
	resv = nt_global_hp("resv_hugepages");
	if (resv != 0)
		nt_skip_or_fail("resv_hugepages is %ld, not 0: something else holds reservations",
				resv);
	printf("%s: %d nodes; free 2 MiB pages:", nt_name, n);
	for (i = 0; i < n; i++)
		printf(" node%d %ld", i, nt_node_hp(i, "free_hugepages"));
	putchar('\n');
	return n;
}

/*
 * Run on node's CPUs. The tests that expect pages away from node 0 run on
 * node 0: there the kernel's default (local) placement is node 0, so a
 * policy that was never set shows as a wrong node instead of passing by
 * luck because the scheduler happened to run us on the right node.
 */
static inline void nt_run_on_node(int node)
{
	if (numa_run_on_node(node))
		nt_skip_or_fail("numa_run_on_node(%d): %s", node, strerror(errno));
	printf("%s: running on node %d's CPUs (local allocation would go to node %d)\n",
	       nt_name, node, node);
}

struct nt_snap {
	int nodes;
	long free[NT_MAX_NODES];
	long nr[NT_MAX_NODES];
	long surplus[NT_MAX_NODES];
	long resv;		/* global: sysfs has no per-node resv_hugepages */
};

static inline void nt_snap(struct nt_snap *s)
{
	int i;

	s->nodes = nt_nodes();
	for (i = 0; i < s->nodes; i++) {
		s->free[i] = nt_node_hp(i, "free_hugepages");
		s->nr[i] = nt_node_hp(i, "nr_hugepages");
		s->surplus[i] = nt_node_hp(i, "surplus_hugepages");
	}
	s->resv = nt_global_hp("resv_hugepages");
}

/* Every node's counters are as in base (the test gave every page back). */
static inline void nt_check_baseline(const char *what, const struct nt_snap *base)
{
	struct nt_snap now;
	int i;

	nt_snap(&now);
	for (i = 0; i < base->nodes; i++)
		EXPECT(now.free[i] == base->free[i] && now.nr[i] == base->nr[i] &&
		       now.surplus[i] == base->surplus[i],
		       "%s: node%d free %ld nr %ld surplus %ld (baseline %ld %ld %ld)",
		       what, i, now.free[i], now.nr[i], now.surplus[i],
		       base->free[i], base->nr[i], base->surplus[i]);
	EXPECT(now.resv == base->resv, "%s: resv_hugepages %ld (baseline %ld)",
	       what, now.resv, base->resv);
}

/* ------------------------------------------------------------------------
 * where pages are
 * ------------------------------------------------------------------------ */

/*
 * The node of the (populated) page at addr, asked both ways: -1 if either
 * call fails, -2 if they disagree (printed).
 */
static inline int nt_page_node(void *addr)
{
	int pol = -1, status = -1;
	long r1, r2;

	r1 = get_mempolicy(&pol, NULL, 0, addr, MPOL_F_NODE | MPOL_F_ADDR);
	r2 = move_pages(0, 1, &addr, NULL, &status, 0);
	if (r1 || r2 || status < 0) {
		printf("         %p: get_mempolicy %s (node %d), move_pages %s (status %d)\n",
		       addr, r1 ? strerror(errno) : "ok", pol,
		       r2 ? "failed" : "ok", status);
		return -1;
	}
	if (pol != status) {
		printf("         %p: get_mempolicy says node %d, move_pages node %d\n",
		       addr, pol, status);
		return -2;
	}
	return pol;
}

/*
 * Check npages 2 MiB pages from addr: each on a node of want_mask (bit n:
 * node n), by both interfaces. Adds the pages to hist[node] if hist is not
 * NULL. Prints one line with a node digit per page ('?' where unknown).
 */
static inline bool nt_check_pages(const char *what, void *addr, size_t npages,
				  unsigned long want_mask, long *hist)
{
	char map[160];
	size_t i, bad = 0;

	for (i = 0; i < npages; i++) {
		int n = nt_page_node((char *)addr + i * NT_PSZ);

		if (i < sizeof(map) - 4)
			map[i] = n >= 0 && n < 10 ? (char)('0' + n) : n >= 10 ? '+' : '?';
		if (n < 0 || n >= NT_MAX_NODES || !(want_mask & (1UL << n)))
			bad++;
		else if (hist)
			hist[n]++;
	}
	map[npages < sizeof(map) - 4 ? npages : sizeof(map) - 4] = '\0';
	if (npages >= sizeof(map) - 4)
		strcat(map, "...");
	return EXPECT(bad == 0,
		      "%s: %zu page(s) on nodes [%s] by get_mempolicy and move_pages; allowed mask 0x%lx (%zu wrong)",
		      what, npages, map, want_mask, bad);
}

/* ------------------------------------------------------------------------
 * pool counters against the kernel
 * ------------------------------------------------------------------------ */
#ifdef HUGEPOOL_HUGEPOOL_H

static inline struct hugepool_counters nt_pool_node(const struct hugepool *p, int node)
{
	struct hugepool_counters c;
	int ret;

	memset(&c, 0, sizeof(c));
	ret = hugepool_counters(p, node, &c);
	if (ret)
		EXPECT(0, "hugepool_counters(node %d): %s", node, strerror(-ret));
	return c;
}

/* Per-node counters of p sum to its totals, counter by counter. */
static inline void nt_check_sums(const char *what, const struct hugepool *p)
{
	struct hugepool_counters tot = nt_pool_node(p, HUGEPOOL_NODE_ANY);
	size_t nr = 0, fr = 0, rv = 0, sp = 0;
	int i;

	for (i = 0; i < nt_nodes(); i++) {
		struct hugepool_counters c = nt_pool_node(p, i);

		nr += c.nr_pages;
		fr += c.free_pages;
		rv += c.resv_pages;
		sp += c.surplus_pages;
	}
	EXPECT(nr == tot.nr_pages && fr == tot.free_pages && rv == tot.resv_pages &&
	       sp == tot.surplus_pages,
	       "%s: per-node sums nr %zu free %zu resv %zu surplus %zu == totals %zu %zu %zu %zu",
	       what, nr, fr, rv, sp, tot.nr_pages, tot.free_pages, tot.resv_pages,
	       tot.surplus_pages);
}

/*
 * The kernel's per-node movement since before against the pools:
 *  - node n's free_hugepages dropped by exactly the pages the root pools
 *    hold on n (every page a pool holds is populated, so it is out of the
 *    kernel's free list; regions' reserved pages too);
 *  - if want is not NULL, that drop is want[n];
 *  - nr_hugepages and surplus_hugepages of every node did not move (the
 *    guest has no overcommit: a pool never makes the kernel grow);
 *  - the library's own per-node view (hugepool_kernel_counters) agrees
 *    with sysfs.
 */
static inline void nt_check_moved(const char *what, const struct nt_snap *before,
				  const long *want, struct hugepool *const *roots, int nroots)
{
	struct nt_snap now;
	int i, k;

	nt_snap(&now);
	for (i = 0; i < now.nodes; i++) {
		long drop = before->free[i] - now.free[i], held = 0;
		struct hugepool_counters kc;
		int ret;

		for (k = 0; k < nroots; k++)
			held += (long)nt_pool_node(roots[k], i).nr_pages;
		if (want)
			EXPECT(drop == want[i] && held == want[i],
			       "%s: node%d free_hugepages %ld -> %ld: drop %ld, pool(s) hold %ld on node%d, want %ld",
			       what, i, before->free[i], now.free[i], drop, held, i, want[i]);
		else
			EXPECT(drop == held,
			       "%s: node%d free_hugepages %ld -> %ld: drop %ld == pool(s) hold %ld on node%d",
			       what, i, before->free[i], now.free[i], drop, held, i);
		EXPECT(now.nr[i] == before->nr[i] && now.surplus[i] == before->surplus[i],
		       "%s: node%d nr_hugepages %ld surplus %ld unchanged (%ld %ld)",
		       what, i, now.nr[i], now.surplus[i], before->nr[i], before->surplus[i]);
		ret = hugepool_kernel_counters(NT_PSZ, i, &kc);
		EXPECT(ret == 0 && (long)kc.free_pages == now.free[i] &&
		       (long)kc.nr_pages == now.nr[i],
		       "%s: hugepool_kernel_counters(node %d) free %zu nr %zu == sysfs %ld %ld",
		       what, i, ret ? 0 : kc.free_pages, ret ? 0 : kc.nr_pages,
		       now.free[i], now.nr[i]);
	}
}

/* A pool's counters on one node are exactly nr/free (resv, surplus too if >= 0). */
static inline void nt_check_pool_node(const char *what, const struct hugepool *p, int node,
				      long nr, long fr, long resv, long surplus)
{
	struct hugepool_counters c = nt_pool_node(p, node);
	bool ok = (long)c.nr_pages == nr && (long)c.free_pages == fr &&
		  (resv < 0 || (long)c.resv_pages == resv) &&
		  (surplus < 0 || (long)c.surplus_pages == surplus);

	EXPECT(ok, "%s: node%d nr %zu free %zu resv %zu surplus %zu (want %ld %ld %ld %ld; -1: any)",
	       what, node, c.nr_pages, c.free_pages, c.resv_pages, c.surplus_pages,
	       nr, fr, resv, surplus);
}

#endif /* HUGEPOOL_HUGEPOOL_H */

/*
 * Capture what the library writes to stderr between nt_stderr_begin() and
 * nt_stderr_end(): the library warns there (at the default verbosity)
 * when a page lands on a node outside a BIND pool's nodes, something the
 * kernel's counters cannot show afterwards because the page was given
 * back at once. Returns the bytes captured (NUL-terminated in buf).
 */
static int nt_stderr_saved = -1;
static char nt_stderr_path[] = "/tmp/numa-test-stderr.XXXXXX";

static inline void nt_stderr_begin(void)
{
	int fd;

	fflush(stderr);
	fd = mkstemp(nt_stderr_path);
	if (fd < 0)
		return;
	unlink(nt_stderr_path);
	nt_stderr_saved = dup(2);
	dup2(fd, 2);
	close(fd);
}

static inline long nt_stderr_end(char *buf, size_t len)
{
	long n = 0;

	buf[0] = '\0';
	if (nt_stderr_saved < 0)
		return -1;
	fflush(stderr);
	if (lseek(2, 0, SEEK_SET) == 0) {
		n = read(2, buf, len - 1);
		buf[n > 0 ? n : 0] = '\0';
	}
	dup2(nt_stderr_saved, 2);
	close(nt_stderr_saved);
	nt_stderr_saved = -1;
	return n;
}

#endif /* HUGEPOOL_NUMA_TEST_H */
