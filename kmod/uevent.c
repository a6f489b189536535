// SPDX-License-Identifier: GPL-2.0
/*
 * KOBJ_CHANGE uevents on the device itself, so udev rules can match the
 * released and free transitions without a netlink listener.
 */

#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/slab.h>

#include "registry.h"
#include "uevent.h"

#define VR_UEVENT_KEYS 6
#define VR_UEVENT_KEY_LEN 48

void vr_uevent_send(const struct vr_device *vd)
{
	char (*buf)[VR_UEVENT_KEY_LEN];
	char *envp[VR_UEVENT_KEYS + 1];
	int i = 0;

	buf = kcalloc(VR_UEVENT_KEYS, VR_UEVENT_KEY_LEN, GFP_KERNEL);
	if (!buf)
		return;
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_STATE=%s",
		 vr_state_name(vd->state));
	if (vd->has_group)
		snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_GROUP=%u",
			 vd->group);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_RESET=%s",
		 vr_reset_name(vd->reset));
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_CLOSE_NS=%llu",
		 vd->close_ns);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_SEQ=%llu",
		 vd->seq);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_GENERATION=%llu",
		 vd->generation);
	for (int k = 0; k < i; k++)
		envp[k] = buf[k];
	envp[i] = NULL;

	if (kobject_uevent_env(&vd->dev->kobj, KOBJ_CHANGE, envp))
		dev_warn_ratelimited(vd->dev, "could not send the %s uevent\n",
				     vr_state_name(vd->state));
	kfree(buf);
}
