/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_HOOKS_H
#define _VR_HOOKS_H

#include <linux/types.h>

int vr_hooks_init(void);
void vr_hooks_exit(void);

/* Probe hits that lost events since the module loaded: read again. */
u64 vr_hooks_missed(void);
/* Those of the hooks that time closes (the file release's), lost or not. */
u64 vr_hooks_timing_missed(void);

#endif
