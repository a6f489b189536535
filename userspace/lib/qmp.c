// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The QMP connection: a unix socket to QEMU's monitor, the commands sent
 * on it tagged "vr-N", and the messages read from it handed out in
 * QEMU's order.
 *
 * Reading is one place (vr_qmp_next()): a buffer of what recv() returned
 * and the reader that cuts it into messages. Dispatch and execute both
 * take messages from there one at a time, so a callback that stops a
 * dispatch, or an execute that found its reply, leaves the rest where it
 * was for the next call.
 */

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "qmp-internal.h"

/* One recv(); the reader keeps what a message needs beyond it. */
#define VR_QMP_READ_SIZE 65536
/*
 * Messages execute() keeps for the next dispatch: beyond either bound it
 * stops reading (-ENOBUFS) rather than drop one. Their cost (the reader's
 * upper bound of json-c's memory, not their text: "[]," takes 50 times
 * its size) is what is bounded; with the one message read past it and
 * the reader's buffer, a connection holds about 33 MiB at most.
 */
#define VR_QMP_QUEUE_MAX 1024
#define VR_QMP_QUEUE_COST VR_QMP_MESSAGE_COST_MAX
/* A dispatch reads at most this often, so a chatty QEMU cannot hold it. */
#define VR_QMP_DISPATCH_READS 64
/* send() has no timeout of its own: a command is small, the socket empty. */
#define VR_QMP_SEND_TIMEOUT_MS 5000

struct vr_qmp_pending {
	struct vr_qmp_pending *next;
	char id[24];
	vfio_release_qmp_reply_cb cb;
	void *arg;
};

struct vfio_release_qmp {
	int fd;
	/* QEMU closed its end: what is buffered is all there will be. */
	bool eof;
	/*
	 * -EBADMSG, -EMSGSIZE: the stream cannot be followed any more; a
	 * recv() error, or the close, once the replies owed were failed.
	 */
	int broken;
	/* A command was cut by a timeout: nothing more can be sent. */
	int send_broken;
	char version[64];
	uint64_t next_id;
	struct vr_qmp_pending *pending;
	struct vr_qmp_reader reader;
	struct vfio_release_qmp_message *queue[VR_QMP_QUEUE_MAX];
	unsigned int queue_head, queue_len;
	size_t queue_cost;
	size_t in_off, in_len;
	char in[VR_QMP_READ_SIZE];
};

/* Deadlines are CLOCK_MONOTONIC ms; 0 is none. */
uint64_t vr_qmp_deadline(int timeout_ms)
{
	return timeout_ms < 0 ? 0 : vr_mono_ms() + timeout_ms;
}

/* What poll() is given: -1 for no deadline, 0 once it passed. */
static int vr_left_ms(uint64_t deadline)
{
	uint64_t now;

	if (!deadline)
		return -1;
	now = vr_mono_ms();
	if (now >= deadline)
		return 0;
	return deadline - now > INT32_MAX ? INT32_MAX : (int)(deadline - now);
}

/*
 * Whether the deadline passed. Asked after every step of a wait: a peer
 * that keeps sending (whitespace, a message growing slowly, events)
 * keeps poll() from ever running out.
 */
static bool vr_expired(uint64_t deadline)
{
	return deadline && vr_mono_ms() >= deadline;
}

/* 1 when fd is ready for events, 0 at the deadline, or a negative errno. */
static int vr_poll(int fd, short events, uint64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };
	int n;

	for (;;) {
		n = poll(&pfd, 1, vr_left_ms(deadline));
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -errno;
	}
}

/*
 * Fails every reply owed with err. The connection is dead first: a
 * callback may send, and a command it sent now would be failed in turn
 * (for ever, if it sends again) or reach QEMU from a close.
 */
static void vr_qmp_fail_pending(struct vfio_release_qmp *q, int err)
{
	struct vr_qmp_pending *p;

	if (!q->eof && !q->broken)
		q->broken = err;
	/* Unlinked first: a callback may send (and fail) while we go on. */
	while ((p = q->pending)) {
		q->pending = p->next;
		if (p->cb)
			p->cb(NULL, err, p->arg);
		free(p);
	}
}

static struct vr_qmp_pending *vr_qmp_take_pending(struct vfio_release_qmp *q, const char *id)
{
	struct vr_qmp_pending **pp, *p;

	if (!id)
		return NULL;
	for (pp = &q->pending; (p = *pp); pp = &p->next) {
		if (!strcmp(p->id, id)) {
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

/*
 * The next message of the stream: 1 with *out, 0 when none is complete
 * and reading more would block (or *reads ran out), -ECONNRESET once
 * everything QEMU sent before it closed was taken, or the stream's error.
 */
static int vr_qmp_next(struct vfio_release_qmp *q, unsigned int *reads,
		       struct vfio_release_qmp_message **out)
{
	ssize_t n;

	*out = NULL;
	for (;;) {
		if (q->broken)
			return q->broken;
		while (q->in_off < q->in_len) {
			n = vr_qmp_reader_feed(&q->reader, q->in + q->in_off,
					       q->in_len - q->in_off, out);
			if (n < 0) {
				q->broken = n;
				return n;
			}
			q->in_off += n;
			if (*out)
				return 1;
		}
		/* A message cut by the close is lost with the connection. */
		if (q->eof)
			return -ECONNRESET;
		if (!*reads)
			return 0;
		(*reads)--;
		n = recv(q->fd, q->in, sizeof(q->in), 0);
		if (n > 0) {
			q->in_off = 0;
			q->in_len = n;
		} else if (!n || errno == ECONNRESET) {
			q->eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
}

/* Counts what it delivered into *n; returns the event callback's stop. */
static int vr_qmp_deliver(struct vfio_release_qmp *q, const struct vfio_release_qmp_message *m,
			  vfio_release_qmp_event_cb cb, void *arg, int *n)
{
	struct vr_qmp_pending *p;

	if (vfio_release_qmp_message_event(m)) {
		(*n)++;
		return cb ? cb(m, arg) : 0;
	}
	/*
	 * A reply to no command of ours (no id, another id) cannot be
	 * placed; dropping it harms no caller, breaking the connection
	 * would lose the events that follow. So would anything that is
	 * neither an event nor a reply.
	 */
	p = vr_qmp_take_pending(q, vr_qmp_message_is_reply(m) ? vr_qmp_message_id(m) : NULL);
	if (!p)
		return 0;
	(*n)++;
	if (p->cb)
		p->cb(m, vfio_release_qmp_message_error_class(m) ? -EREMOTEIO : 0, p->arg);
	free(p);
	return 0;
}

static struct vfio_release_qmp_message *vr_qmp_queue_pop(struct vfio_release_qmp *q)
{
	struct vfio_release_qmp_message *m;

	if (!q->queue_len)
		return NULL;
	m = q->queue[q->queue_head];
	q->queue_head = (q->queue_head + 1) % VR_QMP_QUEUE_MAX;
	q->queue_len--;
	q->queue_cost -= vr_qmp_message_cost(m);
	return m;
}

static bool vr_qmp_queue_full(const struct vfio_release_qmp *q)
{
	return q->queue_len == VR_QMP_QUEUE_MAX || q->queue_cost >= VR_QMP_QUEUE_COST;
}

static void vr_qmp_queue_push(struct vfio_release_qmp *q, struct vfio_release_qmp_message *m)
{
	q->queue[(q->queue_head + q->queue_len) % VR_QMP_QUEUE_MAX] = m;
	q->queue_len++;
	q->queue_cost += vr_qmp_message_cost(m);
}

VR_EXPORT int vfio_release_qmp_dispatch(struct vfio_release_qmp *q, vfio_release_qmp_event_cb cb,
					void *arg)
{
	unsigned int reads = VR_QMP_DISPATCH_READS;
	struct vfio_release_qmp_message *m;
	int n = 0, err;

	if (!q)
		return -EINVAL;
	while ((m = vr_qmp_queue_pop(q))) {
		err = vr_qmp_deliver(q, m, cb, arg, &n);
		vfio_release_qmp_message_unref(m);
		if (err < 0)
			return err;
	}
	for (;;) {
		err = vr_qmp_next(q, &reads, &m);
		if (!err)
			return n;
		if (err < 0) {
			vr_qmp_fail_pending(q, err);
			return err;
		}
		err = vr_qmp_deliver(q, m, cb, arg, &n);
		vfio_release_qmp_message_unref(m);
		if (err < 0)
			return err;
	}
}

/*
 * A bounded blocking write; MSG_NOSIGNAL: a closed QEMU is no SIGPIPE.
 * QEMU runs a command once its object is complete: after sent bytes a
 * timeout is no failure (the newline after it is only a separator).
 */
static int vr_qmp_write(struct vfio_release_qmp *q, const char *buf, size_t len, size_t sent,
			uint64_t deadline)
{
	size_t off = 0;
	ssize_t n;
	int err;

	while (off < len) {
		n = send(q->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n >= 0) {
			off += n;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EPIPE || errno == ECONNRESET)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		err = vr_poll(q->fd, POLLOUT, deadline);
		if (err < 0)
			return err;
		if (!err) {
			if (off >= sent)
				return 0;
			/* Half a command in the stream: QEMU could not parse the next. */
			if (off)
				q->send_broken = -ETIMEDOUT;
			return -ETIMEDOUT;
		}
	}
	return 0;
}

/* One write with its newline: a second one could time out alone. */
static int vr_qmp_write_line(struct vfio_release_qmp *q, const char *text, size_t len,
			     uint64_t deadline)
{
	char *line = malloc(len + 1);
	int err;

	if (!line)
		return -ENOMEM;
	memcpy(line, text, len);
	line[len] = '\n';
	err = vr_qmp_write(q, line, len + 1, len, deadline);
	free(line);
	return err;
}

/* {"execute": ..., "arguments": ..., "id": "vr-N"} as one line. */
static int vr_qmp_command(const char *command, const char *arguments_json, const char *id,
			  struct json_object **out)
{
	struct vfio_release_qmp_message *args = NULL;
	struct json_object *cmd;
	int err;

	if (!command || !*command)
		return -EINVAL;
	if (arguments_json) {
		err = vfio_release_qmp_message_new_from_json(arguments_json, strlen(arguments_json),
							     &args);
		if (err)
			return err == -EMSGSIZE ? err : -EINVAL;
	}
	cmd = json_object_new_object();
	if (!cmd || json_object_object_add(cmd, "execute", json_object_new_string(command)) ||
	    json_object_object_add(cmd, "id", json_object_new_string(id)) ||
	    (args && json_object_object_add(cmd, "arguments",
					    json_object_get(vr_qmp_message_root(args))))) {
		json_object_put(cmd);
		vfio_release_qmp_message_unref(args);
		return -ENOMEM;
	}
	vfio_release_qmp_message_unref(args);
	*out = cmd;
	return 0;
}

static int vr_qmp_send(struct vfio_release_qmp *q, const char *command, const char *arguments_json,
		       vfio_release_qmp_reply_cb cb, void *arg, uint64_t deadline,
		       struct vr_qmp_pending **sent)
{
	struct vr_qmp_pending *p, **tail;
	struct json_object *cmd;
	const char *text;
	size_t len;
	int err;

	if (q->eof)
		return -ECONNRESET;
	if (q->broken || q->send_broken)
		return q->broken ? q->broken : q->send_broken;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	snprintf(p->id, sizeof(p->id), "vr-%" PRIu64, ++q->next_id);
	p->cb = cb;
	p->arg = arg;
	err = vr_qmp_command(command, arguments_json, p->id, &cmd);
	if (err) {
		free(p);
		return err;
	}
	text = json_object_to_json_string_ext(cmd, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	len = text ? strlen(text) : 0;
	if (!text)
		err = -ENOMEM;
	else if (len >= VFIO_RELEASE_QMP_MESSAGE_MAX)
		err = -EMSGSIZE;
	else
		err = vr_qmp_write_line(q, text, len, deadline);
	json_object_put(cmd);
	if (err) {
		free(p);
		return err;
	}
	/* Kept in the order sent: a close fails them in that order. */
	for (tail = &q->pending; *tail; tail = &(*tail)->next)
		;
	*tail = p;
	if (sent)
		*sent = p;
	return 0;
}

VR_EXPORT int vfio_release_qmp_send(struct vfio_release_qmp *q, const char *command,
				    const char *arguments_json, vfio_release_qmp_reply_cb cb,
				    void *arg)
{
	if (!q)
		return -EINVAL;
	return vr_qmp_send(q, command, arguments_json, cb, arg,
			   vr_qmp_deadline(VR_QMP_SEND_TIMEOUT_MS), NULL);
}

struct vr_qmp_answer {
	bool done;
	int err;
	struct vfio_release_qmp_message *reply;
};

static void vr_qmp_answered(const struct vfio_release_qmp_message *reply, int err, void *arg)
{
	struct vr_qmp_answer *a = arg;

	a->done = true;
	a->err = err;
	a->reply = vfio_release_qmp_message_ref((struct vfio_release_qmp_message *)reply);
}

static void vr_qmp_forget(struct vfio_release_qmp *q, struct vr_qmp_pending *p)
{
	free(vr_qmp_take_pending(q, p->id));
}

/*
 * Reads until a's reply came, keeping every other message for the next
 * dispatch. Stops before a message the queue has no room for.
 */
static int vr_qmp_await(struct vfio_release_qmp *q, struct vr_qmp_pending *p,
			struct vr_qmp_answer *a, uint64_t deadline)
{
	struct vfio_release_qmp_message *m;
	unsigned int reads;
	int err, n = 0;

	while (!a->done) {
		if (vr_qmp_queue_full(q))
			return -ENOBUFS;
		reads = 1;
		err = vr_qmp_next(q, &reads, &m);
		if (err < 0)
			return err;
		if (err) {
			if (vr_qmp_message_is_reply(m) && !vfio_release_qmp_message_event(m) &&
			    vr_qmp_message_id(m) && !strcmp(vr_qmp_message_id(m), p->id)) {
				vr_qmp_deliver(q, m, NULL, NULL, &n);
				vfio_release_qmp_message_unref(m);
			} else {
				vr_qmp_queue_push(q, m);
			}
		} else {
			err = vr_poll(q->fd, POLLIN, deadline);
			if (err < 0)
				return err;
			if (!err)
				return -ETIMEDOUT;
		}
		if (!a->done && vr_expired(deadline))
			return -ETIMEDOUT;
	}
	return 0;
}

int vr_qmp_execute(struct vfio_release_qmp *q, const char *command, const char *arguments_json,
		   uint64_t deadline, struct vfio_release_qmp_message **reply)
{
	struct vr_qmp_answer a = { 0 };
	struct vr_qmp_pending *p;
	int err;

	if (reply)
		*reply = NULL;
	err = vr_qmp_send(q, command, arguments_json, vr_qmp_answered, &a, deadline, &p);
	if (err)
		return err;
	err = vr_qmp_await(q, p, &a, deadline);
	if (err) {
		/* Its reply, should it come, is one nobody waits for. */
		vr_qmp_forget(q, p);
		return err;
	}
	if (reply)
		*reply = a.reply;
	else
		vfio_release_qmp_message_unref(a.reply);
	return a.err;
}

VR_EXPORT int vfio_release_qmp_execute(struct vfio_release_qmp *q, const char *command,
				       const char *arguments_json, int timeout_ms,
				       struct vfio_release_qmp_message **reply)
{
	if (!q)
		return -EINVAL;
	return vr_qmp_execute(q, command, arguments_json, vr_qmp_deadline(timeout_ms), reply);
}

int vr_qmp_adopt(int fd, struct vfio_release_qmp **out)
{
	struct vfio_release_qmp *q = calloc(1, sizeof(*q));
	int err;

	if (!q)
		return -ENOMEM;
	err = vr_qmp_reader_init(&q->reader);
	if (err) {
		free(q);
		return err;
	}
	q->fd = fd;
	*out = q;
	return 0;
}

VR_EXPORT void vfio_release_qmp_close(struct vfio_release_qmp *q)
{
	if (!q)
		return;
	vr_qmp_fail_pending(q, -ECONNRESET);
	while (q->queue_len)
		vfio_release_qmp_message_unref(vr_qmp_queue_pop(q));
	vr_qmp_reader_fini(&q->reader);
	if (q->fd >= 0)
		close(q->fd);
	free(q);
}

/*
 * A unix socket's connect() does not wait when the listener's backlog is
 * full (EAGAIN): it is tried again until the deadline.
 */
static int vr_qmp_dial(const char *path, uint64_t deadline)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, err, left;
	socklen_t len = sizeof(err);

	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (!connect(fd, (struct sockaddr *)&sun, sizeof(sun)))
			return fd;
		err = errno;
		if (err == EAGAIN) {
			left = vr_left_ms(deadline);
			if (!left) {
				err = ETIMEDOUT;
				break;
			}
			usleep(10000);
			continue;
		}
		if (err != EINPROGRESS && err != EINTR)
			break;
		err = vr_poll(fd, POLLOUT, deadline);
		if (err <= 0) {
			err = err ? -err : ETIMEDOUT;
			break;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (!err)
			return fd;
		break;
	}
	close(fd);
	return -err;
}

/* {"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, ...}} */
static int vr_qmp_greeting(struct vfio_release_qmp *q, const struct vfio_release_qmp_message *m)
{
	struct json_object *qmp, *v, *version, *qemu, *part;
	static const char *const parts[] = { "major", "minor", "micro" };
	int64_t num[3];
	unsigned int i;

	if (!json_object_object_get_ex(vr_qmp_message_root(m), "QMP", &qmp) ||
	    !json_object_object_get_ex(qmp, "version", &version) ||
	    !json_object_object_get_ex(version, "qemu", &qemu) ||
	    !json_object_object_get_ex(qmp, "capabilities", &v) ||
	    !json_object_is_type(v, json_type_array))
		return -EPROTO;
	for (i = 0; i < 3; i++) {
		if (!json_object_object_get_ex(qemu, parts[i], &part) ||
		    !json_object_is_type(part, json_type_int))
			return -EPROTO;
		num[i] = json_object_get_int64(part);
		if (num[i] < 0 || num[i] > 1000000)
			return -EPROTO;
	}
	snprintf(q->version, sizeof(q->version), "%" PRId64 ".%" PRId64 ".%" PRId64,
		 num[0], num[1], num[2]);
	return 0;
}

static int vr_qmp_negotiate(struct vfio_release_qmp *q, uint64_t deadline)
{
	struct vfio_release_qmp_message *m;
	unsigned int reads;
	int err;

	for (;;) {
		reads = 1;
		err = vr_qmp_next(q, &reads, &m);
		if (err < 0)
			return err;
		if (err)
			break;
		err = vr_poll(q->fd, POLLIN, deadline);
		if (err <= 0)
			return err ? err : -ETIMEDOUT;
		if (vr_expired(deadline))
			return -ETIMEDOUT;
	}
	err = vr_qmp_greeting(q, m);
	vfio_release_qmp_message_unref(m);
	if (err)
		return err;
	err = vr_qmp_execute(q, "qmp_capabilities", NULL, deadline, NULL);
	/* A monitor that refuses to leave negotiation is no QMP we know. */
	return err == -EREMOTEIO ? -EPROTO : err;
}

VR_EXPORT int vfio_release_qmp_connect(const char *path, int timeout_ms,
				       struct vfio_release_qmp **out)
{
	uint64_t deadline = vr_qmp_deadline(timeout_ms);
	struct vfio_release_qmp *q;
	int fd, err;

	if (!path || !out)
		return -EINVAL;
	fd = vr_qmp_dial(path, deadline);
	if (fd < 0)
		return fd;
	err = vr_qmp_adopt(fd, &q);
	if (err) {
		close(fd);
		return err;
	}
	err = vr_qmp_negotiate(q, deadline);
	if (err) {
		vfio_release_qmp_close(q);
		return err;
	}
	*out = q;
	return 0;
}

VR_EXPORT int vfio_release_qmp_fd(const struct vfio_release_qmp *q)
{
	return q ? q->fd : -EINVAL;
}

VR_EXPORT const char *vfio_release_qmp_version(const struct vfio_release_qmp *q)
{
	return q ? q->version : NULL;
}
