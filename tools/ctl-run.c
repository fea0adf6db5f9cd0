/* SPDX-License-Identifier: MIT */
/*
 * ctl-run.c - `hugepool-ctl run [options] -- PROG ARGS`: check the options,
 * put them in the HUGEPOOL_* environment, prepend libhugepool.so to
 * LD_PRELOAD and exec the program (hugectl's approach). Values are checked
 * here because the library, inside someone else's program, can only warn
 * and fall back to a default.
 *
 * The preload library is, in order: the one --library names;
 * $HUGEPOOL_PRELOAD_LIB; next to this binary (<exe>/../<libdir>, which also
 * finds build/lib from build/tools); the configured install libdir; and,
 * only for the very binary the build tree holds (not an installed copy of
 * it), the build tree's lib/. An installed hugepool-ctl never looks in the
 * build directory it was compiled in: that path may be gone, and anyone
 * could make it again under /tmp and have `run` preload their library as
 * root (issue 12, finding 5). A library found by the search (not named)
 * must belong to root or to us and be writable by nobody else.
 */
#include "ctl.h"

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef HP_LIBDIR
#define HP_LIBDIR "lib"
#endif
#ifndef HP_INSTALL_LIBDIR
#define HP_INSTALL_LIBDIR "/usr/local/lib"
#endif
#ifndef HP_BUILD_LIBDIR
#define HP_BUILD_LIBDIR ""
#endif
#ifndef HP_PRELOAD_NAME
#define HP_PRELOAD_NAME "libhugepool.so.0"
#endif

/* libnuma prints its own warnings for node strings it rejects; we report
 * a bad --nodes in our one line instead. Overrides libnuma's weak symbols. */
void numa_warn(int num, char *fmt, ...);
void numa_error(char *where);

void numa_warn(int num, char *fmt, ...)
{
	(void)num;
	(void)fmt;
}

void numa_error(char *where)
{
	(void)where;
}

static bool try_lib(const char *dir, const char *name, char *out, size_t len)
{
	char real[PATH_MAX];
	struct stat st;
	int n;

	/* LD_PRELOAD needs an absolute path (the program may chdir); the
	 * directory is resolved, the soname link is kept */
	if (!dir || !*dir || !realpath(dir, real))
		return false;
	n = snprintf(out, len, "%s/%s", real, name);
	if (n < 0 || (size_t)n >= len)
		return false;
	if (stat(out, &st) || !S_ISREG(st.st_mode))
		return false;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022)) {
		ctl_warn("ignoring %s: it belongs to uid %lu or others may write it", out,
			 (unsigned long)st.st_uid);
		return false;
	}
	return true;
}

/* Is this process the hugepool-ctl of the build tree (tools/ next to the
 * lib/ of HP_BUILD_LIBDIR), not an installed copy? By inode, so that no
 * path trick makes an installed binary look like it. */
static bool running_from_build_tree(void)
{
	const char *libdir = HP_BUILD_LIBDIR, *slash = strrchr(libdir, '/');
	char exe[PATH_MAX];
	struct stat self, built;
	int n;

	if (!slash || slash == libdir)
		return false;
	n = snprintf(exe, sizeof(exe), "%.*s/tools/hugepool-ctl", (int)(slash - libdir), libdir);
	if (n < 0 || (size_t)n >= sizeof(exe))
		return false;
	return !stat("/proc/self/exe", &self) && !stat(exe, &built) &&
	       self.st_dev == built.st_dev && self.st_ino == built.st_ino;
}

/* 0 and the absolute path of the preload library, or -ENOENT */
static int find_preload(const char *named, char *out, size_t len)
{
	static const char *const names[] = { HP_PRELOAD_NAME, "libhugepool.so" };
	const char *env = named ? named : getenv("HUGEPOOL_PRELOAD_LIB");
	char exe[PATH_MAX], dirs[3][PATH_MAX * 2];
	ssize_t n;
	size_t i, d;

	if (env && *env) {
		if (access(env, R_OK))
			return -ENOENT;
		if (env[0] == '/') {
			if (strlen(env) >= len)
				return -ENAMETOOLONG;
			strcpy(out, env);	/* as given: a soname link stays a link */
			return 0;
		}
		return realpath(env, out) ? 0 : -ENOENT;
	}
	memset(dirs, 0, sizeof(dirs));
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		char *bindir;

		exe[n] = '\0';
		bindir = dirname(exe);
		if (HP_LIBDIR[0] == '/')
			snprintf(dirs[0], sizeof(dirs[0]), "%s", HP_LIBDIR);
		else
			snprintf(dirs[0], sizeof(dirs[0]), "%s/../%s", bindir, HP_LIBDIR);
		snprintf(dirs[1], sizeof(dirs[1]), "%s/../lib", bindir);
	}
	snprintf(dirs[2], sizeof(dirs[2]), "%s", HP_INSTALL_LIBDIR);
	for (d = 0; d < ARRAY_SIZE(dirs); d++)
		for (i = 0; i < ARRAY_SIZE(names); i++)
			if (try_lib(dirs[d], names[i], out, len))
				return 0;
	if (!running_from_build_tree())
		return -ENOENT;
	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (try_lib(HP_BUILD_LIBDIR, names[i], out, len))
			return 0;
	return -ENOENT;
}

/* LD_PRELOAD with lib first, keeping what was there (once). */
static int set_preload(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	char *val;
	int ret;

	if (old && strstr(old, lib))
		return 0;
	if (old && *old) {
		if (asprintf(&val, "%s:%s", lib, old) < 0)
			return -ENOMEM;
	} else {
		val = strdup(lib);
		if (!val)
			return -ENOMEM;
	}
	ret = setenv("LD_PRELOAD", val, 1) ? -errno : 0;
	free(val);
	return ret;
}

static void help(void)
{
	printf("Usage: hugepool-ctl run [OPTIONS] [--] PROG [ARGS...]\n\n"
	       "Run PROG with libhugepool.so preloaded: its large mallocs are served from\n"
	       "huge pages. Options become HUGEPOOL_* environment variables.\n\n"
	       "  -t, --threshold SIZE   smallest malloc served from huge pages (256K)\n"
	       "  -p, --page-size SIZE   huge page size: 2M, 1G (default: the kernel's)\n"
	       "  -n, --nodes NODES      NUMA nodes: 0, 0-3, all\n"
	       "  -P, --policy POLICY    default, preferred, bind or interleave\n"
	       "      --min N            pages (or memory: 1G) taken at start and kept\n"
	       "      --max N            cap on pages (or memory)\n"
	       "  -f, --fallback         use base pages when no huge page can be had\n"
	       "  -v, --verbose LEVEL    library messages: 0 (none) to 4\n"
	       "  -s, --stats[=FORMAT]   print pool statistics at exit: text or json\n"
	       "      --stats-file FILE  ... into FILE instead of standard error\n"
	       "      --text             the program's text (and rodata) on huge pages\n"
	       "      --data             its initialised data on huge pages\n"
	       "      --bss              its bss on huge pages (see hugepool-ctl segments)\n"
	       "      --shm              SysV shmget on huge pages (SHM_HUGETLB)\n"
	       "  -L, --library PATH     preload this libhugepool.so\n"
	       "  -d, --dry-run          print the environment and command; run nothing\n"
	       "  -h, --help             this help\n\n"
	       "The library is --library, else $HUGEPOOL_PRELOAD_LIB, else the one installed\n"
	       "next to this program or in " HP_INSTALL_LIBDIR ". Exit status: PROG's, or 127 if it cannot be found, 126 if it\n"
	       "cannot be run, 2 for invalid options.\n");
}

struct run_env {
	const char *name, *value;
};

/* w as one shell word: as it is when it holds only characters no shell
 * treats specially, else in single quotes (a quote as '\'') */
static void print_shell_word(const char *w)
{
	const char *c;

	if (*w && strspn(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			    "0123456789_@%+=:,./-") == strlen(w)) {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (c = w; *c; c++) {
		if (*c == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*c);
	}
	putchar('\'');
}

/* --text, --data, --bss as HUGEPOOL_SEGMENTS: "text,data,bss", or NULL */
static const char *seg_value(unsigned int bits, char *buf)
{
	static const char *const words[] = { "text", "data", "bss" };

	buf[0] = '\0';
	for (int i = 0; i < 3; i++)
		if (bits & (1u << i))
			strcat(strcat(buf, *buf ? "," : ""), words[i]);
	return *buf ? buf : NULL;
}

/* LD_PRELOAD never reaches a statically linked program: say so, once,
 * rather than let --text/--bss/--shm do nothing without a word. */
static void warn_static(const char *prog)
{
	char path[PATH_MAX];
	const char *dirs = getenv("PATH");

	if (!strchr(prog, '/')) {
		for (path[0] = '\0'; dirs && *dirs; dirs += strcspn(dirs, ":") + !!dirs[strcspn(dirs, ":")]) {
			int n = snprintf(path, sizeof(path), "%.*s/%s", (int)strcspn(dirs, ":"), dirs, prog);

			if (n > 0 && (size_t)n < sizeof(path) && !access(path, X_OK))
				break;
			path[0] = '\0';
		}
		prog = path;
	}
	if (*prog && ctl_elf_static(prog) == 1)
		ctl_warn("%s is statically linked: LD_PRELOAD cannot reach it, so its segments and "
			 "shmget stay as they are", prog);
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "threshold", required_argument, NULL, 't' },
		{ "page-size", required_argument, NULL, 'p' },
		{ "pagesize", required_argument, NULL, 'p' },
		{ "nodes", required_argument, NULL, 'n' },
		{ "policy", required_argument, NULL, 'P' },
		{ "min", required_argument, NULL, 'm' },
		{ "max", required_argument, NULL, 'M' },
		{ "fallback", no_argument, NULL, 'f' },
		{ "verbose", required_argument, NULL, 'v' },
		{ "stats", optional_argument, NULL, 's' },
		{ "stats-file", required_argument, NULL, 'F' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "library", required_argument, NULL, 'L' },
		{ "text", no_argument, NULL, 'T' },
		{ "data", no_argument, NULL, 'D' },
		{ "bss", no_argument, NULL, 'B' },
		{ "shm", no_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const policies[] = { "default", "preferred", "bind", "interleave" };
	const char *thr = NULL, *ps = NULL, *nodes = NULL, *pol = NULL, *min = NULL,
		   *max = NULL, *verb = NULL, *stats = NULL, *stats_file = NULL,
		   *library = NULL;
	const struct hp_hstate *h = NULL;
	struct run_env env[14];
	char segbuf[16];
	const char *segs;
	unsigned int segbits = 0;
	bool shm = false;
	char lib[PATH_MAX];
	bool fallback = false, dry = false;
	size_t sz, min_pages = 0, max_pages = 0, i, nenv = 0;
	unsigned long ul;
	hp_nodemask_t mask;
	int ch, status = CTL_USAGE, ret;

	opterr = 0;
	/* '+': the first non-option is PROG; its options are its own */
	while ((ch = getopt_long(argc, argv, "+:t:p:n:P:fv:s::dL:h", opts, NULL)) != -1) {
		switch (ch) {
		case 't': thr = optarg; break;
		case 'p': ps = optarg; break;
		case 'n': nodes = optarg; break;
		case 'P': pol = optarg; break;
		case 'm': min = optarg; break;
		case 'M': max = optarg; break;
		case 'f': fallback = true; break;
		case 'v': verb = optarg; break;
		case 's': stats = optarg ? optarg : "text"; break;
		case 'F': stats_file = optarg; break;
		case 'd': dry = true; break;
		case 'L': library = optarg; break;
		case 'T': segbits |= HP_SEG_TEXT; break;
		case 'D': segbits |= HP_SEG_DATA; break;
		case 'B': segbits |= HP_SEG_BSS; break;
		case 'S': shm = true; break;
		case 'h': help(); return CTL_OK;
		default: return ctl_getopt_error(ch, argv);
		}
	}
	if (optind >= argc)
		return ctl_usage_error("missing PROG");

	if (thr && (hp_parse_size(thr, &sz) || sz == 0))
		return ctl_error(CTL_USAGE, "--threshold '%s' is not a size (256K, 2M)", thr);
	if (ps && !(h = ctl_parse_hstate(ps, &status)))
		return status;
	if (!h && (min || max)) {
		h = hp_default_hstate();
		if (!h)
			return ctl_error(CTL_FAIL, "this kernel has no huge page support");
	}
	if (min && hp_parse_pages(min, h->size, &min_pages))
		return ctl_error(CTL_USAGE, "--min '%s' is not pages (512) or memory (1G)", min);
	if (max && hp_parse_pages(max, h->size, &max_pages))
		return ctl_error(CTL_USAGE, "--max '%s' is not pages (512) or memory (1G)", max);
	if (min && max && max_pages && min_pages > max_pages)
		return ctl_error(CTL_USAGE, "--min %s is more than --max %s", min, max);
	if (nodes && hp_node_parse(nodes, &mask))
		return ctl_error(CTL_USAGE, "--nodes '%s' is not a list of nodes with memory "
				 "on this machine", nodes);
	if (pol) {
		for (i = 0; i < ARRAY_SIZE(policies); i++)
			if (!strcasecmp(pol, policies[i]))
				break;
		if (i == ARRAY_SIZE(policies))
			return ctl_error(CTL_USAGE, "--policy '%s' is not default, preferred, "
					 "bind or interleave", pol);
	}
	if (verb && (hp_parse_ulong(verb, &ul) || ul > 4))
		return ctl_error(CTL_USAGE, "--verbose '%s' is not a level from 0 to 4", verb);
	if (stats && strcasecmp(stats, "text") && strcasecmp(stats, "json"))
		return ctl_error(CTL_USAGE, "--stats=%s: expected text or json", stats);
	if (stats_file && !stats)
		stats = "text";

	ret = find_preload(library, lib, sizeof(lib));
	if (ret)
		return ctl_error(CTL_FAIL, "cannot find libhugepool.so (%s); name it with "
				 "--library or HUGEPOOL_PRELOAD_LIB",
				 library ? "--library does not name a readable file" :
				 getenv("HUGEPOOL_PRELOAD_LIB") ? "HUGEPOOL_PRELOAD_LIB does not "
				 "name a readable file" : "not next to this program, nor in "
				 HP_INSTALL_LIBDIR);
	if (!HP_PRELOAD)
		ctl_warn("this libhugepool was built with -Dpreload=false: malloc will not "
			 "be replaced");

#define ENV(n, v) do { if (v) { env[nenv].name = n; env[nenv].value = v; nenv++; } } while (0)
	ENV("HUGEPOOL_THRESHOLD", thr);
	ENV("HUGEPOOL_PAGE_SIZE", ps);
	ENV("HUGEPOOL_NODES", nodes);
	ENV("HUGEPOOL_POLICY", pol);
	ENV("HUGEPOOL_MIN", min);
	ENV("HUGEPOOL_MAX", max);
	ENV("HUGEPOOL_FALLBACK", fallback ? "1" : NULL);
	ENV("HUGEPOOL_VERBOSE", verb);
	ENV("HUGEPOOL_STATS", stats);
	ENV("HUGEPOOL_STATS_FILE", stats_file);
	segs = seg_value(segbits, segbuf);
	ENV("HUGEPOOL_SEGMENTS", segs);
	ENV("HUGEPOOL_SHM", shm ? "1" : NULL);
#undef ENV
	if (segs || shm)
		warn_static(argv[optind]);
	for (i = 0; i < nenv; i++)
		if (setenv(env[i].name, env[i].value, 1))
			return ctl_error(CTL_FAIL, "setenv %s: %s", env[i].name, strerror(errno));
	if ((ret = set_preload(lib)))
		return ctl_error(CTL_FAIL, "setenv LD_PRELOAD: %s", strerror(-ret));

	if (dry) {
		/* a line that can be pasted into a shell: every word quoted
		 * where it needs to be */
		for (i = 0; i < nenv; i++) {
			printf("%s=", env[i].name);
			print_shell_word(env[i].value);
			printf(" ");
		}
		printf("LD_PRELOAD=");
		print_shell_word(getenv("LD_PRELOAD"));
		for (i = (size_t)optind; i < (size_t)argc; i++) {
			printf(" ");
			print_shell_word(argv[i]);
		}
		printf("\n");
		return CTL_OK;
	}
	fflush(stdout);
	execvp(argv[optind], argv + optind);
	ret = errno;
	ctl_error(0, "cannot run %s: %s", argv[optind], strerror(ret));
	return ret == ENOENT ? 127 : 126;
}
