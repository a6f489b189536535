/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_FAMILY_H
#define _VR_FAMILY_H

#include <net/genetlink.h>

extern struct genl_family vr_family;

int vr_family_init(void);
void vr_family_exit(void);

#endif
