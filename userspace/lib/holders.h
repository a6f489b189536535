/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why a device is not free: its record read against the system (who holds
 * a VFIO file for it in /proc, its IOMMU group and bus in sysfs). Free of
 * the handle: siblings' records come through a lookup, so unit tests can
 * run it on a fake tree with made-up records.
 */
#ifndef VFIO_RELEASE_HOLDERS_H
#define VFIO_RELEASE_HOLDERS_H

#include <stdint.h>

#include "internal.h"
#include "vfio-release-qmp.h"

/*
 * Bounds of the /proc scan: a host has thousands of processes, and a
 * process may have thousands of files. A scan that reaches one stops
 * there and reports what it found so far.
 */
#define VR_HOLDER_MAX_PROCS 65536
#define VR_HOLDER_MAX_FDS_PER_PROC 16384
#define VR_HOLDER_MAX_FDS 1048576
/* Devices read from one IOMMU group or reset domain at most. */
#define VR_HOLDER_MAX_SIBLINGS 256

/*
 * Another device's record, a new reference (vfio_release_get() on the
 * matcher's handle): -ENODEV when the module does not watch it.
 */
typedef int (*vr_record_lookup)(const char *device, struct vfio_release_event **out,
				void *arg);

/*
 * Why the device of record rec (NULL: none) is not free. Fills *pid and
 * comm for BLOCK_OPEN and for a GROUP_CLAIMED without an open sibling
 * (the group file's holder), who with the device named for GROUP_CLAIMED
 * and BUS_PENDING; each "" / 0 when none was found. who and comm have
 * VFIO_RELEASE_DEVICE_NAME_MAX bytes.
 */
enum vfio_release_block vr_block_explain(const struct vfio_release_event *rec,
					 vr_record_lookup lookup, void *arg,
					 uint32_t *pid, char *comm, char *who);

/*
 * The process holding a VFIO file for device (its IOMMU group: group,
 * < 0 when unknown), preferring opener (0: unknown): 1 and *pid, comm
 * (VFIO_RELEASE_DEVICE_NAME_MAX bytes, "" when unreadable) when found,
 * 0 when not. group_only: the group file only (the device is not open).
 */
int vr_find_holder(const char *device, int64_t group, uint32_t opener,
		   bool group_only, uint32_t *pid, char *comm);

/* For unit tests: where /proc and /sys are (NULL: the real ones). */
void vr_holders_set_roots(const char *proc_root, const char *sys_root);

#endif
