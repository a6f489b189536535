/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * vfio_release: a generic netlink family that tells userspace when a VFIO
 * device is truly free.
 *
 * A device handed to userspace through VFIO becomes free in three steps,
 * which can be seconds apart:
 *
 *   open      at least one VFIO file for the device is live;
 *   released  the last device file was released and the driver's
 *             close_device, with its final reset attempt, has returned;
 *   free      released, and the device's IOMMU group is no longer claimed
 *             for user DMA: a host driver can bind to the device.
 *
 * Freedom is the whole group's: a free device whose group is claimed again
 * (for another device of it) is reported released until the group is
 * given back (VFIO_RELEASE_CMD_GROUP_CLAIMED).
 *
 * The iommufd path (a device opened through its VFIO cdev,
 * /dev/vfio/devices/vfioN, and bound to an iommufd; or through a group
 * whose container is an iommufd) gives the same events. There the group is
 * claimed one device at a time, not by a group file: from the device's
 * bind (VFIO_DEVICE_BIND_IOMMUFD) on the cdev, or its first
 * VFIO_GROUP_GET_DEVICE_FD on the group, to its last close. The group is
 * claimed while any of its devices is bound or open
 * (VFIO_RELEASE_CMD_GROUP_CLAIMED at the first, _GROUP_RELEASED after
 * the last), and a device is free once the release of the file that
 * closed it last has returned, unless another device of its group is
 * still bound (cdev) or open (group). A cdev file that was opened but
 * never bound is not an open of the device and is not reported; but as
 * vfio-pci's unbind waits for it too, on the iommufd path a device that
 * such a file holds when its last close ends, or when the module loads,
 * stays released until a reading of the kernel's state after that file
 * is closed (a tenth of a second later; longer while the device's reset
 * set is busy). So does a device whose last close the module could not
 * follow (see VFIO_RELEASE_RESYNC_PROBE_MISSED), or whose bind failed
 * after claiming it, until a reading shows that no file holds it.
 *
 * The module watches devices driven by vfio-pci and by variant drivers
 * built on vfio_pci_core. Devices that were bound or open before the module
 * loaded are read from the kernel's own state at load time; a state the
 * module cannot establish is reported as VFIO_RELEASE_STATE_UNKNOWN, never
 * as free.
 *
 * Family VFIO_RELEASE_GENL_NAME, version VFIO_RELEASE_GENL_VERSION.
 * Multicast group VFIO_RELEASE_MCGRP_EVENTS carries the notifications.
 *
 * Requests
 * --------
 *
 * VFIO_RELEASE_CMD_GET_DEVICE, NLM_F_REQUEST:
 *   VFIO_RELEASE_A_DEVICE: NUL-terminated device name, e.g. "0000:01:00.0"
 * Reply: one device record (below). Errors: -EINVAL with an extended ack
 * naming the attribute when it is missing or malformed, -ENODEV when the
 * device is not driven by a vfio_pci_core driver.
 *
 * VFIO_RELEASE_CMD_GET_DEVICE, NLM_F_REQUEST | NLM_F_DUMP: no attributes.
 * Reply: one device record per watched device.
 *
 * Both see every transition that happened before the request. While the
 * module re-reads every device (at load, after a lost event) a request
 * may wait up to a second and then fail with -EAGAIN: ask again. A dump
 * that saw devices come or go between its parts is marked
 * NLM_F_DUMP_INTR.
 *
 * A device record (replies and device notifications):
 *
 *   VFIO_RELEASE_A_DEVICE: NUL-terminated string, the device name (the PCI
 *                          address for PCI devices)
 *   VFIO_RELEASE_A_SUBSYSTEM: NUL-terminated string, the bus ("pci")
 *   VFIO_RELEASE_A_PCI_VENDOR: u16
 *   VFIO_RELEASE_A_PCI_DEVICE: u16
 *   VFIO_RELEASE_A_IOMMU_GROUP: u32, the IOMMU group number
 *   VFIO_RELEASE_A_DRIVER: NUL-terminated string, the driver the device was
 *                          bound to when the transition happened
 *   VFIO_RELEASE_A_STATE: u32, enum vfio_release_state
 *   VFIO_RELEASE_A_RESET: u32, enum vfio_release_reset, outcome of the last
 *                         close
 *   VFIO_RELEASE_A_CLOSE_NS: u64, time the last close took, in ns: from
 *                           the start of the release of the last device
 *                           file to the end of the driver's close_device
 *                           (a variant driver's own work and the final
 *                           reset attempt included); 0 when it was not
 *                           measured: a release found by a re-read, one
 *                           whose start the module did not see (the
 *                           kernel log says so, with the hook's misses),
 *                           or a close in an open that failed after the
 *                           driver's open_device
 *   VFIO_RELEASE_A_TIMESTAMP_NS: u64, CLOCK_MONOTONIC time of the last
 *                                transition, in ns
 *   VFIO_RELEASE_A_SEQ: u64, sequence number of the last event about this
 *                       device (the global sequence, see below)
 *   VFIO_RELEASE_A_GENERATION: u64, completed open-to-release cycles
 *   VFIO_RELEASE_A_PID: u32, thread group id of the task whose file release
 *                       ran the last close
 *   VFIO_RELEASE_A_COMM: NUL-terminated string, that task's comm
 *   VFIO_RELEASE_A_OPEN_COUNT: u64, opens seen since the module loaded
 *   VFIO_RELEASE_A_RELEASE_COUNT: u64, releases seen since the module loaded
 *   VFIO_RELEASE_A_FREE_COUNT: u64, times the device became free
 *   VFIO_RELEASE_A_REGISTRATION: u64, this registration of the device:
 *                      unique for the module instance, never reused; a
 *                      device unbound and bound again, or removed and
 *                      added again at the same address, gets a new one
 *                      (when a RESYNC came in between, the kernel offers
 *                      no identity to tell a quick unbind and rebind
 *                      from nothing happening: both may keep the id)
 *   VFIO_RELEASE_A_OPENER_PID: u32, thread group id of the task that last
 *                      opened the device (only while it is open, and only
 *                      when the open was seen)
 *   VFIO_RELEASE_A_OPENER_COMM: NUL-terminated string, that task's comm
 *
 * Generations of a device name never go backwards while the module is
 * loaded: a new registration at the same address continues from the
 * generation its predecessor had.
 *
 * Attributes that do not apply (no close seen yet, not a PCI device) are
 * left out. 64-bit attributes are padded with VFIO_RELEASE_A_PAD.
 *
 * Notifications (multicast, group VFIO_RELEASE_MCGRP_EVENTS)
 * ----------------------------------------------------------
 *
 * VFIO_RELEASE_CMD_DEVICE_OPENED, _DEVICE_RELEASED, _DEVICE_FREE and
 * _DEVICE_RESET carry a device record as above, as it stands after the
 * transition. DEVICE_RESET reports that a bus reset run at a sibling's
 * close (devices sharing a slot or bus reset domain) has now reset this
 * device, whose own close had left VFIO_RELEASE_RESET_BUS_PENDING.
 *
 * VFIO_RELEASE_CMD_DEVICE_REMOVED: the device left the module's watch (its
 * vfio_pci_core driver let go of it: unbound, hot-removed, a VF destroyed,
 * the variant driver unloaded; or a rescan found it gone). Carries the
 * device record as it last stood. Nothing more is sent about this
 * registration; GET answers -ENODEV until the device is bound again.
 *
 * VFIO_RELEASE_CMD_DEVICE_CLAIMED: a free device is not free any more: its
 * IOMMU group was claimed for user DMA (by its own user about to open it,
 * or for another device of the group). Carries the device record, state
 * VFIO_RELEASE_STATE_RELEASED; the generation does not change.
 *
 * VFIO_RELEASE_CMD_GROUP_RELEASED: an IOMMU group's DMA ownership was given
 * back.
 *   VFIO_RELEASE_A_IOMMU_GROUP: u32
 *   VFIO_RELEASE_A_TIMESTAMP_NS: u64
 *   VFIO_RELEASE_A_SEQ: u64
 *
 * VFIO_RELEASE_CMD_GROUP_CLAIMED: an IOMMU group was claimed for user DMA
 * (a VFIO container was set on it). Its devices that were free are not
 * any more: a host driver would be refused. Each of them then gets a
 * VFIO_RELEASE_CMD_DEVICE_CLAIMED notification.
 *   VFIO_RELEASE_A_IOMMU_GROUP: u32
 *   VFIO_RELEASE_A_TIMESTAMP_NS: u64
 *   VFIO_RELEASE_A_SEQ: u64
 *
 * VFIO_RELEASE_CMD_RESYNC: the module could not observe or could not
 * deliver something. Listeners must re-read the state of the devices they
 * care about (GET or dump).
 *   VFIO_RELEASE_A_RESYNC_REASON: u32, enum vfio_release_resync_reason
 *   VFIO_RELEASE_A_LOST: u64, events lost or unobserved since load
 *   VFIO_RELEASE_A_TIMESTAMP_NS: u64
 *   VFIO_RELEASE_A_SEQ: u64
 *
 * Every message (replies and notifications) carries
 *   VFIO_RELEASE_A_INSTANCE: u64, a random id chosen at each module load.
 * A listener that sees it change knows the module was reloaded: sequence
 * numbers restart and every device must be read again.
 *
 * Every notification takes the next value of one global 64-bit sequence,
 * starting at 1 when the module loads, in the order the transitions
 * happened. A listener that subscribes first and then reads a device's
 * state can discard events whose VFIO_RELEASE_A_SEQ is not greater than the
 * record's, and knows from VFIO_RELEASE_A_GENERATION whether the device
 * was released and opened again in between.
 *
 * The same transitions to released and free are sent as a KOBJ_CHANGE
 * uevent on the device with these keys:
 *   VFIO_RELEASE_STATE=released|free
 *   VFIO_RELEASE_GROUP=<iommu group>
 *   VFIO_RELEASE_RESET=<reset name, see vfio_release_reset>
 *   VFIO_RELEASE_CLOSE_NS=<ns>
 *   VFIO_RELEASE_SEQ=<seq>
 *   VFIO_RELEASE_GENERATION=<generation>
 *   VFIO_RELEASE_REGISTRATION=<registration>
 *   VFIO_RELEASE_EVENT=released|free|claimed (the notification's name)
 * A device that becomes not free through a claim of its group
 * (VFIO_RELEASE_CMD_DEVICE_CLAIMED) gets one too, with state released.
 *
 * Privilege: GET, dump and joining the events group need CAP_NET_ADMIN
 * (the records name the processes that use devices); -EPERM otherwise.
 *
 * Compatibility: enums and attributes are only ever appended; listeners
 * ignore attributes they do not know.
 */

#ifndef _UAPI_LINUX_VFIO_RELEASE_H
#define _UAPI_LINUX_VFIO_RELEASE_H

#define VFIO_RELEASE_GENL_NAME		"vfio_release"
#define VFIO_RELEASE_GENL_VERSION	1
#define VFIO_RELEASE_MCGRP_EVENTS	"events"

/* Longest device name, including its terminating NUL. */
#define VFIO_RELEASE_DEVICE_NAME_MAX	64

enum vfio_release_cmd {
	VFIO_RELEASE_CMD_UNSPEC,
	VFIO_RELEASE_CMD_GET_DEVICE,
	VFIO_RELEASE_CMD_DEVICE_OPENED,
	VFIO_RELEASE_CMD_DEVICE_RELEASED,
	VFIO_RELEASE_CMD_GROUP_RELEASED,
	VFIO_RELEASE_CMD_DEVICE_FREE,
	VFIO_RELEASE_CMD_DEVICE_RESET,
	VFIO_RELEASE_CMD_RESYNC,
	VFIO_RELEASE_CMD_GROUP_CLAIMED,
	VFIO_RELEASE_CMD_DEVICE_REMOVED,
	VFIO_RELEASE_CMD_DEVICE_CLAIMED,

	__VFIO_RELEASE_CMD_MAX
};

#define VFIO_RELEASE_CMD_MAX (__VFIO_RELEASE_CMD_MAX - 1)

enum vfio_release_attr {
	VFIO_RELEASE_A_UNSPEC,
	VFIO_RELEASE_A_PAD,
	VFIO_RELEASE_A_DEVICE,
	VFIO_RELEASE_A_SUBSYSTEM,
	VFIO_RELEASE_A_PCI_VENDOR,
	VFIO_RELEASE_A_PCI_DEVICE,
	VFIO_RELEASE_A_IOMMU_GROUP,
	VFIO_RELEASE_A_DRIVER,
	VFIO_RELEASE_A_STATE,
	VFIO_RELEASE_A_RESET,
	VFIO_RELEASE_A_CLOSE_NS,
	VFIO_RELEASE_A_TIMESTAMP_NS,
	VFIO_RELEASE_A_SEQ,
	VFIO_RELEASE_A_GENERATION,
	VFIO_RELEASE_A_PID,
	VFIO_RELEASE_A_COMM,
	VFIO_RELEASE_A_OPEN_COUNT,
	VFIO_RELEASE_A_RELEASE_COUNT,
	VFIO_RELEASE_A_FREE_COUNT,
	VFIO_RELEASE_A_RESYNC_REASON,
	VFIO_RELEASE_A_LOST,
	VFIO_RELEASE_A_INSTANCE,
	VFIO_RELEASE_A_REGISTRATION,
	VFIO_RELEASE_A_OPENER_PID,
	VFIO_RELEASE_A_OPENER_COMM,

	__VFIO_RELEASE_A_LAST
};

#define VFIO_RELEASE_A_MAX (__VFIO_RELEASE_A_LAST - 1)

enum vfio_release_state {
	/* The module could not establish the state: treat as not free. */
	VFIO_RELEASE_STATE_UNKNOWN,
	VFIO_RELEASE_STATE_OPEN,
	VFIO_RELEASE_STATE_RELEASED,
	VFIO_RELEASE_STATE_FREE,
};

/* Names used in uevents and by tools: "unknown", "open", "released", "free" */

enum vfio_release_reset {
	/* No close observed since the module loaded. */
	VFIO_RELEASE_RESET_UNKNOWN,
	/* The device's own reset method (function reset) ran at close. */
	VFIO_RELEASE_RESET_FUNCTION,
	/*
	 * The device shares a slot or bus reset domain with devices that are
	 * still open: the bus reset runs when the last of them closes.
	 */
	VFIO_RELEASE_RESET_BUS_PENDING,
	/*
	 * The device can be reset but was not: the device lock was contended
	 * or the reset failed. The device keeps the state its user left.
	 */
	VFIO_RELEASE_RESET_SKIPPED,
	/* The device has no reset method and no bus reset was possible. */
	VFIO_RELEASE_RESET_NONE,
	/* A slot or bus reset of the device's reset domain ran. */
	VFIO_RELEASE_RESET_BUS,
};

/* Names used in uevents: "unknown", "function", "bus-pending", "skipped",
 * "none", "bus"
 */

enum vfio_release_resync_reason {
	VFIO_RELEASE_RESYNC_UNSPEC,
	/*
	 * A kernel probe could not run (too many concurrent closes), or, on
	 * the iommufd path, a release found no room to be followed.
	 */
	VFIO_RELEASE_RESYNC_PROBE_MISSED,
	/* The module's event queue was full. */
	VFIO_RELEASE_RESYNC_QUEUE_FULL,
	/* A notification could not be allocated or sent. */
	VFIO_RELEASE_RESYNC_NO_MEMORY,
	/* The hooks were re-armed after vfio_pci_core was reloaded. */
	VFIO_RELEASE_RESYNC_REARMED,
};

#endif /* _UAPI_LINUX_VFIO_RELEASE_H */
