// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The QMP client against a fake QEMU: a socketpair whose other end the
 * test writes (scripted, in the order a QEMU would), or a unix socket
 * served by a thread for what happens before and during connect.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "qmp-internal.h"

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}, " \
		 "\"package\": \"\"}, \"capabilities\": [\"oob\"]}}\r\n"

/* ---- messages ---- */

static struct vfio_release_qmp_message *parse(const char *text)
{
	struct vfio_release_qmp_message *m = NULL;

	assert_int_equal(vfio_release_qmp_message_new_from_json(text, strlen(text), &m), 0);
	assert_non_null(m);
	return m;
}

static void message_event(void **state)
{
	struct vfio_release_qmp_message *m;
	uint64_t us = 0;

	(void)state;
	m = parse("{\"timestamp\": {\"seconds\": 1700000000, \"microseconds\": 250}, "
		  "\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"hostdev0\", "
		  "\"path\": \"/machine/peripheral/hostdev0\"}}\r\n");
	assert_string_equal(vfio_release_qmp_message_event(m), "DEVICE_DELETED");
	assert_int_equal(vfio_release_qmp_message_timestamp_us(m, &us), 0);
	assert_true(us == 1700000000ull * 1000000 + 250);
	assert_string_equal(vfio_release_qmp_message_get_string(m, "device"), "hostdev0");
	assert_null(vfio_release_qmp_message_get_string(m, "nosuch"));
	assert_null(vfio_release_qmp_message_get_string(m, NULL));
	assert_null(vfio_release_qmp_message_error_class(m));
	assert_null(vfio_release_qmp_message_error_desc(m));
	assert_true(vfio_release_qmp_message_received_ns(m) > 0);
	assert_non_null(strstr(vfio_release_qmp_message_json(m), "\"device\":\"hostdev0\""));
	assert_ptr_equal(vfio_release_qmp_message_ref(m), m);
	assert_null(vfio_release_qmp_message_unref(m));
	assert_string_equal(vfio_release_qmp_message_event(m), "DEVICE_DELETED");
	assert_null(vfio_release_qmp_message_unref(m));
	assert_null(vfio_release_qmp_message_unref(NULL));
}

static void message_reply(void **state)
{
	struct vfio_release_qmp_message *m;
	uint64_t us;

	(void)state;
	m = parse("{\"return\": \"vfio-pci\", \"id\": \"vr-3\"}");
	assert_null(vfio_release_qmp_message_event(m));
	assert_int_equal(vfio_release_qmp_message_timestamp_us(m, &us), -ENODATA);
	assert_string_equal(vfio_release_qmp_message_get_string(m, NULL), "vfio-pci");
	assert_null(vfio_release_qmp_message_get_string(m, "x"));
	assert_string_equal(vr_qmp_message_id(m), "vr-3");
	assert_true(vr_qmp_message_is_reply(m));
	vfio_release_qmp_message_unref(m);

	m = parse("{\"id\": \"vr-1\", \"error\": {\"class\": \"DeviceNotFound\", "
		  "\"desc\": \"Device 'x' not found\"}}");
	assert_string_equal(vfio_release_qmp_message_error_class(m), "DeviceNotFound");
	assert_string_equal(vfio_release_qmp_message_error_desc(m), "Device 'x' not found");
	assert_null(vfio_release_qmp_message_get_string(m, NULL));
	vfio_release_qmp_message_unref(m);

	/* An event whose timestamp is not QEMU's shape has none. */
	m = parse("{\"event\": \"STOP\", \"timestamp\": {\"seconds\": -1, \"microseconds\": 0}}");
	assert_int_equal(vfio_release_qmp_message_timestamp_us(m, &us), -ENODATA);
	vfio_release_qmp_message_unref(m);
}

static char *nested(unsigned int depth)
{
	char *s = malloc(2 * depth + 16);
	size_t n = 0;
	unsigned int i;

	assert_non_null(s);
	n += sprintf(s, "{\"a\":");
	for (i = 0; i < depth; i++)
		s[n++] = '[';
	for (i = 0; i < depth; i++)
		s[n++] = ']';
	strcpy(s + n, "}");
	return s;
}

static void message_malformed(void **state)
{
	static const struct {
		const char *text;
		size_t len;
	} bad[] = {
#define T(s) { s, sizeof(s) - 1 }
		T(""), T("   \r\n"), T("[]"), T("[{}]"), T("123"), T("\"str\""), T("null"),
		T("true"), T("{"), T("{\"a\":"), T("{\"a\" 1}"), T("{\"a\":1,}"), T("{} x"),
		T("{}{}"), T("{} {}"), T("{\"a\":\"b\\q\"}"), T("{\"a\":1 /* c */}"),
		T("{\"a\":\"\x80\"}"), T("{\"a\":\"\xc3\"}"), T("{\"a\":\"\xed\xa0\x80\"}"),
		T("{\"a\":\"\xc0\xaf\"}"), T("{\"\xf4\x90\x80\x80\":1}"),
		T("{\"a\":\"x\0y\"}"), T("{}\0"), T("\0{}"), T("}"), T("{\"a\":[1,2}"),
#undef T
	};
	struct vfio_release_qmp_message *m;
	unsigned int i;
	char *deep;
	int err;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = NULL;
		err = vfio_release_qmp_message_new_from_json(bad[i].text, bad[i].len, &m);
		if (err != -EBADMSG)
			fail_msg("input %u (%.*s) gave %d, not -EBADMSG", i, (int)bad[i].len,
				 bad[i].text, err);
		assert_null(m);
	}
	deep = nested(10000);
	assert_int_equal(vfio_release_qmp_message_new_from_json(deep, strlen(deep), &m), -EBADMSG);
	free(deep);
	/* QEMU's own nesting is far below the bound. */
	deep = nested(20);
	m = parse(deep);
	vfio_release_qmp_message_unref(m);
	free(deep);
	assert_int_equal(vfio_release_qmp_message_new_from_json(NULL, 2, &m), -EINVAL);
}

static void message_size_limit(void **state)
{
	size_t max = VFIO_RELEASE_QMP_MESSAGE_MAX;
	struct vfio_release_qmp_message *m = NULL;
	char *big = malloc(max + 2);

	(void)state;
	assert_non_null(big);
	/* Exactly the limit is a message, one byte more is not. */
	memcpy(big, "{\"a\":\"", 6);
	memset(big + 6, 'x', max - 8);
	memcpy(big + max - 2, "\"}", 2);
	assert_int_equal(vfio_release_qmp_message_new_from_json(big, max, &m), 0);
	assert_int_equal(strlen(vfio_release_qmp_message_get_string(m, NULL) ?: ""), 0);
	vfio_release_qmp_message_unref(m);
	m = NULL;
	memcpy(big + max - 2, "x\"}", 3);
	assert_int_equal(vfio_release_qmp_message_new_from_json(big, max + 1, &m), -EMSGSIZE);
	assert_null(m);
	free(big);
}

/* ---- a connection on a socketpair, the test being QEMU ---- */

struct pair {
	int peer;
	struct vfio_release_qmp *q;
	char log[8192];
	/* What the library wrote, up to the commands peer_command() took. */
	char sent[65536];
	size_t sent_len;
	int stop_at;
	int events;
};

static int pair_setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));
	int sv[2];

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(vr_qmp_adopt(sv[0], &p->q), 0);
	p->peer = sv[1];
	*state = p;
	return 0;
}

static int pair_teardown(void **state)
{
	struct pair *p = *state;

	vfio_release_qmp_close(p->q);
	if (p->peer >= 0)
		close(p->peer);
	free(p);
	return 0;
}

static void peer_write_len(struct pair *p, const char *s, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(p->peer, s, len);
		assert_true(n > 0);
		s += n;
		len -= n;
	}
}

static void peer_write(struct pair *p, const char *s)
{
	peer_write_len(p, s, strlen(s));
}

static void peer_close(struct pair *p)
{
	close(p->peer);
	p->peer = -1;
}

/* The next command the library wrote, parsed. */
static struct json_object *peer_command(struct pair *p)
{
	char *buf = p->sent;
	size_t have = p->sent_len;
	struct pollfd pfd = { .fd = p->peer, .events = POLLIN };
	struct json_object *cmd;
	char *nl;
	ssize_t n;

	while (!(nl = memchr(buf, '\n', have))) {
		assert_int_equal(poll(&pfd, 1, 2000), 1);
		n = read(p->peer, buf + have, sizeof(p->sent) - have - 1);
		assert_true(n > 0);
		have += n;
	}
	*nl = '\0';
	cmd = json_tokener_parse(buf);
	assert_non_null(cmd);
	have -= nl + 1 - buf;
	memmove(buf, nl + 1, have);
	p->sent_len = have;
	return cmd;
}

static const char *member(struct json_object *o, const char *path)
{
	char key[64];
	const char *dot;
	struct json_object *v = o;

	while (path) {
		dot = strchr(path, '.');
		snprintf(key, sizeof(key), "%.*s", dot ? (int)(dot - path) : (int)strlen(path), path);
		if (!json_object_object_get_ex(v, key, &v))
			return NULL;
		path = dot ? dot + 1 : NULL;
	}
	return json_object_get_string(v);
}

static void logf_(struct pair *p, const char *fmt, ...)
{
	size_t len = strlen(p->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->log + len, sizeof(p->log) - len, fmt, ap);
	va_end(ap);
}

static int on_event(const struct vfio_release_qmp_message *ev, void *arg)
{
	struct pair *p = arg;
	const char *dev = vfio_release_qmp_message_get_string(ev, "device");

	logf_(p, "event %s%s%s;", vfio_release_qmp_message_event(ev), dev ? " " : "", dev ?: "");
	p->events++;
	return p->stop_at && p->events == p->stop_at ? -EINTR : 0;
}

static void on_reply(const struct vfio_release_qmp_message *reply, int err, void *arg)
{
	struct pair *p = arg;
	const char *tag = reply ? vfio_release_qmp_message_get_string(reply, "tag") : NULL;

	logf_(p, "reply %s %d%s%s;", tag ?: "-", err,
	      vfio_release_qmp_message_error_class(reply) ? " " : "",
	      vfio_release_qmp_message_error_class(reply) ?: "");
}

static void send_tagged(void **state)
{
	struct pair *p = *state;
	struct json_object *cmd;

	assert_int_equal(vfio_release_qmp_send(p->q, "device_del", "{\"id\": \"dev\\\"0\"}",
					       on_reply, p), 0);
	assert_int_equal(vfio_release_qmp_send(p->q, "query-status", NULL, NULL, NULL), 0);
	cmd = peer_command(p);
	assert_string_equal(member(cmd, "execute"), "device_del");
	assert_string_equal(member(cmd, "arguments.id"), "dev\"0");
	assert_string_equal(member(cmd, "id"), "vr-1");
	json_object_put(cmd);
	cmd = peer_command(p);
	assert_string_equal(member(cmd, "execute"), "query-status");
	assert_null(member(cmd, "arguments"));
	assert_string_equal(member(cmd, "id"), "vr-2");
	json_object_put(cmd);

	assert_int_equal(vfio_release_qmp_send(p->q, "x", "[1]", NULL, NULL), -EINVAL);
	assert_int_equal(vfio_release_qmp_send(p->q, "x", "{\"a\"", NULL, NULL), -EINVAL);
	assert_int_equal(vfio_release_qmp_send(p->q, "", NULL, NULL, NULL), -EINVAL);
	assert_int_equal(vfio_release_qmp_send(p->q, NULL, NULL, NULL, NULL), -EINVAL);
}

/* Replies by id, in QEMU's order, with events between them. */
static void replies_and_events(void **state)
{
	struct pair *p = *state;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	assert_int_equal(vfio_release_qmp_send(p->q, "b", NULL, on_reply, p), 0);
	assert_int_equal(vfio_release_qmp_send(p->q, "c", NULL, on_reply, p), 0);
	peer_write(p, "{\"return\": {\"tag\": \"b\"}, \"id\": \"vr-2\"}\r\n"
		      "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"d0\"}, "
		      "\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}\r\n"
		      "{\"id\": \"vr-1\", \"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}}\r\n"
		      /* Nobody's: no id, another id, neither event nor reply. */
		      "{\"return\": {}}\r\n{\"return\": {}, \"id\": \"vr-99\"}\r\n"
		      "{\"return\": {}, \"id\": 1}\r\n{\"hello\": 1}\r\n"
		      "{\"event\": \"RESUME\"}{\"return\": {\"tag\": \"c\"}, \"id\": \"vr-3\"}");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), 5);
	assert_string_equal(p->log, "reply b 0;event DEVICE_DELETED d0;reply - -121 GenericError;"
				    "event RESUME;reply c 0;");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), 0);
	/* A reply comes once: a second one with the same id is nobody's. */
	peer_write(p, "{\"return\": {\"tag\": \"b\"}, \"id\": \"vr-2\"}");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, NULL, NULL), 0);
}

/* Every message cut at every byte. */
static void byte_by_byte(void **state)
{
	static const char stream[] =
		"{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"caf\\u00e9\"}}\r\n"
		"  {\"return\": {\"tag\": \"t\\\"}{\"}, \"id\": \"vr-1\"}\n\n"
		"{\"event\": \"X\", \"data\": {\"device\": \"\xc3\xa9\"}}";
	struct pair *p = *state;
	int n = 0, got;
	size_t i;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	for (i = 0; i < sizeof(stream) - 1; i++) {
		peer_write_len(p, stream + i, 1);
		got = vfio_release_qmp_dispatch(p->q, on_event, p);
		assert_true(got >= 0);
		n += got;
	}
	assert_int_equal(n, 3);
	assert_string_equal(p->log, "event DEVICE_DELETED caf\xc3\xa9;reply t\"}{ 0;event X \xc3\xa9;");
}

/* An event callback stops the dispatch; the rest waits for the next. */
static void callback_stops(void **state)
{
	struct pair *p = *state;

	peer_write(p, "{\"event\": \"A\"}{\"event\": \"B\"}{\"event\": \"C\"}");
	p->stop_at = 1;
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -EINTR);
	assert_string_equal(p->log, "event A;");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), 2);
	assert_string_equal(p->log, "event A;event B;event C;");
}

/* QEMU exits with a reply owed: what it sent first still arrives. */
static void peer_closes_mid_command(void **state)
{
	struct pair *p = *state;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	assert_int_equal(vfio_release_qmp_send(p->q, "b", NULL, on_reply, p), 0);
	peer_write(p, "{\"event\": \"SHUTDOWN\"}\r\n{\"return\": {\"tag\": \"a\"}, \"id\": \"vr-1\"}\r\n"
		      "{\"event\": \"cut");
	peer_close(p);
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -ECONNRESET);
	assert_string_equal(p->log, "event SHUTDOWN;reply a 0;reply - -104;");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -ECONNRESET);
	/* No SIGPIPE (the test would die of it), and the same answer. */
	assert_int_equal(vfio_release_qmp_send(p->q, "c", NULL, on_reply, p), -ECONNRESET);
	assert_int_equal(vfio_release_qmp_execute(p->q, "c", NULL, 100, NULL), -ECONNRESET);
}

static void send_to_closed_peer(void **state)
{
	struct pair *p = *state;

	peer_close(p);
	/* The library has not read the close yet: send() meets EPIPE. */
	assert_int_equal(vfio_release_qmp_send(p->q, "c", NULL, on_reply, p), -ECONNRESET);
	assert_string_equal(p->log, "");
}

static void close_fails_pending(void **state)
{
	struct pair *p = *state;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	assert_int_equal(vfio_release_qmp_send(p->q, "b", NULL, on_reply, p), 0);
	vfio_release_qmp_close(p->q);
	p->q = NULL;
	assert_string_equal(p->log, "reply - -104;reply - -104;");
}

static void garbage(void **state)
{
	struct pair *p = *state;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	peer_write(p, "{\"event\": \"A\"}\r\nthis is not json\r\n{\"event\": \"B\"}");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -EBADMSG);
	assert_string_equal(p->log, "event A;reply - -74;");
	/* Unusable from then on, for every call. */
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -EBADMSG);
	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, NULL, NULL), -EBADMSG);
}

static void non_object(void **state)
{
	struct pair *p = *state;

	peer_write(p, "{\"event\": \"A\"}[\"array\"]");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -EBADMSG);
	assert_string_equal(p->log, "event A;");
}

static void nul_byte(void **state)
{
	struct pair *p = *state;

	peer_write_len(p, "{\"event\": \"A\0\"}", 15);
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -EBADMSG);
	assert_string_equal(p->log, "");
}

static void deep_nesting(void **state)
{
	struct pair *p = *state;
	char *deep = nested(5000);

	peer_write(p, deep);
	free(deep);
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -EBADMSG);
}

/*
 * A message that never ends: refused once it passes the limit, not
 * buffered on. The test writes no more than the limit and a few socket
 * buffers before the refusal.
 */
static void oversized(void **state)
{
	struct pair *p = *state;
	size_t written = 0, chunk = 65536;
	char *buf = malloc(chunk);
	int err = 0;
	ssize_t n;

	assert_non_null(buf);
	memset(buf, 'x', chunk);
	assert_int_equal(fcntl(p->peer, F_SETFL, O_NONBLOCK), 0);
	peer_write(p, "{\"event\": \"A\"}{\"data\": \"");
	while (!err && written < 4 * (size_t)VFIO_RELEASE_QMP_MESSAGE_MAX) {
		n = write(p->peer, buf, chunk);
		if (n > 0)
			written += n;
		err = vfio_release_qmp_dispatch(p->q, on_event, p);
		if (err > 0)
			err = 0;
	}
	free(buf);
	assert_int_equal(err, -EMSGSIZE);
	assert_true(written <= VFIO_RELEASE_QMP_MESSAGE_MAX + 4 * chunk);
	assert_string_equal(p->log, "event A;");
}

/* execute(): its reply back, the events meanwhile kept for dispatch. */
static void execute_keeps_events(void **state)
{
	struct pair *p = *state;
	struct vfio_release_qmp_message *reply = NULL;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	/* Written before the command: a socketpair keeps it. */
	peer_write(p, "{\"event\": \"E1\"}{\"return\": {\"tag\": \"a\"}, \"id\": \"vr-1\"}"
		      "{\"event\": \"E2\"}{\"return\": {\"tag\": \"x\"}, \"id\": \"vr-2\"}"
		      "{\"event\": \"E3\"}");
	assert_int_equal(vfio_release_qmp_execute(p->q, "x", NULL, 1000, &reply), 0);
	assert_string_equal(vfio_release_qmp_message_get_string(reply, "tag"), "x");
	vfio_release_qmp_message_unref(reply);
	assert_string_equal(p->log, "");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), 4);
	assert_string_equal(p->log, "event E1;reply a 0;event E2;event E3;");
}

static void execute_error(void **state)
{
	struct pair *p = *state;
	struct vfio_release_qmp_message *reply = NULL;

	peer_write(p, "{\"id\": \"vr-1\", \"error\": {\"class\": \"CommandNotFound\", "
		      "\"desc\": \"The command nosuch has not been found\"}}");
	assert_int_equal(vfio_release_qmp_execute(p->q, "nosuch", NULL, 1000, &reply), -EREMOTEIO);
	assert_non_null(reply);
	assert_string_equal(vfio_release_qmp_message_error_class(reply), "CommandNotFound");
	vfio_release_qmp_message_unref(reply);
	peer_write(p, "{\"id\": \"vr-2\", \"error\": {\"class\": \"GenericError\", \"desc\": \"\"}}");
	assert_int_equal(vfio_release_qmp_execute(p->q, "nosuch", NULL, 1000, NULL), -EREMOTEIO);
}

static void execute_timeout(void **state)
{
	struct pair *p = *state;
	struct vfio_release_qmp_message *reply = (void *)1;

	peer_write(p, "{\"event\": \"E1\"}");
	assert_int_equal(vfio_release_qmp_execute(p->q, "slow", NULL, 50, &reply), -ETIMEDOUT);
	assert_null(reply);
	/* The late reply is nobody's; the event is still delivered. */
	peer_write(p, "{\"return\": {}, \"id\": \"vr-1\"}");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), 1);
	assert_string_equal(p->log, "event E1;");
}

static void execute_peer_killed(void **state)
{
	struct pair *p = *state;

	assert_int_equal(vfio_release_qmp_send(p->q, "a", NULL, on_reply, p), 0);
	peer_write(p, "{\"event\": \"E1\"}");
	peer_close(p);
	assert_int_equal(vfio_release_qmp_execute(p->q, "x", NULL, 1000, NULL), -ECONNRESET);
	assert_string_equal(p->log, "");
	assert_int_equal(vfio_release_qmp_dispatch(p->q, on_event, p), -ECONNRESET);
	assert_string_equal(p->log, "event E1;reply - -104;");
}

/* More events than execute() keeps: it stops, and nothing is lost. */
static void execute_queue_bound(void **state)
{
	struct pair *p = *state;
	unsigned int i, total = 1100;
	int n, got = 0;
	char *stream = malloc(total * 64 + 64);
	size_t len = 0;

	/* One write: a socket counts every write's overhead against its buffer. */
	assert_non_null(stream);
	for (i = 0; i < total; i++)
		len += sprintf(stream + len, "{\"event\":\"E\",\"data\":{\"device\":\"%u\"}}", i);
	len += sprintf(stream + len, "{\"return\": {}, \"id\": \"vr-1\"}");
	peer_write_len(p, stream, len);
	free(stream);
	assert_int_equal(vfio_release_qmp_execute(p->q, "x", NULL, 1000, NULL), -ENOBUFS);
	while ((n = vfio_release_qmp_dispatch(p->q, NULL, NULL)) > 0)
		got += n;
	assert_int_equal(n, 0);
	assert_int_equal(got, total);
}

/* ---- connect, against a thread serving a unix socket ---- */

/*
 * Steps: "s..." sends, "b..." sends byte by byte, "r" reads one command
 * (checked to be qmp_capabilities), "c" closes at once, "w" waits 300 ms.
 */
struct fake_qemu {
	int listen_fd;
	const char *const *steps;
	int bad_command;
};

static void *fake_qemu_run(void *arg)
{
	struct fake_qemu *f = arg;
	const char *const *s;
	char buf[4096];
	size_t i, have = 0;
	ssize_t n;
	int fd = accept(f->listen_fd, NULL, NULL);

	for (s = f->steps; fd >= 0 && *s; s++) {
		switch (**s) {
		case 's':
			if (write(fd, *s + 1, strlen(*s + 1)) < 0)
				f->bad_command = 1;
			break;
		case 'b':
			for (i = 1; (*s)[i]; i++) {
				if (write(fd, *s + i, 1) != 1)
					f->bad_command = 1;
				usleep(100);
			}
			break;
		case 'r':
			while (!memchr(buf, '\n', have) &&
			       (n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0)
				have += n;
			buf[have] = '\0';
			if (!strstr(buf, "\"execute\":\"qmp_capabilities\"") ||
			    !strstr(buf, "\"id\":\"vr-1\""))
				f->bad_command = 1;
			have = 0;
			break;
		case 'w':
			usleep(300000);
			break;
		case 'c':
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

struct connect_case {
	const char *const *steps;
	int timeout_ms;
	int expect;
};

static int connect_with(const char *const *steps, int timeout_ms, struct vfio_release_qmp **q)
{
	char dir[] = "/tmp/test-qmp.XXXXXX", path[128];
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct fake_qemu f = { .steps = steps };
	pthread_t thread;
	int err;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/qmp.sock", dir);
	strcpy(sun.sun_path, path);
	f.listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f.listen_fd >= 0);
	assert_int_equal(bind(f.listen_fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(f.listen_fd, 1), 0);
	assert_int_equal(pthread_create(&thread, NULL, fake_qemu_run, &f), 0);
	err = vfio_release_qmp_connect(path, timeout_ms, q);
	pthread_join(thread, NULL);
	close(f.listen_fd);
	unlink(path);
	rmdir(dir);
	assert_int_equal(f.bad_command, 0);
	return err;
}

static void connect_ok(void **state)
{
	static const char *const steps[] = { "s" GREETING, "r",
		"s{\"event\": \"EARLY\"}{\"return\": {}, \"id\": \"vr-1\"}", NULL };
	static const char *const bytewise[] = { "b" GREETING, "r",
		"b{\"return\": {}, \"id\": \"vr-1\"}", NULL };
	struct vfio_release_qmp *q;
	struct pair p = { 0 };
	int flags;

	(void)state;
	assert_int_equal(connect_with(steps, 2000, &q), 0);
	assert_string_equal(vfio_release_qmp_version(q), "7.2.0");
	flags = fcntl(vfio_release_qmp_fd(q), F_GETFL);
	assert_true(flags & O_NONBLOCK);
	assert_true(fcntl(vfio_release_qmp_fd(q), F_GETFD) & FD_CLOEXEC);
	/* An event before the capabilities' answer waits for dispatch. */
	assert_int_equal(vfio_release_qmp_dispatch(q, on_event, &p), -ECONNRESET);
	assert_string_equal(p.log, "event EARLY;");
	vfio_release_qmp_close(q);

	assert_int_equal(connect_with(bytewise, 5000, &q), 0);
	assert_string_equal(vfio_release_qmp_version(q), "7.2.0");
	vfio_release_qmp_close(q);
}

static void connect_errors(void **state)
{
	static const char *const not_greeting[] = { "s{\"return\": {}}\r\n", NULL };
	static const char *const bad_version[] = {
		"s{\"QMP\": {\"version\": {\"qemu\": {\"major\": \"7\"}}, \"capabilities\": []}}", NULL
	};
	static const char *const garbage_first[] = { "sSSH-2.0-OpenSSH_9.2\r\n", NULL };
	static const char *const closes[] = { "c", NULL };
	static const char *const closes_in_greeting[] = { "s{\"QMP\": {\"vers", NULL };
	static const char *const refuses[] = { "s" GREETING, "r",
		"s{\"id\": \"vr-1\", \"error\": {\"class\": \"CommandNotFound\", \"desc\": \"\"}}", NULL };
	static const char *const closes_after_greeting[] = { "s" GREETING, "r", NULL };
	static const char *const silent[] = { "w", NULL };
	static const struct connect_case cases[] = {
		{ not_greeting, 2000, -EPROTO },
		{ bad_version, 2000, -EPROTO },
		{ garbage_first, 2000, -EBADMSG },
		{ closes, 2000, -ECONNRESET },
		{ closes_in_greeting, 2000, -ECONNRESET },
		{ refuses, 2000, -EPROTO },
		{ closes_after_greeting, 2000, -ECONNRESET },
		{ silent, 100, -ETIMEDOUT },
	};
	struct vfio_release_qmp *q = NULL;
	unsigned int i;
	int err;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err = connect_with(cases[i].steps, cases[i].timeout_ms, &q);
		if (err != cases[i].expect)
			fail_msg("case %u: %d, expected %d", i, err, cases[i].expect);
	}
	assert_int_equal(vfio_release_qmp_connect("/nonexistent/qmp.sock", 100, &q), -ENOENT);
	assert_int_equal(vfio_release_qmp_connect(NULL, 100, &q), -EINVAL);
}

/* ---- QEMU's devices: replies scripted by id ---- */

#define TYPES_REPLY(id) "{\"return\": [{\"name\": \"vfio-pci-nohotplug\", \"parent\": \"vfio-pci\"}, " \
			"{\"name\": \"vfio-pci\", \"parent\": \"pci-device\"}], \"id\": \"" id "\"}"

static void host_device(void **state)
{
	struct pair *p = *state;
	struct json_object *cmd;
	char out[32];

	peer_write(p, "{\"return\": \"vfio-pci-nohotplug\", \"id\": \"vr-1\"}" TYPES_REPLY("vr-2")
		      "{\"return\": \"0000:0a:00.1\", \"id\": \"vr-3\"}");
	assert_int_equal(vfio_release_qmp_host_device(p->q, "hostdev0", 1000, out, sizeof(out)), 0);
	assert_string_equal(out, "0000:0a:00.1");
	cmd = peer_command(p);
	assert_string_equal(member(cmd, "execute"), "qom-get");
	assert_string_equal(member(cmd, "arguments.path"), "/machine/peripheral/hostdev0");
	assert_string_equal(member(cmd, "arguments.property"), "type");
	json_object_put(cmd);
	json_object_put(peer_command(p));
	cmd = peer_command(p);
	assert_string_equal(member(cmd, "arguments.property"), "host");
	json_object_put(cmd);

	/* No host: sysfsdev's last component; a QOM path is taken as it is. */
	peer_write(p, "{\"return\": \"vfio-pci\", \"id\": \"vr-4\"}" TYPES_REPLY("vr-5")
		      "{\"return\": \"ffff:ff:ff.f\", \"id\": \"vr-6\"}"
		      "{\"return\": \"/sys/bus/pci/devices/0000:02:00.0/\", \"id\": \"vr-7\"}");
	assert_int_equal(vfio_release_qmp_host_device(p->q, "/machine/peripheral-anon/device[0]",
						      1000, out, sizeof(out)), 0);
	assert_string_equal(out, "0000:02:00.0");
	cmd = peer_command(p);
	assert_string_equal(member(cmd, "arguments.path"), "/machine/peripheral-anon/device[0]");
	json_object_put(cmd);

	/* An mdev, or a device QEMU was handed as a file: nothing to say. */
	peer_write(p, "{\"return\": \"vfio-pci\", \"id\": \"vr-8\"}" TYPES_REPLY("vr-9")
		      "{\"return\": \"ffff:ff:ff.f\", \"id\": \"vr-10\"}"
		      "{\"return\": \"/sys/bus/mdev/devices/83b8f4f2-509f-382f-3c1e-e6bfe0fa1001\", \"id\": \"vr-11\"}"
		      "{\"return\": \"vfio-pci\", \"id\": \"vr-12\"}" TYPES_REPLY("vr-13")
		      "{\"return\": \"ffff:ff:ff.f\", \"id\": \"vr-14\"}"
		      "{\"return\": \"\", \"id\": \"vr-15\"}");
	assert_int_equal(vfio_release_qmp_host_device(p->q, "m", 1000, out, sizeof(out)), -ENODATA);
	assert_int_equal(vfio_release_qmp_host_device(p->q, "fd", 1000, out, sizeof(out)), -ENODATA);

	peer_write(p, "{\"return\": \"usb-kbd\", \"id\": \"vr-16\"}" TYPES_REPLY("vr-17")
		      "{\"id\": \"vr-18\", \"error\": {\"class\": \"DeviceNotFound\", "
		      "\"desc\": \"Device '/machine/peripheral/nosuch' not found\"}}"
		      "{\"return\": \"vfio-pci\", \"id\": \"vr-19\"}" TYPES_REPLY("vr-20")
		      "{\"return\": \"0000:0a:00.1\", \"id\": \"vr-21\"}");
	assert_int_equal(vfio_release_qmp_host_device(p->q, "kbd0", 1000, out, sizeof(out)),
			 -EMEDIUMTYPE);
	assert_int_equal(vfio_release_qmp_host_device(p->q, "nosuch", 1000, out, sizeof(out)),
			 -ENODEV);
	assert_int_equal(vfio_release_qmp_host_device(p->q, "small", 1000, out, 5), -ENOSPC);
	assert_int_equal(vfio_release_qmp_host_device(p->q, "", 1000, out, sizeof(out)), -EINVAL);
}

struct seen {
	char log[512];
};

static int on_device(const char *id, const char *device, void *arg)
{
	struct seen *s = arg;
	size_t len = strlen(s->log);

	snprintf(s->log + len, sizeof(s->log) - len, "%s=%s;", id ?: "(none)", device ?: "(unknown)");
	return 0;
}

static void vfio_devices(void **state)
{
	struct pair *p = *state;
	struct seen s = { "" };

	peer_write(p, TYPES_REPLY("vr-1")
		      "{\"return\": [{\"name\": \"type\", \"type\": \"string\"}, "
		      "{\"name\": \"kbd0\", \"type\": \"child<usb-kbd>\"}, "
		      "{\"name\": \"gpu0\", \"type\": \"child<vfio-pci>\"}, "
		      "{\"name\": \"nic0\", \"type\": \"child<vfio-pci-nohotplug>\"}], \"id\": \"vr-2\"}"
		      "{\"return\": \"0000:01:00.0\", \"id\": \"vr-3\"}"
		      "{\"return\": \"ffff:ff:ff.f\", \"id\": \"vr-4\"}"
		      "{\"return\": \"\", \"id\": \"vr-5\"}"
		      "{\"return\": [{\"name\": \"device[0]\", \"type\": \"child<vfio-pci>\"}], \"id\": \"vr-6\"}"
		      "{\"return\": \"0000:03:00.0\", \"id\": \"vr-7\"}");
	assert_int_equal(vfio_release_qmp_vfio_devices(p->q, 1000, on_device, &s), 3);
	assert_string_equal(s.log, "gpu0=0000:01:00.0;nic0=(unknown);(none)=0000:03:00.0;");

	/* No anonymous device was ever added: QEMU has no such container. */
	s.log[0] = '\0';
	peer_write(p, TYPES_REPLY("vr-8")
		      "{\"return\": [{\"name\": \"gpu0\", \"type\": \"child<vfio-pci>\"}], \"id\": \"vr-9\"}"
		      "{\"return\": \"0000:01:00.0\", \"id\": \"vr-10\"}"
		      "{\"id\": \"vr-11\", \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"\"}}");
	assert_int_equal(vfio_release_qmp_vfio_devices(p->q, 1000, on_device, &s), 1);
	assert_string_equal(s.log, "gpu0=0000:01:00.0;");
}

#define PAIR(t) cmocka_unit_test_setup_teardown(t, pair_setup, pair_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(message_event),
		cmocka_unit_test(message_reply),
		cmocka_unit_test(message_malformed),
		cmocka_unit_test(message_size_limit),
		PAIR(send_tagged),
		PAIR(replies_and_events),
		PAIR(byte_by_byte),
		PAIR(callback_stops),
		PAIR(peer_closes_mid_command),
		PAIR(send_to_closed_peer),
		PAIR(close_fails_pending),
		PAIR(garbage),
		PAIR(non_object),
		PAIR(nul_byte),
		PAIR(deep_nesting),
		PAIR(oversized),
		PAIR(execute_keeps_events),
		PAIR(execute_error),
		PAIR(execute_timeout),
		PAIR(execute_peer_killed),
		PAIR(execute_queue_bound),
		cmocka_unit_test(connect_ok),
		cmocka_unit_test(connect_errors),
		PAIR(host_device),
		PAIR(vfio_devices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
