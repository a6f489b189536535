/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The scripted helpers (vfio-hold, vfio-cdev) take their steps as
 * "name[=value]" words on the command line. Every word is checked before
 * the first device is touched, so a typo exits 2 with nothing opened.
 */
#ifndef VR_TEST_ACTION_LIST_H
#define VR_TEST_ACTION_LIST_H

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

static void __attribute__((noreturn)) action_die(const char *what)
{
	fprintf(stderr, "%s: hold: %s: %s\n", program_invocation_short_name,
		what, strerror(errno));
	exit(2);
}

/* The signals that end a "hold": SIGUSR1, SIGTERM, SIGINT, SIGHUP. */
static void __attribute__((unused)) action_hold_signals(sigset_t *sigs)
{
	sigemptyset(sigs);
	sigaddset(sigs, SIGUSR1);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	sigaddset(sigs, SIGHUP);
}

/*
 * "hold": prints "holding", then waits for one of @sigs (blocked by the
 * caller, so that one sent early is not lost) or, when stdin is a pipe,
 * for its end; says which. A test steps the helper on by signal, never
 * by a sleep that a slow kernel can outrun.
 */
static void __attribute__((unused)) action_hold(const sigset_t *sigs)
{
	struct pollfd pfd[2] = { { .events = POLLIN }, { .fd = -1 } };
	struct signalfd_siginfo si;
	struct stat st;

	pfd[0].fd = signalfd(-1, sigs, SFD_CLOEXEC);
	if (pfd[0].fd < 0)
		action_die("signalfd");
	if (!fstat(STDIN_FILENO, &st) && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
		pfd[1].fd = STDIN_FILENO;
		pfd[1].events = POLLIN;
	}
	printf("holding\n");
	fflush(stdout);
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			action_die("poll");
		}
		if (pfd[0].revents) {
			if (read(pfd[0].fd, &si, sizeof(si)) != sizeof(si))
				action_die("read signalfd");
			printf("signal %s\n", sigabbrev_np(si.ssi_signo) ?: "?");
			break;
		}
		if (pfd[1].revents) {
			char buf[256];
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n < 0 && errno != EINTR)
				action_die("read stdin");
			if (!n) {
				printf("stdin closed\n");
				break;
			}
		}
	}
	fflush(stdout);
	close(pfd[0].fd);
}

#endif
