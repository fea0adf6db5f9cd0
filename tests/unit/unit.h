/* SPDX-License-Identifier: MIT */
/* unit.h - includes in the order CMocka 1.1 needs them, and a writer of
 * files in a fake sysfs/procfs tree (hstate and cgroup tests). */
#ifndef HUGEPOOL_UNIT_H
#define HUGEPOOL_UNIT_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

/* root/rel holds val (directories made as needed). */
static inline void fake_put(const char *root, const char *rel, const char *val)
{
	char path[512], cmd[700];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(val, f);
	fclose(f);
}

/* Remove a fake tree and read the real /sys and /proc again. */
static inline void fake_root_remove(const char *root)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	hp_sysfs_root = "";
}
#endif
