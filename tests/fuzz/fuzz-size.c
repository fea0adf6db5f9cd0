/* SPDX-License-Identifier: MIT */
/*
 * fuzz-size.c - libFuzzer harness for the parsers of lib/util.c shared by
 * the library, the preload and hugepool-ctl: hp_parse_ulong, hp_parse_size
 * ("2M", "1GiB", "4096"), hp_parse_pages ("512" pages or "1G" of memory)
 * and hp_parse_bool, each against an oracle written from their documented
 * grammar (digits, then K/M/G/T with an optional B/iB, or B alone; binary
 * units), plus the formatting round trips hp_format_size -> hp_parse_size
 * and hp_fmt_ulong == "%lu".
 *
 * Input: the string to parse (up to the first NUL); its first 8 bytes also
 * give a number for the round trips, byte 0 a page size for parse_pages.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FUZZ_NAME "fuzz-size"
#include "fuzz.h"

/*
 * The oracle's reading of s: digits (at most 31: the parser refuses more
 * with -ERANGE, whatever their value), then a unit. Returns false if the
 * grammar does not match; *overflow if the number or the product does not
 * fit.
 */
static bool oracle(const char *s, unsigned long *num, size_t *mult, bool *has_unit,
		   bool *overflow)
{
	size_t n = 0;
	const char *u;
	unsigned long v = 0;

	*overflow = false;
	while (s[n] >= '0' && s[n] <= '9') {
		if (__builtin_mul_overflow(v, 10UL, &v) ||
		    __builtin_add_overflow(v, (unsigned long)(s[n] - '0'), &v))
			*overflow = true;
		n++;
	}
	if (n == 0)
		return false;
	if (n > 31)
		*overflow = true;
	*num = v;
	u = s + n;
	*has_unit = *u;
	*mult = 1;
	if (!*u)
		return true;
	switch (*u) {
	case 'k': case 'K': *mult = 1UL << 10; break;
	case 'm': case 'M': *mult = 1UL << 20; break;
	case 'g': case 'G': *mult = 1UL << 30; break;
	case 't': case 'T': *mult = 1UL << 40; break;
	case 'b': case 'B': return u[1] == '\0';
	default: return false;
	}
	u++;
	return !*u || !strcmp(u, "b") || !strcmp(u, "B") || !strcmp(u, "iB") || !strcmp(u, "ib");
}

static void check_ulong(const char *s)
{
	unsigned long v = 0, want;
	size_t i, n = strlen(s);
	bool digits = n > 0, over = false;
	int ret = hp_parse_ulong(s, &v);

	for (i = 0; i < n; i++)
		digits &= s[i] >= '0' && s[i] <= '9';
	if (!digits) {
		/* junk after more digits than fit may say -ERANGE first */
		if (ret != -EINVAL && ret != -ERANGE)
			fail("parse_ulong(\"%s\") = %d, not -EINVAL", s, ret);
		return;
	}
	want = 0;
	for (i = 0; i < n; i++)
		if (__builtin_mul_overflow(want, 10UL, &want) ||
		    __builtin_add_overflow(want, (unsigned long)(s[i] - '0'), &want))
			over = true;
	if (over ? ret != -ERANGE : (ret || v != want))
		fail("parse_ulong(\"%s\") = %d (%lu)", s, ret, v);
}

static void check_size(const char *s, size_t psz)
{
	unsigned long num;
	size_t mult, v = 0, pages = 0, want;
	bool unit, over, ok = oracle(s, &num, &mult, &unit, &over);
	int ret = hp_parse_size(s, &v), pret = hp_parse_pages(s, psz, &pages);

	if (!ok) {
		if (ret == 0)
			fail("parse_size(\"%s\") accepted %zu", s, v);
		if (pret == 0)
			fail("parse_pages(\"%s\") accepted %zu", s, pages);
		return;
	}
	if (!over && __builtin_mul_overflow(num, mult, &want))
		over = true;
	if (over) {
		if (ret != -ERANGE || pret != -ERANGE)
			fail("\"%s\" overflows: parse_size %d, parse_pages %d", s, ret, pret);
		return;
	}
	if (ret || v != want)
		fail("parse_size(\"%s\") = %d (%zu), want %zu", s, ret, v, want);
	want = unit ? want / psz + (want % psz ? 1 : 0) : num;
	if (pret || pages != want)
		fail("parse_pages(\"%s\", %zu) = %d (%zu), want %zu", s, psz, pret, pages, want);
}

static void check_bool(const char *s)
{
	static const char *const yes[] = { "1", "yes", "on", "true", "y" };
	static const char *const no[] = { "0", "no", "off", "false", "n" };
	int want = -1, ret;
	bool b = false;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i]))
			want = 1;
		if (!strcasecmp(s, no[i]))
			want = 0;
	}
	ret = hp_parse_bool(s, &b);
	if (want < 0 ? ret != -EINVAL : (ret || b != want))
		fail("parse_bool(\"%s\") = %d (%d)", s, ret, b);
}

static void check_format(uint64_t x)
{
	char buf[64], ref[32];
	size_t v = 0;

	/* every size formats to a string that parses back to it */
	hp_format_size((size_t)x, buf, sizeof(buf));
	if (hp_parse_size(buf, &v) || v != x)
		fail("format_size(%llu) = \"%s\" parses to %zu", (unsigned long long)x, buf, v);
	snprintf(ref, sizeof(ref), "%lu", (unsigned long)x);
	if (hp_fmt_ulong(buf, (unsigned long)x) != strlen(ref) || strcmp(buf, ref))
		fail("fmt_ulong(%s) = \"%s\"", ref, buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t psizes[] = { 4096, 2UL << 20, 1UL << 30, 3, 1 };
	char s[256];
	uint64_t x = 0;
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	memcpy(s, data, n);
	s[n] = '\0';
	memcpy(&x, data, size < 8 ? size : 8);
	check_ulong(s);
	check_size(s, psizes[(size ? data[0] : 0) % ARRAY_SIZE(psizes)]);
	check_bool(s);
	check_format(x);
	check_format(x >> (x & 63));	/* small numbers and round ones too */
	check_format((x & 0xffff) << (10 * (x >> 62)));
	return 0;
}
