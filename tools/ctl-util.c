/* SPDX-License-Identifier: MIT */
/*
 * ctl-util.c - hugepool-ctl's error lines and the input parsing every
 * subcommand shares: page sizes, nodes, COUNT, mount sizes, owners, modes.
 * Parsing never writes; a bad value is reported here in one line naming
 * the value and what would have been accepted.
 */
#include "ctl.h"

#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <getopt.h>
#include <unistd.h>

const char *ctl_cmd = "hugepool-ctl";
const char *ctl_where = "";

static void vline(const char *fmt, va_list ap)
{
	fflush(stdout);		/* keep stdout and stderr lines in order */
	fprintf(stderr, "%s: %s", ctl_cmd, ctl_where);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

int ctl_error(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
	return status;
}

void ctl_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline(fmt, ap);
	va_end(ap);
}

int ctl_usage_error(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return ctl_error(CTL_USAGE, "%s (see '%s --help')", msg, ctl_cmd);
}

int ctl_error_errno(int err, const char *what, const char *path)
{
	if (err == -EACCES || err == -EPERM || err == -EROFS)
		return ctl_error(CTL_FAIL, "%s %s: %s (this needs root)", what, path,
				 strerror(-err));
	return ctl_error(CTL_FAIL, "%s %s: %s", what, path, strerror(-err));
}

int ctl_getopt_error(int ch, char **argv)
{
	const char *arg = argv[optind - 1];

	if (ch == ':') {
		if (optopt && strncmp(arg, "--", 2))
			return ctl_usage_error("option '-%c' needs a value", optopt);
		return ctl_usage_error("option '%s' needs a value", arg);
	}
	if (optopt)
		return ctl_usage_error("unknown option '-%c'", optopt);
	return ctl_usage_error("unknown option '%s'", arg);
}

#define NEG_MARK '\x01'

void ctl_protect_negatives(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (argv[i][0] == '-' && argv[i][1] >= '0' && argv[i][1] <= '9')
			argv[i][0] = NEG_MARK;
	}
}

void ctl_unprotect_negatives(int argc, char **argv)
{
	int i;

	/* getopt permutes argv but the strings are the same: every mark
	 * is found wherever it went, and optarg pointed into them too */
	for (i = 0; i < argc; i++)
		if (argv[i][0] == NEG_MARK)
			argv[i][0] = '-';
}

bool ctl_tty(void)
{
	return isatty(STDERR_FILENO);
}

/* ------------------------------------------------------------------------
 * sizes
 * ------------------------------------------------------------------------ */
int ctl_hstates(void)
{
	int ret = hp_hstate_init();

	return ret ? ret : hp_hstate_count();
}

void ctl_size_str(size_t bytes, char *buf, size_t len)
{
	hp_format_size(bytes, buf, len);
}

void ctl_human(unsigned long long bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTP";
	double v = (double)bytes;
	int u = -1;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%llu", bytes);
	else if (v < 10 && v != (double)(unsigned long long)v)
		snprintf(buf, len, "%.1f%c", v, units[u]);
	else
		snprintf(buf, len, "%.0f%c", v, units[u]);
}

void ctl_size_list(char *buf, size_t len)
{
	int i, n = hp_hstate_count();
	size_t off = 0;

	buf[0] = '\0';
	for (i = 0; i < n && off < len; i++) {
		char s[32];

		ctl_size_str(hp_hstate_get(i)->size, s, sizeof(s));
		off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? ", " : "", s);
	}
	if (!n)
		snprintf(buf, len, "none");
}

const struct hp_hstate *ctl_parse_hstate(const char *arg, int *status)
{
	const struct hp_hstate *h;
	char list[128];
	size_t size;

	if (ctl_hstates() <= 0) {
		*status = ctl_error(CTL_FAIL, "this kernel has no huge page support "
				    "(no /sys/kernel/mm/hugepages; CONFIG_HUGETLBFS is off)");
		return NULL;
	}
	ctl_size_list(list, sizeof(list));
	if (hp_parse_size(arg, &size) || size == 0) {
		*status = ctl_error(CTL_USAGE, "'%s' is not a page size (this kernel has %s)",
				    arg, list);
		return NULL;
	}
	h = hp_size_to_hstate(size);
	if (!h) {
		*status = ctl_error(CTL_USAGE, "unknown huge page size %s (this kernel has %s)",
				    arg, list);
		return NULL;
	}
	return h;
}

/* ------------------------------------------------------------------------
 * nodes: taken from sysfs (below the test root), not from libnuma, so that
 * "the node exists" means "the per-node file we would write exists"
 * ------------------------------------------------------------------------ */
void ctl_path(const struct hp_hstate *h, int node, const char *file, char *buf, size_t len)
{
	if (hp_hstate_path(h, node, file, buf, len))
		snprintf(buf, len, "(path too long)");
}

bool ctl_node_has(const struct hp_hstate *h, int node)
{
	char path[512];
	struct stat st;

	if (node < 0 || node >= HP_MAX_NODES)
		return false;
	ctl_path(h, node, "nr_hugepages", path, sizeof(path));
	return stat(path, &st) == 0;
}

int ctl_nodes(const struct hp_hstate *h, int *nodes, int max)
{
	int n, count = 0;

	for (n = 0; n < HP_MAX_NODES && count < max; n++)
		if (ctl_node_has(h, n))
			nodes[count++] = n;
	return count;
}

int ctl_parse_node(const char *arg, const struct hp_hstate *h, int *node)
{
	unsigned long v;
	int nodes[HP_MAX_NODES], n, i;
	char list[256] = "", sz[32];
	size_t off = 0;

	if (hp_parse_ulong(arg, &v))
		return ctl_error(CTL_USAGE, "'%s' is not a node number", arg);
	if (v < HP_MAX_NODES && ctl_node_has(h, (int)v)) {
		*node = (int)v;
		return 0;
	}
	n = ctl_nodes(h, nodes, HP_MAX_NODES);
	for (i = 0; i < n && off < sizeof(list); i++)
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%d", i ? ", " : "", nodes[i]);
	ctl_size_str(h->size, sz, sizeof(sz));
	return ctl_error(CTL_USAGE, "node %s does not exist or has no %s pages (nodes: %s)",
			 arg, sz, n ? list : "none");
}

/* ------------------------------------------------------------------------
 * counters
 * ------------------------------------------------------------------------ */
int ctl_read(const struct hp_hstate *h, int node, const char *file, unsigned long *out)
{
	char path[512];

	if (hp_hstate_path(h, node, file, path, sizeof(path)))
		return -ENAMETOOLONG;
	return hp_sys_read_ulong(path, out);
}

int ctl_write(const struct hp_hstate *h, int node, const char *file, unsigned long val)
{
	char path[512], buf[32];
	long n;

	if (hp_hstate_path(h, node, file, path, sizeof(path)))
		return -ENAMETOOLONG;
	n = snprintf(buf, sizeof(buf), "%lu\n", val);
	n = hp_sys_write_file(path, buf, (size_t)n);
	return n < 0 ? (int)n : 0;
}

long ctl_read_text(const char *rel, char *buf, size_t len)
{
	char path[512];

	snprintf(path, sizeof(path), "%s%s", hp_sysfs_root, rel);
	return hp_sys_read_file(path, buf, len);
}

void ctl_bracketed(const char *rel, char *out, size_t len)
{
	char buf[256], *a, *b;

	out[0] = '\0';
	if (ctl_read_text(rel, buf, sizeof(buf)) < 0)
		return;
	a = strchr(buf, '[');
	b = a ? strchr(a, ']') : NULL;
	if (!a || !b)
		return;
	*b = '\0';
	snprintf(out, len, "%s", a + 1);
}

/* ------------------------------------------------------------------------
 * COUNT
 * ------------------------------------------------------------------------ */
static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* hp_parse_size, plus a decimal point: "1.5G" is 1610612736 bytes, which
 * is exactly 768 2M pages; "1.3M" is not a whole number of bytes' worth
 * of anything useful and is refused by the caller's page check. Only with
 * a unit: a page count has no fraction. */
int ctl_parse_bytes(const char *s, size_t *out)
{
	const char *dot = strchr(s, '.');
	char buf[64];
	size_t ip, fl, i, div = 1, v;
	int ret;

	if (!dot)
		return hp_parse_size(s, out);
	ip = (size_t)(dot - s);
	for (fl = 0; dot[1 + fl] >= '0' && dot[1 + fl] <= '9'; fl++)
		;
	/* digits on both sides, a unit after, at most 9 decimals */
	if (!ip || !fl || fl > 9 || !dot[1 + fl] || ip + strlen(dot + 1) >= sizeof(buf))
		return -EINVAL;
	for (i = 0; i < ip; i++)
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
	memcpy(buf, s, ip);
	strcpy(buf + ip, dot + 1);	/* "1.5G" -> "15G" */
	ret = hp_parse_size(buf, &v);
	if (ret)
		return ret;
	if (v == 0 && strspn(buf, "0") == ip + fl)
		return -EINVAL;		/* no unit parsed: "1.5" */
	for (i = 0; i < fl; i++)
		div *= 10;
	if (v % div)
		return -EINVAL;		/* not a whole number of bytes */
	*out = v / div;
	return 0;
}

int ctl_parse_count(const char *s, const struct hp_hstate *h, const char *what,
		    struct ctl_count *out)
{
	const char *num = s;
	char sz[32];
	size_t bytes;
	unsigned long v;
	int ret;

	out->sign = 0;
	if (*num == '+' || *num == '-') {
		out->sign = *num == '+' ? 1 : -1;
		num++;
	}
	if (all_digits(num)) {
		ret = hp_parse_ulong(num, &v);
		if (ret)
			return ctl_error(CTL_USAGE, "%s '%s' is too large", what, s);
		out->pages = v;
		return 0;
	}
	ret = ctl_parse_bytes(num, &bytes);
	if (ret == -ERANGE)
		return ctl_error(CTL_USAGE, "%s '%s' is too large", what, s);
	if (ret)
		return ctl_error(CTL_USAGE, "%s '%s' is not a number of pages (512, +8, -8) "
				 "or of memory (4G, +1G)", what, s);
	ctl_size_str(h->size, sz, sizeof(sz));
	if (bytes % h->size)
		return ctl_error(CTL_USAGE, "%s '%s' is not a whole number of %s pages", what, s, sz);
	out->pages = bytes / h->size;
	return 0;
}

int ctl_count_resolve(const struct ctl_count *c, const struct hp_hstate *h,
		      const char *what, unsigned long cur, unsigned long *out)
{
	char sz[32];

	ctl_size_str(h->size, sz, sizeof(sz));
	if (c->sign == 0) {
		*out = c->pages;
	} else if (c->sign > 0) {
		if (c->pages > ULONG_MAX - cur)
			return ctl_error(CTL_USAGE, "%s: %lu + %lu pages overflows", what, cur, c->pages);
		*out = cur + c->pages;
	} else {
		if (c->pages > cur)
			return ctl_error(CTL_USAGE, "%s: removing %lu %s pages from %lu would leave "
					 "%ld (below zero)", what, c->pages, sz, cur,
					 (long)cur - (long)c->pages);
		*out = cur - c->pages;
	}
	/* the kernel multiplies pages by the page size: keep that in range */
	if (*out > (unsigned long)LONG_MAX / h->size)
		return ctl_error(CTL_USAGE, "%s: %lu %s pages is more memory than can exist",
				 what, *out, sz);
	return 0;
}

/* ------------------------------------------------------------------------
 * mount options
 * ------------------------------------------------------------------------ */
int ctl_parse_mount_size(const char *s, const struct hp_hstate *h, const char *what,
			 char *out, size_t len)
{
	size_t n = strlen(s), bytes;
	unsigned long pct;
	char sz[32];

	if (n > 1 && s[n - 1] == '%') {
		char num[24];

		if (n - 1 >= sizeof(num))
			return ctl_error(CTL_USAGE, "%s '%s' is not a size or a percentage", what, s);
		memcpy(num, s, n - 1);
		num[n - 1] = '\0';
		if (hp_parse_ulong(num, &pct) || pct == 0 || pct > 100)
			return ctl_error(CTL_USAGE, "%s '%s' must be a percentage from 1%% to 100%%",
					 what, s);
		snprintf(out, len, "%lu%%", pct);
		return 0;
	}
	if (ctl_parse_bytes(s, &bytes))
		return ctl_error(CTL_USAGE, "%s '%s' is not a size (1G, 512M) or a percentage (50%%)",
				 what, s);
	ctl_size_str(h->size, sz, sizeof(sz));
	if (bytes == 0 || bytes % h->size)
		return ctl_error(CTL_USAGE, "%s '%s' is not a whole number of %s pages", what, s, sz);
	snprintf(out, len, "%zu", bytes);
	return 0;
}

int ctl_parse_inodes(const char *s, const char *what, char *out, size_t len)
{
	size_t n;

	if (hp_parse_size(s, &n) || n == 0 || n > (1UL << 40))
		return ctl_error(CTL_USAGE, "%s '%s' is not a number of inodes (1 to 2^40; "
				 "K, M, G allowed)", what, s);
	snprintf(out, len, "%zu", n);
	return 0;
}

int ctl_parse_uid(const char *s, uid_t *out)
{
	unsigned long v;
	struct passwd *pw;

	if (!hp_parse_ulong(s, &v) && v < (uid_t)-1) {
		*out = (uid_t)v;
		return 0;
	}
	pw = getpwnam(s);
	if (!pw)
		return ctl_error(CTL_USAGE, "unknown user '%s'", s);
	*out = pw->pw_uid;
	return 0;
}

int ctl_parse_gid(const char *s, gid_t *out)
{
	unsigned long v;
	struct group *gr;

	if (!hp_parse_ulong(s, &v) && v < (gid_t)-1) {
		*out = (gid_t)v;
		return 0;
	}
	gr = getgrnam(s);
	if (!gr)
		return ctl_error(CTL_USAGE, "unknown group '%s'", s);
	*out = gr->gr_gid;
	return 0;
}

int ctl_parse_mode(const char *s, mode_t *out)
{
	unsigned long v = 0;
	const char *p = s;

	if (!*p)
		return ctl_error(CTL_USAGE, "empty mode");
	for (; *p; p++) {
		if (*p < '0' || *p > '7')
			return ctl_error(CTL_USAGE, "mode '%s' is not octal (for example 0770)", s);
		v = v * 8 + (unsigned long)(*p - '0');
		if (v > 07777)
			return ctl_error(CTL_USAGE, "mode '%s' is out of range (at most 07777)", s);
	}
	*out = (mode_t)v;
	return 0;
}

/* ------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------ */
/* Length of the valid UTF-8 sequence at s, or 0. */
static int utf8_len(const unsigned char *s)
{
	int n, i;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2)
		n = 2;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3;
	else if ((s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	for (i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 (a path can hold any) become
 * U+FFFD so that the document always parses. */
void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		unsigned char c = *p;
		int n;

		if (c >= 0x80) {
			n = utf8_len(p);
			if (n) {
				fwrite(p, 1, (size_t)n, f);
				p += n;
				continue;
			}
			fputs("\\ufffd", f);
		} else if (c == '"' || c == '\\') {
			fprintf(f, "\\%c", c);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c < 0x20 || c == 0x7f) {
			fprintf(f, "\\u%04x", c);
		} else {
			fputc(c, f);
		}
		p++;
	}
	fputc('"', f);
}
