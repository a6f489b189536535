/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_HOSTDRIVER_H
#define VFIO_RELEASE_CLI_HOSTDRIVER_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Finding and loading a device's host driver with libkmod, as modprobe
 * and udev's kmod builtin do. Errors are negative errno.
 */

/*
 * The module a device's modalias, or a module name or alias ("e1000e"),
 * resolves to, skipping VFIO drivers and the stubs (which match whatever
 * they are told to). -ENOENT: none.
 */
int vr_host_module_lookup(const char *key, char *module, size_t size);
/*
 * Loads the module with its dependencies (nothing to do when it is loaded
 * or built in). With honour_blacklist, a blacklisted module is not loaded:
 * -EPERM.
 */
int vr_host_module_load(const char *module, bool honour_blacklist);

#endif
