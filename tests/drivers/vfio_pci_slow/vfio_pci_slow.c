// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_pci_slow: a test-only vfio-pci variant driver whose close is slow.
 *
 * Built only on vfio_pci_core's exported API, like any variant driver. It
 * matches no device by itself: bind one with
 *
 *	echo vfio_pci_slow > /sys/bus/pci/devices/ADDR/driver_override
 *	echo ADDR > /sys/bus/pci/drivers_probe
 *
 * close_device sleeps close_delay_ms (of CLOCK_MONOTONIC) before
 * vfio_pci_core_close_device().
 * With skip_reset, the close holds the device lock (when it can take it
 * without waiting), so that vfio_pci_core's trylock fails and the final
 * reset is skipped, as it is when an unbind holds that lock.
 *
 * Both knobs exist as module parameters and as per-device attributes of
 * the bound PCI device; a per-device value of -1 (the default) means
 * "use the module parameter".
 *
 * driver_name=vfio-pci registers the driver under vfio-pci's own name (with
 * vfio-pci itself not loaded), for managers that bind only a driver of that
 * name, such as libvirt's managed hostdevs.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/delay.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

static unsigned int close_delay_ms;
module_param(close_delay_ms, uint, 0644);
MODULE_PARM_DESC(close_delay_ms,
		 "Milliseconds to sleep in close_device before the core's close (default 0)");

static bool skip_reset;
module_param(skip_reset, bool, 0644);
MODULE_PARM_DESC(skip_reset,
		 "Hold the device lock across the core's close so that its reset is skipped (default N)");

static char *driver_name = "vfio_pci_slow";
module_param(driver_name, charp, 0444);
MODULE_PARM_DESC(driver_name,
		 "The PCI driver's name, matched by driver_override (default vfio_pci_slow)");

struct slow_device {
	struct vfio_pci_core_device core;	/* first: see vfio_alloc_device */
	int close_delay_ms;			/* -1: the module parameter */
	int skip_reset;				/* -1: the module parameter */
};

static struct slow_device *to_slow(struct vfio_device *vdev)
{
	return container_of(vdev, struct slow_device, core.vdev);
}

static unsigned int slow_delay_ms(struct slow_device *sdev)
{
	int v = READ_ONCE(sdev->close_delay_ms);

	return v >= 0 ? v : READ_ONCE(close_delay_ms);
}

static bool slow_skip_reset(struct slow_device *sdev)
{
	int v = READ_ONCE(sdev->skip_reset);

	return v >= 0 ? v : READ_ONCE(skip_reset);
}

static int slow_open_device(struct vfio_device *vdev)
{
	struct vfio_pci_core_device *core = &to_slow(vdev)->core;
	int ret;

	ret = vfio_pci_core_enable(core);
	if (ret)
		return ret;
	vfio_pci_core_finish_enable(core);
	return 0;
}

static void slow_close_device(struct vfio_device *vdev)
{
	struct slow_device *sdev = to_slow(vdev);
	struct device *dev = &sdev->core.pdev->dev;
	unsigned int delay = slow_delay_ms(sdev);
	bool locked = false;

	/*
	 * The delay is CLOCK_MONOTONIC time, the clock close_ns is measured
	 * in. msleep() counts jiffies, and in an emulated guest on a loaded
	 * host jiffies ran ahead of that clock by up to 50 ms in one 400 ms
	 * sleep (107 jiffies, 428 ms, in 378 ms): sleep again for what is
	 * left.
	 */
	if (delay) {
		u64 end = ktime_get_ns() + (u64)delay * NSEC_PER_MSEC, now;

		while ((now = ktime_get_ns()) < end)
			msleep(DIV_ROUND_UP_ULL(end - now, NSEC_PER_MSEC));
	}
	/*
	 * Never wait for the lock: an unbind holds it while it waits for
	 * this very close. Either way the core's own trylock then fails.
	 */
	if (slow_skip_reset(sdev))
		locked = device_trylock(dev);
	vfio_pci_core_close_device(vdev);
	if (locked)
		device_unlock(dev);
}

static const struct vfio_device_ops slow_ops = {
	.name		= "vfio-pci-slow",
	.init		= vfio_pci_core_init_dev,
	.release	= vfio_pci_core_release_dev,
	.open_device	= slow_open_device,
	.close_device	= slow_close_device,
	.ioctl		= vfio_pci_core_ioctl,
#ifdef SLOW_HAVE_GET_REGION_INFO_CAPS
	/*
	 * Where the op exists the vfio core answers VFIO_DEVICE_GET_REGION_INFO
	 * through it (vfio_pci_core_ioctl no longer does): without it every
	 * region query fails with EINVAL and nothing can map a BAR.
	 */
	.get_region_info_caps = vfio_pci_ioctl_get_region_info,
#endif
	.device_feature	= vfio_pci_core_ioctl_feature,
	.read		= vfio_pci_core_read,
	.write		= vfio_pci_core_write,
	.mmap		= vfio_pci_core_mmap,
	.request	= vfio_pci_core_request,
	.match		= vfio_pci_core_match,
#ifdef SLOW_HAVE_MATCH_TOKEN_UUID
	/* Where the op exists vfio_pci_core_match calls it unconditionally. */
	.match_token_uuid = vfio_pci_core_match_token_uuid,
#endif
#if IS_ENABLED(CONFIG_IOMMUFD)
	/* Kernels with iommufd (6.2 on) insist on these when it is built. */
	.bind_iommufd	= vfio_iommufd_physical_bind,
	.unbind_iommufd	= vfio_iommufd_physical_unbind,
	.attach_ioas	= vfio_iommufd_physical_attach_ioas,
	.detach_ioas	= vfio_iommufd_physical_detach_ioas,
#endif
};

/* Per-device overrides; the attributes exist only while bound. */
static struct slow_device *dev_to_slow(struct device *dev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(dev);

	return container_of(core, struct slow_device, core);
}

static int slow_parse(const char *buf, int max, int *v)
{
	int ret = kstrtoint(buf, 0, v);

	if (ret)
		return ret;
	return *v < -1 || *v > max ? -EINVAL : 0;
}

static ssize_t close_delay_ms_show(struct device *dev,
				   struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(dev_to_slow(dev)->close_delay_ms));
}

static ssize_t close_delay_ms_store(struct device *dev,
				    struct device_attribute *attr,
				    const char *buf, size_t count)
{
	int v, ret = slow_parse(buf, INT_MAX, &v);

	if (ret)
		return ret;
	WRITE_ONCE(dev_to_slow(dev)->close_delay_ms, v);
	return count;
}
static DEVICE_ATTR_RW(close_delay_ms);

static ssize_t skip_reset_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%d\n", READ_ONCE(dev_to_slow(dev)->skip_reset));
}

static ssize_t skip_reset_store(struct device *dev,
				struct device_attribute *attr,
				const char *buf, size_t count)
{
	int v, ret = slow_parse(buf, 1, &v);

	if (ret)
		return ret;
	WRITE_ONCE(dev_to_slow(dev)->skip_reset, v);
	return count;
}
static DEVICE_ATTR_RW(skip_reset);

static struct attribute *slow_attrs[] = {
	&dev_attr_close_delay_ms.attr,
	&dev_attr_skip_reset.attr,
	NULL,
};
ATTRIBUTE_GROUPS(slow);

static int slow_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct slow_device *sdev;
	int ret;

	sdev = vfio_alloc_device(slow_device, core.vdev, &pdev->dev, &slow_ops);
	if (IS_ERR(sdev))
		return PTR_ERR(sdev);
	sdev->close_delay_ms = -1;
	sdev->skip_reset = -1;

	dev_set_drvdata(&pdev->dev, &sdev->core);
	ret = vfio_pci_core_register_device(&sdev->core);
	if (ret) {
		vfio_put_device(&sdev->core.vdev);
		return ret;
	}
	return 0;
}

static void slow_remove(struct pci_dev *pdev)
{
	struct vfio_pci_core_device *core = dev_get_drvdata(&pdev->dev);

	vfio_pci_core_unregister_device(core);
	vfio_put_device(&core->vdev);
}

/* Only driver_override=DRIVER_NAME matches this entry. */
static const struct pci_device_id slow_ids[] = {
	{ PCI_DRIVER_OVERRIDE_DEVICE_VFIO(PCI_ANY_ID, PCI_ANY_ID) },
	{}
};

static struct pci_driver slow_driver = {
	.id_table		= slow_ids,
	.probe			= slow_probe,
	.remove			= slow_remove,
	.err_handler		= &vfio_pci_core_err_handlers,
	.dev_groups		= slow_groups,
	.driver_managed_dma	= true,
};

static int __init slow_init(void)
{
	slow_driver.name = driver_name;
	return pci_register_driver(&slow_driver);
}
module_init(slow_init);

static void __exit slow_exit(void)
{
	pci_unregister_driver(&slow_driver);
}
module_exit(slow_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Test-only vfio-pci variant driver with a slow close");
