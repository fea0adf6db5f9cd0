/* SPDX-License-Identifier: MIT */
/*
 * options.c - the HUGEPOOL_* environment, parsed once into hp_opt (an
 * options table in mimalloc's manner), and the process default pool built
 * from it. An invalid value is a one-line warning and the default, never a
 * crash: the preload runs inside programs that did not ask for us.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <strings.h>

#define HP_DEFAULT_THRESHOLD	(256UL * 1024)
#define HP_DEFAULT_DECAY_MS	1000

struct hp_options hp_opt = {
	.threshold = HP_DEFAULT_THRESHOLD,
	.verbose = 1,
	.decay_ms = HP_DEFAULT_DECAY_MS,
};

static pthread_once_t opt_once = PTHREAD_ONCE_INIT;

static void warn_invalid(const char *name, const char *val, const char *why)
{
	hp_log(0, "warning: %s=\"%s\" is invalid (%s); using the default", name, val, why);
}

static void opt_size(hp_getenv_fn get, const char *name, size_t *out)
{
	const char *v = get(name);
	size_t s;

	if (!v)
		return;
	if (hp_parse_size(v, &s))
		warn_invalid(name, v, "expected a size such as 2M or 1G");
	else
		*out = s;
}

static void opt_bool(hp_getenv_fn get, const char *name, bool *out)
{
	const char *v = get(name);
	bool b;

	if (!v)
		return;
	if (hp_parse_bool(v, &b))
		warn_invalid(name, v, "expected 0/1, yes/no, on/off");
	else
		*out = b;
}

/*
 * The HUGEPOOL_* variables that get() returns, parsed into opt (which
 * holds the defaults). get is getenv for the process; the fuzzer
 * (tests/fuzz/fuzz-options.c) passes a table of its own. Sets hp_verbose
 * from HUGEPOOL_VERBOSE first, so that the warnings after it obey it.
 */
void hp_options_parse(struct hp_options *opt, hp_getenv_fn get)
{
	const char *v;
	unsigned long ul;

	/* verbosity first so that the other warnings obey it... but a bad
	 * verbosity itself is always reported */
	if ((v = get("HUGEPOOL_VERBOSE"))) {
		if (hp_parse_ulong(v, &ul) || ul > 4)
			warn_invalid("HUGEPOOL_VERBOSE", v, "expected 0 to 4");
		else
			opt->verbose = (int)ul;
	}
	hp_verbose = opt->verbose;

	if ((v = get("HUGEPOOL_PAGE_SIZE"))) {
		size_t s;

		if (hp_parse_size(v, &s) || !hp_size_to_hstate(s))
			warn_invalid("HUGEPOOL_PAGE_SIZE", v, "not a huge page size of this kernel");
		else
			opt->page_size = s;
	}
	opt->min_str = get("HUGEPOOL_MIN");
	opt->max_str = get("HUGEPOOL_MAX");
	/* not parsed here: this runs in the first malloc, which may come from
	 * libnuma's own constructor before libnuma can parse anything; the
	 * default pool checks it (hugepool_create says EINVAL) */
	opt->nodes = get("HUGEPOOL_NODES");
	if ((v = get("HUGEPOOL_POLICY"))) {
		static const char *const names[] = { "default", "preferred", "bind", "interleave" };
		size_t i;

		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (!strcasecmp(v, names[i]))
				break;
		if (i == ARRAY_SIZE(names))
			warn_invalid("HUGEPOOL_POLICY", v, "expected default|preferred|bind|interleave");
		else
			opt->policy = (enum hugepool_policy)i;
	}
	opt_size(get, "HUGEPOOL_THRESHOLD", &opt->threshold);
	if (opt->threshold == 0)
		opt->threshold = 1;
	opt_bool(get, "HUGEPOOL_FALLBACK", &opt->fallback);
	opt_bool(get, "HUGEPOOL_MALLOC", &opt->malloc_enable);
	if ((v = get("HUGEPOOL_STATS"))) {
		if (!strcasecmp(v, "text") || !strcmp(v, "1"))
			opt->stats = 1;
		else if (!strcasecmp(v, "json"))
			opt->stats = 2;
		else if (!strcmp(v, "0") || !strcasecmp(v, "none"))
			opt->stats = 0;
		else
			warn_invalid("HUGEPOOL_STATS", v, "expected text or json");
	}
	opt->stats_file = get("HUGEPOOL_STATS_FILE");
	if ((v = get("HUGEPOOL_DECAY_MS"))) {
		if (!strcmp(v, "-1"))
			opt->decay_ms = -1;
		else if (hp_parse_ulong(v, &ul) || ul > LONG_MAX)
			warn_invalid("HUGEPOOL_DECAY_MS", v, "expected milliseconds or -1");
		else
			opt->decay_ms = (long)ul;
	}
}

/* getenv with the constness hp_getenv_fn wants */
static const char *env_get(const char *name)
{
	return getenv(name);
}

static void options_parse(void)
{
	hp_options_parse(&hp_opt, env_get);
}

void hp_options_init(void)
{
	pthread_once(&opt_once, options_parse);
}

long hp_opt_decay_ms(void)
{
	hp_options_init();
	return hp_opt.decay_ms;
}

/* ------------------------------------------------------------------------
 * the process default pool
 * ------------------------------------------------------------------------ */
/*
 * The default pool's configuration from parsed options: HUGEPOOL_MIN and
 * HUGEPOOL_MAX are resolved now that the page size is known (an invalid
 * one is a warning and no limit). Separate from hugepool_default so that
 * the fuzzer can run it.
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

		if (opt->min_str) {
			if (hp_parse_pages(opt->min_str, h->size, &v))
				warn_invalid("HUGEPOOL_MIN", opt->min_str, "expected pages (512) or memory (1G)");
			else
				cfg->min_pages = v;
		}
		if (opt->max_str) {
			if (hp_parse_pages(opt->max_str, h->size, &v))
				warn_invalid("HUGEPOOL_MAX", opt->max_str, "expected pages (512) or memory (1G)");
			else
				cfg->max_pages = v;
		}
		if (cfg->max_pages && cfg->min_pages > cfg->max_pages) {
			hp_log(0, "warning: HUGEPOOL_MIN exceeds HUGEPOOL_MAX; ignoring HUGEPOOL_MIN");
			cfg->min_pages = 0;
		}
	}
}

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hugepool *default_pool;
static int default_errno;

struct hugepool *hp_default_pool_peek(void)
{
	return __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE);
}

struct hugepool *hugepool_default(void)
{
	struct hugepool_config cfg = { 0 };
	struct hugepool *p = __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE);

	if (likely(p))
		return p;
	hp_options_init();
	pthread_mutex_lock(&default_lock);
	if (default_pool || default_errno) {
		p = default_pool;
		pthread_mutex_unlock(&default_lock);
		if (!p)
			errno = default_errno;
		return p;
	}
	hp_options_config(&hp_opt, &cfg);
	p = hugepool_create(&cfg);
	if (!p && errno == EAGAIN) {
		/* too early (libnuma not initialised yet): try again later */
		pthread_mutex_unlock(&default_lock);
		errno = EAGAIN;
		return NULL;
	}
	if (!p && errno == EINVAL && cfg.nodes) {
		warn_invalid("HUGEPOOL_NODES", cfg.nodes, "not a node list of this machine");
		cfg.nodes = NULL;
		p = hugepool_create(&cfg);
	}
	if (!p && cfg.min_pages) {
		hp_log(1, "cannot take HUGEPOOL_MIN=%zu pages now; starting with none", cfg.min_pages);
		cfg.min_pages = 0;
		p = hugepool_create(&cfg);
	}
	if (p) {
		snprintf(p->name, sizeof(p->name), "default-%zuK", p->h->size >> 10);
		__atomic_store_n(&default_pool, p, __ATOMIC_RELEASE);
	} else if (errno == ENOMEM) {
		/* not latched: a passing shortage (address space, memory
		 * for metadata) must not disable the default pool for good;
		 * the next call tries again. Found by tests/fault: one failed
		 * mmap made every later hugepool_malloc(NULL, ...) fail. */
		hp_log(2, "no default pool yet: %s", strerror(ENOMEM));
		errno = ENOMEM;
	} else {
		default_errno = errno ? errno : ENOMEM;
		hp_log(1, "no default pool: %s", strerror(default_errno));
	}
	pthread_mutex_unlock(&default_lock);
	return p;
}
