/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_RECORD_H
#define _VR_RECORD_H

#include <linux/skbuff.h>

struct vr_device;

/* The attributes every message starts with; -EMSGSIZE when full. */
int vr_put_header(struct sk_buff *skb);
/* A device record, as the uapi header lays it out; -EMSGSIZE when full. */
int vr_put_device(struct sk_buff *skb, const struct vr_device *vd);
int vr_put_u64(struct sk_buff *skb, int attr, u64 value);

#endif
