// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-release monitor [--json] [--device DEVICE]... [--event NAME]... [--no-time] */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"

#define VR_MONITOR_MAX_FILTERS 256

struct vr_monitor {
	bool json;
	bool with_time;
	unsigned int ndevices, nevents;
	char devices[VR_MONITOR_MAX_FILTERS][VFIO_RELEASE_DEVICE_NAME_MAX];
	const char *events[VR_MONITOR_MAX_FILTERS];
};

/* The event names --event accepts: the uapi's (notices always pass). */
static bool vr_known_event_name(const char *name)
{
	unsigned int i;

	for (i = VFIO_RELEASE_CMD_GET_DEVICE + 1; i <= VFIO_RELEASE_CMD_MAX; i++)
		if (!strcmp(name, vfio_release_event_name(i)))
			return true;
	return false;
}

/* Notices always pass: a filtered listener must still learn of reloads. */
static bool vr_selected(const struct vr_monitor *m, const struct vfio_release_event *ev)
{
	const char *dev = vfio_release_event_get_device(ev);
	const char *name = vfio_release_event_name(vfio_release_event_get_type(ev));
	bool ok = !m->ndevices && !m->nevents;
	unsigned int i;

	if (vfio_release_event_get_notice(ev))
		return true;
	if (m->ndevices) {
		for (i = 0; i < m->ndevices && !ok; i++)
			ok = !strcmp(dev, m->devices[i]);
		/* Resyncs concern every device. */
		ok |= vfio_release_event_get_type(ev) == VFIO_RELEASE_CMD_RESYNC;
		if (!ok)
			return false;
	}
	if (m->nevents) {
		ok = false;
		for (i = 0; i < m->nevents && !ok; i++)
			ok = !strcmp(name, m->events[i]);
	}
	return ok;
}

static int vr_monitor_event(const struct vfio_release_event *ev, void *arg)
{
	const struct vr_monitor *m = arg;
	enum vfio_release_notice notice = vfio_release_event_get_notice(ev);

	if (notice == VFIO_RELEASE_NOTICE_MODULE_UNLOADED)
		fprintf(stderr, "%s: module unloaded; waiting for it to be loaded again\n", vr_prog);
	else if (notice == VFIO_RELEASE_NOTICE_MODULE_LOADED)
		fprintf(stderr, "%s: module loaded\n", vr_prog);
	else if (notice == VFIO_RELEASE_NOTICE_OVERFLOW)
		fprintf(stderr, "%s: events were lost (socket overflow)\n", vr_prog);
	if (!vr_selected(m, ev))
		return 0;
	if (m->json)
		vr_print_json_line(stdout, ev);
	else
		vr_print_text(stdout, ev, m->with_time);
	return 0;
}

int vr_cmd_monitor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "device", required_argument, NULL, 'd' },
		{ "event", required_argument, NULL, 'e' },
		{ "no-time", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vr_monitor *m = calloc(1, sizeof(*m));
	struct vfio_release *vr;
	int opt, err, status;

	if (!m)
		return vr_fail("monitor", -ENOMEM);
	m->with_time = true;
	while ((opt = getopt_long(argc, argv, "jd:e:Th", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			m->json = true;
			break;
		case 'T':
			m->with_time = false;
			break;
		case 'd':
			if (m->ndevices == VR_MONITOR_MAX_FILTERS) {
				free(m);
				return vr_usage_error("monitor: at most %d --device", VR_MONITOR_MAX_FILTERS);
			}
			if (vr_parse_devices(1, &optarg, &m->devices[m->ndevices])) {
				free(m);
				return VR_EXIT_ERROR;
			}
			m->ndevices++;
			break;
		case 'e':
			if (!vr_known_event_name(optarg) || m->nevents == VR_MONITOR_MAX_FILTERS) {
				free(m);
				return vr_usage_error("monitor: unknown event '%s' (see vfio-release(1))",
						      optarg);
			}
			m->events[m->nevents++] = optarg;
			break;
		case 'h':
			free(m);
			return vr_command_help("monitor");
		default:
			free(m);
			return vr_usage_error("monitor: bad option");
		}
	}
	if (optind != argc) {
		free(m);
		return vr_usage_error("monitor: unexpected argument '%s'", argv[optind]);
	}
	if (vr_open(&vr)) {
		free(m);
		return VR_EXIT_ERROR;
	}
	err = vfio_release_subscribe(vr);
	if (err) {
		vfio_release_close(vr);
		free(m);
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
		err = vfio_release_dispatch(vr, vr_monitor_event, m);
		if (err < 0)
			break;
	}
	vfio_release_close(vr);
	free(m);
	status = vr_fail("receiving events", err);
	return status;
}
