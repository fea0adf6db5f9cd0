/* SPDX-License-Identifier: MIT */
/*
 * util.c - parsing and formatting shared by the library, the preload and
 * hugepool-ctl: sizes ("2M", "1GiB"), page counts ("512" or "1G"), booleans,
 * and a stdio-free logger (it may run inside malloc).
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int hp_verbose = 1;

int hp_parse_ulong(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!s || !*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (v > (ULONG_MAX - (unsigned long)(*s - '0')) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Split "512k" into its number and a unit multiplier. Accepts K/M/G/T with
 * optional "B" or "iB" (all binary: a huge page is never 10^6 bytes). */
static int parse_number_unit(const char *s, unsigned long *num, size_t *mult, bool *has_unit)
{
	char digits[32];
	size_t n = 0;
	const char *u;

	while (s[n] >= '0' && s[n] <= '9') {
		if (n + 1 >= sizeof(digits))
			return -ERANGE;
		digits[n] = s[n];
		n++;
	}
	if (n == 0)
		return -EINVAL;
	digits[n] = '\0';
	if (hp_parse_ulong(digits, num))
		return -ERANGE;
	u = s + n;
	*has_unit = *u != '\0';
	*mult = 1;
	if (!*u)
		return 0;
	switch (*u) {
	case 'k': case 'K': *mult = 1UL << 10; break;
	case 'm': case 'M': *mult = 1UL << 20; break;
	case 'g': case 'G': *mult = 1UL << 30; break;
	case 't': case 'T': *mult = 1UL << 40; break;
	case 'b': case 'B':
		*mult = 1;
		return u[1] ? -EINVAL : 0;
	default:
		return -EINVAL;
	}
	u++;
	if (!*u || !strcasecmp(u, "b") || !strcmp(u, "iB") || !strcmp(u, "ib"))
		return 0;
	return -EINVAL;
}

int hp_parse_size(const char *s, size_t *out)
{
	unsigned long num;
	size_t mult;
	bool unit;
	int ret;

	if (!s)
		return -EINVAL;
	ret = parse_number_unit(s, &num, &mult, &unit);
	if (ret)
		return ret;
	if (num && mult > SIZE_MAX / num)
		return -ERANGE;
	*out = num * mult;
	return 0;
}

int hp_parse_pages(const char *s, size_t page_size, size_t *out)
{
	unsigned long num;
	size_t mult;
	bool unit;
	int ret;

	if (!s || !page_size)
		return -EINVAL;
	ret = parse_number_unit(s, &num, &mult, &unit);
	if (ret)
		return ret;
	if (!unit) {
		*out = num;
		return 0;
	}
	if (num && mult > SIZE_MAX / num)
		return -ERANGE;
	num *= mult;
	*out = num / page_size + (num % page_size ? 1 : 0);
	return 0;
}

int hp_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "yes", "on", "true", "y" };
	static const char *const no[] = { "0", "no", "off", "false", "n" };
	size_t i;

	if (!s)
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

size_t hp_fmt_ulong(char *buf, unsigned long v)
{
	char tmp[24];
	size_t n = 0, i;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		buf[i] = tmp[n - 1 - i];
	buf[n] = '\0';
	return n;
}

void hp_format_size(size_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (bytes && bytes % 1024 == 0 && u < 3) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, len, "%zu", bytes);
	else
		snprintf(buf, len, "%zu%c", bytes, units[u]);
}

/* Messages go to stderr with write(2): this may run inside malloc, where
 * stdio could allocate or deadlock. vsnprintf of integers and strings does
 * not allocate in glibc. */
const char *hp_errstr(int err)
{
	const char *s = strerrordesc_np(err);

	return s ? s : "unknown error";
}

void hp_log(int level, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n, saved = errno;

	if (level > hp_verbose)
		return;
	memcpy(buf, "hugepool: ", 10);
	va_start(ap, fmt);
	n = vsnprintf(buf + 10, sizeof(buf) - 11, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	n += 10;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) < 0)
		(void)0;
	errno = saved;
}

/* Start time of a process in clock ticks (field 22 of /proc/<pid>/stat; pid
 * 0: this one), so that a reader can tell a process from an earlier holder
 * of the same pid. 0 if unreadable. Shared by publish.c and hugepool-ctl. */
uint64_t hp_proc_start_time(int pid)
{
	char path[48] = "/proc/self/stat", buf[1024];
	const char *p;
	uint64_t v = 0;
	size_t n;
	int field;

	if (pid > 0) {
		memcpy(path, "/proc/", 6);
		n = 6 + hp_fmt_ulong(path + 6, (unsigned long)pid);
		memcpy(path + n, "/stat", 6);
	}
	if (hp_sys_read_file(path, buf, sizeof(buf)) < 0)
		return 0;
	p = strrchr(buf, ')');	/* comm may hold spaces and parentheses */
	if (!p)
		return 0;
	/* after ")" comes field 3 */
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (uint64_t)(*p++ - '0');
	return v;
}
