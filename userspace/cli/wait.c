// SPDX-License-Identifier: GPL-2.0-or-later
/* vfio-release wait DEVICE... [--state released|free] [--timeout SECONDS] */

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "output.h"
#include "sysfs.h"

int vr_parse_timeout(const char *arg, int *timeout_ms)
{
	long long ms = 0;
	int frac = 0;
	const char *p = arg;

	if (!*p)
		goto bad;
	for (; *p >= '0' && *p <= '9'; p++) {
		ms = ms * 10 + (*p - '0') * 1000LL;
		if (ms > VR_TIMEOUT_MAX_S * 1000LL)
			goto bad;
	}
	if (p == arg)
		goto bad;
	if (*p == '.') {
		/* Milliseconds are the resolution; more digits are refused. */
		for (p++; *p >= '0' && *p <= '9' && frac < 3; p++, frac++)
			ms += (*p - '0') * (frac == 0 ? 100 : frac == 1 ? 10 : 1);
		if (!frac)
			goto bad;
	}
	if (*p || ms > VR_TIMEOUT_MAX_S * 1000LL)
		goto bad;
	*timeout_ms = (int)ms;
	return 0;
bad:
	return vr_usage_error("bad timeout '%s': seconds expected, like 10 or 2.5 (at most %d)",
			      arg, VR_TIMEOUT_MAX_S);
}

int vr_parse_devices(int argc, char **argv, char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX])
{
	int i;

	for (i = 0; i < argc; i++)
		if (vfio_release_parse_device(argv[i], names[i], sizeof(names[i])))
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

static const char *vr_record_state(const struct vfio_release_wait *w, unsigned int i)
{
	const struct vfio_release_event *r = vfio_release_wait_record(w, i);

	return vfio_release_state_name(r ? vfio_release_event_get_state(r) :
					   VFIO_RELEASE_STATE_UNKNOWN);
}

/* Who holds it, when the module saw the open. */
static void vr_print_opener(const struct vfio_release_event *r)
{
	const char *comm = "?";
	uint64_t pid;
	char buf[64];

	if (!r || vfio_release_event_get_u64(r, VFIO_RELEASE_A_OPENER_PID, &pid))
		return;
	if (!vfio_release_event_get_string(r, VFIO_RELEASE_A_OPENER_COMM, &comm)) {
		vr_escape(comm, buf, sizeof(buf));
		comm = buf;
	}
	fprintf(stderr, " (opened by pid %llu, %s)", (unsigned long long)pid, comm);
}

static void vr_report_timeout(const struct vfio_release_wait *w,
			      enum vfio_release_state target, int timeout_ms)
{
	unsigned int i;

	for (i = 0; i < vfio_release_wait_count(w); i++) {
		if (vfio_release_wait_reached(w, i))
			continue;
		fprintf(stderr, "%s: %s: still %s after %.1f s (waiting for %s)",
			vr_prog, vfio_release_wait_device(w, i), vr_record_state(w, i),
			timeout_ms / 1000.0, vfio_release_state_name(target));
		vr_print_opener(vfio_release_wait_record(w, i));
		fputc('\n', stderr);
	}
}

static void vr_report_removed(const struct vfio_release_wait *w)
{
	unsigned int i;
	char driver[64] = "";

	for (i = 0; i < vfio_release_wait_count(w); i++) {
		const char *dev = vfio_release_wait_device(w, i);

		if (!vfio_release_wait_removed(w, i) || vfio_release_wait_reached(w, i))
			continue;
		if (!vr_pci_exists(dev)) {
			fprintf(stderr, "%s: %s: left vfio while %s: the device was removed\n",
				vr_prog, dev, vr_record_state(w, i));
			continue;
		}
		vr_pci_driver(dev, driver, sizeof(driver));
		fprintf(stderr, "%s: %s: left vfio while %s: unbound from its vfio driver (now: %s)\n",
			vr_prog, dev, vr_record_state(w, i), *driver ? driver : "no driver");
	}
}

/*
 * Only when some device is not watched: find which, and keep the others.
 * Returns an exit code; *count is how many are left to wait for.
 */
static int vr_drop_unwatched(struct vfio_release *vr, const char **pending,
			     unsigned int *count)
{
	unsigned int i, kept = 0;
	int err, status;

	for (i = 0; i < *count; i++) {
		struct vfio_release_event *rec = NULL;
		bool satisfied = false;

		err = vfio_release_get(vr, pending[i], &rec);
		if (err == -ENODEV) {
			status = vr_classify_unwatched(pending[i], &satisfied);
			if (status)
				return status;
		} else if (err) {
			return vr_fail(pending[i], err);
		}
		vfio_release_event_unref(rec);
		if (!satisfied)
			pending[kept++] = pending[i];
	}
	*count = kept;
	return VR_EXIT_OK;
}

uint64_t vr_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

long long vr_mono_ms(void)
{
	return (long long)(vr_mono_ns() / 1000000ULL);
}

int vr_ms_left(long long deadline_ms, int cap_ms)
{
	long long left;

	if (deadline_ms < 0)
		return cap_ms;
	left = deadline_ms - vr_mono_ms();
	if (left < 0)
		left = 0;
	return left < cap_ms ? (int)left : cap_ms;
}

/*
 * vfio_release_wait_run(), with a progress call about once a second; the
 * timeout counts from start, before the wait's first records were read.
 */
static int vr_run(struct vfio_release *vr, struct vfio_release_wait *w,
		  const struct vr_wait_opts *opts, long long start)
{
	long long next = vr_mono_ms() + 1000;
	int ret = vfio_release_wait_process(vr, w);

	while (ret == 0) {
		struct pollfd pfd = { .fd = vfio_release_fd(vr), .events = POLLIN };
		long long now = vr_mono_ms(), left = next - now;

		if (opts->timeout_ms >= 0 && start + opts->timeout_ms - now < left)
			left = start + opts->timeout_ms - now;
		if (left <= 0) {
			if (opts->timeout_ms >= 0 && now - start >= opts->timeout_ms)
				return -ETIMEDOUT;
			if (opts->progress)
				opts->progress(w, now - start, opts->progress_arg);
			next += 1000;
			/* A re-read the module was not ready for: try again. */
			if (vfio_release_wait_status(w) == VFIO_RELEASE_WAIT_REREAD)
				ret = vfio_release_wait_process(vr, w);
			continue;
		}
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		ret = vfio_release_wait_process(vr, w);
	}
	return ret < 0 ? ret : 0;
}

int vr_wait_devices(char (*names)[VFIO_RELEASE_DEVICE_NAME_MAX], unsigned int n,
		    const struct vr_wait_opts *opts)
{
	const char *pending[n ? n : 1];
	struct vfio_release_wait *w = NULL;
	struct vfio_release *vr;
	unsigned int i, count = n;
	json_object *array = NULL;
	long long start = vr_mono_ms();
	int err, status = VR_EXIT_OK;

	if (vr_open(&vr))
		return VR_EXIT_ERROR;
	for (i = 0; i < n; i++)
		pending[i] = names[i];
	err = vfio_release_wait_new(vr, pending, count, opts->target, &w);
	if (err == -ENODEV) {
		status = vr_drop_unwatched(vr, pending, &count);
		if (status || !count)
			goto out;
		err = vfio_release_wait_new(vr, pending, count, opts->target, &w);
	}
	if (!err)
		err = vr_run(vr, w, opts, start);
	if (err == -ETIMEDOUT) {
		vr_report_timeout(w, opts->target, opts->timeout_ms);
		status = VR_EXIT_TIMEOUT;
		goto out;
	}
	if (err == -ENODEV && w) {
		vr_report_removed(w);
		status = VR_EXIT_CHANGED;
		goto out;
	}
	if (err) {
		status = vr_fail("waiting", err);
		goto out;
	}
	/*
	 * Reached, but gone from vfio: say so, the caller may expect the
	 * device still there. (Whether it is gone from the bus too cannot be
	 * told yet: the removal is announced before sysfs lets go of it.)
	 */
	for (i = 0; i < count; i++)
		if (vfio_release_wait_removed(w, i))
			fprintf(stderr, "%s: %s: free when it left vfio (unbound or removed): counted as free\n",
				vr_prog, vfio_release_wait_device(w, i));
	if (opts->print && opts->json)
		array = json_object_new_array();
	for (i = 0; opts->print && i < count; i++) {
		const struct vfio_release_event *r = vfio_release_wait_record(w, i);

		if (array)
			json_object_array_add(array, vr_event_json(r));
		else
			vr_print_text(stdout, r, false);
	}
	if (array) {
		printf("%s\n", json_object_to_json_string_ext(array,
				JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
		json_object_put(array);
	}
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
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	struct vr_wait_opts wo = {
		.target = VFIO_RELEASE_STATE_FREE, .timeout_ms = -1, .print = true,
	};
	int opt, n;

	while ((opt = getopt_long(argc, argv, "s:t:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!strcmp(optarg, "free"))
				wo.target = VFIO_RELEASE_STATE_FREE;
			else if (!strcmp(optarg, "released"))
				wo.target = VFIO_RELEASE_STATE_RELEASED;
			else
				return vr_usage_error("bad state '%s': released or free", optarg);
			break;
		case 't':
			if (vr_parse_timeout(optarg, &wo.timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'j':
			wo.json = true;
			break;
		case 'h':
			return vr_command_help("wait");
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
	return vr_wait_devices(names, n, &wo);
}
