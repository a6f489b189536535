// SPDX-License-Identifier: GPL-2.0
/*
 * The vfio_release generic netlink family: its requests and its multicast
 * group. uapi/linux/vfio_release.h documents the messages.
 */

#include <linux/module.h>
#include <net/genetlink.h>

#include "../uapi/linux/vfio_release.h"
#include "family.h"
#include "requests.h"

static const struct nla_policy vr_get_policy[VFIO_RELEASE_A_DEVICE + 1] = {
	[VFIO_RELEASE_A_DEVICE] = { .type = NLA_NUL_STRING,
				    .len = VFIO_RELEASE_DEVICE_NAME_MAX - 1 },
};

/* Records name the processes that use devices: for administrators only. */
static const struct genl_ops vr_ops[] = {
	{
		.cmd = VFIO_RELEASE_CMD_GET_DEVICE,
		.doit = vr_get_doit,
		.dumpit = vr_get_dumpit,
		.policy = vr_get_policy,
		.maxattr = ARRAY_SIZE(vr_get_policy) - 1,
		.flags = GENL_ADMIN_PERM,
	},
};

static const struct genl_multicast_group vr_mcgrps[] = {
	{
		.name = VFIO_RELEASE_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

struct genl_family vr_family __ro_after_init = {
	.name = VFIO_RELEASE_GENL_NAME,
	.version = VFIO_RELEASE_GENL_VERSION,
	.module = THIS_MODULE,
	.ops = vr_ops,
	.n_ops = ARRAY_SIZE(vr_ops),
	.mcgrps = vr_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vr_mcgrps),
	.parallel_ops = true,
};

int vr_family_init(void)
{
	int ret;

	vr_requests_init(&vr_family);
	ret = genl_register_family(&vr_family);
	if (ret)
		pr_err("cannot register generic netlink family %s (%d)\n",
		       VFIO_RELEASE_GENL_NAME, ret);
	return ret;
}

void vr_family_exit(void)
{
	genl_unregister_family(&vr_family);
}

/* Resolving the family by name loads the module. */
MODULE_ALIAS_GENL_FAMILY(VFIO_RELEASE_GENL_NAME);
