// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Requests: GET and dump. Every reply is matched to its request by
 * sequence number, and every request is read to its end (the ACK of a
 * GET, the DONE of a dump), so that nothing of one request is ever taken
 * for the answer to the next.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "handle.h"

struct vr_reply {
	struct vfio_release *vr;
	uint32_t seq;
	bool done;
	bool interrupted;	/* the kernel marked the dump NLM_F_DUMP_INTR */
	int kernel_err;		/* the request's NLMSG_ERROR, negative errno */
	int decode_err;		/* first record that could not be decoded */
	struct vfio_release_event **records;
	unsigned int count, size;
};

/* Anything not answering our request: an earlier one's leftovers, skipped. */
static int vr_check_seq(struct nl_msg *msg, void *data)
{
	struct vr_reply *reply = data;

	return nlmsg_hdr(msg)->nlmsg_seq == reply->seq ? NL_OK : NL_SKIP;
}

static int vr_keep(struct vr_reply *reply, struct vfio_release_event *ev)
{
	if (reply->count == reply->size) {
		unsigned int size = reply->size ? reply->size * 2 : 8;
		void *p = realloc(reply->records, size * sizeof(*reply->records));

		if (!p)
			return -ENOMEM;
		reply->records = p;
		reply->size = size;
	}
	reply->records[reply->count++] = ev;
	return 0;
}

static int vr_on_record(struct nl_msg *msg, void *data)
{
	struct vr_reply *reply = data;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct vfio_release_event *ev;
	int err;

	if (hdr->nlmsg_type != reply->vr->family)
		return NL_SKIP;
	err = vr_event_decode(hdr, &ev);
	if (!err) {
		err = vr_keep(reply, ev);
		if (err)
			vfio_release_event_unref(ev);
	}
	/* Keep reading to the end either way: only the outcome changes. */
	if (err && !reply->decode_err)
		reply->decode_err = err;
	return NL_OK;
}

static int vr_on_interrupted(struct nl_msg *msg, void *data)
{
	struct vr_reply *reply = data;

	(void)msg;
	reply->interrupted = true;
	return NL_OK;
}

/*
 * The kernel's NLMSGERR_ATTR_MSG, when it sent one: the TLVs follow the
 * error's own payload (offset bytes of it) in an error or a dump's end.
 */
static void vr_keep_extack(struct vfio_release *vr, const struct nlmsghdr *hdr,
			   size_t offset)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int len;

	if (!(hdr->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	len = (int)hdr->nlmsg_len - NLMSG_HDRLEN - (int)offset;
	if (len <= 0)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX,
		      (struct nlattr *)((char *)nlmsg_data(hdr) + offset), len, NULL) ||
	    !tb[NLMSGERR_ATTR_MSG])
		return;
	if (!memchr(nla_data(tb[NLMSGERR_ATTR_MSG]), '\0', nla_len(tb[NLMSGERR_ATTR_MSG])))
		return;
	snprintf(vr->errmsg, sizeof(vr->errmsg), "%s",
		 (const char *)nla_data(tb[NLMSGERR_ATTR_MSG]));
}

static int vr_on_error(struct sockaddr_nl *nla, struct nlmsgerr *err, void *data)
{
	/* Errors are matched by sequence number too (vr_check_seq ran first). */
	struct vr_reply *reply = data;
	const struct nlmsghdr *hdr = (const void *)((const char *)err - NLMSG_HDRLEN);
	size_t offset = sizeof(*err);

	/* Uncapped, the request itself is echoed before the TLVs. */
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		offset += NLMSG_ALIGN(err->msg.nlmsg_len) - NLMSG_HDRLEN;
	(void)nla;
	reply->kernel_err = err->error < 0 ? err->error : -EPROTO;
	vr_keep_extack(reply->vr, hdr, offset);
	reply->done = true;
	return NL_STOP;
}

/*
 * A dump ends in NLMSG_DONE, whose payload is the dump's outcome: an
 * error there (the module's -EAGAIN) is the request's error, which libnl
 * would otherwise take for an empty dump.
 */
static int vr_on_end(struct nl_msg *msg, void *data)
{
	struct vr_reply *reply = data;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	int error;

	reply->done = true;
	if (hdr->nlmsg_type == NLMSG_DONE && nlmsg_datalen(hdr) >= (int)sizeof(error)) {
		memcpy(&error, nlmsg_data(hdr), sizeof(error));
		if (error < 0) {
			reply->kernel_err = error;
			vr_keep_extack(reply->vr, hdr, sizeof(error));
		}
	}
	return NL_STOP;
}

static void vr_reply_clear(struct vr_reply *reply)
{
	unsigned int i;

	for (i = 0; i < reply->count; i++)
		vfio_release_event_unref(reply->records[i]);
	free(reply->records);
	memset(reply, 0, sizeof(*reply));
}

static int vr_send(struct vfio_release *vr, const char *device, int flags,
		   uint32_t *seq)
{
	struct nl_msg *msg = nlmsg_alloc();
	int err;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, vr->family, 0,
			 NLM_F_REQUEST | flags, VFIO_RELEASE_CMD_GET_DEVICE,
			 VFIO_RELEASE_GENL_VERSION) ||
	    (device && nla_put_string(msg, VFIO_RELEASE_A_DEVICE, device))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	errno = 0;
	err = nl_send_auto(vr->req, msg);
	*seq = nlmsg_hdr(msg)->nlmsg_seq;
	nlmsg_free(msg);
	return err < 0 ? vr_errno_from_nl(err) : 0;
}

/* One request, read to its end; the records are the caller's. */
static int vr_request_once(struct vfio_release *vr, const char *device,
			   int flags, struct vr_reply *reply)
{
	struct nl_cb *cb;
	int err;

	reply->vr = vr;
	if (vr->family < 0)
		return -ENOPKG;
	err = vr_send(vr, device, flags, &reply->seq);
	if (err)
		return err;
	cb = vr_cb_new(vr);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, vr_check_seq, reply);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, vr_on_record, reply);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, vr_on_end, reply);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, vr_on_end, reply);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, vr_on_interrupted, reply);
	nl_cb_err(cb, NL_CB_CUSTOM, vr_on_error, reply);
	while (!reply->done) {
		errno = 0;
		err = nl_recvmsgs(vr->req, cb);
		/* An error reply also ends libnl's loop with an error. */
		if (reply->done) {
			err = 0;
			break;
		}
		if (err < 0) {
			/* SO_RCVTIMEO ran out: the kernel did not answer. */
			err = err == -NLE_AGAIN ? -ETIMEDOUT : vr_errno_from_nl(err);
			break;
		}
		err = 0;
	}
	nl_cb_put(cb);
	if (err)
		return err;
	if (reply->kernel_err)
		return reply->kernel_err;
	return reply->decode_err;
}

/*
 * -EAGAIN: the module is re-reading its devices. -ENOENT: the family id is
 * not known any more, the module was reloaded: resolve it again. A dump
 * the kernel marked interrupted may have missed or repeated a device.
 * Each is asked again, a bounded number of times.
 */
static int vr_request(struct vfio_release *vr, const char *device, int flags,
		      struct vr_reply *reply)
{
	int err, tries = 0;

	for (;;) {
		vr_reply_clear(reply);
		vr->errmsg[0] = '\0';
		err = vr_request_once(vr, device, flags, reply);
		if (!err && reply->interrupted)
			err = -EINTR;
		if (++tries >= VFIO_RELEASE_REQUEST_TRIES)
			break;
		if (err == -ENOENT || err == -ENOPKG) {
			/*
			 * Also when the controller's notice of the load was
			 * lost: events must flow again, not only replies.
			 */
			if (vr->io || vr_follow_family(vr))
				break;
			continue;
		}
		if (err != -EAGAIN && err != -EINTR)
			break;
	}
	if (err == -ENOENT)
		err = -ENOPKG;
	return err;
}

VR_EXPORT int vfio_release_get(struct vfio_release *vr, const char *device,
			       struct vfio_release_event **out)
{
	struct vr_reply reply = { 0 };
	int err;

	if (!vr || !device || !out)
		return -EINVAL;
	err = vr_request(vr, device, NLM_F_ACK, &reply);
	if (!err && (reply.count != 1 ||
		     strcmp(vfio_release_event_get_device(reply.records[0]), device)))
		err = -EPROTO;
	if (!err) {
		*out = reply.records[0];
		reply.count = 0;
	}
	vr_reply_clear(&reply);
	return err;
}

VR_EXPORT int vfio_release_dump(struct vfio_release *vr,
				vfio_release_event_cb cb, void *arg)
{
	struct vr_reply reply = { 0 };
	unsigned int i;
	int err;

	if (!vr)
		return -EINVAL;
	err = vr_request(vr, NULL, NLM_F_DUMP, &reply);
	for (i = 0; !err && cb && i < reply.count; i++)
		err = cb(reply.records[i], arg);
	/* Callbacks return 0 or a negative errno; anything else is a bug. */
	if (err > 0)
		err = -EINVAL;
	if (!err)
		err = reply.count;
	vr_reply_clear(&reply);
	return err;
}
