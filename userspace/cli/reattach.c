// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release reattach DEVICE [--driver NAME] [--timeout SECONDS]
 *
 * The safe way back to the host driver: wait until the device is free,
 * unbind it from its VFIO driver, clear driver_override, let the kernel
 * probe it, and check who took it.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "sysfs.h"

/* Binding can complete asynchronously; give the driver this long. */
#define VR_BIND_WAIT_MS 5000
#define VR_BIND_POLL_MS 20

static int vr_step_failed(const char *dev, const char *step, int err)
{
	fprintf(stderr, "%s: %s: %s failed: %s\n", vr_prog, dev, step,
		vfio_release_strerror(err));
	return VR_EXIT_ERROR;
}

static bool vr_bound_as_wanted(const char *driver, const char *want)
{
	if (!*driver || vr_is_vfio_driver(driver))
		return false;
	return !want || !strcmp(driver, want);
}

static void vr_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

int vr_cmd_reattach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	char names[1][VFIO_RELEASE_DEVICE_NAME_MAX], driver[64];
	const char *want = NULL, *dev = names[0];
	int opt, timeout_ms = -1, waited, status, err;

	while ((opt = getopt_long(argc, argv, "d:t:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			want = optarg;
			break;
		case 't':
			if (vr_parse_timeout(optarg, &timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'h':
			return vr_command_help("reattach");
		default:
			return vr_usage_error("reattach: bad option");
		}
	}
	if (argc - optind != 1)
		return vr_usage_error("reattach: exactly one DEVICE expected");
	if (vr_parse_devices(1, argv + optind, names))
		return VR_EXIT_ERROR;
	if (!vr_pci_exists(dev)) {
		fprintf(stderr, "%s: %s: no such PCI device\n", vr_prog, dev);
		return VR_EXIT_ERROR;
	}
	err = vr_pci_driver(dev, driver, sizeof(driver));
	if (err)
		return vr_step_failed(dev, "reading the bound driver", err);
	if (*driver && !vr_is_vfio_driver(driver)) {
		if (want && strcmp(driver, want)) {
			fprintf(stderr, "%s: %s: bound to %s, not to a VFIO driver: not touching it\n",
				vr_prog, dev, driver);
			return VR_EXIT_ERROR;
		}
		printf("%s: already bound to %s\n", dev, driver);
		return VR_EXIT_OK;
	}

	if (*driver) {
		struct vr_wait_opts wo = {
			.target = VFIO_RELEASE_STATE_FREE, .timeout_ms = timeout_ms,
		};

		status = vr_wait_devices(names, 1, &wo);
		if (status)
			return status;
		err = vr_pci_unbind(dev, driver);
		if (err)
			return vr_step_failed(dev, "unbinding from the VFIO driver", err);
	}
	err = vr_pci_set_override(dev, "");
	if (err)
		return vr_step_failed(dev, "clearing driver_override", err);
	err = vr_pci_reprobe(dev);
	/* ENODEV/EINVAL here only mean no driver took it: checked below. */
	if (err && err != -ENODEV && err != -EINVAL)
		return vr_step_failed(dev, "probing for a host driver", err);

	for (waited = 0;; waited += VR_BIND_POLL_MS) {
		err = vr_pci_driver(dev, driver, sizeof(driver));
		if (err)
			return vr_step_failed(dev, "reading the bound driver", err);
		if (vr_bound_as_wanted(driver, want) || waited >= VR_BIND_WAIT_MS)
			break;
		vr_sleep_ms(VR_BIND_POLL_MS);
	}
	if (!vr_bound_as_wanted(driver, want)) {
		fprintf(stderr, "%s: %s: free and unbound, but %s%s (is the host driver's module available?)\n",
			vr_prog, dev, *driver ? "bound to " : "no driver took it", driver);
		if (want)
			fprintf(stderr, "%s: %s: expected driver %s\n", vr_prog, dev, want);
		return VR_EXIT_ERROR;
	}
	printf("%s: reattached to %s\n", dev, driver);
	return VR_EXIT_OK;
}
