/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_INTERNAL_H
#define VFIO_RELEASE_INTERNAL_H

#include <netlink/msg.h>

#include "vfio-release.h"

#define VR_EXPORT __attribute__((visibility("default")))

/* libnl's NLE_* codes become errno values here, and only here. */
int vr_errno_from_nl(int nlerr);

/* Decodes a vfio_release generic netlink message; -EINVAL if it is not. */
int vr_decode(struct nl_msg *msg, struct vfio_release_event *ev);

#endif
