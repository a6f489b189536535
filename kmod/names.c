// SPDX-License-Identifier: GPL-2.0
/* The one table of names for the uapi's values. */

#include <linux/kernel.h>

#include "names.h"

static const char * const vr_state_names[] = {
	[VFIO_RELEASE_STATE_UNKNOWN] = "unknown",
	[VFIO_RELEASE_STATE_OPEN] = "open",
	[VFIO_RELEASE_STATE_RELEASED] = "released",
	[VFIO_RELEASE_STATE_FREE] = "free",
};

static const char * const vr_reset_names[] = {
	[VFIO_RELEASE_RESET_UNKNOWN] = "unknown",
	[VFIO_RELEASE_RESET_FUNCTION] = "function",
	[VFIO_RELEASE_RESET_BUS_PENDING] = "bus-pending",
	[VFIO_RELEASE_RESET_SKIPPED] = "skipped",
	[VFIO_RELEASE_RESET_NONE] = "none",
	[VFIO_RELEASE_RESET_BUS] = "bus",
};

const char *vr_state_name(enum vfio_release_state state)
{
	return state < ARRAY_SIZE(vr_state_names) ? vr_state_names[state] : "?";
}

const char *vr_reset_name(enum vfio_release_reset reset)
{
	return reset < ARRAY_SIZE(vr_reset_names) ? vr_reset_names[reset] : "?";
}

const char *vr_uevent_event_name(enum vfio_release_cmd cmd)
{
	switch (cmd) {
	case VFIO_RELEASE_CMD_DEVICE_RELEASED:
		return "released";
	case VFIO_RELEASE_CMD_DEVICE_FREE:
		return "free";
	case VFIO_RELEASE_CMD_DEVICE_CLAIMED:
		return "claimed";
	default:
		return NULL;
	}
}
