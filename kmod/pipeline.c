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
#include <linux/workqueue.h>

#include "../uapi/linux/vfio_release.h"
#include "events.h"
#include "hooks.h"
#include "pipeline.h"
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
/* A rescan put off (see VR_RESCANS_PER_RUN) must not wait for an idle CPU. */
static DECLARE_DELAYED_WORK(vr_rescan_retry, vr_miss_watch_fn);
static bool vr_stopping;

/* Worker state. */
static bool vr_rescan = true;	/* the first run reads every device */
/* The last scan found devices busy: read again after a pause, quietly. */
static bool vr_busy_retry;
static bool vr_busy_wait;
static enum vfio_release_resync_reason vr_reason;
static u64 vr_missed_seen, vr_lost_seen;
static u64 vr_applied_ticket;	/* tickets below it are applied */
static bool vr_undelivered;

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
	    !device_is_registered(vd->dev) ||
	    vr_queue_has_unregister(vd->dev))
		return;
	if (vr_uevent_send(t->cmd, vd))
		dev_warn_ratelimited(vd->dev, "could not send a uevent\n");
}

static void vr_apply_record(struct vr_record *rec)
{
	if (rec->kind == VR_REC_REARMED && !vr_rescan) {
		vr_rescan = true;
		vr_reason = VFIO_RELEASE_RESYNC_REARMED;
	}
	vr_registry_apply(rec, vr_announce, NULL);
	vr_applied_ticket = rec->ticket + 1;
	vr_queue_drop(rec);
}

static void vr_note_losses(void)
{
	u64 missed = vr_hooks_missed(), lost = vr_queue_lost();

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
}

/* Snapshots and records, merged by ticket. */
static void vr_rescan_all(void)
{
	enum vfio_release_resync_reason reason = vr_reason;
	struct vr_record rec;
	struct vr_scan scan;
	unsigned int i = 0;

	vr_rescan = false;
	vr_busy_retry = false;
	vr_reason = VFIO_RELEASE_RESYNC_UNSPEC;
	vr_registry_begin_scan(vr_queue_ticket());
	if (vr_scan_all(&scan)) {
		/* Try again at the next batch; nothing is removed meanwhile. */
		vr_rescan = true;
		vr_reason = VFIO_RELEASE_RESYNC_NO_MEMORY;
		scan.count = 0;
	}
	while (i < scan.count) {
		if (!vr_queue_pop(&rec)) {
			vr_registry_apply_snapshot(&scan.snaps[i++], vr_announce,
						   NULL);
			continue;
		}
		while (i < scan.count && scan.snaps[i].ticket <= rec.ticket)
			vr_registry_apply_snapshot(&scan.snaps[i++], vr_announce,
						   NULL);
		vr_apply_record(&rec);
	}
	/* Every record before the scan must be in before absence counts. */
	while (!vr_rescan && vr_queue_pop(&rec))
		vr_apply_record(&rec);
	if (!vr_rescan)
		vr_registry_end_scan(vr_announce, NULL);
	if (scan.busy && !vr_rescan) {
		vr_rescan = true;
		vr_busy_retry = true;
		vr_busy_wait = true;
	}
	vr_scan_free(&scan);
	if (reason != VFIO_RELEASE_RESYNC_UNSPEC)
		vr_registry_resync(reason, vr_missed_seen + vr_lost_seen,
				   vr_announce, NULL);
}

/* Rescans one run may do; more wait for the miss watch (no busy loop). */
#define VR_RESCANS_PER_RUN 2

static void vr_work_fn(struct work_struct *work)
{
	unsigned int rescans = 0;
	struct vr_record rec;

	for (;;) {
		vr_note_losses();
		if (vr_rescan && vr_reason != VFIO_RELEASE_RESYNC_UNSPEC)
			vr_busy_retry = false;	/* a real loss: now */
		if (vr_rescan && !(vr_busy_retry && vr_busy_wait)) {
			vr_queue_set_applied(vr_applied_ticket, !vr_busy_retry);
			if (rescans++ == VR_RESCANS_PER_RUN)
				break;
			vr_rescan_all();
			continue;
		}
		if (!vr_queue_pop(&rec))
			break;
		do {
			vr_apply_record(&rec);
		} while (!vr_rescan && vr_queue_pop(&rec));
	}
	if (vr_undelivered) {
		vr_registry_resync(VFIO_RELEASE_RESYNC_NO_MEMORY,
				   vr_missed_seen + vr_lost_seen, vr_announce,
				   NULL);
		/* Not retried if it is lost too: a later one will tell. */
		vr_undelivered = false;
	}
	/* Readers wait for lost records to be read again, not for busy sets. */
	vr_queue_set_applied(vr_applied_ticket, vr_rescan && !vr_busy_retry);
	if (READ_ONCE(vr_stopping))
		return;
	if (vr_rescan)
		mod_delayed_work(vr_wq, &vr_rescan_retry,
				 vr_busy_retry ? HZ / 4 : HZ / 10);
	else
		mod_delayed_work(vr_wq, &vr_miss_watch, HZ);
}

static void vr_miss_watch_fn(struct work_struct *work)
{
	vr_busy_wait = false;
	if (vr_rescan || vr_hooks_missed() != vr_missed_seen)
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
	cancel_delayed_work_sync(&vr_rescan_retry);
	flush_work(&vr_work);
	cancel_delayed_work_sync(&vr_miss_watch);
	cancel_delayed_work_sync(&vr_rescan_retry);
	destroy_workqueue(vr_wq);
	/* Readers stop waiting; what a cut-short run left is dropped. */
	vr_queue_stop();
}
