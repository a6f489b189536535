/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef VFIO_RELEASE_INTERNAL_H
#define VFIO_RELEASE_INTERNAL_H

#include <linux/netlink.h>
#include <time.h>

#include "vfio-release.h"

#define VR_EXPORT __attribute__((visibility("default")))

/*
 * Attribute numbers the event keeps, known or not: a newer module's
 * attributes stay readable through vfio_release_event_get_u64/_string().
 */
#define VR_ATTR_SLOTS 64

struct vfio_release_event {
	unsigned int refs;
	uint8_t type;
	enum vfio_release_notice notice;
	/* What the wait reads of every event, decoded once. */
	const char *device;
	enum vfio_release_state state;
	uint64_t seq;
	uint64_t generation;
	uint64_t instance;
	uint64_t registration;
	/* Offset + 1 of each attribute in data, 0 when absent. */
	uint16_t attr[VR_ATTR_SLOTS];
	uint16_t len;
	unsigned char data[] __attribute__((aligned(4)));
};

/* libnl's NLE_* codes become errno values here, and only here. */
int vr_errno_from_nl(int nlerr);

/* A vfio_release message (header checked by the caller) into a new event. */
int vr_event_decode(const struct nlmsghdr *hdr, struct vfio_release_event **out);
/* An event of the library's own, without attributes. */
struct vfio_release_event *vr_event_notice(enum vfio_release_cmd type,
					   enum vfio_release_notice notice);

/* A clock in ns: CLOCK_MONOTONIC for deadlines and the kernel's stamps. */
static inline uint64_t vr_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static inline uint64_t vr_mono_ms(void)
{
	return vr_clock_ns(CLOCK_MONOTONIC) / 1000000ULL;
}

#endif
