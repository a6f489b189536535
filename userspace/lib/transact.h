/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_TRANSACT_H
#define VFIO_RELEASE_TRANSACT_H

#include <netlink/msg.h>

#include "handle.h"

struct vr_transact {
	/* Each reply message of the request; 0 or a negative errno. */
	int (*on_message)(struct nlmsghdr *hdr, void *arg);
	void *arg;
	/* Filled in: */
	int kernel_err;		/* the request's NLMSG_ERROR or DONE error */
	int message_err;	/* the first error on_message returned */
	bool interrupted;	/* the kernel marked the dump NLM_F_DUMP_INTR */
};

/*
 * Sends msg (sequence number and port filled in) on the request socket and
 * reads every reply to its end. Returns 0, the kernel's error, the first
 * error of on_message, -ETIME when the kernel did not answer, or another
 * negative errno. The kernel's extended-ack message lands in vr->errmsg.
 */
int vr_transact(struct vfio_release *vr, struct nl_msg *msg, struct vr_transact *t);

#endif
