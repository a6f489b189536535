/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_SYSFS_H
#define VFIO_RELEASE_CLI_SYSFS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * PCI devices, drivers and modules in sysfs; the root is
 * $VFIO_RELEASE_SYSFS or /sys. Errors are negative errno.
 */
#define VR_DRIVER_NAME_MAX 64

bool vr_pci_exists(const char *dev);
/* The bound driver's name into buf ("" when unbound). */
int vr_pci_driver(const char *dev, char *buf, size_t size);
/* driver_override into buf ("" when unset: the kernel shows "(null)"). */
int vr_pci_override(const char *dev, char *buf, size_t size);
/* The device's modalias ("pci:v00008086d000010D3..."). */
int vr_pci_modalias(const char *dev, char *buf, size_t size);
/* A VF whose PF has sriov_drivers_autoprobe=0. */
bool vr_pci_vf_without_autoprobe(const char *dev);

/* vfio-pci, or a variant driver built on vfio_pci_core (mlx5_vfio_pci...). */
bool vr_is_vfio_driver(const char *driver);
/*
 * pci-stub and pci-pf-stub (either spelling, "pci_stub" too) claim devices
 * to keep drivers off them: not host drivers.
 */
bool vr_is_stub_driver(const char *driver);
/* A driver that serves the host: bound, neither VFIO nor a stub. */
bool vr_is_host_driver(const char *driver);

/* Whether a PCI driver of this name is registered. */
bool vr_pci_driver_registered(const char *driver);
/*
 * The PCI driver a loaded (or built-in) module registers, into buf:
 * returns how many it registers (buf gets the first), 0 for none.
 */
int vr_module_pci_driver(const char *module, char *buf, size_t size);

/*
 * A PF whose VFs exist (sriov_numvfs > 0) with one on a VFIO driver: returns
 * sriov_numvfs and names that VF and its driver; 0 otherwise. vfio-pci's
 * remove disables SR-IOV first, which waits for every VF's user.
 */
int vr_pci_pf_vf_on_vfio(const char *dev, char *vf, size_t vf_size, char *driver,
			 size_t driver_size);
/* The module a registered PCI driver belongs to (bus/pci/drivers/NAME/module). */
int vr_pci_driver_module(const char *driver, char *buf, size_t size);

int vr_pci_unbind(const char *dev, const char *driver);
/* An empty driver clears the override. */
int vr_pci_set_override(const char *dev, const char *driver);
/*
 * drivers_probe: synchronous (device_attach), a no-op for a device whose
 * dev->driver is still set (an unbind in progress).
 */
int vr_pci_reprobe(const char *dev);
/* An explicit bind: answers with the probe's own error. */
int vr_pci_bind(const char *dev, const char *driver);

#endif
