/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What unplug and gate share: one QMP connection to QEMU with clear
 * messages at its edge, QEMU's devices resolved through QOM, the loop that
 * feeds QEMU's events and the kernel's to a matcher, and how the outcome
 * of each expectation is said (timings, which side is missing, why).
 */
#ifndef VFIO_RELEASE_CLI_QEMU_SIDE_H
#define VFIO_RELEASE_CLI_QEMU_SIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "vfio-release.h"
#include "vfio-release-qmp.h"

/* How long to wait for QEMU's greeting, and for each QOM answer. */
#define VR_QMP_CONNECT_MS 10000
#define VR_QMP_QUERY_MS 5000

struct vr_qemu {
	const char *cmd;		/* "unplug", "gate": the messages' prefix */
	const char *path;		/* the monitor's socket */
	struct vfio_release_qmp *q;
	struct vfio_release *vr;
	struct vfio_release_match *m;
	/* CLOCK_MONOTONIC ns the timings count from (device_del, gate's start). */
	uint64_t start_ns;
	/* QEMU closed the monitor (exited or was killed), seen at gone_ns. */
	bool gone;
	uint64_t gone_ns;
	/* QEMU said SHUTDOWN first (a quit, a guest poweroff), not a kill. */
	bool shutdown;
	/* The ids (and QOM paths) whose DEVICE_DELETED came, not QEMU's exit. */
	char **deleted;
	unsigned int ndeleted;
	/* Those DEVICE_DELETED messages, kept to feed a new matcher. */
	struct vfio_release_qmp_message **events;
	unsigned int nevents;
	/* QEMU's pid, from the monitor's SO_PEERCRED; 0 when unknown. */
	pid_t pid;
	/* The last error said (vr_qemu_fail()): negative errno (0: none) and words. */
	int err;
	char errmsg[320];
};


/*
 * Connects to the monitor at path: a message naming the socket and an exit
 * status on failure (QEMU not there, not a QMP monitor, no greeting).
 */
int vr_qemu_connect(struct vr_qemu *qe, const char *path, int timeout_ms);
/*
 * The host PCI device of QEMU device id into out (VFIO_RELEASE_DEVICE_NAME_MAX):
 * host is --host (canonical) or NULL; when both QEMU and host know, they
 * must agree. QOM's answers are awaited timeout_ms (cut_by_deadline: that
 * is what --timeout left, so running out is a timeout, exit 1). *known
 * says whether QEMU knew the host. Returns an exit status, the reason said.
 */
int vr_qemu_host_device(struct vr_qemu *qe, const char *id, const char *host, char *out,
			int timeout_ms, bool cut_by_deadline, bool *known);
/*
 * Whether the kernel agrees that QEMU holds device (its QEMU id id): its
 * record must be open, and opened by QEMU's pid when that is known (an
 * opener the kernel did not see is said, not refused). Needs the matcher's
 * handle. Exit status: 0, or 2 with the disagreement said.
 */
int vr_qemu_check_holder(struct vr_qemu *qe, const char *id, const char *device, bool known);
/* Says an error (stderr) and records it (err, errmsg) for --json. */
void vr_qemu_fail(struct vr_qemu *qe, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Gives a new matcher (qe->m) what the old one had seen of QEMU: the
 * DEVICE_DELETED messages, with their times, and QEMU's exit.
 */
void vr_qemu_replay(struct vr_qemu *qe);
/* Opens the kernel's handle and the matcher; exit status. */
int vr_qemu_open_matcher(struct vr_qemu *qe);
/*
 * An exit status for a failed vfio_release_match_expect_*(): not watched
 * (not on a VFIO driver), or the kernel's error.
 */
int vr_qemu_expect_failed(struct vr_qemu *qe, const char *device, const char *id, int err);
void vr_qemu_close(struct vr_qemu *qe);

/*
 * Polls QEMU's monitor and the kernel until every expectation is done or
 * CLOCK_MONOTONIC deadline_ms (-1: none): 1 done, -ETIMEDOUT, -ENODEV when
 * a device left vfio short of free, another negative errno on an error.
 * QEMU closing the monitor is QEMU gone (vr_qemu.gone).
 */
int vr_qemu_run(struct vr_qemu *qe, long long deadline_ms);

/* Whether DEVICE_DELETED for id came (not just QEMU's exit). */
bool vr_qemu_deleted(const struct vr_qemu *qe, const char *id);

/*
 * What expectation i came to: its two sides' times from start_ns, the gap
 * and which came first; what is missing and, when it is free, why not.
 */
struct vr_outcome {
	const char *device;
	const char *id;			/* NULL for an exit expectation */
	/* "DEVICE_DELETED" or "QEMU exit": what QEMU's side was (or is awaited). */
	const char *qemu_event;
	bool have_qemu, have_free;
	uint64_t qemu_ns, free_ns;	/* CLOCK_MONOTONIC */
	double qemu_ms, free_ms;	/* from start_ns */
	double gap_ms;			/* free minus QEMU's side */
	enum vfio_release_block block;
	uint32_t holder_pid;
	char who[128];			/* holder's comm, or the other device */
};

void vr_qemu_outcome(struct vr_qemu *qe, unsigned int i, struct vr_outcome *o);
/* "free 6.8 ms after DEVICE_DELETED", "DEVICE_DELETED +12.0 ms, no free yet", ... */
void vr_outcome_describe(const struct vr_outcome *o, char *buf, size_t size);
/* Why it is not free, as words: "still open by pid 12 (qemu-system-x86)". */
void vr_outcome_why(const struct vr_outcome *o, char *buf, size_t size);
/* The outcome as JSON members added to obj. */
void vr_outcome_json(const struct vr_outcome *o, json_object *obj);

/* QEMU's ids as its QemuOpts accept them: a letter, then [A-Za-z0-9-._]. */
bool vr_qemu_id_valid(const char *id);

#endif
