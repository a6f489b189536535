/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_HOOKS_H
#define _VR_HOOKS_H

#include <linux/types.h>

int vr_hooks_init(void);
void vr_hooks_exit(void);

/* Probe hits that could not be handled since the module loaded. */
u64 vr_hooks_missed(void);
/* The same for the hooks that only time others (the file release's). */
u64 vr_hooks_timing_missed(void);

#endif
