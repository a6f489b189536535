/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_FAMILY_H
#define VFIO_RELEASE_FAMILY_H

#include <linux/netlink.h>

#include "handle.h"

/*
 * The module's family id and events group into vr->family and
 * vr->family_group; -ENOPKG (and vr->family -1) when it is not
 * registered. autoload: ask by name, which lets the kernel load the
 * module; only vfio_release_open() does.
 */
int vr_family_lookup(struct vfio_release *vr, bool autoload);
/* Joins vr->family_group on the event socket, when there is one. */
int vr_family_join(struct vfio_release *vr);
/* After the module may have come back: look it up (no autoload), join. */
int vr_family_follow(struct vfio_release *vr);
/* The controller's "notify" group. */
int vr_controller_group(struct vfio_release *vr, int *group);
/*
 * Whether a controller message is about family name; if so its id and
 * the id of its group named group (0 when it has none).
 */
int vr_family_parse(const struct nlmsghdr *hdr, const char *name, const char *group,
		    int *id, int *group_id);

#endif
