/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_UEVENT_H
#define _VR_UEVENT_H

struct vr_device;

void vr_uevent_send(const struct vr_device *vd);

#endif
