// SPDX-License-Identifier: GPL-2.0
/*
 * Probes run in atomic context and must not sleep, while sending uevents
 * and netlink messages does. Probes copy what they saw into a fixed ring
 * (no allocation can fail there) and one ordered, high-priority worker
 * applies the records in the order the probes saw them.
 */

#include <linux/device.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "hooks.h"
#include "queue.h"
#include "registry.h"

#define VR_QUEUE_LEN 256

static struct vr_record vr_ring[VR_QUEUE_LEN];
static unsigned int vr_head, vr_tail;	/* free-running, masked on use */
static DEFINE_SPINLOCK(vr_ring_lock);
static u64 vr_ring_lost;

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
static DECLARE_DELAYED_WORK(vr_miss_watch, vr_miss_watch_fn);
static u64 vr_missed_kicked;
static bool vr_stopping;

void vr_queue_push(const struct vr_record *rec)
{
	unsigned long flags;

	spin_lock_irqsave(&vr_ring_lock, flags);
	if (vr_head - vr_tail >= VR_QUEUE_LEN) {
		vr_ring_lost++;
	} else {
		struct vr_record *slot = &vr_ring[vr_head++ % VR_QUEUE_LEN];

		*slot = *rec;
		if (slot->dev)
			get_device(slot->dev);
	}
	spin_unlock_irqrestore(&vr_ring_lock, flags);
	queue_work(vr_wq, &vr_work);
}

static bool vr_queue_pop(struct vr_record *rec, u64 *lost)
{
	unsigned long flags;
	bool found;

	spin_lock_irqsave(&vr_ring_lock, flags);
	found = vr_head != vr_tail;
	if (found)
		*rec = vr_ring[vr_tail++ % VR_QUEUE_LEN];
	*lost = vr_ring_lost;
	spin_unlock_irqrestore(&vr_ring_lock, flags);
	return found;
}

static void vr_work_fn(struct work_struct *work)
{
	struct vr_record rec;
	u64 lost;

	while (vr_queue_pop(&rec, &lost)) {
		vr_registry_apply(&rec);
		put_device(rec.dev);
	}
	vr_registry_check_lost(lost);
	if (!READ_ONCE(vr_stopping))
		mod_delayed_work(vr_wq, &vr_miss_watch, HZ);
}

/* Runs the worker even with nothing queued, to announce a resync. */
void vr_queue_kick(void)
{
	queue_work(vr_wq, &vr_work);
}

static void vr_miss_watch_fn(struct work_struct *work)
{
	u64 missed = vr_hooks_missed();

	if (missed != vr_missed_kicked) {
		vr_missed_kicked = missed;
		vr_queue_kick();
	}
}

/* Waits until every record pushed before the call has been applied. */
void vr_queue_flush(void)
{
	flush_work(&vr_work);
}

int vr_queue_init(void)
{
	vr_wq = alloc_ordered_workqueue("vfio_release", WQ_HIGHPRI);
	return vr_wq ? 0 : -ENOMEM;
}

/* After the hooks are gone: apply what is queued, leave no timer behind. */
void vr_queue_exit(void)
{
	WRITE_ONCE(vr_stopping, true);
	flush_work(&vr_work);
	cancel_delayed_work_sync(&vr_miss_watch);
	destroy_workqueue(vr_wq);
}
