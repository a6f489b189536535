// SPDX-License-Identifier: GPL-2.0
/*
 * Reads the state of every device a vfio_pci_core driver drives straight
 * from the kernel: at load, for devices bound or opened before us, and
 * after a lost event. A snapshot is queued under the device set's lock,
 * the lock every open and close holds, so it lands in the queue in its
 * true order among the hooks' records.
 */

#include <linux/device.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/string.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#include "queue.h"
#include "scan.h"

/* vfio-pci and every variant driver share vfio_pci_core's error handlers. */
static bool vr_driven_by_core(struct device *dev,
			      const struct pci_error_handlers *core_handlers)
{
	struct vfio_pci_core_device *vdev;

	if (!dev->driver ||
	    to_pci_driver(dev->driver)->err_handler != core_handlers)
		return false;
	vdev = dev_get_drvdata(dev);
	return vdev && vdev->pdev == to_pci_dev(dev);
}

static int vr_scan_one(struct device *dev, void *core_handlers)
{
	struct vfio_pci_core_device *vdev;
	struct vr_record rec = {
		.kind = VR_REC_SNAPSHOT,
		.dev = dev,
	};

	/* Holding the device lock keeps the driver, and its data, bound. */
	device_lock(dev);
	if (vr_driven_by_core(dev, core_handlers)) {
		vdev = dev_get_drvdata(dev);
		strscpy(rec.driver, dev->driver->name, sizeof(rec.driver));
		mutex_lock(&vdev->vdev.dev_set->lock);
		rec.open = vdev->vdev.open_count > 0;
		rec.timestamp_ns = ktime_get_ns();
		vr_queue_push(&rec);
		mutex_unlock(&vdev->vdev.dev_set->lock);
	}
	device_unlock(dev);
	return 0;
}

void vr_scan_all(void)
{
	const struct pci_error_handlers *core_handlers;

	/* Not loaded: then no device can be driven by it. */
	core_handlers = symbol_get(vfio_pci_core_err_handlers);
	if (!core_handlers)
		return;
	bus_for_each_dev(&pci_bus_type, NULL, (void *)core_handlers,
			 vr_scan_one);
	symbol_put(vfio_pci_core_err_handlers);
}
