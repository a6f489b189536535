// SPDX-License-Identifier: GPL-2.0
/*
 * The vfio_release generic netlink family: GET/dump requests and the
 * multicast notifications. uapi/linux/vfio_release.h documents the
 * messages.
 */

#include <linux/device.h>
#include <linux/pci.h>
#include <net/genetlink.h>

#include "netlink.h"
#include "queue.h"
#include "registry.h"

static const struct nla_policy vr_get_policy[VFIO_RELEASE_A_DEVICE + 1] = {
	[VFIO_RELEASE_A_DEVICE] = { .type = NLA_NUL_STRING,
				    .len = VFIO_RELEASE_DEVICE_NAME_MAX - 1 },
};

static struct genl_family vr_family;

static int vr_put_u64(struct sk_buff *skb, int attr, u64 value)
{
	return nla_put_u64_64bit(skb, attr, value, VFIO_RELEASE_A_PAD);
}

static int vr_fill_device(struct sk_buff *skb, const struct vr_device *vd)
{
	struct device *dev = vd->dev;

	if (nla_put_string(skb, VFIO_RELEASE_A_DEVICE, vd->name) ||
	    (dev->bus && nla_put_string(skb, VFIO_RELEASE_A_SUBSYSTEM,
					dev->bus->name)) ||
	    nla_put_string(skb, VFIO_RELEASE_A_DRIVER, vd->driver) ||
	    nla_put_u32(skb, VFIO_RELEASE_A_STATE, vd->state) ||
	    nla_put_u32(skb, VFIO_RELEASE_A_RESET, vd->reset) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_TIMESTAMP_NS, vd->timestamp_ns) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_SEQ, vd->seq) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_GENERATION, vd->generation) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_OPEN_COUNT, vd->opens) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_RELEASE_COUNT, vd->releases) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_FREE_COUNT, vd->frees))
		return -EMSGSIZE;
	if (vd->has_group &&
	    nla_put_u32(skb, VFIO_RELEASE_A_IOMMU_GROUP, vd->group))
		return -EMSGSIZE;
	if (dev_is_pci(dev) &&
	    (nla_put_u16(skb, VFIO_RELEASE_A_PCI_VENDOR,
			 to_pci_dev(dev)->vendor) ||
	     nla_put_u16(skb, VFIO_RELEASE_A_PCI_DEVICE,
			 to_pci_dev(dev)->device)))
		return -EMSGSIZE;
	if (vd->releases &&
	    (vr_put_u64(skb, VFIO_RELEASE_A_CLOSE_NS, vd->close_ns) ||
	     nla_put_u32(skb, VFIO_RELEASE_A_PID, vd->pid) ||
	     nla_put_string(skb, VFIO_RELEASE_A_COMM, vd->comm)))
		return -EMSGSIZE;
	return 0;
}

static int vr_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	const struct vr_device *vd;
	struct sk_buff *msg;
	const char *name;
	void *hdr;
	int ret;

	if (GENL_REQ_ATTR_CHECK(info, VFIO_RELEASE_A_DEVICE))
		return -EINVAL;
	name = nla_data(info->attrs[VFIO_RELEASE_A_DEVICE]);

	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &vr_family, 0,
				VFIO_RELEASE_CMD_GET_DEVICE);
	if (!hdr) {
		ret = -EMSGSIZE;
		goto err_free;
	}

	vr_queue_flush();
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
	ret = vr_fill_device(msg, vd);
	vr_registry_unlock();
	if (ret)
		goto err_free;

	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);

err_free:
	nlmsg_free(msg);
	return ret;
}

static int vr_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned long index = cb->args[0];
	const struct vr_device *vd;
	void *hdr;

	/* A dump sees every transition that happened before it started. */
	if (!index)
		vr_queue_flush();

	vr_registry_lock();
	while ((vd = vr_registry_nth(index))) {
		hdr = genlmsg_put(skb, NETLINK_CB(cb->skb).portid,
				  cb->nlh->nlmsg_seq, &vr_family, NLM_F_MULTI,
				  VFIO_RELEASE_CMD_GET_DEVICE);
		if (!hdr)
			break;
		if (vr_fill_device(skb, vd)) {
			genlmsg_cancel(skb, hdr);
			break;
		}
		genlmsg_end(skb, hdr);
		index++;
	}
	vr_registry_unlock();

	cb->args[0] = index;
	return skb->len;
}

static const struct genl_ops vr_ops[] = {
	{
		.cmd = VFIO_RELEASE_CMD_GET_DEVICE,
		.doit = vr_get_doit,
		.dumpit = vr_get_dumpit,
		.policy = vr_get_policy,
		.maxattr = ARRAY_SIZE(vr_get_policy) - 1,
	},
};

static const struct genl_multicast_group vr_mcgrps[] = {
	{ .name = VFIO_RELEASE_MCGRP_EVENTS },
};

static struct genl_family vr_family __ro_after_init = {
	.name = VFIO_RELEASE_GENL_NAME,
	.version = VFIO_RELEASE_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = vr_ops,
	.n_ops = ARRAY_SIZE(vr_ops),
	.mcgrps = vr_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vr_mcgrps),
	.resv_start_op = VFIO_RELEASE_CMD_MAX + 1,
	.parallel_ops = true,
};

static struct sk_buff *vr_event_new(enum vfio_release_cmd cmd, void **hdr)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);

	if (!msg)
		return NULL;
	*hdr = genlmsg_put(msg, 0, 0, &vr_family, 0, cmd);
	if (!*hdr) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* -ESRCH only means nobody listens: that is not a lost event. */
static int vr_event_send(struct sk_buff *msg, void *hdr)
{
	int ret;

	genlmsg_end(msg, hdr);
	ret = genlmsg_multicast(&vr_family, msg, 0, 0, GFP_KERNEL);
	return ret == -ESRCH ? 0 : ret;
}

static bool vr_listened(void)
{
	return genl_has_listeners(&vr_family, &init_net, 0);
}

int vr_notify_device(enum vfio_release_cmd cmd, const struct vr_device *vd)
{
	struct sk_buff *msg;
	void *hdr;

	if (!vr_listened())
		return 0;
	msg = vr_event_new(cmd, &hdr);
	if (!msg)
		return -ENOMEM;
	if (vr_fill_device(msg, vd)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vr_event_send(msg, hdr);
}

int vr_notify_group(enum vfio_release_cmd cmd, u32 group, u64 timestamp_ns,
		    u64 seq)
{
	struct sk_buff *msg;
	void *hdr;

	if (!vr_listened())
		return 0;
	msg = vr_event_new(cmd, &hdr);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, VFIO_RELEASE_A_IOMMU_GROUP, group) ||
	    vr_put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, timestamp_ns) ||
	    vr_put_u64(msg, VFIO_RELEASE_A_SEQ, seq)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vr_event_send(msg, hdr);
}

int vr_notify_resync(enum vfio_release_resync_reason reason, u64 lost,
		     u64 seq)
{
	struct sk_buff *msg;
	void *hdr;

	if (!vr_listened())
		return 0;
	msg = vr_event_new(VFIO_RELEASE_CMD_RESYNC, &hdr);
	if (!msg)
		return -ENOMEM;
	if (nla_put_u32(msg, VFIO_RELEASE_A_RESYNC_REASON, reason) ||
	    vr_put_u64(msg, VFIO_RELEASE_A_LOST, lost) ||
	    vr_put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, ktime_get_ns()) ||
	    vr_put_u64(msg, VFIO_RELEASE_A_SEQ, seq)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	return vr_event_send(msg, hdr);
}

int vr_netlink_init(void)
{
	return genl_register_family(&vr_family);
}

void vr_netlink_exit(void)
{
	genl_unregister_family(&vr_family);
}

/* Resolving the family by name loads the module. */
MODULE_ALIAS_GENL_FAMILY(VFIO_RELEASE_GENL_NAME);
