/* SPDX-License-Identifier: MIT */
/*
 * ctl-compat.c - libhugetlbfs's tools as hugepool-ctl subcommands, so that
 * a deployment script changes one word:
 *   hugepool-ctl hugeadm --pool-pages-min 2M:512 --create-global-mounts ...
 *   hugepool-ctl hugectl --heap --text --shm -- PROG ARGS
 *   hugepool-ctl pagesize [-a|-H]
 * Each option does what hugeadm/hugectl/pagesize did, through the commands
 * that already do it (set's pool changes, mount's mounts, show's sysfs
 * view, run, explain, thp). An option without a counterpart is refused
 * with the one line that says what to use instead (hugepool-ctl(8) has the
 * whole table); nothing is written before every option has been checked.
 */
#include "ctl.h"

#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------
 * pagesize [-a|-H]
 * ------------------------------------------------------------------------ */
int cmd_pagesize(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "huge-only", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool base = true, huge = false;
	int ch, i;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":aHh", opts, NULL)) != -1) {
		switch (ch) {
		case 'a': base = huge = true; break;
		case 'H': base = false; huge = true; break;
		case 'h':
			printf("Usage: hugepool-ctl pagesize [-a|--all] [-H|--huge-only]\n\n"
			       "libhugetlbfs's pagesize: the base page size in bytes, one a line.\n\n"
			       "  -a, --all        every page size: base, then huge\n"
			       "  -H, --huge-only  the huge page sizes only\n"
			       "  -h, --help       this help\n");
			return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind]);
	if (base)
		printf("%ld\n", sysconf(_SC_PAGESIZE));
	for (i = 0; huge && i < ctl_hstates(); i++)
		printf("%zu\n", hp_hstate_get(i)->size);
	return CTL_OK;
}

/* ------------------------------------------------------------------------
 * hugeadm
 * ------------------------------------------------------------------------ */
enum {
	HA_MIN = 0x100, HA_MAX, HA_LIST, HA_MOUNTS, HA_GLOBAL, HA_USER, HA_GROUP,
	HA_ALLMOUNTS, HA_SIZES, HA_SIZES_ALL, HA_EXPLAIN, HA_DRY, HA_HARD,
	HA_THP_ALWAYS, HA_THP_MADVISE, HA_THP_NEVER, HA_UNSUPPORTED,
};

/* hugeadm's options that hugepool-ctl does not take, and what to use */
static const struct {
	const char *name;
	const char *instead;
} ha_refused[] = {
	{ "obey-numa-mempol", "hugepool-ctl set SIZE COUNT --node N (per node, exact)" },
	{ "add-temp-swap", "add swap yourself (swapon); hugepool-ctl does not" },
	{ "add-ramdisk-swap", "add swap yourself (swapon); hugepool-ctl does not" },
	{ "persist", "not needed: hugepool-ctl adds no swap" },
	{ "enable-zone-movable", "sysctl vm.movable_gigantic_pages / hugepages_treat_as_movable" },
	{ "disable-zone-movable", "sysctl vm.movable_gigantic_pages / hugepages_treat_as_movable" },
	{ "set-recommended-min_free_kbytes", "hugepool-ctl explain prints the value to set" },
	{ "set-recommended-shmmax", "hugepool-ctl explain prints the value to set" },
	{ "set-shm-group", "sysctl vm.hugetlb_shm_group=GID" },
	{ "thp-khugepaged-pages", "write /sys/kernel/mm/transparent_hugepage/khugepaged/" },
	{ "thp-khugepaged-scan-sleep", "write /sys/kernel/mm/transparent_hugepage/khugepaged/" },
	{ "thp-khugepaged-alloc-sleep", "write /sys/kernel/mm/transparent_hugepage/khugepaged/" },
	{ "max-size", "hugepool-ctl mount DIR --pagesize SIZE --size S" },
	{ "max-inodes", "hugepool-ctl mount DIR --pagesize SIZE --nr-inodes N" },
};

struct ha_pool {
	int which;		/* HA_MIN or HA_MAX */
	const char *arg;	/* SIZE:COUNT */
};

struct hugeadm {
	struct ha_pool pools[16];
	int npools;
	bool list, mounts, global, allmounts, sizes, sizes_all, explain, dry, hard;
	const char *user, *group, *thp;
	bool configured[HP_MAX_HSTATES];	/* sizes with a pool (mounts) */
};

static void hugeadm_help(void)
{
	printf("Usage: hugepool-ctl hugeadm [OPTIONS]\n\n"
	       "libhugetlbfs's hugeadm options, on hugepool-ctl's pool and mount code:\n"
	       "  --pool-pages-min SIZE:[+|-]COUNT  persistent pages (COUNT or memory: 1G)\n"
	       "  --pool-pages-max SIZE:[+|-]COUNT  minimum + overcommit pages\n"
	       "                                    (SIZE: 2M, 1G, 2MB, bytes or DEFAULT)\n"
	       "  --hard                            keep trying a short pool (30 s)\n"
	       "  --pool-list                       Size/Minimum/Current/Maximum/Default\n"
	       "  --create-mounts                   /var/lib/hugetlbfs/pagesize-<size> (0770)\n"
	       "  --create-global-mounts            /var/lib/hugetlbfs/global/... (1777)\n"
	       "  --create-user-mounts USER         /var/lib/hugetlbfs/user/USER/... (0700)\n"
	       "  --create-group-mounts GROUP       /var/lib/hugetlbfs/group/GROUP/... (0070)\n"
	       "  --list-all-mounts                 hugetlbfs mounts and their options\n"
	       "  --page-sizes, --page-sizes-all    sizes with a pool / every size\n"
	       "  --explain                         hugepool-ctl explain\n"
	       "  --thp-always|--thp-madvise|--thp-never   hugepool-ctl thp --enabled\n"
	       "  --dry-run                         change nothing; say what would change\n\n"
	       "Other hugeadm options are refused with what to use instead; see\n"
	       "hugepool-ctl(8), \"MIGRATING FROM LIBHUGETLBFS\".\n");
}

/* "2M:512", "DEFAULT:+8", "1GB:-1", "2097152:4G" */
static int ha_pool_parse(const char *arg, const struct hp_hstate **h, struct ctl_count *c,
			 const char *opt)
{
	char size[32];
	const char *colon = strchr(arg, ':');
	int status = CTL_USAGE;

	if (!colon || (size_t)(colon - arg) >= sizeof(size))
		return ctl_error(CTL_USAGE, "--%s '%s': expected SIZE:COUNT (2M:512)", opt, arg);
	memcpy(size, arg, (size_t)(colon - arg));
	size[colon - arg] = '\0';
	if (!strcasecmp(size, "DEFAULT")) {
		if (ctl_hstates() <= 0 || !(*h = hp_default_hstate()))
			return ctl_error(CTL_FAIL, "this kernel has no default huge page size");
	} else if (!(*h = ctl_parse_hstate(size, &status))) {
		return status;
	}
	return ctl_parse_count(colon + 1, *h, opt, c) ? CTL_USAGE : CTL_OK;
}

/* The pool change one --pool-pages-min/max asks for, resolved against the
 * pool as it is now (hugeadm's Maximum is Minimum + overcommit). */
static int ha_pool_change(const struct ha_pool *p, bool dry, bool hard,
			  struct ctl_pool_change *c)
{
	bool is_min = p->which == HA_MIN;
	const char *opt = is_min ? "pool-pages-min" : "pool-pages-max";
	unsigned long min, over, want;
	struct ctl_count count;
	int status;

	memset(c, 0, sizeof(*c));
	c->node = -1;
	c->where = "";
	c->dry_run = dry;
	c->retry_s = hard ? 30 : 0;
	if ((status = ha_pool_parse(p->arg, &c->h, &count, opt)))
		return status;
	if (ctl_persistent(c->h, -1, &min) || ctl_read(c->h, -1, "nr_overcommit_hugepages", &over))
		return ctl_error(CTL_FAIL, "cannot read the %s pool", c->h->name);
	if (ctl_count_resolve(&count, c->h, opt, is_min ? min : min + over, &want))
		return CTL_USAGE;
	if (is_min) {
		c->set_count = true;
		c->count = want;
	} else if (want < min) {
		return ctl_error(CTL_USAGE, "--%s %s is below the minimum (%lu pages): lower "
				 "--pool-pages-min first", opt, p->arg, min);
	} else {
		c->set_over = true;
		c->over = want - min;
	}
	return ctl_pool_check(c);
}

static int ha_index(const struct hp_hstate *h)
{
	int i;

	for (i = 0; i < ctl_hstates() && i < HP_MAX_HSTATES; i++)
		if (hp_hstate_get(i) == h)
			return i;
	return 0;
}

/* Every SIZE:COUNT is checked first; then each change in turn, since a
 * --pool-pages-max is resolved against the minimum an earlier option set. */
static int ha_pools(struct hugeadm *ha)
{
	struct ctl_pool_change c;
	const struct hp_hstate *h;
	struct ctl_count count;
	int i, status;

	for (i = 0; i < ha->npools; i++)
		if ((status = ha_pool_parse(ha->pools[i].arg, &h, &count,
					    ha->pools[i].which == HA_MIN ? "pool-pages-min"
									 : "pool-pages-max")))
			return status;
	for (i = 0; i < ha->npools; i++) {
		if ((status = ha_pool_change(&ha->pools[i], ha->dry, ha->hard, &c)))
			return status;
		if ((status = ctl_pool_apply(&c)))
			return status;
		ha->configured[ha_index(c.h)] = true;
	}
	return CTL_OK;
}

/* hugeadm's names: pagesize-2MB, pagesize-1GB */
static void ha_mount_dir(const char *parent, const struct hp_hstate *h, char *buf, size_t len)
{
	char sz[32];

	ctl_size_str(h->size, sz, sizeof(sz));
	snprintf(buf, len, "%s/pagesize-%sB", parent, sz);
}

/* One mount per size with a pool (or one this command configured). */
static int ha_mount_set(const struct hugeadm *ha, const char *parent, mode_t mode,
			const uid_t *uid, const gid_t *gid)
{
	int i, status;

	for (i = 0; i < ctl_hstates(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		struct ctl_mount_req r;
		unsigned long min = 0, over = 0;
		char dir[PATH_MAX];

		ctl_persistent(h, -1, &min);
		ctl_read(h, -1, "nr_overcommit_hugepages", &over);
		if (!min && !over && !ha->configured[i])
			continue;
		memset(&r, 0, sizeof(r));
		ha_mount_dir(parent, h, dir, sizeof(dir));
		r.dir = dir;
		r.h = h;
		r.mkdir = r.idempotent = r.has_mode = true;
		r.mode = mode;
		r.has_uid = uid != NULL;
		r.uid = uid ? *uid : 0;
		r.has_gid = gid != NULL;
		r.gid = gid ? *gid : 0;
		r.dry_run = ha->dry;
		r.where = "";
		if ((status = ctl_do_mount(&r)))
			return status;
	}
	return CTL_OK;
}

#define HA_ROOT "/var/lib/hugetlbfs"

static int ha_mounts(const struct hugeadm *ha)
{
	char parent[PATH_MAX];
	int status = CTL_OK;

	if (ha->mounts)
		status = ha_mount_set(ha, HA_ROOT, 0770, NULL, NULL);
	if (!status && ha->global)
		status = ha_mount_set(ha, HA_ROOT "/global", 01777, NULL, NULL);
	if (!status && ha->user) {
		struct passwd *pw = getpwnam(ha->user);

		if (!pw)
			return ctl_error(CTL_USAGE, "--create-user-mounts: no user '%s'", ha->user);
		snprintf(parent, sizeof(parent), HA_ROOT "/user/%s", ha->user);
		status = ha_mount_set(ha, parent, 0700, &pw->pw_uid, NULL);
	}
	if (!status && ha->group) {
		struct group *gr = getgrnam(ha->group);

		if (!gr)
			return ctl_error(CTL_USAGE, "--create-group-mounts: no group '%s'", ha->group);
		snprintf(parent, sizeof(parent), HA_ROOT "/group/%s", ha->group);
		status = ha_mount_set(ha, parent, 0070, NULL, &gr->gr_gid);
	}
	return status;
}

/* hugeadm --pool-list: Minimum = nr - surplus, Current = nr, Maximum =
 * Minimum + overcommit */
static void ha_pool_list(void)
{
	const struct hp_hstate *def = hp_default_hstate();
	int i;

	printf("%10s %8s %8s %8s %8s\n", "Size", "Minimum", "Current", "Maximum", "Default");
	for (i = 0; i < ctl_hstates(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		unsigned long nr = 0, min = 0, over = 0;

		ctl_read(h, -1, "nr_hugepages", &nr);
		ctl_persistent(h, -1, &min);
		ctl_read(h, -1, "nr_overcommit_hugepages", &over);
		printf("%10zu %8lu %8lu %8lu %8s\n", h->size, min, nr, min + over,
		       h == def ? "*" : "");
	}
}

static int ha_list_mounts(void)
{
	struct ctl_mounts ms;
	size_t i;
	int ret = ctl_mounts_read(&ms);

	if (ret)
		return ctl_error(CTL_FAIL, "cannot read the mount table: %s", strerror(-ret));
	printf("Mount Point          Options\n");
	for (i = 0; i < ms.n; i++)
		if (ctl_mount_is_hugetlbfs(&ms.m[i], 0))
			printf("%-20s %s\n", ms.m[i].dir, ms.m[i].opts);
	ctl_mounts_free(&ms);
	return CTL_OK;
}

/* --page-sizes: sizes with a pool (Maximum > 0); --page-sizes-all: all */
static void ha_page_sizes(bool all)
{
	int i;

	for (i = 0; i < ctl_hstates(); i++) {
		const struct hp_hstate *h = hp_hstate_get(i);
		unsigned long min = 0, over = 0;

		ctl_persistent(h, -1, &min);
		ctl_read(h, -1, "nr_overcommit_hugepages", &over);
		if (all || min + over)
			printf("%zu\n", h->size);
	}
}

/* hugeadm's options: ours, then the refused ones (filled in by ha_parse) */
#define HA_NOWN 18
static struct option ha_opts[HA_NOWN + ARRAY_SIZE(ha_refused) + 1] = {
	{ "pool-pages-min", required_argument, NULL, HA_MIN },
	{ "pool-pages-max", required_argument, NULL, HA_MAX },
	{ "pool-list", no_argument, NULL, HA_LIST },
	{ "create-mounts", no_argument, NULL, HA_MOUNTS },
	{ "create-global-mounts", no_argument, NULL, HA_GLOBAL },
	{ "create-user-mounts", required_argument, NULL, HA_USER },
	{ "create-group-mounts", required_argument, NULL, HA_GROUP },
	{ "list-all-mounts", no_argument, NULL, HA_ALLMOUNTS },
	{ "page-sizes", no_argument, NULL, HA_SIZES },
	{ "page-sizes-all", no_argument, NULL, HA_SIZES_ALL },
	{ "explain", no_argument, NULL, HA_EXPLAIN },
	{ "dry-run", no_argument, NULL, HA_DRY },
	{ "hard", no_argument, NULL, HA_HARD },
	{ "thp-always", no_argument, NULL, HA_THP_ALWAYS },
	{ "thp-madvise", no_argument, NULL, HA_THP_MADVISE },
	{ "thp-never", no_argument, NULL, HA_THP_NEVER },
	{ "verbose", optional_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
};

static int ha_parse(int argc, char **argv, struct hugeadm *ha)
{
	size_t i;
	int ch, idx;

	for (i = 0; i < ARRAY_SIZE(ha_refused); i++)
		ha_opts[HA_NOWN + i] = (struct option){ ha_refused[i].name, optional_argument,
							NULL, HA_UNSUPPORTED };
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", ha_opts, &idx)) != -1) {
		switch (ch) {
		case HA_MIN:
		case HA_MAX:
			if (ha->npools == (int)ARRAY_SIZE(ha->pools))
				return ctl_usage_error("too many --pool-pages options");
			ha->pools[ha->npools++] = (struct ha_pool){ ch, optarg };
			break;
		case HA_LIST: ha->list = true; break;
		case HA_MOUNTS: ha->mounts = true; break;
		case HA_GLOBAL: ha->global = true; break;
		case HA_USER: ha->user = optarg; break;
		case HA_GROUP: ha->group = optarg; break;
		case HA_ALLMOUNTS: ha->allmounts = true; break;
		case HA_SIZES: ha->sizes = true; break;
		case HA_SIZES_ALL: ha->sizes_all = true; break;
		case HA_EXPLAIN: ha->explain = true; break;
		case HA_DRY: ha->dry = true; break;
		case HA_HARD: ha->hard = true; break;
		case HA_THP_ALWAYS: ha->thp = "always"; break;
		case HA_THP_MADVISE: ha->thp = "madvise"; break;
		case HA_THP_NEVER: ha->thp = "never"; break;
		case HA_UNSUPPORTED:
			return ctl_error(CTL_USAGE, "hugeadm --%s has no counterpart; %s",
					 ha_opts[idx].name, ha_refused[idx - HA_NOWN].instead);
		case 'v': break;	/* hugepool-ctl always says what it changes */
		case 'h': hugeadm_help(); return -1;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind < argc)
		return ctl_usage_error("unexpected argument '%s'", argv[optind]);
	if (ha->npools + ha->list + ha->mounts + ha->global + !!ha->user + !!ha->group +
	    ha->allmounts + ha->sizes + ha->sizes_all + ha->explain + !!ha->thp == 0)
		return ctl_usage_error("nothing to do (see hugepool-ctl hugeadm --help)");
	return CTL_OK;
}

/* In hugeadm's order: pools, mounts, THP, then what it lists. */
int cmd_hugeadm(int argc, char **argv)
{
	struct hugeadm ha;
	int status;

	memset(&ha, 0, sizeof(ha));
	status = ha_parse(argc, argv, &ha);
	if (status)
		return status < 0 ? CTL_OK : status;
	if (ctl_hstates() <= 0)
		return ctl_error(CTL_FAIL, "this kernel has no huge page support");
	if ((status = ha_pools(&ha)) || (status = ha_mounts(&ha)))
		return status;
	if (ha.thp) {
		char *targv[] = { (char *)"thp", (char *)"--enabled", (char *)ha.thp,
				  (char *)(ha.dry ? "--dry-run" : NULL), NULL };

		optind = 0;
		if ((status = cmd_thp(ha.dry ? 4 : 3, targv)))
			return status;
	}
	if (ha.list)
		ha_pool_list();
	if (ha.allmounts && (status = ha_list_mounts()))
		return status;
	if (ha.sizes || ha.sizes_all)
		ha_page_sizes(ha.sizes_all);
	if (ha.explain) {
		char *eargv[] = { (char *)"explain", NULL };

		optind = 0;
		return cmd_explain(1, eargv);
	}
	return CTL_OK;
}

/* ------------------------------------------------------------------------
 * hugectl [OPTIONS] [--] PROG ARGS: hugepool-ctl run with the environment
 * libhugepool reads (hugepool(7))
 * ------------------------------------------------------------------------ */
enum {
	HC_TEXT = 0x100, HC_DATA, HC_BSS, HC_HEAP, HC_SHM, HC_DRY, HC_VERBOSE, HC_IGNORED,
};

static const struct option hc_opts[] = {
	{ "text", optional_argument, NULL, HC_TEXT },
	{ "data", optional_argument, NULL, HC_DATA },
	{ "bss", optional_argument, NULL, HC_BSS },
	{ "heap", optional_argument, NULL, HC_HEAP },
	{ "shm", no_argument, NULL, HC_SHM },
	{ "dry-run", no_argument, NULL, HC_DRY },
	{ "verbose", required_argument, NULL, HC_VERBOSE },
	{ "thp", no_argument, NULL, HC_IGNORED },
	{ "no-reserve", no_argument, NULL, HC_IGNORED },
	{ "share-text", no_argument, NULL, HC_IGNORED },
	{ "no-preload", no_argument, NULL, HC_IGNORED },
	{ "force-preload", no_argument, NULL, HC_IGNORED },
	{ "library-use-path", no_argument, NULL, HC_IGNORED },
	{ "library-path", required_argument, NULL, HC_IGNORED },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void hugectl_help(void)
{
	printf("Usage: hugepool-ctl hugectl [OPTIONS] [--] PROG [ARGS...]\n\n"
	       "libhugetlbfs's hugectl: run PROG under the hugepool preload.\n"
	       "  --heap[=SIZE]   every malloc on huge pages (HUGEPOOL_THRESHOLD=0), of SIZE\n"
	       "  --text, --data, --bss   remap these segments (HUGEPOOL_SEGMENTS)\n"
	       "  --shm           shmget gets SHM_HUGETLB (HUGEPOOL_SHM=1)\n"
	       "  -v, --verbose N libhugetlbfs's level 0..99 (2: warnings), as HUGETLB_VERBOSE\n"
	       "  --dry-run       print the environment and command; run nothing\n"
	       "  -h, --help      this help\n"
	       "--thp, --no-reserve, --share-text, --no-preload, --force-preload,\n"
	       "--library-use-path and --library-path have no meaning for hugepool:\n"
	       "each is one line on stderr and ignored. See hugepool-ctl(8).\n");
}

struct hugectl {
	unsigned int seg;		/* 1 text, 2 data, 4 bss */
	const char *heap;		/* NULL, "" (default size) or a size */
	bool shm, dry;
	const char *verbose;
};

static int hc_parse(int argc, char **argv, struct hugectl *hc)
{
	int ch, idx;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:v:h", hc_opts, &idx)) != -1) {
		switch (ch) {
		case HC_TEXT: hc->seg |= 1; break;
		case HC_DATA: hc->seg |= 2; break;
		case HC_BSS: hc->seg |= 4; break;
		case HC_HEAP: hc->heap = optarg ? optarg : ""; break;
		case HC_SHM: hc->shm = true; break;
		case HC_DRY: hc->dry = true; break;
		case 'v':
		case HC_VERBOSE: hc->verbose = optarg; break;
		case HC_IGNORED:
			ctl_warn("hugectl --%s has no meaning for hugepool; ignored",
				 hc_opts[idx].name);
			break;
		case 'h': hugectl_help(); return -1;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing PROG");
	return CTL_OK;
}

/* libhugetlbfs's verbosity (0..99, 2 its default) as run's 0..4 */
static int hc_verbose(const char *v, char *out, size_t len)
{
	unsigned long ul;

	if (hp_parse_ulong(v, &ul) || ul > 99)
		return ctl_error(CTL_USAGE, "--verbose '%s': expected 0 to 99", v);
	snprintf(out, len, "%lu", ul <= 1 ? 0 : ul >= 5 ? 4 : ul - 1);
	return CTL_OK;
}

int cmd_hugectl(int argc, char **argv)
{
	static const char *const segname[] = { "text", "data", "bss" };
	char **rargv, segs[32] = "", verb[8];
	struct hugectl hc = { 0 };
	int status, n = 0, i;

	if ((status = hc_parse(argc, argv, &hc)))
		return status < 0 ? CTL_OK : status;
	/* run's options (at most 8) and PROG ARGS, NULL-terminated */
	if (!(rargv = calloc((size_t)argc + 16, sizeof(*rargv))))
		return ctl_error(CTL_FAIL, "out of memory");
	rargv[n++] = (char *)"run";
	if (hc.heap) {
		rargv[n++] = (char *)"--threshold";
		rargv[n++] = (char *)"1";	/* every malloc: HUGETLB_MORECORE */
		if (*hc.heap) {
			rargv[n++] = (char *)"--page-size";
			rargv[n++] = (char *)hc.heap;
		}
	}
	if (hc.verbose) {
		if ((status = hc_verbose(hc.verbose, verb, sizeof(verb))))
			goto out;
		rargv[n++] = (char *)"--verbose";
		rargv[n++] = verb;
	}
	if (hc.dry)
		rargv[n++] = (char *)"--dry-run";
	for (i = 0; i < 3; i++)
		if (hc.seg & (1u << i))
			snprintf(segs + strlen(segs), sizeof(segs) - strlen(segs), "%s%s",
				 *segs ? "," : "", segname[i]);
	if ((*segs && setenv("HUGEPOOL_SEGMENTS", segs, 1)) ||
	    (hc.shm && setenv("HUGEPOOL_SHM", "1", 1))) {
		status = ctl_error(CTL_FAIL, "setenv: %s", strerror(errno));
		goto out;
	}
	if (hc.dry && *segs)
		printf("HUGEPOOL_SEGMENTS=%s\n", segs);
	if (hc.dry && hc.shm)
		printf("HUGEPOOL_SHM=1\n");
	rargv[n++] = (char *)"--";
	for (i = optind; i < argc; i++)
		rargv[n++] = argv[i];
	rargv[n] = NULL;
	optind = 0;
	status = cmd_run(n, rargv);	/* returns only when it did not exec */
out:
	free(rargv);
	return status;
}
