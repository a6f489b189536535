/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_SYSFS_H
#define VFIO_RELEASE_CLI_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/* PCI devices in sysfs; the root is $VFIO_RELEASE_SYSFS or /sys. */
bool vr_pci_exists(const char *dev);
/* The bound driver's name into buf ("" when unbound); negative errno. */
int vr_pci_driver(const char *dev, char *buf, size_t size);
bool vr_is_vfio_driver(const char *driver);
int vr_pci_unbind(const char *dev, const char *driver);
int vr_pci_set_override(const char *dev, const char *driver);
int vr_pci_reprobe(const char *dev);

#endif
