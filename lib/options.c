/* SPDX-License-Identifier: MIT */
/*
 * options.c - the HUGEPOOL_* environment, parsed once into hp_opt through
 * one options table (in mimalloc's manner), and the process default pool
 * built from it. Every HUGEPOOL_* variable the library reads is in the
 * table and read here, nowhere else, and all of them are checked when the
 * library loads: an invalid value is one line of warning and the default,
 * never a crash (the preload runs inside programs that did not ask for
 * us), and a HUGEPOOL_* name that is not ours is one line too.
 *
 * Under AT_SECURE (a setuid or setgid program, or one whose capabilities
 * were raised at exec) the environment is the caller's: every HUGEPOOL_*
 * variable is ignored, here and therefore everywhere, and the library
 * behaves as if it had no options at all (issue 12, finding 2).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#define HP_DEFAULT_THRESHOLD	(256UL * 1024)
#define HP_DEFAULT_DECAY_MS	1000

struct hp_options hp_opt = {
	.threshold = HP_DEFAULT_THRESHOLD,
	.verbose = 1,
	.decay_ms = HP_DEFAULT_DECAY_MS,
	.malloc_mode = -1,
	.publish = true,
};

void hp_options_defaults(struct hp_options *opt)
{
	memset(opt, 0, sizeof(*opt));
	opt->threshold = HP_DEFAULT_THRESHOLD;
	opt->verbose = 1;
	opt->decay_ms = HP_DEFAULT_DECAY_MS;
	opt->malloc_mode = -1;
	opt->publish = true;
}

static pthread_once_t opt_once = PTHREAD_ONCE_INIT;

static void warn_invalid(const char *name, const char *val, const char *why)
{
	hp_log(0, "warning: %s=\"%s\" is invalid (%s); using the default", name, val, why);
}

/* ------------------------------------------------------------------------
 * one parser per variable
 * ------------------------------------------------------------------------ */
static void p_verbose(struct hp_options *o, const char *name, const char *v)
{
	unsigned long ul;

	/* a bad verbosity itself is always reported */
	if (hp_parse_ulong(v, &ul) || ul > 4)
		warn_invalid(name, v, "expected 0 to 4");
	else
		o->verbose = (int)ul;
}

static void p_page_size(struct hp_options *o, const char *name, const char *v)
{
	size_t s;

	if (hp_parse_size(v, &s) || !hp_size_to_hstate(s))
		warn_invalid(name, v, "not a huge page size of this kernel");
	else
		o->page_size = s;
}

/* checked once the page size is known: see check_min_max */
static void p_min(struct hp_options *o, const char *name, const char *v)
{
	(void)name;
	o->min_str = v;
}

static void p_max(struct hp_options *o, const char *name, const char *v)
{
	(void)name;
	o->max_str = v;
}

/* A node list, checked here without libnuma: libnuma may not be set up
 * yet (this can run in the first malloc, from libnuma's own constructor),
 * and it prints its own messages about a list it rejects. "all", or
 * N and N-M separated by commas; p_nodes then checks that each is online
 * (sysfs). 0 for a list, 1 for "all", 2 for a node beyond HP_MAX_NODES,
 * -1 if malformed. */
static int node_list(const char *s, hp_nodemask_t *m)
{
	memset(m, 0, sizeof(*m));
	if (!strcmp(s, "all"))
		return 1;
	for (;;) {
		unsigned long a = 0, b;
		int digits = 0;

		while (*s >= '0' && *s <= '9' && digits < 4) {
			a = a * 10 + (unsigned long)(*s++ - '0');
			digits++;
		}
		if (!digits)
			return -1;
		b = a;
		if (*s == '-') {
			s++;
			b = 0;
			digits = 0;
			while (*s >= '0' && *s <= '9' && digits < 4) {
				b = b * 10 + (unsigned long)(*s++ - '0');
				digits++;
			}
			if (!digits || b < a)
				return -1;
		}
		if (b >= HP_MAX_NODES)
			return 2;	/* well formed, but no such node */
		for (; a <= b; a++)
			hp_nodemask_set(m, (int)a);
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			return -1;
	}
}

static void p_nodes(struct hp_options *o, const char *name, const char *v)
{
	hp_nodemask_t want, online;
	char buf[256];
	int i, r;

	r = node_list(v, &want);
	if (r == 2) {
		warn_invalid(name, v, "not a node list of this machine");
		return;
	}
	if (r < 0) {
		warn_invalid(name, v, "expected a node list such as 0,2-3 or all");
		return;
	}
	if (r == 0) {
		long n = hp_sys_read_file("/sys/devices/system/node/online", buf, sizeof(buf));

		if (n > 0 && buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		if (n <= 0 || node_list(buf, &online) != 0) {
			memset(&online, 0, sizeof(online));
			hp_nodemask_set(&online, 0);	/* no NUMA: node 0 only */
		}
		for (i = 0; i < HP_MAX_NODES; i++)
			if (hp_nodemask_test(&want, i) && !hp_nodemask_test(&online, i)) {
				warn_invalid(name, v, "not a node list of this machine");
				return;
			}
	}
	o->nodes = v;
}

static void p_policy(struct hp_options *o, const char *name, const char *v)
{
	static const char *const names[] = { "default", "preferred", "bind", "interleave" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (!strcasecmp(v, names[i]))
			break;
	if (i == ARRAY_SIZE(names))
		warn_invalid(name, v, "expected default|preferred|bind|interleave");
	else
		o->policy = (enum hugepool_policy)i;
}

static void p_threshold(struct hp_options *o, const char *name, const char *v)
{
	size_t s;

	if (hp_parse_size(v, &s))
		warn_invalid(name, v, "expected a size such as 2M or 1G");
	else
		o->threshold = s ? s : 1;
}

static bool opt_bool(const char *name, const char *v, bool *out)
{
	if (hp_parse_bool(v, out)) {
		warn_invalid(name, v, "expected 0/1, yes/no, on/off");
		return false;
	}
	return true;
}

static void p_fallback(struct hp_options *o, const char *name, const char *v)
{
	opt_bool(name, v, &o->fallback);
}

static void p_malloc(struct hp_options *o, const char *name, const char *v)
{
	bool b;

	if (opt_bool(name, v, &b)) {
		o->malloc_mode = b;
	}
}

static void p_stats(struct hp_options *o, const char *name, const char *v)
{
	if (!strcasecmp(v, "text") || !strcmp(v, "1"))
		o->stats = 1;
	else if (!strcasecmp(v, "json"))
		o->stats = 2;
	else if (!strcmp(v, "0") || !strcasecmp(v, "none"))
		o->stats = 0;
	else
		warn_invalid(name, v, "expected text or json");
}

static void p_stats_file(struct hp_options *o, const char *name, const char *v)
{
	(void)name;
	o->stats_file = v;
}

static void p_decay_ms(struct hp_options *o, const char *name, const char *v)
{
	unsigned long ul;

	if (!strcmp(v, "-1"))
		o->decay_ms = -1;
	else if (hp_parse_ulong(v, &ul) || ul > LONG_MAX)
		warn_invalid(name, v, "expected milliseconds or -1");
	else
		o->decay_ms = (long)ul;
}

static void p_publish(struct hp_options *o, const char *name, const char *v)
{
	opt_bool(name, v, &o->publish);
}

static void p_publish_dir(struct hp_options *o, const char *name, const char *v)
{
	if (v[0] != '/')
		warn_invalid(name, v, "expected an absolute directory");
	else
		o->publish_dir = v;
}

/* "text,data,bss" (any subset, any order), "all" or "none" */
static void p_segments(struct hp_options *o, const char *name, const char *v)
{
	static const struct { const char *word; unsigned int bits; } words[] = {
		{ "text", HP_SEG_TEXT }, { "data", HP_SEG_DATA }, { "bss", HP_SEG_BSS },
		{ "all", HP_SEG_TEXT | HP_SEG_DATA | HP_SEG_BSS }, { "none", 0 },
	};
	unsigned int bits = 0;
	const char *s = v;

	do {
		size_t len = strcspn(s, ","), i;

		for (i = 0; i < ARRAY_SIZE(words); i++)
			if (strlen(words[i].word) == len && !strncasecmp(s, words[i].word, len))
				break;
		if (i == ARRAY_SIZE(words)) {
			warn_invalid(name, v, "expected text,data,bss (any of them), all or none");
			return;
		}
		bits |= words[i].bits;
		s += len;
	} while (*s++ == ',');
	o->segments = bits;
}

static void p_shm(struct hp_options *o, const char *name, const char *v)
{
	opt_bool(name, v, &o->shm);
}

static void p_segments_libs(struct hp_options *o, const char *name, const char *v)
{
	if (!*v)
		warn_invalid(name, v, "expected a file name pattern such as '*libfoo*'");
	else
		o->segments_libs = v;
}

/* The table: every HUGEPOOL_* variable of the library. HUGEPOOL_VERBOSE
 * comes first, so that the warnings after it obey it. */
static const struct {
	const char *name;
	void (*parse)(struct hp_options *o, const char *name, const char *v);
} opt_table[] = {
	{ "HUGEPOOL_VERBOSE", p_verbose },
	{ "HUGEPOOL_PAGE_SIZE", p_page_size },
	{ "HUGEPOOL_MIN", p_min },
	{ "HUGEPOOL_MAX", p_max },
	{ "HUGEPOOL_NODES", p_nodes },
	{ "HUGEPOOL_POLICY", p_policy },
	{ "HUGEPOOL_THRESHOLD", p_threshold },
	{ "HUGEPOOL_FALLBACK", p_fallback },
	{ "HUGEPOOL_MALLOC", p_malloc },
	{ "HUGEPOOL_STATS", p_stats },
	{ "HUGEPOOL_STATS_FILE", p_stats_file },
	{ "HUGEPOOL_DECAY_MS", p_decay_ms },
	{ "HUGEPOOL_PUBLISH", p_publish },
	{ "HUGEPOOL_PUBLISH_DIR", p_publish_dir },
	{ "HUGEPOOL_SEGMENTS", p_segments },
	{ "HUGEPOOL_SEGMENTS_LIBS", p_segments_libs },
	{ "HUGEPOOL_SHM", p_shm },
};

/* Names that are not the library's but belong to the project's tools and
 * tests, which run with the library loaded: not reported. */
static bool foreign_name(const char *name, size_t len)
{
	static const char *const prefixes[] = {
		"HUGEPOOL_CTL_", "HUGEPOOL_TEST_", "HUGEPOOL_NUMA_", "HUGEPOOL_BENCH_",
	};
	size_t i;

	if (len == strlen("HUGEPOOL_PRELOAD_LIB") && !strncmp(name, "HUGEPOOL_PRELOAD_LIB", len))
		return true;	/* hugepool-ctl run's */
	for (i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (len > strlen(prefixes[i]) && !strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* HUGEPOOL_MIN/MAX, in pages or memory, need the page size: resolved now
 * (so that a bad value is reported at load, not at the first large
 * allocation), and forgotten if invalid, so that hp_options_config, which
 * resolves them again for the default pool, says nothing more. */
static void check_min_max(struct hp_options *o)
{
	const struct hp_hstate *h = hp_size_to_hstate(o->page_size);
	size_t min = 0, max = 0;

	if (!h)
		return;		/* no huge pages at all: there will be no pool */
	if (o->min_str && hp_parse_pages(o->min_str, h->size, &min)) {
		warn_invalid("HUGEPOOL_MIN", o->min_str, "expected pages (512) or memory (1G)");
		o->min_str = NULL;
	}
	if (o->max_str && hp_parse_pages(o->max_str, h->size, &max)) {
		warn_invalid("HUGEPOOL_MAX", o->max_str, "expected pages (512) or memory (1G)");
		o->max_str = NULL;
		max = 0;
	}
	if (o->min_str && max && min > max) {
		hp_log(0, "warning: HUGEPOOL_MIN exceeds HUGEPOOL_MAX; ignoring HUGEPOOL_MIN");
		o->min_str = NULL;
	}
}

/*
 * The HUGEPOOL_* variables that get() returns, parsed into opt (which
 * holds the defaults): one warning line for each bad value, which is then
 * left at its default. get is the process environment (NULL for every
 * name under AT_SECURE); the fuzzer (tests/fuzz/fuzz-options.c) passes a
 * table of its own. Sets hp_verbose from HUGEPOOL_VERBOSE first. Then
 * libhugetlbfs's HUGETLB_* variables (compat-env.c), for whatever the
 * HUGEPOOL_* ones left unset: HUGEPOOL_* wins where both are set.
 */
void hp_options_parse(struct hp_options *opt, hp_getenv_fn get)
{
	const char *v;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(opt_table); i++) {
		if ((v = get(opt_table[i].name)))
			opt_table[i].parse(opt, opt_table[i].name, v);
		if (i == 0)
			hp_verbose = opt->verbose;
	}
	hp_compat_env_parse(opt, get, NULL);
	check_min_max(opt);
}

/* The environment as the library sees it: nothing at all under AT_SECURE,
 * where it belongs to whoever ran the program. getauxval is a read of the
 * auxiliary vector, safe this early. */
static const char *env_get(const char *name)
{
	if (getauxval(AT_SECURE))
		return NULL;
	return getenv(name);
}

/* HUGEPOOL_* names in the environment that no table entry reads: a typo
 * (HUGEPOOL_TRESHOLD) would otherwise be silently ignored. */
static void check_unknown(void)
{
	char **e;
	size_t i;

	for (e = environ; e && *e; e++) {
		const char *s = *e, *eq;
		size_t len;

		if (strncmp(s, "HUGEPOOL_", 9))
			continue;
		eq = strchr(s, '=');
		len = eq ? (size_t)(eq - s) : strlen(s);
		for (i = 0; i < ARRAY_SIZE(opt_table); i++)
			if (strlen(opt_table[i].name) == len && !strncmp(s, opt_table[i].name, len))
				break;
		if (i == ARRAY_SIZE(opt_table) && !foreign_name(s, len))
			hp_log(0, "warning: %.*s is not a hugepool variable; ignored", (int)len, s);
	}
}

static void options_parse(void)
{
	if (getauxval(AT_SECURE)) {
		hp_opt.secure = true;
		return;		/* the defaults, and not a word about the caller's env */
	}
	hp_options_parse(&hp_opt, env_get);
	check_unknown();
}

void hp_options_init(void)
{
	pthread_once(&opt_once, options_parse);
}

/* Check the environment as the library loads, so that a bad value is
 * reported at once and not at the first large allocation (issue 17). The
 * preload's constructor (102) may have done it already; once either way. */
__attribute__((constructor(103))) static void options_ctor(void)
{
	if (environ)
		hp_options_init();
}

long hp_opt_decay_ms(void)
{
	hp_options_init();
	return hp_opt.decay_ms;
}

/* ------------------------------------------------------------------------
 * the process default pool's configuration (the pool itself: default.c)
 * ------------------------------------------------------------------------ */
/*
 * The default pool's configuration from parsed options: HUGEPOOL_MIN and
 * HUGEPOOL_MAX resolved for the page size (hp_options_parse has checked
 * them and dropped an invalid one, with its warning). Separate from
 * hugepool_default so that the fuzzer can run it.
 */
void hp_options_config(const struct hp_options *opt, struct hugepool_config *cfg)
{
	const struct hp_hstate *h;

	memset(cfg, 0, sizeof(*cfg));
	cfg->page_size = opt->page_size;
	cfg->policy = opt->policy;
	cfg->nodes = opt->nodes;
	cfg->flags = opt->fallback ? HUGEPOOL_FALLBACK : 0;
	h = hp_size_to_hstate(cfg->page_size);
	if (h) {
		size_t v;

		if (opt->min_str && !hp_parse_pages(opt->min_str, h->size, &v))
			cfg->min_pages = v;
		if (opt->max_str && !hp_parse_pages(opt->max_str, h->size, &v))
			cfg->max_pages = v;
		if (cfg->max_pages && cfg->min_pages > cfg->max_pages)
			cfg->min_pages = 0;
	}
}
