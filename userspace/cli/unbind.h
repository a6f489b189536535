/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_UNBIND_H
#define VFIO_RELEASE_CLI_UNBIND_H

#include <stdbool.h>
#include <sys/types.h>

#include "hostdriver.h"

/*
 * The part of a reattach that changes the device, run by a child process
 * from its first write to its last:
 *
 *   driver_override = targets[0]; unbind from `from`; then for each target
 *   in turn: driver_override = it (after the first), drivers_probe, and if
 *   nothing took the device an explicit bind (for the probe's error); the
 *   first target that takes it wins, and driver_override is cleared
 *   (only if it is still what we wrote). If none takes it: with --restore
 *   back to `from` with from_override, otherwise driver_override cleared.
 *
 * Why a child: each of these writes can block in the kernel, and none can
 * be cancelled. Unbinding a VFIO device that something holds open blocks
 * in vfio_unregister_group_dev until the holder lets go (vfio-pci asks it
 * to, through the device request); vfio-pci's remove first disables a PF's
 * SR-IOV, which waits for every VF's user; the unbind, bind and
 * drivers_probe, and on 6.1 driver_override (read or written), take the
 * device lock, which a blocked unbind or a slow probe elsewhere holds.
 *
 * The child is detached from the start (own session, SIGHUP, SIGINT,
 * SIGTERM and SIGPIPE ignored, cwd /, stdin, stdout and stderr on
 * /dev/null, no other inherited fd but the socket to its parent and the
 * device lock), so a caller reading our output through a pipe gets EOF when
 * we exit, and killing us strands nothing. It sends its messages and steps
 * to the parent over a socket; once the parent is gone (it gave up
 * waiting, or was killed) it says the rest to syslog (ident vfio-release).
 */
struct vr_finish_plan {
	const char *dev;
	const char *from;		/* bound to now; "" when unbound */
	const char *from_override;	/* its driver_override, for --restore */
	char (*targets)[VR_MODULE_NAME_MAX];
	int ntargets;
	bool restore;
	int lock_fd;			/* the device lock (devlock.h), or -1 */
	long long deadline_ms;		/* CLOCK_MONOTONIC; -1 without --timeout */
};

/* Where the child was when the parent stopped waiting. */
enum vr_finish_step {
	VR_STEP_START,
	VR_STEP_OVERRIDE,
	VR_STEP_UNBIND,
	VR_STEP_PROBE,
	VR_STEP_CLEAR,
	VR_STEP_RESTORE,
};

/* vr_finish's answer when the child is still at it. */
#define VR_FINISH_PENDING (-1)

/*
 * Runs the plan in a child, relaying its messages to stdout and stderr.
 * Returns the child's exit status (0, 2, 3: see reattach.c), or
 * VR_FINISH_PENDING when a step outlasted its time: then *step is that
 * step, *target the target it was at, and *finisher the child, which
 * carries on alone. Each step gets what is left of the deadline; the
 * override and the unbind at least 2 s (10 s without a deadline), each
 * probe at least 10 s (30 s).
 */
int vr_finish(const struct vr_finish_plan *plan, enum vr_finish_step *step, int *target,
	      pid_t *finisher);

#endif
