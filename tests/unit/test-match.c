// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The matcher against every ordering of QEMU's side and the kernel's, and
 * why a device is not free, read from a fake /proc and /sys.
 */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <netlink/genl/ctrl.h>

#include "handle.h"
#include "netlink-builder.h"
#include "match.h"
#include "wait-state.h"

#define A "0000:01:00.0"
#define B "0000:01:00.1"
#define INST 0x1111

#define S(x) VFIO_RELEASE_STATE_##x
#define C(x) VFIO_RELEASE_CMD_##x
#define PENDING VFIO_RELEASE_MATCH_PENDING
#define DONE VFIO_RELEASE_MATCH_DONE
#define GONE VFIO_RELEASE_MATCH_GONE
#define BLOCK(x) VFIO_RELEASE_BLOCK_##x

/* A record or event with the attributes the matcher and why() read. */
struct rec {
	uint8_t cmd;
	const char *device;
	int state;
	uint64_t seq, generation, instance, ts, free_count;
	int64_t group;		/* -1: not sent */
	int reset;		/* 0: not sent */
	uint32_t opener;
	const char *opener_comm;
};

static struct vfio_release_event *make(const struct rec *x)
{
	struct test_record r = {
		.cmd = x->cmd, .device = x->device, .state = x->state, .seq = x->seq,
		.generation = x->generation, .instance = x->instance ? x->instance : INST,
		.registration = 7,
	};
	struct nl_msg *msg = test_record_msg(&r);
	struct vfio_release_event *ev = NULL;

	if (x->ts)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, x->ts), 0);
	if (x->free_count)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_FREE_COUNT, x->free_count), 0);
	if (x->group >= 0)
		assert_int_equal(nla_put_u32(msg, VFIO_RELEASE_A_IOMMU_GROUP, x->group), 0);
	if (x->reset)
		assert_int_equal(nla_put_u32(msg, VFIO_RELEASE_A_RESET, x->reset), 0);
	if (x->opener)
		assert_int_equal(nla_put_u32(msg, VFIO_RELEASE_A_OPENER_PID, x->opener), 0);
	if (x->opener_comm)
		assert_int_equal(nla_put_string(msg, VFIO_RELEASE_A_OPENER_COMM,
						x->opener_comm), 0);
	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &ev), 0);
	nlmsg_free(msg);
	return ev;
}

static struct vfio_release_match *matcher(void)
{
	struct vfio_release_match *m = NULL;

	assert_int_equal(vr_match_alloc(NULL, &m), 0);
	return m;
}

/* An expectation whose wait read record x at creation, as wait_new does. */
static int expect(struct vfio_release_match *m, const char *qemu_id, struct rec x)
{
	const char *dev = x.device;
	struct vfio_release_wait *w = NULL;
	struct vfio_release_event *ev;

	x.cmd = C(GET_DEVICE);
	ev = make(&x);
	assert_int_equal(vr_wait_alloc(&dev, 1, S(FREE), &w), 0);
	vr_wait_record(w, 0, ev);
	vfio_release_event_unref(ev);
	return vr_match_add(m, qemu_id, w);
}

/* What a dispatch does: every wait is fed, then the matcher looks. */
static void feed_event(struct vfio_release_match *m, struct vfio_release_event *ev)
{
	unsigned int i;

	for (i = 0; i < m->count; i++)
		vfio_release_wait_feed(m->exp[i]->wait, ev);
	vr_match_observe(m);
	vfio_release_event_unref(ev);
}

static void feed(struct vfio_release_match *m, struct rec x)
{
	feed_event(m, make(&x));
}

static void notice(struct vfio_release_match *m, enum vfio_release_cmd type,
		   enum vfio_release_notice n)
{
	feed_event(m, vr_event_notice(type, n));
}

static uint64_t free_ns(struct vfio_release_match *m, unsigned int i)
{
	uint64_t ns = 0;

	assert_int_equal(vfio_release_match_free_ns(m, i, &ns), 0);
	return ns;
}

static uint64_t qemu_ns(struct vfio_release_match *m, unsigned int i)
{
	uint64_t ns = 0;

	assert_int_equal(vfio_release_match_qemu_ns(m, i, &ns), 0);
	return ns;
}

static void no_free_ns(struct vfio_release_match *m, unsigned int i)
{
	uint64_t ns;

	assert_int_equal(vfio_release_match_free_ns(m, i, &ns), -ENODATA);
}

#define OPENED(s, g) { .cmd = C(DEVICE_OPENED), .device = A, .state = S(OPEN), .seq = s, \
		       .generation = g, .group = -1 }
#define RELEASED(s, g) { .cmd = C(DEVICE_RELEASED), .device = A, .state = S(RELEASED), \
			 .seq = s, .generation = g, .group = -1 }
#define FREED(s, g, t, fc) { .cmd = C(DEVICE_FREE), .device = A, .state = S(FREE), \
			     .seq = s, .generation = g, .ts = t, .free_count = fc, .group = -1 }
#define OPEN_REC(s, g) { .device = A, .state = S(OPEN), .seq = s, .generation = g, .group = -1 }

static void deleted_then_free(void **state)
{
	struct vfio_release_match *m = matcher();

	(void)state;
	assert_int_equal(expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0)), 0);
	vr_match_device_deleted(m, "hostdev0", "/machine/peripheral/hostdev0", 500);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	assert_int_equal(qemu_ns(m, 0), 500);
	no_free_ns(m, 0);
	feed(m, (struct rec)RELEASED(2, 1));
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	feed(m, (struct rec)FREED(3, 1, 900, 1));
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(free_ns(m, 0), 900);
	assert_false(vr_match_qemu_by_exit(m, 0));
	vfio_release_match_free(m);
}

static void free_then_deleted(void **state)
{
	struct vfio_release_match *m = matcher();

	(void)state;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 700, 1));
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	assert_int_equal(free_ns(m, 0), 700);
	vr_match_device_deleted(m, "hostdev0", NULL, 800);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(free_ns(m, 0), 700);
	assert_int_equal(qemu_ns(m, 0), 800);
	/* Done is final: a later open does not undo it. */
	feed(m, (struct rec)OPENED(4, 1));
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(free_ns(m, 0), 700);
	vfio_release_match_free(m);
}

/* A free that did not last is no answer: the next free is. */
static void free_reopened_then_deleted(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec claimed = FREED(4, 1, 0, 1);

	(void)state;
	claimed.cmd = C(DEVICE_CLAIMED);
	claimed.state = S(RELEASED);
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 700, 1));
	assert_int_equal(free_ns(m, 0), 700);
	feed(m, claimed);
	no_free_ns(m, 0);
	feed(m, (struct rec)OPENED(5, 1));
	vr_match_device_deleted(m, "hostdev0", NULL, 800);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	feed(m, (struct rec)RELEASED(6, 2));
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	feed(m, (struct rec)FREED(7, 2, 1500, 2));
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(free_ns(m, 0), 1500);
	vfio_release_match_free(m);
}

static void already_free_then_exit(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec rec = FREED(4, 1, 42, 1);

	(void)state;
	rec.cmd = 0;
	assert_int_equal(expect(m, NULL, rec), 0);
	assert_null(vfio_release_match_qemu_id(m, 0));
	assert_string_equal(vfio_release_match_device(m, 0), A);
	assert_int_equal(free_ns(m, 0), 42);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	/* An exit expectation ignores DEVICE_DELETED. */
	vr_match_device_deleted(m, "hostdev0", NULL, 50);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	vfio_release_match_qemu_gone(m, 77);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(qemu_ns(m, 0), 77);
	assert_int_equal(free_ns(m, 0), 42);
	vfio_release_match_free(m);
}

static void exit_then_free(void **state)
{
	struct vfio_release_match *m = matcher();
	uint64_t ns;

	(void)state;
	expect(m, NULL, (struct rec)OPEN_REC(1, 0));
	assert_int_equal(vfio_release_match_qemu_ns(m, 0, &ns), -ENODATA);
	vfio_release_match_qemu_gone(m, 100);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 300, 1));
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(qemu_ns(m, 0), 100);
	vfio_release_match_free(m);
}

/* A QEMU that exits deletes its devices: its exit ends waiting unplugs. */
static void exit_ends_unplugs(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec b = OPEN_REC(1, 0);

	(void)state;
	b.device = B;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	expect(m, "hostdev1", b);
	vr_match_device_deleted(m, "hostdev1", NULL, 400);
	vfio_release_match_qemu_gone(m, 600);
	assert_int_equal(qemu_ns(m, 0), 600);
	assert_true(vr_match_qemu_by_exit(m, 0));
	assert_int_equal(qemu_ns(m, 1), 400);
	assert_false(vr_match_qemu_by_exit(m, 1));
	/* Once gone, a new expectation has its QEMU side at once. */
	assert_int_equal(expect(m, NULL, (struct rec)OPEN_REC(1, 0)), 2);
	assert_int_equal(qemu_ns(m, 2), 600);
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 900, 1));
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(vfio_release_match_status(m, 1), PENDING);
	assert_int_equal(vfio_release_match_status(m, 2), DONE);
	vfio_release_match_free(m);
}

static void removal_before_free_is_gone(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec removed = OPEN_REC(2, 0);
	uint32_t pid = 1;
	const char *who = "x";

	(void)state;
	removed.cmd = C(DEVICE_REMOVED);
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	feed(m, removed);
	assert_int_equal(vfio_release_match_status(m, 0), GONE);
	no_free_ns(m, 0);
	assert_int_equal(vfio_release_match_why(m, 0, &pid, &who), BLOCK(REMOVED));
	assert_int_equal(pid, 0);
	assert_null(who);
	/* Gone is final: QEMU's word changes nothing. */
	vr_match_device_deleted(m, "hostdev0", NULL, 800);
	assert_int_equal(vfio_release_match_status(m, 0), GONE);
	vfio_release_match_free(m);
}

/* One that was free when it left counts as free (the wait's rule). */
static void removal_after_free_still_matches(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec removed = FREED(4, 1, 0, 1);

	(void)state;
	removed.cmd = C(DEVICE_REMOVED);
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 700, 1));
	feed(m, removed);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	assert_int_equal(free_ns(m, 0), 700);
	vr_match_device_deleted(m, "hostdev0", NULL, 800);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	vfio_release_match_free(m);
}

/* Lost events: nothing is concluded until the device was read again. */
static void overflow_waits_for_reread(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec reread = FREED(8, 1, 250, 1);

	(void)state;
	reread.cmd = C(GET_DEVICE);
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	notice(m, C(RESYNC), VFIO_RELEASE_NOTICE_OVERFLOW);
	vr_match_device_deleted(m, "hostdev0", NULL, 200);
	/* An event after the loss is applied, but not trusted alone. */
	feed(m, (struct rec)FREED(8, 1, 250, 1));
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	no_free_ns(m, 0);
	feed(m, reread);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	/* The free the event told, confirmed by the re-read. */
	assert_int_equal(free_ns(m, 0), 250);
	vfio_release_match_free(m);
}

/* A free across an overflow keeps its time; a reload's record is new. */
static void reread_keeps_or_renews_free_time(void **state)
{
	struct vfio_release_match *m = matcher();
	struct rec same = FREED(3, 1, 999, 1), loaded = FREED(1, 0, 5000, 0);
	struct rec b = FREED(3, 1, 700, 1);

	(void)state;
	same.cmd = C(GET_DEVICE);
	loaded.cmd = C(GET_DEVICE);
	loaded.instance = 0x2222;
	b.cmd = 0;
	b.device = B;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	expect(m, "hostdev1", b);
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 700, 1));
	notice(m, C(RESYNC), VFIO_RELEASE_NOTICE_OVERFLOW);
	/* Free then, still free while stale: the time stands. */
	assert_int_equal(free_ns(m, 0), 700);
	feed(m, same);
	assert_int_equal(free_ns(m, 0), 700);
	/* The module was reloaded: B's record is of the new instance. */
	notice(m, C(RESYNC), VFIO_RELEASE_NOTICE_MODULE_LOADED);
	loaded.device = B;
	feed(m, loaded);
	assert_int_equal(free_ns(m, 1), 5000);
	vr_match_device_deleted(m, "hostdev1", NULL, 6000);
	assert_int_equal(vfio_release_match_status(m, 1), DONE);
	/* A is stale until read again. */
	vr_match_device_deleted(m, "hostdev0", NULL, 6000);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	loaded.device = A;
	loaded.ts = 5100;
	feed(m, loaded);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(free_ns(m, 0), 5100);
	vfio_release_match_free(m);
}

static void duplicate_deleted_keeps_first(void **state)
{
	struct vfio_release_match *m = matcher();

	(void)state;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	vr_match_device_deleted(m, "hostdev0", NULL, 500);
	vr_match_device_deleted(m, "hostdev0", "/machine/peripheral/hostdev0", 900);
	assert_int_equal(qemu_ns(m, 0), 500);
	vfio_release_match_free(m);
}

static void deleted_for_other_ids(void **state)
{
	struct vfio_release_match *m = matcher();
	uint64_t ns;

	(void)state;
	expect(m, "hostdev1", (struct rec)OPEN_REC(1, 0));
	vr_match_device_deleted(m, "net0", "/machine/peripheral/net0", 100);
	vr_match_device_deleted(m, "hostdev10", "/machine/peripheral/hostdev10", 100);
	vr_match_device_deleted(m, NULL, "/machine/peripheral-anon/device[1]", 100);
	vr_match_device_deleted(m, NULL, "/machine/peripheral/hostdev1/x", 100);
	vr_match_device_deleted(m, NULL, "hostdev1", 100);
	assert_int_equal(vfio_release_match_qemu_ns(m, 0, &ns), -ENODATA);
	/* The path alone is enough. */
	vr_match_device_deleted(m, NULL, "/machine/peripheral/hostdev1", 200);
	assert_int_equal(qemu_ns(m, 0), 200);
	vfio_release_match_free(m);
}

/* Two unplugs of one id (a retried device_del): one message ends both. */
static void two_expectations_one_device(void **state)
{
	struct vfio_release_match *m = matcher();

	(void)state;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	expect(m, NULL, (struct rec)OPEN_REC(1, 0));
	assert_int_equal(vfio_release_match_count(m), 2);
	feed(m, (struct rec)RELEASED(2, 1));
	feed(m, (struct rec)FREED(3, 1, 700, 1));
	vr_match_device_deleted(m, "hostdev0", NULL, 800);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(vfio_release_match_status(m, 1), PENDING);
	vfio_release_match_qemu_gone(m, 0);
	assert_int_equal(vfio_release_match_status(m, 1), DONE);
	assert_true(qemu_ns(m, 1) > 0);
	vfio_release_match_free(m);
}

#define SEC 1000000000LL

static void clock_conversion(void **state)
{
	int64_t off = 1700000000 * SEC;	/* realtime less monotonic */
	uint64_t recv = 200 * SEC;

	(void)state;
	/* Sent 150 s after boot by the realtime clock, read at 200 s. */
	assert_int_equal(vr_match_qemu_time(true, (1700000000ULL + 150) * 1000000, recv, off),
			 150 * SEC);
	/* Microseconds are kept. */
	assert_int_equal(vr_match_qemu_time(true, (1700000000ULL + 150) * 1000000 + 7, recv, off),
			 150 * SEC + 7000);
	/* No timestamp: when it was read. */
	assert_int_equal(vr_match_qemu_time(false, 0, recv, off), recv);
	/* After it was read, before boot, absurd: the clock was stepped. */
	assert_int_equal(vr_match_qemu_time(true, (1700000000ULL + 201) * 1000000, recv, off),
			 recv);
	assert_int_equal(vr_match_qemu_time(true, 1600000000ULL * 1000000, recv, off), recv);
	assert_int_equal(vr_match_qemu_time(true, UINT64_MAX, recv, off), recv);
	assert_int_equal(vr_match_qemu_time(true, INT64_MAX / 1000, recv, -INT64_MAX), recv);
	/* A realtime clock behind the monotonic one (set to 1970). */
	assert_int_equal(vr_match_qemu_time(true, 50 * 1000000ULL, recv, -100 * SEC), 150 * SEC);
}

static struct vfio_release_qmp_message *qmp(const char *json)
{
	struct vfio_release_qmp_message *msg = NULL;

	assert_int_equal(vfio_release_qmp_message_new_from_json(json, strlen(json), &msg), 0);
	return msg;
}

static uint64_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* QEMU's timestamp, taken now, lands between before and the receipt. */
static void feed_qmp_converts_qemu_clock(void **state)
{
	struct vfio_release_match *m = matcher();
	struct vfio_release_qmp_message *msg;
	uint64_t before, ns;
	struct timespec rt;
	char json[256];

	(void)state;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	expect(m, "hostdev1", (struct rec)OPEN_REC(1, 0));
	before = mono_now();
	clock_gettime(CLOCK_REALTIME, &rt);
	snprintf(json, sizeof(json),
		 "{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": \"hostdev0\", "
		 "\"path\": \"/machine/peripheral/hostdev0\"}, "
		 "\"timestamp\": {\"seconds\": %lld, \"microseconds\": %ld}}",
		 (long long)rt.tv_sec, rt.tv_nsec / 1000);
	msg = qmp(json);
	vfio_release_match_feed_qmp(m, msg);
	ns = qemu_ns(m, 0);
	/* Truncated to microseconds, and a clock read apart: 2 ms of slack. */
	assert_true(ns + 2000000 >= before);
	assert_true(ns <= vfio_release_qmp_message_received_ns(msg));
	vfio_release_qmp_message_unref(msg);
	/* Without a timestamp: the receipt time. */
	msg = qmp("{\"event\": \"DEVICE_DELETED\", \"data\": {\"path\": "
		  "\"/machine/peripheral/hostdev1\"}}");
	vfio_release_match_feed_qmp(m, msg);
	assert_int_equal(qemu_ns(m, 1), vfio_release_qmp_message_received_ns(msg));
	vfio_release_qmp_message_unref(msg);
	vfio_release_match_free(m);
}

/* Other events and replies naming the id end nothing. */
static void feed_qmp_ignores_others(void **state)
{
	static const char *const others[] = {
		"{\"event\": \"DEVICE_UNPLUG_GUEST_ERROR\", \"data\": {\"device\": \"hostdev0\", "
		"\"path\": \"/machine/peripheral/hostdev0\"}, "
		"\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}}",
		"{\"return\": {\"device\": \"hostdev0\"}}",
		"{\"event\": \"SHUTDOWN\", \"data\": {\"guest\": true}}",
		"{\"event\": \"DEVICE_DELETED\", \"data\": {\"device\": 5}}",
		"{\"event\": \"DEVICE_DELETED\"}",
	};
	struct vfio_release_match *m = matcher();
	unsigned int i;
	uint64_t ns;

	(void)state;
	expect(m, "hostdev0", (struct rec)OPEN_REC(1, 0));
	for (i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		struct vfio_release_qmp_message *msg = qmp(others[i]);

		vfio_release_match_feed_qmp(m, msg);
		vfio_release_qmp_message_unref(msg);
		assert_int_equal(vfio_release_match_qemu_ns(m, 0, &ns), -ENODATA);
	}
	vfio_release_match_feed_qmp(m, NULL);
	vfio_release_match_feed_qmp(NULL, NULL);
	vfio_release_match_free(m);
}

static void bad_arguments(void **state)
{
	struct vfio_release_match *m = matcher();
	uint64_t ns;

	(void)state;
	assert_int_equal(vfio_release_match_new(NULL, &m), -EINVAL);
	assert_int_equal(vfio_release_match_expect_unplug(m, "", A), -EINVAL);
	assert_int_equal(vfio_release_match_expect_unplug(m, NULL, A), -EINVAL);
	/* A matcher without a handle cannot make waits. */
	assert_int_equal(vfio_release_match_expect_exit(m, A), -EINVAL);
	assert_int_equal(vfio_release_match_count(m), 0);
	assert_int_equal(vfio_release_match_process(m), 1);
	assert_int_equal(vfio_release_match_qemu_ns(m, 0, &ns), -EINVAL);
	assert_int_equal(vfio_release_match_free_ns(m, 0, &ns), -EINVAL);
	assert_null(vfio_release_match_device(m, 3));
	assert_int_equal(vfio_release_match_why(m, 3, NULL, NULL), BLOCK(NONE));
	assert_int_equal(vfio_release_match_process(NULL), -EINVAL);
	assert_int_equal(vfio_release_match_count(NULL), 0);
	vfio_release_match_qemu_gone(NULL, 0);
	vfio_release_match_free(m);
	vfio_release_match_free(NULL);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(vfio_release_block_name(BLOCK(NONE)), "none");
	assert_string_equal(vfio_release_block_name(BLOCK(OPEN)), "open");
	assert_string_equal(vfio_release_block_name(BLOCK(GROUP_CLAIMED)), "group-claimed");
	assert_string_equal(vfio_release_block_name(BLOCK(BUS_PENDING)), "bus-pending");
	assert_string_equal(vfio_release_block_name(BLOCK(UNKNOWN)), "unknown");
	assert_string_equal(vfio_release_block_name(BLOCK(REMOVED)), "removed");
	assert_string_equal(vfio_release_block_name(99), "unknown");
	assert_string_equal(vfio_release_match_status_name(PENDING), "pending");
	assert_string_equal(vfio_release_match_status_name(DONE), "done");
	assert_string_equal(vfio_release_match_status_name(GONE), "gone");
	assert_string_equal(vfio_release_match_status_name(99), "unknown");
}

/*
 * why(): a fake /proc and /sys under a temporary directory.
 */

struct tree {
	char root[64];
	char proc[96], sys[96];
};

static void mkdirs(const char *fmt, ...)
{
	char path[512], *p;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	for (p = path + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	mkdir(path, 0755);
}

static void put_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* A process: its comm ("" for none) and its fds' link targets. */
static void process(struct tree *t, unsigned int pid, const char *comm, ...)
{
	char path[512];
	const char *target;
	unsigned int fd = 0;
	va_list ap;

	mkdirs("%s/%u/fd", t->proc, pid);
	if (*comm) {
		char line[64];

		snprintf(path, sizeof(path), "%s/%u/comm", t->proc, pid);
		snprintf(line, sizeof(line), "%s\n", comm);
		put_file(path, line);
	}
	va_start(ap, comm);
	while ((target = va_arg(ap, const char *))) {
		snprintf(path, sizeof(path), "%s/%u/fd/%u", t->proc, pid, fd++);
		assert_int_equal(symlink(target, path), 0);
	}
	va_end(ap);
}

/* A PCI device below bridge (under pci0000:00), in IOMMU group group. */
static void pci_device(struct tree *t, const char *bridge, const char *dev, int group,
		       const char *cdev)
{
	char path[512], target[512];

	mkdirs("%s/devices/pci0000:00/%s/%s", t->sys, bridge, dev);
	mkdirs("%s/bus/pci/devices", t->sys);
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", t->sys, dev);
	snprintf(target, sizeof(target), "../../../devices/pci0000:00/%s/%s", bridge, dev);
	assert_int_equal(symlink(target, path), 0);
	if (cdev)
		mkdirs("%s/devices/pci0000:00/%s/%s/vfio-dev/%s", t->sys, bridge, dev, cdev);
	mkdirs("%s/kernel/iommu_groups/%d/devices", t->sys, group);
	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%d/devices/%s", t->sys, group, dev);
	assert_int_equal(symlink(target, path), 0);
}

static int tree_setup(void **state)
{
	struct tree *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	strcpy(t->root, "/tmp/vr-test-match.XXXXXX");
	assert_non_null(mkdtemp(t->root));
	snprintf(t->proc, sizeof(t->proc), "%s/proc", t->root);
	snprintf(t->sys, sizeof(t->sys), "%s/sys", t->root);
	mkdirs("%s", t->proc);
	mkdirs("%s", t->sys);
	/* What every /proc has besides processes, and a process gone. */
	mkdirs("%s/sys/fs", t->proc);
	mkdirs("%s/99", t->proc);
	/* Someone with unrelated files and another group's. */
	process(t, 10, "bash", "/dev/pts/0", "/dev/vfio/13", "socket:[123]", NULL);
	vr_holders_set_roots(t->proc, t->sys);
	*state = t;
	return 0;
}

static int tree_teardown(void **state)
{
	struct tree *t = *state;
	char cmd[128];

	vr_holders_set_roots(NULL, NULL);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->root);
	assert_int_equal(system(cmd), 0);
	free(t);
	return 0;
}

/* The records of other devices, as the handle's GET would give them. */
struct fake_device {
	const char *device;
	int state;
};

static const struct fake_device *fake_devices;

static int fake_lookup(const char *device, struct vfio_release_event **out, void *arg)
{
	const struct fake_device *d;

	(void)arg;
	for (d = fake_devices; d && d->device; d++)
		if (!strcmp(d->device, device)) {
			struct rec x = { .cmd = C(GET_DEVICE), .device = device,
					 .state = d->state, .seq = 1, .group = -1 };

			*out = make(&x);
			return 0;
		}
	return -ENODEV;
}

/* A matcher with one expectation on A whose record is x. */
static struct vfio_release_match *why_matcher(struct rec x, const struct fake_device *others)
{
	struct vfio_release_match *m = matcher();

	if (!x.device)
		x.device = A;
	expect(m, "hostdev0", x);
	fake_devices = others;
	m->lookup = fake_lookup;
	return m;
}

static enum vfio_release_block why(struct rec x, const struct fake_device *others,
				   uint32_t *pid, char *who, size_t size)
{
	struct vfio_release_match *m = why_matcher(x, others);
	enum vfio_release_block block;
	const char *w = NULL;

	block = vfio_release_match_why(m, 0, pid, &w);
	snprintf(who, size, "%s", w ? w : "(null)");
	vfio_release_match_free(m);
	return block;
}

#define OPEN_GROUP(g, opener_pid, comm) { .state = S(OPEN), .seq = 1, .group = g, \
					  .opener = opener_pid, .opener_comm = comm }

static void why_open_opener_holds_group(void **state)
{
	struct tree *t = *state;
	char who[64];
	uint32_t pid;

	process(t, 200, "other", "/dev/vfio/12", NULL);
	process(t, 100, "qemu-a", "/dev/null", "/dev/vfio/12", "anon_inode:[vfio-device]", NULL);
	assert_int_equal(why((struct rec)OPEN_GROUP(12, 100, "x"), NULL, &pid, who, sizeof(who)),
			 BLOCK(OPEN));
	assert_int_equal(pid, 100);
	assert_string_equal(who, "qemu-a");
}

/* The opener is gone: whoever holds the group file, one with a device fd first. */
static void why_open_group_holder(void **state)
{
	struct tree *t = *state;
	char who[64];
	uint32_t pid;

	process(t, 300, "group-only", "/dev/vfio/12", NULL);
	process(t, 400, "qemu-b", "/dev/vfio/12", "anon_inode:[vfio-device]", NULL);
	assert_int_equal(why((struct rec)OPEN_GROUP(12, 100, "gone"), NULL, &pid, who, sizeof(who)),
			 BLOCK(OPEN));
	assert_int_equal(pid, 400);
	assert_string_equal(who, "qemu-b");
}

/* The device's own cdev beats the opener's anonymous device file. */
static void why_open_cdev_holder(void **state)
{
	struct tree *t = *state;
	char who[64];
	uint32_t pid;

	pci_device(t, "0000:00:1c.0", A, 12, "vfio3");
	process(t, 100, "qemu-a", "anon_inode:[vfio-device]", NULL);
	process(t, 500, "other-vfio", "/dev/vfio/devices/vfio4", NULL);
	process(t, 600, "cdev-user", "/dev/iommu", "/dev/vfio/devices/vfio3", NULL);
	assert_int_equal(why((struct rec)OPEN_GROUP(12, 100, "qemu-a"), NULL, &pid, who,
			     sizeof(who)), BLOCK(OPEN));
	assert_int_equal(pid, 600);
	assert_string_equal(who, "cdev-user");
}

/*
 * Only the opener holds a device file, an anonymous one: it is the
 * answer, with the kernel's comm when /proc has none.
 */
static void why_open_anon_fallback(void **state)
{
	struct tree *t = *state;
	char who[64];
	uint32_t pid;

	process(t, 700, "", "anon_inode:[vfio-device]", NULL);
	process(t, 800, "not-opener", "anon_inode:[vfio-device]", NULL);
	assert_int_equal(why((struct rec)OPEN_GROUP(12, 700, "passed-fd"), NULL, &pid, who,
			     sizeof(who)), BLOCK(OPEN));
	assert_int_equal(pid, 700);
	assert_string_equal(who, "passed-fd");
	/* Without the opener, an anonymous file proves nothing. */
	assert_int_equal(why((struct rec)OPEN_GROUP(12, 0, NULL), NULL, &pid, who, sizeof(who)),
			 BLOCK(OPEN));
	assert_int_equal(pid, 0);
	assert_string_equal(who, "(null)");
}

static void why_open_no_holder(void **state)
{
	char who[64];
	uint32_t pid = 5;

	(void)state;
	assert_int_equal(why((struct rec)OPEN_GROUP(-1, 0, NULL), NULL, &pid, who, sizeof(who)),
			 BLOCK(OPEN));
	assert_int_equal(pid, 0);
	assert_string_equal(who, "(null)");
}

static void why_group_claimed_by_sibling(void **state)
{
	static const struct fake_device others[] = {
		{ "0000:02:00.0", S(RELEASED) }, { B, S(OPEN) }, { NULL, 0 },
	};
	struct tree *t = *state;
	struct rec rec = { .state = S(RELEASED), .seq = 2, .group = 12,
			   .reset = VFIO_RELEASE_RESET_FUNCTION };
	char who[64];
	uint32_t pid;

	pci_device(t, "0000:00:1c.0", A, 12, NULL);
	pci_device(t, "0000:00:1c.0", B, 12, NULL);
	pci_device(t, "0000:00:1d.0", "0000:02:00.0", 12, NULL);
	assert_int_equal(why(rec, others, &pid, who, sizeof(who)), BLOCK(GROUP_CLAIMED));
	assert_string_equal(who, B);
	assert_int_equal(pid, 0);
}

/* No sibling is open: the group is held, by the group file's holder. */
static void why_group_held_without_device(void **state)
{
	static const struct fake_device others[] = { { B, S(RELEASED) }, { NULL, 0 } };
	struct tree *t = *state;
	struct rec rec = { .state = S(RELEASED), .seq = 2, .group = 12 };
	char who[64];
	uint32_t pid;

	pci_device(t, "0000:00:1c.0", A, 12, NULL);
	pci_device(t, "0000:00:1c.0", B, 12, NULL);
	process(t, 900, "qemu-c", "/dev/vfio/vfio", "/dev/vfio/12", NULL);
	assert_int_equal(why(rec, others, &pid, who, sizeof(who)), BLOCK(GROUP_CLAIMED));
	assert_string_equal(who, "(null)");
	assert_int_equal(pid, 900);
}

/* The bus reset waits for an open device below the same bridge, its slot first. */
static void why_bus_pending(void **state)
{
	static const struct fake_device others[] = {
		{ "0000:01:01.0", S(OPEN) }, { "0000:01:00.3", S(OPEN) },
		{ "0000:03:00.0", S(OPEN) }, { NULL, 0 },
	};
	static const struct fake_device not_slot[] = {
		{ "0000:01:01.0", S(OPEN) }, { "0000:03:00.0", S(OPEN) }, { NULL, 0 },
	};
	static const struct fake_device behind[] = { { "0000:02:00.0", S(OPEN) }, { NULL, 0 } };
	struct tree *t = *state;
	struct rec rec = { .state = S(RELEASED), .seq = 2, .group = 12,
			   .reset = VFIO_RELEASE_RESET_BUS_PENDING };
	char who[64];
	uint32_t pid;

	pci_device(t, "0000:00:1c.0", A, 12, NULL);
	pci_device(t, "0000:00:1c.0", "0000:01:00.3", 14, NULL);
	pci_device(t, "0000:00:1c.0", "0000:01:01.0", 15, NULL);
	/* A bridge on the bus, with a device behind it. */
	pci_device(t, "0000:00:1c.0", "0000:01:02.0", 16, NULL);
	pci_device(t, "0000:00:1c.0/0000:01:02.0", "0000:02:00.0", 17, NULL);
	/* Another bridge's bus: not the domain. */
	pci_device(t, "0000:00:1d.0", "0000:03:00.0", 18, NULL);
	assert_int_equal(why(rec, others, &pid, who, sizeof(who)), BLOCK(BUS_PENDING));
	assert_string_equal(who, "0000:01:00.3");
	assert_int_equal(why(rec, not_slot, &pid, who, sizeof(who)), BLOCK(BUS_PENDING));
	assert_string_equal(who, "0000:01:01.0");
	assert_int_equal(why(rec, behind, &pid, who, sizeof(who)), BLOCK(BUS_PENDING));
	assert_string_equal(who, "0000:02:00.0");
	/* None open (the sibling closed since): still pending, no one named. */
	assert_int_equal(why(rec, NULL, &pid, who, sizeof(who)), BLOCK(BUS_PENDING));
	assert_string_equal(who, "(null)");
}

/* Its own slot's functions before devices that sort first by name. */
static void why_bus_pending_slot_first(void **state)
{
	static const struct fake_device others[] = {
		{ A, S(OPEN) }, { "0000:01:01.2", S(OPEN) }, { NULL, 0 },
	};
	struct tree *t = *state;
	struct rec rec = { .device = "0000:01:01.0", .state = S(RELEASED), .seq = 2,
			   .group = 15, .reset = VFIO_RELEASE_RESET_BUS_PENDING };
	char who[64];
	uint32_t pid;

	pci_device(t, "0000:00:1c.0", A, 12, NULL);
	pci_device(t, "0000:00:1c.0", "0000:01:01.0", 15, NULL);
	pci_device(t, "0000:00:1c.0", "0000:01:01.2", 16, NULL);
	assert_int_equal(why(rec, others, &pid, who, sizeof(who)), BLOCK(BUS_PENDING));
	assert_string_equal(who, "0000:01:01.2");
}

static void why_states(void **state)
{
	struct rec unknown = { .state = S(UNKNOWN), .seq = 1, .group = 12 };
	struct rec free_rec = { .state = S(FREE), .seq = 1, .group = 12, .ts = 5 };
	char who[64];
	uint32_t pid;

	(void)state;
	assert_int_equal(why(unknown, NULL, &pid, who, sizeof(who)), BLOCK(UNKNOWN));
	assert_int_equal(why(free_rec, NULL, &pid, who, sizeof(who)), BLOCK(NONE));
	assert_string_equal(who, "(null)");
	assert_int_equal(pid, 0);
}

/* The scan is not the caller's problem: a vanished or empty /proc is no error. */
static void why_without_proc(void **state)
{
	struct tree *t = *state;
	char who[64];
	uint32_t pid;

	vr_holders_set_roots("/nonexistent/proc", "/nonexistent/sys");
	assert_int_equal(why((struct rec)OPEN_GROUP(12, 100, "qemu"), NULL, &pid, who,
			     sizeof(who)), BLOCK(OPEN));
	assert_int_equal(pid, 0);
	vr_holders_set_roots(t->proc, t->sys);
}


/*
 * The I/O path: a handle whose sockets read from queues the tests fill,
 * a kernel that answers every GET with the device's scripted record.
 */

#define QUEUE_MAX 32

struct queue {
	struct nl_msg *msg[QUEUE_MAX];
	unsigned int head, tail;
};

struct kernel {
	struct vfio_release *vr;
	struct queue req, ev;
	struct rec state_of_a;	/* what a GET of A answers */
	int get_errno;		/* non-zero: GETs fail with it */
};

static struct kernel *the_kernel;

static void push(struct queue *q, struct nl_msg *msg)
{
	assert_true(q->tail < QUEUE_MAX);
	q->msg[q->tail++] = msg;
}

static void drain(struct queue *q)
{
	while (q->head < q->tail)
		nlmsg_free(q->msg[q->head++]);
}

static int kernel_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf,
		       struct ucred **creds)
{
	struct queue *q = sk == the_kernel->vr->ev ? &the_kernel->ev : &the_kernel->req;
	struct nlmsghdr *hdr;
	int len;

	(void)creds;
	memset(nla, 0, sizeof(*nla));
	nla->nl_family = AF_NETLINK;
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

/* A record of the scripted device as the kernel sends it: family, seq. */
static struct nl_msg *kernel_msg(const struct rec *x, uint32_t nlseq)
{
	struct test_record r = {
		.cmd = x->cmd, .device = x->device, .state = x->state, .seq = x->seq,
		.generation = x->generation, .instance = INST, .registration = 7,
		.nlseq = nlseq,
	};
	struct nl_msg *msg = test_record_msg(&r);

	if (x->ts)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, x->ts), 0);
	if (x->free_count)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_FREE_COUNT, x->free_count), 0);
	return msg;
}

static int kernel_send(struct nl_sock *sk, struct nl_msg *msg)
{
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct kernel *k = the_kernel;
	uint32_t s = hdr->nlmsg_seq;

	(void)sk;
	if (hdr->nlmsg_type == GENL_ID_CTRL) {
		/* nlctrl's notify group, then vfio_release by name. */
		struct nlattr *tb[CTRL_ATTR_MAX + 1];
		bool nlctrl = !genlmsg_parse(hdr, 0, tb, CTRL_ATTR_MAX, NULL) &&
			      tb[CTRL_ATTR_FAMILY_NAME] &&
			      !strcmp(nla_get_string(tb[CTRL_ATTR_FAMILY_NAME]), "nlctrl");

		struct nl_msg *ctrl = test_family_msg_group(CTRL_CMD_NEWFAMILY, "nlctrl",
							    GENL_ID_CTRL, "notify", 0x10, s);
		struct nl_msg *ours = test_family_msg(CTRL_CMD_NEWFAMILY, VFIO_RELEASE_GENL_NAME,
						      TEST_FAMILY, 9, s);

		if (hdr->nlmsg_flags & NLM_F_DUMP) {
			nlmsg_hdr(ctrl)->nlmsg_flags |= NLM_F_MULTI;
			nlmsg_hdr(ours)->nlmsg_flags |= NLM_F_MULTI;
			push(&k->req, ctrl);
			push(&k->req, ours);
			push(&k->req, test_control_msg(NLMSG_DONE, s, 0, NULL));
			return hdr->nlmsg_len;
		}
		push(&k->req, nlctrl ? ctrl : ours);
		nlmsg_free(nlctrl ? ours : ctrl);
	} else if (k->get_errno) {
		push(&k->req, test_control_msg(NLMSG_ERROR, s, -k->get_errno, NULL));
		return hdr->nlmsg_len;
	} else {
		struct rec x = k->state_of_a;

		x.cmd = C(GET_DEVICE);
		push(&k->req, kernel_msg(&x, s));
	}
	if (hdr->nlmsg_flags & NLM_F_ACK)
		push(&k->req, test_control_msg(NLMSG_ERROR, s, 0, NULL));
	return hdr->nlmsg_len;
}

static int kernel_setup(void **state)
{
	struct kernel *k = calloc(1, sizeof(*k));
	struct nl_cb *io = nl_cb_alloc(NL_CB_DEFAULT);

	assert_non_null(k);
	assert_non_null(io);
	nl_cb_overwrite_recv(io, kernel_recv);
	nl_cb_overwrite_send(io, kernel_send);
	the_kernel = k;
	assert_int_equal(vr_handle_new_fake(io, TEST_FAMILY, &k->vr), 0);
	nl_cb_put(io);
	*state = k;
	return 0;
}

static int kernel_teardown(void **state)
{
	struct kernel *k = *state;

	vfio_release_close(k->vr);
	drain(&k->req);
	drain(&k->ev);
	free(k);
	return 0;
}

static void kernel_event(struct kernel *k, struct rec x)
{
	push(&k->ev, kernel_msg(&x, 0));
}

/*
 * Through the handle: the wait is made by GET, events reach it by the
 * matcher's dispatch, one at a time: a free claimed again within the same
 * read still was the free, and the deleted device's match is done.
 */
static void process_through_dispatch(void **state)
{
	struct kernel *k = *state;
	struct vfio_release_match *m = NULL;
	struct rec claimed = FREED(4, 1, 0, 1);

	claimed.cmd = C(DEVICE_CLAIMED);
	claimed.state = S(RELEASED);
	k->state_of_a = (struct rec)OPEN_REC(1, 0);
	assert_int_equal(vfio_release_match_new(k->vr, &m), 0);
	/* A short name is made canonical. */
	assert_int_equal(vfio_release_match_expect_unplug(m, "hostdev0", "01:00.0"), 0);
	assert_string_equal(vfio_release_match_device(m, 0), A);
	assert_string_equal(vfio_release_match_qemu_id(m, 0), "hostdev0");
	assert_int_equal(vfio_release_match_process(m), 0);
	vr_match_device_deleted(m, "hostdev0", NULL, 10);
	kernel_event(k, (struct rec)RELEASED(2, 1));
	kernel_event(k, (struct rec)FREED(3, 1, 700, 1));
	kernel_event(k, claimed);
	assert_int_equal(vfio_release_match_process(m), 1);
	assert_int_equal(vfio_release_match_status(m, 0), DONE);
	assert_int_equal(free_ns(m, 0), 700);
	/* Done in time: run returns at once. */
	assert_int_equal(vfio_release_match_run(m, NULL, 0), 0);
	vfio_release_match_free(m);
}

/* An overflow: process re-reads the device itself; a gone device is -ENODEV. */
static void process_rereads_then_gone(void **state)
{
	struct kernel *k = *state;
	struct vfio_release_match *m = NULL;

	k->state_of_a = (struct rec)OPEN_REC(1, 0);
	assert_int_equal(vfio_release_match_new(k->vr, &m), 0);
	assert_int_equal(vfio_release_match_expect_exit(m, A), 0);
	vfio_release_match_qemu_gone(m, 5);
	push(&k->ev, test_family_msg(CTRL_CMD_NEWFAMILY, VFIO_RELEASE_GENL_NAME,
				     TEST_FAMILY, 9, 0));
	/* A module busy re-reading: not yet, not an error. */
	k->get_errno = EAGAIN;
	assert_int_equal(vfio_release_match_process(m), 0);
	/* It comes back with the device open; no events: still pending. */
	k->get_errno = 0;
	assert_int_equal(vfio_release_match_run(m, NULL, 20), -ETIMEDOUT);
	assert_int_equal(vfio_release_match_status(m, 0), PENDING);
	/* Lost again, and by the re-read it is not watched any more. */
	push(&k->ev, test_family_msg(CTRL_CMD_NEWFAMILY, VFIO_RELEASE_GENL_NAME,
				     TEST_FAMILY, 9, 0));
	k->get_errno = ENODEV;
	assert_int_equal(vfio_release_match_process(m), -ENODEV);
	assert_int_equal(vfio_release_match_status(m, 0), GONE);
	assert_int_equal(vfio_release_match_run(m, NULL, 20), -ENODEV);
	vfio_release_match_free(m);
}

#define TREE(f) cmocka_unit_test_setup_teardown(f, tree_setup, tree_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(deleted_then_free),
		cmocka_unit_test(free_then_deleted),
		cmocka_unit_test(free_reopened_then_deleted),
		cmocka_unit_test(already_free_then_exit),
		cmocka_unit_test(exit_then_free),
		cmocka_unit_test(exit_ends_unplugs),
		cmocka_unit_test(removal_before_free_is_gone),
		cmocka_unit_test(removal_after_free_still_matches),
		cmocka_unit_test(overflow_waits_for_reread),
		cmocka_unit_test(reread_keeps_or_renews_free_time),
		cmocka_unit_test(duplicate_deleted_keeps_first),
		cmocka_unit_test(deleted_for_other_ids),
		cmocka_unit_test(two_expectations_one_device),
		cmocka_unit_test(clock_conversion),
		cmocka_unit_test(feed_qmp_converts_qemu_clock),
		cmocka_unit_test(feed_qmp_ignores_others),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(names),
		cmocka_unit_test_setup_teardown(process_through_dispatch, kernel_setup,
						kernel_teardown),
		cmocka_unit_test_setup_teardown(process_rereads_then_gone, kernel_setup,
						kernel_teardown),
		TREE(why_open_opener_holds_group),
		TREE(why_open_group_holder),
		TREE(why_open_cdev_holder),
		TREE(why_open_anon_fallback),
		TREE(why_open_no_holder),
		TREE(why_group_claimed_by_sibling),
		TREE(why_group_held_without_device),
		TREE(why_bus_pending),
		TREE(why_bus_pending_slot_first),
		TREE(why_states),
		TREE(why_without_proc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
