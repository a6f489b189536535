// SPDX-License-Identifier: GPL-2.0
/*
 * Probes run in atomic context, while applying and announcing sleeps. A
 * probe copies what it saw into a fixed ring (nothing to allocate, nothing
 * to fail but a full ring, which is counted) and wakes the consumer.
 *
 * The ring's lock is a raw spinlock: probes run with preemption off, where
 * a spinlock_t would sleep on PREEMPT_RT.
 */

#include <linux/device.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "queue.h"

/* Room for a burst of a few hundred releases, each with its group's. */
#define VR_QUEUE_LEN 2048

static struct vr_record vr_ring[VR_QUEUE_LEN];
static u64 vr_head, vr_tail;	/* tickets: free-running, masked on use */
static u64 vr_lost;
/*
 * The devices of the UNREGISTERED records in the ring, so that the
 * consumer can ask about one without walking the ring with interrupts off.
 * More at once than this make every answer yes (no uevent meanwhile).
 */
#define VR_LEAVING_MAX 64
static struct device *vr_leaving[VR_LEAVING_MAX];
static unsigned int vr_leaving_overflow;
static DEFINE_RAW_SPINLOCK(vr_ring_lock);

static struct workqueue_struct *vr_consumer_wq;
static struct work_struct *vr_consumer;

static DECLARE_WAIT_QUEUE_HEAD(vr_progress_wait);
static u64 vr_applied;		/* tickets below this are applied */
static bool vr_rescan_pending = true;
static bool vr_stopped;		/* the consumer is gone: nobody waits */

/* How long a reader waits for the consumer before it gives up. */
#define VR_SYNC_TIMEOUT HZ

void vr_queue_init(struct workqueue_struct *wq, struct work_struct *consumer)
{
	vr_consumer_wq = wq;
	vr_consumer = consumer;
}

static void vr_leaving_add(struct device *dev)
{
	unsigned int i;

	for (i = 0; i < VR_LEAVING_MAX; i++) {
		if (!vr_leaving[i]) {
			vr_leaving[i] = dev;
			return;
		}
	}
	vr_leaving_overflow++;
}

static void vr_leaving_del(struct device *dev)
{
	unsigned int i;

	for (i = 0; i < VR_LEAVING_MAX; i++) {
		if (vr_leaving[i] == dev) {
			vr_leaving[i] = NULL;
			return;
		}
	}
	if (vr_leaving_overflow)
		vr_leaving_overflow--;
}

void vr_queue_push(const struct vr_record *rec)
{
	struct vr_record *slot;
	unsigned long flags;

	raw_spin_lock_irqsave(&vr_ring_lock, flags);
	if (vr_head - vr_tail >= VR_QUEUE_LEN) {
		/* Counted; the consumer reads every device again. */
		vr_lost++;
	} else {
		slot = &vr_ring[vr_head % VR_QUEUE_LEN];
		*slot = *rec;
		slot->ticket = vr_head++;
		get_device(slot->dev);
		if (slot->kind == VR_REC_UNREGISTERED)
			vr_leaving_add(slot->dev);
	}
	raw_spin_unlock_irqrestore(&vr_ring_lock, flags);
	queue_work(vr_consumer_wq, vr_consumer);
}

bool vr_queue_pop(struct vr_record *rec)
{
	unsigned long flags;
	bool found;

	raw_spin_lock_irqsave(&vr_ring_lock, flags);
	found = vr_head != vr_tail;
	if (found) {
		*rec = vr_ring[vr_tail++ % VR_QUEUE_LEN];
		if (rec->kind == VR_REC_UNREGISTERED)
			vr_leaving_del(rec->dev);
	}
	raw_spin_unlock_irqrestore(&vr_ring_lock, flags);
	return found;
}

/* Drops the reference a popped record holds. */
void vr_queue_drop(struct vr_record *rec)
{
	put_device(rec->dev);
	rec->dev = NULL;
}

u64 vr_queue_lost(void)
{
	return READ_ONCE(vr_lost);
}

u64 vr_queue_ticket(void)
{
	unsigned long flags;
	u64 ticket;

	raw_spin_lock_irqsave(&vr_ring_lock, flags);
	ticket = vr_head;
	raw_spin_unlock_irqrestore(&vr_ring_lock, flags);
	return ticket;
}

/* Whether the device's driver is already letting go: no uevent then. */
bool vr_queue_has_unregister(const struct device *dev)
{
	unsigned long flags;
	bool found;
	int i;

	raw_spin_lock_irqsave(&vr_ring_lock, flags);
	found = vr_leaving_overflow;
	for (i = 0; i < VR_LEAVING_MAX && !found; i++)
		found = vr_leaving[i] == dev;
	raw_spin_unlock_irqrestore(&vr_ring_lock, flags);
	return found;
}

void vr_queue_set_applied(u64 ticket, bool rescan_pending)
{
	WRITE_ONCE(vr_applied, ticket);
	WRITE_ONCE(vr_rescan_pending, rescan_pending);
	wake_up_all(&vr_progress_wait);
}

/*
 * 0 once the consumer caught up; -EAGAIN when it did not within
 * VR_SYNC_TIMEOUT (a rescan under way); -ESHUTDOWN when the module is
 * going; -EINTR when killed. Bounded and short: the caller holds
 * genetlink's lock for reading.
 */
int vr_queue_sync(void)
{
	u64 target = vr_queue_ticket();
	long left;

	left = wait_event_killable_timeout(vr_progress_wait,
					   READ_ONCE(vr_stopped) ||
					   (READ_ONCE(vr_applied) >= target &&
					    !READ_ONCE(vr_rescan_pending)),
					   VR_SYNC_TIMEOUT);
	if (left < 0)
		return -EINTR;
	if (READ_ONCE(vr_stopped))
		return -ESHUTDOWN;
	return left ? 0 : -EAGAIN;
}

/* The consumer is gone: wakes every reader and drops what is queued. */
void vr_queue_stop(void)
{
	struct vr_record rec;

	WRITE_ONCE(vr_stopped, true);
	wake_up_all(&vr_progress_wait);
	while (vr_queue_pop(&rec))
		vr_queue_drop(&rec);
}
