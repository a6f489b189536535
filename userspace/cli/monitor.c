// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-release monitor [--json] */

#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <errno.h>

#include "commands.h"
#include "output.h"

int vr_cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ }
	};
	struct vfio_release *vr;
	bool json = false;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (opt != 'j')
			return vr_usage_error("monitor: bad option");
		json = true;
	}
	if (optind != argc)
		return vr_usage_error("monitor: unexpected argument '%s'", argv[optind]);
	if (vr_open(&vr))
		return VR_EXIT_ERROR;
	err = vfio_release_subscribe(vr);
	if (err) {
		vfio_release_close(vr);
		return vr_fail("cannot subscribe to events", err);
	}
	/* On stderr even with --json: scripts wait for it before acting. */
	fprintf(stderr, "monitoring vfio_release events\n");

	for (;;) {
		struct pollfd pfd = { .fd = vfio_release_fd(vr), .events = POLLIN };

		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			break;
		}
		err = vfio_release_dispatch(vr, vr_print_event_cb, &json);
		if (err < 0)
			break;
	}
	vfio_release_close(vr);
	return vr_fail("receiving events", err);
}
