// SPDX-License-Identifier: GPL-2.0-or-later
/* The wait state machine against every ordering of records and events. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "netlink-builder.h"
#include "wait-state.h"

#define A "0000:01:00.0"
#define B "0000:03:00.1"
#define INST 0x1111

#define S(x) VFIO_RELEASE_STATE_##x
#define C(x) VFIO_RELEASE_CMD_##x
#define PENDING VFIO_RELEASE_WAIT_PENDING
#define DONE VFIO_RELEASE_WAIT_DONE
#define REREAD VFIO_RELEASE_WAIT_REREAD
#define GONE VFIO_RELEASE_WAIT_GONE

static struct vfio_release_wait *wait_for(enum vfio_release_state target,
					  unsigned int n)
{
	const char *devs[] = { A, B };
	struct vfio_release_wait *w = NULL;

	assert_int_equal(vr_wait_alloc(devs, n, target, &w), 0);
	return w;
}

/* A record from the wait's own GET, then unreferenced: it keeps its own. */
static void record(struct vfio_release_wait *w, unsigned int i, const char *dev,
		   int state, uint64_t seq, uint64_t gen, uint64_t reg)
{
	struct test_record r = {
		.cmd = C(GET_DEVICE), .device = dev, .state = state, .seq = seq,
		.generation = gen, .instance = INST, .registration = reg,
	};
	struct vfio_release_event *ev = test_event(&r);

	vr_wait_record(w, i, ev);
	vr_wait_fresh(w, i);
	vfio_release_event_unref(ev);
}

static enum vfio_release_wait_status feed_full(struct vfio_release_wait *w,
					       const struct test_record *r)
{
	struct vfio_release_event *ev = test_event(r);
	enum vfio_release_wait_status st = vfio_release_wait_feed(w, ev);

	vfio_release_event_unref(ev);
	return st;
}

static enum vfio_release_wait_status feed(struct vfio_release_wait *w,
					  uint8_t cmd, const char *dev, int state,
					  uint64_t seq, uint64_t gen, uint64_t reg)
{
	struct test_record r = {
		.cmd = cmd, .device = dev, .state = state, .seq = seq,
		.generation = gen, .instance = INST, .registration = reg,
	};

	return feed_full(w, &r);
}

static enum vfio_release_wait_status notice(struct vfio_release_wait *w,
					    enum vfio_release_cmd type,
					    enum vfio_release_notice n)
{
	struct vfio_release_event *ev = vr_event_notice(type, n);
	enum vfio_release_wait_status st = vfio_release_wait_feed(w, ev);

	vfio_release_event_unref(ev);
	return st;
}

static uint64_t record_u64(struct vfio_release_wait *w, unsigned int i,
			   enum vfio_release_attr attr)
{
	uint64_t v = 0;

	assert_int_equal(vfio_release_event_get_u64(vfio_release_wait_record(w, i),
						    attr, &v), 0);
	return v;
}

static void already_free(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(FREE), 4, 1, 7);
	assert_int_equal(vfio_release_wait_status(w), DONE);
	vfio_release_wait_free(w);
}

static void already_free_satisfies_released(void **state)
{
	struct vfio_release_wait *w = wait_for(S(RELEASED), 1);

	(void)state;
	record(w, 0, A, S(FREE), 4, 1, 7);
	assert_int_equal(vfio_release_wait_status(w), DONE);
	vfio_release_wait_free(w);
}

static void released_then_free(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	assert_int_equal(vfio_release_wait_status(w), PENDING);
	assert_int_equal(feed(w, C(DEVICE_RELEASED), A, S(RELEASED), 2, 1, 7), PENDING);
	/* Group events are followed by the devices' own: no change. */
	assert_int_equal(feed(w, C(GROUP_RELEASED), NULL, -1, 3, 0, 0), PENDING);
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 4, 1, 7), DONE);
	vfio_release_wait_free(w);
}

static void released_target_on_release(void **state)
{
	struct vfio_release_wait *w = wait_for(S(RELEASED), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	assert_int_equal(feed(w, C(DEVICE_RELEASED), A, S(RELEASED), 2, 1, 7), DONE);
	/* Released stays reached: it completed a cycle, even if reopened. */
	assert_int_equal(feed(w, C(DEVICE_OPENED), A, S(OPEN), 3, 1, 7), DONE);
	vfio_release_wait_free(w);
}

static void reopen_in_between_is_not_free(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 5, 3, 7);
	feed(w, C(DEVICE_RELEASED), A, S(RELEASED), 6, 3, 7);
	assert_int_equal(feed(w, C(DEVICE_OPENED), A, S(OPEN), 7, 3, 7), PENDING);
	assert_int_equal(feed(w, C(DEVICE_RELEASED), A, S(RELEASED), 9, 4, 7), PENDING);
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 11, 4, 7), DONE);
	assert_int_equal(record_u64(w, 0, VFIO_RELEASE_A_GENERATION), 4);
	vfio_release_wait_free(w);
}

/* "free" is now: a device claimed again after it was free is not free. */
static void free_means_now(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 2);

	(void)state;
	record(w, 0, A, S(FREE), 3, 1, 7);
	record(w, 1, B, S(OPEN), 4, 0, 8);
	assert_int_equal(vfio_release_wait_status(w), PENDING);
	assert_true(vfio_release_wait_reached(w, 0));
	/* A's group is claimed for its next user, then A is opened. */
	assert_int_equal(feed(w, C(DEVICE_CLAIMED), A, S(RELEASED), 5, 1, 7), PENDING);
	assert_false(vfio_release_wait_reached(w, 0));
	feed(w, C(DEVICE_OPENED), A, S(OPEN), 6, 1, 7);
	/* B gets free while A is open: not both at once. */
	feed(w, C(DEVICE_RELEASED), B, S(RELEASED), 7, 1, 8);
	assert_int_equal(feed(w, C(DEVICE_FREE), B, S(FREE), 8, 1, 8), PENDING);
	feed(w, C(DEVICE_RELEASED), A, S(RELEASED), 9, 2, 7);
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 10, 2, 7), DONE);
	vfio_release_wait_free(w);
}

static void stale_events_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 10, 3, 7);
	/* Already in the record (seq not greater): must not count. */
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 9, 3, 7), PENDING);
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 10, 3, 7), PENDING);
	vfio_release_wait_free(w);
}

static void same_event_twice_changes_nothing(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);
	struct test_record opened = {
		.cmd = C(DEVICE_OPENED), .device = A, .state = S(OPEN), .seq = 12,
		.generation = 1, .instance = INST, .registration = 7,
	};
	struct test_record freed = opened;

	(void)state;
	freed.cmd = C(DEVICE_FREE);
	freed.state = S(FREE);
	freed.seq = 11;
	record(w, 0, A, S(OPEN), 10, 0, 7);
	assert_int_equal(feed_full(w, &freed), DONE);
	assert_int_equal(feed_full(w, &opened), PENDING);
	/* The free fed again (a caller feeding what dispatch also fed). */
	assert_int_equal(feed_full(w, &freed), PENDING);
	vfio_release_wait_free(w);
}

static void other_devices_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	assert_int_equal(feed(w, C(DEVICE_FREE), "0000:09:00.0", S(FREE), 2, 1, 9), PENDING);
	vfio_release_wait_free(w);
}

static void notices_reread(void **state)
{
	static const struct {
		enum vfio_release_cmd type;
		enum vfio_release_notice notice;
	} cases[] = {
		{ C(RESYNC), VFIO_RELEASE_NOTICE_OVERFLOW },
		{ C(RESYNC), VFIO_RELEASE_NOTICE_MODULE_LOADED },
		{ C(UNSPEC), VFIO_RELEASE_NOTICE_MODULE_UNLOADED },
		{ C(RESYNC), VFIO_RELEASE_NOTICE_NONE },	/* the module's own */
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct vfio_release_wait *w = wait_for(S(FREE), 1);

		record(w, 0, A, S(OPEN), 1, 0, 7);
		assert_int_equal(notice(w, cases[i].type, cases[i].notice), REREAD);
		/* Even a free record waits for the re-read. */
		assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 5, 1, 7), REREAD);
		record(w, 0, A, S(FREE), 6, 1, 7);
		assert_int_equal(vfio_release_wait_status(w), DONE);
		vfio_release_wait_free(w);
	}
}

/* Records fed by the caller (a dump after a resync) count as re-reads. */
static void fed_records_end_a_reread(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 2);
	struct test_record ra = {
		.cmd = C(GET_DEVICE), .device = A, .state = S(FREE), .seq = 8,
		.generation = 1, .instance = INST, .registration = 7,
	};
	struct test_record rb = ra;

	(void)state;
	rb.device = B;
	rb.registration = 8;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	record(w, 1, B, S(OPEN), 2, 0, 8);
	assert_int_equal(notice(w, C(RESYNC), VFIO_RELEASE_NOTICE_NONE), REREAD);
	/* One of two read again: still stale. */
	assert_int_equal(feed_full(w, &ra), REREAD);
	/* A record older than what is known was read before the loss. */
	rb.seq = 1;
	assert_int_equal(feed_full(w, &rb), REREAD);
	rb.seq = 9;
	assert_int_equal(feed_full(w, &rb), DONE);
	vfio_release_wait_free(w);
}

static void overflow_reopened_not_free_but_released(void **state)
{
	struct vfio_release_wait *wf = wait_for(S(FREE), 1);
	struct vfio_release_wait *wr = wait_for(S(RELEASED), 1);

	(void)state;
	record(wf, 0, A, S(OPEN), 1, 0, 7);
	record(wr, 0, A, S(OPEN), 1, 0, 7);
	notice(wf, C(RESYNC), VFIO_RELEASE_NOTICE_OVERFLOW);
	notice(wr, C(RESYNC), VFIO_RELEASE_NOTICE_OVERFLOW);
	/* Released and opened again while events were lost. */
	record(wf, 0, A, S(OPEN), 9, 1, 7);
	record(wr, 0, A, S(OPEN), 9, 1, 7);
	assert_int_equal(vfio_release_wait_status(wf), PENDING);
	assert_int_equal(vfio_release_wait_status(wr), DONE);
	vfio_release_wait_free(wf);
	vfio_release_wait_free(wr);
}

static void older_reread_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	feed(w, C(DEVICE_FREE), A, S(FREE), 5, 1, 7);
	record(w, 0, A, S(OPEN), 3, 0, 7);
	assert_int_equal(record_u64(w, 0, VFIO_RELEASE_A_SEQ), 5);
	assert_int_equal(vfio_release_wait_status(w), DONE);
	vfio_release_wait_free(w);
}

static void removal_ends_wait(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 2);

	(void)state;
	record(w, 0, A, S(OPEN), 3, 1, 7);
	record(w, 1, B, S(FREE), 4, 1, 8);
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(OPEN), 5, 1, 7), GONE);
	assert_true(vfio_release_wait_removed(w, 0));
	assert_false(vfio_release_wait_reached(w, 0));
	assert_int_equal(vfio_release_event_get_type(vfio_release_wait_record(w, 0)),
			 C(DEVICE_REMOVED));
	assert_int_equal(vfio_release_event_get_type(vfio_release_wait_record(w, 1)),
			 C(GET_DEVICE));
	/* Final: a later registration's events do not revive it. */
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 6, 2, 9), GONE);
	vfio_release_wait_free(w);
}

static void removal_at_record_seq(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	/* The removal of the record's own registration is always newer. */
	record(w, 0, A, S(OPEN), 9, 1, 7);
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(OPEN), 9, 1, 7), GONE);
	vfio_release_wait_free(w);
}

static void removal_of_free_device_counts_free(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 2);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	record(w, 1, B, S(OPEN), 2, 0, 8);
	feed(w, C(DEVICE_FREE), A, S(FREE), 3, 1, 7);
	/* Returned to its host driver by someone else: as free as it gets. */
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(FREE), 4, 1, 7), PENDING);
	assert_true(vfio_release_wait_reached(w, 0));
	assert_int_equal(feed(w, C(DEVICE_FREE), B, S(FREE), 5, 1, 8), DONE);
	vfio_release_wait_free(w);
}

static void removal_after_released_is_not_an_error(void **state)
{
	struct vfio_release_wait *w = wait_for(S(RELEASED), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	feed(w, C(DEVICE_RELEASED), A, S(RELEASED), 3, 1, 7);
	feed(w, C(DEVICE_OPENED), A, S(OPEN), 4, 1, 7);
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(OPEN), 5, 1, 7), DONE);
	vfio_release_wait_free(w);
}

static void other_removals_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 10, 1, 5);
	/* An older registration's removal, and another device's. */
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(FREE), 11, 2, 4), PENDING);
	assert_int_equal(feed(w, C(DEVICE_REMOVED), B, S(FREE), 12, 0, 6), PENDING);
	assert_int_equal(record_u64(w, 0, VFIO_RELEASE_A_SEQ), 10);
	vfio_release_wait_free(w);
}

static void removal_without_registration_ordered_by_seq(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	/* An older module: no registrations, the sequence decides. */
	record(w, 0, A, S(OPEN), 10, 1, 0);
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(FREE), 8, 2, 0), PENDING);
	assert_int_equal(feed(w, C(DEVICE_REMOVED), A, S(OPEN), 11, 1, 0), GONE);
	vfio_release_wait_free(w);
}

static void other_registration_events_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 10, 1, 5);
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 11, 2, 4), PENDING);
	assert_int_equal(feed(w, C(DEVICE_FREE), A, S(FREE), 12, 3, 5), DONE);
	vfio_release_wait_free(w);
}

static void gone_on_reread(void **state)
{
	struct vfio_release_wait *w = wait_for(S(FREE), 1);

	(void)state;
	record(w, 0, A, S(OPEN), 1, 0, 7);
	vr_wait_gone(w, 0);
	assert_int_equal(vfio_release_wait_status(w), GONE);
	assert_string_equal(vfio_release_wait_device(w, 0), A);
	/* A record after the end changes nothing. */
	record(w, 0, A, S(FREE), 5, 1, 8);
	assert_int_equal(vfio_release_wait_status(w), GONE);
	vfio_release_wait_free(w);
}

static void instance_change_rereads(void **state)
{
	struct vfio_release_wait *w = wait_for(S(RELEASED), 1);
	struct test_record other = {
		.cmd = C(DEVICE_RELEASED), .device = A, .state = S(RELEASED),
		.seq = 2, .generation = 1, .instance = INST + 1, .registration = 1,
	};

	(void)state;
	record(w, 0, A, S(OPEN), 50, 9, 7);
	/* Another instance's events cannot be ordered: re-read first. */
	assert_int_equal(feed_full(w, &other), REREAD);
	assert_int_equal(record_u64(w, 0, VFIO_RELEASE_A_SEQ), 50);
	vfio_release_wait_free(w);
}

/* After a reload only cycles from then on count for "released". */
static void reload_rebases_generation(void **state)
{
	struct vfio_release_wait *w = wait_for(S(RELEASED), 1);
	struct test_record rec = {
		.cmd = C(GET_DEVICE), .device = A, .state = S(OPEN), .seq = 3,
		.generation = 2, .instance = INST + 1, .registration = 1,
	};
	struct vfio_release_event *ev;

	(void)state;
	record(w, 0, A, S(OPEN), 50, 9, 7);
	notice(w, C(RESYNC), VFIO_RELEASE_NOTICE_MODULE_LOADED);
	ev = test_event(&rec);
	vr_wait_record(w, 0, ev);
	vr_wait_fresh(w, 0);
	vfio_release_event_unref(ev);
	/* Generation 2 < 9 from another instance: not a cycle. */
	assert_int_equal(vfio_release_wait_status(w), PENDING);
	rec.cmd = C(DEVICE_RELEASED);
	rec.state = S(RELEASED);
	rec.seq = 4;
	rec.generation = 3;
	assert_int_equal(feed_full(w, &rec), DONE);
	vfio_release_wait_free(w);
}

static void bad_arguments(void **state)
{
	const char *devs[] = { A, "" };
	char longname[VFIO_RELEASE_DEVICE_NAME_MAX + 1];
	const char *toolong[] = { longname };
	struct vfio_release_wait *w = NULL;

	(void)state;
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(vr_wait_alloc(devs, 0, S(FREE), &w), -EINVAL);
	assert_int_equal(vr_wait_alloc(devs, 1, S(OPEN), &w), -EINVAL);
	assert_int_equal(vr_wait_alloc(devs, 2, S(FREE), &w), -EINVAL);
	assert_int_equal(vr_wait_alloc(toolong, 1, S(FREE), &w), -EINVAL);
	assert_null(w);
	/* The public calls refuse NULL instead of crashing. */
	assert_int_equal(vfio_release_wait_status(NULL), PENDING);
	assert_null(vfio_release_wait_record(NULL, 0));
	assert_int_equal(vfio_release_wait_count(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(already_free),
		cmocka_unit_test(already_free_satisfies_released),
		cmocka_unit_test(released_then_free),
		cmocka_unit_test(released_target_on_release),
		cmocka_unit_test(reopen_in_between_is_not_free),
		cmocka_unit_test(free_means_now),
		cmocka_unit_test(stale_events_ignored),
		cmocka_unit_test(same_event_twice_changes_nothing),
		cmocka_unit_test(other_devices_ignored),
		cmocka_unit_test(notices_reread),
		cmocka_unit_test(fed_records_end_a_reread),
		cmocka_unit_test(overflow_reopened_not_free_but_released),
		cmocka_unit_test(older_reread_ignored),
		cmocka_unit_test(removal_ends_wait),
		cmocka_unit_test(removal_at_record_seq),
		cmocka_unit_test(removal_of_free_device_counts_free),
		cmocka_unit_test(removal_after_released_is_not_an_error),
		cmocka_unit_test(other_removals_ignored),
		cmocka_unit_test(removal_without_registration_ordered_by_seq),
		cmocka_unit_test(other_registration_events_ignored),
		cmocka_unit_test(gone_on_reread),
		cmocka_unit_test(instance_change_rereads),
		cmocka_unit_test(reload_rebases_generation),
		cmocka_unit_test(bad_arguments),
	};

	return cmocka_run_group_tests_name("wait-state", tests, NULL, NULL);
}
