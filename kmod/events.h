/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_EVENTS_H
#define _VR_EVENTS_H

struct vr_transition;

/* Multicasts one transition; 0, or -errno when listeners missed it. */
int vr_events_send(const struct vr_transition *t);

#endif
