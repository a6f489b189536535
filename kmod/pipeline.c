// SPDX-License-Identifier: GPL-2.0
/*
 * probes -> queue -> pipeline -> registry -> (events, uevents)
 *
 * Records are applied in ticket order. When records were lost (a full
 * ring, a missed probe, no memory) or hooks were re-armed, the worker
 * reads every device from the kernel and merges those snapshots with the
 * records by ticket, then announces one RESYNC. A scan never goes through
 * the ring, so it cannot cause the loss it repairs.
 */

#include <linux/device.h>
#include <linux/ratelimit.h>
#include <linux/workqueue.h>

#include "../uapi/linux/vfio_release.h"
#include "compat.h"
#include "events.h"
#include "hooks.h"
#include "pipeline.h"
#include "probes.h"
#include "queue.h"
#include "registry.h"
#include "scan.h"
#include "uevent.h"

static struct workqueue_struct *vr_wq;
static void vr_work_fn(struct work_struct *work);
static DECLARE_WORK(vr_work, vr_work_fn);

/*
 * A missed probe pushes nothing, so nothing would run the worker to notice
 * it. Misses happen while hooked calls are in flight, and those end with
 * records: a second after each batch, look at the miss counters once more.
 * With no activity there is no timer at all.
 */
static void vr_miss_watch_fn(struct work_struct *work);
static DECLARE_DEFERRABLE_WORK(vr_miss_watch, vr_miss_watch_fn);
/* A rescan put off must not wait for an idle CPU to wake. */
static void vr_retry_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(vr_retry, vr_retry_fn);
static bool vr_stopping;

/*
 * Worker state. A rescan is due after a loss (announced by a RESYNC, and
 * readers wait for it), or to finish reading devices a scan found busy or
 * knows only in part (quiet, readers do not wait, backing off).
 */
static bool vr_rescan = true;	/* the first run reads every device */
static enum vfio_release_resync_reason vr_reason;
static bool vr_unsettled;	/* some device needs a quiet reading */
static bool vr_read_soon;	/* ... and the next one comes soon */
static bool vr_retry_soon;	/* the retry runs within VR_RETRY_MIN */
static bool vr_retry_due;
static unsigned long vr_retry_delay;
static u64 vr_missed_seen, vr_lost_seen;
static u64 vr_applied_ticket;	/* tickets below it are applied */
static bool vr_undelivered;
/* The record popped while the snapshots before it are applied. */
static const struct vr_record *vr_in_hand;

#define VR_RETRY_MIN (HZ / 10)
#define VR_RETRY_MAX (10 * HZ)
/* Records applied between two reports of progress to readers. */
#define VR_BATCH 64

static bool vr_leaving(const struct device *dev)
{
	return (vr_in_hand && vr_in_hand->kind == VR_REC_UNREGISTERED &&
		vr_in_hand->dev == dev) || vr_queue_has_unregister(dev);
}

static void vr_announce(const struct vr_transition *t, void *arg)
{
	const struct vr_device *vd = t->vd;
	int ret;

	/*
	 * A listener whose socket overflowed learns it from its socket
	 * (ENOBUFS); a message never built reached nobody: resync them all.
	 */
	ret = vr_events_send(t);
	if (ret == -ENOMEM || ret == -EMSGSIZE)
		vr_undelivered = true;
	/* Not for a device on its way out: its path may be cut short. */
	if (!vd || t->cmd == VFIO_RELEASE_CMD_DEVICE_REMOVED ||
	    !device_is_registered(vd->dev) || vr_leaving(vd->dev))
		return;
	if (vr_uevent_send(t->cmd, vd))
		dev_warn_ratelimited(vd->dev, "could not send a uevent\n");
}

/*
 * A close not timed says why. Each release the hook missed, or that found
 * no free slot, explains one untimed close: while such are left, a
 * (ratelimited) warning with the counts. A close in a release whose key
 * was not its device's means compat.h read the file wrong: said once.
 * Otherwise no release was lost: most likely the close ran in an open
 * that failed after open_device(), outside any release (a user can cause
 * that on purpose), a debug message only. (A missed release that was not
 * the last one leaves no untimed close: a later failed open may then be
 * warned of instead.)
 */
static void vr_warn_untimed(const struct vr_record *rec)
{
	static DEFINE_RATELIMIT_STATE(rs, DEFAULT_RATELIMIT_INTERVAL,
				      DEFAULT_RATELIMIT_BURST);
	static u64 seen_lost, seen_mismatch;
	struct vr_probe_stats st;
	u64 missed;

	vr_probes_stats(&st);
	if (st.key_mismatch != seen_mismatch) {
		seen_mismatch = st.key_mismatch;
		pr_warn_once("a close found its task's release but not its device: this kernel's file layout is not the one kmod/compat.h reads; closes are not timed\n");
		return;
	}
	missed = vr_hooks_timing_missed();
	if (missed + st.no_slot <= seen_lost) {
		dev_dbg_ratelimited(rec->dev, "close not timed (close_ns 0): probably in a failed open, outside any release\n");
		return;
	}
	seen_lost++;
	if (!__ratelimit(&rs))
		return;
	dev_warn(rec->dev,
		 "close not timed (close_ns 0): the start of its release was not seen; vfio_device_fops_release missed %llu, releases with no free slot %llu, releases with a slot now %u, closes not timed %llu\n",
		 missed, st.no_slot, st.in_use, st.untimed);
}

static void vr_apply_record(struct vr_record *rec)
{
	if (rec->kind == VR_REC_RELEASED && rec->untimed)
		vr_warn_untimed(rec);
	if (rec->kind == VR_REC_REARMED) {
		vr_rescan = true;
		vr_reason = VFIO_RELEASE_RESYNC_REARMED;
	}
	/* A new registration's first state needs its group's. */
	if (rec->kind == VR_REC_REGISTERED)
		rec->group_read = vr_scan_group(rec->dev, &rec->group_claimed);
	vr_registry_apply(rec, vr_announce, NULL);
	vr_applied_ticket = rec->ticket + 1;
	vr_queue_drop(rec);
}

/*
 * The probe hits that lost records. On the iommufd path a release that
 * found no slot cannot say when its file lets go of the device: that is
 * one too.
 */
static u64 vr_missed_now(void)
{
	struct vr_probe_stats st;
	u64 missed = vr_hooks_missed();

	if (VR_IOMMUFD_PATH) {
		vr_probes_stats(&st);
		missed += st.no_slot;
	}
	return missed;
}

static void vr_note_losses(void)
{
	u64 missed = vr_missed_now(), lost = vr_queue_lost();

	if (missed != vr_missed_seen) {
		vr_missed_seen = missed;
		vr_rescan = true;
		vr_reason = VFIO_RELEASE_RESYNC_PROBE_MISSED;
	}
	if (lost != vr_lost_seen) {
		vr_lost_seen = lost;
		vr_rescan = true;
		vr_reason = VFIO_RELEASE_RESYNC_QUEUE_FULL;
	}
	if (vr_registry_take_failure()) {
		vr_rescan = true;
		vr_reason = VFIO_RELEASE_RESYNC_NO_MEMORY;
	}
	if (vr_registry_take_reread())
		vr_unsettled = true;
	if (vr_registry_take_reread_soon()) {
		vr_unsettled = true;
		vr_read_soon = true;
	}
}

static void vr_apply_snapshot(const struct vr_snapshot *snap, bool after_loss)
{
	vr_registry_apply_snapshot(snap, after_loss, vr_announce, NULL);
}

/* Snapshots and records, merged by ticket. */
static void vr_rescan_all(void)
{
	enum vfio_release_resync_reason reason = vr_reason;
	bool after_loss = reason != VFIO_RELEASE_RESYNC_UNSPEC;
	struct vr_record rec;
	struct vr_scan scan;
	unsigned int i = 0;

	vr_registry_begin_scan(vr_queue_ticket());
	if (vr_scan_all(&scan)) {
		/* Nothing is removed, the reason stays: read again later. */
		vr_registry_end_scan_aborted();
		vr_retry_due = true;
		return;
	}
	vr_rescan = false;
	vr_reason = VFIO_RELEASE_RESYNC_UNSPEC;
	while (i < scan.count) {
		if (!vr_queue_pop(&rec)) {
			vr_apply_snapshot(&scan.snaps[i++], after_loss);
			continue;
		}
		vr_in_hand = &rec;
		while (i < scan.count && scan.snaps[i].ticket <= rec.ticket)
			vr_apply_snapshot(&scan.snaps[i++], after_loss);
		vr_in_hand = NULL;
		vr_apply_record(&rec);
	}
	/* Every record before the scan must be in before absence counts. */
	while (!vr_rescan && vr_queue_pop(&rec))
		vr_apply_record(&rec);
	if (!vr_rescan)
		vr_unsettled = vr_registry_end_scan(vr_announce, NULL);
	else
		vr_registry_end_scan_aborted();
	vr_scan_free(&scan);
	if (reason != VFIO_RELEASE_RESYNC_UNSPEC)
		vr_registry_resync(reason, vr_missed_seen + vr_lost_seen,
				   vr_announce, NULL);
}

/* Applies up to a batch of records; whether there were any. */
static bool vr_apply_batch(void)
{
	struct vr_record rec;
	unsigned int n = 0;

	while (n < VR_BATCH && !vr_rescan && vr_queue_pop(&rec)) {
		vr_apply_record(&rec);
		n++;
	}
	return n;
}

/* Rescans one run may do; more wait for the retry timer (no busy loop). */
#define VR_RESCANS_PER_RUN 2

/*
 * Brings the retry forward to VR_RETRY_MIN from now, at most: never
 * pushed back, or a stream of records would starve it.
 */
static void vr_retry_within_min(void)
{
	if (vr_retry_soon)
		return;
	vr_retry_soon = true;
	mod_delayed_work(vr_wq, &vr_retry, VR_RETRY_MIN);
}

static void vr_work_fn(struct work_struct *work)
{
	unsigned int rescans = 0;

	for (;;) {
		vr_note_losses();
		if (vr_rescan && !vr_retry_due) {
			vr_queue_set_applied(vr_applied_ticket, true);
			if (rescans++ == VR_RESCANS_PER_RUN) {
				vr_retry_due = true;
				break;
			}
			vr_rescan_all();
			continue;
		}
		if (!vr_apply_batch())
			break;
		/* Readers whose records are in go on while others arrive. */
		vr_queue_set_applied(vr_applied_ticket, vr_rescan);
	}
	if (vr_undelivered) {
		vr_registry_resync(VFIO_RELEASE_RESYNC_NO_MEMORY,
				   vr_missed_seen + vr_lost_seen, vr_announce,
				   NULL);
		/* Not retried if it is lost too: a later one will tell. */
		vr_undelivered = false;
	}
	/* Readers wait for lost records to be read again, not for busy sets. */
	vr_queue_set_applied(vr_applied_ticket, vr_rescan);
	if (READ_ONCE(vr_stopping))
		return;
	if (vr_rescan && vr_reason != VFIO_RELEASE_RESYNC_UNSPEC) {
		/* After a loss: soon, even if a quiet re-read waits longer. */
		vr_retry_within_min();
	} else if (vr_read_soon) {
		/* A file let go of a device that may be free now. */
		vr_retry_delay = VR_RETRY_MIN;
		vr_retry_within_min();
	} else if (vr_rescan || vr_unsettled) {
		/* Never pushed back by later runs: queue, not mod. */
		if (!vr_retry_delay)
			vr_retry_delay = VR_RETRY_MIN;
		queue_delayed_work(vr_wq, &vr_retry, vr_retry_delay);
	} else {
		vr_retry_delay = 0;
		mod_delayed_work(vr_wq, &vr_miss_watch, HZ);
	}
}

static void vr_retry_fn(struct work_struct *work)
{
	vr_retry_due = false;
	vr_retry_soon = false;
	vr_read_soon = false;
	if (vr_unsettled && !vr_rescan) {
		/* A quiet reading; each one that leaves some unread waits more. */
		vr_rescan = true;
		vr_retry_delay = min(2 * vr_retry_delay, (unsigned long)VR_RETRY_MAX);
	}
	queue_work(vr_wq, &vr_work);
}

static void vr_miss_watch_fn(struct work_struct *work)
{
	if (vr_missed_now() != vr_missed_seen)
		queue_work(vr_wq, &vr_work);
}

int vr_pipeline_init(void)
{
	vr_wq = alloc_ordered_workqueue("vfio_release", WQ_HIGHPRI);
	if (!vr_wq)
		return -ENOMEM;
	vr_queue_init(vr_wq, &vr_work);
	return 0;
}

void vr_pipeline_start(void)
{
	queue_work(vr_wq, &vr_work);
}

void vr_pipeline_exit(void)
{
	WRITE_ONCE(vr_stopping, true);
	cancel_delayed_work_sync(&vr_miss_watch);
	cancel_delayed_work_sync(&vr_retry);
	flush_work(&vr_work);
	cancel_delayed_work_sync(&vr_miss_watch);
	cancel_delayed_work_sync(&vr_retry);
	destroy_workqueue(vr_wq);
	/*
	 * Readers stop waiting. A run cut short by its rescan limit may have
	 * left records: they are dropped, and the module is going anyway.
	 */
	vr_queue_stop();
}
