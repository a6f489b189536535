/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The handle, shared by its concerns: the family (family.c), requests
 * (transact.c, request.c), the event socket (dispatch.c) and the waits
 * fed from it (wait.c).
 */
#ifndef VFIO_RELEASE_HANDLE_H
#define VFIO_RELEASE_HANDLE_H

#include <netlink/handlers.h>
#include <netlink/socket.h>

#include "internal.h"

struct vfio_release {
	/* Requests and their replies only: notifications never mix in. */
	struct nl_sock *req;
	/* Notifications: the module's events and the controller's. */
	struct nl_sock *ev;
	/* The family's id, -1 while the module is not loaded. */
	int family;
	/* Its events group, as the controller last said; 0 when unknown. */
	int family_group;
	/* The events group joined on ev, 0 when none. */
	int events_group;
	/* Unit tests replace the sockets' I/O; NULL for the kernel's. */
	struct nl_cb *io;
	/* Waits made on this handle, fed by every dispatch. */
	struct vfio_release_wait *waits;
	char errmsg[256];
};

/* A connected generic netlink socket, on the test I/O when there is one. */
int vr_socket(struct vfio_release *vr, struct nl_sock **out);
/* Callbacks for a receive loop, from the test I/O when there is one. */
struct nl_cb *vr_cb_new(const struct vfio_release *vr);
/* For unit tests: a handle whose sockets talk through io only. */
int vr_handle_new_fake(struct nl_cb *io, int family, struct vfio_release **out);

/* dispatch.c -> wait.c: one event to every wait of the handle. */
void vr_waits_feed(struct vfio_release *vr, const struct vfio_release_event *ev);
/* At close: the waits still made on it stop being fed. */
void vr_waits_detach(struct vfio_release *vr);

#endif
