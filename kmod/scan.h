/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_SCAN_H
#define _VR_SCAN_H

#include <linux/types.h>

#include "queue.h"

/* One device's state read from the kernel rather than seen by a hook. */
struct vr_snapshot {
	struct device *dev;		/* reference held */
	const void *registration;	/* the vfio device, as an identity */
	u64 ticket;			/* records below it happened before */
	u64 timestamp_ns;
	bool busy;			/* its set was locked: state not read */
	bool open;
	bool file_refs;			/* some file holds its registration */
	bool has_group;
	bool group_claimed;		/* claimed for user DMA */
	u32 group;
	char driver[VR_DRIVER_NAME_MAX];
};

struct vr_scan {
	struct vr_snapshot *snaps;	/* in ticket order */
	unsigned int count;
};

/*
 * Reads every device a vfio_pci_core driver drives. Never takes a lock
 * VFIO try-locks, and never waits for one VFIO holds: a device whose set
 * is locked (an open, close or reset in progress) is reported busy, to be
 * read again later. 0 or -ENOMEM.
 */
int vr_scan_all(struct vr_scan *scan);
void vr_scan_free(struct vr_scan *scan);

/* Whether @dev's IOMMU group is claimed for user DMA; false: no group. */
bool vr_scan_group(struct device *dev, bool *claimed);

/* A module is going: wait until no scan reads its devices' operations. */
void vr_scan_barrier(void);

#endif
