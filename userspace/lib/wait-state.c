// SPDX-License-Identifier: LGPL-2.1-or-later
/* The wait's state machine: which records and events reach the target. */

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "wait-state.h"

struct vfio_release_wait *vr_wait_alloc(const char *const *devices,
					unsigned int count,
					enum vfio_release_state target)
{
	struct vfio_release_wait *w;
	unsigned int i;

	w = calloc(1, sizeof(*w) + count * sizeof(w->dev[0]));
	if (!w)
		return NULL;
	w->target = target;
	w->count = count;
	for (i = 0; i < count; i++) {
		strncpy(w->dev[i].record.device, devices[i],
			sizeof(w->dev[i].record.device) - 1);
	}
	return w;
}

static bool vr_reaches(const struct vfio_release_wait *w,
		       const struct vr_wait_dev *d)
{
	const struct vfio_release_event *r = &d->record;

	if (w->target == VFIO_RELEASE_STATE_FREE)
		return r->state == VFIO_RELEASE_STATE_FREE;
	return r->state == VFIO_RELEASE_STATE_RELEASED ||
	       r->state == VFIO_RELEASE_STATE_FREE ||
	       r->generation > d->base_generation;
}

/*
 * Records are only ever replaced by newer ones: the sequence number orders
 * every transition the module announced. Once reached, a device stays
 * reached: the caller asked whether it got there, not whether it stayed.
 */
static void vr_apply(struct vfio_release_wait *w, struct vr_wait_dev *d,
		     const struct vfio_release_event *rec)
{
	if (d->have_record && rec->seq < d->record.seq)
		return;
	if (!d->have_record)
		d->base_generation = rec->generation;
	d->record = *rec;
	d->have_record = true;
	if (!d->reached && vr_reaches(w, d)) {
		d->reached = true;
		w->reached++;
	}
}

void vr_wait_record(struct vfio_release_wait *w, unsigned int i,
		    const struct vfio_release_event *rec)
{
	vr_apply(w, &w->dev[i], rec);
}

enum vr_wait_step vr_wait_event(struct vfio_release_wait *w,
				const struct vfio_release_event *ev)
{
	unsigned int i;

	switch (ev->type) {
	case VFIO_RELEASE_CMD_RESYNC:
		return VR_WAIT_REREAD;
	case VFIO_RELEASE_CMD_DEVICE_OPENED:
	case VFIO_RELEASE_CMD_DEVICE_RELEASED:
	case VFIO_RELEASE_CMD_DEVICE_FREE:
	case VFIO_RELEASE_CMD_DEVICE_RESET:
		break;
	default:
		/* Group releases are followed by the devices' own events. */
		return VR_WAIT_PROGRESS;
	}
	for (i = 0; i < w->count; i++) {
		struct vr_wait_dev *d = &w->dev[i];

		/* Events up to the record's seq are already in the record. */
		if (d->have_record && !strcmp(d->record.device, ev->device) &&
		    ev->seq > d->record.seq)
			vr_apply(w, d, ev);
	}
	return VR_WAIT_PROGRESS;
}

VR_EXPORT bool vfio_release_wait_done(const struct vfio_release_wait *w)
{
	return w->reached == w->count;
}

VR_EXPORT bool vfio_release_wait_reached(const struct vfio_release_wait *w,
					 unsigned int i)
{
	return i < w->count && w->dev[i].reached;
}

VR_EXPORT const struct vfio_release_event *
vfio_release_wait_record(const struct vfio_release_wait *w, unsigned int i)
{
	return i < w->count ? &w->dev[i].record : NULL;
}

VR_EXPORT void vfio_release_wait_free(struct vfio_release_wait *w)
{
	free(w);
}
