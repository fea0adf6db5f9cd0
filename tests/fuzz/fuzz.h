/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - shared by the libFuzzer harnesses: fail() says what went wrong
 * and aborts (a crash for libFuzzer, which saves the input). The run
 * script passes -close_fd_mask=3 so that the library's and the tool's
 * messages do not flood the log; the message of a failure must still be
 * seen, so it goes to a copy of stderr made before libFuzzer closes it.
 */
#ifndef HUGEPOOL_FUZZ_H
#define HUGEPOOL_FUZZ_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int fuzz_report_fd = 2;

__attribute__((constructor)) static void fuzz_save_stderr(void)
{
	int fd = dup(2);

	if (fd >= 0)
		fuzz_report_fd = fd;
}

__attribute__((noreturn, unused, format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dprintf(fuzz_report_fd, "%s: ", FUZZ_NAME);
	vdprintf(fuzz_report_fd, fmt, ap);
	va_end(ap);
	dprintf(fuzz_report_fd, "\n");
	abort();
}

#endif
