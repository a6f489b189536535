/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libvfio-release, QEMU's side: a QMP client, and the matcher that pairs
 * what QEMU says (DEVICE_DELETED, its exit) with what the kernel says (the
 * device is free).
 *
 * QEMU's DEVICE_DELETED and its exit are no proof that a device is free:
 * another process may still hold a VFIO file for it, a sibling of its
 * IOMMU group may still be assigned, or its bus reset may wait for a
 * sibling. The matcher waits for both sides and, while the kernel's side is
 * missing, says why.
 *
 * Conventions are those of vfio-release.h: negative errno returns, opaque
 * types, one thread per connection and per matcher. Symbols are in
 * LIBVFIO_RELEASE_1.1. Errors with a meaning here:
 *   -ECONNRESET  QEMU closed the monitor (it exited, or was killed)
 *   -EBADMSG     QEMU sent something that is not a JSON object
 *   -EMSGSIZE    a message was longer than VFIO_RELEASE_QMP_MESSAGE_MAX
 *   -EPROTO      the peer is not a QMP monitor (no greeting), or an answer
 *                did not fit the question
 *   -EREMOTEIO   QEMU answered a command with an error (its class and
 *                description are in the reply)
 *   -ETIMEDOUT   no answer in time
 */
#ifndef VFIO_RELEASE_QMP_H
#define VFIO_RELEASE_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vfio-release.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The longest message read from or built for a monitor, in bytes. */
#define VFIO_RELEASE_QMP_MESSAGE_MAX (1024 * 1024)

struct vfio_release_qmp;
struct vfio_release_qmp_message;
struct vfio_release_match;

/*
 * Messages
 * --------
 *
 * One event or reply from QEMU, parsed; reference counted and immutable.
 * A message passed to a callback is valid until the callback returns.
 */
struct vfio_release_qmp_message *
vfio_release_qmp_message_ref(struct vfio_release_qmp_message *m);
/* Drops a reference; returns NULL. NULL is accepted. */
struct vfio_release_qmp_message *
vfio_release_qmp_message_unref(struct vfio_release_qmp_message *m);
/*
 * One message as QEMU sends it (JSON text, len bytes, no NUL needed):
 * -EBADMSG when it is not one JSON object, -EMSGSIZE when it is longer
 * than VFIO_RELEASE_QMP_MESSAGE_MAX. Its receipt time is now.
 */
int vfio_release_qmp_message_new_from_json(const char *text, size_t len,
					   struct vfio_release_qmp_message **out);
/* The event's name ("DEVICE_DELETED"), or NULL for a reply. */
const char *vfio_release_qmp_message_event(const struct vfio_release_qmp_message *m);
/*
 * When QEMU sent the event, by QEMU's clock (CLOCK_REALTIME), in
 * microseconds: -ENODATA for a reply or an event without a timestamp.
 */
int vfio_release_qmp_message_timestamp_us(const struct vfio_release_qmp_message *m,
					  uint64_t *us);
/* When the library read it, CLOCK_MONOTONIC in nanoseconds. */
uint64_t vfio_release_qmp_message_received_ns(const struct vfio_release_qmp_message *m);
/*
 * A string member of the event's "data" or of the reply's "return" (an
 * object): NULL when there is none or it is not a string. For a "return"
 * that is itself a string, key NULL gives it.
 */
const char *vfio_release_qmp_message_get_string(const struct vfio_release_qmp_message *m,
						const char *key);
/* For an error reply its "class" and "desc", NULL otherwise. */
const char *vfio_release_qmp_message_error_class(const struct vfio_release_qmp_message *m);
const char *vfio_release_qmp_message_error_desc(const struct vfio_release_qmp_message *m);
/* The whole message as compact JSON text, valid as long as the message. */
const char *vfio_release_qmp_message_json(const struct vfio_release_qmp_message *m);

/*
 * The connection
 * --------------
 */

/*
 * Connects to a QMP unix socket, reads QEMU's greeting and leaves
 * negotiation mode (qmp_capabilities), waiting at most timeout_ms (< 0:
 * forever). Errors: what connect(2) says (-ENOENT, -ECONNREFUSED,
 * -EACCES), -EPROTO, -ETIMEDOUT, -ECONNRESET, -EBADMSG, -EMSGSIZE.
 * -ETIMEDOUT too when QEMU serves another client: it greets one at a
 * time. Events read before qmp_capabilities' answer wait for dispatch.
 */
int vfio_release_qmp_connect(const char *path, int timeout_ms,
			     struct vfio_release_qmp **out);
/* Closes; replies still awaited get -ECONNRESET first. NULL is accepted. */
void vfio_release_qmp_close(struct vfio_release_qmp *q);
/* The fd to poll for POLLIN (non-blocking). */
int vfio_release_qmp_fd(const struct vfio_release_qmp *q);
/* QEMU's version from its greeting, e.g. "7.2.0". */
const char *vfio_release_qmp_version(const struct vfio_release_qmp *q);

/*
 * reply is NULL when QEMU will not answer: err -ECONNRESET (it went away
 * first, or the connection was closed), -EBADMSG or -EMSGSIZE (its
 * stream broke). Otherwise err is -EREMOTEIO for an error reply, 0 for a
 * "return". Each callback is called exactly once. Callbacks may send,
 * but must not dispatch, execute or close the connection.
 */
typedef void (*vfio_release_qmp_reply_cb)(const struct vfio_release_qmp_message *reply,
					  int err, void *arg);
/* Returns 0 to go on, a negative errno to stop the dispatch with it. */
typedef int (*vfio_release_qmp_event_cb)(const struct vfio_release_qmp_message *ev,
					 void *arg);

/*
 * Sends a command (arguments_json: a JSON object as text, or NULL) tagged
 * with an id of the library's ("vr-N"); its reply goes to cb (may be
 * NULL) from a later dispatch. A reply with no id or an id the library
 * did not send (or no longer waits for) is dropped. -EINVAL when
 * arguments_json is not a JSON object, -EMSGSIZE when the command would
 * be longer than VFIO_RELEASE_QMP_MESSAGE_MAX, -ECONNRESET once QEMU
 * closed, -ETIMEDOUT when the socket stayed full for 5 s.
 */
int vfio_release_qmp_send(struct vfio_release_qmp *q, const char *command,
			  const char *arguments_json, vfio_release_qmp_reply_cb cb,
			  void *arg);
/*
 * Reads what is waiting, without blocking, and delivers every complete
 * message: replies to their callbacks, events to cb (may be NULL), in
 * the order QEMU sent them, messages read earlier by
 * vfio_release_qmp_execute() first. Returns how many were delivered, or a
 * negative errno: -ECONNRESET once QEMU closed the monitor (after all it
 * sent was delivered; again on every later call), -EBADMSG or -EMSGSIZE
 * for bad input (the connection is then unusable), or what cb returned
 * to stop (the messages after that one wait for the next dispatch).
 * Messages need no separator (QEMU's "pretty" output is read too). One
 * call reads the socket at most 64 times, and leaves nothing buffered
 * that poll would not announce, except after connect, an execute() or a
 * stop by cb: dispatch then before polling again.
 */
int vfio_release_qmp_dispatch(struct vfio_release_qmp *q, vfio_release_qmp_event_cb cb,
			      void *arg);
/*
 * Sends a command and waits at most timeout_ms (< 0: forever) for its
 * reply, a new reference for the caller (reply may be NULL). Other
 * messages read meanwhile (events, replies to vfio_release_qmp_send())
 * are kept for the next dispatch, up to 1024 of them or 4 MiB: beyond, it
 * stops reading and returns -ENOBUFS (nothing is lost but this command's
 * reply). Returns -EREMOTEIO (with the reply) when QEMU answered with an
 * error; after -ETIMEDOUT, -ENOBUFS or -ECONNRESET its reply is dropped
 * should it come.
 */
int vfio_release_qmp_execute(struct vfio_release_qmp *q, const char *command,
			     const char *arguments_json, int timeout_ms,
			     struct vfio_release_qmp_message **reply);

/*
 * QEMU's devices
 * --------------
 */

/*
 * The host PCI device of vfio-pci device id (its QOM "host", else the
 * last component of its "sysfsdev"), canonical ("0000:01:00.0"), into
 * out (size bytes; see vfio_release_parse_device()). id is a device id
 * or, as for device_del, a QOM path ("/machine/peripheral-anon/device[0]").
 * vfio-pci is every type QEMU lists as implementing it
 * (vfio-pci-nohotplug too). timeout_ms bounds all the commands it takes.
 * -ENODEV when QEMU has no such device, -EMEDIUMTYPE when it is not a
 * vfio-pci device, -ENODATA when QEMU does not know (the device was
 * given as a file descriptor, or is an mdev): the caller must say.
 */
int vfio_release_qmp_host_device(struct vfio_release_qmp *q, const char *id,
				 int timeout_ms, char *out, size_t size);
/*
 * Calls cb for every vfio-pci device of the QEMU, with its QOM id (NULL
 * for a device without one) and its host device (NULL when unknown).
 * Returns how many, or a negative errno (cb's, to stop).
 */
typedef int (*vfio_release_qmp_device_cb)(const char *id, const char *device, void *arg);
int vfio_release_qmp_vfio_devices(struct vfio_release_qmp *q, int timeout_ms,
				  vfio_release_qmp_device_cb cb, void *arg);

/*
 * The matcher
 * -----------
 *
 * Expectations, each about one host device, of two kinds:
 *   unplug  QEMU's DEVICE_DELETED for a device id, and the host device free;
 *   exit    QEMU's exit (vfio_release_match_qemu_gone()), and the device
 *           free.
 * One completes when both sides were seen, in either order. Freedom is
 * the kernel's (vfio_release_wait_new() with VFIO_RELEASE_STATE_FREE, one
 * wait per expectation on the matcher's handle): events reach it through
 * vfio_release_dispatch() on that handle, QEMU's through
 * vfio_release_match_feed_qmp(). Times are CLOCK_MONOTONIC nanoseconds;
 * QEMU's event timestamps are brought to that clock.
 */
enum vfio_release_match_status {
	VFIO_RELEASE_MATCH_PENDING,
	/* Both sides were seen. */
	VFIO_RELEASE_MATCH_DONE,
	/* The host device left vfio before it was free. */
	VFIO_RELEASE_MATCH_GONE,
};

/* Why a device is not free (yet). */
enum vfio_release_block {
	/* It is free, or nothing more is known. */
	VFIO_RELEASE_BLOCK_NONE,
	/* A VFIO file for it is open: the holder's pid and comm, if found. */
	VFIO_RELEASE_BLOCK_OPEN,
	/* Released, but its IOMMU group is claimed: by the device named. */
	VFIO_RELEASE_BLOCK_GROUP_CLAIMED,
	/* Its bus reset waits for the device named (still open) to close. */
	VFIO_RELEASE_BLOCK_BUS_PENDING,
	/* The module could not establish its state. */
	VFIO_RELEASE_BLOCK_UNKNOWN,
	/* It left vfio (unbound, removed). */
	VFIO_RELEASE_BLOCK_REMOVED,
};

int vfio_release_match_new(struct vfio_release *vr, struct vfio_release_match **out);
/* Frees the matcher and its waits (before the handle is closed); NULL is accepted. */
void vfio_release_match_free(struct vfio_release_match *m);
/*
 * Adds an expectation; returns its index (from 0, in the order added) or
 * a negative errno (those of vfio_release_wait_new()). qemu_id is the
 * device's id as given to device_del.
 */
int vfio_release_match_expect_unplug(struct vfio_release_match *m, const char *qemu_id,
				     const char *device);
int vfio_release_match_expect_exit(struct vfio_release_match *m, const char *device);

/*
 * Applies one QMP message: DEVICE_DELETED ends the unplugs of its id
 * (data.device, or data.path "/machine/peripheral/ID"); a repeated one
 * keeps the first one's time. Other messages are ignored.
 */
void vfio_release_match_feed_qmp(struct vfio_release_match *m,
				 const struct vfio_release_qmp_message *msg);
/*
 * QEMU is gone (its monitor closed, or its process was reaped) at
 * monotonic time ns (0: now): ends the QEMU side of every exit
 * expectation, and of unplugs that are still waiting for DEVICE_DELETED
 * (a QEMU that exits deletes its devices). Expectations added afterwards
 * have their QEMU side at once.
 */
void vfio_release_match_qemu_gone(struct vfio_release_match *m, uint64_t ns);

/*
 * Re-reads what the kernel may have lost (see vfio_release_wait_process()):
 * returns 1 once every expectation is done, 0 if not yet, -ENODEV when
 * one ended GONE, or a negative errno.
 */
int vfio_release_match_process(struct vfio_release_match *m);
/*
 * Polls the handle and q (which may be NULL) and processes both until
 * every expectation is done or timeout_ms ran out (-ETIMEDOUT; < 0:
 * forever). QEMU closing q counts as vfio_release_match_qemu_gone(). The
 * matcher calls vfio_release_dispatch() and vfio_release_qmp_dispatch().
 */
int vfio_release_match_run(struct vfio_release_match *m, struct vfio_release_qmp *q,
			   int timeout_ms);

unsigned int vfio_release_match_count(const struct vfio_release_match *m);
enum vfio_release_match_status vfio_release_match_status(const struct vfio_release_match *m,
							 unsigned int i);
const char *vfio_release_match_device(const struct vfio_release_match *m, unsigned int i);
/* The QEMU id of an unplug, NULL for an exit expectation. */
const char *vfio_release_match_qemu_id(const struct vfio_release_match *m, unsigned int i);
/* When DEVICE_DELETED was sent (or QEMU went): -ENODATA until then. */
int vfio_release_match_qemu_ns(const struct vfio_release_match *m, unsigned int i,
			       uint64_t *ns);
/* When the kernel made the device free (its timestamp): -ENODATA until then. */
int vfio_release_match_free_ns(const struct vfio_release_match *m, unsigned int i,
			       uint64_t *ns);
/*
 * Why device i is not free now, read from the kernel's records and
 * /proc: for VFIO_RELEASE_BLOCK_OPEN the holder's pid and comm (0 and
 * NULL when no holder was found), for GROUP_CLAIMED and BUS_PENDING the
 * other device in *who. who is valid until the next call on the matcher.
 * pid and who may be NULL.
 *
 * The holder is a process with an fd on the device's /dev/vfio/devices/
 * vfioN or its group's /dev/vfio/N, the kernel's opener first; a process
 * holding only an anonymous device fd counts only when it is the opener.
 * GROUP_CLAIMED names an open device of the IOMMU group; when none is
 * open, *who is NULL and *pid the holder of the group's file (0 when not
 * found). BUS_PENDING names an open device below the same parent bridge,
 * those of the device's own slot first (NULL when none is open now).
 */
enum vfio_release_block vfio_release_match_why(struct vfio_release_match *m, unsigned int i,
					       uint32_t *pid, const char **who);
/* "open", "group-claimed", ... */
const char *vfio_release_block_name(enum vfio_release_block block);
const char *vfio_release_match_status_name(enum vfio_release_match_status status);

#ifdef __cplusplus
}
#endif

#endif
