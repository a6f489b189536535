/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfio-release: know when a VFIO device is truly free.
 *
 * Errors: every function that can fail returns a negative errno (or sets
 * none and returns NULL only where said). Values with a meaning here:
 *   -ENOPKG     the vfio_release kernel module is not loaded
 *   -EPERM      GET, dump and subscribing need CAP_NET_ADMIN
 *   -ENODEV     the device is not (or no longer) watched by the module
 *   -ETIMEDOUT  a wait ran out of time
 *   -ENODATA    an event does not carry the attribute asked for
 *   -EPROTO     the kernel's answer did not match the request
 *   -ETIME      the kernel did not answer a request (within 5 s)
 *   -EAGAIN     the module stayed busy re-reading its devices: ask later
 *   -ESHUTDOWN  the module is being unloaded
 * vfio_release_strerror() turns any of them into a message, and
 * vfio_release_errmsg() gives the kernel's own words (extended ack) for
 * the last request that failed.
 *
 * Threads: a handle and the waits made on it belong to one thread at a
 * time; nothing here locks. Different handles are independent and may be
 * used from different threads at once. Events are immutable and their
 * reference counts atomic: a kept event may be passed to another thread.
 *
 * Callbacks: a callback may take references, make and free waits and
 * send requests (vfio_release_get()), but must not call
 * vfio_release_dispatch(), vfio_release_wait_process() or _run(), or
 * close the handle.
 *
 * ABI: every type is opaque or an enum; symbols are versioned
 * (LIBVFIO_RELEASE_1). New attributes of the kernel's uapi need no new
 * symbol: they are read with vfio_release_event_get_u64/_string().
 */
#ifndef VFIO_RELEASE_H
#define VFIO_RELEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/vfio_release.h>

#ifdef __cplusplus
extern "C" {
#endif

struct vfio_release;
struct vfio_release_event;
struct vfio_release_wait;

/*
 * Events
 * ------
 *
 * One notification or device record from the module, or a notice from the
 * library itself. Reference counted and immutable. An event passed to a
 * callback is valid until the callback returns: take a reference to keep
 * it.
 */

/* What the library itself noticed; VFIO_RELEASE_NOTICE_NONE for the module's messages. */
enum vfio_release_notice {
	VFIO_RELEASE_NOTICE_NONE,
	/*
	 * Type VFIO_RELEASE_CMD_RESYNC: the event socket overflowed and
	 * notifications were dropped. Re-read what you care about.
	 */
	VFIO_RELEASE_NOTICE_OVERFLOW,
	/*
	 * Type VFIO_RELEASE_CMD_UNSPEC: the module was unloaded (its family
	 * went away). Requests fail with -ENOPKG until it is loaded again.
	 */
	VFIO_RELEASE_NOTICE_MODULE_UNLOADED,
	/*
	 * Type VFIO_RELEASE_CMD_RESYNC: the module was loaded (again); the
	 * library joined its events. Every state must be read again.
	 */
	VFIO_RELEASE_NOTICE_MODULE_LOADED,
};

struct vfio_release_event *vfio_release_event_ref(struct vfio_release_event *ev);
/* Drops a reference; returns NULL. NULL is accepted. */
struct vfio_release_event *vfio_release_event_unref(struct vfio_release_event *ev);

/*
 * A message as the kernel sends it (netlink header included), e.g. one
 * recorded earlier: -EINVAL when it is not a vfio_release message.
 */
int vfio_release_event_new_from_message(const void *msg, size_t len,
					struct vfio_release_event **out);

/* VFIO_RELEASE_CMD_GET_DEVICE for records. */
enum vfio_release_cmd vfio_release_event_get_type(const struct vfio_release_event *ev);
enum vfio_release_notice vfio_release_event_get_notice(const struct vfio_release_event *ev);
bool vfio_release_event_has(const struct vfio_release_event *ev,
			    enum vfio_release_attr attr);
/*
 * Any integer attribute (u16, u32, u64), widened. -ENODATA when the event
 * does not carry it, -EINVAL when the attribute is not an integer.
 */
int vfio_release_event_get_u64(const struct vfio_release_event *ev,
			       enum vfio_release_attr attr, uint64_t *value);
/* A string attribute, valid as long as the event. -ENODATA, -EINVAL. */
int vfio_release_event_get_string(const struct vfio_release_event *ev,
				  enum vfio_release_attr attr, const char **value);
/* Shorthands that cannot fail: "" and VFIO_RELEASE_STATE_UNKNOWN when absent. */
const char *vfio_release_event_get_device(const struct vfio_release_event *ev);
enum vfio_release_state vfio_release_event_get_state(const struct vfio_release_event *ev);

/*
 * The handle
 * ----------
 */

/* Resolves the family; -ENOPKG when the module is not loaded. */
int vfio_release_open(struct vfio_release **out);
/* Closes the handle. Waits made on it must be freed first. */
void vfio_release_close(struct vfio_release *vr);

/*
 * Joins the module's events group and the generic netlink controller's
 * notifications (which tell module unload and load). Afterwards
 * vfio_release_fd() becomes readable when events are waiting and
 * vfio_release_dispatch() delivers them. Joining again is a no-op.
 */
int vfio_release_subscribe(struct vfio_release *vr);
/* The one fd to poll for POLLIN; -EBADF before vfio_release_subscribe(). */
int vfio_release_fd(const struct vfio_release *vr);

/*
 * Returns 0 to go on, or a negative errno to stop: the dispatch (or dump)
 * that called it then returns that value.
 */
typedef int (*vfio_release_event_cb)(const struct vfio_release_event *ev,
				     void *arg);

/*
 * Delivers the events waiting on the socket (up to 1024 a call: the fd
 * stays readable when more wait, so poll it level-triggered, not with
 * EPOLLET) without waiting for new ones: first to
 * every wait made on this handle (vfio_release_wait_feed()), then to cb
 * (which may be NULL). Returns how many events were delivered, or a
 * negative errno. An overflow of the socket and the module's unload and
 * load are delivered as notices (vfio_release_event_get_notice()); after a
 * load the handle follows the new module by itself. It sends no request,
 * except one lookup of the family at the kernel's generic netlink
 * controller after an overflow (answered at once).
 */
int vfio_release_dispatch(struct vfio_release *vr, vfio_release_event_cb cb,
			  void *arg);

/*
 * The module's record of one device, a new reference for the caller.
 * -ENODEV: not driven by a vfio_pci_core driver. The answer is checked to
 * be about the device asked for (-EPROTO otherwise).
 *
 * Requests block, for a bounded time: the module answers at once, except
 * while it re-reads every device (at load, after a lost event), when it
 * answers -EAGAIN after at most a second; the library asks again, about
 * ten seconds in all, before returning -EAGAIN. Once the module was
 * unloaded a request never loads it again: only vfio_release_open() may.
 */
int vfio_release_get(struct vfio_release *vr, const char *device,
		     struct vfio_release_event **out);
/*
 * Every watched device's record, delivered to cb once the whole dump was
 * read (so a callback that stops it leaves nothing behind, and a dump the
 * kernel marked interrupted is read again; -EAGAIN when it was every
 * time). Returns the number of records or a negative errno.
 */
int vfio_release_dump(struct vfio_release *vr, vfio_release_event_cb cb,
		      void *arg);
/*
 * The kernel's message (extended ack) for the last request that failed,
 * or NULL. Valid until the next request on the handle.
 */
const char *vfio_release_errmsg(const struct vfio_release *vr);

/*
 * Waits
 * -----
 *
 * A race-free wait for devices to reach a state. vfio_release_wait_new()
 * subscribes first and then reads every device's record, so no transition
 * can fall between the two. Any number of waits can share one handle: each
 * vfio_release_dispatch() feeds them all. Reaching the target means:
 *
 *   VFIO_RELEASE_STATE_FREE      every device is free at the same moment:
 *                                a device that was free and was claimed or
 *                                opened again counts as not free;
 *   VFIO_RELEASE_STATE_RELEASED  each device's state is released or free,
 *                                or it completed an open-to-release cycle
 *                                since the wait began, even if it was
 *                                opened again since.
 *
 * A device that leaves the module's watch (unbound from its vfio driver,
 * hot-removed) short of the target ends the wait: status
 * VFIO_RELEASE_WAIT_GONE. One that was free when it left counts as free.
 */
enum vfio_release_wait_status {
	VFIO_RELEASE_WAIT_PENDING,
	VFIO_RELEASE_WAIT_DONE,
	/*
	 * State may have been lost (a resync, an overflow, a module reload):
	 * call vfio_release_wait_reread() before trusting the wait again.
	 */
	VFIO_RELEASE_WAIT_REREAD,
	/* A device short of the target left vfio; see vfio_release_wait_removed(). */
	VFIO_RELEASE_WAIT_GONE,
};

/*
 * -ENODEV: a device is not watched (not bound to a vfio_pci_core driver).
 * -EINVAL: target is neither RELEASED nor FREE, or count is 0.
 */
int vfio_release_wait_new(struct vfio_release *vr, const char *const *devices,
			  unsigned int count, enum vfio_release_state target,
			  struct vfio_release_wait **out);
void vfio_release_wait_free(struct vfio_release_wait *w);

/*
 * Applies one event, without I/O. Events from any source may be fed, in
 * the order they arrived; an event fed twice changes nothing. Records
 * (type VFIO_RELEASE_CMD_GET_DEVICE, from the caller's own GET or dump)
 * are re-reads: once every device was read again, REREAD ends.
 */
enum vfio_release_wait_status vfio_release_wait_feed(struct vfio_release_wait *w,
						     const struct vfio_release_event *ev);
enum vfio_release_wait_status vfio_release_wait_status(const struct vfio_release_wait *w);
/*
 * Reads every device's record again, one GET each, each asked once: it
 * blocks about a second at most. -ENOPKG (unloaded), -ESHUTDOWN
 * (unloading) or -EAGAIN (busy): the status stays REREAD; try again later
 * or on the notice of the module's load.
 */
int vfio_release_wait_reread(struct vfio_release *vr, struct vfio_release_wait *w);

/*
 * Dispatches, and re-reads when needed: returns 1 once done, 0 if not yet
 * (also while the module is unloaded or still re-reading its devices: the
 * status stays REREAD), -ENODEV once a device left vfio short of the
 * target, or a negative errno.
 */
int vfio_release_wait_process(struct vfio_release *vr, struct vfio_release_wait *w);
/*
 * Polls and processes until done or timeout_ms ran out (-ETIMEDOUT);
 * timeout_ms < 0 waits forever. A re-read that could not be done yet is
 * tried again every second. The wait stays the caller's.
 */
int vfio_release_wait_run(struct vfio_release *vr, struct vfio_release_wait *w,
			  int timeout_ms);
/* All of the above in one blocking call. */
int vfio_release_wait(struct vfio_release *vr, const char *const *devices,
		      unsigned int count, enum vfio_release_state target,
		      int timeout_ms);

/* Per device, by index in the order given to vfio_release_wait_new(). */
unsigned int vfio_release_wait_count(const struct vfio_release_wait *w);
const char *vfio_release_wait_device(const struct vfio_release_wait *w, unsigned int i);
/* Whether the device is at the target now (FREE) or got there (RELEASED). */
bool vfio_release_wait_reached(const struct vfio_release_wait *w, unsigned int i);
/* Whether the device left the module's watch. */
bool vfio_release_wait_removed(const struct vfio_release_wait *w, unsigned int i);
/* The latest record or event about the device (borrowed), or NULL. */
const struct vfio_release_event *
vfio_release_wait_record(const struct vfio_release_wait *w, unsigned int i);

/*
 * Names and parsing
 * -----------------
 */

/*
 * Canonical PCI address ("0000:01:00.0") from a full one (a domain of 4 or
 * 5 hex digits, "10000:e1:00.0" for VMD) or a short one ("01:00.0") into
 * out, size bytes: -EINVAL for anything else, -ENOSPC when it does not
 * fit (VFIO_RELEASE_DEVICE_NAME_MAX always does).
 */
int vfio_release_parse_device(const char *arg, char *out, size_t size);

const char *vfio_release_strerror(int err);
const char *vfio_release_state_name(enum vfio_release_state state);
const char *vfio_release_reset_name(enum vfio_release_reset reset);
const char *vfio_release_event_name(enum vfio_release_cmd type);
const char *vfio_release_resync_name(enum vfio_release_resync_reason reason);
const char *vfio_release_notice_name(enum vfio_release_notice notice);
/* The attribute's uapi name in lower case ("close_ns"), or NULL. */
const char *vfio_release_attr_name(enum vfio_release_attr attr);

#ifdef __cplusplus
}
#endif

#endif
