/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What every test helper needs: failing with a clear message, a clock. */
#ifndef VR_TEST_HELPER_UTIL_H
#define VR_TEST_HELPER_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char *program_invocation_short_name;

/* "PROGRAM: what: strerror(errno)", exit status 2. */
static void __attribute__((noreturn, format(printf, 1, 2), unused))
fail(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "%s: ", program_invocation_short_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(err));
	exit(2);
}

static inline unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

#endif
