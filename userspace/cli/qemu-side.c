// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * QEMU's side of unplug and gate: the monitor, QOM, and the matcher's
 * run. The commands see each QMP event after the matcher, to tell
 * DEVICE_DELETED from QEMU's exit (which the matcher counts alike) and a
 * quit (SHUTDOWN first) from a kill.
 */

#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* struct ucred */
#endif
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "commands.h"
#include "output.h"
#include "qemu-side.h"

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

static void vr_qemu_vsay(struct vr_qemu *qe, int err, const char *fmt, va_list ap)
{
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(qe->errmsg, sizeof(qe->errmsg), fmt, copy);
	va_end(copy);
	qe->err = err;
	fprintf(stderr, "%s: %s: ", vr_prog, qe->cmd);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void vr_qemu_fail(struct vr_qemu *qe, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vr_qemu_vsay(qe, err, fmt, ap);
	va_end(ap);
}

/* An error said where the errno is set afterwards (vr_qemu_connect() ...). */
static void vr_qemu_say(struct vr_qemu *qe, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void vr_qemu_say(struct vr_qemu *qe, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vr_qemu_vsay(qe, 0, fmt, ap);
	va_end(ap);
}

/* QEMU's pid: the monitor's peer, as the kernel saw it connect. */
static pid_t vr_qemu_peer_pid(struct vr_qemu *qe)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(vfio_release_qmp_fd(qe->q), SOL_SOCKET, SO_PEERCRED, &cred, &len) ||
	    len != sizeof(cred))
		return 0;
	return cred.pid;
}

int vr_qemu_connect(struct vr_qemu *qe, const char *path, int timeout_ms)
{
	struct stat st;
	int err;

	qe->path = path;
	err = vfio_release_qmp_connect(path, timeout_ms, &qe->q);
	switch (err) {
	case 0:
		qe->pid = vr_qemu_peer_pid(qe);
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
	qe->err = err;
	return VR_EXIT_ERROR;
}

int vr_qemu_host_device(struct vr_qemu *qe, const char *id, const char *host, char *out,
			int timeout_ms, bool cut_by_deadline, bool *known)
{
	char qemus[VFIO_RELEASE_DEVICE_NAME_MAX];
	int err, status = VR_EXIT_ERROR;

	*known = false;
	err = vfio_release_qmp_host_device(qe->q, id, timeout_ms, qemus, sizeof(qemus));
	switch (err) {
	case 0:
		if (host && strcmp(host, qemus)) {
			vr_qemu_say(qe, "%s: QEMU's device '%s' is host device %s, not %s (--host)",
				    qe->path, id, qemus, host);
			err = -EINVAL;
			break;
		}
		*known = true;
		snprintf(out, VFIO_RELEASE_DEVICE_NAME_MAX, "%s", qemus);
		return VR_EXIT_OK;
	case -ENOMEDIUM:
		if (host) {
			snprintf(out, VFIO_RELEASE_DEVICE_NAME_MAX, "%s", host);
			return VR_EXIT_OK;
		}
		vr_qemu_say(qe, "%s: QEMU does not know the host device of '%s' (given as a file descriptor?): name it with --host DEVICE",
			    qe->path, id);
		break;
	case -ENXIO:
		vr_qemu_say(qe, "%s: QEMU has no device with id '%s'", qe->path, id);
		break;
	case -EMEDIUMTYPE:
		vr_qemu_say(qe, "%s: QEMU's device '%s' is not a vfio-pci device: nothing of the host's to wait for",
			    qe->path, id);
		break;
	case -ECONNRESET:
		vr_qemu_say(qe, "%s: QEMU closed the monitor while its device '%s' was looked up (it exited?)",
			    qe->path, id);
		break;
	case -ETIMEDOUT:
		if (cut_by_deadline) {
			vr_qemu_say(qe, "%s: timed out: QEMU did not answer about device '%s' within the %.1f s left of --timeout; nothing was sent",
				    qe->path, id, timeout_ms / 1000.0);
			status = VR_EXIT_TIMEOUT;
		} else {
			vr_qemu_say(qe, "%s: QEMU did not answer about device '%s' within %.1f s",
				    qe->path, id, timeout_ms / 1000.0);
		}
		break;
	default:
		vr_qemu_say(qe, "%s: looking up QEMU's device '%s': %s", qe->path, id,
			    strerror(-err));
		break;
	}
	qe->err = err;
	return status;
}

int vr_qemu_check_holder(struct vr_qemu *qe, const char *id, const char *device, bool known)
{
	struct vfio_release_event *rec = NULL;
	const char *whose = known ? "QEMU's" : "--host";
	const char *comm = NULL;
	uint64_t opener = 0;
	enum vfio_release_state state;
	int err;

	err = vfio_release_get(qe->vr, device, &rec);
	if (err == -ENODEV) {
		vr_qemu_fail(qe, err, "%s (%s '%s'): not watched by the vfio_release module (not on a VFIO driver?): QEMU cannot hold it",
			     device, whose, id);
		return VR_EXIT_ERROR;
	}
	if (err) {
		vr_qemu_fail(qe, err, "%s: reading its state: %s", device, vfio_release_strerror(err));
		return VR_EXIT_ERROR;
	}
	state = vfio_release_event_get_state(rec);
	if (state != VFIO_RELEASE_STATE_OPEN) {
		vr_qemu_fail(qe, -EBUSY, "%s %s is %s but the kernel says it is %s: QEMU does not hold it",
			     known ? "QEMU's" : "--host: QEMU's", id, device, vfio_release_state_name(state));
		vfio_release_event_unref(rec);
		return VR_EXIT_ERROR;
	}
	if (vfio_release_event_get_u64(rec, VFIO_RELEASE_A_OPENER_PID, &opener) || !opener) {
		if (qe->pid)
			fprintf(stderr, "%s: %s: %s: the kernel did not see who opened it: not checked to be QEMU's (pid %d)\n",
				vr_prog, qe->cmd, device, (int)qe->pid);
	} else if (qe->pid && opener != (uint64_t)qe->pid) {
		vfio_release_event_get_string(rec, VFIO_RELEASE_A_OPENER_COMM, &comm);
		vr_qemu_fail(qe, -EBUSY, "%s %s is %s, but the kernel says pid %llu (%s) opened it, not QEMU (pid %d, the monitor's peer): QEMU does not hold it",
			     known ? "QEMU's" : "--host: QEMU's", id, device, (unsigned long long)opener,
			     comm ? comm : "?", (int)qe->pid);
		vfio_release_event_unref(rec);
		return VR_EXIT_ERROR;
	}
	vfio_release_event_unref(rec);
	return VR_EXIT_OK;
}

int vr_qemu_open_matcher(struct vr_qemu *qe)
{
	int err;

	err = vfio_release_open(&qe->vr);
	if (err) {
		vr_qemu_fail(qe, err, "cannot talk to the kernel: %s", vfio_release_strerror(err));
		return VR_EXIT_ERROR;
	}
	err = vfio_release_subscribe(qe->vr);
	if (!err)
		err = vfio_release_match_new(qe->vr, &qe->m);
	if (err) {
		vr_qemu_fail(qe, err, "listening to the kernel: %s", vfio_release_strerror(err));
		return VR_EXIT_ERROR;
	}
	return VR_EXIT_OK;
}

int vr_qemu_expect_failed(struct vr_qemu *qe, const char *device, const char *id, int err)
{
	if (err == -ENODEV) {
		vr_qemu_fail(qe, err, "%s (QEMU's '%s'): not watched by the vfio_release module (not on a VFIO driver?)",
			     device, id ? id : "?");
		return VR_EXIT_ERROR;
	}
	vr_qemu_fail(qe, err, "%s: reading its state: %s", device, vfio_release_strerror(err));
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
	for (i = 0; i < qe->nevents; i++)
		vfio_release_qmp_message_unref(qe->events[i]);
	free(qe->events);
	qe->events = NULL;
	qe->nevents = 0;
}

void vr_qemu_replay(struct vr_qemu *qe)
{
	unsigned int i;

	for (i = 0; i < qe->nevents; i++)
		vfio_release_match_feed_qmp(qe->m, qe->events[i]);
	if (qe->gone)
		vfio_release_match_qemu_gone(qe->m, qe->gone_ns);
}

/* DEVICE_DELETED messages kept (of distinct devices): a QEMU has fewer. */
#define VR_QEMU_EVENTS_MAX 4096

static int vr_qemu_add_deleted(struct vr_qemu *qe, const char *id)
{
	char **grown;

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
	const char *name = vfio_release_qmp_message_event(ev), *id, *path;
	struct vfio_release_qmp_message **grown;

	vfio_release_match_feed_qmp(qe->m, ev);
	if (!name)
		return 0;
	if (!strcmp(name, "SHUTDOWN")) {
		qe->shutdown = true;
		return 0;
	}
	if (strcmp(name, "DEVICE_DELETED"))
		return 0;
	/* As the matcher reads it: data.device, the peripheral's path, the QOM path. */
	id = vfio_release_qmp_message_get_string(ev, "device");
	path = vfio_release_qmp_message_get_string(ev, "path");
	if (!id && path && !strncmp(path, "/machine/peripheral/", 20))
		id = path + 20;
	/* A repeated one changes nothing; so many ids are none of ours. */
	if (qe->nevents >= VR_QEMU_EVENTS_MAX ||
	    (vr_qemu_deleted(qe, id) && (!path || vr_qemu_deleted(qe, path))))
		return 0;
	if (vr_qemu_add_deleted(qe, id) || vr_qemu_add_deleted(qe, path))
		return -ENOMEM;
	grown = realloc(qe->events, (qe->nevents + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	qe->events = grown;
	qe->events[qe->nevents++] =
		vfio_release_qmp_message_ref((struct vfio_release_qmp_message *)ev);
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
	int timeout_ms = deadline_ms < 0 ? -1 : vr_ms_left(deadline_ms, INT_MAX);
	int ret;

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
	if (o->have_qemu) {
		json_object_object_add(obj, "qemu_event", json_object_new_string(o->qemu_event));
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
