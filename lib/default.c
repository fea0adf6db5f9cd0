/* SPDX-License-Identifier: MIT */
/*
 * default.c - the process default pool (hugepool_default, the pool of
 * hugepool_malloc(NULL, ...) and of the preload): made on first use from
 * the HUGEPOOL_* options, above the engine and below the consumers that
 * fall back to it.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

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
		hp_log(0, "warning: HUGEPOOL_NODES=\"%s\" is invalid (not a node list of this "
		       "machine); using the default", cfg.nodes);
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
		hp_log(2, "no default pool yet: %s", hp_errstr(ENOMEM));
		errno = ENOMEM;
	} else {
		default_errno = errno ? errno : ENOMEM;
		hp_log(1, "no default pool: %s", hp_errstr(default_errno));
	}
	pthread_mutex_unlock(&default_lock);
	return p;
}
