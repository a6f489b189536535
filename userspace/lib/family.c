// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Finding the module's family and following it across unload and load,
 * through the generic netlink controller.
 *
 * Asking the controller for a family by name makes the kernel load the
 * module that provides it. That is wanted once, when a handle is opened,
 * and never afterwards: a handle that asked again after an rmmod would
 * load the module straight back. Later lookups read the controller's dump
 * of all families instead, which loads nothing.
 */

#include <errno.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "family.h"
#include "transact.h"

/* A family as the controller describes it. */
struct vr_family_info {
	const char *name;	/* the family looked for */
	const char *group;	/* and its multicast group */
	bool found;
	int id;
	int group_id;		/* 0 when it has no such group */
};

static bool vr_attr_is(const struct nlattr *a, const char *s)
{
	size_t len = strlen(s) + 1;

	return a && nla_len(a) == (int)len && !memcmp(nla_data(a), s, len);
}

int vr_family_parse(const struct nlmsghdr *hdr, const char *name, const char *group,
		    int *id, int *group_id)
{
	struct nlattr *tb[CTRL_ATTR_MAX + 1], *g;
	int rem;

	if (genlmsg_parse((struct nlmsghdr *)hdr, 0, tb, CTRL_ATTR_MAX, NULL) < 0 ||
	    !vr_attr_is(tb[CTRL_ATTR_FAMILY_NAME], name) || !tb[CTRL_ATTR_FAMILY_ID] ||
	    nla_len(tb[CTRL_ATTR_FAMILY_ID]) != sizeof(uint16_t))
		return 0;
	*id = nla_get_u16(tb[CTRL_ATTR_FAMILY_ID]);
	*group_id = 0;
	if (!tb[CTRL_ATTR_MCAST_GROUPS])
		return 1;
	nla_for_each_nested(g, tb[CTRL_ATTR_MCAST_GROUPS], rem) {
		struct nlattr *gb[CTRL_ATTR_MCAST_GRP_MAX + 1];

		if (nla_parse_nested(gb, CTRL_ATTR_MCAST_GRP_MAX, g, NULL) < 0 ||
		    !vr_attr_is(gb[CTRL_ATTR_MCAST_GRP_NAME], group) ||
		    !gb[CTRL_ATTR_MCAST_GRP_ID] ||
		    nla_len(gb[CTRL_ATTR_MCAST_GRP_ID]) != sizeof(uint32_t))
			continue;
		*group_id = nla_get_u32(gb[CTRL_ATTR_MCAST_GRP_ID]);
	}
	return 1;
}

static int vr_on_family(struct nlmsghdr *hdr, void *arg)
{
	struct vr_family_info *info = arg;

	if (hdr->nlmsg_type == GENL_ID_CTRL &&
	    vr_family_parse(hdr, info->name, info->group, &info->id, &info->group_id))
		info->found = true;
	return 0;
}

/* The controller's answer; -ENOPKG when the family is not registered. */
static int vr_lookup(struct vfio_release *vr, struct vr_family_info *info, bool by_name)
{
	struct vr_transact t = { .on_message = vr_on_family, .arg = info };
	struct nl_msg *msg = nlmsg_alloc();
	int err;

	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, GENL_ID_CTRL, 0,
			 by_name ? NLM_F_REQUEST | NLM_F_ACK : NLM_F_REQUEST | NLM_F_DUMP,
			 CTRL_CMD_GETFAMILY, 1) ||
	    (by_name && nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, info->name))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = vr_transact(vr, msg, &t);
	nlmsg_free(msg);
	/* By name, the controller answers an unknown family with -ENOENT. */
	if (err == -ENOENT || (!err && !info->found))
		return -ENOPKG;
	return err;
}

int vr_family_lookup(struct vfio_release *vr, bool autoload)
{
	struct vr_family_info info = {
		.name = VFIO_RELEASE_GENL_NAME, .group = VFIO_RELEASE_MCGRP_EVENTS,
	};
	int err = vr_lookup(vr, &info, autoload);

	/*
	 * The controller's dump resumes by position: a family that went away
	 * between two of its parts can make ours look absent. Look twice.
	 */
	if (err == -ENOPKG && !autoload)
		err = vr_lookup(vr, &info, false);

	if (err == -ENOPKG)
		vr->family = -1;
	if (err)
		return err;
	vr->family = info.id;
	vr->family_group = info.group_id;
	return 0;
}

int vr_controller_group(struct vfio_release *vr, int *group)
{
	struct vr_family_info info = { .name = "nlctrl", .group = "notify" };
	int err = vr_lookup(vr, &info, true);

	if (err)
		return err;
	if (!info.group_id)
		return -ENOENT;
	*group = info.group_id;
	return 0;
}

int vr_family_join(struct vfio_release *vr)
{
	int err;

	if (!vr->ev)
		return 0;
	if (!vr->family_group)
		return -ENOPKG;
	/* Joining twice is harmless; a group id of the old module may return. */
	errno = 0;
	err = vr->io ? 0 : nl_socket_add_membership(vr->ev, vr->family_group);
	if (err)
		return vr_errno_from_nl(err);
	vr->events_group = vr->family_group;
	return 0;
}

int vr_family_follow(struct vfio_release *vr)
{
	int err = vr_family_lookup(vr, false);

	return err ? err : vr_family_join(vr);
}
