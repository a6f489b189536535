/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_REGISTRY_H
#define _VR_REGISTRY_H

#include <linux/sched.h>
#include <linux/types.h>

#include "../uapi/linux/vfio_release.h"
#include "queue.h"

struct device;

/* What the module knows of one device driven by a vfio_pci_core driver. */
struct vr_device {
	struct list_head node;
	struct device *dev;		/* referenced while listed */
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];
	char driver[VR_DRIVER_NAME_MAX];
	bool has_group;
	u32 group;
	enum vfio_release_state state;
	enum vfio_release_reset reset;
	u64 close_ns;
	u64 timestamp_ns;
	u64 seq;
	u64 generation;
	u64 opens;
	u64 releases;
	u64 frees;
	pid_t pid;
	char comm[TASK_COMM_LEN];
};

void vr_registry_apply(const struct vr_record *rec);
void vr_registry_check_lost(u64 ring_lost);
void vr_registry_request_resync(enum vfio_release_resync_reason reason);
void vr_registry_exit(void);

/*
 * Readers: hold the lock while using a vr_device. Call vr_queue_flush()
 * first to see every transition that happened before the request.
 */
void vr_registry_lock(void);
void vr_registry_unlock(void);
struct vr_device *vr_registry_find(const char *name);
struct vr_device *vr_registry_nth(unsigned long index);

const char *vr_state_name(enum vfio_release_state state);
const char *vr_reset_name(enum vfio_release_reset reset);

#endif
