// SPDX-License-Identifier: LGPL-2.1-or-later
/* Names of the uapi's values, device-name parsing and error messages. */

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
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

VR_EXPORT const char *vfio_release_notice_name(enum vfio_release_notice notice)
{
	static const char *const names[] = {
		[VFIO_RELEASE_NOTICE_NONE] = "none",
		[VFIO_RELEASE_NOTICE_OVERFLOW] = "socket-overflow",
		[VFIO_RELEASE_NOTICE_MODULE_UNLOADED] = "module-unloaded",
		[VFIO_RELEASE_NOTICE_MODULE_LOADED] = "module-loaded",
	};

	return VR_NAME(names, notice);
}

VR_EXPORT const char *vfio_release_attr_name(enum vfio_release_attr attr)
{
	static const char *const names[] = {
		[VFIO_RELEASE_A_DEVICE] = "device",
		[VFIO_RELEASE_A_SUBSYSTEM] = "subsystem",
		[VFIO_RELEASE_A_PCI_VENDOR] = "pci_vendor",
		[VFIO_RELEASE_A_PCI_DEVICE] = "pci_device",
		[VFIO_RELEASE_A_IOMMU_GROUP] = "iommu_group",
		[VFIO_RELEASE_A_DRIVER] = "driver",
		[VFIO_RELEASE_A_STATE] = "state",
		[VFIO_RELEASE_A_RESET] = "reset",
		[VFIO_RELEASE_A_CLOSE_NS] = "close_ns",
		[VFIO_RELEASE_A_TIMESTAMP_NS] = "timestamp_ns",
		[VFIO_RELEASE_A_SEQ] = "seq",
		[VFIO_RELEASE_A_GENERATION] = "generation",
		[VFIO_RELEASE_A_PID] = "pid",
		[VFIO_RELEASE_A_COMM] = "comm",
		[VFIO_RELEASE_A_OPEN_COUNT] = "open_count",
		[VFIO_RELEASE_A_RELEASE_COUNT] = "release_count",
		[VFIO_RELEASE_A_FREE_COUNT] = "free_count",
		[VFIO_RELEASE_A_RESYNC_REASON] = "resync_reason",
		[VFIO_RELEASE_A_LOST] = "lost",
		[VFIO_RELEASE_A_INSTANCE] = "instance",
		[VFIO_RELEASE_A_REGISTRATION] = "registration",
		[VFIO_RELEASE_A_OPENER_PID] = "opener_pid",
		[VFIO_RELEASE_A_OPENER_COMM] = "opener_comm",
	};

	if ((unsigned int)attr >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[attr];
}

/* Exactly min..max hex digits at *p, which then points past them. */
static bool vr_hex(const char **p, int min, int max, unsigned int *value)
{
	int n = 0;

	*value = 0;
	while (n < max && isxdigit((unsigned char)**p)) {
		*value = *value * 16 + (isdigit((unsigned char)**p) ?
				       **p - '0' : tolower((unsigned char)**p) - 'a' + 10);
		(*p)++;
		n++;
	}
	return n >= min && !isxdigit((unsigned char)**p);
}

static bool vr_char(const char **p, char c)
{
	if (**p != c)
		return false;
	(*p)++;
	return true;
}

/*
 * The kernel names PCI devices "%04x:%02x:%02x.%d": a domain of at least
 * four digits (five for VMD's 0x10000 and up), two for bus and slot, one
 * for the function. Short forms drop the domain, never digits.
 */
VR_EXPORT int vfio_release_parse_device(const char *arg, char *out, size_t size)
{
	unsigned int domain = 0, bus, slot, func;
	const char *p = arg, *colon;

	if (!arg)
		return -EINVAL;
	colon = strchr(arg, ':');
	if (colon && strchr(colon + 1, ':')) {
		/* Five digits only for domains that need them. */
		if (!vr_hex(&p, 4, 5, &domain) || !vr_char(&p, ':') ||
		    (p - arg == 6 && domain < 0x10000))
			return -EINVAL;
	}
	if (!vr_hex(&p, 2, 2, &bus) || !vr_char(&p, ':') ||
	    !vr_hex(&p, 2, 2, &slot) || !vr_char(&p, '.') ||
	    !vr_hex(&p, 1, 1, &func) || *p)
		return -EINVAL;
	if (slot > 0x1f || func > 7)
		return -EINVAL;
	if (!out || snprintf(out, size, "%04x:%02x:%02x.%x", domain, bus, slot, func) >=
		    (int)size)
		return -ENOSPC;
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
	case -ENODATA:
		return "the event or message does not carry that (or not yet)";
	case -EPROTO:
		return "the answer did not match the request (or the peer is not a QMP monitor)";
	case -EAGAIN:
		return "the module is re-reading its devices: try again";
	case -ETIME:
		return "the kernel did not answer";
	case -ESHUTDOWN:
		return "the vfio_release module is being unloaded";
	/* The QMP client's (vfio-release-qmp.h); none has a kernel meaning. */
	case -ECONNRESET:
		return "QEMU closed its monitor (it exited, or was killed)";
	case -EBADMSG:
		return "malformed message: not a JSON object (QMP)";
	case -EMSGSIZE:
		return "message too long, or too costly to parse";
	case -EREMOTEIO:
		return "QEMU answered the command with an error";
	case -ENOBUFS:
		return "out of buffer space: too many messages kept (dispatch them)";
	case -ENXIO:
		return "QEMU has no such device";
	case -EMEDIUMTYPE:
		return "not a vfio-pci device (in QEMU)";
	case -ENOMEDIUM:
		return "QEMU does not know the host device (passed as a file descriptor, or an mdev)";
	default:
		return strerror(-err);
	}
}

/*
 * libnl folds errno values it has no code for into NLE_FAILURE: the
 * caller's errno, cleared before the call, still has the real one.
 */
int vr_errno_from_nl(int nlerr)
{
	static const int map[] = {
		[NLE_INTR] = EINTR,
		[NLE_BAD_SOCK] = EBADF,
		[NLE_AGAIN] = EAGAIN,
		[NLE_NOMEM] = ENOMEM,
		[NLE_EXIST] = EEXIST,
		[NLE_INVAL] = EINVAL,
		[NLE_RANGE] = ERANGE,
		[NLE_MSGSIZE] = EMSGSIZE,
		[NLE_OPNOTSUPP] = EOPNOTSUPP,
		[NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
		[NLE_OBJ_NOTFOUND] = ENOENT,
		[NLE_NOATTR] = ENODATA,
		[NLE_MISSING_ATTR] = EINVAL,
		[NLE_AF_MISMATCH] = EAFNOSUPPORT,
		[NLE_SEQ_MISMATCH] = EPROTO,
		[NLE_MSG_OVERFLOW] = EMSGSIZE,
		[NLE_MSG_TRUNC] = EMSGSIZE,
		[NLE_NOADDR] = EADDRNOTAVAIL,
		[NLE_SRCRT_NOSUPPORT] = EOPNOTSUPP,
		[NLE_MSG_TOOSHORT] = EINVAL,
		[NLE_MSGTYPE_NOSUPPORT] = EOPNOTSUPP,
		[NLE_OBJ_MISMATCH] = EINVAL,
		[NLE_NOCACHE] = ENOENT,
		[NLE_BUSY] = EBUSY,
		[NLE_PROTO_MISMATCH] = EPROTONOSUPPORT,
		[NLE_NOACCESS] = EACCES,
		[NLE_PERM] = EPERM,
		[NLE_PKTLOC_FILE] = ENOENT,
		[NLE_PARSE_ERR] = EINVAL,
		[NLE_NODEV] = ENODEV,
		[NLE_IMMUTABLE] = EROFS,
		[NLE_DUMP_INTR] = EINTR,
		[NLE_ATTRSIZE] = EINVAL,
	};
	unsigned int code = nlerr < 0 ? -nlerr : nlerr;

	if (!code)
		return 0;
	if (code < sizeof(map) / sizeof(map[0]) && map[code])
		return -map[code];
	return errno > 0 ? -errno : -EIO;
}
