/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_OUTPUT_H
#define VFIO_RELEASE_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include "vfio-release.h"

/* One line per event or record: text like `udevadm monitor`, or JSON. */
void vr_print_event(FILE *out, const struct vfio_release_event *ev, bool json);
/* A vfio_release_event_cb printing to stdout; arg points to the json flag. */
int vr_print_event_cb(const struct vfio_release_event *ev, void *json);

#endif
