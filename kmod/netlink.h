/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_NETLINK_H
#define _VR_NETLINK_H

#include <linux/types.h>

#include "../uapi/linux/vfio_release.h"

struct vr_device;

int vr_netlink_init(void);
void vr_netlink_exit(void);

/* Multicast notifications; 0, or -errno when one could not be sent. */
int vr_notify_device(enum vfio_release_cmd cmd, const struct vr_device *vd);
int vr_notify_group(enum vfio_release_cmd cmd, u32 group, u64 timestamp_ns,
		    u64 seq);
int vr_notify_resync(enum vfio_release_resync_reason reason, u64 lost,
		     u64 seq);

#endif
