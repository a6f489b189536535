// SPDX-License-Identifier: GPL-2.0-or-later
/* The wait state machine against every ordering of records and events. */

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
	};

	return cmocka_run_group_tests_name("wait-state", tests, NULL, NULL);
}
