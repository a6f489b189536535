// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release gate --qmp SOCKET (--id ID [--host DEVICE] | --all)
 *                   [--timeout S] -- COMMAND...
 *
 * For managers that unplug the device or stop the VM themselves: a
 * passive listener on a monitor of QEMU's own (it never sends device_del
 * or quit, only QOM queries) that runs COMMAND once the device really is
 * free.
 *   --id ID  the vfio-pci device ID: DEVICE_DELETED for it, or QEMU's
 *            exit, and its host device free;
 *   --all    every vfio-pci device of the QEMU, listed once at gate's
 *            start (devices hot-plugged later are not gated): each one's
 *            DEVICE_DELETED, or QEMU's exit, and all of them free. One that
 *            leaves vfio after its DEVICE_DELETED, before it is free, is
 *            taken for the manager's own reattach and no longer waited for.
 * Then COMMAND is exec'd: its exit status is gate's. Otherwise COMMAND
 * does not run, and gate's own statuses are those of timeout(1) and
 * env(1), apart from any COMMAND's: 124 on its timeout (saying which
 * condition is missing and why), 125 on its own error (nothing to wait
 * for, QEMU already gone, a bad argument, QEMU and the kernel disagree, a
 * device left vfio before it was free). A COMMAND that cannot be run is
 * 127 (not found) or 126, like a shell.
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

/* vfio-pci devices of one QEMU, by --all. */
#define VR_GATE_DEVICES_MAX 64

/* gate's own statuses, apart from COMMAND's (timeout(1), env(1)). */
#define VR_GATE_EXIT_TIMEOUT 124
#define VR_GATE_EXIT_ERROR 125

struct vr_gate {
	const char *qmp;
	const char *id;			/* --id, or NULL with --all */
	bool all;
	bool have_host;
	char host[VFIO_RELEASE_DEVICE_NAME_MAX];	/* --host, canonical */
	int timeout_ms;
	long long deadline_ms;
	char **command;
	unsigned int ndevices;
	char devices[VR_GATE_DEVICES_MAX][VFIO_RELEASE_DEVICE_NAME_MAX];
	char ids[VR_GATE_DEVICES_MAX][128];	/* its id, or its QOM path when it has none */
	int unknown;			/* --all: devices whose host QEMU does not know */
	/*
	 * Per device: its index in the matcher (-1 once it is settled: done,
	 * or reattached by the manager), and what it came to then.
	 */
	int idx[VR_GATE_DEVICES_MAX];
	bool done[VR_GATE_DEVICES_MAX];
	bool reattached[VR_GATE_DEVICES_MAX];
	struct vr_outcome settled[VR_GATE_DEVICES_MAX];
	struct vr_qemu qe;
};

static int vr_parse_gate(int argc, char **argv, struct vr_gate *g)
{
	static const struct option opts[] = {
		{ "qmp", required_argument, NULL, 'q' },
		{ "id", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "all", no_argument, NULL, 'a' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int opt;

	/* '+': COMMAND's own options are not gate's. */
	while ((opt = getopt_long(argc, argv, "+q:i:H:at:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			g->qmp = optarg;
			break;
		case 'i':
			g->id = optarg;
			break;
		case 'H':
			if (vfio_release_parse_device(optarg, g->host, sizeof(g->host)))
				return vr_usage_error("'%s' is not a PCI address (like 0000:01:00.0 or 01:00.0)",
						      optarg);
			g->have_host = true;
			break;
		case 'a':
			g->all = true;
			break;
		case 't':
			if (vr_parse_timeout(optarg, &g->timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'h':
			vr_command_help("gate");
			return VR_EXIT_OK;
		default:
			return vr_usage_error("gate: bad option");
		}
	}
	if (!g->qmp)
		return vr_usage_error("gate: --qmp SOCKET is required");
	if (!g->id == !g->all)
		return vr_usage_error("gate: give either --id ID or --all");
	if (g->id && !vr_qemu_id_valid(g->id))
		return vr_usage_error("gate: bad id '%s': QEMU's ids are a letter, then letters, digits, '-', '.' or '_'",
				      g->id);
	if (g->all && g->have_host)
		return vr_usage_error("gate: --host goes with --id (--all takes QEMU's word for every device)");
	if (optind >= argc)
		return vr_usage_error("gate: no COMMAND given (after --)");
	g->command = argv + optind;
	return -1;
}

static int vr_gate_collect(const char *id, const char *qom_path, const char *device, void *arg)
{
	struct vr_gate *g = arg;

	if (!device) {
		fprintf(stderr, "%s: gate: %s: QEMU does not know the host device of its vfio-pci device '%s' (given as a file descriptor?): use --id with --host\n",
			vr_prog, g->qmp, id ? id : qom_path);
		g->unknown++;
		return 0;
	}
	if (g->ndevices == VR_GATE_DEVICES_MAX)
		return -E2BIG;
	snprintf(g->devices[g->ndevices], sizeof(g->devices[0]), "%s", device);
	/* A device without an id is known by its QOM path, as QEMU names it. */
	snprintf(g->ids[g->ndevices], sizeof(g->ids[0]), "%s", id ? id : qom_path);
	g->ndevices++;
	return 0;
}

/* QEMU's vfio-pci devices, now, for --all. */
static int vr_gate_list(struct vr_gate *g)
{
	int wait_ms = vr_ms_left(g->deadline_ms, VR_QMP_QUERY_MS);
	int n = vfio_release_qmp_vfio_devices(g->qe.q, wait_ms, vr_gate_collect, g);

	if (n == -ECONNRESET) {
		fprintf(stderr, "%s: gate: %s: QEMU closed the monitor while its devices were listed (it exited?)\n",
			vr_prog, g->qmp);
		return VR_EXIT_ERROR;
	}
	if (n == -E2BIG) {
		fprintf(stderr, "%s: gate: %s: more than %d vfio-pci devices\n", vr_prog, g->qmp,
			VR_GATE_DEVICES_MAX);
		return VR_EXIT_ERROR;
	}
	if (n == -ETIMEDOUT && g->deadline_ms >= 0 && wait_ms < VR_QMP_QUERY_MS) {
		fprintf(stderr, "%s: gate: %s: timed out: QEMU did not list its devices within the %.1f s left of --timeout\n",
			vr_prog, g->qmp, wait_ms / 1000.0);
		return VR_EXIT_TIMEOUT;
	}
	if (n < 0) {
		fprintf(stderr, "%s: gate: %s: listing QEMU's vfio-pci devices: %s\n", vr_prog,
			g->qmp, strerror(-n));
		return VR_EXIT_ERROR;
	}
	if (g->unknown)
		return VR_EXIT_ERROR;
	if (!g->ndevices) {
		fprintf(stderr, "%s: gate: %s: QEMU has no vfio-pci device: nothing to wait for\n",
			vr_prog, g->qmp);
		return VR_EXIT_ERROR;
	}
	return VR_EXIT_OK;
}

/*
 * An unplug expectation per device not yet settled, on a new matcher when
 * one is open: by its id, or its QOM path. It completes at its own
 * DEVICE_DELETED and free, or at QEMU's exit and free.
 */
static int vr_gate_expect(struct vr_gate *g)
{
	unsigned int i;
	int ret;

	for (i = 0; i < g->ndevices; i++) {
		if (g->done[i])
			continue;
		ret = vfio_release_match_expect_unplug(g->qe.m, g->ids[i], g->devices[i]);
		if (ret < 0)
			return vr_qemu_expect_failed(&g->qe, g->devices[i], g->ids[i], ret);
		g->idx[i] = ret;
	}
	return VR_EXIT_OK;
}

static void vr_gate_say_one(struct vr_gate *g, unsigned int i, const struct vr_outcome *o)
{
	char text[512];

	if (g->reattached[i]) {
		fprintf(stderr, "%s: gate: %s (%s): DEVICE_DELETED +%.1f ms, then it left vfio before it was free: taken for the manager's own reattach\n",
			vr_prog, g->devices[i], g->ids[i], o->qemu_ms);
		return;
	}
	vr_outcome_describe(o, text, sizeof(text));
	fprintf(stderr, "%s: gate: %s (%s): %s\n", vr_prog, g->devices[i], g->ids[i], text);
}

/* One line per device: what came, when, and for a timeout what did not. */
static void vr_gate_say(struct vr_gate *g, int ret)
{
	struct vr_outcome o;
	unsigned int i;

	for (i = 0; i < g->ndevices; i++) {
		if (g->idx[i] < 0) {
			if (ret != -ETIMEDOUT)
				vr_gate_say_one(g, i, &g->settled[i]);
			continue;
		}
		vr_qemu_outcome(&g->qe, g->idx[i], &o);
		if (ret == -ETIMEDOUT && o.have_qemu && o.have_free)
			continue;
		vr_gate_say_one(g, i, &o);
	}
}

/*
 * A device left vfio (-ENODEV): after its DEVICE_DELETED it is the
 * manager's to reattach, and the others are waited for on a new matcher
 * (a GONE expectation ends every run); before, gate fails. Returns 0 to
 * go on waiting, else an exit status.
 */
static int vr_gate_settle(struct vr_gate *g)
{
	enum vfio_release_match_status st;
	unsigned int i, left = 0;
	int status;

	for (i = 0; i < g->ndevices; i++) {
		if (g->idx[i] < 0)
			continue;
		st = vfio_release_match_status(g->qe.m, g->idx[i]);
		if (st == VFIO_RELEASE_MATCH_GONE &&
		    !(g->all && vr_qemu_deleted(&g->qe, g->ids[i]))) {
			fprintf(stderr, "%s: gate: %s (%s) left vfio (unbound or removed) before it was free%s: not running %s\n",
				vr_prog, g->devices[i], g->ids[i],
				vr_qemu_deleted(&g->qe, g->ids[i]) ? "" : " and before its DEVICE_DELETED",
				g->command[0]);
			vr_gate_say(g, -ENODEV);
			return VR_GATE_EXIT_ERROR;
		}
	}
	for (i = 0; i < g->ndevices; i++) {
		if (g->idx[i] < 0)
			continue;
		st = vfio_release_match_status(g->qe.m, g->idx[i]);
		if (st == VFIO_RELEASE_MATCH_PENDING) {
			left++;
			continue;
		}
		vr_qemu_outcome(&g->qe, g->idx[i], &g->settled[i]);
		/* The matcher's strings go with it. */
		g->settled[i].device = g->devices[i];
		g->settled[i].id = g->ids[i];
		if (st == VFIO_RELEASE_MATCH_GONE) {
			g->reattached[i] = true;
			fprintf(stderr, "%s: gate: %s (%s) left vfio after its DEVICE_DELETED, before it was free: taken for the manager's own reattach; not waiting for it\n",
				vr_prog, g->devices[i], g->ids[i]);
		}
		g->idx[i] = -1;
		g->done[i] = true;
	}
	if (!left)
		return VR_EXIT_OK;
	vfio_release_match_free(g->qe.m);
	g->qe.m = NULL;
	if (vfio_release_match_new(g->qe.vr, &g->qe.m)) {
		fprintf(stderr, "%s: gate: cannot make a new matcher: not running %s\n", vr_prog,
			g->command[0]);
		return VR_GATE_EXIT_ERROR;
	}
	status = vr_gate_expect(g);
	if (status)
		return VR_GATE_EXIT_ERROR;
	vr_qemu_replay(&g->qe);
	return -1;
}

static int vr_gate_wait(struct vr_gate *g)
{
	const char *what = g->all ? "each one's DEVICE_DELETED or QEMU's exit" :
				    "DEVICE_DELETED or QEMU's exit";
	unsigned int i;
	int ret, status;

	g->qe.start_ns = vr_mono_ns();
	fprintf(stderr, "%s: gate: listening on %s: waiting for %s and %u device%s free\n",
		vr_prog, g->qmp, what, g->ndevices, g->ndevices == 1 ? "" : "s");
	if (g->all) {
		fprintf(stderr, "%s: gate: gating", vr_prog);
		for (i = 0; i < g->ndevices; i++)
			fprintf(stderr, "%s %s (%s)", i ? "," : "", g->devices[i], g->ids[i]);
		fprintf(stderr, "; devices hot-plugged from now on are not gated\n");
	}
	for (;;) {
		ret = vr_qemu_run(&g->qe, g->deadline_ms);
		if (ret != -ENODEV)
			break;
		status = vr_gate_settle(g);
		if (status >= 0) {
			if (status == VR_EXIT_OK)
				vr_gate_say(g, 1);
			return status;
		}
	}
	if (ret == 1) {
		vr_gate_say(g, ret);
		return VR_EXIT_OK;
	}
	if (ret == -ETIMEDOUT) {
		fprintf(stderr, "%s: gate: timed out after %.1f s: not running %s\n", vr_prog,
			g->timeout_ms / 1000.0, g->command[0]);
		vr_gate_say(g, ret);
		return VR_GATE_EXIT_TIMEOUT;
	}
	fprintf(stderr, "%s: gate: waiting: %s: not running %s\n", vr_prog,
		vfio_release_strerror(ret), g->command[0]);
	return VR_GATE_EXIT_ERROR;
}

/* gate's own statuses: apart from COMMAND's. */
static int vr_gate_status(int status)
{
	switch (status) {
	case VR_EXIT_OK:
		return VR_EXIT_OK;
	case VR_EXIT_TIMEOUT:
		return VR_GATE_EXIT_TIMEOUT;
	case VR_EXIT_ERROR:
	case VR_EXIT_CHANGED:
		return VR_GATE_EXIT_ERROR;
	default:
		return status;
	}
}

static int vr_gate_run(struct vr_gate *g)
{
	bool known = false;
	unsigned int i;
	int status;

	status = vr_qemu_connect(&g->qe, g->qmp, vr_ms_left(g->deadline_ms, VR_QMP_CONNECT_MS));
	if (status)
		return vr_gate_status(status);
	if (g->all) {
		status = vr_gate_list(g);
	} else {
		status = vr_qemu_host_device(&g->qe, g->id, g->have_host ? g->host : NULL,
					     g->devices[0], vr_ms_left(g->deadline_ms, VR_QMP_QUERY_MS),
					     g->deadline_ms >= 0 &&
					     vr_ms_left(g->deadline_ms, VR_QMP_QUERY_MS) < VR_QMP_QUERY_MS,
					     &known);
		snprintf(g->ids[0], sizeof(g->ids[0]), "%s", g->id);
		g->ndevices = 1;
	}
	for (i = 0; i < g->ndevices; i++)
		g->idx[i] = -1;
	if (!status)
		status = vr_qemu_open_matcher(&g->qe);
	if (!status)
		status = vr_gate_expect(g);
	/* --host is taken only when the kernel agrees QEMU holds it. */
	if (!status && g->have_host)
		status = vr_qemu_check_holder(&g->qe, g->id, g->devices[0], known);
	if (status)
		return vr_gate_status(status);
	return vr_gate_wait(g);
}

int vr_cmd_gate(int argc, char **argv)
{
	struct vr_gate g = {
		.timeout_ms = -1, .deadline_ms = -1, .qe = { .cmd = "gate" },
	};
	int status;

	status = vr_parse_gate(argc, argv, &g);
	if (status >= 0)
		return vr_gate_status(status);
	if (g.timeout_ms >= 0)
		g.deadline_ms = vr_mono_ms() + g.timeout_ms;
	status = vr_gate_run(&g);
	/* COMMAND gets none of gate's sockets. */
	vr_qemu_close(&g.qe);
	if (status)
		return status;
	fflush(NULL);
	execvp(g.command[0], g.command);
	fprintf(stderr, "%s: gate: cannot run %s: %s\n", vr_prog, g.command[0], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
