// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_release: announces when a VFIO device is truly free for its host
 * driver. See uapi/linux/vfio_release.h.
 */

#include <linux/module.h>

#include "../uapi/linux/vfio_release.h"
#include "hooks.h"
#include "netlink.h"
#include "queue.h"
#include "registry.h"
#include "scan.h"
#include "version.h"

static int __init vr_init(void)
{
	int ret;

	ret = vr_queue_init();
	if (ret)
		return ret;
	ret = vr_netlink_init();
	if (ret) {
		pr_err("cannot register generic netlink family %s (%d)\n",
		       VFIO_RELEASE_GENL_NAME, ret);
		goto err_queue;
	}
	ret = vr_hooks_init();
	if (ret)
		goto err_netlink;
	vr_scan_all();
	pr_info("version %s loaded: watching vfio_pci_core devices\n",
		VFIO_RELEASE_VERSION);
	return 0;

err_netlink:
	vr_netlink_exit();
err_queue:
	vr_queue_exit();
	return ret;
}

static void __exit vr_exit(void)
{
	vr_hooks_exit();
	/* Applies, and announces, what the hooks recorded last. */
	vr_queue_exit();
	vr_netlink_exit();
	vr_registry_exit();
	pr_info("unloaded\n");
}

module_init(vr_init);
module_exit(vr_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Announces when a VFIO device is truly free");
MODULE_VERSION(VFIO_RELEASE_VERSION);
MODULE_SOFTDEP("pre: vfio-pci-core");
