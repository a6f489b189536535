// SPDX-License-Identifier: GPL-2.0
/*
 * KOBJ_CHANGE uevents on the device itself, so udev rules can match the
 * released and free transitions without a netlink listener.
 */

#include <linux/device.h>
#include <linux/kobject.h>
#include <linux/slab.h>

#include "names.h"
#include "registry.h"
#include "uevent.h"

#define VR_UEVENT_KEYS 8
#define VR_UEVENT_KEY_LEN 48

int vr_uevent_send(enum vfio_release_cmd cmd, const struct vr_device *vd)
{
	const char *event = vr_uevent_event_name(cmd);
	char (*buf)[VR_UEVENT_KEY_LEN];
	char *envp[VR_UEVENT_KEYS + 1];
	int i = 0, k, ret;

	if (!event)
		return 0;
	buf = kcalloc(VR_UEVENT_KEYS, VR_UEVENT_KEY_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_STATE=%s",
		 vr_state_name(vd->state));
	if (vd->group)
		snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_GROUP=%u",
			 vd->group->id);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_RESET=%s",
		 vr_reset_name(vd->reset));
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_CLOSE_NS=%llu",
		 vd->close_ns);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_SEQ=%llu",
		 vd->seq);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_GENERATION=%llu",
		 vd->generation);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_REGISTRATION=%llu",
		 vd->registration);
	snprintf(buf[i++], VR_UEVENT_KEY_LEN, "VFIO_RELEASE_EVENT=%s", event);
	for (k = 0; k < i; k++)
		envp[k] = buf[k];
	envp[i] = NULL;

	ret = kobject_uevent_env(&vd->dev->kobj, KOBJ_CHANGE, envp);
	kfree(buf);
	return ret;
}
