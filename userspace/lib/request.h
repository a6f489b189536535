/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_REQUEST_H
#define VFIO_RELEASE_REQUEST_H

#include "handle.h"

/*
 * How often a request is asked in all while the module answers -EAGAIN
 * (each answer comes within a second) or its family must be followed.
 */
#define VR_REQUEST_TRIES 10

/* vfio_release_get() with its number of tries: the wait's re-read asks once. */
int vr_get(struct vfio_release *vr, const char *device,
	   struct vfio_release_event **out, int tries);

#endif
