// SPDX-License-Identifier: LGPL-2.1-or-later
/* Generic netlink messages of the vfio_release family into events. */

#include <errno.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "internal.h"

static struct nla_policy vr_policy[VFIO_RELEASE_A_MAX + 1] = {
	[VFIO_RELEASE_A_DEVICE] = { .type = NLA_NUL_STRING },
	[VFIO_RELEASE_A_SUBSYSTEM] = { .type = NLA_NUL_STRING },
	[VFIO_RELEASE_A_PCI_VENDOR] = { .type = NLA_U16 },
	[VFIO_RELEASE_A_PCI_DEVICE] = { .type = NLA_U16 },
	[VFIO_RELEASE_A_IOMMU_GROUP] = { .type = NLA_U32 },
	[VFIO_RELEASE_A_DRIVER] = { .type = NLA_NUL_STRING },
	[VFIO_RELEASE_A_STATE] = { .type = NLA_U32 },
	[VFIO_RELEASE_A_RESET] = { .type = NLA_U32 },
	[VFIO_RELEASE_A_CLOSE_NS] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_TIMESTAMP_NS] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_SEQ] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_GENERATION] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_PID] = { .type = NLA_U32 },
	[VFIO_RELEASE_A_COMM] = { .type = NLA_NUL_STRING },
	[VFIO_RELEASE_A_OPEN_COUNT] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_RELEASE_COUNT] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_FREE_COUNT] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_RESYNC_REASON] = { .type = NLA_U32 },
	[VFIO_RELEASE_A_LOST] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_INSTANCE] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_REGISTRATION] = { .type = NLA_U64 },
	[VFIO_RELEASE_A_OPENER_PID] = { .type = NLA_U32 },
	[VFIO_RELEASE_A_OPENER_COMM] = { .type = NLA_NUL_STRING },
};

static void vr_copy_string(char *dst, size_t size, const struct nlattr *attr)
{
	if (attr) {
		strncpy(dst, nla_get_string((struct nlattr *)attr), size - 1);
		dst[size - 1] = '\0';
	}
}

static uint64_t vr_u64(struct nlattr *attr)
{
	return attr ? nla_get_u64(attr) : 0;
}

static uint32_t vr_u32(struct nlattr *attr)
{
	return attr ? nla_get_u32(attr) : 0;
}

/* Attributes beyond VFIO_RELEASE_A_MAX come from a newer module: ignored. */
int vr_decode(struct nl_msg *msg, struct vfio_release_event *ev)
{
	struct nlattr *a[VFIO_RELEASE_A_MAX + 1];
	struct genlmsghdr *gnlh = nlmsg_data(nlmsg_hdr(msg));
	int err;

	memset(ev, 0, sizeof(*ev));
	err = genlmsg_parse(nlmsg_hdr(msg), 0, a, VFIO_RELEASE_A_MAX, vr_policy);
	if (err < 0)
		return vr_errno_from_nl(err);

	ev->type = gnlh->cmd;
	vr_copy_string(ev->device, sizeof(ev->device), a[VFIO_RELEASE_A_DEVICE]);
	vr_copy_string(ev->subsystem, sizeof(ev->subsystem),
		       a[VFIO_RELEASE_A_SUBSYSTEM]);
	vr_copy_string(ev->driver, sizeof(ev->driver), a[VFIO_RELEASE_A_DRIVER]);
	vr_copy_string(ev->comm, sizeof(ev->comm), a[VFIO_RELEASE_A_COMM]);
	ev->has_group = a[VFIO_RELEASE_A_IOMMU_GROUP] != NULL;
	ev->iommu_group = vr_u32(a[VFIO_RELEASE_A_IOMMU_GROUP]);
	ev->has_pci_id = a[VFIO_RELEASE_A_PCI_VENDOR] && a[VFIO_RELEASE_A_PCI_DEVICE];
	if (ev->has_pci_id) {
		ev->pci_vendor = nla_get_u16(a[VFIO_RELEASE_A_PCI_VENDOR]);
		ev->pci_device = nla_get_u16(a[VFIO_RELEASE_A_PCI_DEVICE]);
	}
	ev->state = vr_u32(a[VFIO_RELEASE_A_STATE]);
	ev->reset = vr_u32(a[VFIO_RELEASE_A_RESET]);
	ev->has_close = a[VFIO_RELEASE_A_CLOSE_NS] != NULL;
	ev->close_ns = vr_u64(a[VFIO_RELEASE_A_CLOSE_NS]);
	ev->pid = vr_u32(a[VFIO_RELEASE_A_PID]);
	ev->timestamp_ns = vr_u64(a[VFIO_RELEASE_A_TIMESTAMP_NS]);
	ev->seq = vr_u64(a[VFIO_RELEASE_A_SEQ]);
	ev->generation = vr_u64(a[VFIO_RELEASE_A_GENERATION]);
	ev->open_count = vr_u64(a[VFIO_RELEASE_A_OPEN_COUNT]);
	ev->release_count = vr_u64(a[VFIO_RELEASE_A_RELEASE_COUNT]);
	ev->free_count = vr_u64(a[VFIO_RELEASE_A_FREE_COUNT]);
	ev->resync_reason = vr_u32(a[VFIO_RELEASE_A_RESYNC_REASON]);
	ev->lost = vr_u64(a[VFIO_RELEASE_A_LOST]);
	ev->instance = vr_u64(a[VFIO_RELEASE_A_INSTANCE]);
	ev->registration = vr_u64(a[VFIO_RELEASE_A_REGISTRATION]);
	ev->has_opener = a[VFIO_RELEASE_A_OPENER_PID] != NULL;
	ev->opener_pid = vr_u32(a[VFIO_RELEASE_A_OPENER_PID]);
	vr_copy_string(ev->opener_comm, sizeof(ev->opener_comm),
		       a[VFIO_RELEASE_A_OPENER_COMM]);
	return 0;
}
