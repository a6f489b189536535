/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_PIPELINE_H
#define _VR_PIPELINE_H

/*
 * The one worker: takes the queue's records and the scans' snapshots in
 * the order things happened, feeds them to the registry, and announces
 * the transitions it returns (netlink, uevents).
 */
int vr_pipeline_init(void);
/* The first run reads every device; later runs apply records. */
void vr_pipeline_start(void);
/* After the hooks are gone: applies what is queued, leaves no timer. */
void vr_pipeline_exit(void);

#endif
