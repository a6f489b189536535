// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * match-bench: the library's decode-and-match throughput on the host, on
 * event messages built as the module builds them (kmod/record.c and
 * kmod/events.c: the same attributes in the same order, as genlmsg_put
 * and nla_put lay them out on x86-64).
 *
 *   match-bench [-d DEVICES] [-n MESSAGES] [-r REPETITIONS]
 *
 * The stream: DEVICES devices (default 8), each in its own IOMMU group,
 * going through open/close cycles; one cycle of one device is the six
 * notifications the module sends for it (GROUP_CLAIMED, DEVICE_CLAIMED,
 * DEVICE_OPENED, DEVICE_RELEASED with its close time and reset,
 * GROUP_RELEASED, DEVICE_FREE). A block of such messages is built once;
 * between passes over it only its sequence numbers, counters and
 * timestamps move on (outside the timed part), so every pass is new to
 * the waits. Three paths, each over MESSAGES messages (default 1000000),
 * REPETITIONS times (default 7):
 *
 *   decode     vfio_release_event_new_from_message(), the event's type,
 *              device and state read, unref
 *   match      decode, then what a dispatch does with it: every wait of
 *              a matcher with one exit expectation per device (QEMU not
 *              gone yet, so every expectation stays pending and looks at
 *              every event) fed with vfio_release_wait_feed(), and the
 *              matcher's observe
 *   dispatch   the same matcher on a handle whose socket is replaced by
 *              an in-memory queue (the unit tests' fake I/O): libnl's
 *              receive loop, the library's vfio_release_dispatch() and
 *              vfio_release_match_process(), one message per receive,
 *              copied once as recvmsg would
 *
 * Prints one line per path: "match-bench path=P devices=N messages=N
 * bytes_per_msg=F median_per_s=F min_per_s=F max_per_s=F
 * cpu_median_per_s=F cpu_min_per_s=F runs=LIST": events per second of
 * wall time over the repetitions (runs: each one's), and per second of
 * this thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which others' load on
 * a shared machine does not stretch.
 * Exits 0 with figures, 2 when it could not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "handle.h"
#include "internal.h"
#include "match.h"
#include "wait-state.h"

#define FAMILY 0x24
#define EVENTS_GROUP 11
#define CTRL_NOTIFY_GROUP 0x10
#define INSTANCE 0x5eed5eed12345678ULL
#define REGISTRATION 7
#define MSGS_PER_CYCLE 6
#define MAX_FIELDS 8
#define CYCLES_PER_BLOCK 128

static void die(const char *what)
{
	fprintf(stderr, "match-bench: %s\n", what);
	exit(2);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Wall and CPU time of the timed parts: others' load shows in the gap. */
static uint64_t wall_ns, cpu_ns, wall0, cpu0;

static void timer_start(void)
{
	wall0 = clock_ns(CLOCK_MONOTONIC);
	cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static void timer_stop(void)
{
	wall_ns += clock_ns(CLOCK_MONOTONIC) - wall0;
	cpu_ns += clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
}

/* One message of the block, and where its moving u64 fields are. */
struct msg {
	unsigned char *data;
	size_t len;
	unsigned int nfields;
	size_t off[MAX_FIELDS];
	uint64_t step[MAX_FIELDS];	/* added per pass over the block */
};

static struct msg *block;
static unsigned int block_len;
static unsigned int ndevices = 8;
static char names[64][16];

/* The device's state for one message of a cycle. */
struct dev_fields {
	uint32_t state, reset;
	uint64_t ts, seq, generation, opens, releases, frees;
	bool opener, released_once;
};

static struct nl_msg *new_msg(uint8_t cmd)
{
	struct nl_msg *m = nlmsg_alloc();

	if (!m || !genlmsg_put(m, 0, 0, FAMILY, 0, 0, cmd, VFIO_RELEASE_GENL_VERSION))
		die("cannot build a message");
	return m;
}

/* nla_put_u64 and the offset of its value in the finished message. */
static void put_u64(struct nl_msg *m, struct msg *rec, int attr, uint64_t v, uint64_t step)
{
	size_t off = nlmsg_hdr(m)->nlmsg_len + NLA_HDRLEN;

	if (nla_put_u64(m, attr, v))
		die("nla_put_u64");
	if (step) {
		if (rec->nfields == MAX_FIELDS)
			die("too many fields");
		rec->off[rec->nfields] = off;
		rec->step[rec->nfields++] = step;
	}
}

static void finish(struct nl_msg *m, struct msg *rec)
{
	struct nlmsghdr *h = nlmsg_hdr(m);

	rec->len = h->nlmsg_len;
	rec->data = malloc(rec->len);
	if (!rec->data)
		die("out of memory");
	memcpy(rec->data, h, rec->len);
	nlmsg_free(m);
}

/* kmod/record.c's vr_put_device(), field by field. */
static void device_msg(struct msg *rec, uint8_t cmd, unsigned int d,
		       const struct dev_fields *f, uint64_t seq_step, uint64_t cyc_step)
{
	struct nl_msg *m = new_msg(cmd);

	put_u64(m, rec, VFIO_RELEASE_A_INSTANCE, INSTANCE, 0);
	if (nla_put_string(m, VFIO_RELEASE_A_DEVICE, names[d]) ||
	    nla_put_string(m, VFIO_RELEASE_A_SUBSYSTEM, "pci") ||
	    nla_put_string(m, VFIO_RELEASE_A_DRIVER, "vfio_pci_slow") ||
	    nla_put_u32(m, VFIO_RELEASE_A_STATE, f->state) ||
	    nla_put_u32(m, VFIO_RELEASE_A_RESET, f->reset))
		die("nla_put");
	put_u64(m, rec, VFIO_RELEASE_A_TIMESTAMP_NS, f->ts, seq_step * 1000);
	put_u64(m, rec, VFIO_RELEASE_A_SEQ, f->seq, seq_step);
	put_u64(m, rec, VFIO_RELEASE_A_GENERATION, f->generation, cyc_step);
	put_u64(m, rec, VFIO_RELEASE_A_OPEN_COUNT, f->opens, cyc_step);
	put_u64(m, rec, VFIO_RELEASE_A_RELEASE_COUNT, f->releases, cyc_step);
	put_u64(m, rec, VFIO_RELEASE_A_FREE_COUNT, f->frees, cyc_step);
	put_u64(m, rec, VFIO_RELEASE_A_REGISTRATION, REGISTRATION, 0);
	if (nla_put_u16(m, VFIO_RELEASE_A_PCI_VENDOR, 0x8086) ||
	    nla_put_u16(m, VFIO_RELEASE_A_PCI_DEVICE, 0x10d3) ||
	    nla_put_u32(m, VFIO_RELEASE_A_IOMMU_GROUP, 20 + d))
		die("nla_put");
	if (f->released_once) {
		put_u64(m, rec, VFIO_RELEASE_A_CLOSE_NS, 251234567, 0);
		if (nla_put_u32(m, VFIO_RELEASE_A_PID, 4242) ||
		    nla_put_string(m, VFIO_RELEASE_A_COMM, "qemu-system-x86"))
			die("nla_put");
	}
	if (f->opener && (nla_put_u32(m, VFIO_RELEASE_A_OPENER_PID, 4242) ||
			  nla_put_string(m, VFIO_RELEASE_A_OPENER_COMM, "qemu-system-x86")))
		die("nla_put");
	finish(m, rec);
}

/* kmod/events.c: a group event. */
static void group_msg(struct msg *rec, uint8_t cmd, unsigned int d, uint64_t ts,
		      uint64_t seq, uint64_t seq_step)
{
	struct nl_msg *m = new_msg(cmd);

	put_u64(m, rec, VFIO_RELEASE_A_INSTANCE, INSTANCE, 0);
	if (nla_put_u32(m, VFIO_RELEASE_A_IOMMU_GROUP, 20 + d))
		die("nla_put");
	put_u64(m, rec, VFIO_RELEASE_A_TIMESTAMP_NS, ts, seq_step * 1000);
	put_u64(m, rec, VFIO_RELEASE_A_SEQ, seq, seq_step);
	finish(m, rec);
}

static void build_block(void)
{
	uint64_t seq = 1, seq_step;
	unsigned int c, d, i = 0;

	block_len = CYCLES_PER_BLOCK * ndevices * MSGS_PER_CYCLE;
	block = calloc(block_len, sizeof(*block));
	if (!block)
		die("out of memory");
	seq_step = block_len;
	for (d = 0; d < ndevices; d++)
		snprintf(names[d], sizeof(names[d]), "0000:%02x:00.0", 5 + d);
	for (c = 1; c <= CYCLES_PER_BLOCK; c++) {
		for (d = 0; d < ndevices; d++) {
			struct dev_fields f = {
				.reset = c > 1 ? VFIO_RELEASE_RESET_FUNCTION : VFIO_RELEASE_RESET_UNKNOWN,
				.generation = c - 1, .opens = c - 1, .releases = c - 1,
				.frees = c - 1, .released_once = c > 1,
			};

			group_msg(&block[i++], VFIO_RELEASE_CMD_GROUP_CLAIMED, d, seq * 1000, seq, seq_step);
			seq++;
			f.state = VFIO_RELEASE_STATE_RELEASED;
			f.ts = seq * 1000;
			f.seq = seq++;
			device_msg(&block[i++], VFIO_RELEASE_CMD_DEVICE_CLAIMED, d, &f, seq_step,
				   CYCLES_PER_BLOCK);
			f.state = VFIO_RELEASE_STATE_OPEN;
			f.opens = c;
			f.opener = true;
			f.ts = seq * 1000;
			f.seq = seq++;
			device_msg(&block[i++], VFIO_RELEASE_CMD_DEVICE_OPENED, d, &f, seq_step,
				   CYCLES_PER_BLOCK);
			f.state = VFIO_RELEASE_STATE_RELEASED;
			f.opener = false;
			f.generation = c;
			f.releases = c;
			f.released_once = true;
			f.reset = VFIO_RELEASE_RESET_FUNCTION;
			f.ts = seq * 1000;
			f.seq = seq++;
			device_msg(&block[i++], VFIO_RELEASE_CMD_DEVICE_RELEASED, d, &f, seq_step,
				   CYCLES_PER_BLOCK);
			group_msg(&block[i++], VFIO_RELEASE_CMD_GROUP_RELEASED, d, seq * 1000, seq, seq_step);
			seq++;
			f.state = VFIO_RELEASE_STATE_FREE;
			f.frees = c;
			f.ts = seq * 1000;
			f.seq = seq++;
			device_msg(&block[i++], VFIO_RELEASE_CMD_DEVICE_FREE, d, &f, seq_step,
				   CYCLES_PER_BLOCK);
		}
	}
}

/* The next pass: every moving field one block further. */
static void advance_block(void)
{
	unsigned int i, k;

	for (i = 0; i < block_len; i++) {
		for (k = 0; k < block[i].nfields; k++) {
			uint64_t v;

			memcpy(&v, block[i].data + block[i].off[k], sizeof(v));
			v += block[i].step[k];
			memcpy(block[i].data + block[i].off[k], &v, sizeof(v));
		}
	}
}

/* The record a wait reads at its creation: free, before the stream. */
static struct vfio_release_event *initial_record(unsigned int d)
{
	struct nl_msg *m = nlmsg_alloc();
	struct vfio_release_event *ev = NULL;
	struct msg dummy = { 0 };

	if (!m || !genlmsg_put(m, 0, 0, FAMILY, 0, 0, VFIO_RELEASE_CMD_GET_DEVICE,
			       VFIO_RELEASE_GENL_VERSION))
		die("cannot build a record");
	put_u64(m, &dummy, VFIO_RELEASE_A_INSTANCE, INSTANCE, 0);
	if (nla_put_string(m, VFIO_RELEASE_A_DEVICE, names[d]) ||
	    nla_put_u32(m, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_FREE))
		die("nla_put");
	put_u64(m, &dummy, VFIO_RELEASE_A_SEQ, 0, 0);
	put_u64(m, &dummy, VFIO_RELEASE_A_GENERATION, 0, 0);
	put_u64(m, &dummy, VFIO_RELEASE_A_REGISTRATION, REGISTRATION, 0);
	if (vr_event_decode(nlmsg_hdr(m), &ev))
		die("cannot decode a record");
	nlmsg_free(m);
	return ev;
}

/* A matcher without I/O: one exit expectation per device. */
static struct vfio_release_match *offline_matcher(void)
{
	struct vfio_release_match *m = NULL;
	unsigned int d;

	if (vr_match_alloc(NULL, &m))
		die("vr_match_alloc");
	for (d = 0; d < ndevices; d++) {
		const char *dev = names[d];
		struct vfio_release_wait *w = NULL;
		struct vfio_release_event *rec = initial_record(d);

		if (vr_wait_alloc(&dev, 1, VFIO_RELEASE_STATE_FREE, &w))
			die("vr_wait_alloc");
		vr_wait_record(w, 0, rec);
		vfio_release_event_unref(rec);
		if (vr_match_add(m, NULL, w) < 0)
			die("vr_match_add");
	}
	return m;
}

static unsigned long sink;

static void run_decode(unsigned long n)
{
	unsigned long done = 0;
	unsigned int i;

	while (done < n) {
		timer_start();
		for (i = 0; i < block_len && done < n; i++, done++) {
			struct vfio_release_event *ev;

			if (vfio_release_event_new_from_message(block[i].data, block[i].len, &ev))
				die("a message did not decode");
			sink += vfio_release_event_get_type(ev) + vfio_release_event_get_state(ev) +
				(unsigned char)vfio_release_event_get_device(ev)[0];
			vfio_release_event_unref(ev);
		}
		timer_stop();
		advance_block();
	}
}

static void run_match(unsigned long n)
{
	struct vfio_release_match *m = offline_matcher();
	unsigned long done = 0;
	unsigned int i, k;

	while (done < n) {
		timer_start();
		for (i = 0; i < block_len && done < n; i++, done++) {
			struct vfio_release_event *ev;

			if (vfio_release_event_new_from_message(block[i].data, block[i].len, &ev))
				die("a message did not decode");
			for (k = 0; k < m->count; k++)
				vfio_release_wait_feed(m->exp[k]->wait, ev);
			vr_match_observe(m);
			vfio_release_event_unref(ev);
		}
		timer_stop();
		advance_block();
	}
	for (k = 0; k < m->count; k++)
		if (vfio_release_match_status(m, k) != VFIO_RELEASE_MATCH_PENDING)
			die("an expectation ended: the stream is not what was meant");
	vfio_release_match_free(m);
}

/* --- the fake kernel behind a handle --- */

struct queue {
	unsigned char **msg;
	unsigned int head, tail, cap;
};

static struct queue req_q;
static struct vfio_release *fake_vr;
/* The event socket's stream: the block, from ev_next to ev_end. */
static unsigned int ev_next, ev_end;

static void push(struct queue *q, struct nl_msg *m)
{
	struct nlmsghdr *h = nlmsg_hdr(m);

	if (q->tail == q->cap) {
		q->cap = q->cap ? 2 * q->cap : 64;
		q->msg = realloc(q->msg, q->cap * sizeof(*q->msg));
		if (!q->msg)
			die("out of memory");
	}
	q->msg[q->tail] = malloc(h->nlmsg_len);
	if (!q->msg[q->tail])
		die("out of memory");
	memcpy(q->msg[q->tail++], h, h->nlmsg_len);
	nlmsg_free(m);
}

static int fake_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf,
		     struct ucred **creds)
{
	const unsigned char *src;
	size_t len;

	(void)creds;
	memset(nla, 0, sizeof(*nla));
	nla->nl_family = AF_NETLINK;
	if (sk == fake_vr->ev) {
		if (ev_next >= ev_end)
			return -NLE_AGAIN;
		src = block[ev_next].data;
		len = block[ev_next++].len;
	} else {
		if (req_q.head == req_q.tail)
			return -NLE_AGAIN;
		src = req_q.msg[req_q.head];
		len = ((const struct nlmsghdr *)src)->nlmsg_len;
	}
	*buf = malloc(len);
	if (!*buf)
		return -NLE_NOMEM;
	memcpy(*buf, src, len);
	if (sk != fake_vr->ev)
		free(req_q.msg[req_q.head++]);
	return len;
}

static struct nl_msg *family_msg(const char *name, uint16_t id, const char *group,
				 uint32_t group_id, uint32_t seq, uint16_t flags)
{
	struct nl_msg *m = nlmsg_alloc();
	struct nlattr *gs, *g;

	if (!m || !genlmsg_put(m, 0, seq, GENL_ID_CTRL, 0, flags, CTRL_CMD_NEWFAMILY, 2) ||
	    nla_put_string(m, CTRL_ATTR_FAMILY_NAME, name) ||
	    nla_put_u16(m, CTRL_ATTR_FAMILY_ID, id) ||
	    nla_put_u32(m, CTRL_ATTR_VERSION, 1) ||
	    nla_put_u32(m, CTRL_ATTR_HDRSIZE, 0) ||
	    nla_put_u32(m, CTRL_ATTR_MAXATTR, VFIO_RELEASE_A_MAX))
		die("cannot build a family message");
	gs = nla_nest_start(m, CTRL_ATTR_MCAST_GROUPS);
	g = nla_nest_start(m, 1);
	if (!gs || !g || nla_put_string(m, CTRL_ATTR_MCAST_GRP_NAME, group) ||
	    nla_put_u32(m, CTRL_ATTR_MCAST_GRP_ID, group_id))
		die("cannot build a family message");
	nla_nest_end(m, g);
	nla_nest_end(m, gs);
	return m;
}

static struct nl_msg *control_msg(int type, uint32_t seq)
{
	struct nl_msg *m = nlmsg_alloc_simple(type, 0);
	struct nlmsgerr err = { .error = 0 };
	int done = 0;

	if (!m)
		die("out of memory");
	nlmsg_hdr(m)->nlmsg_seq = seq;
	if (type == NLMSG_ERROR) {
		err.msg.nlmsg_len = NLMSG_HDRLEN;
		err.msg.nlmsg_seq = seq;
		if (nlmsg_append(m, &err, sizeof(err), 0))
			die("nlmsg_append");
	} else if (nlmsg_append(m, &done, sizeof(done), 0)) {
		die("nlmsg_append");
	}
	return m;
}

/* Answers the controller's lookups and GET_DEVICE, as the kernel would. */
static int fake_send(struct nl_sock *sk, struct nl_msg *msg)
{
	struct nlmsghdr *h = nlmsg_hdr(msg);
	uint32_t s = h->nlmsg_seq;

	(void)sk;
	if (h->nlmsg_type == GENL_ID_CTRL) {
		struct nlattr *tb[CTRL_ATTR_MAX + 1];
		bool nlctrl = !genlmsg_parse(h, 0, tb, CTRL_ATTR_MAX, NULL) &&
			      tb[CTRL_ATTR_FAMILY_NAME] &&
			      !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), "nlctrl");

		if (h->nlmsg_flags & NLM_F_DUMP) {
			push(&req_q, family_msg("nlctrl", GENL_ID_CTRL, "notify",
						CTRL_NOTIFY_GROUP, s, NLM_F_MULTI));
			push(&req_q, family_msg(VFIO_RELEASE_GENL_NAME, FAMILY,
						VFIO_RELEASE_MCGRP_EVENTS, EVENTS_GROUP, s,
						NLM_F_MULTI));
			push(&req_q, control_msg(NLMSG_DONE, s));
			return h->nlmsg_len;
		}
		push(&req_q, nlctrl ? family_msg("nlctrl", GENL_ID_CTRL, "notify",
						 CTRL_NOTIFY_GROUP, s, 0) :
				      family_msg(VFIO_RELEASE_GENL_NAME, FAMILY,
						 VFIO_RELEASE_MCGRP_EVENTS, EVENTS_GROUP, s, 0));
	} else {
		struct nlattr *tb[VFIO_RELEASE_A_MAX + 1];
		struct msg dummy = { 0 };
		struct nl_msg *m = nlmsg_alloc();

		if (genlmsg_parse(h, 0, tb, VFIO_RELEASE_A_MAX, NULL) || !tb[VFIO_RELEASE_A_DEVICE])
			die("an unexpected request");
		if (!m || !genlmsg_put(m, 0, s, FAMILY, 0, 0, VFIO_RELEASE_CMD_GET_DEVICE,
				       VFIO_RELEASE_GENL_VERSION))
			die("cannot build a record");
		put_u64(m, &dummy, VFIO_RELEASE_A_INSTANCE, INSTANCE, 0);
		if (nla_put_string(m, VFIO_RELEASE_A_DEVICE,
				   nla_get_string(tb[VFIO_RELEASE_A_DEVICE])) ||
		    nla_put_u32(m, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_FREE))
			die("nla_put");
		put_u64(m, &dummy, VFIO_RELEASE_A_SEQ, 0, 0);
		put_u64(m, &dummy, VFIO_RELEASE_A_GENERATION, 0, 0);
		put_u64(m, &dummy, VFIO_RELEASE_A_REGISTRATION, REGISTRATION, 0);
		push(&req_q, m);
	}
	if (h->nlmsg_flags & NLM_F_ACK)
		push(&req_q, control_msg(NLMSG_ERROR, s));
	return h->nlmsg_len;
}

static void run_dispatch(unsigned long n)
{
	struct nl_cb *io = nl_cb_alloc(NL_CB_DEFAULT);
	struct vfio_release_match *m = NULL;
	unsigned long done = 0;
	unsigned int d;
	int err;

	if (!io)
		die("nl_cb_alloc");
	nl_cb_overwrite_recv(io, fake_recv);
	nl_cb_overwrite_send(io, fake_send);
	if (vr_handle_new_fake(io, FAMILY, &fake_vr))
		die("vr_handle_new_fake");
	nl_cb_put(io);
	ev_next = ev_end = 0;
	if ((err = vfio_release_subscribe(fake_vr)))
		die(vfio_release_strerror(err));
	if (vfio_release_match_new(fake_vr, &m))
		die("vfio_release_match_new");
	for (d = 0; d < ndevices; d++)
		if ((err = vfio_release_match_expect_exit(m, names[d])) < 0)
			die(vfio_release_strerror(err));
	while (done < n) {
		unsigned int chunk = n - done < block_len ? n - done : block_len;
		ev_next = 0;
		ev_end = chunk;
		timer_start();
		while (ev_next < ev_end)
			if ((err = vfio_release_match_process(m)) < 0)
				die(vfio_release_strerror(err));
		timer_stop();
		done += chunk;
		advance_block();
	}
	for (d = 0; d < ndevices; d++)
		if (vfio_release_match_status(m, d) != VFIO_RELEASE_MATCH_PENDING)
			die("an expectation ended: the stream is not what was meant");
	vfio_release_match_free(m);
	vfio_release_close(fake_vr);
	fake_vr = NULL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(const double *sorted, unsigned int n)
{
	return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(unsigned long n);
	} paths[] = {
		{ "decode", run_decode }, { "match", run_match }, { "dispatch", run_dispatch },
	};
	unsigned long n = 1000000;
	unsigned int reps = 7, p, r, i;
	size_t bytes = 0;
	int opt;

	while ((opt = getopt(argc, argv, "d:n:r:")) != -1) {
		switch (opt) {
		case 'd': ndevices = atoi(optarg); break;
		case 'n': n = strtoul(optarg, NULL, 10); break;
		case 'r': reps = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: match-bench [-d DEVICES] [-n MESSAGES] [-r REPETITIONS]\n");
			return 2;
		}
	}
	if (ndevices < 1 || ndevices > 64 || n < 1 || reps < 1 || reps > 100)
		die("bad arguments (1..64 devices, 1..100 repetitions)");
	build_block();
	for (i = 0; i < block_len; i++)
		bytes += block[i].len;
	for (p = 0; p < sizeof(paths) / sizeof(paths[0]); p++) {
		double wall[100], cpu[100];
		char runs[1024] = "";
		size_t used = 0;

		/* One pass not counted: caches, the allocator's arenas. */
		paths[p].run(block_len);
		for (r = 0; r < reps; r++) {
			wall_ns = cpu_ns = 0;
			paths[p].run(n);
			wall[r] = n * 1e9 / (wall_ns ? wall_ns : 1);
			cpu[r] = n * 1e9 / (cpu_ns ? cpu_ns : 1);
			used += snprintf(runs + used, sizeof(runs) - used, "%s%.0f", r ? "," : "",
					 wall[r]);
			if (used >= sizeof(runs))
				used = sizeof(runs) - 1;
		}
		qsort(wall, reps, sizeof(double), cmp_double);
		qsort(cpu, reps, sizeof(double), cmp_double);
		printf("match-bench path=%s devices=%u messages=%lu bytes_per_msg=%.1f median_per_s=%.0f min_per_s=%.0f max_per_s=%.0f cpu_median_per_s=%.0f cpu_min_per_s=%.0f runs=%s\n",
		       paths[p].name, ndevices, n, (double)bytes / block_len, median(wall, reps),
		       wall[0], wall[reps - 1], median(cpu, reps), cpu[0], runs);
	}
	return sink == 42 ? 3 : 0;
}
