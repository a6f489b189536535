// SPDX-License-Identifier: LGPL-2.1-or-later
/* The wait's I/O: subscribe, read records, be fed by dispatches, poll. */

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "handle.h"
#include "request.h"
#include "wait-state.h"

/* A re-read that could not be done yet is tried again this often. */
#define VR_REREAD_RETRY_MS 1000

void vr_waits_feed(struct vfio_release *vr, const struct vfio_release_event *ev)
{
	struct vfio_release_wait *w;

	for (w = vr->waits; w; w = w->next)
		vfio_release_wait_feed(w, ev);
}

static void vr_wait_unlink(struct vfio_release_wait *w)
{
	if (!w->owner)
		return;
	*w->pprev = w->next;
	if (w->next)
		w->next->pprev = w->pprev;
	w->owner = NULL;
	w->next = NULL;
	w->pprev = NULL;
}

void vr_waits_detach(struct vfio_release *vr)
{
	while (vr->waits)
		vr_wait_unlink(vr->waits);
}

/*
 * One GET per device, each asked once: a module still re-reading its
 * devices (-EAGAIN), unloaded (-ENOPKG) or unloading (-ESHUTDOWN) leaves
 * the wait stale for the next try, and blocks the caller a second at most.
 */
VR_EXPORT int vfio_release_wait_reread(struct vfio_release *vr,
				       struct vfio_release_wait *w)
{
	struct vfio_release_event *rec;
	unsigned int i;
	int err;

	if (!vr || !w)
		return -EINVAL;
	vr_wait_stale(w);
	for (i = 0; i < w->count; i++) {
		if (w->dev[i].removed)
			continue;
		err = vr_get(vr, w->dev[i].device, &rec, 1);
		if (err == -ENODEV) {
			vr_wait_gone(w, i);
			continue;
		}
		if (err)
			return err;
		vr_wait_record(w, i, rec);
		/* Asked after the loss: fresh even if events already said more. */
		vr_wait_fresh(w, i);
		vfio_release_event_unref(rec);
	}
	return 0;
}

/* The module is not there, or not ready: try the re-read again later. */
static bool vr_reread_later(int err)
{
	return err == -ENOPKG || err == -EAGAIN || err == -ESHUTDOWN;
}

VR_EXPORT int vfio_release_wait_new(struct vfio_release *vr,
				    const char *const *devices,
				    unsigned int count,
				    enum vfio_release_state target,
				    struct vfio_release_wait **out)
{
	struct vfio_release_wait *w;
	unsigned int i;
	int err;

	if (!vr || !out)
		return -EINVAL;
	err = vr_wait_alloc(devices, count, target, &w);
	if (err)
		return err;
	/* Subscribe before reading: nothing can happen unseen in between. */
	err = vfio_release_subscribe(vr);
	/* At creation a busy module is waited for, as by any GET. */
	for (i = 0; !err && i < count; i++) {
		struct vfio_release_event *rec;

		err = vfio_release_get(vr, w->dev[i].device, &rec);
		if (!err) {
			vr_wait_record(w, i, rec);
			vfio_release_event_unref(rec);
		}
	}
	if (err) {
		vfio_release_wait_free(w);
		return err;
	}
	w->owner = vr;
	w->next = vr->waits;
	w->pprev = &vr->waits;
	if (vr->waits)
		vr->waits->pprev = &w->next;
	vr->waits = w;
	*out = w;
	return 0;
}

VR_EXPORT void vfio_release_wait_free(struct vfio_release_wait *w)
{
	unsigned int i;

	if (!w)
		return;
	vr_wait_unlink(w);
	for (i = 0; i < w->count; i++)
		vfio_release_event_unref(w->dev[i].record);
	free(w);
}

VR_EXPORT int vfio_release_wait_process(struct vfio_release *vr,
					struct vfio_release_wait *w)
{
	enum vfio_release_wait_status status;
	int err;

	if (!vr || !w)
		return -EINVAL;
	err = vfio_release_dispatch(vr, NULL, NULL);
	if (err < 0)
		return err;
	status = vfio_release_wait_status(w);
	if (status == VFIO_RELEASE_WAIT_REREAD) {
		err = vfio_release_wait_reread(vr, w);
		/*
		 * Unloaded: its load is announced on the fd. Not ready: read
		 * again later (wait_run comes back within VR_REREAD_RETRY_MS).
		 */
		if (vr_reread_later(err))
			return 0;
		if (err)
			return err;
		status = vfio_release_wait_status(w);
	}
	if (status == VFIO_RELEASE_WAIT_GONE)
		return -ENODEV;
	return status == VFIO_RELEASE_WAIT_DONE;
}

VR_EXPORT int vfio_release_wait_run(struct vfio_release *vr,
				    struct vfio_release_wait *w, int timeout_ms)
{
	long long deadline = (long long)vr_mono_ms() + timeout_ms;
	int ret;

	if (!vr || !w)
		return -EINVAL;
	/* The records read at creation may already be the answer. */
	ret = vfio_release_wait_process(vr, w);
	while (ret == 0) {
		struct pollfd pfd = { .fd = vfio_release_fd(vr), .events = POLLIN };
		int left = -1;

		if (timeout_ms >= 0) {
			long long rest = deadline - (long long)vr_mono_ms();

			if (rest <= 0)
				return -ETIMEDOUT;
			left = rest;
		}
		if (vfio_release_wait_status(w) == VFIO_RELEASE_WAIT_REREAD &&
		    (left < 0 || left > VR_REREAD_RETRY_MS))
			left = VR_REREAD_RETRY_MS;
		if (poll(&pfd, 1, left) < 0 && errno != EINTR)
			return -errno;
		ret = vfio_release_wait_process(vr, w);
	}
	return ret < 0 ? ret : 0;
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
