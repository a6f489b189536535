/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_QMP_INTERNAL_H
#define VFIO_RELEASE_QMP_INTERNAL_H

#include <sys/types.h>

#include "internal.h"
#include "vfio-release-qmp.h"

struct json_object;
struct json_tokener;

/*
 * What json-c will allocate for a message, bounded from above: json-c
 * 0.16 on 64 bits takes about 790 bytes for an object (its hash table),
 * 150 for an array, 70 to 90 for a scalar and 30 for a key, so that "{},"
 * costs 260 times its text. The reader counts every object, array, comma
 * and colon at these weights, plus the text, and refuses a message whose
 * count passes VR_QMP_MESSAGE_COST_MAX (-EMSGSIZE); QEMU 7.2's largest
 * answer, query-qmp-schema (207 KB), counts about 7.7 MiB.
 */
#define VR_QMP_COST_OBJECT 1024
#define VR_QMP_COST_ARRAY 256
#define VR_QMP_COST_VALUE 128
#define VR_QMP_MESSAGE_COST_MAX (16u << 20)

/*
 * Splits a byte stream into messages: it follows braces, brackets and
 * strings to find where an object ends, however the stream was cut, and
 * hands the complete object to json-c in one piece. A message is kept
 * until it ends, VFIO_RELEASE_QMP_MESSAGE_MAX bytes at most.
 */
struct vr_qmp_reader {
	struct json_tokener *tok;
	char *buf;
	size_t len, cap;
	size_t cost;	/* the weights of the message so far */
	unsigned int depth;
	bool in_string, escape;
};

int vr_qmp_reader_init(struct vr_qmp_reader *r);
void vr_qmp_reader_fini(struct vr_qmp_reader *r);
/*
 * Consumes data up to the end of one message at most: returns how many
 * bytes it used, with *out the message when one ended there (NULL when it
 * needs more bytes), or -EBADMSG / -EMSGSIZE (the stream is then lost).
 */
ssize_t vr_qmp_reader_feed(struct vr_qmp_reader *r, const char *data, size_t len,
			   struct vfio_release_qmp_message **out);
/* Whether bytes of an unfinished message were taken (a truncated stream). */
bool vr_qmp_reader_partial(const struct vr_qmp_reader *r);

/* The parsed message, read-only; json-c's own objects. */
struct json_object *vr_qmp_message_root(const struct vfio_release_qmp_message *m);
/* The event's "data" or the reply's "return", NULL when absent. */
struct json_object *vr_qmp_message_body(const struct vfio_release_qmp_message *m);
/* A reply's "id" as a string, NULL for an event or a reply without one. */
const char *vr_qmp_message_id(const struct vfio_release_qmp_message *m);
bool vr_qmp_message_is_reply(const struct vfio_release_qmp_message *m);
/*
 * CLOCK_REALTIME less CLOCK_MONOTONIC when it was received, both read at
 * that moment: what brings QEMU's timestamps to the monotonic clock, as
 * it was then (a later step of the realtime clock does not move it).
 */
int64_t vr_qmp_message_realtime_offset_ns(const struct vfio_release_qmp_message *m);
/* For unit tests: the two receipt times. */
void vr_qmp_message_set_received(struct vfio_release_qmp_message *m, uint64_t mono_ns,
				 uint64_t realtime_ns);
/* Its cost as the reader counted it: an upper bound of its memory. */
size_t vr_qmp_message_cost(const struct vfio_release_qmp_message *m);

/* A connection on fd, already past the greeting (tests, fuzzing). */
int vr_qmp_adopt(int fd, struct vfio_release_qmp **out);
/* Deadlines are CLOCK_MONOTONIC milliseconds, 0 for none. */
uint64_t vr_qmp_deadline(int timeout_ms);
/* vfio_release_qmp_execute() with a deadline shared by several commands. */
int vr_qmp_execute(struct vfio_release_qmp *q, const char *command,
		   const char *arguments_json, uint64_t deadline,
		   struct vfio_release_qmp_message **reply);

#endif
