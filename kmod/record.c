// SPDX-License-Identifier: GPL-2.0
/* A device record in netlink attributes: replies and notifications alike. */

#include <linux/device.h>
#include <linux/pci.h>
#include <net/netlink.h>

#include "record.h"
#include "registry.h"

int vr_put_u64(struct sk_buff *skb, int attr, u64 value)
{
	return nla_put_u64_64bit(skb, attr, value, VFIO_RELEASE_A_PAD);
}

int vr_put_header(struct sk_buff *skb)
{
	return vr_put_u64(skb, VFIO_RELEASE_A_INSTANCE, vr_registry_instance());
}

static int vr_put_pci(struct sk_buff *skb, struct device *dev)
{
	if (!dev_is_pci(dev))
		return 0;
	if (nla_put_u16(skb, VFIO_RELEASE_A_PCI_VENDOR, to_pci_dev(dev)->vendor) ||
	    nla_put_u16(skb, VFIO_RELEASE_A_PCI_DEVICE, to_pci_dev(dev)->device))
		return -EMSGSIZE;
	return 0;
}

int vr_put_device(struct sk_buff *skb, const struct vr_device *vd)
{
	struct device *dev = vd->dev;

	if (vr_put_header(skb) ||
	    nla_put_string(skb, VFIO_RELEASE_A_DEVICE, vd->name) ||
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
	    vr_put_u64(skb, VFIO_RELEASE_A_FREE_COUNT, vd->frees) ||
	    vr_put_u64(skb, VFIO_RELEASE_A_REGISTRATION, vd->registration) ||
	    vr_put_pci(skb, dev))
		return -EMSGSIZE;
	if (vd->group &&
	    nla_put_u32(skb, VFIO_RELEASE_A_IOMMU_GROUP, vd->group->id))
		return -EMSGSIZE;
	if (vd->releases &&
	    (vr_put_u64(skb, VFIO_RELEASE_A_CLOSE_NS, vd->close_ns) ||
	     nla_put_u32(skb, VFIO_RELEASE_A_PID, vd->pid) ||
	     nla_put_string(skb, VFIO_RELEASE_A_COMM, vd->comm)))
		return -EMSGSIZE;
	if (vd->has_opener &&
	    (nla_put_u32(skb, VFIO_RELEASE_A_OPENER_PID, vd->opener_pid) ||
	     nla_put_string(skb, VFIO_RELEASE_A_OPENER_COMM, vd->opener_comm)))
		return -EMSGSIZE;
	return 0;
}
