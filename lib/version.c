/* SPDX-License-Identifier: MIT */
/* version.c - the library version string (hugepool_version). */
#include "internal.h"

const char *hugepool_version(void)
{
	return HUGEPOOL_VERSION;
}
