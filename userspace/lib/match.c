// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The matcher: QEMU's side of each expectation (DEVICE_DELETED, or its
 * exit) against the kernel's (the device free, by a wait of its own).
 *
 * The kernel's side is read from the wait after every event the handle
 * delivers, not after a whole dispatch: a device freed and claimed again
 * within one batch was free at a moment, and the event that freed it is
 * the one whose timestamp is the free time.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match.h"
#include "qmp-internal.h"
#include "request.h"

/* A re-read that could not be done yet is tried again this often. */
#define VR_MATCH_REREAD_RETRY_MS 1000
/* QEMU's path for a device with an id: "/machine/peripheral/ID". */
#define VR_QOM_PERIPHERAL "/machine/peripheral/"

/* Asked once: a busy module's -EAGAIN is a sibling not named, not 10 s more. */
static int vr_match_get(const char *device, struct vfio_release_event **out, void *arg)
{
	struct vfio_release_match *m = arg;

	return m->vr ? vr_get(m->vr, device, out, 1) : -ENODEV;
}

int vr_match_alloc(struct vfio_release *vr, struct vfio_release_match **out)
{
	struct vfio_release_match *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->vr = vr;
	m->lookup = vr_match_get;
	m->lookup_arg = m;
	m->why_budget_ms = VR_HOLDER_LOOKUP_BUDGET_MS;
	*out = m;
	return 0;
}

static void vr_exp_free(struct vr_match_exp *e)
{
	vfio_release_wait_free(e->wait);
	free(e->qemu_id);
	free(e);
}

static struct vr_match_exp *vr_exp(const struct vfio_release_match *m, unsigned int i)
{
	return m && i < m->count ? m->exp[i] : NULL;
}

static struct vr_free_episode vr_episode_of(const struct vfio_release_event *rec)
{
	struct vr_free_episode ep = {
		.instance = rec->instance,
		.registration = rec->registration,
		.generation = rec->generation,
	};

	vfio_release_event_get_u64(rec, VFIO_RELEASE_A_FREE_COUNT, &ep.free_count);
	return ep;
}

static bool vr_same_episode(const struct vr_free_episode *a, const struct vr_free_episode *b)
{
	return a->instance == b->instance && a->registration == b->registration &&
	       a->free_count == b->free_count && a->generation == b->generation;
}

/*
 * The wait's verdict now. A wait to be re-read says nothing either way:
 * what was seen stands until the re-read. Free is "free now": a device
 * reopened after its free loses it, and its next free is a new time.
 */
static void vr_exp_observe(struct vr_match_exp *e)
{
	const struct vfio_release_event *rec;
	struct vr_free_episode ep;
	uint64_t ns;

	if (e->status != VFIO_RELEASE_MATCH_PENDING)
		return;
	switch (vfio_release_wait_status(e->wait)) {
	case VFIO_RELEASE_WAIT_GONE:
		e->status = VFIO_RELEASE_MATCH_GONE;
		e->free_seen = false;
		return;
	case VFIO_RELEASE_WAIT_REREAD:
		return;
	case VFIO_RELEASE_WAIT_PENDING:
		e->free_seen = false;
		return;
	case VFIO_RELEASE_WAIT_DONE:
		break;
	}
	rec = vfio_release_wait_record(e->wait, 0);
	ep = vr_episode_of(rec);
	/* Still the same free (a reset or a re-read since): its time stands. */
	if (!e->free_seen || !vr_same_episode(&e->episode, &ep)) {
		if (vfio_release_event_get_u64(rec, VFIO_RELEASE_A_TIMESTAMP_NS, &ns))
			ns = vr_clock_ns(CLOCK_MONOTONIC);
		e->free_seen = true;
		e->free_ns = ns;
		e->episode = ep;
	}
	if (e->qemu_seen)
		e->status = VFIO_RELEASE_MATCH_DONE;
}

void vr_match_observe(struct vfio_release_match *m)
{
	unsigned int i;

	for (i = 0; i < m->count; i++)
		vr_exp_observe(m->exp[i]);
}

static void vr_exp_qemu_gone(struct vr_match_exp *e, uint64_t ns)
{
	if (e->qemu_seen)
		return;
	e->qemu_seen = true;
	e->qemu_by_exit = true;
	e->qemu_ns = ns;
}

int vr_match_add(struct vfio_release_match *m, const char *qemu_id, struct vfio_release_wait *w)
{
	struct vr_match_exp *e;

	if (m->count == m->cap) {
		unsigned int cap = m->cap ? 2 * m->cap : 8;
		struct vr_match_exp **exp = realloc(m->exp, cap * sizeof(*exp));

		if (!exp) {
			vfio_release_wait_free(w);
			return -ENOMEM;
		}
		m->exp = exp;
		m->cap = cap;
	}
	e = calloc(1, sizeof(*e));
	if (!e || (qemu_id && !(e->qemu_id = strdup(qemu_id)))) {
		free(e);
		vfio_release_wait_free(w);
		return -ENOMEM;
	}
	e->wait = w;
	snprintf(e->device, sizeof(e->device), "%s", vfio_release_wait_device(w, 0));
	if (m->qemu_gone)
		vr_exp_qemu_gone(e, m->qemu_gone_ns);
	m->exp[m->count] = e;
	vr_exp_observe(e);
	return m->count++;
}

/*
 * data.device is the id; data.path its QOM path, the one always sent.
 * device_del takes either: an unplug by QOM path (no id can start with
 * '/') is that path exactly, as QEMU spells it.
 */
static bool vr_deleted_is(const struct vr_match_exp *e, const char *device, const char *path)
{
	size_t len = strlen(VR_QOM_PERIPHERAL);

	if (e->qemu_id[0] == '/')
		return path && !strcmp(path, e->qemu_id);
	if (device && !strcmp(device, e->qemu_id))
		return true;
	return path && !strncmp(path, VR_QOM_PERIPHERAL, len) && !strcmp(path + len, e->qemu_id);
}

void vr_match_device_deleted(struct vfio_release_match *m, const char *device,
			     const char *path, uint64_t ns)
{
	unsigned int i;

	for (i = 0; i < m->count; i++) {
		struct vr_match_exp *e = m->exp[i];

		/* A repeated DEVICE_DELETED keeps the first one's time. */
		if (!e->qemu_id || e->qemu_seen || !vr_deleted_is(e, device, path))
			continue;
		e->qemu_seen = true;
		e->qemu_ns = ns;
		vr_exp_observe(e);
	}
}

uint64_t vr_match_qemu_time(bool have_ts, uint64_t ts_us, uint64_t received_ns,
			    int64_t realtime_offset_ns)
{
	int64_t mono;

	if (!have_ts || ts_us > (uint64_t)INT64_MAX / 1000 ||
	    __builtin_sub_overflow((int64_t)(ts_us * 1000), realtime_offset_ns, &mono))
		return received_ns;
	if (mono <= 0 || (uint64_t)mono > received_ns)
		return received_ns;
	/* Older than the window: the clock was stepped; bound the error. */
	if (received_ns > VR_MATCH_QEMU_WINDOW_NS &&
	    (uint64_t)mono < received_ns - VR_MATCH_QEMU_WINDOW_NS)
		return received_ns - VR_MATCH_QEMU_WINDOW_NS;
	return mono;
}

bool vr_match_qemu_by_exit(const struct vfio_release_match *m, unsigned int i)
{
	const struct vr_match_exp *e = vr_exp(m, i);

	return e && e->qemu_by_exit;
}

VR_EXPORT int vfio_release_match_new(struct vfio_release *vr, struct vfio_release_match **out)
{
	if (!vr || !out)
		return -EINVAL;
	return vr_match_alloc(vr, out);
}

VR_EXPORT void vfio_release_match_free(struct vfio_release_match *m)
{
	unsigned int i;

	if (!m)
		return;
	for (i = 0; i < m->count; i++)
		vr_exp_free(m->exp[i]);
	free(m->exp);
	free(m);
}

/* The device's wait on the handle; its name canonical when it is PCI. */
static int vr_match_expect(struct vfio_release_match *m, const char *qemu_id,
			   const char *device)
{
	char canon[VFIO_RELEASE_DEVICE_NAME_MAX];
	const char *name = canon;
	struct vfio_release_wait *w;
	int err;

	if (!m || !m->vr || !device)
		return -EINVAL;
	if (vfio_release_parse_device(device, canon, sizeof(canon)))
		name = device;
	err = vfio_release_wait_new(m->vr, &name, 1, VFIO_RELEASE_STATE_FREE, &w);
	if (err)
		return err;
	return vr_match_add(m, qemu_id, w);
}

VR_EXPORT int vfio_release_match_expect_unplug(struct vfio_release_match *m,
					       const char *qemu_id, const char *device)
{
	if (!qemu_id || !*qemu_id)
		return -EINVAL;
	return vr_match_expect(m, qemu_id, device);
}

VR_EXPORT int vfio_release_match_expect_exit(struct vfio_release_match *m, const char *device)
{
	return vr_match_expect(m, NULL, device);
}

VR_EXPORT void vfio_release_match_feed_qmp(struct vfio_release_match *m,
					   const struct vfio_release_qmp_message *msg)
{
	const char *event;
	uint64_t us = 0;
	bool have_ts;

	if (!m || !msg)
		return;
	event = vfio_release_qmp_message_event(msg);
	if (!event || strcmp(event, "DEVICE_DELETED"))
		return;
	have_ts = !vfio_release_qmp_message_timestamp_us(msg, &us);
	vr_match_device_deleted(m, vfio_release_qmp_message_get_string(msg, "device"),
				vfio_release_qmp_message_get_string(msg, "path"),
				vr_match_qemu_time(have_ts, us,
						   vfio_release_qmp_message_received_ns(msg),
						   vr_qmp_message_realtime_offset_ns(msg)));
}

VR_EXPORT void vfio_release_match_qemu_gone(struct vfio_release_match *m, uint64_t ns)
{
	unsigned int i;

	if (!m)
		return;
	if (!ns)
		ns = vr_clock_ns(CLOCK_MONOTONIC);
	if (!m->qemu_gone) {
		m->qemu_gone = true;
		m->qemu_gone_ns = ns;
	}
	for (i = 0; i < m->count; i++) {
		vr_exp_qemu_gone(m->exp[i], ns);
		vr_exp_observe(m->exp[i]);
	}
}

/* 1 when every expectation is done, -ENODEV when one is gone, else 0. */
static int vr_match_result(const struct vfio_release_match *m)
{
	unsigned int i, done = 0;

	for (i = 0; i < m->count; i++) {
		if (m->exp[i]->status == VFIO_RELEASE_MATCH_GONE)
			return -ENODEV;
		done += m->exp[i]->status == VFIO_RELEASE_MATCH_DONE;
	}
	return done == m->count;
}

/* The handle fed the waits this event: the matcher reads them at once. */
static int vr_match_on_event(const struct vfio_release_event *ev, void *arg)
{
	(void)ev;
	vr_match_observe(arg);
	return 0;
}

static bool vr_match_needs_reread(const struct vfio_release_match *m)
{
	unsigned int i;

	for (i = 0; i < m->count; i++)
		if (m->exp[i]->status == VFIO_RELEASE_MATCH_PENDING &&
		    vfio_release_wait_status(m->exp[i]->wait) == VFIO_RELEASE_WAIT_REREAD)
			return true;
	return false;
}

/*
 * vfio_release_match_process() until deadline (monotonic ns, 0: none): a
 * re-read may take a second when the module is busy, so none is begun
 * after the deadline but the first; the rest wait for the next call.
 */
static int vr_match_process(struct vfio_release_match *m, uint64_t deadline)
{
	unsigned int i, reread = 0;
	int err;

	if (!m->count)
		return 1;
	err = vfio_release_dispatch(m->vr, vr_match_on_event, m);
	if (err < 0)
		return err;
	for (i = 0; i < m->count; i++) {
		struct vr_match_exp *e = m->exp[i];

		if (e->status != VFIO_RELEASE_MATCH_PENDING ||
		    vfio_release_wait_status(e->wait) != VFIO_RELEASE_WAIT_REREAD)
			continue;
		if (reread++ && deadline && vr_clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		err = vfio_release_wait_reread(m->vr, e->wait);
		/* Unloaded or busy: its load is announced, or run tries again. */
		if (err == -ENOPKG || err == -EAGAIN || err == -ESHUTDOWN)
			continue;
		if (err)
			return err;
		vr_exp_observe(e);
	}
	return vr_match_result(m);
}

VR_EXPORT int vfio_release_match_process(struct vfio_release_match *m)
{
	if (!m)
		return -EINVAL;
	return vr_match_process(m, 0);
}

/* run()'s QMP side: the matcher sees each event first, then the caller. */
struct vr_match_qmp {
	struct vfio_release_match *m;
	struct vfio_release_qmp *q;	/* NULL once QEMU closed it */
	vfio_release_qmp_event_cb cb;
	void *arg;
	int stop;			/* what cb returned to stop */
};

/* QEMU's messages so far; its monitor closing is its exit. */
static int vr_match_on_qmp(const struct vfio_release_qmp_message *msg, void *arg)
{
	struct vr_match_qmp *mq = arg;

	vfio_release_match_feed_qmp(mq->m, msg);
	if (mq->cb && (mq->stop = mq->cb(msg, mq->arg)) > 0)
		mq->stop = 0;
	return mq->stop;
}

static int vr_match_qmp_step(struct vr_match_qmp *mq)
{
	int n;

	if (!mq->q)
		return 0;
	n = vfio_release_qmp_dispatch(mq->q, vr_match_on_qmp, mq);
	/* The caller's stop, whatever its value: not QEMU's close. */
	if (mq->stop)
		return mq->stop;
	if (n == -ECONNRESET) {
		vfio_release_match_qemu_gone(mq->m, 0);
		mq->q = NULL;
		return 0;
	}
	return n < 0 ? n : 0;
}

VR_EXPORT int vfio_release_match_run(struct vfio_release_match *m, struct vfio_release_qmp *q,
				     vfio_release_qmp_event_cb cb, void *arg, int timeout_ms)
{
	uint64_t deadline = timeout_ms < 0 ? 0 :
			    vr_clock_ns(CLOCK_MONOTONIC) + (uint64_t)timeout_ms * 1000000;
	struct vr_match_qmp mq = { .m = m, .q = q, .cb = cb, .arg = arg };
	int ret;

	if (!m)
		return -EINVAL;
	/* Events vfio_release_qmp_execute() kept do not make the fd readable. */
	ret = vr_match_qmp_step(&mq);
	if (!ret)
		ret = vr_match_process(m, deadline);
	while (ret == 0) {
		struct pollfd pfd[2] = {
			{ .fd = vfio_release_fd(m->vr), .events = POLLIN },
			{ .fd = mq.q ? vfio_release_qmp_fd(mq.q) : -1, .events = POLLIN },
		};
		int left = -1;

		if (deadline) {
			uint64_t now = vr_clock_ns(CLOCK_MONOTONIC);

			if (now >= deadline)
				return -ETIMEDOUT;
			/* Rounded up: a poll that ends early only spins. */
			left = (deadline - now + 999999) / 1000000;
		}
		if (vr_match_needs_reread(m) && (left < 0 || left > VR_MATCH_REREAD_RETRY_MS))
			left = VR_MATCH_REREAD_RETRY_MS;
		if (poll(pfd, 2, left) < 0 && errno != EINTR)
			return -errno;
		if (pfd[1].revents)
			ret = vr_match_qmp_step(&mq);
		if (!ret)
			ret = vr_match_process(m, deadline);
	}
	return ret < 0 ? ret : 0;
}

VR_EXPORT unsigned int vfio_release_match_count(const struct vfio_release_match *m)
{
	return m ? m->count : 0;
}

VR_EXPORT enum vfio_release_match_status
vfio_release_match_status(const struct vfio_release_match *m, unsigned int i)
{
	const struct vr_match_exp *e = vr_exp(m, i);

	return e ? e->status : VFIO_RELEASE_MATCH_PENDING;
}

VR_EXPORT const char *vfio_release_match_device(const struct vfio_release_match *m,
						unsigned int i)
{
	const struct vr_match_exp *e = vr_exp(m, i);

	return e ? e->device : NULL;
}

VR_EXPORT const char *vfio_release_match_qemu_id(const struct vfio_release_match *m,
						 unsigned int i)
{
	const struct vr_match_exp *e = vr_exp(m, i);

	return e ? e->qemu_id : NULL;
}

VR_EXPORT int vfio_release_match_qemu_ns(const struct vfio_release_match *m, unsigned int i,
					 uint64_t *ns)
{
	const struct vr_match_exp *e = vr_exp(m, i);

	if (!e || !ns)
		return -EINVAL;
	if (!e->qemu_seen)
		return -ENODATA;
	*ns = e->qemu_ns;
	return 0;
}

VR_EXPORT int vfio_release_match_free_ns(const struct vfio_release_match *m, unsigned int i,
					 uint64_t *ns)
{
	const struct vr_match_exp *e = vr_exp(m, i);

	if (!e || !ns)
		return -EINVAL;
	if (!e->free_seen)
		return -ENODATA;
	*ns = e->free_ns;
	return 0;
}

VR_EXPORT enum vfio_release_block vfio_release_match_why(struct vfio_release_match *m,
							 unsigned int i, uint32_t *pid,
							 const char **who)
{
	const struct vr_match_exp *e = vr_exp(m, i);
	char comm[VFIO_RELEASE_DEVICE_NAME_MAX], other[VFIO_RELEASE_DEVICE_NAME_MAX];
	enum vfio_release_block block;
	uint32_t holder = 0;

	if (pid)
		*pid = 0;
	if (who)
		*who = NULL;
	if (!e)
		return VFIO_RELEASE_BLOCK_NONE;
	if (vfio_release_wait_removed(e->wait, 0))
		return VFIO_RELEASE_BLOCK_REMOVED;
	block = vr_block_explain(vfio_release_wait_record(e->wait, 0), m->lookup,
				 m->lookup_arg, m->why_budget_ms, &holder, comm, other);
	/* For an open device who is the holder's comm, else the other device. */
	snprintf(m->who, sizeof(m->who), "%s", block == VFIO_RELEASE_BLOCK_OPEN ? comm : other);
	if (pid)
		*pid = holder;
	if (who && m->who[0])
		*who = m->who;
	return block;
}

VR_EXPORT const char *vfio_release_match_status_name(enum vfio_release_match_status status)
{
	switch (status) {
	case VFIO_RELEASE_MATCH_PENDING:
		return "pending";
	case VFIO_RELEASE_MATCH_DONE:
		return "done";
	case VFIO_RELEASE_MATCH_GONE:
		return "gone";
	}
	return "unknown";
}
