// SPDX-License-Identifier: GPL-2.0
/*
 * What each hooked function tells us. Handlers run in atomic context
 * (preemption off) in the task that called the function: they read fields
 * the caller's locks keep stable, copy them into a record and queue it.
 */

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/pci.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "../uapi/linux/vfio_release.h"
#include "probes.h"
#include "queue.h"

/* Siblings beyond this many in one reset domain are not followed. */
#define VR_MAX_SIBLINGS 64

struct vr_frame {
	void *arg;		/* the hooked function's first argument */
	u64 start_ns;
	u64 pending;		/* closed siblings waiting for a bus reset */
	u32 group;
};

static_assert(sizeof(struct vr_frame) <= VR_PROBE_DATA_SIZE);

static struct vr_frame *vr_frame(struct kretprobe_instance *ri)
{
	return (struct vr_frame *)ri->data;
}

int vr_save_arg(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	vr_frame(ri)->arg = (void *)regs_get_kernel_argument(regs, 0);
	return 0;
}

static void vr_push(enum vr_record_kind kind, struct device *dev)
{
	struct vr_record rec = {
		.kind = kind,
		.dev = dev,
		.timestamp_ns = ktime_get_ns(),
		.pid = task_tgid_nr(current),
	};

	get_task_comm(rec.comm, current);
	strscpy(rec.driver, dev_driver_string(dev), sizeof(rec.driver));
	vr_queue_push(&rec);
}

static struct device *vr_core_dev(struct kretprobe_instance *ri)
{
	struct vfio_pci_core_device *vdev = vr_frame(ri)->arg;

	return &vdev->pdev->dev;
}

int vr_register_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (!regs_return_value(regs))
		vr_push(VR_REC_REGISTERED, vr_core_dev(ri));
	return 0;
}

/* vfio_pci_core_finish_enable() is the last step of a successful open. */
int vr_opened_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	vr_push(VR_REC_OPENED, vr_core_dev(ri));
	return 0;
}

int vr_unregister_entry(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vfio_pci_core_device *vdev;

	vr_save_arg(ri, regs);
	/* The pci_dev outlives the vfio device, which the caller may free. */
	vdev = vr_frame(ri)->arg;
	vr_frame(ri)->arg = &vdev->pdev->dev;
	return 0;
}

int vr_unregister_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	vr_push(VR_REC_UNREGISTERED, vr_frame(ri)->arg);
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
	f->start_ns = ktime_get_ns();
	f->pending = 0;
	vr_for_each_member(cur, vdev) {
		if (i < VR_MAX_SIBLINGS && cur != vdev && cur->needs_reset &&
		    !cur->vdev.open_count)
			f->pending |= BIT_ULL(i);
		i++;
	}
	return 0;
}

int vr_close_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct vr_frame *f = vr_frame(ri);
	struct vfio_pci_core_device *vdev = f->arg, *cur;
	bool bus_reset = false, sibling_open = false;
	struct vr_record rec = {
		.kind = VR_REC_RELEASED,
		.dev = &vdev->pdev->dev,
		.timestamp_ns = ktime_get_ns(),
		.pid = task_tgid_nr(current),
	};
	unsigned int i = 0;

	rec.close_ns = rec.timestamp_ns - f->start_ns;
	get_task_comm(rec.comm, current);
	strscpy(rec.driver, dev_driver_string(rec.dev), sizeof(rec.driver));

	vr_for_each_member(cur, vdev) {
		if (i < VR_MAX_SIBLINGS && (f->pending & BIT_ULL(i)) &&
		    !cur->needs_reset)
			bus_reset = true;
		else if (cur != vdev && cur->vdev.open_count)
			sibling_open = true;
		i++;
	}

	if (!vdev->needs_reset)
		rec.reset = vdev->reset_works && !bus_reset ?
			    VFIO_RELEASE_RESET_FUNCTION : VFIO_RELEASE_RESET_BUS;
	else if (sibling_open)
		rec.reset = VFIO_RELEASE_RESET_BUS_PENDING;
	else
		rec.reset = vdev->reset_works ? VFIO_RELEASE_RESET_SKIPPED :
						VFIO_RELEASE_RESET_NONE;
	vr_queue_push(&rec);

	if (!bus_reset)
		return 0;
	i = 0;
	vr_for_each_member(cur, vdev) {
		if (i < VR_MAX_SIBLINGS && (f->pending & BIT_ULL(i)) &&
		    !cur->needs_reset)
			vr_push(VR_REC_BUS_RESET, &cur->pdev->dev);
		i++;
	}
	return 0;
}

int vr_save_group(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	struct iommu_group *group = (void *)regs_get_kernel_argument(regs, 0);

	vr_frame(ri)->group = iommu_group_id(group);
	return 0;
}

static void vr_push_group(enum vr_record_kind kind, struct kretprobe_instance *ri)
{
	struct vr_record rec = {
		.kind = kind,
		.group = vr_frame(ri)->group,
		.timestamp_ns = ktime_get_ns(),
	};

	vr_queue_push(&rec);
}

int vr_group_released_return(struct kretprobe_instance *ri,
			     struct pt_regs *regs)
{
	vr_push_group(VR_REC_GROUP_RELEASED, ri);
	return 0;
}

int vr_group_claimed_return(struct kretprobe_instance *ri,
			    struct pt_regs *regs)
{
	if (!regs_return_value(regs))
		vr_push_group(VR_REC_GROUP_CLAIMED, ri);
	return 0;
}

int vr_dma_claimed_return(struct kretprobe_instance *ri, struct pt_regs *regs)
{
	if (!regs_return_value(regs))
		vr_push(VR_REC_DMA_CLAIMED, vr_frame(ri)->arg);
	return 0;
}

int vr_dma_released_return(struct kretprobe_instance *ri,
			   struct pt_regs *regs)
{
	vr_push(VR_REC_DMA_RELEASED, vr_frame(ri)->arg);
	return 0;
}
