/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_COMMANDS_H
#define VFIO_RELEASE_CLI_COMMANDS_H

#include "vfio-release.h"

enum {
	VR_EXIT_OK = 0,
	VR_EXIT_TIMEOUT = 1,
	VR_EXIT_ERROR = 2,
};

struct vr_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};

int vr_cmd_monitor(int argc, char **argv);
int vr_cmd_status(int argc, char **argv);

/* Shared by the commands: print a message and return VR_EXIT_ERROR. */
int vr_fail(const char *what, int err);
int vr_usage_error(const char *fmt, const char *arg);
int vr_open(struct vfio_release **vr);

#endif
