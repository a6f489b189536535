/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_NAMES_H
#define _VR_NAMES_H

#include "../uapi/linux/vfio_release.h"

/* The names the uapi header gives the values, for uevents and logs. */
const char *vr_state_name(enum vfio_release_state state);
const char *vr_reset_name(enum vfio_release_reset reset);
/* Only the device notifications that are also sent as uevents. */
const char *vr_uevent_event_name(enum vfio_release_cmd cmd);

#endif
