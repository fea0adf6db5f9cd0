/* SPDX-License-Identifier: MIT */
/*
 * numa-smoke: proves that the NUMA guest booted by run-guest.sh is real.
 * Needs no part of hugepool, only libnuma and the kernel.
 *
 * For every node with memory it maps one 2 MiB huge page (MAP_HUGETLB |
 * MAP_HUGE_2MB), binds it to that node with mbind(MPOL_BIND) before touching
 * it, populates it with madvise(MADV_POPULATE_WRITE), and checks
 *   - get_mempolicy(MPOL_F_NODE | MPOL_F_ADDR) reports that node,
 *   - move_pages() (status query, no nodes given) reports that node,
 *   - that node's free_hugepages (sysfs, 2048kB) dropped by exactly 1 and no
 *     other node's changed,
 * then unmaps it and checks that every node's counter is back.
 *
 * Exit: 0 pass, 1 fail, 77 skip (not NUMA, or no free huge page on a node);
 * under HUGEPOOL_TEST_REQUIRE=1 a skip is a failure.
 *
 * HUGEPOOL_NUMA_SMOKE_WRONG_NODE=1 binds each page to the next node while
 * still expecting the node it meant: the test must then fail (used to show
 * that the harness reports failures).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "support.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif
#ifndef MAP_HUGE_2MB
#define MAP_HUGE_2MB (21 << MAP_HUGE_SHIFT)
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define HPAGE_2M (2UL << 20)
#define MAX_NODES 64

static int failures;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (cond) {                                                 \
			printf("  ok   ");                                  \
		} else {                                                    \
			printf("  FAIL ");                                  \
			failures++;                                         \
		}                                                           \
		printf(__VA_ARGS__);                                        \
		printf("\n");                                               \
	} while (0)

static int skip_or_fail(const char *why)
{
	const char *req = getenv("HUGEPOOL_TEST_REQUIRE");

	if (req && strcmp(req, "1") == 0) {
		printf("numa-smoke: FAIL (required): %s\n", why);
		return 1;
	}
	printf("numa-smoke: SKIP: %s\n", why);
	return 77;
}

/* free_hugepages of one node's 2 MiB pool, -1 if it cannot be read */
static long node_free(int node)
{
	return node_counter(node, 2UL << 20, "free_hugepages");
}

static void read_all(const int *nodes, int n, long *out)
{
	for (int i = 0; i < n; i++)
		out[i] = node_free(nodes[i]);
}

/* one page on nodes[idx]; the others must not move */
static void check_node(const int *nodes, int n, int idx, int wrong)
{
	int want = nodes[idx];
	int bind_to = wrong ? nodes[(idx + 1) % n] : want;
	long before[MAX_NODES], during[MAX_NODES], after[MAX_NODES];
	struct bitmask *mask;
	void *p;
	int pol_node = -1, status = -12345;
	long rc;

	printf("node %d:%s\n", want,
	       wrong ? " (HUGEPOOL_NUMA_SMOKE_WRONG_NODE: binding to the next node)" : "");
	read_all(nodes, n, before);

	p = mmap(NULL, HPAGE_2M, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_HUGE_2MB, -1, 0);
	CHECK(p != MAP_FAILED, "mmap 2 MiB MAP_HUGETLB|MAP_HUGE_2MB%s%s",
	      p == MAP_FAILED ? ": " : "", p == MAP_FAILED ? strerror(errno) : "");
	if (p == MAP_FAILED)
		return;

	mask = numa_allocate_nodemask();
	numa_bitmask_setbit(mask, (unsigned int)bind_to);
	rc = mbind(p, HPAGE_2M, MPOL_BIND, mask->maskp, mask->size + 1, 0);
	numa_free_nodemask(mask);
	CHECK(rc == 0, "mbind MPOL_BIND to node %d before touching%s%s", bind_to,
	      rc ? ": " : "", rc ? strerror(errno) : "");

	rc = madvise(p, HPAGE_2M, MADV_POPULATE_WRITE);
	CHECK(rc == 0, "madvise MADV_POPULATE_WRITE%s%s",
	      rc ? ": " : "", rc ? strerror(errno) : "");
	if (rc == 0)
		memset(p, 0x5a, HPAGE_2M);

	rc = get_mempolicy(&pol_node, NULL, 0, p, MPOL_F_NODE | MPOL_F_ADDR);
	CHECK(rc == 0 && pol_node == want,
	      "get_mempolicy(MPOL_F_NODE|MPOL_F_ADDR): page on node %d (want %d)%s%s",
	      pol_node, want, rc ? ": " : "", rc ? strerror(errno) : "");

	rc = move_pages(0, 1, &p, NULL, &status, 0);
	CHECK(rc == 0 && status == want,
	      "move_pages status query: page on node %d (want %d)%s%s",
	      status, want, rc ? ": " : "", rc ? strerror(errno) : "");

	read_all(nodes, n, during);
	for (int i = 0; i < n; i++) {
		long d = before[i] - during[i];

		if (i == idx)
			CHECK(d == 1, "node%d free_hugepages %ld -> %ld (want -1)",
			      nodes[i], before[i], during[i]);
		else
			CHECK(d == 0, "node%d free_hugepages %ld -> %ld (want unchanged)",
			      nodes[i], before[i], during[i]);
	}

	rc = munmap(p, HPAGE_2M);
	CHECK(rc == 0, "munmap");
	read_all(nodes, n, after);
	for (int i = 0; i < n; i++)
		CHECK(after[i] == before[i],
		      "node%d free_hugepages back at %ld after munmap (now %ld)",
		      nodes[i], before[i], after[i]);
}

int main(void)
{
	int nodes[MAX_NODES], n = 0, max;
	const char *w = getenv("HUGEPOOL_NUMA_SMOKE_WRONG_NODE");
	int wrong = w && *w && strcmp(w, "0") != 0;
	struct bitmask *mems;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (numa_available() < 0)
		return skip_or_fail("numa_available() < 0: no NUMA support");
	max = numa_max_node();
	printf("numa-smoke: numa_max_node() = %d\n", max);
	if (max < 1)
		return skip_or_fail("numa_max_node() < 1: a single node");

	mems = numa_get_mems_allowed();
	for (int i = 0; i <= max && n < MAX_NODES; i++) {
		long long free_b = 0, size;

		if (!numa_bitmask_isbitset(mems, (unsigned int)i))
			continue;
		size = numa_node_size64(i, &free_b);
		printf("numa-smoke: node %d: %lld MiB (%lld MiB free), %ld free 2 MiB huge pages\n",
		       i, size >> 20, free_b >> 20, node_free(i));
		nodes[n++] = i;
	}
	numa_bitmask_free(mems);
	if (n < 2)
		return skip_or_fail("fewer than 2 nodes with memory allowed");
	for (int i = 0; i < n; i++) {
		if (node_free(nodes[i]) < 1) {
			char why[96];

			snprintf(why, sizeof(why),
				 "node %d has no free 2 MiB huge page", nodes[i]);
			return skip_or_fail(why);
		}
	}

	for (int i = 0; i < n; i++)
		check_node(nodes, n, i, wrong);

	printf("numa-smoke: %s (%d node%s, %d failed check%s)\n",
	       failures ? "FAIL" : "PASS", n, n == 1 ? "" : "s",
	       failures, failures == 1 ? "" : "s");
	return failures ? 1 : 0;
}
