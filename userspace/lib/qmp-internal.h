/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_QMP_INTERNAL_H
#define VFIO_RELEASE_QMP_INTERNAL_H

#include <sys/types.h>

#include "internal.h"
#include "vfio-release-qmp.h"

struct json_object;
struct json_tokener;

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
size_t vr_qmp_message_size(const struct vfio_release_qmp_message *m);

/* A connection on fd, already past the greeting (tests, fuzzing). */
int vr_qmp_adopt(int fd, struct vfio_release_qmp **out);
/* Deadlines are CLOCK_MONOTONIC milliseconds, 0 for none. */
uint64_t vr_qmp_deadline(int timeout_ms);
/* vfio_release_qmp_execute() with a deadline shared by several commands. */
int vr_qmp_execute(struct vfio_release_qmp *q, const char *command,
		   const char *arguments_json, uint64_t deadline,
		   struct vfio_release_qmp_message **reply);

#endif
