/* SPDX-License-Identifier: MIT */
/* unit.h - includes in the order CMocka 1.1 needs them. */
#ifndef HUGEPOOL_UNIT_H
#define HUGEPOOL_UNIT_H
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "internal.h"
#endif
