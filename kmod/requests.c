// SPDX-License-Identifier: GPL-2.0
/* Answers GET and dump requests from the registry. */

#include <net/genetlink.h>

#include "../uapi/linux/vfio_release.h"
#include "queue.h"
#include "record.h"
#include "registry.h"
#include "requests.h"

static const struct genl_family *vr_reply_family;

void vr_requests_init(const struct genl_family *family)
{
	vr_reply_family = family;
}

int vr_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct vr_device *vd;
	struct sk_buff *msg;
	const char *name;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VFIO_RELEASE_A_DEVICE))
		return -EINVAL;
	name = nla_data(info->attrs[VFIO_RELEASE_A_DEVICE]);

	ret = vr_queue_sync();
	if (ret)
		return ret;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, vr_reply_family, 0,
				VFIO_RELEASE_CMD_GET_DEVICE);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}

	vr_registry_lock();
	vd = vr_registry_find(name);
	if (!vd) {
		vr_registry_unlock();
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[VFIO_RELEASE_A_DEVICE],
				    "device is not driven by a vfio_pci_core driver");
		ret = -ENODEV;
		goto err_free;
	}
	ret = vr_put_device(msg, vd);
	vr_registry_unlock();
	if (ret)
		goto err_free;

	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return ret;
}

/*
 * Resumes after the last registration sent, so that devices added or
 * removed between two parts skip nothing else and repeat nothing; such a
 * change marks the dump interrupted (NLM_F_DUMP_INTR).
 */
int vr_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	u64 last = cb->args[0];
	const struct vr_device *vd;
	void *hdr;
	int ret;

	if (!cb->args[1]) {
		ret = vr_queue_sync();
		if (ret)
			return ret;
		cb->args[1] = 1;
	}

	vr_registry_lock();
	cb->seq = vr_registry_layout();
	for (vd = vr_registry_next(last); vd;
	     vd = vr_registry_next(vd->registration)) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, vr_reply_family, NLM_F_MULTI,
				  VFIO_RELEASE_CMD_GET_DEVICE);
		if (!hdr)
			break;
		genl_dump_check_consistent(cb, hdr);
		if (vr_put_device(skb, vd)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		last = vd->registration;
	}
	vr_registry_unlock();

	cb->args[0] = last;
	return skb->len;
}
