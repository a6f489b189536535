/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_COMMANDS_H
#define VFIO_RELEASE_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdint.h>

#include "vfio-release.h"

/* The exit statuses, documented in vfio-release(1). */
enum {
	VR_EXIT_OK = 0,
	VR_EXIT_TIMEOUT = 1,
	VR_EXIT_ERROR = 2,
	/*
	 * Something changed under the command: a device left vfio during a
	 * wait, or a reattach changed the device but it did not reach a host
	 * driver. The message says in which state it was left.
	 */
	VR_EXIT_CHANGED = 3,
};

struct vr_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};

int vr_cmd_monitor(int argc, char **argv);
int vr_cmd_status(int argc, char **argv);
int vr_cmd_wait(int argc, char **argv);
int vr_cmd_reattach(int argc, char **argv);
int vr_cmd_unplug(int argc, char **argv);
int vr_cmd_gate(int argc, char **argv);

/* Shared by the commands: print a message and return VR_EXIT_ERROR. */
int vr_fail(const char *what, int err);
int vr_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A command's usage on stdout; returns VR_EXIT_OK. */
int vr_command_help(const char *name);
extern const char *vr_prog;

/*
 * Seconds, decimal only ("10", "2.5"), at most VR_TIMEOUT_MAX_S: anything
 * else is a usage error.
 */
#define VR_TIMEOUT_MAX_S 2000000
int vr_parse_timeout(const char *arg, int *timeout_ms);
/* CLOCK_MONOTONIC, the clock of deadlines and of the kernel's timestamps. */
uint64_t vr_mono_ns(void);
long long vr_mono_ms(void);
/*
 * What is left until deadline_ms (vr_mono_ms()), 0 once past, at most
 * cap_ms; cap_ms when there is no deadline (deadline_ms < 0).
 */
int vr_ms_left(long long deadline_ms, int cap_ms);
int vr_parse_devices(int argc, char **argv,
		     char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX]);
int vr_open(struct vfio_release **vr);

/* What a wait for devices ended with; see vr_wait_devices(). */
struct vr_wait_opts {
	enum vfio_release_state target;
	int timeout_ms;
	bool print;
	bool json;
	/* Called about once a second while waiting (reattach's progress). */
	void (*progress)(const struct vfio_release_wait *w, long long waited_ms, void *arg);
	void *progress_arg;
};

/*
 * Waits for devices, prints their records when print is set. Returns an
 * exit status: OK, TIMEOUT, ERROR, or CHANGED when a device left vfio.
 */
int vr_wait_devices(char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX], unsigned int n,
		    const struct vr_wait_opts *opts);

#endif
