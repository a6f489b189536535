// SPDX-License-Identifier: GPL-2.0
/* The multicast notifications of the events group. */

#include <net/genetlink.h>

#include "../uapi/linux/vfio_release.h"
#include "events.h"
#include "family.h"
#include "record.h"
#include "registry.h"

static int vr_put_transition(struct sk_buff *msg, const struct vr_transition *t)
{
	switch (t->cmd) {
	case VFIO_RELEASE_CMD_GROUP_CLAIMED:
	case VFIO_RELEASE_CMD_GROUP_RELEASED:
		if (vr_put_header(msg) ||
		    nla_put_u32(msg, VFIO_RELEASE_A_IOMMU_GROUP, t->group))
			return -EMSGSIZE;
		break;
	case VFIO_RELEASE_CMD_RESYNC:
		if (vr_put_header(msg) ||
		    nla_put_u32(msg, VFIO_RELEASE_A_RESYNC_REASON, t->reason) ||
		    vr_put_u64(msg, VFIO_RELEASE_A_LOST, t->lost))
			return -EMSGSIZE;
		break;
	default:
		/* A device record carries its own time and sequence. */
		return vr_put_device(msg, t->vd);
	}
	if (vr_put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, t->timestamp_ns) ||
	    vr_put_u64(msg, VFIO_RELEASE_A_SEQ, t->seq))
		return -EMSGSIZE;
	return 0;
}

int vr_events_send(const struct vr_transition *t)
{
	struct sk_buff *msg;
	void *hdr;
	int ret;

	if (!genl_has_listeners(&vr_family, &init_net, 0))
		return 0;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put(msg, 0, 0, &vr_family, 0, t->cmd);
	if (!hdr || vr_put_transition(msg, t)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	ret = genlmsg_multicast(&vr_family, msg, 0, 0, GFP_KERNEL);
	/* -ESRCH only means nobody listens: that is not a lost event. */
	return ret == -ESRCH ? 0 : ret;
}
