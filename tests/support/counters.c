/* SPDX-License-Identifier: MIT */
/*
 * counters.c - the kernel's numbers as tests and benchmarks read them:
 * sysfs huge page counters (machine-wide and per node), a baseline of
 * them, and "N kB" fields of procfs files.
 */
#include "support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

long file_number(const char *path)
{
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

long file_number_at(const char *fmt, ...)
{
	char path[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	return file_number(path);
}

long kernel_counter(size_t page_size, const char *name)
{
	return file_number_at("/sys/kernel/mm/hugepages/hugepages-%zukB/%s", page_size >> 10, name);
}

long node_counter(int node, size_t page_size, const char *name)
{
	return file_number_at("/sys/devices/system/node/node%d/hugepages/hugepages-%zukB/%s",
			    node, page_size >> 10, name);
}

long kernel_avail(size_t page_size)
{
	return kernel_counter(page_size, "free_hugepages") -
	       kernel_counter(page_size, "resv_hugepages");
}

struct kbase kernel_baseline(size_t page_size)
{
	struct kbase b = { .page_size = page_size };

	b.nr = kernel_counter(page_size, "nr_hugepages");
	b.free = kernel_counter(page_size, "free_hugepages");
	b.resv = kernel_counter(page_size, "resv_hugepages");
	b.surplus = kernel_counter(page_size, "surplus_hugepages");
	return b;
}

static void print_kbase(const char *what, const struct kbase *now, const struct kbase *b)
{
	fprintf(stderr, "%s%skernel %zu kB counters not at baseline: free %ld/%ld resv %ld/%ld nr %ld/%ld surplus %ld/%ld\n",
		what ? what : "", what ? ": " : "", b->page_size >> 10, now->free, b->free,
		now->resv, b->resv, now->nr, b->nr, now->surplus, b->surplus);
}

void check_kernel_baseline(const struct kbase *b)
{
	struct kbase now = kernel_baseline(b->page_size);

	if (now.free != b->free || now.resv != b->resv || now.nr != b->nr ||
	    now.surplus != b->surplus) {
		print_kbase(NULL, &now, b);
		exit(T_FAIL);
	}
}

/* Other programs can hold pages for a moment (a suite running next to
 * this one), so a mismatch is looked at again; a leak shows as fewer free
 * or more reserved pages. */
bool kernel_back_at(const struct kbase *b, const char *what)
{
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	struct kbase now;
	int tries;

	for (tries = 0; tries < 60; tries++) {
		now = kernel_baseline(b->page_size);
		if (now.free >= b->free && now.resv <= b->resv && now.nr == b->nr &&
		    now.surplus == b->surplus)
			return true;
		nanosleep(&ts, NULL);
	}
	print_kbase(what, &now, b);
	return false;
}

long proc_kb_field(const char *path, const char *field)
{
	size_t n = strlen(field);
	char line[256];
	long v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, n) && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10) * 1024;
			break;
		}
	fclose(f);
	return v;
}

long status_bytes(const char *field)
{
	return proc_kb_field("/proc/self/status", field);
}

/* Every page a pool holds is mapped at one of its slots, so this equals
 * the sum of nr_pages over the root pools. */
long self_hugetlb_bytes(void)
{
	return status_bytes("HugetlbPages");
}
