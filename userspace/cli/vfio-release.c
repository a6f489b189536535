// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release: watch, query and wait for VFIO devices becoming free.
 * Exit status: 0 success, 1 a wait timed out, 2 any error.
 */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

const char *vr_prog = "vfio-release";

int vr_fail(const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s\n", vr_prog, what, vfio_release_strerror(err));
	return VR_EXIT_ERROR;
}

int vr_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", vr_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help'.\n", vr_prog);
	return VR_EXIT_ERROR;
}

int vr_open(struct vfio_release **vr)
{
	int err = vfio_release_open(vr);

	return err ? vr_fail("cannot talk to the kernel", err) : 0;
}

static const struct vr_command vr_commands[] = {
	{ "monitor", vr_cmd_monitor, "[--json]",
	  "print events as they arrive, one per line" },
	{ "status", vr_cmd_status, "[DEVICE...] [--json]",
	  "print the module's view of devices (all watched devices by default)" },
	{ "wait", vr_cmd_wait, "DEVICE... [--state released|free] [--timeout S] [--json]",
	  "wait until every DEVICE reached the state (default free)" },
	{ "reattach", vr_cmd_reattach, "DEVICE [--driver NAME] [--timeout S]",
	  "wait until free, then return DEVICE to its host driver" },
};

static void vr_help(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: %s COMMAND [ARGS]\n\nCommands:\n", vr_prog);
	for (i = 0; i < sizeof(vr_commands) / sizeof(vr_commands[0]); i++)
		fprintf(out, "  %s %s\n      %s\n", vr_commands[i].name,
			vr_commands[i].args, vr_commands[i].help);
	fprintf(out, "\nDEVICE is a PCI address, 0000:01:00.0 or 01:00.0.\n"
		"Exit status: 0 success, 1 timeout, 2 error.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		vr_help(stderr);
		return VR_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		vr_help(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(vr_commands) / sizeof(vr_commands[0]); i++)
		if (!strcmp(argv[1], vr_commands[i].name))
			return vr_commands[i].fn(argc - 1, argv + 1);
	return vr_usage_error("unknown command '%s'", argv[1]);
}
