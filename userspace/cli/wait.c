// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-release wait DEVICE... [--state released|free] [--timeout SECONDS] */

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "output.h"
#include "sysfs.h"

int vr_parse_timeout(const char *arg, int *timeout_ms)
{
	char *end;
	double s;

	errno = 0;
	s = strtod(arg, &end);
	if (errno || end == arg || *end || !isfinite(s) || s < 0 || s > 86400 * 365)
		return vr_usage_error("bad timeout '%s': seconds expected", arg);
	*timeout_ms = (int)(s * 1000);
	return 0;
}

int vr_parse_devices(int argc, char **argv, char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX])
{
	int i;

	for (i = 0; i < argc; i++)
		if (vfio_release_parse_device(argv[i], names[i]))
			return vr_usage_error("'%s' is not a PCI address (like 0000:01:00.0 or 01:00.0)",
					      argv[i]);
	return 0;
}

/*
 * A device the module does not watch is either not there (an error) or
 * not held by VFIO at all, which is as free as it gets.
 */
static int vr_classify_unwatched(const char *dev, bool *satisfied)
{
	char driver[64];

	if (!vr_pci_exists(dev)) {
		fprintf(stderr, "%s: %s: no such PCI device\n", vr_prog, dev);
		return VR_EXIT_ERROR;
	}
	if (vr_pci_driver(dev, driver, sizeof(driver)) || vr_is_vfio_driver(driver)) {
		fprintf(stderr, "%s: %s: bound to %s but not watched by the vfio_release module\n",
			vr_prog, dev, driver);
		return VR_EXIT_ERROR;
	}
	fprintf(stderr, "%s: %s: not bound to a VFIO driver (driver: %s): nothing to wait for\n",
		vr_prog, dev, *driver ? driver : "none");
	*satisfied = true;
	return VR_EXIT_OK;
}

static void vr_report_timeout(const struct vfio_release_wait *w, unsigned int n,
			      enum vfio_release_state target, int timeout_ms)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct vfio_release_event *r = vfio_release_wait_record(w, i);

		if (vfio_release_wait_reached(w, i))
			continue;
		fprintf(stderr, "%s: %s: still %s after %.1f s (waiting for %s)\n",
			vr_prog, r->device, vfio_release_state_name(r->state),
			timeout_ms / 1000.0, vfio_release_state_name(target));
	}
}

static void vr_report_removed(const struct vfio_release_wait *w, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		const struct vfio_release_event *r = vfio_release_wait_record(w, i);

		if (r->type == VFIO_RELEASE_CMD_DEVICE_REMOVED &&
		    !vfio_release_wait_reached(w, i))
			fprintf(stderr, "%s: %s: device left vfio: unbound or removed\n",
				vr_prog, r->device);
	}
}

/*
 * Only when some device is not watched: find which, and keep the others.
 * Returns an exit code; *count is how many are left to wait for.
 */
static int vr_drop_unwatched(struct vfio_release *vr, const char **pending,
			     unsigned int *count)
{
	struct vfio_release_event rec;
	unsigned int i, kept = 0;
	int err, status;

	for (i = 0; i < *count; i++) {
		bool satisfied = false;

		err = vfio_release_get(vr, pending[i], &rec);
		if (err == -ENODEV) {
			status = vr_classify_unwatched(pending[i], &satisfied);
			if (status)
				return status;
		} else if (err) {
			return vr_fail(pending[i], err);
		}
		if (!satisfied)
			pending[kept++] = pending[i];
	}
	*count = kept;
	return VR_EXIT_OK;
}

int vr_wait_devices(char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX], unsigned int n,
		    enum vfio_release_state target, int timeout_ms, bool print,
		    bool json)
{
	const char *pending[n ? n : 1];
	struct vfio_release_wait *w = NULL;
	struct vfio_release *vr;
	unsigned int i, count = n;
	int err, status = VR_EXIT_OK;

	if (vr_open(&vr))
		return VR_EXIT_ERROR;
	for (i = 0; i < n; i++)
		pending[i] = names[i];
	err = vfio_release_wait_new(vr, pending, count, target, &w);
	if (err == -ENODEV) {
		status = vr_drop_unwatched(vr, pending, &count);
		if (status || !count)
			goto out;
		err = vfio_release_wait_new(vr, pending, count, target, &w);
	}
	if (!err)
		err = vfio_release_wait_run(vr, w, timeout_ms);
	if (err == -ETIMEDOUT) {
		vr_report_timeout(w, count, target, timeout_ms);
		status = VR_EXIT_TIMEOUT;
		goto out;
	}
	if (err == -ENODEV && w) {
		vr_report_removed(w, count);
		status = VR_EXIT_ERROR;
		goto out;
	}
	if (err) {
		status = vr_fail("waiting", err);
		goto out;
	}
	for (i = 0; print && i < count; i++)
		vr_print_event(stdout, vfio_release_wait_record(w, i), json);
out:
	vfio_release_wait_free(w);
	vfio_release_close(vr);
	return status;
}

int vr_cmd_wait(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ }
	};
	enum vfio_release_state target = VFIO_RELEASE_STATE_FREE;
	int opt, timeout_ms = -1, n;
	bool json = false;

	while ((opt = getopt_long(argc, argv, "s:t:j", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!strcmp(optarg, "free"))
				target = VFIO_RELEASE_STATE_FREE;
			else if (!strcmp(optarg, "released"))
				target = VFIO_RELEASE_STATE_RELEASED;
			else
				return vr_usage_error("bad state '%s': released or free", optarg);
			break;
		case 't':
			if (vr_parse_timeout(optarg, &timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'j':
			json = true;
			break;
		default:
			return vr_usage_error("wait: bad option");
		}
	}
	n = argc - optind;
	if (n < 1)
		return vr_usage_error("wait: no DEVICE given");

	char names[n][VFIO_RELEASE_DEVICE_NAME_MAX];

	if (vr_parse_devices(n, argv + optind, names))
		return VR_EXIT_ERROR;
	return vr_wait_devices(names, n, target, timeout_ms, true, json);
}
