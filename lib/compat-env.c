/* SPDX-License-Identifier: MIT */
/*
 * compat-env.c - libhugetlbfs's HUGETLB_* environment, mapped onto hp_opt.
 *
 * A program that ran under libhugetlbfs keeps its environment when it moves
 * to hugepool (the preload, or the libhugetlbfs.so.0 stand-in in compat/):
 * each HUGETLB_* variable becomes the hugepool option that does the same
 * thing, and a variable whose mechanism hugepool does not have (or does not
 * need) is one line saying so, never silence. hugepool's own HUGEPOOL_*
 * variable wins when both are set: it is the newer and more precise word.
 *
 * Parsed once, from hp_options_parse (options.c) after the HUGEPOOL_* table,
 * with the same getter: under AT_SECURE nothing here runs at all.
 */
#include "internal.h"

#include <string.h>
#include <strings.h>

typedef void (*compat_parse_fn)(struct hp_options *o, hp_getenv_fn get, const char *v);

static void compat_invalid(const char *name, const char *v, const char *why)
{
	hp_log(0, "warning: %s=\"%s\" is invalid (%s); ignored", name, v, why);
}

static void compat_meaningless(const char *name, const char *why)
{
	hp_log(1, "%s has no meaning for hugepool (%s); ignored", name, why);
}

/* libhugetlbfs's yes/no words (it takes y/Y/n/N) and hugepool's own */
static int compat_bool(const char *v, bool *out)
{
	if (!strcasecmp(v, "y") || !strcasecmp(v, "yes")) {
		*out = true;
		return 0;
	}
	if (!strcasecmp(v, "n") || !strcasecmp(v, "no")) {
		*out = false;
		return 0;
	}
	return hp_parse_bool(v, out);
}

/* A huge page size of this kernel for name, or 0 after a warning. */
static size_t compat_page_size(const char *name, const char *v)
{
	size_t s;

	if (hp_parse_size(v, &s) || !s || !hp_size_to_hstate(s)) {
		compat_invalid(name, v, "not a huge page size of this kernel");
		return 0;
	}
	return s;
}

/* ------------------------------------------------------------------------
 * one mapping per variable
 * ------------------------------------------------------------------------ */
/* libhugetlbfs: 0 quiet, 1 errors, 2 warnings (its default), 3 info,
 * 4 debug, up to 99 "everything". hugepool: 0 warnings only, 1 (default)
 * notices, 2 info, 3 debug, 4 everything. Defaults meet defaults. */
static void c_verbose(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	unsigned long ul;

	if (get("HUGEPOOL_VERBOSE"))
		return;
	if (hp_parse_ulong(v, &ul) || ul > 99) {
		compat_invalid("HUGETLB_VERBOSE", v, "expected 0 to 99");
		return;
	}
	o->verbose = ul <= 1 ? 0 : ul >= 5 ? 4 : (int)ul - 1;
	hp_verbose = o->verbose;
}

static void c_debug(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	(void)v;
	if (get("HUGEPOOL_VERBOSE"))
		return;
	o->verbose = 4;
	hp_verbose = 4;
}

static void c_default_page_size(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	size_t s = compat_page_size("HUGETLB_DEFAULT_PAGE_SIZE", v);

	if (s && !get("HUGEPOOL_PAGE_SIZE"))
		o->page_size = s;
}

/*
 * yes: the whole heap on huge pages, which hugepool does by routing every
 * malloc to its pool (threshold 1, as HUGEPOOL_THRESHOLD=0 is parsed) and
 * turning interposition on even where the library is linked, not
 * preloaded (the stand-in). A size also picks the page size, over
 * HUGETLB_DEFAULT_PAGE_SIZE as in libhugetlbfs.
 */
static void c_morecore(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	size_t s = 0;
	bool b;

	if (!strcasecmp(v, "thp")) {
		compat_meaningless("HUGETLB_MORECORE=thp", "transparent huge pages are not "
				   "hugepool's; see hugepool-ctl thp");
		return;
	}
	if (compat_bool(v, &b)) {
		s = compat_page_size("HUGETLB_MORECORE", v);
		if (!s)
			return;
		b = true;
	}
	if (!b)
		return;
	if (s && !get("HUGEPOOL_PAGE_SIZE"))
		o->page_size = s;
	if (!get("HUGEPOOL_THRESHOLD"))
		o->threshold = 1;
	if (!get("HUGEPOOL_MALLOC"))
		o->malloc_mode = 1;
}

/* libhugetlbfs never gave heap memory back unless told to; hugepool gives
 * unused surplus pages back after decay_ms. SHRINK=yes is "at once"
 * (decay_ms 0); no keeps hugepool's decay, which is at least as thrifty. */
static void c_morecore_shrink(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	bool b;

	if (compat_bool(v, &b)) {
		compat_invalid("HUGETLB_MORECORE_SHRINK", v, "expected yes or no");
		return;
	}
	if (b && !get("HUGEPOOL_DECAY_MS"))
		o->decay_ms = 0;
}

/* R: text, W: data and bss, RW: all three, no: none. */
static void c_elfmap(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	unsigned int seg;

	if (!strcasecmp(v, "no"))
		seg = 0;
	else if (!strcasecmp(v, "R"))
		seg = HP_SEG_TEXT;
	else if (!strcasecmp(v, "W"))
		seg = HP_SEG_DATA | HP_SEG_BSS;
	else if (!strcasecmp(v, "RW") || !strcasecmp(v, "WR"))
		seg = HP_SEG_TEXT | HP_SEG_DATA | HP_SEG_BSS;
	else {
		compat_invalid("HUGETLB_ELFMAP", v, "expected R, W, RW or no");
		return;
	}
	if (!get("HUGEPOOL_SEGMENTS"))
		o->segments = seg;
}

static void c_shm(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	bool b;

	if (compat_bool(v, &b))
		compat_invalid("HUGETLB_SHM", v, "expected yes or no");
	else if (!get("HUGEPOOL_SHM"))
		o->shm = b;
}

/* The compat library's hugetlbfs_find_path: one mount, absolute. */
static void c_path(struct hp_options *o, hp_getenv_fn get, const char *v)
{
	(void)get;
	if (v[0] != '/')
		compat_invalid("HUGETLB_PATH", v, "expected an absolute directory");
	else
		o->hugetlb_path = v;
}

/* Verbosity first, so that the lines after it obey it. A variable with
 * no parser has no meaning for hugepool: its line says why. */
static const struct {
	const char *name;
	compat_parse_fn parse;
	const char *why;
} compat_table[] = {
	{ "HUGETLB_VERBOSE", c_verbose, NULL },
	{ "HUGETLB_DEBUG", c_debug, NULL },
	{ "HUGETLB_DEFAULT_PAGE_SIZE", c_default_page_size, NULL },
	{ "HUGETLB_MORECORE", c_morecore, NULL },
	{ "HUGETLB_MORECORE_SHRINK", c_morecore_shrink, NULL },
	{ "HUGETLB_MORECORE_HEAPBASE", NULL, "the heap is hugepool's pool, placed by the kernel" },
	{ "HUGETLB_ELFMAP", c_elfmap, NULL },
	{ "HUGETLB_FORCE_ELFMAP", NULL,
	  "segments are remapped without relinking; HUGETLB_ELFMAP alone says which" },
	{ "HUGETLB_MINIMAL_COPY", NULL, "segments are copied whole" },
	{ "HUGETLB_SHARE", NULL, "segments are private to each process" },
	{ "HUGETLB_SHARE_PATH", NULL, "segments are private to each process" },
	{ "HUGETLB_SHM", c_shm, NULL },
	{ "HUGETLB_PATH", c_path, NULL },
	{ "HUGETLB_NO_PREFAULT", NULL, "pages are always populated when taken; that is what "
	  "makes running out an error and not a SIGBUS" },
	{ "HUGETLB_NO_RESERVE", NULL, "pools reserve what they promise; "
	  "hugepool_region_reserve(HUGEPOOL_REGION_NORESERVE) is the opt-out" },
	{ "HUGETLB_FEATURES", NULL, "kernel features are probed, not read from the kernel version" },
};

/* ------------------------------------------------------------------------
 * HUGETLB_RESTRICT_EXE
 * ------------------------------------------------------------------------ */
/* This program's name as libhugetlbfs matched it: the last component of
 * argv[0], from /proc/self/cmdline (no malloc: this can run inside it). */
static void compat_exe_name(char *buf, size_t len)
{
	char cmd[512];
	const char *base;
	long n;

	buf[0] = '\0';
	n = hp_sys_read_file("/proc/self/cmdline", cmd, sizeof(cmd));
	if (n <= 0)
		return;
	cmd[sizeof(cmd) - 1] = '\0';	/* argv[0] ends at its NUL, or here */
	base = strrchr(cmd, '/');
	base = base ? base + 1 : cmd;
	if (strlen(base) < len)
		strcpy(buf, base);
}

/* Is exe one of the colon-separated names of list? */
bool hp_compat_exe_listed(const char *list, const char *exe)
{
	size_t elen = strlen(exe);

	if (!elen)
		return false;
	while (*list) {
		const char *end = strchrnul(list, ':');

		if ((size_t)(end - list) == elen && !strncmp(list, exe, elen))
			return true;
		list = *end ? end + 1 : end;
	}
	return false;
}

/*
 * The HUGETLB_* variables get() returns, mapped into opt after the
 * HUGEPOOL_* table has been parsed into it. HUGETLB_RESTRICT_EXE set and
 * this program not in it: every HUGETLB_* variable is left alone, as
 * libhugetlbfs stayed inactive in such a program (exe NULL: read it from
 * /proc/self/cmdline; the unit test passes one).
 */
void hp_compat_env_parse(struct hp_options *opt, hp_getenv_fn get, const char *exe)
{
	const char *v, *restrict_exe = get("HUGETLB_RESTRICT_EXE");
	char name[256];
	size_t i;

	if (restrict_exe) {
		if (!exe) {
			compat_exe_name(name, sizeof(name));
			exe = name;
		}
		if (!hp_compat_exe_listed(restrict_exe, exe)) {
			hp_log(2, "HUGETLB_RESTRICT_EXE does not name %s: HUGETLB_* ignored", exe);
			return;
		}
	}
	for (i = 0; i < ARRAY_SIZE(compat_table); i++) {
		if (!(v = get(compat_table[i].name)))
			continue;
		if (compat_table[i].parse)
			compat_table[i].parse(opt, get, v);
		else
			compat_meaningless(compat_table[i].name, compat_table[i].why);
	}
}
