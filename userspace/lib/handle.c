// SPDX-License-Identifier: LGPL-2.1-or-later
/* The handle: its sockets and the module's family, found and followed. */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <linux/genetlink.h>
#include <netlink/genl/genl.h>

#include "family.h"
#include "handle.h"

/*
 * A request is answered at once or within the module's one-second bound;
 * a socket that stays silent longer than this is a kernel that will not
 * answer, reported as -ETIME instead of blocking forever.
 */
#define VR_REQUEST_RCVTIMEO_S 5

struct nl_cb *vr_cb_new(const struct vfio_release *vr)
{
	return vr->io ? nl_cb_clone(vr->io) : nl_cb_alloc(NL_CB_DEFAULT);
}

int vr_socket(struct vfio_release *vr, struct nl_sock **out)
{
	struct nl_sock *sk = vr->io ? nl_socket_alloc_cb(vr->io) : nl_socket_alloc();
	int err;

	if (!sk)
		return -ENOMEM;
	if (!vr->io) {
		errno = 0;
		err = genl_connect(sk);
		if (err) {
			nl_socket_free(sk);
			return vr_errno_from_nl(err);
		}
	}
	*out = sk;
	return 0;
}

/* Extended acks name what the kernel refused; bounded receives. */
static void vr_request_socket_options(struct nl_sock *sk)
{
	struct timeval tv = { .tv_sec = VR_REQUEST_RCVTIMEO_S };
	int one = 1, fd = nl_socket_get_fd(sk);

	if (fd < 0)
		return;
	/* Both are optional: without them errors are plain errno values. */
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static struct vfio_release *vr_alloc(struct nl_cb *io)
{
	struct vfio_release *vr = calloc(1, sizeof(*vr));

	if (!vr)
		return NULL;
	vr->family = -1;
	vr->io = io ? nl_cb_get(io) : NULL;
	if (vr_socket(vr, &vr->req)) {
		nl_cb_put(vr->io);
		free(vr);
		return NULL;
	}
	/* Every request sets its own flags; see request.c. */
	nl_socket_disable_auto_ack(vr->req);
	vr_request_socket_options(vr->req);
	return vr;
}

VR_EXPORT int vfio_release_open(struct vfio_release **out)
{
	struct vfio_release *vr;
	int err;

	if (!out)
		return -EINVAL;
	vr = vr_alloc(NULL);
	if (!vr)
		return errno > 0 ? -errno : -ENOMEM;
	/* The one lookup by name: it loads the module when it is installed. */
	err = vr_family_lookup(vr, true);
	if (err) {
		vfio_release_close(vr);
		return err;
	}
	*out = vr;
	return 0;
}

int vr_handle_new_fake(struct nl_cb *io, int family, struct vfio_release **out)
{
	struct vfio_release *vr = vr_alloc(io);

	if (!vr)
		return -ENOMEM;
	vr->family = family;
	*out = vr;
	return 0;
}

VR_EXPORT void vfio_release_close(struct vfio_release *vr)
{
	if (!vr)
		return;
	vr_waits_detach(vr);
	nl_socket_free(vr->req);
	nl_socket_free(vr->ev);
	nl_cb_put(vr->io);
	free(vr);
}

VR_EXPORT const char *vfio_release_errmsg(const struct vfio_release *vr)
{
	return vr && vr->errmsg[0] ? vr->errmsg : NULL;
}
