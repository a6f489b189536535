/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_HOOKS_H
#define _VR_HOOKS_H

#include <linux/types.h>

int vr_hooks_init(void);
void vr_hooks_exit(void);

/* Probe hits that could not be handled since the module loaded. */
u64 vr_hooks_missed(void);
/* The same for one hook, by the symbol it hooks. */
u64 vr_hook_missed(const char *symbol);

#endif
