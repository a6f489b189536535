// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The event socket: the module's notifications, and the generic netlink
 * controller's, which tell when the module's family goes away and comes
 * back. On its return the socket joins the new events group by itself.
 */

#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "family.h"
#include "handle.h"

#define VR_EVENT_RCVBUF (1 << 20)
#define VR_EVENT_MSG_BUF 32768
/* Events one dispatch delivers at most: the caller's loop gets its turn. */
#define VR_DISPATCH_BATCH 1024

struct vr_dispatch {
	struct vfio_release *vr;
	vfio_release_event_cb cb;
	void *arg;
	int ret;		/* the first error, from cb or from decoding */
	int count;
};

static int vr_event_socket(struct vfio_release *vr, int ctrl_group, struct nl_sock **out)
{
	struct nl_sock *sk;
	int err = vr_socket(vr, &sk);

	if (err)
		return err;
	/*
	 * Notifications fit in a page: read each once, into a buffer that
	 * holds it, instead of peeking at its size first.
	 */
	nl_socket_disable_msg_peek(sk);
	errno = 0;
	err = nl_socket_set_msg_buf_size(sk, VR_EVENT_MSG_BUF);
	if (!err && !vr->io)
		err = nl_socket_set_buffer_size(sk, VR_EVENT_RCVBUF, 0);
	if (!err && !vr->io)
		err = nl_socket_set_nonblocking(sk);
	if (!err && !vr->io)
		err = nl_socket_add_membership(sk, ctrl_group);
	if (err) {
		nl_socket_free(sk);
		return vr_errno_from_nl(err);
	}
	*out = sk;
	return 0;
}

VR_EXPORT int vfio_release_subscribe(struct vfio_release *vr)
{
	int ctrl, err;

	if (!vr)
		return -EINVAL;
	if (vr->ev)
		return 0;
	if (vr->family < 0)
		return -ENOPKG;
	err = vr_controller_group(vr, &ctrl);
	if (!err)
		err = vr_event_socket(vr, ctrl, &vr->ev);
	/*
	 * Looked up again now that the controller's notices are joined: a
	 * reload since the handle was opened would otherwise go unseen.
	 */
	if (!err)
		err = vr_family_follow(vr);
	if (err && vr->ev) {
		nl_socket_free(vr->ev);
		vr->ev = NULL;
	}
	return err;
}

VR_EXPORT int vfio_release_fd(const struct vfio_release *vr)
{
	return vr && vr->ev ? nl_socket_get_fd(vr->ev) : -EBADF;
}

/* Feeds the waits, then the caller; the first error stops the dispatch. */
static int vr_deliver(struct vr_dispatch *d, struct vfio_release_event *ev)
{
	int ret = 0;

	vr_waits_feed(d->vr, ev);
	d->count++;
	if (d->cb)
		ret = d->cb(ev, d->arg);
	vfio_release_event_unref(ev);
	if (ret > 0)
		ret = -EINVAL;
	if (ret && !d->ret)
		d->ret = ret;
	return ret;
}

static int vr_notice(struct vr_dispatch *d, enum vfio_release_cmd type,
		     enum vfio_release_notice notice)
{
	struct vfio_release_event *ev = vr_event_notice(type, notice);

	if (!ev) {
		d->ret = -ENOMEM;
		return -ENOMEM;
	}
	return vr_deliver(d, ev);
}

/*
 * The controller announces every family; only ours matters. Its removal
 * takes the events group with it; its return, whose notice names the new
 * id and groups, is joined here and announced as a resync: what happened
 * before the join is unknown.
 */
static int vr_on_controller(struct vr_dispatch *d, struct nlmsghdr *hdr)
{
	struct vfio_release *vr = d->vr;
	struct genlmsghdr *gnlh = nlmsg_data(hdr);
	int id, group, err;

	if (gnlh->cmd != CTRL_CMD_NEWFAMILY && gnlh->cmd != CTRL_CMD_DELFAMILY)
		return 0;
	if (!vr_family_parse(hdr, VFIO_RELEASE_GENL_NAME, VFIO_RELEASE_MCGRP_EVENTS,
			     &id, &group))
		return 0;
	if (gnlh->cmd == CTRL_CMD_DELFAMILY) {
		vr->family = -1;
		vr->family_group = 0;
		vr->events_group = 0;
		return vr_notice(d, VFIO_RELEASE_CMD_UNSPEC,
				 VFIO_RELEASE_NOTICE_MODULE_UNLOADED);
	}
	vr->family = id;
	vr->family_group = group;
	err = vr_family_join(vr);
	if (err) {
		d->ret = err;
		return err;
	}
	return vr_notice(d, VFIO_RELEASE_CMD_RESYNC, VFIO_RELEASE_NOTICE_MODULE_LOADED);
}

/* Notifications carry sequence number 0: nothing to match. */
static int vr_any_seq(struct nl_msg *msg, void *data)
{
	(void)msg;
	(void)data;
	return NL_OK;
}

static int vr_on_message(struct nl_msg *msg, void *data)
{
	struct vr_dispatch *d = data;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct vfio_release_event *ev;
	int err = 0;

	/* Only the kernel speaks on this socket. */
	if (nlmsg_get_src(msg)->nl_pid != 0)
		return NL_SKIP;
	if (hdr->nlmsg_type == GENL_ID_CTRL)
		err = vr_on_controller(d, hdr);
	else if (d->vr->family >= 0 && hdr->nlmsg_type == d->vr->family &&
		 !vr_event_decode(hdr, &ev))
		err = vr_deliver(d, ev);
	/* Otherwise not ours, from a module already gone, or malformed. */
	return err ? NL_STOP : NL_OK;
}

/*
 * The socket overflowed: what was lost is unknown, so the overflow is
 * announced first (every wait goes stale), whatever follows. The
 * controller's notices may be among it: the family is looked up again
 * (never by name) and its group joined again; a module found gone gets
 * the unload notice that was lost.
 */
static void vr_on_overflow(struct vr_dispatch *d)
{
	bool was_loaded = d->vr->family >= 0;
	int err;

	if (vr_notice(d, VFIO_RELEASE_CMD_RESYNC, VFIO_RELEASE_NOTICE_OVERFLOW))
		return;
	err = vr_family_follow(d->vr);
	if (err == -ENOPKG && was_loaded)
		vr_notice(d, VFIO_RELEASE_CMD_UNSPEC, VFIO_RELEASE_NOTICE_MODULE_UNLOADED);
	else if (err && err != -ENOPKG && !d->ret)
		d->ret = err;
}

VR_EXPORT int vfio_release_dispatch(struct vfio_release *vr,
				    vfio_release_event_cb cb, void *arg)
{
	struct vr_dispatch d = { .vr = vr, .cb = cb, .arg = arg };
	struct nl_cb *nlcb;
	int err;

	if (!vr || !vr->ev)
		return -EBADF;
	nlcb = vr_cb_new(vr);
	if (!nlcb)
		return -ENOMEM;
	nl_cb_set(nlcb, NL_CB_VALID, NL_CB_CUSTOM, vr_on_message, &d);
	nl_cb_set(nlcb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, vr_any_seq, NULL);
	while (!d.ret && d.count < VR_DISPATCH_BATCH) {
		errno = 0;
		err = nl_recvmsgs(vr->ev, nlcb);
		if (d.ret || err == -NLE_AGAIN)
			break;
		/* libnl reports a receive queue overflow (ENOBUFS) as NLE_NOMEM. */
		if (err == -NLE_NOMEM) {
			vr_on_overflow(&d);
			continue;
		}
		if (err < 0) {
			d.ret = vr_errno_from_nl(err);
			break;
		}
	}
	nl_cb_put(nlcb);
	return d.ret ? d.ret : d.count;
}
