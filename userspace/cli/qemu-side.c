// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU's side of unplug and gate: the monitor, QOM, and the matcher's
 * run. The commands see each QMP event after the matcher, to tell
 * DEVICE_DELETED from QEMU's exit (which the matcher counts alike) and a
 * quit (SHUTDOWN first) from a kill.
 */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "commands.h"
#include "output.h"
#include "qemu-side.h"

uint64_t vr_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static long long vr_mono_ms(void)
{
	return (long long)(vr_mono_ns() / 1000000ULL);
}

bool vr_qemu_id_valid(const char *id)
{
	const char *p;

	if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
		return false;
	for (p = id + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_'))
			return false;
	return p - id < 128;
}

static void vr_qemu_say(const struct vr_qemu *qe, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vr_qemu_say(const struct vr_qemu *qe, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: %s: ", vr_prog, qe->cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int vr_qemu_connect(struct vr_qemu *qe, const char *path, int timeout_ms)
{
	struct stat st;
	int err;

	qe->path = path;
	err = vfio_release_qmp_connect(path, timeout_ms, &qe->q);
	switch (err) {
	case 0:
		return VR_EXIT_OK;
	case -ENOENT:
		vr_qemu_say(qe, "%s: no such socket (QEMU's -qmp unix:PATH,server=on)", path);
		break;
	case -ECONNREFUSED:
		/* What connect(2) says of a plain file too. */
		if (!stat(path, &st) && !S_ISSOCK(st.st_mode))
			vr_qemu_say(qe, "%s: not a socket", path);
		else
			vr_qemu_say(qe, "%s: nobody listens on this socket (QEMU is gone?)", path);
		break;
	case -ENOTSOCK:
		vr_qemu_say(qe, "%s: not a socket", path);
		break;
	case -EPROTO:
	case -EBADMSG:
		vr_qemu_say(qe, "%s: not a QMP monitor (no QMP greeting)", path);
		break;
	case -ETIMEDOUT:
		/* QEMU serves one client per monitor; the next waits unanswered. */
		vr_qemu_say(qe, "%s: no QMP greeting within %.1f s (another client may be connected to this monitor: give %s a monitor of its own)",
			    path, timeout_ms / 1000.0, qe->cmd);
		break;
	case -ECONNRESET:
		vr_qemu_say(qe, "%s: QEMU closed the monitor before it greeted (it exited?)", path);
		break;
	default:
		vr_qemu_say(qe, "%s: cannot connect: %s", path, strerror(-err));
		break;
	}
	return VR_EXIT_ERROR;
}

int vr_qemu_host_device(struct vr_qemu *qe, const char *id, const char *host, char *out)
{
	char known[VFIO_RELEASE_DEVICE_NAME_MAX];
	int err;

	err = vfio_release_qmp_host_device(qe->q, id, VR_QMP_QUERY_MS, known, sizeof(known));
	switch (err) {
	case 0:
		if (host && strcmp(host, known)) {
			vr_qemu_say(qe, "%s: QEMU's device '%s' is host device %s, not %s (--host)",
				    qe->path, id, known, host);
			return VR_EXIT_ERROR;
		}
		snprintf(out, VFIO_RELEASE_DEVICE_NAME_MAX, "%s", known);
		return VR_EXIT_OK;
	case -ENOMEDIUM:
		if (host) {
			snprintf(out, VFIO_RELEASE_DEVICE_NAME_MAX, "%s", host);
			return VR_EXIT_OK;
		}
		vr_qemu_say(qe, "%s: QEMU does not know the host device of '%s' (given as a file descriptor?): name it with --host DEVICE",
			    qe->path, id);
		return VR_EXIT_ERROR;
	case -ENXIO:
		vr_qemu_say(qe, "%s: QEMU has no device with id '%s'", qe->path, id);
		return VR_EXIT_ERROR;
	case -EMEDIUMTYPE:
		vr_qemu_say(qe, "%s: QEMU's device '%s' is not a vfio-pci device: nothing of the host's to wait for",
			    qe->path, id);
		return VR_EXIT_ERROR;
	case -ECONNRESET:
		vr_qemu_say(qe, "%s: QEMU closed the monitor while its device '%s' was looked up (it exited?)",
			    qe->path, id);
		return VR_EXIT_ERROR;
	case -ETIMEDOUT:
		vr_qemu_say(qe, "%s: QEMU did not answer about device '%s' within %.1f s",
			    qe->path, id, VR_QMP_QUERY_MS / 1000.0);
		return VR_EXIT_ERROR;
	default:
		vr_qemu_say(qe, "%s: looking up QEMU's device '%s': %s", qe->path, id,
			    strerror(-err));
		return VR_EXIT_ERROR;
	}
}

int vr_qemu_open_matcher(struct vr_qemu *qe)
{
	int err;

	if (vr_open(&qe->vr))
		return VR_EXIT_ERROR;
	err = vfio_release_subscribe(qe->vr);
	if (!err)
		err = vfio_release_match_new(qe->vr, &qe->m);
	if (err)
		return vr_fail("listening to the kernel", err);
	return VR_EXIT_OK;
}

int vr_qemu_expect_failed(struct vr_qemu *qe, const char *device, const char *id, int err)
{
	if (err == -ENODEV) {
		vr_qemu_say(qe, "%s (QEMU's '%s'): not watched by the vfio_release module (not on a VFIO driver?)",
			    device, id ? id : "?");
		return VR_EXIT_ERROR;
	}
	fprintf(stderr, "%s: %s: %s: reading its state: %s\n", vr_prog, qe->cmd, device,
		vfio_release_strerror(err));
	return VR_EXIT_ERROR;
}

void vr_qemu_close(struct vr_qemu *qe)
{
	unsigned int i;

	vfio_release_match_free(qe->m);
	qe->m = NULL;
	if (qe->vr)
		vfio_release_close(qe->vr);
	qe->vr = NULL;
	vfio_release_qmp_close(qe->q);
	qe->q = NULL;
	for (i = 0; i < qe->ndeleted; i++)
		free(qe->deleted[i]);
	free(qe->deleted);
	qe->deleted = NULL;
	qe->ndeleted = 0;
}

bool vr_qemu_deleted(const struct vr_qemu *qe, const char *id)
{
	unsigned int i;

	for (i = 0; id && i < qe->ndeleted; i++)
		if (!strcmp(qe->deleted[i], id))
			return true;
	return false;
}

static int vr_qemu_event(const struct vfio_release_qmp_message *ev, void *arg)
{
	struct vr_qemu *qe = arg;
	const char *name = vfio_release_qmp_message_event(ev), *id;
	char **grown;

	vfio_release_match_feed_qmp(qe->m, ev);
	if (!name)
		return 0;
	if (!strcmp(name, "SHUTDOWN")) {
		qe->shutdown = true;
		return 0;
	}
	if (strcmp(name, "DEVICE_DELETED"))
		return 0;
	/* As the matcher reads it: data.device, else the peripheral's path. */
	id = vfio_release_qmp_message_get_string(ev, "device");
	if (!id) {
		const char *path = vfio_release_qmp_message_get_string(ev, "path");

		if (path && !strncmp(path, "/machine/peripheral/", 20))
			id = path + 20;
	}
	if (!id || !*id || vr_qemu_deleted(qe, id))
		return 0;
	grown = realloc(qe->deleted, (qe->ndeleted + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	qe->deleted = grown;
	qe->deleted[qe->ndeleted] = strdup(id);
	if (!qe->deleted[qe->ndeleted])
		return -ENOMEM;
	qe->ndeleted++;
	return 0;
}

static void vr_qemu_went(struct vr_qemu *qe)
{
	qe->gone = true;
	qe->gone_ns = vr_mono_ns();
	vfio_release_match_qemu_gone(qe->m, qe->gone_ns);
}

int vr_qemu_run(struct vr_qemu *qe, long long deadline_ms)
{
	int ret, timeout_ms = -1;

	if (deadline_ms >= 0) {
		long long left = deadline_ms - vr_mono_ms();

		timeout_ms = left <= 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
	}
	ret = vfio_release_match_run(qe->m, qe->gone ? NULL : qe->q, vr_qemu_event, qe,
				     timeout_ms);
	/*
	 * The matcher takes a closed monitor for QEMU's exit without telling:
	 * a closed connection keeps answering -ECONNRESET, so ask it. (A
	 * second qemu_gone keeps the matcher's first time.)
	 */
	if (!qe->gone && vfio_release_qmp_dispatch(qe->q, vr_qemu_event, qe) == -ECONNRESET)
		vr_qemu_went(qe);
	return ret ? ret : 1;
}

static double vr_rel_ms(const struct vr_qemu *qe, uint64_t ns)
{
	return ((double)(int64_t)(ns - qe->start_ns)) / 1e6;
}

void vr_qemu_outcome(struct vr_qemu *qe, unsigned int i, struct vr_outcome *o)
{
	const char *who = NULL;
	uint32_t pid = 0;

	memset(o, 0, sizeof(*o));
	o->device = vfio_release_match_device(qe->m, i);
	o->id = vfio_release_match_qemu_id(qe->m, i);
	o->qemu_event = o->id && (vr_qemu_deleted(qe, o->id) || !qe->gone) ?
			"DEVICE_DELETED" : "QEMU exit";
	o->have_qemu = !vfio_release_match_qemu_ns(qe->m, i, &o->qemu_ns);
	o->have_free = !vfio_release_match_free_ns(qe->m, i, &o->free_ns);
	if (o->have_qemu)
		o->qemu_ms = vr_rel_ms(qe, o->qemu_ns);
	if (o->have_free)
		o->free_ms = vr_rel_ms(qe, o->free_ns);
	if (o->have_qemu && o->have_free)
		o->gap_ms = ((double)(int64_t)(o->free_ns - o->qemu_ns)) / 1e6;
	if (o->have_free)
		return;
	o->block = vfio_release_match_why(qe->m, i, &pid, &who);
	o->holder_pid = pid;
	if (who)
		vr_escape(who, o->who, sizeof(o->who));
}

void vr_outcome_why(const struct vr_outcome *o, char *buf, size_t size)
{
	switch (o->block) {
	case VFIO_RELEASE_BLOCK_OPEN:
		if (o->holder_pid)
			snprintf(buf, size, "still open by pid %u (%s)", o->holder_pid,
				 *o->who ? o->who : "?");
		else
			snprintf(buf, size, "still open (holder not found)");
		break;
	case VFIO_RELEASE_BLOCK_GROUP_CLAIMED:
		/* No device of the group open: then the group file's holder. */
		if (*o->who)
			snprintf(buf, size, "released, but its IOMMU group is claimed by %s (open)",
				 o->who);
		else if (o->holder_pid)
			snprintf(buf, size, "released, but its IOMMU group's file is held by pid %u",
				 o->holder_pid);
		else
			snprintf(buf, size, "released, but its IOMMU group is still claimed");
		break;
	case VFIO_RELEASE_BLOCK_BUS_PENDING:
		snprintf(buf, size, "its bus reset waits for %s (still open) to close",
			 *o->who ? o->who : "another device");
		break;
	case VFIO_RELEASE_BLOCK_UNKNOWN:
		snprintf(buf, size, "the module could not establish its state");
		break;
	case VFIO_RELEASE_BLOCK_REMOVED:
		snprintf(buf, size, "it left vfio (unbound or removed)");
		break;
	default:
		snprintf(buf, size, "no reason known");
		break;
	}
}

void vr_outcome_describe(const struct vr_outcome *o, char *buf, size_t size)
{
	char why[256];

	if (o->have_qemu && o->have_free) {
		snprintf(buf, size, "%s +%.1f ms, free +%.1f ms: free %.1f ms %s %s",
			 o->qemu_event, o->qemu_ms, o->free_ms,
			 o->gap_ms < 0 ? -o->gap_ms : o->gap_ms,
			 o->gap_ms < 0 ? "before" : "after", o->qemu_event);
		return;
	}
	vr_outcome_why(o, why, sizeof(why));
	if (o->have_qemu)
		snprintf(buf, size, "%s +%.1f ms, not free: %s", o->qemu_event, o->qemu_ms, why);
	else if (o->have_free)
		snprintf(buf, size, "free +%.1f ms, no %s", o->free_ms, o->qemu_event);
	else
		snprintf(buf, size, "no %s, not free: %s", o->qemu_event, why);
}

static json_object *vr_json_ms(double ms)
{
	char text[32];

	/* Microseconds: what QEMU's timestamps resolve. */
	snprintf(text, sizeof(text), "%.3f", ms);
	return json_object_new_double_s(ms, text);
}

void vr_outcome_json(const struct vr_outcome *o, json_object *obj)
{
	char why[256];

	json_object_object_add(obj, "device", json_object_new_string(o->device));
	if (o->id)
		json_object_object_add(obj, "id", json_object_new_string(o->id));
	json_object_object_add(obj, "qemu_event", json_object_new_string(o->qemu_event));
	if (o->have_qemu) {
		json_object_object_add(obj, "qemu_ns", json_object_new_uint64(o->qemu_ns));
		json_object_object_add(obj, "qemu_ms", vr_json_ms(o->qemu_ms));
	}
	if (o->have_free) {
		json_object_object_add(obj, "free_ns", json_object_new_uint64(o->free_ns));
		json_object_object_add(obj, "free_ms", vr_json_ms(o->free_ms));
	}
	if (o->have_qemu && o->have_free) {
		json_object_object_add(obj, "gap_ms", vr_json_ms(o->gap_ms));
		json_object_object_add(obj, "first", json_object_new_string(
			o->gap_ms < 0 ? "free" : o->qemu_event));
	}
	if (!o->have_free) {
		json_object *w = json_object_new_object();

		vr_outcome_why(o, why, sizeof(why));
		json_object_object_add(w, "block",
				       json_object_new_string(vfio_release_block_name(o->block)));
		if (o->holder_pid)
			json_object_object_add(w, "pid", json_object_new_int64(o->holder_pid));
		if (*o->who)
			json_object_object_add(w, o->block == VFIO_RELEASE_BLOCK_OPEN ? "comm" :
					       "device", json_object_new_string(o->who));
		json_object_object_add(w, "text", json_object_new_string(why));
		json_object_object_add(obj, "why", w);
	}
}
