/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_REQUESTS_H
#define _VR_REQUESTS_H

#include <net/genetlink.h>

/* The family the replies belong to, set before it is registered. */
void vr_requests_init(const struct genl_family *family);

/* GET and dump: both see every transition that happened before them. */
int vr_get_doit(struct sk_buff *skb, struct genl_info *info);
int vr_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb);

#endif
