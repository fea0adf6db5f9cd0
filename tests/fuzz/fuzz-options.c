/* SPDX-License-Identifier: MIT */
/*
 * fuzz-options.c - libFuzzer harness for the HUGEPOOL_* environment
 * (lib/options.c): hp_options_parse reads the variables through a
 * getenv-like function, here a table built from the input, and
 * hp_options_config turns them into the default pool's configuration.
 *
 * Input: lines "NAME=VALUE" (NAME need not be a HUGEPOOL_* name; the last
 * line for a name wins, as in an environment). Whatever the values: no
 * crash, every option within its range (an invalid value is a warning and
 * the default), strings taken from the table, and a configuration that
 * hugepool_create would accept: a page size of this kernel or 0, a valid
 * policy, min <= max when max is set, and HUGEPOOL_MIN/MAX resolved as
 * hp_parse_pages reads them.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz-options"
#include "fuzz.h"

#define MAX_VARS 32

static char text[4096];
static const char *names[MAX_VARS], *values[MAX_VARS];
static int nvars;

static const char *table_get(const char *name)
{
	int i;

	for (i = nvars - 1; i >= 0; i--)
		if (!strcmp(names[i], name))
			return values[i];
	return NULL;
}

static bool from_table(const char *s)
{
	return !s || (s >= text && s < text + sizeof(text));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hp_options o;
	struct hugepool_config cfg;
	size_t n = size < sizeof(text) - 1 ? size : sizeof(text) - 1, v;
	const char *min, *max;
	char *line, *save = NULL;

	memcpy(text, data, n);
	text[n] = '\0';
	nvars = 0;
	for (line = strtok_r(text, "\n", &save); line && nvars < MAX_VARS;
	     line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');

		if (!eq)
			continue;
		*eq = '\0';
		names[nvars] = line;
		values[nvars++] = eq + 1;
	}

	hp_options_defaults(&o);	/* as lib/options.c starts */
	hp_options_parse(&o, table_get);
	if (o.verbose < 0 || o.verbose > 4 || hp_verbose != o.verbose)
		fail("verbose %d", o.verbose);
	if (o.policy < HUGEPOOL_POLICY_DEFAULT || o.policy > HUGEPOOL_POLICY_INTERLEAVE)
		fail("policy %d", o.policy);
	if (o.threshold < 1)
		fail("threshold 0");
	if (o.stats < 0 || o.stats > 2)
		fail("stats %d", o.stats);
	if (o.decay_ms < -1)
		fail("decay_ms %ld", o.decay_ms);
	if (o.page_size && !hp_size_to_hstate(o.page_size))
		fail("page size %zu is not one of this kernel", o.page_size);
	if (o.malloc_mode < -1 || o.malloc_mode > 1)
		fail("malloc_mode %d", o.malloc_mode);
	if (!from_table(o.min_str) || !from_table(o.max_str) || !from_table(o.nodes) ||
	    !from_table(o.stats_file) || !from_table(o.publish_dir))
		fail("a string option does not come from the environment");

	hp_options_config(&o, &cfg);
	if (cfg.page_size != o.page_size || cfg.policy != o.policy || cfg.nodes != o.nodes ||
	    cfg.flags != (o.fallback ? HUGEPOOL_FALLBACK : 0u))
		fail("configuration does not follow the options");
	if (cfg.max_pages && cfg.min_pages > cfg.max_pages)
		fail("min %zu > max %zu", cfg.min_pages, cfg.max_pages);
	/* HUGEPOOL_MIN/MAX as parse_pages reads them, for the pool's size */
	min = o.min_str;
	max = o.max_str;
	if (hp_size_to_hstate(cfg.page_size)) {
		size_t psz = hp_size_to_hstate(cfg.page_size)->size, mx = 0;

		if (max && !hp_parse_pages(max, psz, &mx) && cfg.max_pages != mx)
			fail("HUGEPOOL_MAX=%s: max %zu, expected %zu", max, cfg.max_pages, mx);
		if (min && !hp_parse_pages(min, psz, &v) && (!mx || v <= mx) &&
		    cfg.min_pages != v)
			fail("HUGEPOOL_MIN=%s: min %zu, expected %zu", min, cfg.min_pages, v);
	}
	/* a node list that passed the options' own check (made without
	 * libnuma) must be one that libnuma parses too */
	if (cfg.nodes) {
		hp_nodemask_t m;

		if (hp_node_parse(cfg.nodes, &m))
			fail("HUGEPOOL_NODES=%s accepted, but hugepool_create rejects it", cfg.nodes);
	}
	hp_verbose = 0;
	return 0;
}
