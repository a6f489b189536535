// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release reattach DEVICE [--driver NAME] [--timeout SECONDS] [--restore]
 *
 * The way back to the host driver that cannot strand a device:
 *
 *  1. Find the host driver before touching anything: --driver NAME, or
 *     the module serving the device's modalias (libkmod).
 *  2. Wait until the device is free, load the driver's module, and check
 *     again that it is still free (it may have been reopened).
 *  3. Still bound to its VFIO driver, point driver_override at the host
 *     driver. The override wins over every ID table, vfio-pci's dynamic
 *     ids (new_id, ids=) included, and lets the kernel probe a VF whose
 *     PF has sriov_drivers_autoprobe=0 (pci_match_device and
 *     pci_device_can_probe, drivers/pci/pci-driver.c, 6.1 and 6.12).
 *  4. Unbind, bounded by the timeout (unbind.c), then drivers_probe, and
 *     once the host driver has it, clear driver_override.
 *
 * Exit status: 0 on the host driver; 1 timed out, device untouched; 2 an
 * error with nothing changed; 3 changed but not on the host driver, with
 * the state it was left in on stderr (with --restore, back on its VFIO
 * driver if that worked).
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commands.h"
#include "hostdriver.h"
#include "output.h"
#include "sysfs.h"
#include "unbind.h"

/* Binding can complete asynchronously; give the driver this long. */
#define VR_BIND_WAIT_MS 5000
#define VR_BIND_POLL_MS 20
/* What the unbind gets at least, or without --timeout. */
#define VR_UNBIND_MIN_MS 2000
#define VR_UNBIND_DEFAULT_MS 10000
/* Not an exit status: carry on with the next step. */
#define VR_CONTINUE (-1)
/* Not an exit status: the device was reopened, wait again. */
#define VR_RETRY (-2)

struct vr_reattach {
	const char *dev;
	const char *want;		/* --driver NAME, or NULL */
	bool restore;			/* --restore */
	long long start_ms;
	long long deadline_ms;		/* CLOCK_MONOTONIC; -1: no timeout */
	struct vfio_release *vr;	/* only for a device on a VFIO driver */
	char from[VR_DRIVER_NAME_MAX];		/* bound to at the start, "" none */
	char from_override[VR_DRIVER_NAME_MAX];	/* its driver_override then */
	char module[VR_DRIVER_NAME_MAX];	/* the host driver's module */
	char target[VR_DRIVER_NAME_MAX];	/* the host driver, once known */
};

static long long vr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void vr_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Milliseconds left before the deadline (0 when past), -1 without one. */
static int vr_left_ms(const struct vr_reattach *r)
{
	long long left;

	if (r->deadline_ms < 0)
		return -1;
	left = r->deadline_ms - vr_now_ms();
	return left > 0 ? (int)left : 0;
}

/*
 * Test-only: VFIO_RELEASE_TEST_PAUSE=STEP:MS sleeps MS at STEP
 * ("before-recheck", "before-unbind"), so that a test can reopen the
 * device exactly there.
 */
static void vr_test_pause(const char *step)
{
	const char *spec = getenv("VFIO_RELEASE_TEST_PAUSE");
	size_t len = strlen(step);

	if (!spec || strncmp(spec, step, len) || spec[len] != ':')
		return;
	fprintf(stderr, "%s: test pause %s\n", vr_prog, step);
	vr_sleep_ms(atoi(spec + len + 1));
}

/* "open by pid N (comm)", or the state when no opener is known. */
static void vr_describe(const struct vfio_release_event *rec, char *buf, size_t size)
{
	enum vfio_release_state state = rec ? vfio_release_event_get_state(rec) :
					      VFIO_RELEASE_STATE_UNKNOWN;
	const char *comm = "?";
	char escaped[64];
	uint64_t pid;

	if (state == VFIO_RELEASE_STATE_OPEN &&
	    !vfio_release_event_get_u64(rec, VFIO_RELEASE_A_OPENER_PID, &pid)) {
		if (!vfio_release_event_get_string(rec, VFIO_RELEASE_A_OPENER_COMM, &comm)) {
			vr_escape(comm, escaped, sizeof(escaped));
			comm = escaped;
		}
		snprintf(buf, size, "open by pid %llu (%s)", (unsigned long long)pid, comm);
	} else if (state == VFIO_RELEASE_STATE_RELEASED) {
		snprintf(buf, size, "released, its IOMMU group still claimed");
	} else {
		snprintf(buf, size, "%s", vfio_release_state_name(state));
	}
}

/* The device's record, described; "unknown" when it cannot be read. */
static void vr_describe_now(struct vr_reattach *r, char *buf, size_t size)
{
	struct vfio_release_event *rec = NULL;

	if (r->vr)
		vfio_release_get(r->vr, r->dev, &rec);
	vr_describe(rec, buf, size);
	vfio_release_event_unref(rec);
}

/* Exactly where the device is now: "bound to X, driver_override Y". */
static void vr_say_state(const struct vr_reattach *r, const char *prefix)
{
	char driver[VR_DRIVER_NAME_MAX] = "?", override[VR_DRIVER_NAME_MAX] = "?";

	vr_pci_driver(r->dev, driver, sizeof(driver));
	vr_pci_override(r->dev, override, sizeof(override));
	fprintf(stderr, "%s: %s: %s: bound to %s, driver_override %s\n", vr_prog, r->dev,
		prefix, *driver ? driver : "no driver", *override ? override : "cleared");
}

static int vr_error(const struct vr_reattach *r, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s: %s (nothing was changed)\n", vr_prog, r->dev, what,
		vfio_release_strerror(err));
	return VR_EXIT_ERROR;
}

/* --- 1. where it is, and which host driver is to take it --- */

static int vr_read_start(struct vr_reattach *r)
{
	int err;

	if (!vr_pci_exists(r->dev)) {
		fprintf(stderr, "%s: %s: no such PCI device\n", vr_prog, r->dev);
		return VR_EXIT_ERROR;
	}
	err = vr_pci_driver(r->dev, r->from, sizeof(r->from));
	if (!err)
		err = vr_pci_override(r->dev, r->from_override, sizeof(r->from_override));
	if (err)
		return vr_error(r, "reading its driver", err);
	if (!vr_is_host_driver(r->from))
		return VR_CONTINUE;
	if (r->want && strcmp(r->from, r->want)) {
		fprintf(stderr, "%s: %s: bound to %s, not to a VFIO driver: not touching it\n",
			vr_prog, r->dev, r->from);
		return VR_EXIT_ERROR;
	}
	printf("%s: already bound to %s\n", r->dev, r->from);
	return VR_EXIT_OK;
}

/* --driver NAME: registered already, or a module of that name to load. */
static int vr_plan_named_driver(struct vr_reattach *r)
{
	int err;

	if (vr_pci_driver_registered(r->want)) {
		snprintf(r->target, sizeof(r->target), "%s", r->want);
		return VR_EXIT_OK;
	}
	err = vr_host_module_lookup(r->want, r->module, sizeof(r->module));
	if (err == -ENOENT) {
		fprintf(stderr, "%s: %s: no PCI driver %s is registered, and no module %s exists (nothing was changed)\n",
			vr_prog, r->dev, r->want, r->want);
		return VR_EXIT_ERROR;
	}
	return err ? vr_error(r, "looking up the driver's module", err) : VR_EXIT_OK;
}

/* No --driver: the module that serves the device's modalias. */
static int vr_plan_modalias_driver(struct vr_reattach *r)
{
	char modalias[256];
	int err;

	err = vr_pci_modalias(r->dev, modalias, sizeof(modalias));
	if (err)
		return vr_error(r, "reading its modalias", err);
	err = vr_host_module_lookup(modalias, r->module, sizeof(r->module));
	if (err == -ENOENT) {
		fprintf(stderr, "%s: %s: no host driver module matches its modalias %s; name one with --driver (nothing was changed)\n",
			vr_prog, r->dev, modalias);
		return VR_EXIT_ERROR;
	}
	if (err)
		return vr_error(r, "looking up its host driver's module", err);
	if (vr_module_pci_driver(r->module, r->target, sizeof(r->target)) < 0)
		r->target[0] = '\0';
	return VR_EXIT_OK;
}

/* Loads the planned module and names the driver it registers. */
static int vr_load_host_driver(struct vr_reattach *r)
{
	int err, count;

	if (*r->target)
		return VR_EXIT_OK;
	/* Found by modalias, like udev's autoload, it obeys the blacklist; a named one does not, like modprobe NAME. */
	err = vr_host_module_load(r->module, !r->want);
	if (err == -EPERM) {
		fprintf(stderr, "%s: %s: host driver module %s is blacklisted; name it with --driver to load it anyway (nothing was changed)\n",
			vr_prog, r->dev, r->module);
		return VR_EXIT_ERROR;
	}
	if (err) {
		fprintf(stderr, "%s: %s: cannot load host driver module %s: %s (nothing was changed)\n",
			vr_prog, r->dev, r->module, strerror(-err));
		return VR_EXIT_ERROR;
	}
	fprintf(stderr, "%s: %s: loaded module %s\n", vr_prog, r->dev, r->module);
	if (r->want) {
		if (vr_pci_driver_registered(r->want)) {
			snprintf(r->target, sizeof(r->target), "%s", r->want);
			return VR_EXIT_OK;
		}
		fprintf(stderr, "%s: %s: module %s is loaded but registers no PCI driver %s (nothing was changed)\n",
			vr_prog, r->dev, r->module, r->want);
		return VR_EXIT_ERROR;
	}
	count = vr_module_pci_driver(r->module, r->target, sizeof(r->target));
	if (count == 1)
		return VR_EXIT_OK;
	fprintf(stderr, "%s: %s: module %s registers %s PCI driver; name one with --driver (nothing was changed)\n",
		vr_prog, r->dev, r->module, count > 1 ? "more than one" : "no");
	r->target[0] = '\0';
	return VR_EXIT_ERROR;
}

/* --- 2. free, and still free right before the unbind --- */

static void vr_progress(const struct vfio_release_wait *w, long long waited_ms, void *arg)
{
	struct vr_reattach *r = arg;
	char holder[128];

	(void)waited_ms;
	vr_describe(vfio_release_wait_record(w, 0), holder, sizeof(holder));
	fprintf(stderr, "%s: waiting for %s to be free: %s, %lld s\n", vr_prog, r->dev, holder,
		(vr_now_ms() - r->start_ms) / 1000);
}

static int vr_recheck_free(struct vr_reattach *r)
{
	struct vfio_release_event *rec = NULL;
	char holder[128];
	int err;

	err = vfio_release_get(r->vr, r->dev, &rec);
	if (err == -ENODEV) {
		vr_say_state(r, "left vfio while reattach waited (nothing was changed)");
		return VR_EXIT_CHANGED;
	}
	if (err)
		return vr_error(r, "reading its record again", err);
	vr_describe(rec, holder, sizeof(holder));
	err = vfio_release_event_get_state(rec) == VFIO_RELEASE_STATE_FREE ? 0 : VR_RETRY;
	vfio_release_event_unref(rec);
	if (err)
		fprintf(stderr, "%s: %s: no longer free (%s): waiting again\n", vr_prog, r->dev, holder);
	return err;
}

static int vr_wait_until_free(struct vr_reattach *r)
{
	char names[1][VFIO_RELEASE_DEVICE_NAME_MAX];
	struct vr_wait_opts wo = {
		.target = VFIO_RELEASE_STATE_FREE,
		.progress = vr_progress,
		.progress_arg = r,
	};
	int status;

	snprintf(names[0], sizeof(names[0]), "%s", r->dev);
	if (vr_open(&r->vr))
		return VR_EXIT_ERROR;
	do {
		wo.timeout_ms = vr_left_ms(r);
		status = vr_wait_devices(names, 1, &wo);
		if (!status)
			status = vr_load_host_driver(r);
		if (!status) {
			vr_test_pause("before-recheck");
			status = vr_recheck_free(r);
		}
	} while (status == VR_RETRY);
	return status;
}

/* --- 3 and 4. steer, unbind, probe --- */

static void vr_explain_steering(const struct vr_reattach *r)
{
	/* vfio_pci_core drivers match by override only: bound without one means a dynamic id. */
	if (vr_is_vfio_driver(r->from) && !*r->from_override)
		fprintf(stderr, "%s: %s: bound to %s without driver_override, so %s has a dynamic id for it (new_id or ids=); driver_override=%s steers the probe past it, the id stays (a later reprobe of the device would give it to %s again)\n",
			vr_prog, r->dev, r->from, r->from, r->target, r->from);
	if (vr_pci_vf_without_autoprobe(r->dev))
		fprintf(stderr, "%s: %s: a VF whose PF has sriov_drivers_autoprobe=0: the kernel probes it only for driver_override, set to %s\n",
			vr_prog, r->dev, r->target);
}

/* Waits until some driver has the device; buf gets its name ("" none). */
static void vr_await_driver(const char *dev, char *buf, size_t size)
{
	int waited;

	for (waited = 0;; waited += VR_BIND_POLL_MS) {
		if (vr_pci_driver(dev, buf, size))
			buf[0] = '\0';
		if (*buf || waited >= VR_BIND_WAIT_MS)
			return;
		vr_sleep_ms(VR_BIND_POLL_MS);
	}
}

/* --restore: back to the VFIO driver it had, with its old driver_override. */
static int vr_restore(const struct vr_reattach *r)
{
	char driver[VR_DRIVER_NAME_MAX];

	vr_pci_set_override(r->dev, r->from);
	vr_pci_reprobe(r->dev);
	vr_await_driver(r->dev, driver, sizeof(driver));
	if (!*driver) {
		vr_pci_bind(r->dev, r->from);
		vr_await_driver(r->dev, driver, sizeof(driver));
	}
	if (!strcmp(driver, r->from))
		vr_pci_set_override(r->dev, r->from_override);
	vr_say_state(r, strcmp(driver, r->from) ? "--restore failed" : "--restore: returned it");
	return VR_EXIT_CHANGED;
}

/* Unbound from its old driver, and the host driver did not take it. */
static int vr_not_taken(const struct vr_reattach *r, const char *driver, int bind_err)
{
	fprintf(stderr, "%s: %s: %s%s%s%s did not take it%s%s\n", vr_prog, r->dev,
		*r->from ? "unbound from " : "", r->from, *r->from ? ", but " : "", r->target,
		bind_err ? ": " : "", bind_err ? strerror(-bind_err) : "");
	if (r->restore && *r->from && !*driver)
		return vr_restore(r);
	if (!*driver)
		vr_pci_set_override(r->dev, "");
	vr_say_state(r, "left");
	return VR_EXIT_CHANGED;
}

static int vr_probe_host_driver(const struct vr_reattach *r)
{
	char driver[VR_DRIVER_NAME_MAX];
	int err = 0;

	/* drivers_probe answers an error when no driver took it: checked below. */
	vr_pci_reprobe(r->dev);
	vr_await_driver(r->dev, driver, sizeof(driver));
	if (!*driver) {
		/* An explicit bind tells why: the probe's own error (it probes synchronously). */
		err = vr_pci_bind(r->dev, r->target);
		if (vr_pci_driver(r->dev, driver, sizeof(driver)))
			driver[0] = '\0';
	}
	if (strcmp(driver, r->target))
		return vr_not_taken(r, driver, err);
	err = vr_pci_set_override(r->dev, "");
	if (err)
		fprintf(stderr, "%s: %s: on %s, but clearing driver_override failed: %s\n",
			vr_prog, r->dev, r->target, strerror(-err));
	printf("%s: reattached to %s\n", r->dev, r->target);
	return VR_EXIT_OK;
}

/*
 * What the unbind's child does if the unbind outlasts us: finish the
 * return to the host driver, or with --restore go back to the VFIO driver.
 */
static struct vr_unbind_plan vr_plan_if_blocked(const struct vr_reattach *r)
{
	if (r->restore)
		return (struct vr_unbind_plan){ r->from, r->from_override };
	return (struct vr_unbind_plan){ r->target, "" };
}

/*
 * The unbind is blocked: someone reopened the device. Say who, and what
 * follows. driver_override cannot be read now (see unbind.h): it is what
 * we wrote.
 */
static int vr_unbind_blocked(struct vr_reattach *r, const struct vr_unbind_plan *then,
			     pid_t finisher)
{
	char holder[128];

	vr_describe_now(r, holder, sizeof(holder));
	fprintf(stderr, "%s: %s: reopened before the unbind (%s): the unbind from %s is blocked in the kernel until that process closes the device\n",
		vr_prog, r->dev, holder, r->from);
	/* The kernel drops the driver link before it calls the driver's remove. */
	fprintf(stderr, "%s: %s: left: being unbound, %s's remove waits for that process (sysfs shows no driver already), driver_override %s\n",
		vr_prog, r->dev, r->from, r->target);
	fprintf(stderr, "%s: %s: once the unbind completes, process %d binds it to %s%s\n",
		vr_prog, r->dev, (int)finisher, then->bind, r->restore ? " (--restore)" : "");
	return VR_EXIT_CHANGED;
}

/* The unbind failed outright: still bound, put the override back. */
static int vr_unbind_failed(const struct vr_reattach *r, int err)
{
	fprintf(stderr, "%s: %s: unbinding from %s failed: %s\n", vr_prog, r->dev, r->from,
		strerror(-err));
	if (!vr_pci_set_override(r->dev, r->from_override)) {
		fprintf(stderr, "%s: %s: driver_override put back to %s: nothing was changed\n",
			vr_prog, r->dev, *r->from_override ? r->from_override : "none");
		return VR_EXIT_ERROR;
	}
	vr_say_state(r, "left");
	return VR_EXIT_CHANGED;
}

static int vr_unbind_ms(const struct vr_reattach *r)
{
	int left = vr_left_ms(r);

	if (left < 0)
		return VR_UNBIND_DEFAULT_MS;
	return left > VR_UNBIND_MIN_MS ? left : VR_UNBIND_MIN_MS;
}

static int vr_move_to_host_driver(struct vr_reattach *r)
{
	struct vr_unbind_plan if_blocked = vr_plan_if_blocked(r);
	pid_t finisher;
	int err;

	vr_explain_steering(r);
	vr_test_pause("before-unbind");
	err = vr_pci_set_override(r->dev, r->target);
	if (err)
		return vr_error(r, "setting driver_override", err);
	if (*r->from) {
		err = vr_unbind_bounded(r->dev, r->from, vr_unbind_ms(r), &if_blocked, &finisher);
		if (err == -ETIMEDOUT)
			return vr_unbind_blocked(r, &if_blocked, finisher);
		if (err)
			return vr_unbind_failed(r, err);
	}
	return vr_probe_host_driver(r);
}

/* --- the command --- */

static int vr_parse_reattach(int argc, char **argv, struct vr_reattach *r,
			     char *name, int *timeout_ms)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "restore", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "d:t:rh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (!*optarg || strchr(optarg, '/') || strlen(optarg) >= VR_DRIVER_NAME_MAX)
				return vr_usage_error("bad driver name '%s'", optarg);
			r->want = optarg;
			break;
		case 't':
			if (vr_parse_timeout(optarg, timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'r':
			r->restore = true;
			break;
		case 'h':
			vr_command_help("reattach");
			return VR_EXIT_OK;
		default:
			return vr_usage_error("reattach: bad option");
		}
	}
	if (argc - optind != 1)
		return vr_usage_error("reattach: exactly one DEVICE expected");
	if (r->want && !vr_is_host_driver(r->want))
		return vr_usage_error("reattach: %s is not a host driver", r->want);
	if (vfio_release_parse_device(argv[optind], name, VFIO_RELEASE_DEVICE_NAME_MAX))
		return vr_usage_error("'%s' is not a PCI address (like 0000:01:00.0 or 01:00.0)",
				      argv[optind]);
	return VR_CONTINUE;
}

int vr_cmd_reattach(int argc, char **argv)
{
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];
	struct vr_reattach r = { .dev = name, .deadline_ms = -1 };
	int status, timeout_ms = -1;

	status = vr_parse_reattach(argc, argv, &r, name, &timeout_ms);
	if (status != VR_CONTINUE)
		return status;
	r.start_ms = vr_now_ms();
	if (timeout_ms >= 0)
		r.deadline_ms = r.start_ms + timeout_ms;

	status = vr_read_start(&r);
	if (status != VR_CONTINUE)
		return status;
	status = r.want ? vr_plan_named_driver(&r) : vr_plan_modalias_driver(&r);
	if (!status) {
		/* pci-stub and no driver at all have nothing to wait for. */
		if (vr_is_vfio_driver(r.from))
			status = vr_wait_until_free(&r);
		else
			status = vr_load_host_driver(&r);
	}
	if (!status)
		status = vr_move_to_host_driver(&r);
	if (r.vr)
		vfio_release_close(r.vr);
	return status;
}
