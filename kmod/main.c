// SPDX-License-Identifier: GPL-2.0
/*
 * vfio_release: announces when a VFIO device is truly free for its host
 * driver. See uapi/linux/vfio_release.h.
 */

#include <linux/module.h>

#include "family.h"
#include "hooks.h"
#include "pipeline.h"
#include "registry.h"
#include "version.h"

/*
 * The family comes before the hooks, so that nothing is announced to a
 * family that is not there; requests made before the first scan wait for
 * it, and are let go (-ESHUTDOWN) by the pipeline's exit on any error.
 */
static int __init vr_init(void)
{
	int ret;

	ret = vr_registry_init();
	if (ret)
		return ret;
	ret = vr_pipeline_init();
	if (ret)
		goto err_registry;
	ret = vr_family_init();
	if (ret)
		goto err_pipeline;
	ret = vr_hooks_init();
	if (ret)
		goto err_family;
	vr_pipeline_start();
	pr_info("version %s loaded: watching vfio_pci_core devices\n",
		VFIO_RELEASE_VERSION);
	return 0;

err_family:
	vr_pipeline_exit();
	vr_family_exit();
	vr_registry_exit();
	return ret;
err_pipeline:
	vr_pipeline_exit();
err_registry:
	vr_registry_exit();
	return ret;
}

static void __exit vr_exit(void)
{
	vr_hooks_exit();
	/* Applies, and announces, what the hooks recorded last. */
	vr_pipeline_exit();
	vr_family_exit();
	vr_registry_exit();
	pr_info("unloaded\n");
}

module_init(vr_init);
module_exit(vr_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Announces when a VFIO device is truly free");
MODULE_VERSION(VFIO_RELEASE_VERSION);
MODULE_SOFTDEP("pre: vfio-pci-core");
