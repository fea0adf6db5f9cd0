/* SPDX-License-Identifier: MIT */
/*
 * hstate.c - the huge page sizes the kernel offers (one struct hp_hstate
 * per /sys/kernel/mm/hugepages/hugepages-<N>kB directory, as the kernel has
 * one struct hstate per size), the default size from /proc/meminfo, and the
 * kernel's counters for a size, totals or per node.
 */
#include "internal.h"

#include <linux/mman.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

const char *hp_sysfs_root = "";

static pthread_mutex_t hstate_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hp_hstate hstates[HP_MAX_HSTATES];
static int nr_hstates;
static int default_hstate_idx = -1;
static bool hstate_done;

static void add_hstate(const char *name, void *arg)
{
	unsigned long kb;
	char num[32];
	size_t len;
	struct hp_hstate *h;
	int i;

	(void)arg;
	if (strncmp(name, "hugepages-", 10))
		return;
	len = strlen(name + 10);
	if (len < 3 || len - 2 >= sizeof(num) || strcmp(name + 10 + len - 2, "kB"))
		return;
	memcpy(num, name + 10, len - 2);
	num[len - 2] = '\0';
	if (hp_parse_ulong(num, &kb) || kb == 0 || (kb & (kb - 1)) || nr_hstates == HP_MAX_HSTATES)
		return;
	h = &hstates[nr_hstates];
	h->size = (size_t)kb * 1024;
	h->shift = (unsigned int)__builtin_ctzl(h->size);
	h->mmap_flags = MAP_HUGETLB | (int)(h->shift << MAP_HUGE_SHIFT);
	snprintf(h->name, sizeof(h->name), "%s", name);
	/* keep ascending order (insertion sort; a handful of sizes) */
	for (i = nr_hstates; i > 0 && hstates[i - 1].size > h->size; i--) {
		struct hp_hstate t = hstates[i - 1];

		hstates[i - 1] = hstates[i];
		hstates[i] = t;
	}
	nr_hstates++;
}

static size_t meminfo_default_size(void)
{
	char path[256], buf[4096];
	const char *p;
	unsigned long kb = 0;

	snprintf(path, sizeof(path), "%s/proc/meminfo", hp_sysfs_root);
	if (hp_sys_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strstr(buf, "Hugepagesize:");
	if (!p || sscanf(p, "Hugepagesize: %lu kB", &kb) != 1)
		return 0;
	return (size_t)kb * 1024;
}

/* Discover the sizes once. -ENOENT when the kernel has no hugetlb support
 * (no /sys/kernel/mm/hugepages), which every caller turns into a clear
 * error; an empty list is not a crash. */
int hp_hstate_init(void)
{
	char path[256];
	size_t def;
	long n;
	int i, ret = 0;

	if (__atomic_load_n(&hstate_done, __ATOMIC_ACQUIRE))
		return nr_hstates ? 0 : -ENOENT;
	pthread_mutex_lock(&hstate_lock);
	if (hstate_done)
		goto out;
	nr_hstates = 0;
	default_hstate_idx = -1;
	snprintf(path, sizeof(path), "%s/sys/kernel/mm/hugepages", hp_sysfs_root);
	n = hp_sys_list_dir(path, add_hstate, NULL);
	if (n < 0 && n != -ENOENT) {
		/* a transient failure (fd limit, injected fault) must not be
		 * remembered as "no huge pages" */
		ret = (int)n;
		pthread_mutex_unlock(&hstate_lock);
		return ret;
	}
	def = meminfo_default_size();
	for (i = 0; i < nr_hstates; i++)
		if (hstates[i].size == def)
			default_hstate_idx = i;
	if (default_hstate_idx < 0 && nr_hstates)
		default_hstate_idx = 0;
	__atomic_store_n(&hstate_done, true, __ATOMIC_RELEASE);
out:
	ret = nr_hstates ? 0 : -ENOENT;
	pthread_mutex_unlock(&hstate_lock);
	return ret;
}

void hp_hstate_reset(void)
{
	pthread_mutex_lock(&hstate_lock);
	__atomic_store_n(&hstate_done, false, __ATOMIC_RELEASE);
	nr_hstates = 0;
	pthread_mutex_unlock(&hstate_lock);
}

int hp_hstate_count(void)
{
	return hp_hstate_init() ? 0 : nr_hstates;
}

const struct hp_hstate *hp_hstate_get(int idx)
{
	if (hp_hstate_init() || idx < 0 || idx >= nr_hstates)
		return NULL;
	return &hstates[idx];
}

const struct hp_hstate *hp_default_hstate(void)
{
	if (hp_hstate_init())
		return NULL;
	return &hstates[default_hstate_idx];
}

const struct hp_hstate *hp_size_to_hstate(size_t size)
{
	int i;

	if (hp_hstate_init())
		return NULL;
	if (size == 0)
		return &hstates[default_hstate_idx];
	for (i = 0; i < nr_hstates; i++)
		if (hstates[i].size == size)
			return &hstates[i];
	return NULL;
}

int hp_hstate_path(const struct hp_hstate *h, int node, const char *file,
		   char *buf, size_t len)
{
	int n;

	if (node < 0)
		n = snprintf(buf, len, "%s/sys/kernel/mm/hugepages/%s/%s",
			     hp_sysfs_root, h->name, file);
	else
		n = snprintf(buf, len, "%s/sys/devices/system/node/node%d/hugepages/%s/%s",
			     hp_sysfs_root, node, h->name, file);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int read_counter(const struct hp_hstate *h, int node, const char *file,
			unsigned long *out)
{
	char path[256];
	int ret = hp_hstate_path(h, node, file, path, sizeof(path));

	return ret ? ret : hp_sys_read_ulong(path, out);
}

/* The kernel's view in hugepool_counters shape: min is the persistent pool
 * (nr - surplus), max adds nr_overcommit_hugepages (global only: the kernel
 * keeps no per-node overcommit or reservation counts, so a node's resv is 0
 * and its max is its nr). */
int hp_hstate_read_counters(const struct hp_hstate *h, int node,
			    struct hugepool_counters *out)
{
	unsigned long nr, fr, surp, resv = 0, over = 0;
	int ret;

	if ((ret = read_counter(h, node, "nr_hugepages", &nr)) ||
	    (ret = read_counter(h, node, "free_hugepages", &fr)) ||
	    (ret = read_counter(h, node, "surplus_hugepages", &surp)))
		return ret == -ENOENT && node >= 0 ? -EINVAL : ret;
	if (node < 0 &&
	    ((ret = read_counter(h, node, "resv_hugepages", &resv)) ||
	     (ret = read_counter(h, node, "nr_overcommit_hugepages", &over))))
		return ret;
	memset(out, 0, sizeof(*out));
	out->page_size = h->size;
	out->nr_pages = nr;
	out->free_pages = fr;
	out->resv_pages = resv;
	out->surplus_pages = surp;
	out->min_pages = nr - (surp < nr ? surp : nr);
	out->max_pages = node < 0 ? out->min_pages + over : nr;
	return 0;
}

int hugepool_page_sizes(size_t *sizes, int max)
{
	int i, ret = hp_hstate_init();

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (max < 0 || (max > 0 && !sizes))
		return -EINVAL;
	for (i = 0; i < nr_hstates && i < max; i++)
		sizes[i] = hstates[i].size;
	return nr_hstates;
}

int hugepool_kernel_counters(size_t page_size, int node, struct hugepool_counters *out)
{
	const struct hp_hstate *h;
	int ret = hp_hstate_init();

	if (!out)
		return -EINVAL;
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	h = hp_size_to_hstate(page_size);
	if (!h)
		return -EINVAL;
	if (node != HUGEPOOL_NODE_ANY && (node < 0 || !hp_node_exists(node)))
		return -EINVAL;
	return hp_hstate_read_counters(h, node, out);
}
