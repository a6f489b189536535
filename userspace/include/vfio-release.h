/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfio-release: know when a VFIO device is truly free.
 *
 * All functions that can fail return a negative errno. Two values have a
 * meaning of their own:
 *   -ENOPKG     the vfio_release kernel module is not loaded
 *   -ETIMEDOUT  a wait ran out of time
 *   -EPERM      GET, dump and subscribing need CAP_NET_ADMIN
 * vfio_release_strerror() turns any of them into a message.
 */
#ifndef VFIO_RELEASE_H
#define VFIO_RELEASE_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/vfio_release.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfio_release;

/* One notification or one device record, decoded. */
struct vfio_release_event {
	enum vfio_release_cmd type;	/* VFIO_RELEASE_CMD_GET_DEVICE for records */
	char device[VFIO_RELEASE_DEVICE_NAME_MAX];
	char subsystem[32];
	char driver[64];
	char comm[16];
	bool has_group;
	uint32_t iommu_group;
	bool has_pci_id;
	uint16_t pci_vendor;
	uint16_t pci_device;
	enum vfio_release_state state;
	enum vfio_release_reset reset;
	bool has_close;			/* close_ns, pid and comm are set */
	uint64_t close_ns;
	uint32_t pid;
	uint64_t timestamp_ns;
	uint64_t seq;
	uint64_t generation;
	uint64_t open_count;
	uint64_t release_count;
	uint64_t free_count;
	enum vfio_release_resync_reason resync_reason;
	uint64_t lost;
	/*
	 * Set on a RESYNC made by the library itself because the socket
	 * overflowed and notifications were dropped.
	 */
	bool local_overflow;
	/*
	 * Sent by newer modules; 0 (and has_opener false) when the module
	 * does not send them. instance is the module load's random id (it
	 * changes when the module is reloaded), registration the device's
	 * binding to its vfio_pci_core driver (a new one after an unbind and
	 * bind, or a removal and re-add).
	 */
	uint64_t instance;
	uint64_t registration;
	bool has_opener;		/* open, and the open was seen */
	uint32_t opener_pid;
	char opener_comm[16];
};

typedef int (*vfio_release_event_cb)(const struct vfio_release_event *ev,
				     void *arg);

/* Opens a handle: resolves the family; -ENOPKG when it is not there. */
int vfio_release_open(struct vfio_release **out);
void vfio_release_close(struct vfio_release *vr);

/*
 * Joins the events group. Afterwards vfio_release_fd() becomes readable
 * when events are waiting and vfio_release_dispatch() delivers them.
 */
int vfio_release_subscribe(struct vfio_release *vr);
int vfio_release_fd(const struct vfio_release *vr);

/*
 * Delivers every event waiting on the socket, without blocking. When the
 * socket overflowed, delivers a RESYNC with local_overflow set. A callback
 * returning non-zero stops the dispatch and is returned. Otherwise returns
 * the number of events delivered.
 */
int vfio_release_dispatch(struct vfio_release *vr, vfio_release_event_cb cb,
			  void *arg);

/* -ENODEV: the device is not driven by a vfio_pci_core driver. */
int vfio_release_get(struct vfio_release *vr, const char *device,
		     struct vfio_release_event *out);
int vfio_release_dump(struct vfio_release *vr, vfio_release_event_cb cb,
		      void *arg);

/*
 * A race-free wait for devices to reach a state.
 *
 * vfio_release_wait_new() subscribes first and then reads every device's
 * record, so no transition can fall between the two. Events older than a
 * record (by sequence number) are ignored; a resync notice or a socket
 * overflow makes it read the records again. Reaching the target means:
 *   VFIO_RELEASE_STATE_FREE      the device's latest state is free;
 *   VFIO_RELEASE_STATE_RELEASED  its latest state is released or free, or
 *                                it completed an open-to-release cycle
 *                                since the wait began (generation grew),
 *                                even if it was opened again since.
 * A device released and opened again is never taken for free.
 *
 * A notice that the module was reloaded (another VFIO_RELEASE_A_INSTANCE
 * than the records') also makes it read the records again; only cycles
 * seen from then on count for "released".
 *
 * -ENODEV from vfio_release_wait_new(): a device is not watched (not
 * bound to a vfio_pci_core driver). -ENODEV from vfio_release_wait_process()
 * or _run(): a device that had not reached the target left vfio (unbound
 * or removed: VFIO_RELEASE_CMD_DEVICE_REMOVED, or GET no longer answers
 * for it); its vfio_release_wait_record() then has type
 * VFIO_RELEASE_CMD_DEVICE_REMOVED. A device that reached the target and
 * then left does not fail the wait.
 */
struct vfio_release_wait;

int vfio_release_wait_new(struct vfio_release *vr, const char *const *devices,
			  unsigned int count, enum vfio_release_state target,
			  struct vfio_release_wait **out);
/*
 * Handles the events waiting on vfio_release_fd(); returns 1 once every
 * device reached the target, 0 if not yet, or a negative errno.
 */
int vfio_release_wait_process(struct vfio_release *vr,
			      struct vfio_release_wait *w);
bool vfio_release_wait_done(const struct vfio_release_wait *w);
/* Whether the device at index i (order of wait_new) reached the target. */
bool vfio_release_wait_reached(const struct vfio_release_wait *w,
			       unsigned int i);
/* The latest record of the device at index i (order of wait_new). */
const struct vfio_release_event *
vfio_release_wait_record(const struct vfio_release_wait *w, unsigned int i);
void vfio_release_wait_free(struct vfio_release_wait *w);

/*
 * Polls and processes until done or timeout_ms ran out (-ETIMEDOUT; < 0
 * waits forever). The wait stays the caller's, to read its records.
 */
int vfio_release_wait_run(struct vfio_release *vr, struct vfio_release_wait *w,
			  int timeout_ms);
/* All of the above in one blocking call. */
int vfio_release_wait(struct vfio_release *vr, const char *const *devices,
		      unsigned int count, enum vfio_release_state target,
		      int timeout_ms);

/*
 * Canonical PCI address ("0000:01:00.0") from a full or short
 * ("01:00.0") one; -EINVAL for anything else.
 */
int vfio_release_parse_device(const char *arg,
			      char out[VFIO_RELEASE_DEVICE_NAME_MAX]);

const char *vfio_release_strerror(int err);
const char *vfio_release_state_name(enum vfio_release_state state);
const char *vfio_release_reset_name(enum vfio_release_reset reset);
const char *vfio_release_event_name(enum vfio_release_cmd type);
const char *vfio_release_resync_name(enum vfio_release_resync_reason reason);

#ifdef __cplusplus
}
#endif

#endif
