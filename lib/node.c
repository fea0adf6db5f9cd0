/* SPDX-License-Identifier: MIT */
/*
 * node.c - NUMA topology. Node strings are parsed by libnuma; the set of
 * nodes is kept in a fixed-size hp_nodemask_t so that the hot paths never
 * allocate. Also: where a page actually is (get_mempolicy / move_pages),
 * because placement is verified, never assumed.
 */
#include "internal.h"

#include <numa.h>
#include <numaif.h>
#include <stdio.h>
#include <string.h>

#define LBITS (8 * sizeof(unsigned long))

static pthread_mutex_t node_lock = PTHREAD_MUTEX_INITIALIZER;
static bool node_done;
static int node_count = 1;
static hp_nodemask_t node_memory;	/* nodes with memory */
static hp_nodemask_t node_allowed;	/* ... that this task may use */

/*
 * Read the topology once libnuma has it. libnuma fills numa_nodes_ptr in
 * its constructor, and that constructor allocates: under LD_PRELOAD our
 * malloc can run before it finishes. Until then, say -EAGAIN (and do not
 * latch), rather than read NULL masks or let libnuma exit the process.
 */
static int node_init(void)
{
	int n, max;

	if (__atomic_load_n(&node_done, __ATOMIC_ACQUIRE))
		return 0;
	if (numa_available() >= 0 && (!numa_nodes_ptr || !numa_all_nodes_ptr))
		return -EAGAIN;
	pthread_mutex_lock(&node_lock);
	if (node_done) {
		pthread_mutex_unlock(&node_lock);
		return 0;
	}
	memset(&node_memory, 0, sizeof(node_memory));
	memset(&node_allowed, 0, sizeof(node_allowed));
	if (numa_available() < 0) {
		hp_nodemask_set(&node_memory, 0);
		hp_nodemask_set(&node_allowed, 0);
		node_count = 1;
		goto done;
	}
	max = numa_max_node();
	if (max >= HP_MAX_NODES)
		max = HP_MAX_NODES - 1;
	node_count = max + 1;
	for (n = 0; n <= max; n++) {
		if (numa_bitmask_isbitset(numa_nodes_ptr, (unsigned int)n))
			hp_nodemask_set(&node_memory, n);
		if (numa_bitmask_isbitset(numa_all_nodes_ptr, (unsigned int)n))
			hp_nodemask_set(&node_allowed, n);
	}
	if (hp_nodemask_empty(&node_allowed))
		node_allowed = node_memory;
done:
	__atomic_store_n(&node_done, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&node_lock);
	return 0;
}

int hp_nodemask_weight(const hp_nodemask_t *m)
{
	int w = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(m->bits); i++)
		w += __builtin_popcountl(m->bits[i]);
	return w;
}

bool hp_nodemask_empty(const hp_nodemask_t *m)
{
	return hp_nodemask_weight(m) == 0;
}

int hp_nodemask_next(const hp_nodemask_t *m, int n)
{
	int i;

	if (n < 0 || n >= HP_MAX_NODES)
		n = 0;
	for (i = 0; i < HP_MAX_NODES; i++) {
		int c = (n + i) % HP_MAX_NODES;

		if (hp_nodemask_test(m, c))
			return c;
	}
	return -1;
}

int hp_node_count(void)
{
	return node_init() ? 1 : node_count;
}

bool hp_node_exists(int node)
{
	if (node_init())
		return node == 0;
	return hp_nodemask_test(&node_memory, node);
}

void hp_node_allowed(hp_nodemask_t *out)
{
	if (node_init()) {
		memset(out, 0, sizeof(*out));
		hp_nodemask_set(out, 0);
		return;
	}
	*out = node_allowed;
}

/* Every number in a node string is a node this kernel could have: libnuma
 * walks a range node by node, and "0-4000000000" took it minutes (found by
 * tests/fuzz/fuzz-node). */
static bool numbers_in_range(const char *s, int max)
{
	for (; *s; s++) {
		unsigned long v = 0;

		if (*s < '0' || *s > '9')
			continue;
		for (; *s >= '0' && *s <= '9'; s++) {
			v = v * 10 + (unsigned long)(*s - '0');
			if (v > (unsigned long)max)
				return false;
		}
		if (!*s)
			break;
	}
	return true;
}

int hp_node_parse(const char *str, hp_nodemask_t *out)
{
	struct bitmask *bm;
	unsigned int n;

	int ret = node_init();

	if (ret)
		return ret;
	if (!str) {
		*out = node_allowed;
		return 0;
	}
	if (!*str)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (numa_available() < 0) {
		/* no NUMA syscalls: only node 0 exists */
		if (strcmp(str, "0") && strcmp(str, "all"))
			return -EINVAL;
		hp_nodemask_set(out, 0);
		return 0;
	}
	if (!numbers_in_range(str, numa_max_possible_node()))
		return -EINVAL;
	bm = numa_parse_nodestring(str);
	if (!bm)
		return -EINVAL;
	for (n = 0; n < bm->size; n++) {
		if (!numa_bitmask_isbitset(bm, n))
			continue;
		if (n >= HP_MAX_NODES || !hp_nodemask_test(&node_allowed, (int)n)) {
			numa_bitmask_free(bm);
			return -EINVAL;
		}
		hp_nodemask_set(out, (int)n);
	}
	numa_bitmask_free(bm);
	return hp_nodemask_empty(out) ? -EINVAL : 0;
}

int hp_node_of(void *addr)
{
	int node = -1, ret;

	ret = hp_sys_get_mempolicy(&node, NULL, 0, addr, MPOL_F_NODE | MPOL_F_ADDR);
	return ret ? ret : node;
}

int hp_node_of_pages(void *addr, size_t stride, unsigned long n, int *nodes)
{
	void *pages[64];
	unsigned long done = 0, i, chunk;
	int ret;

	while (done < n) {
		chunk = n - done < ARRAY_SIZE(pages) ? n - done : ARRAY_SIZE(pages);
		for (i = 0; i < chunk; i++)
			pages[i] = (char *)addr + (done + i) * stride;
		ret = hp_sys_move_pages(chunk, pages, nodes + done);
		if (ret)
			return ret;
		done += chunk;
	}
	return 0;
}

void hp_nodemask_format(const hp_nodemask_t *m, char *buf, size_t len)
{
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	while (n < HP_MAX_NODES) {
		int start, end;

		if (!hp_nodemask_test(m, n)) {
			n++;
			continue;
		}
		start = n;
		while (n + 1 < HP_MAX_NODES && hp_nodemask_test(m, n + 1))
			n++;
		end = n++;
		if (off >= len)
			break;
		off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", start);
		if (end > start && off < len)
			off += (size_t)snprintf(buf + off, len - off, "-%d", end);
	}
}
