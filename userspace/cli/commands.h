/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_COMMANDS_H
#define VFIO_RELEASE_CLI_COMMANDS_H

#include <stdbool.h>

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
int vr_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *vr_prog;

int vr_cmd_wait(int argc, char **argv);
int vr_cmd_reattach(int argc, char **argv);
int vr_parse_timeout(const char *arg, int *timeout_ms);
int vr_parse_devices(int argc, char **argv,
		     char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX]);
/* Waits for devices; prints their records when print is set. Exit code. */
int vr_wait_devices(char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX], unsigned int n,
		    enum vfio_release_state target, int timeout_ms, bool print,
		    bool json);
int vr_open(struct vfio_release **vr);

#endif
