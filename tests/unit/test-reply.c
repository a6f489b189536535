// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Requests and dispatch against a scripted kernel: the handle's sockets
 * read from queues the tests fill, and every request they send is
 * answered by the test's script. Leftovers of earlier requests, wrong
 * answers, errors with extended acks, interrupted dumps, the module's
 * unload and load, and several waits fed from one dispatch.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <netlink/genl/ctrl.h>

#include "handle.h"
#include "netlink-builder.h"
#include "request.h"
#include "wait-state.h"

#define A "0000:01:00.0"
#define B "0000:02:00.0"
#define C "0000:03:00.0"
#define INST 0x77
#define QUEUE_MAX 64

/* The messages waiting on one socket, each read as one datagram. */
struct queue {
	struct nl_msg *msg[QUEUE_MAX];
	unsigned int head, tail;
};

struct fake {
	struct vfio_release *vr;
	struct queue req, ev;
	/* What the scripted kernel answers a GET or dump with. */
	int (*answer)(struct fake *f, struct nlmsghdr *req);
	int sent;
	int send_errno;		/* non-zero: sending fails with this errno */
	int family_id;		/* the controller's answer for vfio_release */
	uint32_t group;
	int calls;		/* how often answer ran */
	bool overflow;		/* the event socket's next read: ENOBUFS */
	uint64_t instance;	/* the module's, in every record */
	int by_name, dumps;	/* controller lookups by name, by dump */
};

static void push(struct queue *q, struct nl_msg *msg)
{
	assert_true(q->tail < QUEUE_MAX);
	q->msg[q->tail++] = msg;
}

static struct fake *the_fake;

static void push_record(struct queue *q, const char *dev, uint32_t nlseq,
			uint16_t flags, uint64_t seq, int state)
{
	struct test_record r = {
		.cmd = VFIO_RELEASE_CMD_GET_DEVICE, .device = dev, .state = state,
		.seq = seq, .generation = 1, .instance = the_fake->instance,
		.registration = 3, .nlseq = nlseq, .nlflags = flags,
		.family = the_fake->family_id,
	};

	push(q, test_record_msg(&r));
}

static struct queue *queue_of(struct fake *f, struct nl_sock *sk)
{
	return sk == f->vr->ev ? &f->ev : &f->req;
}

static int fake_recv(struct nl_sock *sk, struct sockaddr_nl *nla,
		     unsigned char **buf, struct ucred **creds)
{
	struct queue *q = queue_of(the_fake, sk);
	struct nlmsghdr *hdr;
	int len;

	(void)creds;
	memset(nla, 0, sizeof(*nla));
	nla->nl_family = AF_NETLINK;
	if (q == &the_fake->ev && the_fake->overflow) {
		the_fake->overflow = false;
		return -NLE_NOMEM;
	}
	/* Empty: what a non-blocking socket or SO_RCVTIMEO says. */
	if (q->head == q->tail)
		return -NLE_AGAIN;
	hdr = nlmsg_hdr(q->msg[q->head]);
	len = hdr->nlmsg_len;
	*buf = malloc(len);
	assert_non_null(*buf);
	memcpy(*buf, hdr, len);
	nlmsg_free(q->msg[q->head++]);
	return len;
}

/* As the kernel: an ACK only when the request asked for one. */
static void ack_if_asked(struct fake *f, struct nlmsghdr *hdr)
{
	if (hdr->nlmsg_flags & NLM_F_ACK)
		push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, 0, NULL));
}

/* The controller's part: GETFAMILY for nlctrl and vfio_release. */
static void answer_controller(struct fake *f, struct nlmsghdr *hdr)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1];

	if (!genlmsg_parse(hdr, 0, tb, CTRL_ATTR_MAX, NULL) && tb[CTRL_ATTR_FAMILY_NAME] &&
	    !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), "nlctrl")) {
		push(&f->req, test_family_msg_group(CTRL_CMD_NEWFAMILY, "nlctrl", GENL_ID_CTRL,
						    "notify", 0x10, hdr->nlmsg_seq));
		ack_if_asked(f, hdr);
		return;
	}
	if (hdr->nlmsg_flags & NLM_F_DUMP) {
		struct nl_msg *m;

		m = test_family_msg_group(CTRL_CMD_NEWFAMILY, "nlctrl", GENL_ID_CTRL,
					  "notify", 0x10, hdr->nlmsg_seq);
		nlmsg_hdr(m)->nlmsg_flags |= NLM_F_MULTI;
		push(&f->req, m);
		if (f->family_id >= 0) {
			m = test_family_msg(CTRL_CMD_NEWFAMILY, VFIO_RELEASE_GENL_NAME,
					    f->family_id, f->group, hdr->nlmsg_seq);
			nlmsg_hdr(m)->nlmsg_flags |= NLM_F_MULTI;
			push(&f->req, m);
		}
		push(&f->req, test_control_msg(NLMSG_DONE, hdr->nlmsg_seq, 0, NULL));
		f->dumps++;
		return;
	}
	f->by_name++;
	if (f->family_id < 0) {
		push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, -ENOENT, NULL));
		return;
	}
	push(&f->req, test_family_msg(CTRL_CMD_NEWFAMILY, VFIO_RELEASE_GENL_NAME,
				      f->family_id, f->group, hdr->nlmsg_seq));
	ack_if_asked(f, hdr);
}

static int fake_send(struct nl_sock *sk, struct nl_msg *msg)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);

	(void)sk;
	if (the_fake->send_errno) {
		errno = the_fake->send_errno;
		return -NLE_FAILURE;
	}
	the_fake->sent++;
	if (hdr->nlmsg_type == GENL_ID_CTRL)
		answer_controller(the_fake, hdr);
	else if (the_fake->answer)
		the_fake->calls++, the_fake->answer(the_fake, hdr);
	return hdr->nlmsg_len;
}

static const char *requested_device(struct nlmsghdr *hdr)
{
	struct nlattr *tb[VFIO_RELEASE_A_MAX + 1];

	if (genlmsg_parse(hdr, 0, tb, VFIO_RELEASE_A_MAX, NULL) ||
	    !tb[VFIO_RELEASE_A_DEVICE])
		return NULL;
	return nla_get_string(tb[VFIO_RELEASE_A_DEVICE]);
}

/* A well-behaved kernel: a GET gets its record and an ACK, a dump A B C. */
static int answer_right(struct fake *f, struct nlmsghdr *hdr)
{
	const char *dev = requested_device(hdr);
	uint32_t s = hdr->nlmsg_seq;

	if (hdr->nlmsg_flags & NLM_F_DUMP) {
		push_record(&f->req, A, s, NLM_F_MULTI, 10, VFIO_RELEASE_STATE_FREE);
		push_record(&f->req, B, s, NLM_F_MULTI, 11, VFIO_RELEASE_STATE_OPEN);
		push_record(&f->req, C, s, NLM_F_MULTI, 12, VFIO_RELEASE_STATE_FREE);
		push(&f->req, test_control_msg(NLMSG_DONE, s, 0, NULL));
		return 0;
	}
	push_record(&f->req, dev, s, 0, 20, VFIO_RELEASE_STATE_FREE);
	ack_if_asked(f, hdr);
	return 0;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct nl_cb *io = nl_cb_alloc(NL_CB_DEFAULT);

	if (!f || !io)
		return -1;
	nl_cb_overwrite_recv(io, fake_recv);
	nl_cb_overwrite_send(io, fake_send);
	f->family_id = TEST_FAMILY;
	f->group = 9;
	f->instance = INST;
	f->answer = answer_right;
	the_fake = f;
	if (vr_handle_new_fake(io, TEST_FAMILY, &f->vr))
		return -1;
	nl_cb_put(io);
	*state = f;
	return 0;
}

static void drain(struct queue *q)
{
	while (q->head < q->tail)
		nlmsg_free(q->msg[q->head++]);
}

static int teardown(void **state)
{
	struct fake *f = *state;

	vfio_release_close(f->vr);
	drain(&f->req);
	drain(&f->ev);
	free(f);
	return 0;
}

static int stop_at_first(const struct vfio_release_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
	return -ECANCELED;
}

static int count_records(const struct vfio_release_event *ev, void *arg)
{
	(void)ev;
	(*(int *)arg)++;
	return 0;
}

static void get_answers_its_device(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	assert_int_equal(vfio_release_get(f->vr, B, &ev), 0);
	assert_string_equal(vfio_release_event_get_device(ev), B);
	vfio_release_event_unref(ev);
	/* Read to its end: the ACK too. */
	assert_int_equal(f->req.head, f->req.tail);
}

/* An earlier request's rest, still queued: never taken for the answer. */
static void leftovers_skipped(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	push_record(&f->req, C, 999, NLM_F_MULTI, 5, VFIO_RELEASE_STATE_OPEN);
	push(&f->req, test_control_msg(NLMSG_DONE, 999, 0, NULL));
	push(&f->req, test_control_msg(NLMSG_ERROR, 998, -ENODEV, NULL));
	assert_int_equal(vfio_release_get(f->vr, A, &ev), 0);
	assert_string_equal(vfio_release_event_get_device(ev), A);
	vfio_release_event_unref(ev);
	assert_int_equal(f->req.head, f->req.tail);
}

/* A dump whose callback stops still reads to its end: the next GET is exact. */
static void aborted_dump_then_get(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;
	int seen = 0;

	assert_int_equal(vfio_release_dump(f->vr, stop_at_first, &seen), -ECANCELED);
	assert_int_equal(seen, 1);
	assert_int_equal(f->req.head, f->req.tail);
	assert_int_equal(vfio_release_get(f->vr, C, &ev), 0);
	assert_string_equal(vfio_release_event_get_device(ev), C);
	vfio_release_event_unref(ev);
	seen = 0;
	assert_int_equal(vfio_release_dump(f->vr, count_records, &seen), 3);
	assert_int_equal(seen, 3);
}

static int answer_other_device(struct fake *f, struct nlmsghdr *hdr)
{
	push_record(&f->req, B, hdr->nlmsg_seq, 0, 20, VFIO_RELEASE_STATE_FREE);
	push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, 0, NULL));
	return 0;
}

static void answer_for_another_device_refused(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	f->answer = answer_other_device;
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -EPROTO);
	assert_null(ev);
}

static int answer_extack(struct fake *f, struct nlmsghdr *hdr)
{
	push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, -EINVAL,
				       "device name malformed"));
	return 0;
}

static void kernel_message_reaches_caller(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	f->answer = answer_extack;
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -EINVAL);
	assert_string_equal(vfio_release_errmsg(f->vr), "device name malformed");
	f->answer = answer_right;
	assert_int_equal(vfio_release_get(f->vr, A, &ev), 0);
	assert_null(vfio_release_errmsg(f->vr));
	vfio_release_event_unref(ev);
}

static int answer_enodev(struct fake *f, struct nlmsghdr *hdr)
{
	push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, -ENODEV, NULL));
	return 0;
}

static void enodev_passes_through(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	f->answer = answer_enodev;
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -ENODEV);
	assert_int_equal(f->calls, 1);
}

/* -EAGAIN while the module re-reads; a dump marked interrupted. */
static int answer_busy_first(struct fake *f, struct nlmsghdr *hdr)
{
	uint32_t s = hdr->nlmsg_seq;

	if (f->calls == 1) {
		push(&f->req, test_control_msg(NLMSG_ERROR, s, -EAGAIN, NULL));
		return 0;
	}
	if (f->calls == 2 && (hdr->nlmsg_flags & NLM_F_DUMP)) {
		push_record(&f->req, A, s, NLM_F_MULTI | NLM_F_DUMP_INTR, 1, 0);
		push(&f->req, test_control_msg(NLMSG_DONE, s, 0, NULL));
		return 0;
	}
	return answer_right(f, hdr);
}

/* The module's -EAGAIN for a dump comes in the dump's NLMSG_DONE. */
static int answer_always_busy_done(struct fake *f, struct nlmsghdr *hdr)
{
	push(&f->req, test_control_msg(NLMSG_DONE, hdr->nlmsg_seq, -EAGAIN, "still busy"));
	return 0;
}

static int answer_dump_busy_first(struct fake *f, struct nlmsghdr *hdr)
{
	if (f->calls == 1) {
		push(&f->req, test_control_msg(NLMSG_DONE, hdr->nlmsg_seq, -EAGAIN,
					       "re-reading devices"));
		return 0;
	}
	return answer_right(f, hdr);
}

static void dump_error_in_done_is_an_error(void **state)
{
	struct fake *f = *state;
	int seen = 0;

	f->answer = answer_dump_busy_first;
	assert_int_equal(vfio_release_dump(f->vr, count_records, &seen), 3);
	assert_int_equal(f->calls, 2);
	f->answer = answer_always_busy_done;
	f->calls = 0;
	assert_int_equal(vfio_release_dump(f->vr, count_records, &seen), -EAGAIN);
	assert_string_equal(vfio_release_errmsg(f->vr), "still busy");
}

static void busy_and_interrupted_asked_again(void **state)
{
	struct fake *f = *state;
	int seen = 0;

	f->answer = answer_busy_first;
	assert_int_equal(vfio_release_dump(f->vr, count_records, &seen), 3);
	assert_int_equal(seen, 3);
	assert_int_equal(f->calls, 3);
}

static int answer_always_busy(struct fake *f, struct nlmsghdr *hdr)
{
	push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, -EAGAIN, NULL));
	(void)f;
	return 0;
}

static void push_event(struct fake *f, uint8_t cmd, const char *dev, uint64_t seq,
		       int state, uint64_t instance)
{
	struct test_record r = {
		.cmd = cmd, .device = dev, .state = state, .seq = seq,
		.generation = 2, .instance = instance, .registration = 3,
	};

	push(&f->ev, test_record_msg(&r));
}

static int answer_always_interrupted(struct fake *f, struct nlmsghdr *hdr)
{
	push_record(&f->req, A, hdr->nlmsg_seq, NLM_F_MULTI | NLM_F_DUMP_INTR, 1, 0);
	push(&f->req, test_control_msg(NLMSG_DONE, hdr->nlmsg_seq, 0, NULL));
	return 0;
}

/* Interrupted every time: -EAGAIN (try later), not -EINTR (a signal). */
static void interrupted_bounded(void **state)
{
	struct fake *f = *state;

	f->answer = answer_always_interrupted;
	assert_int_equal(vfio_release_dump(f->vr, NULL, NULL), -EAGAIN);
	assert_int_equal(f->calls, VR_REQUEST_TRIES);
}

static int answer_shutting_down(struct fake *f, struct nlmsghdr *hdr)
{
	push(&f->req, test_control_msg(NLMSG_ERROR, hdr->nlmsg_seq, -ESHUTDOWN, NULL));
	(void)f;
	return 0;
}

/* A re-read during rmmod, or while the module is busy: later, not fatal. */
static void reread_later_when_not_ready(void **state)
{
	struct fake *f = *state;
	const char *a[] = { A };
	struct vfio_release_wait *w;

	assert_int_equal(vfio_release_wait_new(f->vr, a, 1, VFIO_RELEASE_STATE_FREE, &w), 0);
	push_event(f, VFIO_RELEASE_CMD_RESYNC, NULL, 30, -1, INST);
	f->answer = answer_shutting_down;
	assert_int_equal(vfio_release_wait_process(f->vr, w), 0);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_REREAD);
	f->answer = answer_always_busy;
	f->calls = 0;
	assert_int_equal(vfio_release_wait_process(f->vr, w), 0);
	/* Asked once: a re-read blocks a second at most. */
	assert_int_equal(f->calls, 1);
	f->answer = answer_right;
	assert_int_equal(vfio_release_wait_process(f->vr, w), 1);
	vfio_release_wait_free(w);
}

static void busy_bounded(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	f->answer = answer_always_busy;
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -EAGAIN);
	assert_int_equal(f->calls, VR_REQUEST_TRIES);
}

static int answer_nothing(struct fake *f, struct nlmsghdr *hdr)
{
	(void)f;
	(void)hdr;
	return 0;
}

static void silence_times_out(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	f->answer = answer_nothing;
	/* Not a wait's -ETIMEDOUT: the kernel did not answer. */
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -ETIME);
}

static void socket_errno_kept(void **state)
{
	struct fake *f = *state;
	struct vfio_release_event *ev = NULL;

	f->send_errno = ECONNREFUSED;
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -ECONNREFUSED);
}

struct seen {
	int count;
	enum vfio_release_notice notice[8];
	char device[8][VFIO_RELEASE_DEVICE_NAME_MAX];
};

static int remember(const struct vfio_release_event *ev, void *arg)
{
	struct seen *s = arg;

	if (s->count < 8) {
		s->notice[s->count] = vfio_release_event_get_notice(ev);
		strcpy(s->device[s->count], vfio_release_event_get_device(ev));
	}
	s->count++;
	return 0;
}


/* One dispatch feeds every wait of the handle, then the caller. */
static void waits_fed_from_one_dispatch(void **state)
{
	struct fake *f = *state;
	const char *a[] = { A }, *b[] = { B };
	struct vfio_release_wait *wa, *wb;
	struct seen seen = { 0 };

	f->answer = answer_busy_first;	/* the first GET is asked twice */
	assert_int_equal(vfio_release_subscribe(f->vr), 0);
	assert_int_equal(vfio_release_wait_new(f->vr, a, 1, VFIO_RELEASE_STATE_RELEASED, &wa), 0);
	f->answer = answer_right;
	assert_int_equal(vfio_release_wait_new(f->vr, b, 1, VFIO_RELEASE_STATE_FREE, &wb), 0);
	/* The GETs said free (seq 20); now both are opened, then B freed. */
	push_event(f, VFIO_RELEASE_CMD_DEVICE_OPENED, A, 21, VFIO_RELEASE_STATE_OPEN, INST);
	push_event(f, VFIO_RELEASE_CMD_DEVICE_OPENED, B, 22, VFIO_RELEASE_STATE_OPEN, INST);
	assert_int_equal(vfio_release_dispatch(f->vr, remember, &seen), 2);
	assert_int_equal(vfio_release_wait_status(wa), VFIO_RELEASE_WAIT_DONE);
	assert_int_equal(vfio_release_wait_status(wb), VFIO_RELEASE_WAIT_PENDING);
	push_event(f, VFIO_RELEASE_CMD_DEVICE_FREE, B, 23, VFIO_RELEASE_STATE_FREE, INST);
	assert_int_equal(vfio_release_wait_process(f->vr, wb), 1);
	assert_int_equal(seen.count, 2);
	assert_string_equal(seen.device[1], B);
	vfio_release_wait_free(wa);
	vfio_release_wait_free(wb);
}

/* Unload: requests fail with -ENOPKG; load: joined again, re-read, go on. */
static void module_unload_and_load_followed(void **state)
{
	struct fake *f = *state;
	const char *a[] = { A };
	struct vfio_release_wait *w;
	struct vfio_release_event *ev = NULL;
	struct seen seen = { 0 };
	int by_name;

	assert_int_equal(vfio_release_subscribe(f->vr), 0);
	assert_int_equal(vfio_release_wait_new(f->vr, a, 1, VFIO_RELEASE_STATE_FREE, &w), 0);
	push_event(f, VFIO_RELEASE_CMD_DEVICE_OPENED, A, 21, VFIO_RELEASE_STATE_OPEN, INST);
	push(&f->ev, test_family_msg(CTRL_CMD_DELFAMILY, VFIO_RELEASE_GENL_NAME,
				     TEST_FAMILY, 0, 0));
	f->family_id = -1;
	by_name = f->by_name;
	/* Another family's news is nothing to us. */
	push(&f->ev, test_family_msg(CTRL_CMD_DELFAMILY, "nl80211", 0x30, 0, 0));
	assert_int_equal(vfio_release_wait_process(f->vr, w), 0);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_REREAD);
	assert_int_equal(vfio_release_get(f->vr, A, &ev), -ENOPKG);
	assert_int_equal(vfio_release_wait_process(f->vr, w), 0);
	/* Never asked for by name again: that would load it straight back. */
	assert_int_equal(f->by_name, by_name);
	assert_true(f->dumps > 0);

	/* Loaded again with a new family id; its first GET says free. */
	f->family_id = TEST_FAMILY + 1;
	f->group = 10;
	f->instance = INST + 1;
	push(&f->ev, test_family_msg(CTRL_CMD_NEWFAMILY, VFIO_RELEASE_GENL_NAME,
				     TEST_FAMILY + 1, 10, 0));
	assert_int_equal(vfio_release_dispatch(f->vr, remember, &seen), 1);
	assert_int_equal(seen.notice[0], VFIO_RELEASE_NOTICE_MODULE_LOADED);
	assert_int_equal(f->vr->family, TEST_FAMILY + 1);
	assert_int_equal(f->vr->events_group, 10);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_REREAD);
	/* Re-read from the new module: its instance, its records. */
	assert_int_equal(vfio_release_wait_process(f->vr, w), 1);
	assert_int_equal(vfio_release_get(f->vr, A, &ev), 0);
	vfio_release_event_unref(ev);
	vfio_release_wait_free(w);
}

static void overflow_is_a_notice(void **state)
{
	struct fake *f = *state;
	const char *a[] = { A };
	struct vfio_release_wait *w;
	struct seen seen = { 0 };

	assert_int_equal(vfio_release_wait_new(f->vr, a, 1, VFIO_RELEASE_STATE_FREE, &w), 0);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_DONE);
	f->overflow = true;
	push_event(f, VFIO_RELEASE_CMD_DEVICE_OPENED, A, 30, VFIO_RELEASE_STATE_OPEN, INST);
	assert_int_equal(vfio_release_dispatch(f->vr, remember, &seen), 2);
	assert_int_equal(seen.notice[0], VFIO_RELEASE_NOTICE_OVERFLOW);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_REREAD);
	/* The re-read says free again (seq 20 < 30 is older: kept open). */
	assert_int_equal(vfio_release_wait_reread(f->vr, w), 0);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_PENDING);
	vfio_release_wait_free(w);
}

/* Lost in an overflow: the module's unload. The overflow says so too. */
static void overflow_finds_module_gone(void **state)
{
	struct fake *f = *state;
	const char *a[] = { A };
	struct vfio_release_wait *w;
	struct seen seen = { 0 };

	assert_int_equal(vfio_release_wait_new(f->vr, a, 1, VFIO_RELEASE_STATE_FREE, &w), 0);
	f->overflow = true;
	f->family_id = -1;
	assert_int_equal(vfio_release_dispatch(f->vr, remember, &seen), 2);
	assert_int_equal(seen.notice[0], VFIO_RELEASE_NOTICE_OVERFLOW);
	assert_int_equal(seen.notice[1], VFIO_RELEASE_NOTICE_MODULE_UNLOADED);
	assert_int_equal(f->vr->family, -1);
	assert_int_equal(vfio_release_wait_status(w), VFIO_RELEASE_WAIT_REREAD);
	vfio_release_wait_free(w);
}

static void null_handles_refused(void **state)
{
	(void)state;
	assert_int_equal(vfio_release_dispatch(NULL, NULL, NULL), -EBADF);
	assert_int_equal(vfio_release_fd(NULL), -EBADF);
	assert_int_equal(vfio_release_get(NULL, A, NULL), -EINVAL);
	assert_int_equal(vfio_release_dump(NULL, NULL, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(get_answers_its_device, setup, teardown),
		cmocka_unit_test_setup_teardown(leftovers_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(aborted_dump_then_get, setup, teardown),
		cmocka_unit_test_setup_teardown(answer_for_another_device_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(kernel_message_reaches_caller, setup, teardown),
		cmocka_unit_test_setup_teardown(enodev_passes_through, setup, teardown),
		cmocka_unit_test_setup_teardown(busy_and_interrupted_asked_again, setup, teardown),
		cmocka_unit_test_setup_teardown(dump_error_in_done_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(busy_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(interrupted_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(reread_later_when_not_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(silence_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(socket_errno_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(waits_fed_from_one_dispatch, setup, teardown),
		cmocka_unit_test_setup_teardown(module_unload_and_load_followed, setup, teardown),
		cmocka_unit_test_setup_teardown(overflow_is_a_notice, setup, teardown),
		cmocka_unit_test_setup_teardown(overflow_finds_module_gone, setup, teardown),
		cmocka_unit_test(null_handles_refused),
	};

	return cmocka_run_group_tests_name("reply", tests, NULL, NULL);
}
