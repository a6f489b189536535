// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release: watch, query and wait for VFIO devices becoming free.
 * Exit status: see commands.h and vfio-release(1).
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

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
	fprintf(stderr, "\nTry '%s help'.\n", vr_prog);
	return VR_EXIT_ERROR;
}

int vr_open(struct vfio_release **vr)
{
	int err = vfio_release_open(vr);

	return err ? vr_fail("cannot talk to the kernel", err) : 0;
}

static const struct vr_command vr_commands[] = {
	{ "monitor", vr_cmd_monitor,
	  "[--json] [--device DEVICE]... [--event NAME]... [--no-time]",
	  "print events as they arrive, one per line" },
	{ "status", vr_cmd_status, "[DEVICE...] [--json]",
	  "print the module's view of devices (all watched devices by default)" },
	{ "wait", vr_cmd_wait, "DEVICE... [--state released|free] [--timeout S] [--json]",
	  "wait until every DEVICE reached the state (default: all free at once)" },
	{ "reattach", vr_cmd_reattach,
	  "DEVICE [--driver NAME [--force]] [--timeout S] [--restore]",
	  "wait until free, then return DEVICE to its host driver" },
	{ "unplug", vr_cmd_unplug,
	  "--qmp SOCKET --id ID [--host DEVICE] [--reattach [--driver NAME]] [--timeout S] [--json]",
	  "device_del a vfio-pci device, wait for DEVICE_DELETED and the host device free" },
	{ "gate", vr_cmd_gate,
	  "--qmp SOCKET (--id ID [--host DEVICE] | --all) [--timeout S] -- COMMAND...",
	  "run COMMAND once QEMU deleted the device (or exited) and it is free" },
};

#define VR_NCOMMANDS (sizeof(vr_commands) / sizeof(vr_commands[0]))

static void vr_help(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: %s COMMAND [ARGS]\n\nCommands:\n", vr_prog);
	for (i = 0; i < VR_NCOMMANDS; i++)
		fprintf(out, "  %s %s\n      %s\n", vr_commands[i].name,
			vr_commands[i].args, vr_commands[i].help);
	fprintf(out, "  help [COMMAND]\n      this text, or one command's\n"
		"  --version\n      the version\n"
		"\nDEVICE is a PCI address: 0000:01:00.0, 10000:e1:00.0 or 01:00.0.\n"
		"Exit status: 0 success, 1 timeout, 2 error, 3 the device changed under\n"
		"the command (left vfio, or was not returned to a host driver).\n");
}

int vr_command_help(const char *name)
{
	size_t i;

	for (i = 0; i < VR_NCOMMANDS; i++) {
		if (strcmp(name, vr_commands[i].name))
			continue;
		printf("Usage: %s %s %s\n  %s\nSee vfio-release(1).\n", vr_prog,
		       vr_commands[i].name, vr_commands[i].args, vr_commands[i].help);
		return VR_EXIT_OK;
	}
	return vr_usage_error("unknown command '%s'", name);
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		vr_help(stderr);
		return VR_EXIT_ERROR;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2)
			return vr_command_help(argv[2]);
		vr_help(stdout);
		return VR_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("%s %s\n", vr_prog, VR_VERSION);
		return VR_EXIT_OK;
	}
	for (i = 0; i < VR_NCOMMANDS; i++)
		if (!strcmp(argv[1], vr_commands[i].name))
			return vr_commands[i].fn(argc - 1, argv + 1);
	return vr_usage_error("unknown command '%s'", argv[1]);
}
