// SPDX-License-Identifier: LGPL-2.1-or-later
/* The wait's state machine: which records and events reach the target. */

#include <errno.h>
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

static void vr_take(struct vfio_release_wait *w, struct vr_wait_dev *d,
		    const struct vfio_release_event *rec, bool rebase)
{
	if (!d->have_record || rebase)
		d->base_generation = rec->generation;
	d->record = *rec;
	d->have_record = true;
	d->removed = false;
	if (!d->reached && vr_reaches(w, d)) {
		d->reached = true;
		w->reached++;
	}
}

/* Both known and different: not the same binding of the device. */
static bool vr_other_registration(const struct vfio_release_event *a,
				  const struct vfio_release_event *b)
{
	return a->registration && b->registration &&
	       a->registration != b->registration;
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
	vr_take(w, d, rec, false);
}

/*
 * A GET is the device's state now. From another module instance (the
 * module was reloaded) its sequence numbers and generations start over:
 * it replaces the record, and only cycles from there on count for
 * "released". A new registration (unbound and bound again) is newer than
 * anything known of the old one; its generation continues the old one's.
 */
void vr_wait_record(struct vfio_release_wait *w, unsigned int i,
		    const struct vfio_release_event *rec)
{
	struct vr_wait_dev *d = &w->dev[i];

	w->instance = rec->instance;
	w->have_instance = true;
	if (d->have_record && rec->instance != d->record.instance)
		vr_take(w, d, rec, true);
	else if (d->have_record && vr_other_registration(rec, &d->record))
		vr_take(w, d, rec, false);
	else
		vr_apply(w, d, rec);
}

void vr_wait_gone(struct vfio_release_wait *w, unsigned int i)
{
	w->dev[i].removed = true;
	w->dev[i].record.type = VFIO_RELEASE_CMD_DEVICE_REMOVED;
}

/*
 * The removal of the registration the record is about. Nothing is sent
 * about a registration after its removal and GET no longer answers for
 * it, so a removal of the record's own registration is always newer than
 * the record; without registrations the sequence number decides.
 */
static bool vr_removes(const struct vr_wait_dev *d,
		       const struct vfio_release_event *ev)
{
	if (d->record.registration && ev->registration)
		return d->record.registration == ev->registration;
	return ev->seq > d->record.seq;
}

enum vr_wait_step vr_wait_event(struct vfio_release_wait *w,
				const struct vfio_release_event *ev)
{
	enum vr_wait_step step = VR_WAIT_PROGRESS;
	unsigned int i;

	if (ev->type == VFIO_RELEASE_CMD_RESYNC)
		return VR_WAIT_REREAD;
	/*
	 * Another module instance: its sequence numbers cannot be ordered
	 * against the records, which must all be read again.
	 */
	if (w->have_instance && ev->instance != w->instance)
		return VR_WAIT_REREAD;
	switch (ev->type) {
	case VFIO_RELEASE_CMD_DEVICE_OPENED:
	case VFIO_RELEASE_CMD_DEVICE_RELEASED:
	case VFIO_RELEASE_CMD_DEVICE_FREE:
	case VFIO_RELEASE_CMD_DEVICE_RESET:
	case VFIO_RELEASE_CMD_DEVICE_REMOVED:
	case VFIO_RELEASE_CMD_DEVICE_CLAIMED:
		break;
	default:
		/* Group releases are followed by the devices' own events. */
		return VR_WAIT_PROGRESS;
	}
	for (i = 0; i < w->count; i++) {
		struct vr_wait_dev *d = &w->dev[i];

		if (!d->have_record || d->removed ||
		    strcmp(d->record.device, ev->device))
			continue;
		if (ev->type == VFIO_RELEASE_CMD_DEVICE_REMOVED) {
			if (!vr_removes(d, ev))
				continue;
			d->record = *ev;
			d->removed = true;
			if (!d->reached)
				step = VR_WAIT_GONE;
			continue;
		}
		/*
		 * Events up to the record's seq are already in the record; those
		 * of another registration are not about the device waited for.
		 */
		if (ev->seq > d->record.seq && !vr_other_registration(ev, &d->record))
			vr_apply(w, d, ev);
	}
	return step;
}

int vr_wait_error(const struct vfio_release_wait *w)
{
	unsigned int i;

	for (i = 0; i < w->count; i++)
		if (w->dev[i].removed && !w->dev[i].reached)
			return -ENODEV;
	return 0;
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
