// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-release status [DEVICE...] [--json] */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "commands.h"
#include "output.h"

struct vr_status {
	bool json;
	json_object *array;
};

static int vr_status_record(const struct vfio_release_event *rec, void *arg)
{
	struct vr_status *st = arg;

	if (st->json)
		json_object_array_add(st->array, vr_event_json(rec));
	else
		vr_print_text(stdout, rec, false);
	return 0;
}

int vr_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vr_status st = { 0 };
	struct vfio_release_event *rec;
	struct vfio_release *vr;
	int opt, i, err, status = VR_EXIT_OK;

	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (opt == 'h')
			return vr_command_help("status");
		if (opt != 'j')
			return vr_usage_error("status: bad option");
		st.json = true;
	}
	char names[argc - optind + 1][VFIO_RELEASE_DEVICE_NAME_MAX];

	if (vr_parse_devices(argc - optind, argv + optind, names))
		return VR_EXIT_ERROR;
	if (vr_open(&vr))
		return VR_EXIT_ERROR;
	st.array = json_object_new_array();

	if (optind == argc) {
		err = vfio_release_dump(vr, vr_status_record, &st);
		if (err < 0)
			status = vr_fail("cannot list devices", err);
	}
	for (i = 0; i < argc - optind; i++) {
		err = vfio_release_get(vr, names[i], &rec);
		if (err) {
			status = vr_fail(names[i], err);
			continue;
		}
		vr_status_record(rec, &st);
		vfio_release_event_unref(rec);
	}
	/* One array, even when a device failed: what was read is printed. */
	if (st.json && (status == VR_EXIT_OK || json_object_array_length(st.array)))
		printf("%s\n", json_object_to_json_string_ext(st.array,
				JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
	json_object_put(st.array);
	vfio_release_close(vr);
	return status;
}
