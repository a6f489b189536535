/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_REGISTRY_H
#define _VR_REGISTRY_H

#include <linux/list.h>
#include <linux/sched.h>
#include <linux/types.h>

#include "../uapi/linux/vfio_release.h"
#include "queue.h"
#include "scan.h"

#define VR_HOLDS_MAX 4

/* What the module knows of one registration of a vfio_pci_core device. */
struct vr_device {
	struct hlist_node by_dev;
	struct hlist_node by_name;
	struct hlist_node by_cookie;
	struct list_head group_node;
	struct device *dev;		/* referenced while listed */
	const void *cookie;		/* the vfio device, as an identity */
	u64 registration;
	u64 touched;			/* last scan that saw it live */
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];
	char driver[VR_DRIVER_NAME_MAX];
	struct vr_group *group;		/* NULL: the device has no IOMMU group */
	bool group_lost;		/* it has one, not tracked: no memory */
	bool quiet;			/* its first state is not announced */
	bool stale;			/* records may be lost: unknown until read */
	bool open_known;
	bool open;
	/*
	 * The releases of its files that gave its DMA back (the iommufd
	 * path) and have not returned, by release id (0: unused): each file
	 * holds the vfio device until its release returns, so the device is
	 * not free yet, whatever its group says. Several can overlap: the
	 * first lets the device set and the group go before its file lets
	 * the device go. By id, so that one release's end cannot end
	 * another's hold.
	 */
	u64 holds[VR_HOLDS_MAX];
	/*
	 * A file may hold it that no record names: records were lost, a
	 * release was not followed or ran at load, or another file held it
	 * at its last close. Until a reading shows that no file holds it.
	 */
	bool holds_unsure;
	/*
	 * Whether a file holds it has not been read since it was tracked or
	 * records were lost (the iommufd path): the next full reading does.
	 */
	bool refs_unread;
	enum vfio_release_state state;	/* as last announced */
	enum vfio_release_reset reset;
	u64 close_ns;
	u64 timestamp_ns;
	u64 seq;
	u64 generation;
	u64 opens;
	u64 releases;
	u64 frees;
	pid_t pid;			/* whose release ran the last close */
	char comm[TASK_COMM_LEN];
	bool has_opener;		/* while open, when the open was seen */
	pid_t opener_pid;
	char opener_comm[TASK_COMM_LEN];
};

/* What an IOMMU group's user DMA claims add up to. */
struct vr_group {
	struct hlist_node node;
	struct list_head devices;
	u32 id;
	bool known;			/* read, or seen claimed or released */
	bool count_unknown;		/* read claimed: how many claims, unknown */
	bool claimed;			/* the group path (VFIO container) */
	unsigned int device_claims;	/* the iommufd device path */
};

/* One announcement, handed out while the registry is locked. */
struct vr_transition {
	enum vfio_release_cmd cmd;
	const struct vr_device *vd;	/* device notifications */
	u32 group;			/* group notifications */
	u64 seq;
	u64 timestamp_ns;
	enum vfio_release_resync_reason reason;
	u64 lost;
};

typedef void (*vr_announce_fn)(const struct vr_transition *t, void *arg);

int vr_registry_init(void);
void vr_registry_exit(void);

/*
 * The state machine: each call takes what was observed, in the order it
 * happened, and hands every transition it caused to @announce.
 */
void vr_registry_apply(const struct vr_record *rec, vr_announce_fn announce,
		       void *arg);
void vr_registry_begin_scan(u64 first_ticket);
void vr_registry_apply_snapshot(const struct vr_snapshot *snap, bool after_loss,
				vr_announce_fn announce, void *arg);
bool vr_registry_end_scan(vr_announce_fn announce, void *arg);
void vr_registry_end_scan_aborted(void);
void vr_registry_resync(enum vfio_release_resync_reason reason, u64 lost,
			vr_announce_fn announce, void *arg);

/* Whether something could not be kept since the last call (no memory). */
bool vr_registry_take_failure(void);
/* Whether a group became unknown since the last call: read it again. */
bool vr_registry_take_reread(void);
/* Whether a file that may have held a device let go: read it soon. */
bool vr_registry_take_reread_soon(void);

/* Readers hold the lock while they use a vr_device. */
void vr_registry_lock(void);
void vr_registry_unlock(void);
const struct vr_device *vr_registry_find(const char *name);
/* The first registration after @registration, in registration order. */
const struct vr_device *vr_registry_next(u64 registration);
/* Changes whenever a device is added or removed. */
unsigned int vr_registry_layout(void);
u64 vr_registry_instance(void);

#endif
