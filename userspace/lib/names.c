// SPDX-License-Identifier: LGPL-2.1-or-later
/* Names of the uapi's values, device-name parsing and error messages. */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <netlink/errno.h>

#include "internal.h"

#define VR_NAME(table, value)						\
	((unsigned int)(value) < sizeof(table) / sizeof((table)[0]) &&	\
	 (table)[value] ? (table)[value] : "unknown")

VR_EXPORT const char *vfio_release_state_name(enum vfio_release_state state)
{
	static const char *const names[] = {
		[VFIO_RELEASE_STATE_UNKNOWN] = "unknown",
		[VFIO_RELEASE_STATE_OPEN] = "open",
		[VFIO_RELEASE_STATE_RELEASED] = "released",
		[VFIO_RELEASE_STATE_FREE] = "free",
	};

	return VR_NAME(names, state);
}

VR_EXPORT const char *vfio_release_reset_name(enum vfio_release_reset reset)
{
	static const char *const names[] = {
		[VFIO_RELEASE_RESET_UNKNOWN] = "unknown",
		[VFIO_RELEASE_RESET_FUNCTION] = "function",
		[VFIO_RELEASE_RESET_BUS_PENDING] = "bus-pending",
		[VFIO_RELEASE_RESET_SKIPPED] = "skipped",
		[VFIO_RELEASE_RESET_NONE] = "none",
		[VFIO_RELEASE_RESET_BUS] = "bus",
	};

	return VR_NAME(names, reset);
}

VR_EXPORT const char *vfio_release_event_name(enum vfio_release_cmd type)
{
	static const char *const names[] = {
		[VFIO_RELEASE_CMD_GET_DEVICE] = "device",
		[VFIO_RELEASE_CMD_DEVICE_OPENED] = "opened",
		[VFIO_RELEASE_CMD_DEVICE_RELEASED] = "released",
		[VFIO_RELEASE_CMD_GROUP_RELEASED] = "group-released",
		[VFIO_RELEASE_CMD_DEVICE_FREE] = "free",
		[VFIO_RELEASE_CMD_DEVICE_RESET] = "reset",
		[VFIO_RELEASE_CMD_RESYNC] = "resync",
		[VFIO_RELEASE_CMD_GROUP_CLAIMED] = "group-claimed",
		[VFIO_RELEASE_CMD_DEVICE_REMOVED] = "removed",
		[VFIO_RELEASE_CMD_DEVICE_CLAIMED] = "claimed",
	};

	return VR_NAME(names, type);
}

VR_EXPORT const char *
vfio_release_resync_name(enum vfio_release_resync_reason reason)
{
	static const char *const names[] = {
		[VFIO_RELEASE_RESYNC_UNSPEC] = "unspecified",
		[VFIO_RELEASE_RESYNC_PROBE_MISSED] = "probe-missed",
		[VFIO_RELEASE_RESYNC_QUEUE_FULL] = "queue-full",
		[VFIO_RELEASE_RESYNC_NO_MEMORY] = "no-memory",
		[VFIO_RELEASE_RESYNC_REARMED] = "rearmed",
	};

	return VR_NAME(names, reason);
}

VR_EXPORT int vfio_release_parse_device(const char *arg,
					char out[VFIO_RELEASE_DEVICE_NAME_MAX])
{
	unsigned int domain = 0, bus, slot, func;
	char tail;

	if (sscanf(arg, "%4x:%2x:%2x.%1x%c", &domain, &bus, &slot, &func,
		   &tail) != 4 &&
	    (domain = 0, sscanf(arg, "%2x:%2x.%1x%c", &bus, &slot, &func,
				&tail) != 3))
		return -EINVAL;
	/* sscanf skips blanks and signs; a PCI address has neither. */
	if (strspn(arg, "0123456789abcdefABCDEF:.") != strlen(arg))
		return -EINVAL;
	if (slot > 0x1f || func > 7)
		return -EINVAL;
	snprintf(out, VFIO_RELEASE_DEVICE_NAME_MAX, "%04x:%02x:%02x.%x",
		 domain, bus, slot, func);
	return 0;
}

VR_EXPORT const char *vfio_release_strerror(int err)
{
	switch (err) {
	case -ENOPKG:
		return "the vfio_release kernel module is not loaded (modprobe vfio_release)";
	case -ENODEV:
		return "device not watched: it is not bound to vfio-pci (or another vfio_pci_core driver)";
	case -ETIMEDOUT:
		return "timed out";
	case -EPERM:
		return "needs CAP_NET_ADMIN (run as root)";
	case -EACCES:
		return "permission denied (run as root)";
	default:
		return strerror(-err);
	}
}

int vr_errno_from_nl(int nlerr)
{
	switch (nlerr < 0 ? -nlerr : nlerr) {
	case 0:
		return 0;
	case NLE_AGAIN:
		return -EAGAIN;
	case NLE_NOMEM:
		return -ENOMEM;
	case NLE_INVAL:
	case NLE_MSG_TOOSHORT:
	case NLE_MSG_TRUNC:
		return -EINVAL;
	case NLE_RANGE:
		return -ERANGE;
	case NLE_PERM:
		return -EPERM;
	case NLE_NOACCESS:
		return -EACCES;
	case NLE_OBJ_NOTFOUND:
		return -ENOENT;
	case NLE_NODEV:
		return -ENODEV;
	case NLE_INTR:
		return -EINTR;
	case NLE_OPNOTSUPP:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}
