/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The wait's state machine, free of I/O so that every ordering of records
 * and events can be unit tested.
 */
#ifndef VFIO_RELEASE_WAIT_STATE_H
#define VFIO_RELEASE_WAIT_STATE_H

#include "vfio-release.h"

struct vr_wait_dev {
	struct vfio_release_event record;	/* latest known */
	uint64_t base_generation;		/* at the wait's first read */
	bool have_record;
	bool reached;
	bool removed;				/* left vfio: record.type says so */
};

struct vfio_release_wait {
	enum vfio_release_state target;
	unsigned int count;
	unsigned int reached;
	uint64_t instance;			/* of the records, 0: not sent */
	bool have_instance;
	struct vr_wait_dev dev[];
};

enum vr_wait_step {
	VR_WAIT_PROGRESS,	/* applied or ignored; see vfio_release_wait_done() */
	VR_WAIT_REREAD,		/* state may be lost: read every record again */
	VR_WAIT_GONE,		/* a device short of the target left vfio */
};

struct vfio_release_wait *vr_wait_alloc(const char *const *devices,
					unsigned int count,
					enum vfio_release_state target);
/* A record from GET: the device's state now. */
void vr_wait_record(struct vfio_release_wait *w, unsigned int i,
		    const struct vfio_release_event *rec);
/* GET answered -ENODEV: the device left vfio since the last record. */
void vr_wait_gone(struct vfio_release_wait *w, unsigned int i);
/* A notification, in arrival order. */
enum vr_wait_step vr_wait_event(struct vfio_release_wait *w,
				const struct vfio_release_event *ev);
/*
 * -ENODEV once a device that had not reached the target left vfio; the
 * wait cannot succeed any more. 0 otherwise.
 */
int vr_wait_error(const struct vfio_release_wait *w);

#endif
