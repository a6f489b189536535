// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer target of the QMP client's parsing. The first byte picks what
 * the rest is fed to:
 *   0  vfio_release_qmp_message_new_from_json(), and every getter;
 *   1  the stream reader, cut into chunks the second byte seeds, checked
 *      against the same bytes read in one piece (same messages, same
 *      error: the cut must not matter);
 *   2  a connection on a socketpair: two commands are sent, the bytes
 *      arrive in chunks, each followed by a dispatch, and every reply
 *      callback must be called exactly once, with a reply unless the
 *      connection failed.
 * Any broken promise is an abort(); sanitizers catch the rest.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "qmp-internal.h"

static void touch_message(const struct vfio_release_qmp_message *m)
{
	const char *s;
	uint64_t us;

	/* Reading every byte the getters give lets ASan check them. */
	s = vfio_release_qmp_message_json(m);
	if (!s || strlen(s) < 2)
		abort();
	s = vfio_release_qmp_message_event(m);
	if (s)
		(void)strlen(s);
	s = vfio_release_qmp_message_get_string(m, NULL);
	if (s)
		(void)strlen(s);
	s = vfio_release_qmp_message_get_string(m, "device");
	if (s)
		(void)strlen(s);
	s = vfio_release_qmp_message_error_class(m);
	if (s && !vfio_release_qmp_message_error_desc(m))
		abort();
	if (!vfio_release_qmp_message_timestamp_us(m, &us) && !vfio_release_qmp_message_event(m))
		abort();
	(void)vfio_release_qmp_message_received_ns(m);
}

static void fuzz_message(const char *data, size_t len)
{
	struct vfio_release_qmp_message *m = NULL, *again = NULL;
	const char *json;
	int err;

	err = vfio_release_qmp_message_new_from_json(data, len, &m);
	if (err) {
		if (m || (err != -EBADMSG && err != -EMSGSIZE && err != -ENOMEM))
			abort();
		return;
	}
	touch_message(m);
	/* What the library prints of a message, it reads back. */
	json = vfio_release_qmp_message_json(m);
	err = vfio_release_qmp_message_new_from_json(json, strlen(json), &again);
	if (err && err != -EMSGSIZE)
		abort();
	vfio_release_qmp_message_unref(again);
	vfio_release_qmp_message_unref(vfio_release_qmp_message_ref(m));
	vfio_release_qmp_message_unref(m);
}

/* How many messages the stream held before it ended or failed (*err). */
static unsigned int read_stream(const char *data, size_t len, unsigned int seed, int *err)
{
	struct vfio_release_qmp_message *m;
	struct vr_qmp_reader r;
	size_t off = 0, chunk, end;
	unsigned int count = 0;
	ssize_t n;

	*err = vr_qmp_reader_init(&r);
	if (*err)
		abort();
	while (off < len && !*err) {
		/* seed 0: one piece; otherwise 1..16 bytes, varying. */
		chunk = seed ? 1 + (seed + off * 7) % 16 : len;
		end = off + chunk < len ? off + chunk : len;
		while (off < end) {
			n = vr_qmp_reader_feed(&r, data + off, end - off, &m);
			if (n < 0) {
				*err = n;
				break;
			}
			if (n == 0 || (size_t)n > end - off)
				abort();
			off += n;
			if (m) {
				touch_message(m);
				vfio_release_qmp_message_unref(m);
				count++;
			}
		}
	}
	vr_qmp_reader_fini(&r);
	return count;
}

static void fuzz_stream(const char *data, size_t len)
{
	unsigned int seed, whole, cut;
	int whole_err, cut_err;

	if (!len)
		return;
	seed = (unsigned char)data[0] | 1;
	data++;
	len--;
	whole = read_stream(data, len, 0, &whole_err);
	cut = read_stream(data, len, seed, &cut_err);
	if (whole != cut || whole_err != cut_err)
		abort();
}

struct owed {
	int calls;
};

static void on_reply(const struct vfio_release_qmp_message *reply, int err, void *arg)
{
	struct owed *o = arg;

	o->calls++;
	if ((err == 0 || err == -EREMOTEIO) != (reply != NULL))
		abort();
	if (reply)
		touch_message(reply);
}

static int on_event(const struct vfio_release_qmp_message *ev, void *arg)
{
	(void)arg;
	if (!vfio_release_qmp_message_event(ev))
		abort();
	touch_message(ev);
	return 0;
}

static void fuzz_connection(const char *data, size_t len)
{
	struct owed a = { 0 }, b = { 0 };
	struct vfio_release_qmp *q;
	size_t off = 0, chunk;
	unsigned int seed;
	char sink[4096];
	int sv[2], n = 0;

	if (!len)
		return;
	seed = (unsigned char)data[0];
	data++;
	len--;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		abort();
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	if (vr_qmp_adopt(sv[0], &q))
		abort();
	if (vfio_release_qmp_send(q, "a", NULL, on_reply, &a) ||
	    vfio_release_qmp_send(q, "b", "{\"x\": 1}", on_reply, &b))
		abort();
	if (read(sv[1], sink, sizeof(sink)) <= 0)
		abort();
	while (off < len && n >= 0) {
		chunk = 1 + (seed + off * 13) % 512;
		if (chunk > len - off)
			chunk = len - off;
		if (write(sv[1], data + off, chunk) != (ssize_t)chunk)
			abort();
		off += chunk;
		n = vfio_release_qmp_dispatch(q, on_event, NULL);
	}
	/* With the peer gone, everything read is delivered, then the close. */
	if (seed & 1) {
		close(sv[1]);
		sv[1] = -1;
		if (n >= 0 && vfio_release_qmp_dispatch(q, on_event, NULL) >= 0)
			abort();
	}
	vfio_release_qmp_close(q);
	if (sv[1] >= 0)
		close(sv[1]);
	if (a.calls != 1 || b.calls != 1)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	if (!len)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_message((const char *)data + 1, len - 1);
		break;
	case 1:
		fuzz_stream((const char *)data + 1, len - 1);
		break;
	default:
		fuzz_connection((const char *)data + 1, len - 1);
		break;
	}
	return 0;
}
