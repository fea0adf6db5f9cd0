/* SPDX-License-Identifier: MIT */
/*
 * Description: hugepool_stats_print. After known activity (blocks of each
 * kind, a free, failures, fallbacks through a capped HUGEPOOL_FALLBACK
 * pool, a region), the JSON output parses (python3's json module), has the
 * "pools" array with every key DESIGN.md names, and each value matches the
 * pool's counters; pool NULL prints every pool, subpools with their parent.
 * The text output carries the same numbers. Bad flags and descriptors are
 * errors.
 */
#include "api-helpers.h"

#include <fcntl.h>

static const size_t psz = 2 * MB;

static const char *const keys[] = {
	"page_size", "nr_pages", "free_pages", "resv_pages", "surplus_pages",
	"allocs", "frees", "fallbacks", "failures", "bytes_in_use",
	"bytes_requested", "bytes_held", "waste_bytes", "min_pages", "max_pages",
};

/* The stats of pool (NULL: all) as a file. */
static FILE *stats_file(const struct hugepool *p, unsigned int flags)
{
	FILE *f = tmpfile();

	CHECK(f);
	CHECK_EQ(hugepool_stats_print(p, fileno(f), flags), 0);
	rewind(f);
	return f;
}

/*
 * Parse the JSON with python3 and print "pool key value" lines, one per
 * key of each pool, plus "npools N". Returns a file of those lines.
 */
static FILE *parse_json(FILE *json)
{
	static const char prog[] =
		"import json, sys\n"
		"d = json.load(open(sys.argv[1]))\n"
		"print('npools', len(d['pools']))\n"
		"for p in d['pools']:\n"
		"    for k, v in p.items():\n"
		"        print(p['name'], k, v)\n";
	char path[64], cmd[256];
	FILE *out = tmpfile(), *py;
	char line[512];

	CHECK(out);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)getpid(), fileno(json));
	snprintf(cmd, sizeof(cmd), "python3 -c \"$HP_PROG\" %s", path);
	setenv("HP_PROG", prog, 1);
	py = popen(cmd, "r");
	CHECK(py);
	while (fgets(line, sizeof(line), py))
		fputs(line, out);
	if (pclose(py) != 0) {
		char buf[4096];
		size_t n;

		rewind(json);
		n = fread(buf, 1, sizeof(buf) - 1, json);
		buf[n] = '\0';
		fprintf(stderr, "python3 could not parse the JSON:\n%s\n", buf);
		exit(T_FAIL);
	}
	rewind(out);
	return out;
}

/* Value of key for pool name in the parsed lines; -1 if missing. */
static long long value(FILE *parsed, const char *name, const char *key)
{
	char line[512], n[64], k[64], v[128];

	rewind(parsed);
	while (fgets(line, sizeof(line), parsed))
		if (sscanf(line, "%63s %63s %127s", n, k, v) == 3 &&
		    !strcmp(n, name) && !strcmp(k, key))
			return strtoll(v, NULL, 10);
	return -1;
}

static void check_pool_json(FILE *parsed, struct hugepool *p)
{
	struct hugepool_counters c;
	size_t i;

	CHECK(hugepool_counters(p, HUGEPOOL_NODE_ANY, &c) == 0);
	for (i = 0; i < ARRAY_SIZE(keys); i++)
		if (value(parsed, p->name, keys[i]) < 0) {
			fprintf(stderr, "pool %s: no key %s\n", p->name, keys[i]);
			exit(T_FAIL);
		}
	CHECK_EQ(value(parsed, p->name, "page_size"), c.page_size);
	CHECK_EQ(value(parsed, p->name, "nr_pages"), c.nr_pages);
	CHECK_EQ(value(parsed, p->name, "free_pages"), c.free_pages);
	CHECK_EQ(value(parsed, p->name, "resv_pages"), c.resv_pages);
	CHECK_EQ(value(parsed, p->name, "surplus_pages"), c.surplus_pages);
	CHECK_EQ(value(parsed, p->name, "min_pages"), c.min_pages);
	CHECK_EQ(value(parsed, p->name, "max_pages"), c.max_pages);
	CHECK_EQ(value(parsed, p->name, "allocs"), p->stats.allocs);
	CHECK_EQ(value(parsed, p->name, "frees"), p->stats.frees);
	CHECK_EQ(value(parsed, p->name, "fallbacks"), p->stats.fallbacks);
	CHECK_EQ(value(parsed, p->name, "failures"), p->stats.failures);
	CHECK_EQ(value(parsed, p->name, "bytes_in_use"), p->stats.bytes_in_use);
	CHECK_EQ(value(parsed, p->name, "bytes_requested"), p->stats.bytes_requested);
	CHECK_EQ(value(parsed, p->name, "bytes_held"), p->stats.bytes_held);
	CHECK_EQ(value(parsed, p->name, "waste_bytes"),
		 p->stats.bytes_held - p->stats.bytes_requested);
}

static bool text_has(FILE *f, const char *what)
{
	char line[1024];

	rewind(f);
	while (fgets(line, sizeof(line), f))
		if (strstr(line, what))
			return true;
	return false;
}

int main(void)
{
	struct kbase kb = api_begin(psz, 32);
	struct hugepool *p = api_pool(psz, 2, 0, 0);
	struct hugepool *fb = api_pool(psz, 0, 1, HUGEPOOL_FALLBACK);
	struct hugepool *sp = hugepool_subpool(p, 0, 4);
	struct hugepool_region *r;
	FILE *json, *parsed, *text;
	void *a, *b, *c, *d;
	char want[128];

	CHECK(sp);
	/* known activity */
	a = hugepool_malloc(p, psz);
	b = hugepool_malloc(p, 5 * MB);
	c = hugepool_malloc(p, 100 * KB + 1);
	CHECK(a && b && c);
	hugepool_free(a);
	CHECK(hugepool_malloc(p, SIZE_MAX) == NULL);
	CHECK(hugepool_calloc(p, SIZE_MAX, 3) == NULL);
	r = hugepool_region_reserve(p, 2 * psz, HUGEPOOL_REGION_POPULATE);
	CHECK(r);
	CHECK_EQ(p->stats.allocs, 3);
	CHECK_EQ(p->stats.frees, 1);
	CHECK_EQ(p->stats.failures, 2);
	CHECK_EQ(p->stats.bytes_requested, 5 * MB + 100 * KB + 1);
	/* b: two pages and a 1 MiB tail in a MIXED page, which c shares */
	CHECK_EQ(p->stats.bytes_in_use, 5 * MB + 104 * KB);
	CHECK_EQ(p->stats.bytes_held, 4 * MB + psz);
	/* a capped fallback pool falls back past its max */
	d = hugepool_malloc(fb, 2 * psz);
	CHECK(d);
	CHECK_PAGE_SIZE(d, 4096);
	CHECK_EQ(fb->stats.fallbacks, 1);
	CHECK(hugepool_malloc(sp, 5 * psz) == NULL);
	CHECK_EQ(sp->stats.failures, 1);
	CHECK_POOL(p);
	CHECK_POOL(fb);
	CHECK_POOL(sp);

	/* JSON of one pool */
	json = stats_file(p, HUGEPOOL_STATS_JSON);
	parsed = parse_json(json);
	{
		int npools = -1;

		rewind(parsed);
		CHECK(fscanf(parsed, "npools %d", &npools) == 1);
		CHECK_EQ(npools, 1);
	}
	check_pool_json(parsed, p);
	fclose(parsed);
	fclose(json);

	/* JSON of all pools: ours are there, the subpool names its parent */
	json = stats_file(NULL, HUGEPOOL_STATS_JSON);
	parsed = parse_json(json);
	check_pool_json(parsed, p);
	check_pool_json(parsed, fb);
	check_pool_json(parsed, sp);
	{
		char line[512], n[64], k[64], v[128];
		bool found = false;

		rewind(parsed);
		while (fgets(line, sizeof(line), parsed))
			if (sscanf(line, "%63s %63s %127s", n, k, v) == 3 &&
			    !strcmp(n, sp->name) && !strcmp(k, "parent"))
				found = !strcmp(v, p->name);
		CHECK(found);
	}
	fclose(parsed);
	fclose(json);

	/* text: the same numbers */
	text = stats_file(p, 0);
	snprintf(want, sizeof(want), "pool %s:", p->name);
	CHECK(text_has(text, want));
	CHECK(text_has(text, "allocs 3 frees 1 live 2 fallbacks 0 failures 2"));
	snprintf(want, sizeof(want), "requested %llu in_use %llu held %llu",
		 (unsigned long long)p->stats.bytes_requested,
		 (unsigned long long)p->stats.bytes_in_use,
		 (unsigned long long)p->stats.bytes_held);
	CHECK(text_has(text, want));
	fclose(text);
	text = stats_file(fb, 0);
	CHECK(text_has(text, "fallbacks 1 failures 0"));
	fclose(text);

	/* errors */
	CHECK_EQ(hugepool_stats_print(p, -1, 0), -EINVAL);
	CHECK_EQ(hugepool_stats_print(p, 1, 1u << 9), -EINVAL);
	{
		int fd = open("/dev/null", O_RDONLY);

		CHECK(fd >= 0);
		CHECK_EQ(hugepool_stats_print(p, fd, 0), -EBADF);
		close(fd);
	}

	hugepool_free(b);
	hugepool_free(c);
	hugepool_free(d);
	CHECK(hugepool_region_free(r) == 0);
	CHECK_EQ(p->stats.bytes_held, 0);
	CHECK_EQ(p->stats.bytes_in_use, 0);
	CHECK(hugepool_destroy(sp) == 0);
	CHECK(hugepool_destroy(fb) == 0);
	CHECK(hugepool_destroy(p) == 0);
	api_end(&kb);
	return 0;
}
