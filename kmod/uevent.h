/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_UEVENT_H
#define _VR_UEVENT_H

#include "../uapi/linux/vfio_release.h"

struct vr_device;

/*
 * A KOBJ_CHANGE uevent on the device for the notification @cmd, when it is
 * one that has a uevent; 0 or -errno.
 */
int vr_uevent_send(enum vfio_release_cmd cmd, const struct vr_device *vd);

#endif
