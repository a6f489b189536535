// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * One request on the request socket, read to its end. Every reply is
 * matched to the request by sequence number and the request ends only at
 * its own ACK, DONE or error, so that nothing of one request (an earlier
 * one given up on, say) is ever taken for the answer to the next.
 */

#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/msg.h>

#include "transact.h"

struct vr_exchange {
	struct vfio_release *vr;
	struct vr_transact *t;
	uint32_t seq;
	bool done;
};

/* Anything not answering our request: an earlier one's leftovers, skipped. */
static int vr_check_seq(struct nl_msg *msg, void *data)
{
	struct vr_exchange *x = data;

	return nlmsg_hdr(msg)->nlmsg_seq == x->seq ? NL_OK : NL_SKIP;
}

static int vr_on_valid(struct nl_msg *msg, void *data)
{
	struct vr_exchange *x = data;
	int err = x->t->on_message(nlmsg_hdr(msg), x->t->arg);

	/* Keep reading to the end either way: only the outcome changes. */
	if (err && !x->t->message_err)
		x->t->message_err = err;
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
	struct vr_exchange *x = data;
	const struct nlmsghdr *hdr = (const void *)((const char *)err - NLMSG_HDRLEN);
	size_t offset = sizeof(*err);

	(void)nla;
	/* Uncapped, the request itself is echoed before the TLVs. */
	if (!(hdr->nlmsg_flags & NLM_F_CAPPED))
		offset += NLMSG_ALIGN(err->msg.nlmsg_len) - NLMSG_HDRLEN;
	x->t->kernel_err = err->error < 0 ? err->error : -EPROTO;
	vr_keep_extack(x->vr, hdr, offset);
	x->done = true;
	return NL_STOP;
}

/*
 * A dump ends in NLMSG_DONE, whose payload is the dump's outcome: an
 * error there (the module's -EAGAIN) is the request's error, which libnl
 * would otherwise take for an empty dump.
 */
static int vr_on_end(struct nl_msg *msg, void *data)
{
	struct vr_exchange *x = data;
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	int error;

	x->done = true;
	if (hdr->nlmsg_type == NLMSG_DONE && nlmsg_datalen(hdr) >= (int)sizeof(error)) {
		memcpy(&error, nlmsg_data(hdr), sizeof(error));
		if (error < 0) {
			x->t->kernel_err = error;
			vr_keep_extack(x->vr, hdr, sizeof(error));
		}
	}
	return NL_STOP;
}

static int vr_on_interrupted(struct nl_msg *msg, void *data)
{
	struct vr_exchange *x = data;

	(void)msg;
	x->t->interrupted = true;
	return NL_OK;
}

int vr_transact(struct vfio_release *vr, struct nl_msg *msg, struct vr_transact *t)
{
	struct vr_exchange x = { .vr = vr, .t = t };
	struct nl_cb *cb;
	int err;

	t->kernel_err = 0;
	t->message_err = 0;
	t->interrupted = false;
	vr->errmsg[0] = '\0';
	errno = 0;
	err = nl_send_auto(vr->req, msg);
	if (err < 0)
		return vr_errno_from_nl(err);
	x.seq = nlmsg_hdr(msg)->nlmsg_seq;
	cb = vr_cb_new(vr);
	if (!cb)
		return -ENOMEM;
	nl_cb_set(cb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, vr_check_seq, &x);
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, vr_on_valid, &x);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, vr_on_end, &x);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, vr_on_end, &x);
	nl_cb_set(cb, NL_CB_DUMP_INTR, NL_CB_CUSTOM, vr_on_interrupted, &x);
	nl_cb_err(cb, NL_CB_CUSTOM, vr_on_error, &x);
	err = 0;
	while (!x.done) {
		errno = 0;
		err = nl_recvmsgs(vr->req, cb);
		/* An error reply also ends libnl's loop with an error. */
		if (x.done) {
			err = 0;
			break;
		}
		if (err < 0) {
			/* SO_RCVTIMEO ran out: the kernel did not answer. */
			err = err == -NLE_AGAIN ? -ETIME : vr_errno_from_nl(err);
			break;
		}
	}
	nl_cb_put(cb);
	if (err)
		return err;
	return t->kernel_err ? t->kernel_err : t->message_err;
}
