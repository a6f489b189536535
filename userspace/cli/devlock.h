/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_DEVLOCK_H
#define VFIO_RELEASE_CLI_DEVLOCK_H

#include <sys/types.h>

/*
 * One reattach per device at a time: an flock on RUNDIR/DEVICE.lock
 * (RUNDIR is $VFIO_RELEASE_RUNDIR or /run/vfio-release), taken without
 * blocking and held to the end, by the process that finishes the reattach
 * in the background too (the lock is inherited across fork). The file
 * holds the holder's pid.
 *
 * A second reattach must not go near a device whose unbind is still
 * blocked: the blocked unbind holds the device lock, and the kernel removed
 * the driver link already, so the device looks unbound. On 6.1 reading or
 * writing driver_override takes the device lock; on either kernel
 * drivers_probe does nothing (dev->driver is still set) and a bind blocks.
 */

/* The fd holding the lock; -EWOULDBLOCK with *holder (0 unknown); -errno. */
int vr_devlock_take(const char *dev, pid_t *holder);
/* Records pid as the lock's holder. */
void vr_devlock_set_holder(int fd, pid_t pid);

#endif
