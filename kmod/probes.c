// SPDX-License-Identifier: GPL-2.0
/*
 * What each hooked function tells us. Handlers run in atomic context in
 * the task that called the function: they read fields the caller's locks
 * keep stable. Entry handlers keep them for the return (see probes.h for
 * what they may not do); return handlers copy them into a record and
 * queue it.
 */

#include <linux/atomic.h>
#include <linux/device.h>
#include <linux/fs.h>
#include <linux/hash.h>
#include <linux/iommu.h>
#include <linux/log2.h>
#include <linux/pci.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "../uapi/linux/vfio_release.h"
#include "compat.h"
#include "probes.h"
#include "queue.h"

/* Siblings beyond this many in one reset domain are not followed. */
#define VR_MAX_SIBLINGS 64

struct vr_frame {
	void *arg;		/* the hooked function's first argument */
	u64 start_ns;
	u64 pending;		/* closed siblings waiting for a bus reset */
	u64 bus_resets;		/* vr_bus_reset_count at entry */
	u64 release;		/* the release this close runs in, or 0 */
	u32 group;
};

static_assert(sizeof(struct vr_frame) <= VR_PROBE_DATA_SIZE);

static void vr_record_init(struct vr_record *rec, enum vr_record_kind kind,
			   struct device *dev)
{
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->dev = dev;
	rec->timestamp_ns = ktime_get_ns();
	rec->pid = task_tgid_nr(current);
	vr_current_comm(rec->comm);
}

static struct vr_frame *vr_frame(struct kretprobe_instance *ri)
{
	return (struct vr_frame *)ri->data;
}

/*
 * The last bus resets that succeeded, so that a close can tell a bus reset
 * run by vfio_pci_core after a failed function reset from the function
 * reset itself. A close looks only at resets newer than its own entry.
 */
#define VR_BUS_RESETS 16
static struct {
	u64 count;
	struct pci_dev *pdev[VR_BUS_RESETS];
	u64 seq[VR_BUS_RESETS];
} vr_bus_resets;
static DEFINE_RAW_SPINLOCK(vr_bus_reset_lock);

/*
 * When each release of a VFIO device file began: the last close is timed
 * from there, so that a variant driver's own work before the core's close
 * (and the wait for the device set) counts too.
 *
 * close_device() runs only inside the release of a file of that very
 * device, in the task that runs the release, or in an open that failed
 * after open_device(), where no release is in flight: a close finds its
 * start by task and device together. A close that finds none (the
 * release's entry was missed, no slot was free, or a failed open) is not
 * timed: its close_ns is 0, and the pipeline says which in the log.
 *
 * The table has twice as many slots as the releases the hook follows at
 * once (its maxactive): a release takes the first free slot of a short
 * window that starts at its task's hash, and its close looks in that
 * window only, so neither walks the whole table in a probe. With every
 * release in flight at once a window can be full (rarely below a few
 * hundred): that release is counted and its close said to be untimed.
 *
 * On the iommufd path a last close in a release gives the device's DMA
 * ownership back inside that release, after close_device; the device
 * file's hold on the vfio device (its registration) ends only when the
 * release returns (vfio_device_fops_release in drivers/vfio/vfio_main.c),
 * and until then the driver cannot let go of the device without waiting.
 * Such a release names the device in the DMA release's record and says
 * when it returns. That is true of a group on an iommufd too; only a
 * group in a legacy container gives its DMA back later, at the group's
 * release. A release the table does not follow (its entry missed, no free
 * slot) cannot: both count as losses, and the devices are read again
 * (kmod/pipeline.c). Until a reading shows that no file holds it, the
 * device whose DMA such a release gives back is held (its group's devices,
 * if it is not known: kmod/registry.c); so is a device that a file held at
 * the first reading (a release running at load), or beside the file whose
 * release closed it.
 *
 * The entry handlers run wherever the kprobe fires: where kprobes are not
 * on ftrace (a kernel without FUNCTION_TRACER), an entry probe is an int3
 * unless and until it is optimized, and an int3 in the kernel is an NMI
 * to lockdep. So the table takes no lock and reads no seqcount-protected
 * clock: a slot belongs to the task whose pointer a cmpxchg put there,
 * only that task writes its other fields, and it gives the slot back with
 * a release store. Nothing in interrupt context touches the table, so a
 * task never meets its own slot half-written.
 *
 * A task that dies inside a release (an oops in a driver's close) never
 * runs the return handler: its slot stays claimed (and counted in use)
 * until the next load, by a pointer to a freed task that is only ever
 * compared, never followed. A new task may come to have that address;
 * it started after the dead one, so the slot's start_time tells them
 * apart, and it reads that field only when the writer is dead, its
 * writes ordered before the free. start_time is not unique (a thread
 * that execs takes its leader's; a coarse clock can give two forks the
 * same), but it is fixed for the length of a release, which is all the
 * owner's own check needs.
 */
#define VR_RELEASE_WINDOW 16
struct vr_release_start {
	struct task_struct *task;
	u64 task_start;			/* its start_time: see above */
	struct vr_release_key key;	/* the device whose file it is */
	u64 start_ns;
	u64 id;				/* this release, from 1 */
	bool closed;			/* it ran the device's last close */
	bool dma_released;		/* then gave the device's DMA back */
	/*
	 * The closed device: read only in this release, whose file holds
	 * it. Its IOMMU group, as an identity only.
	 */
	const struct vfio_device *vdev;
	const void *iommu_group;
	u32 group;			/* that group's number */
};

static struct vr_release_start *vr_releases;
static unsigned int vr_releases_bits;
static atomic64_t vr_release_ids = ATOMIC64_INIT(0);
static atomic_t vr_releases_in_use = ATOMIC_INIT(0);
/* Releases that found no free slot. */
static atomic64_t vr_release_no_slot = ATOMIC64_INIT(0);
/* Closes that found no start. */
static atomic64_t vr_close_untimed = ATOMIC64_INIT(0);
/* Of them, with a release of this task of another key: none expected. */
static atomic64_t vr_close_key_mismatch = ATOMIC64_INIT(0);

int vr_probes_init(unsigned int releases)
{
	unsigned int n = roundup_pow_of_two(max(2 * releases,
						(unsigned int)VR_RELEASE_WINDOW));

	vr_releases = kvcalloc(n, sizeof(*vr_releases), GFP_KERNEL);
	if (!vr_releases)
		return -ENOMEM;
	vr_releases_bits = ilog2(n);
	return 0;
}

void vr_probes_exit(void)
{
	kvfree(vr_releases);
	vr_releases = NULL;
}

/* Slot @i of the current task's window, which starts at @first. */
static struct vr_release_start *vr_release_slot(u32 first, unsigned int i)
{
	return &vr_releases[(first + i) & ((1U << vr_releases_bits) - 1)];
}

/* Whether @slot is the current task's (see struct vr_release_start). */
static bool vr_slot_is_mine(const struct vr_release_start *slot)
{
	return READ_ONCE(slot->task) == current &&
	       slot->task_start == current->start_time;
}

/*
 * Nanoseconds since @start, both read as an NMI may; at least 1. The fast
 * clock can step back a little across an update.
 */
static u64 vr_since(u64 start)
{
	s64 ns = ktime_get_mono_fast_ns() - start;

	return ns > 0 ? ns : 1;
}

int vr_release_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct file *filep = (struct file *)regs_get_kernel_argument(regs, 1);
	u32 first = hash_ptr(current, vr_releases_bits);
	struct vr_release_start *slot;
	unsigned int i;

	vr_frame(ri)->arg = NULL;
	for (i = 0; i < VR_RELEASE_WINDOW; i++) {
		slot = vr_release_slot(first, i);
		if (!READ_ONCE(slot->task) &&
		    !cmpxchg(&slot->task, NULL, current))
			break;
	}
	if (i == VR_RELEASE_WINDOW) {
		atomic64_inc(&vr_release_no_slot);
		return 0;
	}
	slot->task_start = current->start_time;
	slot->key = vr_release_key(filep);
	slot->start_ns = ktime_get_mono_fast_ns();
	slot->id = atomic64_inc_return(&vr_release_ids);
	slot->closed = false;
	slot->dma_released = false;
	slot->vdev = NULL;
	slot->iommu_group = NULL;
	slot->group = 0;
	vr_frame(ri)->arg = slot;
	atomic_inc(&vr_releases_in_use);
	return 0;
}

int vr_release_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vr_release_start *slot = vr_frame(ri)->arg;
	const void *registration, *alt = NULL;
	struct vr_record rec;
	u64 release = 0;

	if (!slot)
		return 0;
	if (slot->closed && slot->dma_released)
		release = slot->id;
	registration = slot->vdev;
	if (!registration) {
		registration = slot->key.first;
		alt = slot->key.data;
	}
	/* The next owner's cmpxchg sees this task done with the slot. */
	smp_store_release(&slot->task, NULL);
	atomic_dec(&vr_releases_in_use);
	/*
	 * Elsewhere DMA is given back at a group's release. Here every file
	 * says when it lets go: the last of several may free the device.
	 */
	if (!VR_IOMMUFD_PATH)
		return 0;
	/* No device: the file that held it has let it go. */
	vr_record_init(&rec, VR_REC_FILE_RELEASED, NULL);
	rec.release = release;
	rec.registration = registration;
	rec.registration_alt = alt;
	vr_queue_push(&rec);
	return 0;
}

/*
 * The start of the current task's release of @vdev's file, or 0; that
 * release is marked as the one that closes the device (@release), and
 * keeps which device and group it closed.
 */
static u64 vr_close_start(const struct vfio_device *vdev, u64 *release)
{
	u32 first = hash_ptr(current, vr_releases_bits);
	struct vr_release_start *slot;
	bool other_key = false;
	u64 start = 0;
	unsigned int i;

	for (i = 0; i < VR_RELEASE_WINDOW && !start; i++) {
		slot = vr_release_slot(first, i);
		if (!vr_slot_is_mine(slot))
			continue;
		if (!vr_release_key_is(&slot->key, vdev)) {
			other_key = true;
			continue;
		}
		start = slot->start_ns;
		slot->closed = true;
		slot->vdev = vdev;
		slot->iommu_group = vdev->dev->iommu_group;
		if (slot->iommu_group)
			slot->group = iommu_group_id(vdev->dev->iommu_group);
		*release = slot->id;
	}
	if (!start) {
		atomic64_inc(&vr_close_untimed);
		if (other_key)
			atomic64_inc(&vr_close_key_mismatch);
	}
	return start;
}

/*
 * The current task's release that ran the last close of a device of
 * @group and now gives that device's DMA ownership back: its id, and the
 * device in @vdev, and whether another file holds it too in
 * @other_files. 0 outside a release that was followed (a failed bind or
 * open, an iommufd's deferred destroy, a release with no slot).
 */
static u64 vr_release_closing(const struct iommu_group *group,
			      const void **vdev, bool *other_files)
{
	u32 first = hash_ptr(current, vr_releases_bits);
	struct vr_release_start *slot;
	unsigned int i;
	u64 id = 0;

	for (i = 0; i < VR_RELEASE_WINDOW && !id; i++) {
		slot = vr_release_slot(first, i);
		if (!vr_slot_is_mine(slot) || !slot->closed ||
		    slot->iommu_group != group)
			continue;
		slot->dma_released = true;
		*vdev = slot->vdev;
		*other_files = vr_device_other_files(slot->vdev);
		id = slot->id;
	}
	return id;
}

void vr_probes_stats(struct vr_probe_stats *st)
{
	st->untimed = atomic64_read(&vr_close_untimed);
	st->key_mismatch = atomic64_read(&vr_close_key_mismatch);
	st->no_slot = atomic64_read(&vr_release_no_slot);
	st->in_use = atomic_read(&vr_releases_in_use);
}

/* The hooked functions return int: the upper half of rax is undefined. */
static bool vr_returned_ok(struct pt_regs *regs)
{
	return !(int)regs_return_value(regs);
}

int vr_save_arg(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	vr_frame(ri)->arg = (void *)regs_get_kernel_argument(regs, 0);
	return 0;
}

static struct vfio_pci_core_device *vr_core(struct kretprobe_instance *ri)
{
	return vr_frame(ri)->arg;
}

static void vr_push_core(enum vr_record_kind kind,
			 struct vfio_pci_core_device *vdev)
{
	struct vr_record rec;

	vr_record_init(&rec, kind, &vdev->pdev->dev);
	rec.registration = &vdev->vdev;
	/* The caller's driver is bound: its name is stable here. */
	strscpy(rec.driver, dev_driver_string(rec.dev), sizeof(rec.driver));
	vr_queue_push(&rec);
}

/* Runs in the bound driver's probe: the driver is the device's. */
int vr_register_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (!vr_returned_ok(regs))
		return 0;
	vr_push_core(VR_REC_REGISTERED, vr_core(ri));
	return 0;
}

/* vfio_pci_core_finish_enable() is the last step of a successful open. */
int vr_opened_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	vr_push_core(VR_REC_OPENED, vr_core(ri));
	return 0;
}

/*
 * Unregistration waits for the device's users to close it: their releases
 * come first. The vfio device lives until the driver's remove returns.
 */
int vr_unregister_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	vr_push_core(VR_REC_UNREGISTERED, vr_core(ri));
	return 0;
}

/*
 * close_device runs with the device set's lock held from before entry to
 * after return, so the set's member list and their reset flags are stable
 * here and only this close can change them.
 */
#define vr_for_each_member(cur, core)					\
	list_for_each_entry(cur, &(core)->vdev.dev_set->device_list,	\
			    vdev.dev_set_list)

int vr_close_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vr_frame *f = vr_frame(ri);
	struct vfio_pci_core_device *vdev, *cur;
	unsigned int i = 0;

	vdev = container_of((struct vfio_device *)regs_get_kernel_argument(regs, 0),
			    struct vfio_pci_core_device, vdev);
	f->arg = vdev;
	f->release = 0;
	f->start_ns = vr_close_start(&vdev->vdev, &f->release);
	f->bus_resets = READ_ONCE(vr_bus_resets.count);
	f->pending = 0;
	vr_for_each_member(cur, vdev) {
		if (i < VR_MAX_SIBLINGS && cur != vdev && cur->needs_reset &&
		    !cur->vdev.open_count)
			f->pending |= BIT_ULL(i);
		i++;
	}
	return 0;
}

/* Whether a bus reset of a member of the set succeeded since @since. */
static bool vr_bus_reset_since(struct vfio_pci_core_device *vdev, u64 since)
{
	struct vfio_pci_core_device *cur;
	bool found = false;
	unsigned long flags;
	unsigned int i;

	raw_spin_lock_irqsave(&vr_bus_reset_lock, flags);
	for (i = 0; i < VR_BUS_RESETS && !found; i++) {
		if (vr_bus_resets.seq[i] <= since)
			continue;
		vr_for_each_member(cur, vdev)
			if (cur->pdev == vr_bus_resets.pdev[i])
				found = true;
	}
	raw_spin_unlock_irqrestore(&vr_bus_reset_lock, flags);
	return found;
}

static enum vfio_release_reset vr_close_outcome(struct vr_frame *f,
						bool *siblings_reset)
{
	struct vfio_pci_core_device *vdev = f->arg, *cur;
	bool bus_reset, sibling_open = false;
	unsigned int i = 0;

	bus_reset = vr_bus_reset_since(vdev, f->bus_resets);
	*siblings_reset = false;
	vr_for_each_member(cur, vdev) {
		if (i < VR_MAX_SIBLINGS && (f->pending & BIT_ULL(i)) &&
		    !cur->needs_reset)
			*siblings_reset = true;
		else if (cur != vdev && cur->vdev.open_count)
			sibling_open = true;
		i++;
	}
	bus_reset |= *siblings_reset;

	if (!vdev->needs_reset)
		return vdev->reset_works && !bus_reset ?
		       VFIO_RELEASE_RESET_FUNCTION : VFIO_RELEASE_RESET_BUS;
	if (sibling_open)
		return VFIO_RELEASE_RESET_BUS_PENDING;
	return vdev->reset_works ? VFIO_RELEASE_RESET_SKIPPED :
				   VFIO_RELEASE_RESET_NONE;
}

int vr_close_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vr_frame *f = vr_frame(ri);
	struct vfio_pci_core_device *vdev = f->arg, *cur;
	bool siblings_reset;
	struct vr_record rec;
	unsigned int i = 0;

	vr_record_init(&rec, VR_REC_RELEASED, &vdev->pdev->dev);
	rec.registration = &vdev->vdev;
	/* 0: not timed, the start of the release was not seen. */
	rec.untimed = !f->start_ns;
	rec.close_ns = f->start_ns ? vr_since(f->start_ns) : 0;
	rec.reset = vr_close_outcome(f, &siblings_reset);
	rec.release = f->release;
	vr_queue_push(&rec);

	if (!siblings_reset)
		return 0;
	vr_for_each_member(cur, vdev) {
		if (i < VR_MAX_SIBLINGS && (f->pending & BIT_ULL(i)) &&
		    !cur->needs_reset)
			vr_push_core(VR_REC_BUS_RESET, cur);
		i++;
	}
	return 0;
}

int vr_bus_reset_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	unsigned long flags;
	unsigned int slot;
	u64 seq;

	if (!vr_returned_ok(regs))
		return 0;
	raw_spin_lock_irqsave(&vr_bus_reset_lock, flags);
	seq = vr_bus_resets.count + 1;
	slot = vr_bus_resets.count % VR_BUS_RESETS;
	vr_bus_resets.pdev[slot] = vr_frame(ri)->arg;
	vr_bus_resets.seq[slot] = seq;
	/* Read locklessly by vr_close_entry. */
	WRITE_ONCE(vr_bus_resets.count, seq);
	raw_spin_unlock_irqrestore(&vr_bus_reset_lock, flags);
	return 0;
}

int vr_save_group(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct iommu_group *group = (void *)regs_get_kernel_argument(regs, 0);

	vr_frame(ri)->group = iommu_group_id(group);
	return 0;
}

static void vr_push_group(enum vr_record_kind kind, u32 group)
{
	struct vr_record rec;

	vr_record_init(&rec, kind, NULL);
	rec.group = group;
	vr_queue_push(&rec);
}

int vr_group_released_return(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	vr_push_group(VR_REC_GROUP_RELEASED, vr_frame(ri)->group);
	return 0;
}

int vr_group_claimed_return(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	if (vr_returned_ok(regs))
		vr_push_group(VR_REC_GROUP_CLAIMED, vr_frame(ri)->group);
	return 0;
}

/*
 * The iommufd path claims one device at a time, but ownership is the
 * group's: the record names the group, the registry counts the claims.
 */
static void vr_push_dma(enum vr_record_kind kind, struct device *dev,
			bool release)
{
	struct iommu_group *group = dev->iommu_group;
	struct vr_record rec;

	if (!group)
		return;
	/*
	 * Its callers hold @dev: iommufd_device_bind's error path, and
	 * iommufd_device_destroy (the unbind at a last close, or after a
	 * failed first open).
	 */
	vr_record_init(&rec, kind, release ? dev : NULL);
	rec.group = iommu_group_id(group);
	if (release)
		rec.release = vr_release_closing(group, &rec.registration,
						 &rec.other_files);
	vr_queue_push(&rec);
}

int vr_dma_claimed_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (vr_returned_ok(regs))
		vr_push_dma(VR_REC_DMA_CLAIMED, vr_frame(ri)->arg, false);
	return 0;
}

int vr_dma_released_return(struct kretprobe_instance *ri,
			   struct pt_regs *regs)
{
	vr_push_dma(VR_REC_DMA_RELEASED, vr_frame(ri)->arg, true);
	return 0;
}
