// SPDX-License-Identifier: LGPL-2.1-or-later
/* The wait's I/O: subscribe, read records, feed events, poll. */

#include <errno.h>
#include <poll.h>
#include <time.h>

#include "internal.h"
#include "wait-state.h"

/*
 * -ENODEV when a device short of the target is not (or no longer) watched:
 * never bound to a vfio_pci_core driver, or unbound or removed since.
 */
static int vr_wait_read_all(struct vfio_release *vr, struct vfio_release_wait *w)
{
	struct vfio_release_event rec;
	unsigned int i;
	int err;

	for (i = 0; i < w->count; i++) {
		err = vfio_release_get(vr, w->dev[i].record.device, &rec);
		if (err == -ENODEV)
			vr_wait_gone(w, i);
		else if (err)
			return err;
		else
			vr_wait_record(w, i, &rec);
	}
	return vr_wait_error(w);
}

VR_EXPORT int vfio_release_wait_new(struct vfio_release *vr,
				    const char *const *devices,
				    unsigned int count,
				    enum vfio_release_state target,
				    struct vfio_release_wait **out)
{
	struct vfio_release_wait *w;
	int err;

	if (target != VFIO_RELEASE_STATE_RELEASED &&
	    target != VFIO_RELEASE_STATE_FREE)
		return -EINVAL;
	/* Subscribe before reading: nothing can happen unseen in between. */
	err = vfio_release_subscribe(vr);
	if (err)
		return err;
	w = vr_wait_alloc(devices, count, target);
	if (!w)
		return -ENOMEM;
	err = vr_wait_read_all(vr, w);
	if (err) {
		vfio_release_wait_free(w);
		return err;
	}
	*out = w;
	return 0;
}

struct vr_wait_feed {
	struct vfio_release_wait *w;
	bool reread;
};

static int vr_wait_on_event(const struct vfio_release_event *ev, void *arg)
{
	struct vr_wait_feed *feed = arg;

	if (vr_wait_event(feed->w, ev) == VR_WAIT_REREAD)
		feed->reread = true;
	return 0;
}

VR_EXPORT int vfio_release_wait_process(struct vfio_release *vr,
					struct vfio_release_wait *w)
{
	struct vr_wait_feed feed = { .w = w };
	int err;

	err = vfio_release_dispatch(vr, vr_wait_on_event, &feed);
	if (err < 0)
		return err;
	err = vr_wait_error(w);
	if (!err && feed.reread)
		err = vr_wait_read_all(vr, w);
	if (err)
		return err;
	return vfio_release_wait_done(w);
}

static long long vr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

VR_EXPORT int vfio_release_wait_run(struct vfio_release *vr,
				    struct vfio_release_wait *w, int timeout_ms)
{
	long long deadline = vr_now_ms() + timeout_ms;
	int err;

	while (!vfio_release_wait_done(w)) {
		struct pollfd pfd = { .fd = vfio_release_fd(vr), .events = POLLIN };
		int left = -1;

		if (timeout_ms >= 0) {
			long long rest = deadline - vr_now_ms();

			if (rest <= 0)
				return -ETIMEDOUT;
			left = rest;
		}
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -errno;
		err = vfio_release_wait_process(vr, w);
		if (err < 0)
			return err;
	}
	return 0;
}

VR_EXPORT int vfio_release_wait(struct vfio_release *vr,
				const char *const *devices, unsigned int count,
				enum vfio_release_state target, int timeout_ms)
{
	struct vfio_release_wait *w;
	int err;

	err = vfio_release_wait_new(vr, devices, count, target, &w);
	if (err)
		return err;
	err = vfio_release_wait_run(vr, w, timeout_ms);
	vfio_release_wait_free(w);
	return err;
}
