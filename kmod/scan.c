// SPDX-License-Identifier: GPL-2.0
/*
 * Reads the state of every device a vfio_pci_core driver drives straight
 * from the kernel: at load, and after a lost record.
 *
 * The scan must never make VFIO fail. VFIO holds a device set's lock and
 * only try-locks the PCI device lock to reset, so the scan never takes the
 * device lock. What keeps a device's vfio data alive instead is a
 * reference on its vfio device (a child of the PCI device in class
 * "vfio-dev", embedded in the vfio_pci_core_device), taken by the driver
 * core's own child iteration. The scan holds it only for a few reads and
 * a try-lock, never across a sleep: the last reference takes the device
 * out of its set, and VFIO must see that as soon as the driver lets go.
 * The device set's lock orders the reading among the device's open and
 * close records (vr_queue_ticket()).
 */

#include <linux/device.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "compat.h"
#include "scan.h"

/*
 * Held while a scan may read a vfio device's operations, which live in
 * its driver's module; a going module waits for it (vr_scan_barrier()).
 */
static DEFINE_MUTEX(vr_scan_mutex);

struct vr_scan_ctx {
	struct vr_scan *scan;
	unsigned int capacity;
	void *core_request;	/* vfio_pci_core_request: every such driver's */
};

static int vr_count_one(struct device *dev, void *count)
{
	(*(unsigned int *)count)++;
	return 0;
}

/*
 * Bound (not merely probing or unbinding) to a driver that uses the DMA
 * API. While a driver probes or unbinds, it may or may not hold the group:
 * it does not count, so the group reads claimed, never wrongly free.
 */
static int vr_kernel_dma_user(struct device *dev, void *unused)
{
	struct device_driver *drv = READ_ONCE(dev->driver);

	if (!drv || READ_ONCE(dev->links.status) != DL_DEV_DRIVER_BOUND)
		return 0;
	return !(dev_is_pci(dev) && to_pci_driver(drv)->driver_managed_dma);
}

/*
 * iommu_group_dma_owner_claimed() also counts host drivers that use the
 * DMA API. A user claim and such a driver exclude each other (either one
 * is refused while the other holds the group), so a claimed group with
 * such a driver bound is not claimed by a user.
 */
static void vr_read_group(struct vr_snapshot *snap, struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);

	if (!group)
		return;
	snap->has_group = true;
	snap->group = iommu_group_id(group);
	snap->group_claimed = iommu_group_dma_owner_claimed(group) &&
			      !iommu_group_for_each_dev(group, NULL,
							vr_kernel_dma_user);
	iommu_group_put(group);
}

bool vr_scan_group(struct device *dev, bool *claimed)
{
	struct vr_snapshot snap = {};

	vr_read_group(&snap, dev);
	*claimed = snap.group_claimed;
	return snap.has_group;
}

static int vr_scan_child(struct device *child, void *data)
{
	struct vr_scan_ctx *ctx = data;
	struct vfio_pci_core_device *core;
	struct device_driver *drv;
	struct vr_snapshot *snap;
	struct vfio_device *vdev;

	if (!child->class || strcmp(child->class->name, "vfio-dev"))
		return 0;
	vdev = container_of(child, struct vfio_device, device);
	if (!vdev->ops || (void *)vdev->ops->request != ctx->core_request)
		return 0;
	if (ctx->scan->count == ctx->capacity)
		return 0;	/* added since counted: its hooks report it */
	core = container_of(vdev, struct vfio_pci_core_device, vdev);
	snap = &ctx->scan->snaps[ctx->scan->count];
	memset(snap, 0, sizeof(*snap));
	snap->registration = vdev;
	/* The driver's module stays while the scan runs (vr_scan_barrier). */
	drv = READ_ONCE(core->pdev->dev.driver);
	strscpy(snap->driver, drv ? drv->name : "", sizeof(snap->driver));

	if (mutex_trylock(&vdev->dev_set->lock)) {
		snap->ticket = vr_queue_ticket();
		snap->open = vdev->open_count > 0;
		/* What holds a device not open matters on that path only. */
		snap->file_refs = VR_IOMMUFD_PATH && vr_device_has_users(vdev);
		mutex_unlock(&vdev->dev_set->lock);
	} else {
		snap->busy = true;
		snap->ticket = vr_queue_ticket();
	}
	/*
	 * Unregistration deletes the vfio device, then drops the driver's
	 * count and pushes its record (vfio_unregister_group_dev in
	 * drivers/vfio/vfio_main.c): one still registered after the ticket
	 * and the count were read has its UNREGISTERED record, if any,
	 * after the ticket, and the count read was a registered one's.
	 */
	smp_rmb();
	if (!device_is_registered(child))
		return 0;
	snap->dev = get_device(&core->pdev->dev);
	snap->timestamp_ns = ktime_get_ns();
	ctx->scan->count++;
	return 0;
}

static int vr_scan_pci(struct device *dev, void *data)
{
	struct vr_scan_ctx *ctx = data;
	unsigned int first = ctx->scan->count;

	device_for_each_child(dev, ctx, vr_scan_child);
	/* With no vfio device held: this sleeps on the group's mutex. */
	for (; first < ctx->scan->count; first++)
		vr_read_group(&ctx->scan->snaps[first], dev);
	return 0;
}

int vr_scan_all(struct vr_scan *scan)
{
	struct vr_scan_ctx ctx = { .scan = scan };

	scan->count = 0;
	scan->snaps = NULL;
	/* Not loaded: then no device can be driven by it. */
	ctx.core_request = symbol_get(vfio_pci_core_request);
	if (!ctx.core_request)
		return 0;

	bus_for_each_dev(&pci_bus_type, NULL, &ctx.capacity, vr_count_one);
	scan->snaps = kvcalloc(ctx.capacity ?: 1, sizeof(*scan->snaps),
			       GFP_KERNEL);
	if (!scan->snaps) {
		symbol_put(vfio_pci_core_request);
		return -ENOMEM;
	}
	mutex_lock(&vr_scan_mutex);
	bus_for_each_dev(&pci_bus_type, NULL, &ctx, vr_scan_pci);
	mutex_unlock(&vr_scan_mutex);
	symbol_put(vfio_pci_core_request);
	return 0;
}

void vr_scan_free(struct vr_scan *scan)
{
	unsigned int i;

	for (i = 0; i < scan->count; i++)
		put_device(scan->snaps[i].dev);
	kvfree(scan->snaps);
	scan->snaps = NULL;
	scan->count = 0;
}

void vr_scan_barrier(void)
{
	mutex_lock(&vr_scan_mutex);
	mutex_unlock(&vr_scan_mutex);
}
