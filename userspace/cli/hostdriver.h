/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_HOSTDRIVER_H
#define VFIO_RELEASE_CLI_HOSTDRIVER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Finding and loading a device's host driver with libkmod, as modprobe
 * and udev's kmod builtin do. Errors are negative errno; libkmod's own
 * reasons go to stderr.
 */
#define VR_MODULE_NAME_MAX 64
#define VR_MODULE_CANDIDATES_MAX 8

/*
 * The modules a device's modalias, or a module name or alias ("e1000e"),
 * resolves to, in libkmod's order, skipping VFIO drivers and the stubs
 * (which match whatever they are told to), and with apply_blacklist the
 * blacklisted ones (counted in *blacklisted). Returns how many went into
 * mods (at most max), 0 for none.
 */
int vr_host_module_candidates(const char *key, bool apply_blacklist,
			      char (*mods)[VR_MODULE_NAME_MAX], int max, int *blacklisted);

/* vr_host_module_load's answers other than 0 and -errno. */
#define VR_MODULE_BLACKLISTED 1
#define VR_MODULE_INSTALL_FAILED 2	/* *install_status: libkmod's errno for it */
/*
 * Loads the module with its dependencies (nothing to do when it is loaded
 * or built in), running its install command if modprobe.d has one.
 */
int vr_host_module_load(const char *module, bool honour_blacklist, int *install_status);

#endif
