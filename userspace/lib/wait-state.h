/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wait's state machine, free of I/O so that every ordering of records
 * and events can be unit tested.
 */
#ifndef VFIO_RELEASE_WAIT_STATE_H
#define VFIO_RELEASE_WAIT_STATE_H

#include "internal.h"

struct vr_wait_dev {
	char device[VFIO_RELEASE_DEVICE_NAME_MAX];
	struct vfio_release_event *record;	/* latest known, a reference */
	uint64_t base_generation;		/* at the first record */
	bool cycled;				/* released since the wait began */
	bool removed;				/* left vfio: final */
	bool removed_free;			/* and was free then */
	bool fresh;				/* read since state was lost */
};

struct vfio_release_wait {
	/* The handle whose dispatches feed this wait, NULL once detached. */
	struct vfio_release *owner;
	struct vfio_release_wait *next, **pprev;
	enum vfio_release_state target;
	unsigned int count;
	bool reread;				/* records may be stale */
	bool have_instance;
	uint64_t instance;			/* of the records */
	struct vr_wait_dev dev[];
};

/* -EINVAL for a bad target, count or device name. */
int vr_wait_alloc(const char *const *devices, unsigned int count,
		  enum vfio_release_state target, struct vfio_release_wait **out);
/* A record from GET: the device's state now. False when older than known. */
bool vr_wait_record(struct vfio_release_wait *w, unsigned int i,
		    struct vfio_release_event *rec);
/* The device was read again since state was lost (the wait's own GET). */
void vr_wait_fresh(struct vfio_release_wait *w, unsigned int i);
/* State may be lost: every device must be read again. */
void vr_wait_stale(struct vfio_release_wait *w);
/* GET answered -ENODEV: the device left vfio since the last record. */
void vr_wait_gone(struct vfio_release_wait *w, unsigned int i);

#endif
