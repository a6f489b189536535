/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The matcher's state, free of I/O: its waits are fed by whoever holds
 * them (the handle's dispatch, or a unit test), QEMU's side by the
 * functions below, and vr_match_observe() draws the conclusions.
 */
#ifndef VFIO_RELEASE_MATCH_H
#define VFIO_RELEASE_MATCH_H

#include "holders.h"
#include "internal.h"
#include "vfio-release-qmp.h"

/* One free episode of a device: a later free is a new one. */
struct vr_free_episode {
	uint64_t instance, registration, free_count, generation;
};

struct vr_match_exp {
	char device[VFIO_RELEASE_DEVICE_NAME_MAX];
	char *qemu_id;				/* NULL: an exit expectation */
	struct vfio_release_wait *wait;		/* one device, target FREE */
	enum vfio_release_match_status status;	/* final once not PENDING */
	bool qemu_seen;
	bool qemu_by_exit;			/* an unplug ended by QEMU's exit */
	uint64_t qemu_ns;
	bool free_seen;				/* free now, as last observed */
	uint64_t free_ns;
	struct vr_free_episode episode;		/* the free free_ns is of */
};

struct vfio_release_match {
	struct vfio_release *vr;		/* NULL in unit tests */
	struct vr_match_exp **exp;
	unsigned int count, cap;
	/* QEMU went: expectations added later have their QEMU side at once. */
	bool qemu_gone;
	uint64_t qemu_gone_ns;
	/* Other devices' records for vfio_release_match_why(): the handle's GET. */
	vr_record_lookup lookup;
	void *lookup_arg;
	char who[VFIO_RELEASE_DEVICE_NAME_MAX];	/* vfio_release_match_why()'s */
};

/* A matcher without I/O when vr is NULL. */
int vr_match_alloc(struct vfio_release *vr, struct vfio_release_match **out);
/*
 * Adds an expectation on wait w (one device, target FREE), which it then
 * owns, also on failure. qemu_id NULL: an exit expectation. Returns its
 * index or a negative errno.
 */
int vr_match_add(struct vfio_release_match *m, const char *qemu_id, struct vfio_release_wait *w);
/* Reads every pending expectation's wait: free now, gone, done. */
void vr_match_observe(struct vfio_release_match *m);
/*
 * DEVICE_DELETED for QOM id device or QOM path (either may be NULL), sent
 * at monotonic time ns: ends the QEMU side of the unplugs of that id.
 */
void vr_match_device_deleted(struct vfio_release_match *m, const char *device,
			     const char *path, uint64_t ns);
/*
 * When QEMU sent an event, on CLOCK_MONOTONIC: its CLOCK_REALTIME
 * timestamp (have_ts) less realtime_offset_ns (CLOCK_REALTIME less
 * CLOCK_MONOTONIC, measured now), unless that cannot be (before boot, or
 * after the library read it: the realtime clock was stepped), when the
 * time it was read, received_ns, is the better answer.
 */
uint64_t vr_match_qemu_time(bool have_ts, uint64_t ts_us, uint64_t received_ns,
			    int64_t realtime_offset_ns);
/* Whether unplug i's QEMU side came from QEMU's exit, not DEVICE_DELETED. */
bool vr_match_qemu_by_exit(const struct vfio_release_match *m, unsigned int i);

#endif
