/* SPDX-License-Identifier: MIT */
/*
 * ctl-apply.c - `hugepool-ctl apply FILE`: bring the machine to the state a
 * small declarative file describes, for boot scripts. The whole file is
 * parsed and checked first (an error names its line and nothing is
 * written); then pools are resized (before mounts, whose min_size draws on
 * them) and missing mounts are made. What is already right is left alone,
 * so applying twice does nothing the second time.
 *
 *	# comment
 *	pool 2M count=512 [node=0] [overcommit=64] [retry=30]
 *	pool 1G count=4G
 *	mount /dev/hugepages-2M pagesize=2M [size=1G] [min_size=512M]
 *	      [nr_inodes=N] [uid=U] [gid=G] [mode=0770] [mkdir=yes]      (one line)
 */
#include "ctl.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ITEMS	256
#define MAX_KEYS	16

struct item {
	int line;
	bool is_mount;
	struct ctl_pool_change pool;
	struct ctl_mount_req mount;
	char where[320];
};

struct cfg {
	const char *file;
	struct item items[MAX_ITEMS];
	int n;
};

struct kv {
	char *key, *val;
};

static int split_kv(char **tok, int ntok, struct kv *kv, const char *const *allowed,
		    const char *what)
{
	int i, j;

	for (i = 0; i < ntok; i++) {
		char *eq = strchr(tok[i], '=');
		bool ok = false;

		if (!eq || eq == tok[i])
			return ctl_error(CTL_USAGE, "'%s' is not key=value", tok[i]);
		*eq = '\0';
		if (!eq[1])
			return ctl_error(CTL_USAGE, "%s= has no value", tok[i]);
		for (j = 0; allowed[j]; j++)
			ok |= !strcmp(allowed[j], tok[i]);
		if (!ok) {
			char list[128] = "";

			for (j = 0; allowed[j]; j++) {
				strcat(list, j ? ", " : "");
				strcat(list, allowed[j]);
			}
			return ctl_error(CTL_USAGE, "unknown key '%s' for %s (%s)", tok[i], what, list);
		}
		for (j = 0; j < i; j++)
			if (!strcmp(kv[j].key, tok[i]))
				return ctl_error(CTL_USAGE, "%s= given twice", tok[i]);
		kv[i].key = tok[i];
		kv[i].val = eq + 1;
	}
	return 0;
}

static const char *kv_get(const struct kv *kv, int n, const char *key)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].val;
	return NULL;
}

static int absolute_count(const char *s, const struct hp_hstate *h, const char *what,
			  unsigned long *out)
{
	struct ctl_count c;

	if (*s == '+' || *s == '-')
		return ctl_error(CTL_USAGE, "%s=%s: a config takes absolute counts "
				 "(applying it twice must change nothing)", what, s);
	if (ctl_parse_count(s, h, what, &c))
		return CTL_USAGE;
	return ctl_count_resolve(&c, h, what, 0, out) ? CTL_USAGE : 0;
}

static int parse_pool(struct item *it, char **tok, int ntok)
{
	static const char *const keys[] = { "count", "node", "overcommit", "retry", NULL };
	struct kv kv[MAX_KEYS];
	const char *v;
	unsigned long ul;
	int status = CTL_USAGE;

	if (ntok < 1)
		return ctl_error(CTL_USAGE, "pool needs a page size: pool 2M count=512");
	it->pool.h = ctl_parse_hstate(tok[0], &status);
	if (!it->pool.h)
		return status;
	if (split_kv(tok + 1, ntok - 1, kv, keys, "pool"))
		return CTL_USAGE;
	ntok--;
	it->pool.node = -1;
	if ((v = kv_get(kv, ntok, "node")) && ctl_parse_node(v, it->pool.h, &it->pool.node))
		return CTL_USAGE;
	if ((v = kv_get(kv, ntok, "count"))) {
		if (absolute_count(v, it->pool.h, "count", &it->pool.count))
			return CTL_USAGE;
		it->pool.set_count = true;
	}
	if ((v = kv_get(kv, ntok, "overcommit"))) {
		if (it->pool.node >= 0)
			return ctl_error(CTL_USAGE, "overcommit= is global (the kernel has no "
					 "per-node overcommit): put it on a pool line without node=");
		if (absolute_count(v, it->pool.h, "overcommit", &it->pool.over))
			return CTL_USAGE;
		it->pool.set_over = true;
	}
	if ((v = kv_get(kv, ntok, "retry"))) {
		if (hp_parse_ulong(v, &ul) || ul > 86400)
			return ctl_error(CTL_USAGE, "retry=%s is not a number of seconds "
					 "(0 to 86400)", v);
		it->pool.retry_s = (unsigned int)ul;
	}
	if (!it->pool.set_count && !it->pool.set_over)
		return ctl_error(CTL_USAGE, "pool %s needs count= or overcommit=", tok[0]);
	return 0;
}

static int parse_mount(struct item *it, char **tok, int ntok)
{
	static const char *const keys[] = { "pagesize", "size", "min_size", "nr_inodes", "uid",
					    "gid", "mode", "mkdir", NULL };
	struct ctl_mount_req *r = &it->mount;
	struct kv kv[MAX_KEYS];
	const char *v;
	int status = CTL_USAGE;

	if (ntok < 1)
		return ctl_error(CTL_USAGE, "mount needs a directory: mount /dev/hugepages "
				 "pagesize=2M");
	if (tok[0][0] != '/')
		return ctl_error(CTL_USAGE, "mount point '%s' is not an absolute path", tok[0]);
	r->dir = tok[0];
	if (split_kv(tok + 1, ntok - 1, kv, keys, "mount"))
		return CTL_USAGE;
	ntok--;
	if (!(v = kv_get(kv, ntok, "pagesize")))
		return ctl_error(CTL_USAGE, "mount %s needs pagesize= (2M, 1G)", r->dir);
	r->h = ctl_parse_hstate(v, &status);
	if (!r->h)
		return status;
	if ((v = kv_get(kv, ntok, "size")) &&
	    ctl_parse_mount_size(v, r->h, "size", r->size, sizeof(r->size)))
		return CTL_USAGE;
	if ((v = kv_get(kv, ntok, "min_size")) &&
	    ctl_parse_mount_size(v, r->h, "min_size", r->min_size, sizeof(r->min_size)))
		return CTL_USAGE;
	if (r->size[0] && r->min_size[0] && !strchr(r->size, '%') && !strchr(r->min_size, '%') &&
	    strtoull(r->min_size, NULL, 10) > strtoull(r->size, NULL, 10))
		return ctl_error(CTL_USAGE, "min_size is larger than size");
	if ((v = kv_get(kv, ntok, "nr_inodes")) &&
	    ctl_parse_inodes(v, "nr_inodes", r->nr_inodes, sizeof(r->nr_inodes)))
		return CTL_USAGE;
	if ((v = kv_get(kv, ntok, "uid"))) {
		if (ctl_parse_uid(v, &r->uid))
			return CTL_USAGE;
		r->has_uid = true;
	}
	if ((v = kv_get(kv, ntok, "gid"))) {
		if (ctl_parse_gid(v, &r->gid))
			return CTL_USAGE;
		r->has_gid = true;
	}
	if ((v = kv_get(kv, ntok, "mode"))) {
		if (ctl_parse_mode(v, &r->mode))
			return CTL_USAGE;
		r->has_mode = true;
	}
	if ((v = kv_get(kv, ntok, "mkdir")) && hp_parse_bool(v, &r->mkdir))
		return ctl_error(CTL_USAGE, "mkdir=%s is not yes or no", v);
	r->idempotent = true;
	return 0;
}

/* Two lines for the same pool, or a global and a per-node count of one
 * size, would fight each other: say which lines. */
static int check_conflicts(const struct cfg *cfg, const struct item *it)
{
	int i;

	for (i = 0; i < cfg->n; i++) {
		const struct item *o = &cfg->items[i];

		if (o->is_mount != it->is_mount)
			continue;
		if (it->is_mount) {
			if (!strcmp(o->mount.dir, it->mount.dir))
				return ctl_error(CTL_USAGE, "mount %s is already on line %d",
						 it->mount.dir, o->line);
			continue;
		}
		if (o->pool.h != it->pool.h)
			continue;
		if (o->pool.node == it->pool.node)
			return ctl_error(CTL_USAGE, "this pool is already on line %d", o->line);
		if (o->pool.set_count && it->pool.set_count &&
		    (o->pool.node < 0 || it->pool.node < 0))
			return ctl_error(CTL_USAGE, "a total count and a per-node count of one "
					 "size conflict (line %d); use node= on every count "
					 "of this size, or on none", o->line);
	}
	return 0;
}

static int parse_line(struct cfg *cfg, char *line, int lineno)
{
	char *tok[MAX_KEYS + 2], *p = line, *hash;
	struct item *it;
	int ntok = 0;

	hash = strchr(line, '#');
	if (hash)
		*hash = '\0';
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (ntok == (int)ARRAY_SIZE(tok))
			return ctl_error(CTL_USAGE, "too many words");
		tok[ntok++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			p++;
		if (*p)
			*p++ = '\0';
	}
	if (!ntok)
		return 0;
	if (cfg->n == MAX_ITEMS)
		return ctl_error(CTL_USAGE, "more than %d entries", MAX_ITEMS);
	it = &cfg->items[cfg->n];
	memset(it, 0, sizeof(*it));
	it->line = lineno;
	snprintf(it->where, sizeof(it->where), "%s:%d: ", cfg->file, lineno);
	it->pool.where = it->where;
	it->mount.where = it->where;
	if (!strcmp(tok[0], "pool")) {
		if (parse_pool(it, tok + 1, ntok - 1))
			return CTL_USAGE;
	} else if (!strcmp(tok[0], "mount")) {
		it->is_mount = true;
		if (parse_mount(it, tok + 1, ntok - 1))
			return CTL_USAGE;
		/* the directory string lives in the line buffer */
		it->mount.dir = strdup(it->mount.dir);
		if (!it->mount.dir)
			return ctl_error(CTL_FAIL, "out of memory");
	} else {
		return ctl_error(CTL_USAGE, "unknown entry '%s' (expected pool or mount)", tok[0]);
	}
	if (check_conflicts(cfg, it)) {
		/* the entry is not kept: nor its strdup'd directory (found
		 * by tests/fuzz/fuzz-ctl-config: a leak per refused line) */
		if (it->is_mount)
			free((char *)it->mount.dir);
		return CTL_USAGE;
	}
	cfg->n++;
	return 0;
}

static int parse_file(struct cfg *cfg, FILE *f)
{
	char *line = NULL, where[320];
	size_t cap = 0;
	ssize_t n;
	int lineno = 0, ret = 0;

	while ((n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		snprintf(where, sizeof(where), "%s:%d: ", cfg->file, lineno);
		ctl_where = where;
		if (strlen(line) != (size_t)n) {
			ret = ctl_error(CTL_USAGE, "NUL byte in the line (not a text file?)");
			break;
		}
		ret = parse_line(cfg, line, lineno);
		if (ret)
			break;
	}
	ctl_where = "";
	if (!ret && ferror(f))
		ret = ctl_error(CTL_FAIL, "cannot read %s: %s", cfg->file, strerror(errno));
	free(line);
	return ret;
}

static int hstate_idx(const struct hp_hstate *h)
{
	int i;

	for (i = 0; i < hp_hstate_count(); i++)
		if (hp_hstate_get(i) == h)
			return i;
	return 0;
}

static int precheck(struct cfg *cfg)
{
	struct ctl_pool_plan plan[HP_MAX_HSTATES];
	unsigned long claimed[HP_MAX_HSTATES], cur;
	int i, ret;

	memset(plan, 0, sizeof(plan));
	memset(claimed, 0, sizeof(claimed));
	for (i = 0; i < cfg->n; i++) {
		struct ctl_pool_change *c = &cfg->items[i].pool;
		struct ctl_pool_plan *p;

		if (cfg->items[i].is_mount)
			continue;
		ret = ctl_pool_check(c);
		if (ret)
			return ret;
		p = &plan[hstate_idx(c->h)];
		if (c->set_count && !ctl_persistent(c->h, c->node, &cur))
			p->delta += (long)c->count - (long)cur;
		if (c->set_over) {
			p->set_over = true;
			p->over = c->over;
		}
	}
	for (i = 0; i < cfg->n; i++) {
		struct ctl_mount_req *r = &cfg->items[i].mount;
		int k;

		if (!cfg->items[i].is_mount)
			continue;
		k = hstate_idx(r->h);
		ret = ctl_mount_check(r, &plan[k], &claimed[k]);
		if (ret)
			return ret;
		r->checked = true;
	}
	return CTL_OK;
}

static void help(void)
{
	printf("Usage: hugepool-ctl apply FILE [--dry-run]\n\n"
	       "Apply a declarative description of huge page pools and hugetlbfs mounts.\n"
	       "The whole file is checked before anything is changed; what is already\n"
	       "as described is left alone, so applying twice changes nothing.\n\n"
	       "FILE ('-' for standard input), one entry per line, # starts a comment:\n"
	       "  pool SIZE count=COUNT [node=N] [overcommit=N] [retry=SECONDS]\n"
	       "  mount DIR pagesize=SIZE [size=S] [min_size=S] [nr_inodes=N] [uid=U] [gid=G]\n"
	       "            [mode=OCTAL] [mkdir=yes]\n"
	       "COUNT is pages (512) or memory (1G); sizes as in 'hugepool-ctl mount'.\n\n"
	       "  -d, --dry-run   change nothing; print what would be done\n"
	       "  -h, --help      this help\n");
}

int cmd_apply(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct cfg cfg;
	bool dry = false;
	int ch, i, ret = CTL_OK;
	FILE *f;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":dh", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dry = true; break;
		case 'h': help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing FILE");
	if (optind + 1 < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind + 1]);
	cfg.file = argv[optind];
	if (!strcmp(cfg.file, "-")) {
		f = stdin;
		cfg.file = "<stdin>";
	} else {
		f = fopen(cfg.file, "re");
		if (!f)
			return ctl_error(CTL_FAIL, "cannot open %s: %s", cfg.file, strerror(errno));
	}
	ret = parse_file(&cfg, f);
	if (f != stdin)
		fclose(f);
	if (ret)
		return ret;
	if (!cfg.n) {
		printf("%s: nothing to apply\n", cfg.file);
		return CTL_OK;
	}
	/*
	 * Everything that can be known, before the first write: each pool
	 * change (access, overcommit the kernel refuses), then each mount
	 * against the pools as they will be after the pool lines (min_size
	 * of all mounts of a size together). A dry run stops here with the
	 * status the real run would have.
	 */
	ret = precheck(&cfg);
	if (ret)
		return ret;
	/* pools first: a mount's min_size draws on them */
	for (i = 0; i < cfg.n && !ret; i++) {
		struct item *it = &cfg.items[i];

		if (it->is_mount)
			continue;
		it->pool.dry_run = dry;
		ret = ctl_pool_apply(&it->pool);
	}
	for (i = 0; i < cfg.n && !ret; i++) {
		struct item *it = &cfg.items[i];

		if (!it->is_mount)
			continue;
		it->mount.dry_run = dry;
		ret = ctl_do_mount(&it->mount);
	}
	/* what cannot be known before (the kernel gave fewer pages, mount(2)
	 * refused): put back everything changed so far, newest first */
	if (ret && ctl_undo_pending()) {
		printf("%s: failed; putting back what was changed\n", cfg.file);
		ctl_undo_all();
	}
	ctl_undo_forget();
	return ret;
}
