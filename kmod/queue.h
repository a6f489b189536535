/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_QUEUE_H
#define _VR_QUEUE_H

#include <linux/sched.h>
#include <linux/types.h>

struct device;

/* What a probe observed; applied to the registry, in order, by the worker. */
enum vr_record_kind {
	VR_REC_REGISTERED,	/* a vfio_pci_core driver bound the device */
	VR_REC_OPENED,		/* first open of the device completed */
	VR_REC_RELEASED,	/* close_device returned at last close */
	VR_REC_BUS_RESET,	/* a sibling's close reset this device's bus */
	VR_REC_GROUP_RELEASED,	/* an IOMMU group's DMA ownership came back */
	VR_REC_DMA_RELEASED,	/* one device's DMA ownership came back */
	VR_REC_GROUP_CLAIMED,	/* an IOMMU group was claimed for user DMA */
	VR_REC_DMA_CLAIMED,	/* one device was claimed for user DMA */
	VR_REC_UNREGISTERED,	/* the vfio_pci_core driver let go */
	VR_REC_SNAPSHOT,	/* state read from the kernel, not from a hook */
};

#define VR_DRIVER_NAME_MAX 32

struct vr_record {
	enum vr_record_kind kind;
	struct device *dev;	/* reference taken by vr_queue_push() */
	u64 timestamp_ns;
	u64 close_ns;
	u32 group;
	u32 reset;		/* enum vfio_release_reset */
	bool open;		/* VR_REC_SNAPSHOT: open_count > 0 */
	pid_t pid;
	char comm[TASK_COMM_LEN];
	char driver[VR_DRIVER_NAME_MAX];
};

int vr_queue_init(void);
void vr_queue_exit(void);
void vr_queue_push(const struct vr_record *rec);
void vr_queue_flush(void);
void vr_queue_kick(void);

#endif
