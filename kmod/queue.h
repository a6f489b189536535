/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_QUEUE_H
#define _VR_QUEUE_H

#include <linux/sched.h>
#include <linux/types.h>

struct device;
struct work_struct;
struct workqueue_struct;

/* What a probe observed; the pipeline applies records in ticket order. */
enum vr_record_kind {
	VR_REC_REGISTERED,	/* a vfio_pci_core driver bound the device */
	VR_REC_OPENED,		/* first open of the device completed */
	VR_REC_RELEASED,	/* close_device returned at last close */
	VR_REC_BUS_RESET,	/* a sibling's close reset this device's bus */
	VR_REC_GROUP_RELEASED,	/* an IOMMU group's user DMA claim ended */
	VR_REC_GROUP_CLAIMED,	/* an IOMMU group was claimed for user DMA */
	VR_REC_DMA_RELEASED,	/* one device's user DMA claim ended */
	VR_REC_DMA_CLAIMED,	/* one device was claimed for user DMA */
	VR_REC_UNREGISTERED,	/* the vfio_pci_core driver let go */
	VR_REC_REARMED,		/* hooks were re-armed: read everything again */
	VR_REC_FILE_RELEASED,	/* a device file's release returned (iommufd) */
};

#define VR_DRIVER_NAME_MAX 32

struct vr_record {
	enum vr_record_kind kind;
	u32 group;
	u64 ticket;		/* position among all pushes since load */
	struct device *dev;	/* reference taken by vr_queue_push() */
	const void *registration; /* the vfio device, as an identity only */
	/*
	 * FILE_RELEASED of a release that closed nothing: which of the two
	 * (see vr_release_key) is the vfio device is the kernel's layout.
	 */
	const void *registration_alt;
	u64 timestamp_ns;
	u64 close_ns;
	u32 reset;		/* enum vfio_release_reset */
	/*
	 * RELEASED: the release of a device file that ran this close, 0 if
	 * none was seen; DMA_RELEASED: the release that ran the device's last
	 * close and now gives its DMA back, or 0; FILE_RELEASED: the release
	 * of a file of the device named by registration, now returned, if it
	 * was such a release, else 0.
	 */
	u64 release;
	bool other_files;	/* DMA_RELEASED: another file held it too */
	bool untimed;		/* RELEASED: close_ns unknown (0) */
	bool group_read;	/* REGISTERED: the pipeline read the group */
	bool group_claimed;
	pid_t pid;
	char comm[TASK_COMM_LEN];
	char driver[VR_DRIVER_NAME_MAX];
};

/* The consumer's work item runs after every push. */
void vr_queue_init(struct workqueue_struct *wq, struct work_struct *consumer);

/* Any context, NMI excepted: never sleeps, never allocates. */
void vr_queue_push(const struct vr_record *rec);

/* Consumer side. */
bool vr_queue_pop(struct vr_record *rec);
void vr_queue_drop(struct vr_record *rec);
u64 vr_queue_lost(void);
bool vr_queue_has_unregister(const struct device *dev);

/*
 * The ticket the next push will take. Read under a lock that every hook of
 * a device holds, it orders a reading of the device's state among the
 * records of that device.
 */
u64 vr_queue_ticket(void);

/*
 * Progress for readers: the consumer says up to which ticket it applied
 * and whether a re-read is outstanding; vr_queue_sync() waits until every
 * record pushed before the call is applied and no re-read is outstanding.
 */
void vr_queue_set_applied(u64 ticket, bool rescan_pending);
int vr_queue_sync(void);
void vr_queue_stop(void);

#endif
