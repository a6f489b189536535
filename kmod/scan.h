/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_SCAN_H
#define _VR_SCAN_H

void vr_scan_all(void);

#endif
