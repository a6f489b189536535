// SPDX-License-Identifier: GPL-2.0
/*
 * The state machine of each watched device. Only the queue's worker
 * changes it, so transitions happen, and are numbered and announced, in
 * the order the probes observed them.
 */

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "hooks.h"
#include "netlink.h"
#include "registry.h"
#include "scan.h"
#include "uevent.h"

static LIST_HEAD(vr_devices);
static DEFINE_MUTEX(vr_registry_mutex);
static u64 vr_seq;
static u64 vr_missed_seen;
static u64 vr_ring_lost_seen;
/* A resync to announce at the end of the worker's batch, if not UNSPEC. */
static enum vfio_release_resync_reason vr_resync_reason;

static const char * const vr_state_names[] = {
	[VFIO_RELEASE_STATE_UNKNOWN] = "unknown",
	[VFIO_RELEASE_STATE_OPEN] = "open",
	[VFIO_RELEASE_STATE_RELEASED] = "released",
	[VFIO_RELEASE_STATE_FREE] = "free",
};

static const char * const vr_reset_names[] = {
	[VFIO_RELEASE_RESET_UNKNOWN] = "unknown",
	[VFIO_RELEASE_RESET_FUNCTION] = "function",
	[VFIO_RELEASE_RESET_BUS_PENDING] = "bus-pending",
	[VFIO_RELEASE_RESET_SKIPPED] = "skipped",
	[VFIO_RELEASE_RESET_NONE] = "none",
	[VFIO_RELEASE_RESET_BUS] = "bus",
};

const char *vr_state_name(enum vfio_release_state state)
{
	return state < ARRAY_SIZE(vr_state_names) ? vr_state_names[state] : "?";
}

const char *vr_reset_name(enum vfio_release_reset reset)
{
	return reset < ARRAY_SIZE(vr_reset_names) ? vr_reset_names[reset] : "?";
}

void vr_registry_lock(void)
{
	mutex_lock(&vr_registry_mutex);
}

void vr_registry_unlock(void)
{
	mutex_unlock(&vr_registry_mutex);
}

struct vr_device *vr_registry_find(const char *name)
{
	struct vr_device *vd;

	list_for_each_entry(vd, &vr_devices, node)
		if (!strcmp(vd->name, name))
			return vd;
	return NULL;
}

struct vr_device *vr_registry_nth(unsigned long index)
{
	struct vr_device *vd;

	list_for_each_entry(vd, &vr_devices, node)
		if (!index--)
			return vd;
	return NULL;
}

static struct vr_device *vr_find_dev(struct device *dev)
{
	struct vr_device *vd;

	list_for_each_entry(vd, &vr_devices, node)
		if (vd->dev == dev)
			return vd;
	return NULL;
}

/* Whether a host driver would be refused the device's group (EBUSY). */
static bool vr_group_claimed(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	bool claimed;

	if (!group)
		return false;
	claimed = iommu_group_dma_owner_claimed(group);
	iommu_group_put(group);
	return claimed;
}

static struct vr_device *vr_track(struct device *dev, const char *driver,
				  enum vfio_release_state state)
{
	struct iommu_group *group;
	struct vr_device *vd;

	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd) {
		vr_resync_reason = VFIO_RELEASE_RESYNC_NO_MEMORY;
		return NULL;
	}
	vd->dev = get_device(dev);
	strscpy(vd->name, dev_name(dev), sizeof(vd->name));
	strscpy(vd->driver, driver, sizeof(vd->driver));
	group = iommu_group_get(dev);
	if (group) {
		vd->has_group = true;
		vd->group = iommu_group_id(group);
		iommu_group_put(group);
	}
	vd->state = state;
	list_add_tail(&vd->node, &vr_devices);
	return vd;
}

static void vr_untrack(struct vr_device *vd)
{
	list_del(&vd->node);
	put_device(vd->dev);
	kfree(vd);
}

static void vr_announce(struct vr_device *vd, enum vfio_release_cmd cmd)
{
	vd->seq = ++vr_seq;
	if (vr_notify_device(cmd, vd))
		vr_resync_reason = VFIO_RELEASE_RESYNC_NO_MEMORY;
	if (cmd == VFIO_RELEASE_CMD_DEVICE_RELEASED ||
	    cmd == VFIO_RELEASE_CMD_DEVICE_FREE)
		vr_uevent_send(vd);
}

static void vr_set_open(struct vr_device *vd, u64 now)
{
	if (vd->state == VFIO_RELEASE_STATE_OPEN)
		return;
	vd->state = VFIO_RELEASE_STATE_OPEN;
	vd->opens++;
	vd->timestamp_ns = now;
	vr_announce(vd, VFIO_RELEASE_CMD_DEVICE_OPENED);
}

static void vr_set_released(struct vr_device *vd, const struct vr_record *rec)
{
	vd->state = VFIO_RELEASE_STATE_RELEASED;
	vd->generation++;
	vd->releases++;
	vd->reset = rec->reset;
	vd->close_ns = rec->close_ns;
	vd->timestamp_ns = rec->timestamp_ns;
	vd->pid = rec->pid;
	strscpy(vd->comm, rec->comm, sizeof(vd->comm));
	if (rec->driver[0])
		strscpy(vd->driver, rec->driver, sizeof(vd->driver));
	vr_announce(vd, VFIO_RELEASE_CMD_DEVICE_RELEASED);
}

/*
 * Free, then its group was claimed again (a container set on the group, for
 * another device of it perhaps): no device file is live, but a host driver
 * would be refused. Announced once, by the group's claim.
 */
static void vr_set_claimed(struct vr_device *vd, u64 now, u64 seq)
{
	if (vd->state != VFIO_RELEASE_STATE_FREE)
		return;
	vd->state = VFIO_RELEASE_STATE_RELEASED;
	vd->timestamp_ns = now;
	vd->seq = seq;
}

static void vr_set_free(struct vr_device *vd, u64 now)
{
	if (vd->state != VFIO_RELEASE_STATE_RELEASED)
		return;
	vd->state = VFIO_RELEASE_STATE_FREE;
	vd->frees++;
	vd->timestamp_ns = now;
	vr_announce(vd, VFIO_RELEASE_CMD_DEVICE_FREE);
}

/*
 * A snapshot brings the record in line with what the kernel says now,
 * announcing whatever transitions the hooks did not see. A release seen
 * only this way has no close figures: its reset is reported unknown.
 */
static void vr_reconcile(struct vr_device *vd, const struct vr_record *rec)
{
	if (rec->open) {
		vr_set_open(vd, rec->timestamp_ns);
		return;
	}
	if (vd->state == VFIO_RELEASE_STATE_OPEN ||
	    vd->state == VFIO_RELEASE_STATE_UNKNOWN) {
		struct vr_record unseen = *rec;

		unseen.reset = VFIO_RELEASE_RESET_UNKNOWN;
		unseen.close_ns = 0;
		unseen.pid = 0;
		unseen.comm[0] = '\0';
		vr_set_released(vd, &unseen);
	}
	if (!vr_group_claimed(vd->dev))
		vr_set_free(vd, rec->timestamp_ns);
	else
		vr_set_claimed(vd, rec->timestamp_ns, vd->seq);
}

static void vr_apply_group(const struct vr_record *rec)
{
	bool released = rec->kind == VR_REC_GROUP_RELEASED;
	struct vr_device *vd;

	++vr_seq;
	if (vr_notify_group(released ? VFIO_RELEASE_CMD_GROUP_RELEASED :
				       VFIO_RELEASE_CMD_GROUP_CLAIMED,
			    rec->group, rec->timestamp_ns, vr_seq))
		vr_resync_reason = VFIO_RELEASE_RESYNC_NO_MEMORY;
	list_for_each_entry(vd, &vr_devices, node) {
		if (!vd->has_group || vd->group != rec->group)
			continue;
		if (released)
			vr_set_free(vd, rec->timestamp_ns);
		else
			vr_set_claimed(vd, rec->timestamp_ns, vr_seq);
	}
}

static void vr_apply_device(struct vr_device *vd, const struct vr_record *rec)
{
	switch (rec->kind) {
	case VR_REC_OPENED:
		vr_set_open(vd, rec->timestamp_ns);
		break;
	case VR_REC_RELEASED:
		vr_set_released(vd, rec);
		break;
	case VR_REC_BUS_RESET:
		if (vd->reset == VFIO_RELEASE_RESET_BUS_PENDING) {
			vd->reset = VFIO_RELEASE_RESET_BUS;
			vr_announce(vd, VFIO_RELEASE_CMD_DEVICE_RESET);
		}
		break;
	case VR_REC_DMA_RELEASED:
		vr_set_free(vd, rec->timestamp_ns);
		break;
	case VR_REC_DMA_CLAIMED:
		vr_set_claimed(vd, rec->timestamp_ns, vd->seq);
		break;
	case VR_REC_UNREGISTERED:
		vr_untrack(vd);
		break;
	case VR_REC_SNAPSHOT:
		vr_reconcile(vd, rec);
		break;
	case VR_REC_REGISTERED:
	case VR_REC_GROUP_RELEASED:
	case VR_REC_GROUP_CLAIMED:
		break;
	}
}

/* The state of a device seen for the first time, before any transition. */
static enum vfio_release_state vr_first_state(const struct vr_record *rec)
{
	switch (rec->kind) {
	case VR_REC_REGISTERED:
	case VR_REC_SNAPSHOT:
		if (rec->open)
			return VFIO_RELEASE_STATE_OPEN;
		return vr_group_claimed(rec->dev) ? VFIO_RELEASE_STATE_RELEASED :
						    VFIO_RELEASE_STATE_FREE;
	default:
		/* Bound before we knew it: the record itself sets the state. */
		return VFIO_RELEASE_STATE_UNKNOWN;
	}
}

void vr_registry_apply(const struct vr_record *rec)
{
	struct vr_device *vd;

	mutex_lock(&vr_registry_mutex);
	if (rec->kind == VR_REC_GROUP_RELEASED ||
	    rec->kind == VR_REC_GROUP_CLAIMED) {
		vr_apply_group(rec);
		goto out;
	}
	vd = vr_find_dev(rec->dev);
	if (!vd) {
		/* Nothing to forget, and a sibling reset of a stranger is moot. */
		if (rec->kind == VR_REC_UNREGISTERED ||
		    rec->kind == VR_REC_BUS_RESET ||
		    rec->kind == VR_REC_DMA_RELEASED ||
		    rec->kind == VR_REC_DMA_CLAIMED)
			goto out;
		vd = vr_track(rec->dev, rec->driver, vr_first_state(rec));
		if (!vd || rec->kind == VR_REC_REGISTERED ||
		    rec->kind == VR_REC_SNAPSHOT)
			goto out;
	}
	vr_apply_device(vd, rec);
out:
	mutex_unlock(&vr_registry_mutex);
}

/*
 * Called by the worker after each batch. A missed probe or a full ring
 * means the records no longer tell the whole story: read every device's
 * state from the kernel again. Any resync reason is announced so that
 * listeners re-read too.
 */
void vr_registry_check_lost(u64 ring_lost)
{
	u64 missed = vr_hooks_missed();
	enum vfio_release_resync_reason reason = vr_resync_reason;
	bool rescan = false;

	mutex_lock(&vr_registry_mutex);
	if (missed != vr_missed_seen) {
		reason = VFIO_RELEASE_RESYNC_PROBE_MISSED;
		rescan = true;
	} else if (ring_lost != vr_ring_lost_seen) {
		reason = VFIO_RELEASE_RESYNC_QUEUE_FULL;
		rescan = true;
	}
	vr_missed_seen = missed;
	vr_ring_lost_seen = ring_lost;
	vr_resync_reason = VFIO_RELEASE_RESYNC_UNSPEC;
	if (reason != VFIO_RELEASE_RESYNC_UNSPEC &&
	    vr_notify_resync(reason, missed + ring_lost, ++vr_seq))
		vr_resync_reason = VFIO_RELEASE_RESYNC_NO_MEMORY;
	mutex_unlock(&vr_registry_mutex);

	if (rescan)
		vr_scan_all();
}

void vr_registry_request_resync(enum vfio_release_resync_reason reason)
{
	mutex_lock(&vr_registry_mutex);
	vr_resync_reason = reason;
	mutex_unlock(&vr_registry_mutex);
}

void vr_registry_exit(void)
{
	struct vr_device *vd, *tmp;

	mutex_lock(&vr_registry_mutex);
	list_for_each_entry_safe(vd, tmp, &vr_devices, node)
		vr_untrack(vd);
	mutex_unlock(&vr_registry_mutex);
}
