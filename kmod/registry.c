// SPDX-License-Identifier: GPL-2.0
/*
 * The state machine of every watched device. Only the pipeline's worker
 * feeds it, in the order things happened; it hands each transition it
 * causes back to the caller and never announces anything itself.
 *
 * A device's public state follows from two facts: whether a device file
 * is live (open), and whether its IOMMU group is claimed for user DMA.
 * Every change of that state is a transition, whatever record caused it.
 */

#include <linux/device.h>
#include <linux/hashtable.h>
#include <linux/iommu.h>
#include <linux/jhash.h>
#include <linux/mutex.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/xarray.h>

#include "compat.h"
#include "registry.h"

#define VR_HASH_BITS 10

static DEFINE_MUTEX(vr_registry_mutex);
static DEFINE_HASHTABLE(vr_by_dev, VR_HASH_BITS);
static DEFINE_HASHTABLE(vr_by_name, VR_HASH_BITS);
static DEFINE_HASHTABLE(vr_by_cookie, VR_HASH_BITS);
static DEFINE_HASHTABLE(vr_groups, VR_HASH_BITS);
static DEFINE_HASHTABLE(vr_tombstones, VR_HASH_BITS);
static DEFINE_XARRAY(vr_by_registration);
static struct kmem_cache *vr_device_cache;

static u64 vr_instance;
static u64 vr_seq;
static u64 vr_registrations;
static unsigned int vr_layout = 1;
static u64 vr_scan_id;
static u64 vr_scan_first_ticket;
static bool vr_scanning;
/* A record could not be kept (no memory): the pipeline rescans. */
static bool vr_failed;
/* A group's claims or a device's holds became unknown: read them again. */
static bool vr_reread;
/* A file that may have held a device let go: read it soon. */
static bool vr_reread_soon;

/* A name's last generation, so that a new registration continues it. */
struct vr_tombstone {
	struct hlist_node node;
	u64 generation;
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];
};

struct vr_out {
	vr_announce_fn fn;
	void *arg;
};

static u32 vr_name_hash(const char *name)
{
	return jhash(name, strlen(name), 0);
}

static struct vr_device *vr_find_dev(const struct device *dev)
{
	struct vr_device *vd;

	hash_for_each_possible(vr_by_dev, vd, by_dev, (unsigned long)dev)
		if (vd->dev == dev)
			return vd;
	return NULL;
}

static bool vr_held(const struct vr_device *vd)
{
	unsigned int i;

	if (vd->holds_unsure)
		return true;
	for (i = 0; i < VR_HOLDS_MAX; i++)
		if (vd->holds[i])
			return true;
	return false;
}

static void vr_hold_unsure(struct vr_device *vd)
{
	vd->holds_unsure = true;
	vr_reread = true;
}

/* Release @id holds @vd until it returns; one too many is unsure. */
static void vr_hold(struct vr_device *vd, u64 id)
{
	unsigned int i;

	for (i = 0; i < VR_HOLDS_MAX; i++) {
		if (!vd->holds[i]) {
			vd->holds[i] = id;
			return;
		}
	}
	vr_hold_unsure(vd);
}

/* Whether release @id held @vd; it no longer does. */
static bool vr_unhold(struct vr_device *vd, u64 id)
{
	unsigned int i;

	for (i = 0; id && i < VR_HOLDS_MAX; i++) {
		if (vd->holds[i] == id) {
			vd->holds[i] = 0;
			return true;
		}
	}
	return false;
}

static struct vr_group *vr_group_get(u32 id, bool create)
{
	struct vr_group *g;

	hash_for_each_possible(vr_groups, g, node, id)
		if (g->id == id)
			return g;
	if (!create)
		return NULL;
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g) {
		vr_failed = true;
		return NULL;
	}
	g->id = id;
	INIT_LIST_HEAD(&g->devices);
	hash_add(vr_groups, &g->node, id);
	return g;
}

/* A group not read yet counts as claimed: released, never wrongly free. */
static bool vr_group_claimed(const struct vr_group *g)
{
	return g && (!g->known || g->claimed || g->device_claims);
}

/* A group nothing refers to and nothing claims is forgotten. */
static void vr_group_put(struct vr_group *g)
{
	if (g && list_empty(&g->devices) && g->known && !vr_group_claimed(g)) {
		hash_del(&g->node);
		kfree(g);
	}
}

static struct vr_tombstone *vr_tombstone_find(const char *name)
{
	struct vr_tombstone *t;

	hash_for_each_possible(vr_tombstones, t, node, vr_name_hash(name))
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

static void vr_emit(struct vr_out *out, struct vr_transition *t)
{
	t->seq = ++vr_seq;
	out->fn(t, out->arg);
}

static void vr_emit_device(struct vr_out *out, struct vr_device *vd,
			   enum vfio_release_cmd cmd)
{
	struct vr_transition t = { .cmd = cmd, .vd = vd };

	vd->seq = vr_seq + 1;
	vr_emit(out, &t);
}

static enum vfio_release_state vr_state_now(const struct vr_device *vd)
{
	if (!vd->open_known || vd->stale || vd->group_lost ||
	    (vd->group && !vd->group->known))
		return VFIO_RELEASE_STATE_UNKNOWN;
	if (vd->open)
		return VFIO_RELEASE_STATE_OPEN;
	return vr_held(vd) || vr_group_claimed(vd->group) ?
	       VFIO_RELEASE_STATE_RELEASED : VFIO_RELEASE_STATE_FREE;
}

/* Announces the device's way from its last announced state to its own. */
static void vr_settle(struct vr_out *out, struct vr_device *vd, u64 now)
{
	enum vfio_release_state next = vr_state_now(vd);

	if (next == vd->state || next == VFIO_RELEASE_STATE_UNKNOWN)
		return;
	vd->timestamp_ns = now;
	if (vd->quiet) {
		/* A device first seen by a scan: its first state, no event. */
		vd->quiet = false;
		vd->state = next;
		return;
	}
	if (vd->state == VFIO_RELEASE_STATE_UNKNOWN) {
		/* Known now: its state is announced, but nothing is counted. */
		enum vfio_release_cmd cmd = VFIO_RELEASE_CMD_DEVICE_RELEASED;

		if (next == VFIO_RELEASE_STATE_OPEN) {
			cmd = VFIO_RELEASE_CMD_DEVICE_OPENED;
			vd->opens += vd->has_opener;	/* an open seen happening */
		} else if (next == VFIO_RELEASE_STATE_FREE) {
			cmd = VFIO_RELEASE_CMD_DEVICE_FREE;
		}
		vd->state = next;
		vr_emit_device(out, vd, cmd);
		return;
	}
	if (next == VFIO_RELEASE_STATE_OPEN) {
		vd->state = next;
		vd->opens++;
		vr_emit_device(out, vd, VFIO_RELEASE_CMD_DEVICE_OPENED);
		return;
	}
	if (vd->state != VFIO_RELEASE_STATE_RELEASED) {
		/* Releases go through vr_set_released(): this is a claim. */
		vd->state = VFIO_RELEASE_STATE_RELEASED;
		vr_emit_device(out, vd, VFIO_RELEASE_CMD_DEVICE_CLAIMED);
	}
	if (next == VFIO_RELEASE_STATE_FREE) {
		vd->state = next;
		vd->frees++;
		vr_emit_device(out, vd, VFIO_RELEASE_CMD_DEVICE_FREE);
	}
}

/*
 * After a group's claims changed or were first read: its own event when
 * @announce (a record, or a reading that contradicts what was known), and
 * its devices' transitions.
 */
static void vr_group_settle(struct vr_out *out, struct vr_group *g,
			    bool was_known, bool was_claimed, bool announce,
			    u64 now)
{
	struct vr_transition t = { .group = g->id, .timestamp_ns = now };
	bool claimed = vr_group_claimed(g);
	struct vr_device *vd;

	if (was_known && claimed == was_claimed)
		return;
	if (announce) {
		t.cmd = claimed ? VFIO_RELEASE_CMD_GROUP_CLAIMED :
				  VFIO_RELEASE_CMD_GROUP_RELEASED;
		vr_emit(out, &t);
	}
	list_for_each_entry(vd, &g->devices, group_node)
		vr_settle(out, vd, now);
	vr_group_put(g);
}

static void vr_track_group(struct vr_device *vd)
{
	struct iommu_group *group = iommu_group_get(vd->dev);

	if (!group)
		return;
	vd->group = vr_group_get(iommu_group_id(group), true);
	iommu_group_put(group);
	if (vd->group)
		list_add_tail(&vd->group_node, &vd->group->devices);
	else
		vd->group_lost = true;	/* no memory: never reported free */
}

/* Seen live by the running scan, or by a record that came after it began. */
static void vr_touch(struct vr_device *vd, u64 ticket)
{
	if (vr_scanning && ticket >= vr_scan_first_ticket)
		vd->touched = vr_scan_id;
}

static void vr_retrack_group(struct vr_device *vd)
{
	vd->group_lost = false;
	vr_track_group(vd);
}

static struct vr_device *vr_track(struct device *dev, const void *cookie,
				  const char *driver, u64 ticket)
{
	struct vr_tombstone *tomb;
	struct vr_device *vd;

	vd = kmem_cache_zalloc(vr_device_cache, GFP_KERNEL);
	if (!vd) {
		vr_failed = true;
		return NULL;
	}
	vd->registration = ++vr_registrations;
	if (xa_err(xa_store(&vr_by_registration, vd->registration, vd,
			    GFP_KERNEL))) {
		kmem_cache_free(vr_device_cache, vd);
		vr_failed = true;
		return NULL;
	}
	vd->dev = get_device(dev);
	vd->cookie = cookie;
	vr_touch(vd, ticket);
	strscpy(vd->name, dev_name(dev), sizeof(vd->name));
	strscpy(vd->driver, driver, sizeof(vd->driver));
	tomb = vr_tombstone_find(vd->name);
	if (tomb)
		vd->generation = tomb->generation;
	INIT_LIST_HEAD(&vd->group_node);
	vr_track_group(vd);
	hash_add(vr_by_dev, &vd->by_dev, (unsigned long)dev);
	hash_add(vr_by_name, &vd->by_name, vr_name_hash(vd->name));
	hash_add(vr_by_cookie, &vd->by_cookie, (unsigned long)cookie);
	vd->refs_unread = VR_IOMMUFD_PATH;
	vr_layout++;
	return vd;
}

static void vr_remember_generation(const struct vr_device *vd)
{
	struct vr_tombstone *tomb = vr_tombstone_find(vd->name);

	if (!tomb) {
		tomb = kzalloc(sizeof(*tomb), GFP_KERNEL);
		if (!tomb)
			return;
		strscpy(tomb->name, vd->name, sizeof(tomb->name));
		hash_add(vr_tombstones, &tomb->node, vr_name_hash(tomb->name));
	}
	tomb->generation = vd->generation;
}

static void vr_untrack(struct vr_device *vd)
{
	struct vr_group *g = vd->group;

	xa_erase(&vr_by_registration, vd->registration);
	hash_del(&vd->by_dev);
	hash_del(&vd->by_name);
	hash_del(&vd->by_cookie);
	list_del(&vd->group_node);
	vr_group_put(g);
	put_device(vd->dev);
	kmem_cache_free(vr_device_cache, vd);
	vr_layout++;
}

/* Last word about a registration: its record as it stood, then gone. */
static void vr_remove(struct vr_out *out, struct vr_device *vd)
{
	vr_remember_generation(vd);
	vr_emit_device(out, vd, VFIO_RELEASE_CMD_DEVICE_REMOVED);
	vr_untrack(vd);
}

static void vr_set_opened(struct vr_device *vd, const struct vr_record *rec)
{
	vd->open_known = true;
	vd->open = true;
	if (rec) {
		vd->has_opener = true;
		vd->opener_pid = rec->pid;
		strscpy(vd->opener_comm, rec->comm, sizeof(vd->opener_comm));
	}
}

/*
 * A release seen by its hook carries the close's figures; one found by a
 * scan (its record was lost) is reported with an unknown reset.
 */
static void vr_set_released(struct vr_out *out, struct vr_device *vd,
			    const struct vr_record *rec, u64 now)
{
	vd->open_known = true;
	vd->open = false;
	vd->has_opener = false;
	vd->generation++;
	vd->releases++;
	vd->reset = rec ? rec->reset : VFIO_RELEASE_RESET_UNKNOWN;
	vd->close_ns = rec ? rec->close_ns : 0;
	vd->pid = rec ? rec->pid : 0;
	strscpy(vd->comm, rec ? rec->comm : "", sizeof(vd->comm));
	vd->timestamp_ns = now;
	vd->state = VFIO_RELEASE_STATE_RELEASED;
	vr_emit_device(out, vd, VFIO_RELEASE_CMD_DEVICE_RELEASED);
}

/*
 * The release of one of a device's files returned (the iommufd path). If
 * it gave the device's DMA back, its file no longer holds the device; if
 * a file no record names may, a reading says whether this was the last.
 */
static void vr_file_released_by(struct vr_out *out, const struct vr_record *rec,
				const void *cookie)
{
	struct vr_device *vd;
	bool named;

	if (!cookie)
		return;
	/*
	 * A device left over from a lost unregistration can share the
	 * cookie with a new one until the rescan removes it; release ids
	 * are unique, so every match may be unheld.
	 */
	hash_for_each_possible(vr_by_cookie, vd, by_cookie, (unsigned long)cookie) {
		if (vd->cookie != cookie)
			continue;
		named = vr_unhold(vd, rec->release);
		if (vd->holds_unsure)
			vr_reread_soon = true;
		else if (!named)
			continue;
		vr_settle(out, vd, rec->timestamp_ns);
	}
}

static void vr_file_released(struct vr_out *out, const struct vr_record *rec)
{
	vr_file_released_by(out, rec, rec->registration);
	vr_file_released_by(out, rec, rec->registration_alt);
}

/*
 * The iommufd path gave a device's DMA back. In a release that ran the
 * device's last close, that release's file holds the device until the
 * release returns, and so may another file that held it then. Anywhere
 * else (a release not followed, a failed bind, an iommufd's destroy) a
 * file may hold it that no record names. A device not known is looked
 * for in its group: any of them not open may be held.
 */
static void vr_dma_released(struct vr_group *g, const struct vr_record *rec)
{
	struct vr_device *vd = rec->dev ? vr_find_dev(rec->dev) : NULL;

	if (vd && vd->group == g &&
	    (!rec->registration || vd->cookie == rec->registration)) {
		if (rec->release)
			vr_hold(vd, rec->release);
		if (!rec->release || rec->other_files)
			vr_hold_unsure(vd);
		return;
	}
	list_for_each_entry(vd, &g->devices, group_node)
		if (!vd->open_known || !vd->open)
			vr_hold_unsure(vd);
}

static void vr_apply_group(struct vr_out *out, const struct vr_record *rec)
{
	bool claim = rec->kind == VR_REC_GROUP_CLAIMED ||
		     rec->kind == VR_REC_DMA_CLAIMED;
	struct vr_group *g = vr_group_get(rec->group, claim);
	bool was_known, was;

	if (!g)
		return;
	if (rec->kind == VR_REC_DMA_RELEASED)
		vr_dma_released(g, rec);
	was_known = g->known;
	was = vr_group_claimed(g);
	switch (rec->kind) {
	case VR_REC_GROUP_CLAIMED:
		g->claimed = true;
		g->known = true;
		break;
	case VR_REC_GROUP_RELEASED:
		/* The group path gives every claim back at once. */
		g->claimed = false;
		g->device_claims = 0;
		g->count_unknown = false;
		g->known = true;
		break;
	case VR_REC_DMA_CLAIMED:
		/* Claimed for sure; counted only from a known count. */
		g->device_claims++;
		g->known |= !was;
		break;
	default:
		if (g->device_claims)
			g->device_claims--;
		if (g->count_unknown || !g->known) {
			/* Whether others remain is the kernel's to say. */
			g->known = false;
			g->count_unknown = false;
			vr_reread = true;
		}
		break;
	}
	vr_group_settle(out, g, was_known, was, g->known, rec->timestamp_ns);
}

/* A record may name a device registered before the module loaded. */
static struct vr_device *vr_device_of(struct vr_out *out,
				      const struct vr_record *rec)
{
	struct vr_device *vd = vr_find_dev(rec->dev);

	if (vd && rec->registration && vd->cookie != rec->registration) {
		/* Unregistered and registered again, both records lost. */
		vr_remove(out, vd);
		vd = NULL;
	}
	if (!vd) {
		vd = vr_track(rec->dev, rec->registration, rec->driver,
			      rec->ticket);
		/* Whether a file holds it is for a reading to say. */
		if (vd && vd->refs_unread)
			vr_reread = true;
	}
	return vd;
}

static void vr_snapshot_group(struct vr_out *out, struct vr_group *g,
			      bool claimed, u64 now);

/* A new registration starts closed; a scan may have seen it already. */
static void vr_register(struct vr_out *out, const struct vr_record *rec)
{
	struct vr_device *vd = vr_find_dev(rec->dev);

	if (vd && vd->cookie == rec->registration) {
		vr_touch(vd, rec->ticket);
		return;
	}
	if (vd)
		vr_remove(out, vd);
	vd = vr_track(rec->dev, rec->registration, rec->driver, rec->ticket);
	if (!vd)
		return;
	vd->refs_unread = false;	/* registered just now: no file yet */
	vd->open_known = true;
	vd->state = vr_state_now(vd);	/* its first state: no event */
	vd->timestamp_ns = rec->timestamp_ns;
	if (vd->group && !vd->group->known && rec->group_read) {
		vd->quiet = true;
		vr_snapshot_group(out, vd->group, rec->group_claimed,
				  rec->timestamp_ns);
		vd->quiet = false;
	}
}

void vr_registry_apply(const struct vr_record *rec, vr_announce_fn announce,
		       void *arg)
{
	struct vr_out out = { announce, arg };
	struct vr_device *vd;

	mutex_lock(&vr_registry_mutex);
	switch (rec->kind) {
	case VR_REC_GROUP_CLAIMED:
	case VR_REC_GROUP_RELEASED:
	case VR_REC_DMA_CLAIMED:
	case VR_REC_DMA_RELEASED:
		vr_apply_group(&out, rec);
		goto out;
	case VR_REC_REARMED:
		goto out;
	case VR_REC_FILE_RELEASED:
		vr_file_released(&out, rec);
		goto out;
	case VR_REC_REGISTERED:
		vr_register(&out, rec);
		goto out;
	case VR_REC_UNREGISTERED:
	case VR_REC_BUS_RESET:
		vd = vr_find_dev(rec->dev);
		if (!vd)
			goto out;	/* nothing to forget or to reset */
		break;
	default:
		vd = vr_device_of(&out, rec);
		if (!vd)
			goto out;
		break;
	}
	vr_touch(vd, rec->ticket);
	vd->quiet = false;	/* seen happening: announced */
	if (rec->kind == VR_REC_OPENED || rec->kind == VR_REC_RELEASED)
		vd->stale = false;

	switch (rec->kind) {
	case VR_REC_OPENED:
		vr_set_opened(vd, rec);
		break;
	case VR_REC_RELEASED:
		vr_set_released(&out, vd, rec, rec->timestamp_ns);
		break;
	case VR_REC_BUS_RESET:
		if (vd->reset == VFIO_RELEASE_RESET_BUS_PENDING) {
			vd->reset = VFIO_RELEASE_RESET_BUS;
			vr_emit_device(&out, vd, VFIO_RELEASE_CMD_DEVICE_RESET);
		}
		break;
	case VR_REC_UNREGISTERED:
		vr_remove(&out, vd);
		goto out;
	default:
		break;
	}
	vr_settle(&out, vd, rec->timestamp_ns);
out:
	mutex_unlock(&vr_registry_mutex);
}

void vr_registry_begin_scan(u64 first_ticket)
{
	mutex_lock(&vr_registry_mutex);
	vr_scan_id++;
	vr_scan_first_ticket = first_ticket;
	vr_scanning = true;
	mutex_unlock(&vr_registry_mutex);
}

/*
 * The group's claims as the kernel counts them. A snapshot cannot tell
 * the group path from the device path: it keeps the counts when they agree
 * with it, and otherwise takes it as one group-path claim.
 */
static void vr_snapshot_group(struct vr_out *out, struct vr_group *g,
			      bool claimed, u64 now)
{
	bool was_known = g->known, was = vr_group_claimed(g);

	if (was_known && claimed == was)
		return;
	g->known = true;
	g->claimed = claimed;
	g->device_claims = 0;
	g->count_unknown = claimed;
	vr_group_settle(out, g, was_known, was, was_known, now);
}

/*
 * A busy snapshot (its device set was locked) has the group but not the
 * open count: a new device is unknown until read; a known one, after a
 * loss, is unknown too, since records about it may be gone.
 */
void vr_registry_apply_snapshot(const struct vr_snapshot *snap, bool after_loss,
				vr_announce_fn announce, void *arg)
{
	struct vr_out out = { announce, arg };
	struct vr_device *vd;

	mutex_lock(&vr_registry_mutex);
	vd = vr_find_dev(snap->dev);
	if (vd && vd->cookie != snap->registration) {
		vr_remove(&out, vd);
		vd = NULL;
	}
	if (!vd) {
		vd = vr_track(snap->dev, snap->registration, snap->driver,
			      snap->ticket);
		if (!vd)
			goto out;
		vd->timestamp_ns = snap->timestamp_ns;
		/* Settled right here: its first state, no event. */
		vd->quiet = !snap->busy;
	}
	vd->touched = vr_scan_id;
	if (vd->group_lost)
		vr_retrack_group(vd);
	/*
	 * The end of a release that holds it may be among the records lost,
	 * and so may the start of one no record will name.
	 */
	if (after_loss) {
		if (vr_held(vd))
			vd->holds_unsure = true;
		vd->refs_unread = VR_IOMMUFD_PATH;
	}
	if (vd->group && snap->has_group)
		vr_snapshot_group(&out, vd->group, snap->group_claimed,
				  snap->timestamp_ns);
	if (snap->busy) {
		if (after_loss && vd->open_known) {
			vd->stale = true;
			vd->has_opener = false;
			vd->state = VFIO_RELEASE_STATE_UNKNOWN;
		}
		goto out;
	}
	vd->stale = false;
	/*
	 * No file holds the device: every hold ended. A file that holds a
	 * device not open, first read, may be in a release no record names
	 * (not followed, or running at load).
	 */
	if (!snap->file_refs) {
		memset(vd->holds, 0, sizeof(vd->holds));
		vd->holds_unsure = false;
	} else if (vd->refs_unread && !snap->open) {
		vd->holds_unsure = true;
	}
	vd->refs_unread = false;
	if (!vd->open_known) {
		vd->open_known = true;
		vd->open = snap->open;
		vd->has_opener = false;
	} else if (snap->open && !vd->open) {
		vr_set_opened(vd, NULL);
		vd->has_opener = false;
	} else if (!snap->open && vd->open) {
		vr_set_released(&out, vd, NULL, snap->timestamp_ns);
	}
	vr_settle(&out, vd, snap->timestamp_ns);
out:
	mutex_unlock(&vr_registry_mutex);
}

/*
 * A device whose driver is letting go: 6.12 deletes the vfio device, which
 * a scan then cannot see, before unregistration waits for the users.
 */
static bool vr_unbinding(const struct device *dev)
{
	return READ_ONCE(dev->links.status) == DL_DEV_UNBINDING &&
	       READ_ONCE(dev->driver);
}

/*
 * What the scan did not find, and no later record named, is gone. Returns
 * whether some device or group still needs a reading.
 */
bool vr_registry_end_scan(vr_announce_fn announce, void *arg)
{
	struct vr_out out = { announce, arg };
	struct vr_device *vd;
	struct hlist_node *tmp;
	bool unsettled = false;
	int bkt;

	mutex_lock(&vr_registry_mutex);
	hash_for_each_safe(vr_by_dev, bkt, tmp, vd, by_dev) {
		if (vd->touched != vr_scan_id) {
			if (((vd->open_known && vd->open) || vr_held(vd)) &&
			    vr_unbinding(vd->dev)) {
				unsettled = true;
				continue;
			}
			vr_remove(&out, vd);
			continue;
		}
		/* What the scan's readings made known, announced. */
		vr_settle(&out, vd, ktime_get_ns());
		unsettled |= !vd->open_known || vd->stale || vd->group_lost ||
			     (vd->holds_unsure && !vd->open) || vd->refs_unread ||
			     (vd->group && !vd->group->known);
	}
	vr_scanning = false;
	mutex_unlock(&vr_registry_mutex);
	return unsettled;
}

/* A scan that could not run: nothing is removed for it. */
void vr_registry_end_scan_aborted(void)
{
	mutex_lock(&vr_registry_mutex);
	vr_scanning = false;
	mutex_unlock(&vr_registry_mutex);
}

void vr_registry_resync(enum vfio_release_resync_reason reason, u64 lost,
			vr_announce_fn announce, void *arg)
{
	struct vr_out out = { announce, arg };
	struct vr_transition t = {
		.cmd = VFIO_RELEASE_CMD_RESYNC,
		.reason = reason,
		.lost = lost,
		.timestamp_ns = ktime_get_ns(),
	};

	mutex_lock(&vr_registry_mutex);
	vr_emit(&out, &t);
	mutex_unlock(&vr_registry_mutex);
}

/* Reads and clears one of the flags the pipeline asks about. */
static bool vr_take(bool *flag)
{
	bool was;

	mutex_lock(&vr_registry_mutex);
	was = *flag;
	*flag = false;
	mutex_unlock(&vr_registry_mutex);
	return was;
}

bool vr_registry_take_reread(void)
{
	return vr_take(&vr_reread);
}

bool vr_registry_take_reread_soon(void)
{
	return vr_take(&vr_reread_soon);
}

bool vr_registry_take_failure(void)
{
	return vr_take(&vr_failed);
}

void vr_registry_lock(void)
{
	mutex_lock(&vr_registry_mutex);
}

void vr_registry_unlock(void)
{
	mutex_unlock(&vr_registry_mutex);
}

/* The newest registration of that name. */
const struct vr_device *vr_registry_find(const char *name)
{
	struct vr_device *vd, *found = NULL;

	hash_for_each_possible(vr_by_name, vd, by_name, vr_name_hash(name))
		if (!strcmp(vd->name, name) &&
		    (!found || vd->registration > found->registration))
			found = vd;
	return found;
}

const struct vr_device *vr_registry_next(u64 registration)
{
	unsigned long index = registration + 1;

	return xa_find(&vr_by_registration, &index, ULONG_MAX, XA_PRESENT);
}

unsigned int vr_registry_layout(void)
{
	return vr_layout;
}

u64 vr_registry_instance(void)
{
	return vr_instance;
}

int vr_registry_init(void)
{
	vr_device_cache = kmem_cache_create("vfio_release_device",
					    sizeof(struct vr_device), 0, 0,
					    NULL);
	if (!vr_device_cache)
		return -ENOMEM;
	do {
		vr_instance = get_random_u64();
	} while (!vr_instance);
	return 0;
}

void vr_registry_exit(void)
{
	struct vr_tombstone *tomb;
	struct hlist_node *tmp;
	struct vr_device *vd;
	struct vr_group *g;
	int bkt;

	mutex_lock(&vr_registry_mutex);
	hash_for_each_safe(vr_by_dev, bkt, tmp, vd, by_dev)
		vr_untrack(vd);
	hash_for_each_safe(vr_groups, bkt, tmp, g, node) {
		hash_del(&g->node);
		kfree(g);
	}
	hash_for_each_safe(vr_tombstones, bkt, tmp, tomb, node) {
		hash_del(&tomb->node);
		kfree(tomb);
	}
	mutex_unlock(&vr_registry_mutex);
	xa_destroy(&vr_by_registration);
	kmem_cache_destroy(vr_device_cache);
}
