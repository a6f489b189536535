// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The handle: one socket for requests and one for events, so that
 * notifications never interleave with a request's replies.
 */

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/socket.h>

#include "internal.h"

#define VR_EVENT_RCVBUF (1 << 20)
#define VR_EVENT_MSG_BUF 32768

struct vfio_release {
	struct nl_sock *req;
	struct nl_sock *ev;
	int family;
};

/* What a callback of ours needs while libnl runs a receive loop. */
struct vr_recv {
	vfio_release_event_cb cb;
	void *arg;
	int ret;		/* first callback result or decode error */
	int count;
	int kernel_err;		/* the request's NLMSG_ERROR, negative errno */
};

static int vr_on_valid(struct nl_msg *msg, void *data)
{
	struct vr_recv *recv = data;
	struct vfio_release_event ev;
	int ret;

	ret = vr_decode(msg, &ev);
	if (!ret) {
		recv->count++;
		ret = recv->cb ? recv->cb(&ev, recv->arg) : 0;
	}
	if (ret) {
		recv->ret = ret;
		return NL_STOP;
	}
	return NL_OK;
}

static int vr_on_error(struct sockaddr_nl *nla, struct nlmsgerr *err,
		       void *data)
{
	struct vr_recv *recv = data;

	(void)nla;
	recv->kernel_err = err->error;
	return NL_STOP;
}

static struct nl_sock *vr_socket(void)
{
	struct nl_sock *sk = nl_socket_alloc();

	if (!sk)
		return NULL;
	if (genl_connect(sk)) {
		nl_socket_free(sk);
		return NULL;
	}
	return sk;
}

VR_EXPORT int vfio_release_open(struct vfio_release **out)
{
	struct vfio_release *vr = calloc(1, sizeof(*vr));

	if (!vr)
		return -ENOMEM;
	vr->req = vr_socket();
	if (!vr->req) {
		free(vr);
		return -EIO;
	}
	/* Replies end a request; an extra ACK would linger in the socket. */
	nl_socket_disable_auto_ack(vr->req);
	/* Resolving the name also autoloads the module when it is installed. */
	vr->family = genl_ctrl_resolve(vr->req, VFIO_RELEASE_GENL_NAME);
	if (vr->family < 0) {
		int err = vr->family == -NLE_OBJ_NOTFOUND ?
			  -ENOPKG : vr_errno_from_nl(vr->family);

		vfio_release_close(vr);
		return err;
	}
	*out = vr;
	return 0;
}

VR_EXPORT void vfio_release_close(struct vfio_release *vr)
{
	if (!vr)
		return;
	nl_socket_free(vr->req);
	nl_socket_free(vr->ev);
	free(vr);
}

VR_EXPORT int vfio_release_subscribe(struct vfio_release *vr)
{
	int group, err;

	if (vr->ev)
		return 0;
	group = genl_ctrl_resolve_grp(vr->req, VFIO_RELEASE_GENL_NAME,
				      VFIO_RELEASE_MCGRP_EVENTS);
	if (group < 0)
		return group == -NLE_OBJ_NOTFOUND ? -ENOPKG :
						    vr_errno_from_nl(group);
	vr->ev = vr_socket();
	if (!vr->ev)
		return -EIO;
	/*
	 * Notifications fit in a page: read each once, into a buffer that
	 * holds it, instead of peeking at its size first.
	 */
	nl_socket_disable_msg_peek(vr->ev);
	err = nl_socket_set_msg_buf_size(vr->ev, VR_EVENT_MSG_BUF);
	if (!err)
		err = nl_socket_set_buffer_size(vr->ev, VR_EVENT_RCVBUF, 0);
	if (!err)
		err = nl_socket_set_nonblocking(vr->ev);
	if (!err)
		err = nl_socket_add_membership(vr->ev, group);
	if (err) {
		nl_socket_free(vr->ev);
		vr->ev = NULL;
		return vr_errno_from_nl(err);
	}
	return 0;
}

VR_EXPORT int vfio_release_fd(const struct vfio_release *vr)
{
	return vr->ev ? nl_socket_get_fd(vr->ev) : -EBADF;
}

static int vr_any_seq(struct nl_msg *msg, void *data)
{
	(void)msg;
	(void)data;
	return NL_OK;
}

/* Notifications carry sequence number 0: only replies are checked. */
static struct nl_cb *vr_cb_new(struct vr_recv *recv, bool notifications)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, vr_on_valid, recv);
	nl_cb_err(cb, NL_CB_CUSTOM, vr_on_error, recv);
	if (notifications)
		nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, vr_any_seq, NULL);
	return cb;
}

/*
 * libnl reports a receive queue overflow (ENOBUFS) as NLE_NOMEM. Either
 * way notifications may be gone, and the answer is the same: re-read.
 */
static int vr_overflow(struct vr_recv *recv)
{
	struct vfio_release_event ev = {
		.type = VFIO_RELEASE_CMD_RESYNC,
		.local_overflow = true,
	};

	recv->count++;
	return recv->cb ? recv->cb(&ev, recv->arg) : 0;
}

VR_EXPORT int vfio_release_dispatch(struct vfio_release *vr,
				    vfio_release_event_cb cb, void *arg)
{
	struct vr_recv recv = { .cb = cb, .arg = arg };
	struct nl_cb *nlcb;
	int err;

	if (!vr->ev)
		return -EBADF;
	nlcb = vr_cb_new(&recv, true);
	if (!nlcb)
		return -ENOMEM;
	for (;;) {
		err = nl_recvmsgs(vr->ev, nlcb);
		if (recv.ret)
			break;
		if (err == -NLE_AGAIN)
			break;
		if (err == -NLE_NOMEM) {
			recv.ret = vr_overflow(&recv);
			if (recv.ret)
				break;
			continue;
		}
		if (err < 0) {
			recv.ret = vr_errno_from_nl(err);
			break;
		}
	}
	nl_cb_put(nlcb);
	return recv.ret ? recv.ret : recv.count;
}

static int vr_request(struct vfio_release *vr, const char *device, int flags,
		      struct vr_recv *recv)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nl_cb *nlcb;
	int err;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, vr->family, 0, flags,
			 VFIO_RELEASE_CMD_GET_DEVICE, VFIO_RELEASE_GENL_VERSION) ||
	    (device && nla_put_string(msg, VFIO_RELEASE_A_DEVICE, device))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nlcb = vr_cb_new(recv, false);
	if (!nlcb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = nl_send_auto(vr->req, msg);
	nlmsg_free(msg);
	if (err >= 0)
		err = nl_recvmsgs(vr->req, nlcb);
	nl_cb_put(nlcb);

	if (recv->kernel_err)
		return recv->kernel_err;
	if (recv->ret)
		return recv->ret;
	return err < 0 ? vr_errno_from_nl(err) : 0;
}

/*
 * The module answers -EAGAIN while it re-reads every device (after a lost
 * event, at load): ask again, for a bounded time. Nothing was delivered
 * before such an answer, so a dump starts over cleanly.
 */
#define VR_AGAIN_TRIES 10

static int vr_request_retry(struct vfio_release *vr, const char *device,
			    int flags, struct vr_recv *recv)
{
	struct vr_recv fresh = *recv;
	int err, tries = 0;

	do {
		*recv = fresh;
		err = vr_request(vr, device, flags, recv);
	} while (err == -EAGAIN && ++tries < VR_AGAIN_TRIES);
	return err;
}

static int vr_keep_record(const struct vfio_release_event *ev, void *arg)
{
	*(struct vfio_release_event *)arg = *ev;
	return 0;
}

VR_EXPORT int vfio_release_get(struct vfio_release *vr, const char *device,
			       struct vfio_release_event *out)
{
	struct vr_recv recv = { .cb = vr_keep_record, .arg = out };
	int err;

	err = vr_request_retry(vr, device, 0, &recv);
	if (!err && recv.count != 1)
		err = -EPROTO;
	return err;
}

VR_EXPORT int vfio_release_dump(struct vfio_release *vr,
				vfio_release_event_cb cb, void *arg)
{
	struct vr_recv recv = { .cb = cb, .arg = arg };
	int err;

	err = vr_request_retry(vr, NULL, NLM_F_DUMP, &recv);
	return err ? err : recv.count;
}
