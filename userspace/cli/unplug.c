// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release unplug --qmp SOCKET --id ID [--host DEVICE]
 *                     [--reattach [--driver NAME]] [--timeout S] [--json]
 *
 * Takes a vfio-pci device out of a running VM and says when it is truly
 * free: QEMU's DEVICE_DELETED only means the guest let go of it; the host
 * device is free once the kernel says so. In order, so that bad input
 * changes nothing:
 *  1. the arguments, then QEMU's monitor, then the device's host address
 *     through QOM (--host when QEMU does not know it; both must agree);
 *  2. the matcher's expectation, before device_del, so that neither
 *     DEVICE_DELETED nor the kernel's free can come unseen;
 *  3. device_del, and the wait for both sides, in either order;
 *  4. with --reattach, reattach's own path (vr_cmd_reattach()).
 *
 * Before device_del the kernel's record must agree that QEMU holds the
 * device (open, by QEMU's pid when known), and at least a second of
 * --timeout must be left: a device_del sent with no time to wait for it
 * would change the VM and report nothing.
 *
 * Exit status: 0 deleted and free (and on the host driver with
 * --reattach); 1 timed out, with the missing side and why (device_del may
 * or may not have been sent: see device_del_sent); 2 an error before
 * anything was changed (a refused device_del included): never once
 * device_del was sent; 3 changed but not as asked: QEMU exited before
 * DEVICE_DELETED, the device left vfio before it was free, an error after
 * device_del, or reattach did not put it on a host driver.
 */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "output.h"
#include "qemu-side.h"
#include "sysfs.h"

struct vr_unplug {
	const char *qmp;
	const char *id;
	const char *driver;		/* --driver, or NULL */
	bool have_host;
	char host[VFIO_RELEASE_DEVICE_NAME_MAX];	/* --host, canonical */
	bool reattach;
	bool json;
	int timeout_ms;			/* -1: none */
	long long deadline_ms;		/* CLOCK_MONOTONIC; -1: none */
	char device[VFIO_RELEASE_DEVICE_NAME_MAX];
	bool device_del_sent;
	bool pending;			/* QEMU had an unplug of it pending already */
	bool unanswered;		/* QEMU closed before answering device_del */
	const char *result;		/* the JSON's "result" */
	json_object *out;		/* --json: the one object printed */
	struct vr_qemu qe;
};

/* Whether waiting cap_ms would outlast --timeout: its end is the deadline's. */
static bool vr_cut_ms(const struct vr_unplug *u, int cap_ms)
{
	return u->deadline_ms >= 0 && vr_ms_left(u->deadline_ms, cap_ms) < cap_ms;
}

/* device_del only with a second of --timeout left to wait for it. */
static int vr_unplug_time_left(struct vr_unplug *u, const char *what)
{
	int left = vr_ms_left(u->deadline_ms, 1000);

	if (u->deadline_ms < 0 || left >= 1000)
		return VR_EXIT_OK;
	u->result = "timeout";
	vr_qemu_fail(&u->qe, -ETIMEDOUT,
		     "%s: not sending device_del: %.3f s of --timeout %.1f s left: %s used up the time (nothing was changed; give a longer --timeout)",
		     u->id, left / 1000.0, u->timeout_ms / 1000.0, what);
	return VR_EXIT_TIMEOUT;
}

static int vr_parse_unplug(int argc, char **argv, struct vr_unplug *u)
{
	static const struct option opts[] = {
		{ "qmp", required_argument, NULL, 'q' },
		{ "id", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "reattach", no_argument, NULL, 'r' },
		{ "driver", required_argument, NULL, 'd' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "q:i:H:rd:t:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			u->qmp = optarg;
			break;
		case 'i':
			u->id = optarg;
			break;
		case 'H':
			if (vfio_release_parse_device(optarg, u->host, sizeof(u->host)))
				return vr_usage_error("'%s' is not a PCI address (like 0000:01:00.0 or 01:00.0)",
						      optarg);
			u->have_host = true;
			break;
		case 'r':
			u->reattach = true;
			break;
		case 'd':
			if (!*optarg || strchr(optarg, '/') || strlen(optarg) >= VR_DRIVER_NAME_MAX)
				return vr_usage_error("bad driver name '%s'", optarg);
			u->driver = optarg;
			break;
		case 't':
			if (vr_parse_timeout(optarg, &u->timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'j':
			u->json = true;
			break;
		case 'h':
			vr_command_help("unplug");
			return VR_EXIT_OK;
		default:
			return vr_usage_error("unplug: bad option");
		}
	}
	if (optind < argc)
		return vr_usage_error("unplug: unexpected argument '%s'", argv[optind]);
	if (!u->qmp)
		return vr_usage_error("unplug: --qmp SOCKET is required");
	if (!u->id)
		return vr_usage_error("unplug: --id ID is required (QEMU's id of the vfio-pci device)");
	if (!vr_qemu_id_valid(u->id))
		return vr_usage_error("unplug: bad id '%s': QEMU's ids are a letter, then letters, digits, '-', '.' or '_'",
				      u->id);
	if (u->driver && !u->reattach)
		return vr_usage_error("unplug: --driver needs --reattach");
	/* Refused here, as reattach would, so as not to unplug for nothing. */
	if (u->driver && (vr_is_stub_driver(u->driver) || vr_is_vfio_driver(u->driver)))
		return vr_usage_error("unplug: %s is not a host driver", u->driver);
	return -1;
}

/* Text, or the JSON's members: what happened to the device. */
static void vr_unplug_report(struct vr_unplug *u, int status)
{
	struct vr_outcome o;
	char text[512];

	if (!u->qe.m || !vfio_release_match_count(u->qe.m))
		return;
	vr_qemu_outcome(&u->qe, 0, &o);
	if (u->out)
		vr_outcome_json(&o, u->out);
	vr_outcome_describe(&o, text, sizeof(text));
	if (!u->json)
		fprintf(status ? stderr : stdout, "%s%s %s: %s\n", status ? "vfio-release: unplug: " : "",
			u->id, u->device, text);
}

/*
 * The wait's end, said: which side is missing, and why. device_del was
 * sent (or QEMU had it pending): nothing here is "nothing changed".
 */
static int vr_unplug_finish(struct vr_unplug *u, int ret)
{
	struct vr_outcome o;
	char why[256];

	vr_qemu_outcome(&u->qe, 0, &o);
	vr_outcome_why(&o, why, sizeof(why));
	if (ret == 1 && !vr_qemu_deleted(&u->qe, u->id)) {
		u->result = "qemu-exited";
		vr_qemu_fail(&u->qe, -ECONNRESET, "%s: QEMU exited (%s) before DEVICE_DELETED; %s is free%s",
			     u->id, u->qe.shutdown ? "it shut down" : "the monitor closed",
			     u->device, u->reattach ? ": not reattached" : "");
		return VR_EXIT_CHANGED;
	}
	if (ret == 1) {
		u->result = "done";
		return VR_EXIT_OK;
	}
	if (ret == -ETIMEDOUT) {
		u->result = "timeout";
		if (!o.have_qemu) {
			vr_qemu_fail(&u->qe, ret, "%s: no DEVICE_DELETED after %.1f s: the guest did not acknowledge the unplug (the device is still in the VM; the device_del stays pending: the guest may still complete it later)",
				     u->id, u->timeout_ms / 1000.0);
			if (!o.have_free)
				fprintf(stderr, "%s: unplug: %s: not free: %s\n", vr_prog, u->device,
					why);
		} else if (!o.have_free) {
			vr_qemu_fail(&u->qe, ret, "%s: %s came, but %s is not free after %.1f s: %s",
				     u->id, o.qemu_event, u->device, u->timeout_ms / 1000.0, why);
		}
		return VR_EXIT_TIMEOUT;
	}
	if (ret == -ENODEV) {
		u->result = "gone";
		vr_qemu_fail(&u->qe, ret, "%s: left vfio (unbound or removed) before it was free",
			     u->device);
		return VR_EXIT_CHANGED;
	}
	/* device_del went out: the VM may have changed, whatever failed here. */
	u->result = "error";
	vr_qemu_fail(&u->qe, ret, "%s: waiting after device_del: %s (the unplug may go on without us)",
		     u->device, vfio_release_strerror(ret));
	return VR_EXIT_CHANGED;
}

/* QEMU's refusal of a second device_del while the first is pending. */
static bool vr_already_pending(const char *class, const char *desc)
{
	return class && desc && !strcmp(class, "GenericError") &&
	       strstr(desc, "already in the process of unplug");
}

/*
 * device_del: 0 sent and accepted, or sent and unanswered (QEMU went away,
 * or its reply did not come in time: it may well have been executed; the
 * wait then sees), or QEMU had the unplug pending already; else an exit
 * status with QEMU's words.
 */
static int vr_device_del(struct vr_unplug *u)
{
	struct vfio_release_qmp_message *reply = NULL;
	json_object *args = json_object_new_object();
	int err, wait_ms = vr_ms_left(u->deadline_ms, VR_QMP_QUERY_MS);

	json_object_object_add(args, "id", json_object_new_string(u->id));
	u->qe.start_ns = vr_mono_ns();
	u->device_del_sent = true;
	err = vfio_release_qmp_execute(u->qe.q, "device_del",
				       json_object_to_json_string_ext(args, JSON_C_TO_STRING_PLAIN),
				       wait_ms, &reply);
	json_object_put(args);
	if (err == -EREMOTEIO) {
		const char *class = vfio_release_qmp_message_error_class(reply);
		const char *desc = vfio_release_qmp_message_error_desc(reply);

		/* QEMU refused: nothing was changed by this device_del. */
		u->device_del_sent = false;
		if (u->out) {
			json_object *e = json_object_new_object();

			if (class)
				json_object_object_add(e, "class", json_object_new_string(class));
			if (desc)
				json_object_object_add(e, "desc", json_object_new_string(desc));
			json_object_object_add(u->out, "qemu_error", e);
		}
		if (vr_already_pending(class, desc)) {
			/* An earlier device_del (ours, the manager's) is under way. */
			u->pending = true;
			fprintf(stderr, "%s: unplug: %s: QEMU says an unplug is already pending (%s): waiting for its DEVICE_DELETED and %s free as if we had sent it\n",
				vr_prog, u->id, desc, u->device);
			vfio_release_qmp_message_unref(reply);
			return 0;
		}
		u->result = "refused";
		vr_qemu_fail(&u->qe, err, "%s: QEMU refused device_del: %s (%s)", u->id,
			     desc ? desc : "no description", class ? class : "no class");
		vfio_release_qmp_message_unref(reply);
		return VR_EXIT_ERROR;
	}
	vfio_release_qmp_message_unref(reply);
	if (err == -ECONNRESET) {
		/* The wait says the rest: QEMU gone counts as deleted, but is told. */
		u->unanswered = true;
		fprintf(stderr, "%s: unplug: %s: QEMU closed the monitor before it answered device_del\n",
			vr_prog, u->id);
		return 0;
	}
	if (err == -ETIMEDOUT || err == -ENOBUFS) {
		/* Sent: QEMU may well have executed it. Its events still count. */
		u->unanswered = true;
		fprintf(stderr, "%s: unplug: %s: QEMU did not answer device_del within %.1f s (%s): it may have been executed: waiting for DEVICE_DELETED and %s free all the same\n",
			vr_prog, u->id, wait_ms / 1000.0, vfio_release_strerror(err), u->device);
		return 0;
	}
	if (err) {
		u->result = "error";
		vr_qemu_fail(&u->qe, err, "%s: sending device_del: %s (it may have reached QEMU)",
			     u->id, vfio_release_strerror(err));
		return VR_EXIT_CHANGED;
	}
	return 0;
}

/*
 * reattach's own path, as `vfio-release reattach DEVICE [--driver NAME]
 * [--timeout LEFT]` would run it. Its stdout (its progress words) goes to
 * stderr under --json, which keeps stdout one JSON object.
 */
static int vr_unplug_reattach(struct vr_unplug *u)
{
	char timeout[32];
	char *argv[8];
	int argc = 0, saved = -1, status;

	argv[argc++] = "reattach";
	argv[argc++] = u->device;
	if (u->driver) {
		argv[argc++] = "--driver";
		argv[argc++] = (char *)u->driver;
	}
	if (u->deadline_ms >= 0) {
		int left = vr_ms_left(u->deadline_ms, VR_TIMEOUT_MAX_S * 1000);

		snprintf(timeout, sizeof(timeout), "%d.%03d", left / 1000, left % 1000);
		argv[argc++] = "--timeout";
		argv[argc++] = timeout;
	}
	argv[argc] = NULL;
	fflush(stdout);
	if (u->json) {
		saved = dup(STDOUT_FILENO);
		if (saved >= 0)
			dup2(STDERR_FILENO, STDOUT_FILENO);
	}
	optind = 0;	/* getopt starts afresh for reattach's arguments */
	status = vr_cmd_reattach(argc, argv);
	fflush(stdout);
	if (saved >= 0) {
		dup2(saved, STDOUT_FILENO);
		close(saved);
	}
	if (u->out) {
		json_object *r = json_object_new_object();
		char driver[VR_DRIVER_NAME_MAX] = "";

		vr_pci_driver(u->device, driver, sizeof(driver));
		json_object_object_add(r, "exit", json_object_new_int(status));
		if (*driver)
			json_object_object_add(r, "driver", json_object_new_string(driver));
		json_object_object_add(u->out, "reattach", r);
	}
	if (status == VR_EXIT_OK)
		return VR_EXIT_OK;
	/* Unplugged and free: whatever reattach says, the device did change. */
	vr_qemu_fail(&u->qe, 0, "%s: unplugged and free, but reattach exited %d (see above)",
		     u->device, status);
	u->result = "not-reattached";
	return VR_EXIT_CHANGED;
}

static int vr_unplug_run(struct vr_unplug *u)
{
	bool known;
	int status, ret;

	status = vr_qemu_connect(&u->qe, u->qmp, vr_ms_left(u->deadline_ms, VR_QMP_CONNECT_MS));
	if (status)
		return status;
	status = vr_qemu_host_device(&u->qe, u->id, u->have_host ? u->host : NULL, u->device,
				     vr_ms_left(u->deadline_ms, VR_QMP_QUERY_MS),
				     vr_cut_ms(u, VR_QMP_QUERY_MS), &known);
	if (status)
		return status;
	if (u->out)
		json_object_object_add(u->out, "device", json_object_new_string(u->device));
	/* Asked early too, so that no kernel request is made for nothing. */
	status = vr_unplug_time_left(u, "the QOM lookups");
	if (status)
		return status;
	status = vr_qemu_open_matcher(&u->qe);
	if (status)
		return status;
	ret = vfio_release_match_expect_unplug(u->qe.m, u->id, u->device);
	if (ret < 0)
		return vr_qemu_expect_failed(&u->qe, u->device, u->id, ret);
	/* --host is QEMU's only when the kernel agrees; so is QOM's word. */
	status = vr_qemu_check_holder(&u->qe, u->id, u->device, known);
	if (status)
		return status;
	status = vr_unplug_time_left(u, "the QOM lookups and the kernel's record");
	if (status)
		return status;
	status = vr_device_del(u);
	if (status)
		return status;
	if (!u->unanswered && !u->pending)
		fprintf(stderr, "%s: unplug: %s: device_del accepted: waiting for DEVICE_DELETED and %s free\n",
			vr_prog, u->id, u->device);
	ret = vr_qemu_run(&u->qe, u->deadline_ms);
	status = vr_unplug_finish(u, ret);
	vr_unplug_report(u, status);
	/* Nothing of QEMU's or the kernel's handle is needed by reattach. */
	vr_qemu_close(&u->qe);
	if (status == VR_EXIT_OK && u->reattach)
		status = vr_unplug_reattach(u);
	return status;
}

int vr_cmd_unplug(int argc, char **argv)
{
	struct vr_unplug u = {
		.timeout_ms = -1, .deadline_ms = -1, .result = "error",
		.qe = { .cmd = "unplug" },
	};
	int status;

	status = vr_parse_unplug(argc, argv, &u);
	if (status >= 0)
		return status;
	if (u.timeout_ms >= 0)
		u.deadline_ms = vr_mono_ms() + u.timeout_ms;
	if (u.json) {
		u.out = json_object_new_object();
		json_object_object_add(u.out, "schema", json_object_new_int(VR_JSON_SCHEMA));
		json_object_object_add(u.out, "event", json_object_new_string("unplug"));
		json_object_object_add(u.out, "qmp", json_object_new_string(u.qmp));
		json_object_object_add(u.out, "id", json_object_new_string(u.id));
	}
	status = vr_unplug_run(&u);
	vr_qemu_close(&u.qe);
	if (u.out) {
		if (!status)
			u.result = "done";
		json_object_object_add(u.out, "result", json_object_new_string(u.result));
		json_object_object_add(u.out, "device_del_sent",
				       json_object_new_boolean(u.device_del_sent));
		if (u.pending)
			json_object_object_add(u.out, "device_del_pending",
					       json_object_new_boolean(true));
		if (status && *u.qe.errmsg) {
			json_object *e = json_object_new_object();

			json_object_object_add(e, "errno", json_object_new_int(-u.qe.err));
			json_object_object_add(e, "message", json_object_new_string(u.qe.errmsg));
			json_object_object_add(u.out, "error", e);
		}
		json_object_object_add(u.out, "exit", json_object_new_int(status));
		printf("%s\n", json_object_to_json_string_ext(u.out, JSON_C_TO_STRING_PRETTY |
							      JSON_C_TO_STRING_SPACED));
		json_object_put(u.out);
	}
	return status;
}
