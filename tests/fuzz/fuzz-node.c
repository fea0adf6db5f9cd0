/* SPDX-License-Identifier: MIT */
/*
 * fuzz-node.c - libFuzzer harness for hp_node_parse (lib/node.c), the
 * libnuma node strings of hugepool_config.nodes, HUGEPOOL_NODES and
 * hugepool-ctl: "0", "0-3", "all", "!1", "+0,2"...
 *
 * Whatever the string: no crash, and either -EINVAL/-EAGAIN or a mask that
 * is not empty and holds only nodes this task may use; the mask formatted
 * by hp_nodemask_format parses back to the same mask, and its weight and
 * next-node walk agree with its bits.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz-node"
#include "fuzz.h"

static bool mask_eq(const hp_nodemask_t *a, const hp_nodemask_t *b)
{
	return !memcmp(a, b, sizeof(*a));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	hp_nodemask_t m, again, allowed;
	char s[512], buf[512];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int ret, i, w = 0, next;

	memcpy(s, data, n);
	s[n] = '\0';
	memset(&m, 0, sizeof(m));
	hp_node_allowed(&allowed);
	ret = hp_node_parse(s, &m);
	if (ret == -EINVAL || ret == -EAGAIN)
		return 0;
	if (ret)
		fail("hp_node_parse(\"%s\") = %d", s, ret);
	if (hp_nodemask_empty(&m))
		fail("\"%s\": an empty mask accepted", s);
	for (i = 0; i < HP_MAX_NODES; i++) {
		if (!hp_nodemask_test(&m, i))
			continue;
		w++;
		if (!hp_nodemask_test(&allowed, i))
			fail("\"%s\": node %d is not allowed", s, i);
	}
	if (w != hp_nodemask_weight(&m))
		fail("\"%s\": weight %d, bits %d", s, hp_nodemask_weight(&m), w);
	next = hp_nodemask_next(&m, size ? data[0] % HP_MAX_NODES : 0);
	if (next < 0 || !hp_nodemask_test(&m, next))
		fail("\"%s\": next node %d not in the mask", s, next);
	hp_nodemask_format(&m, buf, sizeof(buf));
	memset(&again, 0, sizeof(again));
	if (hp_node_parse(buf, &again) || !mask_eq(&m, &again))
		fail("\"%s\": formatted as \"%s\", which does not parse back", s, buf);
	return 0;
}
