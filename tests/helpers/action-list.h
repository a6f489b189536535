/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scripted helpers (vfio-hold, vfio-cdev) take their steps as
 * "name[=value]" words on the command line. Every word is checked before
 * the first device is touched, so a typo exits 2 with nothing opened.
 */
#ifndef VR_TEST_ACTION_LIST_H
#define VR_TEST_ACTION_LIST_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern char *program_invocation_short_name;

enum action_value {
	ACTION_BARE,		/* "name" only */
	ACTION_TEXT,		/* "name=TEXT" */
	ACTION_NUMBER,		/* "name=N", N >= 0 */
	ACTION_MAYBE_TEXT,	/* "name" or "name=TEXT" */
};

struct action_spec {
	const char *name;
	enum action_value value;
};

/* The non-negative decimal N of "name=N"; exits 2 on anything else. */
static long __attribute__((unused))
action_number(const char *action, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = s ? strtol(s, &end, 10) : -1;
	if (!s || errno || end == s || *end || v < 0) {
		fprintf(stderr, "%s: bad number in '%s'\n",
			program_invocation_short_name, action);
		exit(2);
	}
	return v;
}

/*
 * The index in specs[] of action a, its value (or NULL) in *value; exits 2
 * on an unknown name or a value where none belongs, or none where one does.
 */
static int __attribute__((unused))
action_parse(const struct action_spec *specs, size_t n, const char *a,
	     const char **value)
{
	const char *eq = strchr(a, '=');
	size_t len = eq ? (size_t)(eq - a) : strlen(a);
	size_t i;

	*value = eq ? eq + 1 : NULL;
	for (i = 0; i < n; i++) {
		enum action_value want = specs[i].value;

		if (!specs[i].name || strlen(specs[i].name) != len ||
		    strncmp(a, specs[i].name, len))
			continue;
		if ((want == ACTION_BARE && eq) ||
		    ((want == ACTION_TEXT || want == ACTION_NUMBER) && !eq))
			break;
		if (want == ACTION_NUMBER)
			action_number(a, *value);
		return (int)i;
	}
	fprintf(stderr, "%s: bad action '%s'\n", program_invocation_short_name, a);
	exit(2);
}

/* Sleeps the whole ms, through signals that interrupt nanosleep. */
static void __attribute__((unused)) sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

#endif
