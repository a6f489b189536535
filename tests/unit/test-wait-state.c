// SPDX-License-Identifier: GPL-2.0-or-later
/* The wait state machine against every ordering of records and events. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "wait-state.h"

#define A "0000:01:00.0"
#define B "0000:03:00.1"

static struct vfio_release_event rec(const char *dev, enum vfio_release_cmd type,
				     enum vfio_release_state state,
				     uint64_t seq, uint64_t gen)
{
	struct vfio_release_event ev = {
		.type = type, .state = state, .seq = seq, .generation = gen,
	};

	strcpy(ev.device, dev);
	return ev;
}

#define GET(dev, state, seq, gen) \
	rec(dev, VFIO_RELEASE_CMD_GET_DEVICE, VFIO_RELEASE_STATE_##state, seq, gen)
#define EV(dev, cmd, state, seq, gen) \
	rec(dev, VFIO_RELEASE_CMD_##cmd, VFIO_RELEASE_STATE_##state, seq, gen)

static struct vfio_release_wait *wait_for(enum vfio_release_state target,
					  unsigned int n)
{
	const char *devs[] = { A, B };
	struct vfio_release_wait *w = vr_wait_alloc(devs, n, target);

	assert_non_null(w);
	return w;
}

static void feed(struct vfio_release_wait *w, struct vfio_release_event ev)
{
	assert_int_equal(vr_wait_event(w, &ev), VR_WAIT_PROGRESS);
}

static void already_free(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, FREE, 4, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

static void already_free_satisfies_released(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_RELEASED, 1);
	struct vfio_release_event r = GET(A, FREE, 4, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

static void released_then_free(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 1, 0);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_false(vfio_release_wait_done(w));
	feed(w, EV(A, DEVICE_RELEASED, RELEASED, 2, 1));
	assert_false(vfio_release_wait_done(w));
	feed(w, EV(A, GROUP_RELEASED, UNKNOWN, 3, 0));
	assert_false(vfio_release_wait_done(w));
	feed(w, EV(A, DEVICE_FREE, FREE, 4, 1));
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

static void released_target_on_release(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_RELEASED, 1);
	struct vfio_release_event r = GET(A, OPEN, 1, 0);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_false(vfio_release_wait_done(w));
	feed(w, EV(A, DEVICE_RELEASED, RELEASED, 2, 1));
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/* Released, then opened again before the group let go: not free. */
static void reopen_in_between_is_not_free(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 5, 2);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, EV(A, DEVICE_RELEASED, RELEASED, 6, 3));
	feed(w, EV(A, DEVICE_OPENED, OPEN, 7, 3));
	assert_false(vfio_release_wait_done(w));
	/* The group release of the first holder frees nothing: still open. */
	feed(w, EV(A, GROUP_RELEASED, UNKNOWN, 8, 0));
	assert_false(vfio_release_wait_done(w));
	feed(w, EV(A, DEVICE_RELEASED, RELEASED, 9, 4));
	feed(w, EV(A, DEVICE_FREE, FREE, 11, 4));
	assert_true(vfio_release_wait_done(w));
	assert_int_equal(vfio_release_wait_record(w, 0)->generation, 4);
	vfio_release_wait_free(w);
}

/* Events older than the record were already counted in it. */
static void stale_events_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 10, 3);

	(void)state;
	vr_wait_record(w, 0, &r);
	/* A free from an earlier cycle, delivered late. */
	feed(w, EV(A, DEVICE_FREE, FREE, 9, 3));
	feed(w, EV(A, DEVICE_FREE, FREE, 10, 3));
	assert_false(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

static void other_devices_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 1, 0);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, EV("0000:09:00.0", DEVICE_FREE, FREE, 2, 1));
	assert_false(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/* Overflow: the events are gone; the re-read record decides. */
static void overflow_rereads(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 1, 0);
	struct vfio_release_event overflow = {
		.type = VFIO_RELEASE_CMD_RESYNC, .local_overflow = true,
	};
	struct vfio_release_event reread = GET(A, FREE, 40, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_int_equal(vr_wait_event(w, &overflow), VR_WAIT_REREAD);
	vr_wait_record(w, 0, &reread);
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

static void kernel_resync_rereads(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event resync = {
		.type = VFIO_RELEASE_CMD_RESYNC,
		.resync_reason = VFIO_RELEASE_RESYNC_PROBE_MISSED,
	};

	(void)state;
	assert_int_equal(vr_wait_event(w, &resync), VR_WAIT_REREAD);
	vfio_release_wait_free(w);
}

/* Events lost, and the device was released and reopened meanwhile. */
static void overflow_reopened_not_free_but_released(void **state)
{
	struct vfio_release_wait *wf = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_wait *wr = wait_for(VFIO_RELEASE_STATE_RELEASED, 1);
	struct vfio_release_event r = GET(A, OPEN, 1, 0);
	struct vfio_release_event reread = GET(A, OPEN, 30, 1);

	(void)state;
	vr_wait_record(wf, 0, &r);
	vr_wait_record(wr, 0, &r);
	vr_wait_record(wf, 0, &reread);
	vr_wait_record(wr, 0, &reread);
	assert_false(vfio_release_wait_done(wf));
	assert_true(vfio_release_wait_done(wr));
	vfio_release_wait_free(wf);
	vfio_release_wait_free(wr);
}

/* A late reply older than what events already told us changes nothing. */
static void older_reread_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 1, 0);
	struct vfio_release_event old = GET(A, OPEN, 2, 0);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, EV(A, DEVICE_FREE, FREE, 5, 1));
	vr_wait_record(w, 0, &old);
	assert_int_equal(vfio_release_wait_record(w, 0)->seq, 5);
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

static void all_devices_needed(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 2);
	struct vfio_release_event ra = GET(A, OPEN, 1, 0);
	struct vfio_release_event rb = GET(B, OPEN, 2, 0);

	(void)state;
	vr_wait_record(w, 0, &ra);
	vr_wait_record(w, 1, &rb);
	feed(w, EV(A, DEVICE_FREE, FREE, 3, 1));
	assert_false(vfio_release_wait_done(w));
	/* A reopened: it was reached, the wait does not take it back. */
	feed(w, EV(A, DEVICE_OPENED, OPEN, 4, 1));
	feed(w, EV(B, DEVICE_FREE, FREE, 5, 1));
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/* rec() with a module instance and a registration. */
static struct vfio_release_event with_ids(struct vfio_release_event ev,
					  uint64_t instance, uint64_t registration)
{
	ev.instance = instance;
	ev.registration = registration;
	return ev;
}

/* The device was unbound while open: the wait ends, naming it. */
static void removal_ends_wait(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 2);
	struct vfio_release_event ra = with_ids(GET(A, OPEN, 1, 0), 7, 1);
	struct vfio_release_event rb = with_ids(GET(B, FREE, 2, 1), 7, 2);
	struct vfio_release_event removed = with_ids(EV(A, DEVICE_REMOVED, RELEASED, 4, 1), 7, 1);

	(void)state;
	vr_wait_record(w, 0, &ra);
	vr_wait_record(w, 1, &rb);
	assert_int_equal(vr_wait_error(w), 0);
	assert_int_equal(vr_wait_event(w, &removed), VR_WAIT_GONE);
	assert_int_equal(vr_wait_error(w), -ENODEV);
	assert_false(vfio_release_wait_done(w));
	assert_false(vfio_release_wait_reached(w, 0));
	assert_int_equal(vfio_release_wait_record(w, 0)->type, VFIO_RELEASE_CMD_DEVICE_REMOVED);
	assert_int_equal(vfio_release_wait_record(w, 1)->type, VFIO_RELEASE_CMD_GET_DEVICE);
	/* Nothing more about it changes that. */
	feed(w, with_ids(EV(A, DEVICE_FREE, FREE, 5, 2), 7, 1));
	assert_int_equal(vr_wait_error(w), -ENODEV);
	vfio_release_wait_free(w);
}

/* The removal carries the record as it last stood: even at the same seq. */
static void removal_of_own_registration_at_record_seq(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_RELEASED, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 9, 0), 7, 4);
	struct vfio_release_event removed = with_ids(EV(A, DEVICE_REMOVED, OPEN, 9, 0), 7, 4);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_int_equal(vr_wait_event(w, &removed), VR_WAIT_GONE);
	assert_int_equal(vr_wait_error(w), -ENODEV);
	vfio_release_wait_free(w);
}

/* Reached, then unbound (say, reattached): the wait got what it asked. */
static void removal_after_reached_is_not_an_error(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 1, 0), 7, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, with_ids(EV(A, DEVICE_FREE, FREE, 3, 1), 7, 1));
	feed(w, with_ids(EV(A, DEVICE_REMOVED, FREE, 4, 1), 7, 1));
	assert_int_equal(vr_wait_error(w), 0);
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/* The removal of a binding older than the record, or of another device. */
static void other_removals_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 10, 2), 7, 5);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, with_ids(EV(A, DEVICE_REMOVED, FREE, 11, 2), 7, 4));
	feed(w, with_ids(EV(B, DEVICE_REMOVED, FREE, 12, 0), 7, 6));
	assert_int_equal(vr_wait_error(w), 0);
	assert_int_equal(vfio_release_wait_record(w, 0)->seq, 10);
	vfio_release_wait_free(w);
}

/* Without registrations, a removal older than the record is stale. */
static void removal_without_registration_ordered_by_seq(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 10, 2);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, EV(A, DEVICE_REMOVED, FREE, 8, 2));
	assert_int_equal(vr_wait_error(w), 0);
	assert_int_equal(vr_wait_event(w, &(struct vfio_release_event){
		.type = VFIO_RELEASE_CMD_DEVICE_REMOVED, .device = A, .seq = 11 }),
		VR_WAIT_GONE);
	assert_int_equal(vr_wait_error(w), -ENODEV);
	vfio_release_wait_free(w);
}

/* Events of another binding of the same address are not about this one. */
static void other_registration_events_ignored(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 10, 2), 7, 5);

	(void)state;
	vr_wait_record(w, 0, &r);
	feed(w, with_ids(EV(A, DEVICE_FREE, FREE, 11, 2), 7, 4));
	assert_false(vfio_release_wait_done(w));
	feed(w, with_ids(EV(A, DEVICE_FREE, FREE, 12, 3), 7, 5));
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/* A re-read finds the device gone (its removal was among lost events). */
static void gone_on_reread(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 1, 0), 7, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	vr_wait_gone(w, 0);
	assert_int_equal(vr_wait_error(w), -ENODEV);
	assert_int_equal(vfio_release_wait_record(w, 0)->type, VFIO_RELEASE_CMD_DEVICE_REMOVED);
	assert_string_equal(vfio_release_wait_record(w, 0)->device, A);
	vfio_release_wait_free(w);
}

/* Gone after it was reached; bound again later: the new record is kept. */
static void reached_gone_then_rebound(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = with_ids(GET(A, FREE, 3, 1), 7, 1);
	struct vfio_release_event again = with_ids(GET(A, FREE, 0, 1), 7, 2);

	(void)state;
	vr_wait_record(w, 0, &r);
	vr_wait_gone(w, 0);
	assert_int_equal(vr_wait_error(w), 0);
	vr_wait_record(w, 0, &again);
	assert_int_equal(vfio_release_wait_record(w, 0)->registration, 2);
	assert_int_equal(vfio_release_wait_record(w, 0)->type, VFIO_RELEASE_CMD_GET_DEVICE);
	assert_true(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/*
 * The module was reloaded: its events cannot be ordered against the
 * records, so none is applied and every record is read again.
 */
static void instance_change_rereads(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 50, 3), 7, 1);
	struct vfio_release_event ev = with_ids(EV(A, DEVICE_FREE, FREE, 2, 1), 8, 1);
	struct vfio_release_event group = with_ids(EV(A, GROUP_RELEASED, UNKNOWN, 1, 0), 8, 0);
	struct vfio_release_event same = with_ids(EV(A, DEVICE_OPENED, OPEN, 51, 3), 7, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_int_equal(vr_wait_event(w, &same), VR_WAIT_PROGRESS);
	assert_int_equal(vr_wait_event(w, &group), VR_WAIT_REREAD);
	assert_int_equal(vr_wait_event(w, &ev), VR_WAIT_REREAD);
	assert_false(vfio_release_wait_done(w));
	assert_int_equal(vfio_release_wait_record(w, 0)->seq, 51);
	vfio_release_wait_free(w);
}

/* A module that sends instances replacing one that did not: reloaded. */
static void instance_appearing_rereads(void **state)
{
	struct vfio_release_wait *w = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_event r = GET(A, OPEN, 5, 0);
	struct vfio_release_event ev = with_ids(EV(A, DEVICE_FREE, FREE, 6, 1), 8, 1);

	(void)state;
	vr_wait_record(w, 0, &r);
	assert_int_equal(vr_wait_event(w, &ev), VR_WAIT_REREAD);
	assert_false(vfio_release_wait_done(w));
	vfio_release_wait_free(w);
}

/*
 * The re-read after a reload replaces the record although its seq is
 * lower (sequences restart), and only cycles from then on count.
 */
static void reread_after_reload(void **state)
{
	struct vfio_release_wait *wf = wait_for(VFIO_RELEASE_STATE_FREE, 1);
	struct vfio_release_wait *wr = wait_for(VFIO_RELEASE_STATE_RELEASED, 1);
	struct vfio_release_event r = with_ids(GET(A, OPEN, 50, 3), 7, 1);
	struct vfio_release_event reread = with_ids(GET(A, OPEN, 2, 1), 8, 1);

	(void)state;
	vr_wait_record(wf, 0, &r);
	vr_wait_record(wr, 0, &r);
	vr_wait_record(wf, 0, &reread);
	vr_wait_record(wr, 0, &reread);
	assert_int_equal(vfio_release_wait_record(wf, 0)->seq, 2);
	assert_int_equal(vfio_release_wait_record(wf, 0)->instance, 8);
	assert_false(vfio_release_wait_done(wf));
	assert_false(vfio_release_wait_done(wr));
	/* The new instance's events now apply. */
	feed(wf, with_ids(EV(A, DEVICE_RELEASED, RELEASED, 3, 2), 8, 1));
	feed(wr, with_ids(EV(A, DEVICE_RELEASED, RELEASED, 3, 2), 8, 1));
	assert_false(vfio_release_wait_done(wf));
	assert_true(vfio_release_wait_done(wr));
	feed(wf, with_ids(EV(A, DEVICE_FREE, FREE, 5, 2), 8, 1));
	assert_true(vfio_release_wait_done(wf));
	vfio_release_wait_free(wf);
	vfio_release_wait_free(wr);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(already_free),
		cmocka_unit_test(already_free_satisfies_released),
		cmocka_unit_test(released_then_free),
		cmocka_unit_test(released_target_on_release),
		cmocka_unit_test(reopen_in_between_is_not_free),
		cmocka_unit_test(stale_events_ignored),
		cmocka_unit_test(other_devices_ignored),
		cmocka_unit_test(overflow_rereads),
		cmocka_unit_test(kernel_resync_rereads),
		cmocka_unit_test(overflow_reopened_not_free_but_released),
		cmocka_unit_test(older_reread_ignored),
		cmocka_unit_test(all_devices_needed),
		cmocka_unit_test(removal_ends_wait),
		cmocka_unit_test(removal_of_own_registration_at_record_seq),
		cmocka_unit_test(removal_after_reached_is_not_an_error),
		cmocka_unit_test(other_removals_ignored),
		cmocka_unit_test(removal_without_registration_ordered_by_seq),
		cmocka_unit_test(other_registration_events_ignored),
		cmocka_unit_test(gone_on_reread),
		cmocka_unit_test(reached_gone_then_rebound),
		cmocka_unit_test(instance_change_rereads),
		cmocka_unit_test(instance_appearing_rereads),
		cmocka_unit_test(reread_after_reload),
	};

	return cmocka_run_group_tests_name("wait-state", tests, NULL, NULL);
}
