// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-release status [DEVICE...] [--json] */

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "commands.h"
#include "output.h"

int vr_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ }
	};
	struct vfio_release_event rec;
	struct vfio_release *vr;
	int opt, i, err, status = VR_EXIT_OK;
	bool json = false;

	while ((opt = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (opt != 'j')
			return vr_usage_error("status: bad option");
		json = true;
	}
	char names[argc - optind + 1][VFIO_RELEASE_DEVICE_NAME_MAX];

	if (vr_parse_devices(argc - optind, argv + optind, names))
		return VR_EXIT_ERROR;
	if (vr_open(&vr))
		return VR_EXIT_ERROR;

	if (optind == argc) {
		err = vfio_release_dump(vr, vr_print_event_cb, &json);
		if (err < 0)
			status = vr_fail("cannot list devices", err);
	}
	for (i = 0; i < argc - optind; i++) {
		err = vfio_release_get(vr, names[i], &rec);
		if (err)
			status = vr_fail(names[i], err);
		else
			vr_print_event(stdout, &rec, json);
	}
	vfio_release_close(vr);
	return status;
}
