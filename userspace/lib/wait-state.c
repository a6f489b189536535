// SPDX-License-Identifier: LGPL-2.1-or-later
/* The wait's state machine: which records and events reach the target. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wait-state.h"

int vr_wait_alloc(const char *const *devices, unsigned int count,
		  enum vfio_release_state target, struct vfio_release_wait **out)
{
	struct vfio_release_wait *w;
	unsigned int i;

	if ((target != VFIO_RELEASE_STATE_RELEASED &&
	     target != VFIO_RELEASE_STATE_FREE) || !count || !devices ||
	    count > 65536)
		return -EINVAL;
	w = calloc(1, sizeof(*w) + count * sizeof(w->dev[0]));
	if (!w)
		return -ENOMEM;
	w->target = target;
	w->count = count;
	for (i = 0; i < count; i++) {
		if (!devices[i] || !*devices[i] ||
		    strlen(devices[i]) >= sizeof(w->dev[i].device)) {
			free(w);
			return -EINVAL;
		}
		strcpy(w->dev[i].device, devices[i]);
	}
	*out = w;
	return 0;
}

static bool vr_is_free(const struct vr_wait_dev *d)
{
	return d->record && d->record->state == VFIO_RELEASE_STATE_FREE;
}

static bool vr_dev_reached(const struct vfio_release_wait *w,
			   const struct vr_wait_dev *d)
{
	if (w->target == VFIO_RELEASE_STATE_RELEASED)
		return d->cycled;
	return d->removed ? d->removed_free : vr_is_free(d);
}

/* Replaces the record; "released" remembers that the device got there. */
static void vr_take(struct vr_wait_dev *d, const struct vfio_release_event *rec,
		    bool rebase)
{
	if (!d->record || rebase)
		d->base_generation = rec->generation;
	vfio_release_event_unref(d->record);
	d->record = vfio_release_event_ref((struct vfio_release_event *)rec);
	if (rec->state == VFIO_RELEASE_STATE_RELEASED ||
	    rec->state == VFIO_RELEASE_STATE_FREE ||
	    rec->generation > d->base_generation)
		d->cycled = true;
}

/* Both known and different: not the same binding of the device. */
static bool vr_other_registration(const struct vfio_release_event *a,
				  const struct vfio_release_event *b)
{
	return a->registration && b->registration &&
	       a->registration != b->registration;
}

/*
 * A GET is the device's state now. From another module instance (the
 * module was reloaded) its sequence numbers and generations start over:
 * it replaces the record, and only cycles from there on count for
 * "released". A new registration (unbound and bound again) is newer than
 * anything known of the old one; its generation continues the old one's.
 */
/* Every device read again since state was lost: the wait is exact again. */
static void vr_mark_fresh(struct vfio_release_wait *w, struct vr_wait_dev *d)
{
	unsigned int i;

	d->fresh = true;
	for (i = 0; i < w->count; i++)
		if (!w->dev[i].fresh && !w->dev[i].removed)
			return;
	w->reread = false;
}

void vr_wait_stale(struct vfio_release_wait *w)
{
	unsigned int i;

	w->reread = true;
	for (i = 0; i < w->count; i++)
		w->dev[i].fresh = false;
}

bool vr_wait_record(struct vfio_release_wait *w, unsigned int i,
		    struct vfio_release_event *rec)
{
	struct vr_wait_dev *d = &w->dev[i];

	w->instance = rec->instance;
	w->have_instance = true;
	if (d->removed)
		return false;
	if (d->record && rec->instance != d->record->instance)
		vr_take(d, rec, true);
	else if (!d->record || vr_other_registration(rec, d->record) ||
		 rec->seq >= d->record->seq)
		vr_take(d, rec, false);
	else
		return false;
	return true;
}

void vr_wait_fresh(struct vfio_release_wait *w, unsigned int i)
{
	vr_mark_fresh(w, &w->dev[i]);
}

void vr_wait_gone(struct vfio_release_wait *w, unsigned int i)
{
	struct vr_wait_dev *d = &w->dev[i];

	if (d->removed)
		return;
	d->removed = true;
	d->removed_free = vr_is_free(d);
	vr_mark_fresh(w, d);
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
	if (d->record->registration && ev->registration)
		return d->record->registration == ev->registration;
	return ev->seq > d->record->seq;
}

static bool vr_is_device_event(enum vfio_release_cmd type)
{
	switch (type) {
	case VFIO_RELEASE_CMD_DEVICE_OPENED:
	case VFIO_RELEASE_CMD_DEVICE_RELEASED:
	case VFIO_RELEASE_CMD_DEVICE_FREE:
	case VFIO_RELEASE_CMD_DEVICE_RESET:
	case VFIO_RELEASE_CMD_DEVICE_REMOVED:
	case VFIO_RELEASE_CMD_DEVICE_CLAIMED:
		return true;
	default:
		/* Group events are followed by the devices' own. */
		return false;
	}
}

static void vr_apply(struct vr_wait_dev *d, const struct vfio_release_event *ev)
{
	if (!d->record || d->removed)
		return;
	if (ev->type == VFIO_RELEASE_CMD_DEVICE_REMOVED) {
		if (vr_removes(d, ev)) {
			d->removed_free = vr_is_free(d);
			d->removed = true;
			/* Its last word: the record as it stood. */
			vfio_release_event_unref(d->record);
			d->record = vfio_release_event_ref((struct vfio_release_event *)ev);
		}
		return;
	}
	/*
	 * Events up to the record's seq are already in the record; those of
	 * another registration are not about the device waited for.
	 */
	if (ev->seq > d->record->seq && !vr_other_registration(ev, d->record))
		vr_take(d, ev, false);
}

VR_EXPORT enum vfio_release_wait_status
vfio_release_wait_feed(struct vfio_release_wait *w,
		       const struct vfio_release_event *ev)
{
	unsigned int i;

	if (!w || !ev)
		return vfio_release_wait_status(w);
	if (ev->notice != VFIO_RELEASE_NOTICE_NONE ||
	    ev->type == VFIO_RELEASE_CMD_RESYNC) {
		vr_wait_stale(w);
	} else if (ev->type == VFIO_RELEASE_CMD_GET_DEVICE) {
		/*
		 * A record, from a dump or GET of the caller's: a re-read,
		 * unless it is older than what is known (read before the loss).
		 */
		for (i = 0; i < w->count; i++)
			if (!strcmp(w->dev[i].device, ev->device) &&
			    vr_wait_record(w, i, (struct vfio_release_event *)ev))
				vr_mark_fresh(w, &w->dev[i]);
	} else if (w->have_instance && ev->instance != w->instance) {
		/*
		 * Another module instance: its sequence numbers cannot be
		 * ordered against the records, which must all be read again.
		 */
		vr_wait_stale(w);
	} else if (vr_is_device_event(ev->type)) {
		for (i = 0; i < w->count; i++)
			if (!strcmp(w->dev[i].device, ev->device))
				vr_apply(&w->dev[i], ev);
	}
	return vfio_release_wait_status(w);
}

VR_EXPORT enum vfio_release_wait_status
vfio_release_wait_status(const struct vfio_release_wait *w)
{
	unsigned int i, reached = 0;

	if (!w)
		return VFIO_RELEASE_WAIT_PENDING;
	for (i = 0; i < w->count; i++) {
		bool ok = vr_dev_reached(w, &w->dev[i]);

		if (w->dev[i].removed && !ok)
			return VFIO_RELEASE_WAIT_GONE;
		reached += ok;
	}
	if (w->reread)
		return VFIO_RELEASE_WAIT_REREAD;
	return reached == w->count ? VFIO_RELEASE_WAIT_DONE : VFIO_RELEASE_WAIT_PENDING;
}

VR_EXPORT unsigned int vfio_release_wait_count(const struct vfio_release_wait *w)
{
	return w ? w->count : 0;
}

VR_EXPORT const char *vfio_release_wait_device(const struct vfio_release_wait *w,
					       unsigned int i)
{
	return w && i < w->count ? w->dev[i].device : NULL;
}

VR_EXPORT bool vfio_release_wait_reached(const struct vfio_release_wait *w,
					 unsigned int i)
{
	return w && i < w->count && vr_dev_reached(w, &w->dev[i]);
}

VR_EXPORT bool vfio_release_wait_removed(const struct vfio_release_wait *w,
					 unsigned int i)
{
	return w && i < w->count && w->dev[i].removed;
}

VR_EXPORT const struct vfio_release_event *
vfio_release_wait_record(const struct vfio_release_wait *w, unsigned int i)
{
	return w && i < w->count ? w->dev[i].record : NULL;
}
