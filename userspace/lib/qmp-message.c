// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QMP messages: one JSON object as QEMU sends it, parsed once by json-c
 * into an immutable message, and the reader that cuts a monitor's byte
 * stream into such objects.
 *
 * Everything a getter returns is decoded at creation: json-c caches the
 * text of an object inside it when asked for it, and a message may be read
 * from several threads at once.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "qmp-internal.h"

/*
 * QEMU's deepest answers (qom-list, query-pci) nest a handful of levels;
 * the bound keeps a hostile peer's [[[[... from costing memory and stack.
 */
#define VR_QMP_DEPTH 64

struct vfio_release_qmp_message {
	unsigned int refs;
	struct json_object *root;
	const char *event;
	struct json_object *body;
	bool reply;
	bool has_timestamp;
	uint64_t timestamp_us;
	uint64_t received_ns;
	const char *id;
	const char *error_class;
	const char *error_desc;
	size_t size;
	char json[];
};

static uint64_t vr_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

static struct json_object *vr_member(struct json_object *obj, const char *key,
				     enum json_type type)
{
	struct json_object *v;

	if (!json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

static const char *vr_member_string(struct json_object *obj, const char *key)
{
	struct json_object *v = vr_member(obj, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

/* {"seconds": S, "microseconds": U}, both as QEMU's clock has them. */
static bool vr_timestamp(struct json_object *root, uint64_t *us)
{
	struct json_object *ts = vr_member(root, "timestamp", json_type_object);
	struct json_object *s = vr_member(ts, "seconds", json_type_int);
	struct json_object *u = vr_member(ts, "microseconds", json_type_int);
	int64_t sec, usec;

	if (!s || !u)
		return false;
	sec = json_object_get_int64(s);
	usec = json_object_get_int64(u);
	if (sec < 0 || usec < 0 || usec > 999999 || (uint64_t)sec > UINT64_MAX / 1000000 - 1)
		return false;
	*us = (uint64_t)sec * 1000000 + usec;
	return true;
}

/* Takes root (json-c's reference) whatever happens. */
static int vr_qmp_message_new(struct json_object *root,
			      struct vfio_release_qmp_message **out)
{
	struct vfio_release_qmp_message *m;
	struct json_object *error;
	const char *text;
	size_t len;

	if (!json_object_is_type(root, json_type_object)) {
		json_object_put(root);
		return -EBADMSG;
	}
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = text ? strlen(text) : 0;
	m = text ? calloc(1, sizeof(*m) + len + 1) : NULL;
	if (!m) {
		json_object_put(root);
		return -ENOMEM;
	}
	memcpy(m->json, text, len + 1);
	m->size = len;
	m->refs = 1;
	m->root = root;
	m->received_ns = vr_monotonic_ns();
	m->event = vr_member_string(root, "event");
	if (m->event) {
		m->body = vr_member(root, "data", json_type_object);
		m->has_timestamp = vr_timestamp(root, &m->timestamp_us);
	} else {
		json_object_object_get_ex(root, "return", &m->body);
		error = vr_member(root, "error", json_type_object);
		m->reply = m->body || error;
		m->id = vr_member_string(root, "id");
		m->error_class = vr_member_string(error, "class");
		m->error_desc = vr_member_string(error, "desc");
		/* An error without a class is still an error. */
		if (error && !m->error_class)
			m->error_class = "";
	}
	*out = m;
	return 0;
}

int vr_qmp_reader_init(struct vr_qmp_reader *r)
{
	r->taken = 0;
	r->utf8_need = 0;
	r->tok = json_tokener_new_ex(VR_QMP_DEPTH);
	if (!r->tok)
		return -ENOMEM;
	/*
	 * Strict: QEMU writes standard JSON, and anything else (comments,
	 * single quotes, NaN) is not QEMU. Trailing characters are the next
	 * message.
	 */
	json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
	return 0;
}

void vr_qmp_reader_fini(struct vr_qmp_reader *r)
{
	if (r->tok)
		json_tokener_free(r->tok);
	r->tok = NULL;
}

bool vr_qmp_reader_partial(const struct vr_qmp_reader *r)
{
	return r->taken > 0;
}

/*
 * UTF-8 checked here, not by json-c: its check refuses a character cut
 * between two reads. The state carries over from one feed to the next.
 * A NUL is refused too: json-c would keep it inside a string, and C
 * callers would read the string cut there.
 */
static bool vr_utf8_ok(struct vr_qmp_reader *r, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data, *end = p + len;
	unsigned char c;

	for (; p < end; p++) {
		c = *p;
		if (r->utf8_need) {
			if (c < r->utf8_lo || c > r->utf8_hi)
				return false;
			r->utf8_need--;
			r->utf8_lo = 0x80;
			r->utf8_hi = 0xbf;
			continue;
		}
		if (c && c < 0x80)
			continue;
		r->utf8_lo = 0x80;
		r->utf8_hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			r->utf8_need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			r->utf8_need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			r->utf8_need = 3;
		else
			return false;
		/* No overlong forms, no surrogates, nothing above U+10FFFF. */
		if (c == 0xe0)
			r->utf8_lo = 0xa0;
		else if (c == 0xed)
			r->utf8_hi = 0x9f;
		else if (c == 0xf0)
			r->utf8_lo = 0x90;
		else if (c == 0xf4)
			r->utf8_hi = 0x8f;
	}
	return true;
}

static bool vr_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

ssize_t vr_qmp_reader_feed(struct vr_qmp_reader *r, const char *data, size_t len,
			   struct vfio_release_qmp_message **out)
{
	size_t skip = 0, room, n, used;
	struct json_object *obj;
	enum json_tokener_error jerr;
	int err;

	*out = NULL;
	/* The "\r\n" between messages belongs to neither: not counted. */
	if (!r->taken)
		while (skip < len && vr_is_space(data[skip]))
			skip++;
	if (skip == len)
		return len;
	data += skip;
	len -= skip;
	room = VFIO_RELEASE_QMP_MESSAGE_MAX - r->taken;
	if (!room)
		return -EMSGSIZE;
	n = len < room ? len : room;
	obj = json_tokener_parse_ex(r->tok, data, n);
	jerr = json_tokener_get_error(r->tok);
	if (jerr == json_tokener_continue) {
		if (!vr_utf8_ok(r, data, n))
			return -EBADMSG;
		r->taken += n;
		return n < len ? -EMSGSIZE : (ssize_t)(skip + n);
	}
	used = jerr == json_tokener_success ? json_tokener_get_parse_end(r->tok) : 0;
	if (jerr != json_tokener_success || !vr_utf8_ok(r, data, used)) {
		json_object_put(obj);
		json_tokener_reset(r->tok);
		return -EBADMSG;
	}
	r->taken = 0;
	err = vr_qmp_message_new(obj, out);
	return err ? err : (ssize_t)(skip + used);
}

/* The reader's own rules, and nothing but whitespace after the object. */
VR_EXPORT int vfio_release_qmp_message_new_from_json(const char *text, size_t len,
						     struct vfio_release_qmp_message **out)
{
	struct vfio_release_qmp_message *m = NULL;
	struct vr_qmp_reader r;
	ssize_t used;
	size_t i;
	int err;

	if (!out || (!text && len))
		return -EINVAL;
	if (len > VFIO_RELEASE_QMP_MESSAGE_MAX)
		return -EMSGSIZE;
	err = vr_qmp_reader_init(&r);
	if (err)
		return err;
	used = vr_qmp_reader_feed(&r, text, len, &m);
	vr_qmp_reader_fini(&r);
	if (used < 0)
		return used;
	if (!m)
		return -EBADMSG;
	for (i = used; i < len; i++) {
		if (!vr_is_space(text[i])) {
			vfio_release_qmp_message_unref(m);
			return -EBADMSG;
		}
	}
	*out = m;
	return 0;
}

VR_EXPORT struct vfio_release_qmp_message *
vfio_release_qmp_message_ref(struct vfio_release_qmp_message *m)
{
	if (m)
		__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

VR_EXPORT struct vfio_release_qmp_message *
vfio_release_qmp_message_unref(struct vfio_release_qmp_message *m)
{
	if (m && !__atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL)) {
		json_object_put(m->root);
		free(m);
	}
	return NULL;
}

VR_EXPORT const char *vfio_release_qmp_message_event(const struct vfio_release_qmp_message *m)
{
	return m ? m->event : NULL;
}

VR_EXPORT int vfio_release_qmp_message_timestamp_us(const struct vfio_release_qmp_message *m,
						    uint64_t *us)
{
	if (!m || !us)
		return -EINVAL;
	if (!m->has_timestamp)
		return -ENODATA;
	*us = m->timestamp_us;
	return 0;
}

VR_EXPORT uint64_t vfio_release_qmp_message_received_ns(const struct vfio_release_qmp_message *m)
{
	return m ? m->received_ns : 0;
}

/* json_object_get_string() of a string object reads, it does not cache. */
VR_EXPORT const char *vfio_release_qmp_message_get_string(const struct vfio_release_qmp_message *m,
							  const char *key)
{
	if (!m || !m->body)
		return NULL;
	if (!key)
		return json_object_is_type(m->body, json_type_string) ?
			       json_object_get_string(m->body) : NULL;
	return vr_member_string(m->body, key);
}

VR_EXPORT const char *vfio_release_qmp_message_error_class(const struct vfio_release_qmp_message *m)
{
	return m ? m->error_class : NULL;
}

VR_EXPORT const char *vfio_release_qmp_message_error_desc(const struct vfio_release_qmp_message *m)
{
	if (!m || !m->error_class)
		return NULL;
	return m->error_desc ? m->error_desc : "";
}

VR_EXPORT const char *vfio_release_qmp_message_json(const struct vfio_release_qmp_message *m)
{
	return m ? m->json : NULL;
}

struct json_object *vr_qmp_message_root(const struct vfio_release_qmp_message *m)
{
	return m->root;
}

struct json_object *vr_qmp_message_body(const struct vfio_release_qmp_message *m)
{
	return m->body;
}

const char *vr_qmp_message_id(const struct vfio_release_qmp_message *m)
{
	return m->id;
}

bool vr_qmp_message_is_reply(const struct vfio_release_qmp_message *m)
{
	return m->reply;
}

size_t vr_qmp_message_size(const struct vfio_release_qmp_message *m)
{
	return m->size;
}
