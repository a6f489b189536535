// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * QMP messages: one JSON object as QEMU sends it, parsed once by json-c
 * into an immutable message, and the reader that cuts a monitor's byte
 * stream into such objects (it finds where each ends; json-c parses).
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
	/* CLOCK_REALTIME at the same moment: QEMU's timestamps are on it. */
	uint64_t received_realtime_ns;
	const char *id;
	const char *error_class;
	const char *error_desc;
	size_t cost;
	char json[];
};

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

/* Takes root (json-c's reference) whatever happens; cost: the reader's count. */
static int vr_qmp_message_new(struct json_object *root, size_t cost,
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
	m->cost = cost;
	m->refs = 1;
	m->root = root;
	m->received_ns = vr_clock_ns(CLOCK_MONOTONIC);
	m->received_realtime_ns = vr_clock_ns(CLOCK_REALTIME);
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
	memset(r, 0, sizeof(*r));
	r->tok = json_tokener_new_ex(VR_QMP_DEPTH);
	if (!r->tok)
		return -ENOMEM;
	/* Strict: QEMU writes standard JSON; comments or NaN are not QEMU. */
	json_tokener_set_flags(r->tok, JSON_TOKENER_STRICT);
	return 0;
}

void vr_qmp_reader_fini(struct vr_qmp_reader *r)
{
	if (r->tok)
		json_tokener_free(r->tok);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

bool vr_qmp_reader_partial(const struct vr_qmp_reader *r)
{
	return r->len > 0;
}

/*
 * UTF-8 as JSON wants it: no overlong forms, no surrogates, nothing
 * above U+10FFFF. A NUL is refused too: json-c would keep it inside a
 * string, and C callers would read the string cut there.
 */
static bool vr_utf8_ok(const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data, *end = p + len;
	unsigned char c, lo, hi;
	unsigned int need;

	while (p < end) {
		c = *p++;
		if (c && c < 0x80)
			continue;
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3;
		else
			return false;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
		else if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
		for (; need; need--, p++, lo = 0x80, hi = 0xbf)
			if (p == end || *p < lo || *p > hi)
				return false;
	}
	return true;
}

/*
 * Whether valid JSON text escapes a NUL ("\u0000"), in a value or a key:
 * json-c keeps it inside the string, and C callers would read the string
 * cut there ("hostdev0\u0000x" would be "hostdev0"). In valid JSON a
 * backslash is always within a string and escapes the next character.
 */
static bool vr_escapes_nul(const char *text, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (text[i] != '\\')
			continue;
		if (len - i >= 6 && !memcmp(text + i + 1, "u0000", 5))
			return true;
		i++;
	}
	return false;
}

static bool vr_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Where the object that starts the buffer ends: strings and escapes are
 * followed only to know which braces count. Returns the bytes of data
 * that belong to the message, with *done when its last brace is among
 * them; -EBADMSG when it nests deeper than json-c would parse.
 */
static ssize_t vr_qmp_frame(struct vr_qmp_reader *r, const char *data, size_t len, bool *done)
{
	size_t i;
	char c;

	*done = false;
	for (i = 0; i < len; i++) {
		c = data[i];
		if (r->in_string) {
			if (r->escape)
				r->escape = false;
			else if (c == '\\')
				r->escape = true;
			else if (c == '"')
				r->in_string = false;
		} else if (c == '"') {
			r->in_string = true;
		} else if (c == '{' || c == '[') {
			if (++r->depth > VR_QMP_DEPTH)
				return -EBADMSG;
			r->cost += c == '{' ? VR_QMP_COST_OBJECT : VR_QMP_COST_ARRAY;
		} else if (c == ',' || c == ':') {
			r->cost += VR_QMP_COST_VALUE;
		} else if (c == '}' || c == ']') {
			if (!--r->depth) {
				*done = true;
				return i + 1;
			}
		}
		/* Cheap to follow, dear to parse: refused before json-c sees it. */
		if (r->cost > VR_QMP_MESSAGE_COST_MAX)
			return -EMSGSIZE;
	}
	return len;
}

static bool vr_qmp_reserve(struct vr_qmp_reader *r, size_t need)
{
	size_t cap = r->cap ? r->cap : 4096;
	char *buf;

	if (need <= r->cap)
		return true;
	while (cap < need)
		cap *= 2;
	buf = realloc(r->buf, cap);
	if (!buf)
		return false;
	r->buf = buf;
	r->cap = cap;
	return true;
}

/*
 * The whole message, in one piece: json-c's tokener reads a number cut
 * between two calls more loosely than one it sees whole ("2-" is 2).
 */
static int vr_qmp_parse(struct vr_qmp_reader *r, struct vfio_release_qmp_message **out)
{
	struct json_object *obj;
	int err = -EBADMSG;

	if (vr_utf8_ok(r->buf, r->len)) {
		json_tokener_reset(r->tok);
		obj = json_tokener_parse_ex(r->tok, r->buf, r->len);
		if (json_tokener_get_error(r->tok) == json_tokener_success &&
		    json_tokener_get_parse_end(r->tok) == r->len && !vr_escapes_nul(r->buf, r->len))
			err = vr_qmp_message_new(obj, r->cost + r->len, out);
		else
			json_object_put(obj);
	}
	r->len = 0;
	r->cost = 0;
	r->depth = 0;
	r->in_string = r->escape = false;
	/* One big message should not cost its size for the connection's life. */
	if (r->cap > 65536) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
	}
	return err;
}

ssize_t vr_qmp_reader_feed(struct vr_qmp_reader *r, const char *data, size_t len,
			   struct vfio_release_qmp_message **out)
{
	size_t skip = 0;
	ssize_t n;
	bool done;
	int err;

	*out = NULL;
	/* The "\r\n" between messages belongs to neither: not counted. */
	if (!r->len)
		while (skip < len && vr_is_space(data[skip]))
			skip++;
	if (skip == len)
		return len;
	data += skip;
	len -= skip;
	/* Only an object is a message: anything else fails at its first byte. */
	if (!r->len && *data != '{')
		return -EBADMSG;
	n = vr_qmp_frame(r, data, len, &done);
	if (n < 0)
		return n;
	if (r->len + n > VFIO_RELEASE_QMP_MESSAGE_MAX)
		return -EMSGSIZE;
	if (!vr_qmp_reserve(r, r->len + n))
		return -ENOMEM;
	memcpy(r->buf + r->len, data, n);
	r->len += n;
	if (done) {
		err = vr_qmp_parse(r, out);
		if (err)
			return err;
	}
	return skip + n;
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

int64_t vr_qmp_message_realtime_offset_ns(const struct vfio_release_qmp_message *m)
{
	return (int64_t)(m->received_realtime_ns - m->received_ns);
}

void vr_qmp_message_set_received(struct vfio_release_qmp_message *m, uint64_t mono_ns,
				 uint64_t realtime_ns)
{
	m->received_ns = mono_ns;
	m->received_realtime_ns = realtime_ns;
}

size_t vr_qmp_message_cost(const struct vfio_release_qmp_message *m)
{
	return m->cost;
}
