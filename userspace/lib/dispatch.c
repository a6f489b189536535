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
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "handle.h"

#define VR_EVENT_RCVBUF (1 << 20)
#define VR_EVENT_MSG_BUF 32768

struct vr_dispatch {
	struct vfio_release *vr;
	vfio_release_event_cb cb;
	void *arg;
	int ret;		/* the first error, from cb or from decoding */
	int count;
};

VR_EXPORT int vfio_release_subscribe(struct vfio_release *vr)
{
	struct nl_sock *sk;
	int ctrl, err;

	if (!vr)
		return -EINVAL;
	if (vr->ev)
		return 0;
	if (vr->family < 0)
		return -ENOPKG;
	errno = 0;
	ctrl = genl_ctrl_resolve_grp(vr->req, "nlctrl", "notify");
	if (ctrl < 0)
		return vr_errno_from_nl(ctrl);
	sk = vr->io ? nl_socket_alloc_cb(vr->io) : nl_socket_alloc();
	if (!sk)
		return -ENOMEM;
	errno = 0;
	err = vr->io ? 0 : genl_connect(sk);
	/*
	 * Notifications fit in a page: read each once, into a buffer that
	 * holds it, instead of peeking at its size first.
	 */
	nl_socket_disable_msg_peek(sk);
	if (!err)
		err = nl_socket_set_msg_buf_size(sk, VR_EVENT_MSG_BUF);
	if (!err && !vr->io)
		err = nl_socket_set_buffer_size(sk, VR_EVENT_RCVBUF, 0);
	if (!err && !vr->io)
		err = nl_socket_set_nonblocking(sk);
	if (!err && !vr->io)
		err = nl_socket_add_membership(sk, ctrl);
	if (err) {
		nl_socket_free(sk);
		return vr_errno_from_nl(err);
	}
	vr->ev = sk;
	err = vr_join_events(vr);
	if (err) {
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
 * takes the events group with it; its return gets a new one, joined here,
 * then announced as a resync: what happened before the join is unknown.
 */
static int vr_on_controller(struct vr_dispatch *d, struct nlmsghdr *hdr)
{
	struct vfio_release *vr = d->vr;
	struct genlmsghdr *gnlh = nlmsg_data(hdr);
	struct nlattr *tb[CTRL_ATTR_MAX + 1];
	const char *name;
	int err;

	if (gnlh->cmd != CTRL_CMD_NEWFAMILY && gnlh->cmd != CTRL_CMD_DELFAMILY)
		return 0;
	if (genlmsg_parse(hdr, 0, tb, CTRL_ATTR_MAX, NULL) < 0 ||
	    !tb[CTRL_ATTR_FAMILY_NAME])
		return 0;
	name = nla_data(tb[CTRL_ATTR_FAMILY_NAME]);
	if (strncmp(name, VFIO_RELEASE_GENL_NAME, nla_len(tb[CTRL_ATTR_FAMILY_NAME])))
		return 0;
	if (gnlh->cmd == CTRL_CMD_DELFAMILY) {
		vr->family = -1;
		vr->events_group = 0;
		return vr_notice(d, VFIO_RELEASE_CMD_UNSPEC,
				 VFIO_RELEASE_NOTICE_MODULE_UNLOADED);
	}
	err = vr_follow_family(vr);
	if (err) {
		/* Unloaded again already: its DELFAMILY follows. */
		if (err == -ENOPKG)
			return 0;
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
	int err;

	if (hdr->nlmsg_type == GENL_ID_CTRL)
		err = vr_on_controller(d, hdr);
	else if (d->vr->family >= 0 && hdr->nlmsg_type == d->vr->family &&
		 !vr_event_decode(hdr, &ev))
		err = vr_deliver(d, ev);
	else
		/* Not ours, or from a module already gone, or malformed. */
		err = 0;
	return err ? NL_STOP : NL_OK;
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
	while (!d.ret) {
		errno = 0;
		err = nl_recvmsgs(vr->ev, nlcb);
		if (d.ret || err == -NLE_AGAIN)
			break;
		/*
		 * libnl reports a receive queue overflow (ENOBUFS) as
		 * NLE_NOMEM: notifications are gone, re-read.
		 */
		if (err == -NLE_NOMEM) {
			vr_notice(&d, VFIO_RELEASE_CMD_RESYNC, VFIO_RELEASE_NOTICE_OVERFLOW);
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
