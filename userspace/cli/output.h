/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VFIO_RELEASE_CLI_OUTPUT_H
#define VFIO_RELEASE_CLI_OUTPUT_H

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

#include "vfio-release.h"

/*
 * The JSON schema's version, in every object as "schema". Keys are the
 * uapi's attribute names in lower case; see vfio-release(1), JSON OUTPUT.
 */
#define VR_JSON_SCHEMA 1

/* An event or record as one JSON object (the caller puts it). */
json_object *vr_event_json(const struct vfio_release_event *ev);
/*
 * One line: the event's name, then key=value pairs, values escaped so
 * that a line always splits into what the kernel sent (\xHH for a blank,
 * '=', '\' or anything unprintable).
 */
void vr_print_text(FILE *out, const struct vfio_release_event *ev, bool with_time);
/* One JSON object per line. */
void vr_print_json_line(FILE *out, const struct vfio_release_event *ev);
/* value with \xHH escapes into buf (always terminated). */
void vr_escape(const char *value, char *buf, size_t size);

#endif
