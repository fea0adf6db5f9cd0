/* SPDX-License-Identifier: MIT */
/*
 * maps.c - this process's mappings as the kernel lists them:
 * /proc/self/smaps (the page size behind an address) and /proc/self/maps.
 */
#include "support.h"

#include <stdio.h>
#include <string.h>

long smaps_page_size(const void *addr)
{
	unsigned long a = (unsigned long)addr, lo, hi, kb;
	char line[512];
	bool in = false;
	long ret = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *sp = strchr(line, ' '), *dash = strchr(line, '-');

		/* a mapping's header "lo-hi perms ...", then its fields */
		if (dash && sp && dash < sp && sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			in = a >= lo && a < hi;
			continue;
		}
		if (in && sscanf(line, "KernelPageSize: %lu kB", &kb) == 1) {
			ret = (long)kb * 1024;
			break;
		}
	}
	fclose(f);
	return ret;
}

int count_maps(void)
{
	char line[512];
	int n = 0;
	FILE *f = fopen("/proc/self/maps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n++;
	fclose(f);
	return n;
}
