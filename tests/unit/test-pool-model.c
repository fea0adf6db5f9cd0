/* SPDX-License-Identifier: MIT */
/*
 * Description: the hstate accounting of the pool engine, on any machine.
 * A pool on base pages (hp_pool_create_fake) runs the real engine: free
 * lists, surplus, subpools, regions, trim. Random operation sequences are
 * checked after every step against a model of what each pool must hold
 * (pages in use, reserved, held by subpools) and against the invariants of
 * hp_pool_check (resv <= free <= nr, per-node sums, surplus = nr - min).
 * Small objects (the heap's spans, carved from MIXED pages) are in the
 * sequences too: their pages are what the arena says MIXED pages of the
 * pool hold, and their contents must survive everything else.
 * The seed is printed, and HUGEPOOL_TEST_SEED replays one.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXOBJ 64
#define PSZ (2UL << 20)

struct obj {
	struct hugepool *pool;	/* the (sub)pool it came from */
	void *ptr;		/* block */
	struct hugepool_region *r;
	size_t pages;		/* a block's: the whole pages of its run */
	size_t len;		/* a block's bytes */
	size_t small;		/* a small object of this many bytes */
	bool *populated;
	bool noreserve;
	unsigned char pat;
};

struct model {
	struct hugepool *root, *sub;
	size_t sub_min, sub_max;
	struct obj objs[MAXOBJ];
	int nobj;
};

static unsigned int seed;

static void model_fail(const char *what, const struct model *m)
{
	fprintf(stderr, "seed %u: %s\n", seed, what);
	(void)m;
	exit(1);
}

/* MIXED pages of p: where its small objects (and granule blocks) live */
static size_t mixed_pages(const struct hugepool *p)
{
	const struct hp_arena *a = p->root->arena;
	size_t i, n = 0;

	for (i = 0; i < a->nslots; i++)
		n += a->slots[i].state == HP_SLOT_MIXED && a->slots[i].owner == p;
	return n;
}

/* in use and reserved pages the model says a pool has */
static void expected(const struct model *m, struct hugepool *p, size_t *used, size_t *resv)
{
	*used = mixed_pages(p);
	*resv = 0;
	for (int i = 0; i < m->nobj; i++) {
		const struct obj *o = &m->objs[i];

		if (o->pool != p)
			continue;
		if (o->ptr) {
			/* its whole pages; MIXED pages are in mixed_pages */
			*used += o->pages;
			continue;
		}
		for (size_t k = 0; k < o->pages; k++) {
			if (o->populated[k])
				(*used)++;
			else if (!o->noreserve)
				(*resv)++;
		}
	}
}

static bool trace;

static void check(const struct model *m, const char *op)
{
	struct hugepool_counters rc, sc;
	size_t used, resv, sused, sresv, charged;
	char msg[128];

	if (trace) {
		struct hugepool_counters t;

		hugepool_counters(m->root, HUGEPOOL_NODE_ANY, &t);
		fprintf(stderr, "  %s: root nr %zu free %zu resv %zu\n", op, t.nr_pages, t.free_pages, t.resv_pages);
	}
	if (hp_pool_check(m->root) || (m->sub && hp_pool_check(m->sub))) {
		snprintf(msg, sizeof(msg), "invariants broken after %s", op);
		model_fail(msg, m);
	}
	assert_int_equal(hugepool_counters(m->root, HUGEPOOL_NODE_ANY, &rc), 0);
	expected(m, m->root, &used, &resv);
	if (m->sub) {
		assert_int_equal(hugepool_counters(m->sub, HUGEPOOL_NODE_ANY, &sc), 0);
		expected(m, m->sub, &sused, &sresv);
		/* a subpool holds max(charged, min) pages: hugepage_subpool */
		charged = sused + sresv;
		if (sc.nr_pages != (charged > m->sub_min ? charged : m->sub_min) ||
		    sc.nr_pages - sc.free_pages != sused || sc.resv_pages != sresv) {
			snprintf(msg, sizeof(msg), "subpool after %s: nr %zu free %zu resv %zu, model used %zu resv %zu",
				 op, sc.nr_pages, sc.free_pages, sc.resv_pages, sused, sresv);
			model_fail(msg, m);
		}
		if (m->sub_max && sc.nr_pages > m->sub_max)
			model_fail("subpool over its max", m);
		used += sc.nr_pages;	/* the parent sees them in use */
	}
	if (rc.nr_pages - rc.free_pages != used || rc.resv_pages != resv) {
		snprintf(msg, sizeof(msg), "root after %s: nr %zu free %zu resv %zu, model used %zu resv %zu",
			 op, rc.nr_pages, rc.free_pages, rc.resv_pages, used, resv);
		model_fail(msg, m);
	}
	if (rc.max_pages && rc.nr_pages > rc.max_pages)
		model_fail("root over its max", m);
	if (rc.nr_pages < rc.min_pages && rc.nr_pages)
		model_fail("root under its min", m);
}

static void drop(struct model *m, int i)
{
	struct obj *o = &m->objs[i];

	if (o->ptr) {
		unsigned char *c = o->ptr;
		size_t len = o->small ? o->small : o->len;

		if (c[0] != o->pat || c[len - 1] != o->pat)
			model_fail("block contents changed", m);
		hugepool_free(o->ptr);
	} else {
		assert_int_equal(hugepool_region_free(o->r), 0);
		free(o->populated);
	}
	m->objs[i] = m->objs[--m->nobj];
}

static void one_sequence(int ops)
{
	struct model m = { 0 };
	struct hugepool_config cfg = { .page_size = PSZ };

	cfg.min_pages = (size_t)(rand_r(&seed) % 4);
	cfg.max_pages = rand_r(&seed) % 3 ? cfg.min_pages + 8 + (size_t)(rand_r(&seed) % 24) : 0;
	m.root = hp_pool_create_fake(&cfg);
	assert_non_null(m.root);
	hugepool_set_decay_ms(m.root, -1);
	check(&m, "create");

	for (int n = 0; n < ops; n++) {
		int what = rand_r(&seed) % 12;
		struct hugepool *p = m.sub && rand_r(&seed) % 2 ? m.sub : m.root;

		if (what <= 2 && m.nobj < MAXOBJ) {
			size_t pages = 1 + (size_t)(rand_r(&seed) % 6);
			/* whole pages; a last page short of 100 bytes (a fragment
			 * of 512 granules is a whole page); or half a page more
			 * than whole pages: a fragment in a MIXED page before the
			 * run. Less than a page is a block of a MIXED page. */
			int cut = rand_r(&seed) % 3;
			size_t len = pages * PSZ - (cut == 0 ? 0 : cut == 1 ? 100 : PSZ / 2);
			void *b = hugepool_malloc(p, len);

			if (b) {
				struct obj *o = &m.objs[m.nobj++];

				memset(o, 0, sizeof(*o));
				o->pool = p;
				o->ptr = b;
				o->len = len;
				o->pages = len < PSZ ? 0 : cut == 2 ? pages - 1 : pages;
				o->pat = (unsigned char)(1 + rand_r(&seed) % 250);
				((unsigned char *)b)[0] = o->pat;
				((unsigned char *)b)[len - 1] = o->pat;
				if (hugepool_owner(b) != p)
					model_fail("owner", &m);
			}
			check(&m, "malloc");
		} else if (what <= 4 && m.nobj) {
			drop(&m, rand_r(&seed) % m.nobj);
			check(&m, "free");
		} else if (what == 5 && m.nobj < MAXOBJ) {
			size_t pages = 1 + (size_t)(rand_r(&seed) % 5);
			bool nores = rand_r(&seed) % 2;
			struct hugepool_region *r =
				hugepool_region_reserve(p, pages * PSZ, nores ? HUGEPOOL_REGION_NORESERVE : 0);

			if (r) {
				struct obj *o = &m.objs[m.nobj++];

				memset(o, 0, sizeof(*o));
				o->pool = p;
				o->r = r;
				o->pages = pages;
				o->noreserve = nores;
				o->populated = calloc(pages, sizeof(bool));
			}
			check(&m, "region reserve");
		} else if (what == 6 && m.nobj) {
			struct obj *o = &m.objs[rand_r(&seed) % m.nobj];
			size_t f, l;
			long ret;

			if (!o->r)
				continue;
			f = (size_t)rand_r(&seed) % o->pages;
			l = 1 + (size_t)rand_r(&seed) % (o->pages - f);
			if (rand_r(&seed) % 2) {
				size_t want = 0;

				for (size_t k = f; k < f + l; k++)
					want += !o->populated[k];
				ret = hugepool_region_populate(o->r, f * PSZ, l * PSZ);
				if (ret >= 0) {
					if ((size_t)ret != want)
						model_fail("populate count", &m);
					for (size_t k = f; k < f + l; k++)
						o->populated[k] = true;
				} else if (!o->noreserve) {
					model_fail("populate of a reserved region failed", &m);
				} else {
					/* partial success stays: resync from the map */
					for (size_t k = f; k < f + l; k++)
						o->populated[k] = hp_region_populated(o->r, (long)k, (long)k + 1);
				}
				check(&m, "populate");
			} else {
				size_t want = 0;

				for (size_t k = f; k < f + l; k++)
					want += o->populated[k];
				ret = hugepool_region_release(o->r, f * PSZ, l * PSZ);
				if (ret < 0 || (size_t)ret != want)
					model_fail("release count", &m);
				for (size_t k = f; k < f + l; k++)
					o->populated[k] = false;
				check(&m, "release");
			}
		} else if (what == 7 && !m.sub) {
			m.sub_min = (size_t)(rand_r(&seed) % 3);
			m.sub_max = rand_r(&seed) % 2 ? m.sub_min + (size_t)(rand_r(&seed) % 8) : 0;
			m.sub = hugepool_subpool(m.root, m.sub_min, m.sub_max);
			check(&m, "subpool");
		} else if (what == 8 && m.sub) {
			for (int i = m.nobj - 1; i >= 0; i--)
				if (m.objs[i].pool == m.sub)
					drop(&m, i);
			assert_int_equal(hugepool_destroy(m.sub), 0);
			m.sub = NULL;
			check(&m, "subpool destroy");
		} else if (what >= 10 && m.nobj < MAXOBJ) {
			size_t len = 1 + (size_t)(rand_r(&seed) % (rand_r(&seed) % 2 ? 256 : 16384));
			unsigned char *b = hugepool_malloc(p, len);

			if (b) {
				struct obj *o = &m.objs[m.nobj++];

				memset(o, 0, sizeof(*o));
				o->pool = p;
				o->ptr = b;
				o->small = len;
				o->pat = (unsigned char)(1 + rand_r(&seed) % 250);
				b[0] = b[len - 1] = o->pat;
				if (hugepool_owner(b) != p)
					model_fail("small object owner", &m);
			}
			check(&m, "small malloc");
		} else if (what == 9) {
			hugepool_trim(m.root);
			check(&m, "trim");
			{
				struct hugepool_counters c;
				size_t used, resv;

				hugepool_counters(m.root, HUGEPOOL_NODE_ANY, &c);
				expected(&m, m.root, &used, &resv);
				if (m.sub) {
					struct hugepool_counters s;

					hugepool_counters(m.sub, HUGEPOOL_NODE_ANY, &s);
					used += s.nr_pages;
				}
				/* trim keeps exactly max(min, in use + reserved) */
				if (c.nr_pages != (used + resv > c.min_pages ? used + resv : c.min_pages))
					model_fail("trim kept the wrong number of pages", &m);
			}
		}
	}
	while (m.nobj)
		drop(&m, m.nobj - 1);
	if (m.sub)
		assert_int_equal(hugepool_destroy(m.sub), 0);
	m.sub = NULL;
	check(&m, "drain");
	assert_int_equal(hugepool_destroy(m.root), 0);
}

static void test_model(void **state)
{
	const char *s = getenv("HUGEPOOL_TEST_SEED");
	unsigned int base = s ? (unsigned int)strtoul(s, NULL, 0) :
			    (unsigned int)time(NULL) ^ (unsigned int)getpid();

	(void)state;
	printf("pool-model seed %u\n", base);
	for (int i = 0; i < 400; i++) {
		seed = base + (unsigned int)i;
		one_sequence(120);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model),
	};

	hp_verbose = 0;
	trace = getenv("HUGEPOOL_TEST_TRACE") != NULL;
	if (!hp_size_to_hstate(PSZ)) {
		/* no hugetlb here: a fake sysfs tree with one 2 MiB hstate */
		static char root[] = "/tmp/hugepool-model.XXXXXX";
		char cmd[256];

		if (!mkdtemp(root))
			return 1;
		snprintf(cmd, sizeof(cmd),
			 "mkdir -p %s/sys/kernel/mm/hugepages/hugepages-2048kB %s/proc && "
			 "echo 'Hugepagesize: 2048 kB' > %s/proc/meminfo", root, root, root);
		if (system(cmd))
			return 1;
		hp_sysfs_root = root;
		hp_hstate_reset();
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
