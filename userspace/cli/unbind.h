/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_UNBIND_H
#define VFIO_RELEASE_CLI_UNBIND_H

#include <sys/types.h>

/*
 * What the child does when its parent gave up waiting and the unbind
 * completes later: point driver_override at bind, probe, and once bind
 * has the device, set driver_override to then_override ("" clears it).
 */
struct vr_unbind_plan {
	const char *bind;
	const char *then_override;
};

/*
 * Unbinding a VFIO device that something holds open blocks the writer in
 * the kernel (vfio_unregister_group_dev) until the holder lets go, and the
 * write cannot be cancelled. So the write is made by a child process and
 * waited for at most timeout_ms.
 *
 * Returns 0 once unbound, the write's negative errno, or -ETIMEDOUT when
 * it is still blocked: then *finisher is the child's pid, which stays
 * behind and carries out *alone once the unbind completes. Meanwhile the
 * blocked unbind holds the device lock, which driver_override takes:
 * reading or writing it would block too.
 */
int vr_unbind_bounded(const char *dev, const char *driver, int timeout_ms,
		      const struct vr_unbind_plan *alone, pid_t *finisher);

#endif
