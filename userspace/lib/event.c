// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Events: a vfio_release message's attributes, copied once and indexed by
 * attribute number, so that attributes appended to the uapi later can be
 * read without a new symbol.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "internal.h"

/* The attributes the uapi types as strings; all others are integers. */
static bool vr_is_string_attr(unsigned int attr)
{
	switch (attr) {
	case VFIO_RELEASE_A_DEVICE:
	case VFIO_RELEASE_A_SUBSYSTEM:
	case VFIO_RELEASE_A_DRIVER:
	case VFIO_RELEASE_A_COMM:
	case VFIO_RELEASE_A_OPENER_COMM:
		return true;
	default:
		return false;
	}
}

static const struct nlattr *vr_attr(const struct vfio_release_event *ev,
				    unsigned int attr)
{
	if (attr >= VR_ATTR_SLOTS || !ev->attr[attr])
		return NULL;
	return (const struct nlattr *)(ev->data + ev->attr[attr] - 1);
}

static bool vr_nul_terminated(const struct nlattr *a)
{
	int len = nla_len(a);

	return len > 0 && memchr(nla_data(a), '\0', len);
}

static int vr_integer(const struct nlattr *a, uint64_t *value)
{
	const void *p = nla_data(a);

	switch (nla_len(a)) {
	case 1:
		*value = *(const uint8_t *)p;
		return 0;
	case 2:
		*value = *(const uint16_t *)p;
		return 0;
	case 4:
		*value = *(const uint32_t *)p;
		return 0;
	case 8:
		memcpy(value, p, sizeof(*value));
		return 0;
	default:
		return -EINVAL;
	}
}

/*
 * Known attributes must have their uapi type: a record with a string where
 * a number belongs is refused whole, rather than read half.
 */
static int vr_check_known(const struct nlattr *a, unsigned int type)
{
	uint64_t v;

	if (type == VFIO_RELEASE_A_PAD || type > VFIO_RELEASE_A_MAX)
		return 0;
	if (vr_is_string_attr(type))
		return vr_nul_terminated(a) ? 0 : -EINVAL;
	return vr_integer(a, &v);
}

static uint64_t vr_cached_u64(const struct vfio_release_event *ev,
			      unsigned int attr)
{
	uint64_t v = 0;

	return vfio_release_event_get_u64(ev, attr, &v) ? 0 : v;
}

static void vr_cache(struct vfio_release_event *ev)
{
	const char *device;

	ev->device = "";
	if (!vfio_release_event_get_string(ev, VFIO_RELEASE_A_DEVICE, &device))
		ev->device = device;
	ev->state = vr_cached_u64(ev, VFIO_RELEASE_A_STATE);
	ev->seq = vr_cached_u64(ev, VFIO_RELEASE_A_SEQ);
	ev->generation = vr_cached_u64(ev, VFIO_RELEASE_A_GENERATION);
	ev->instance = vr_cached_u64(ev, VFIO_RELEASE_A_INSTANCE);
	ev->registration = vr_cached_u64(ev, VFIO_RELEASE_A_REGISTRATION);
}

int vr_event_decode(const struct nlmsghdr *hdr, struct vfio_release_event **out)
{
	const struct genlmsghdr *gnlh;
	struct vfio_release_event *ev;
	const struct nlattr *a;
	int len, rem, err;

	if (hdr->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN)
		return -EINVAL;
	gnlh = nlmsg_data(hdr);
	len = hdr->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	if (len > UINT16_MAX)
		return -EINVAL;
	ev = calloc(1, sizeof(*ev) + len);
	if (!ev)
		return -ENOMEM;
	ev->refs = 1;
	ev->type = gnlh->cmd;
	ev->len = len;
	memcpy(ev->data, (const char *)gnlh + GENL_HDRLEN, len);

	nla_for_each_attr(a, (struct nlattr *)ev->data, len, rem) {
		unsigned int type = nla_type(a);

		err = vr_check_known(a, type);
		if (err) {
			free(ev);
			return err;
		}
		if (type < VR_ATTR_SLOTS)
			ev->attr[type] = (const unsigned char *)a - ev->data + 1;
	}
	/* Trailing bytes that are no attribute: a truncated message. */
	if (rem >= (int)NLA_HDRLEN) {
		free(ev);
		return -EINVAL;
	}
	vr_cache(ev);
	*out = ev;
	return 0;
}

struct vfio_release_event *vr_event_notice(enum vfio_release_cmd type,
					   enum vfio_release_notice notice)
{
	struct vfio_release_event *ev = calloc(1, sizeof(*ev));

	if (!ev)
		return NULL;
	ev->refs = 1;
	ev->type = type;
	ev->notice = notice;
	ev->device = "";
	return ev;
}

VR_EXPORT int vfio_release_event_new_from_message(const void *msg, size_t len,
						  struct vfio_release_event **out)
{
	const struct nlmsghdr *hdr = msg;

	if (!msg || len < NLMSG_HDRLEN || hdr->nlmsg_len > len ||
	    hdr->nlmsg_type < NLMSG_MIN_TYPE)
		return -EINVAL;
	return vr_event_decode(hdr, out);
}

VR_EXPORT struct vfio_release_event *
vfio_release_event_ref(struct vfio_release_event *ev)
{
	if (ev)
		__atomic_add_fetch(&ev->refs, 1, __ATOMIC_RELAXED);
	return ev;
}

VR_EXPORT struct vfio_release_event *
vfio_release_event_unref(struct vfio_release_event *ev)
{
	if (ev && !__atomic_sub_fetch(&ev->refs, 1, __ATOMIC_ACQ_REL))
		free(ev);
	return NULL;
}

VR_EXPORT enum vfio_release_cmd
vfio_release_event_get_type(const struct vfio_release_event *ev)
{
	return ev->type;
}

VR_EXPORT enum vfio_release_notice
vfio_release_event_get_notice(const struct vfio_release_event *ev)
{
	return ev->notice;
}

VR_EXPORT bool vfio_release_event_has(const struct vfio_release_event *ev,
				      enum vfio_release_attr attr)
{
	return vr_attr(ev, attr) != NULL;
}

VR_EXPORT int vfio_release_event_get_u64(const struct vfio_release_event *ev,
					 enum vfio_release_attr attr,
					 uint64_t *value)
{
	const struct nlattr *a = vr_attr(ev, attr);

	if (!a)
		return -ENODATA;
	if (vr_is_string_attr(attr))
		return -EINVAL;
	return vr_integer(a, value);
}

VR_EXPORT int vfio_release_event_get_string(const struct vfio_release_event *ev,
					    enum vfio_release_attr attr,
					    const char **value)
{
	const struct nlattr *a = vr_attr(ev, attr);

	if (!a)
		return -ENODATA;
	if (attr <= VFIO_RELEASE_A_MAX && !vr_is_string_attr(attr))
		return -EINVAL;
	if (!vr_nul_terminated(a))
		return -EINVAL;
	*value = nla_data(a);
	return 0;
}

VR_EXPORT const char *
vfio_release_event_get_device(const struct vfio_release_event *ev)
{
	return ev->device;
}

VR_EXPORT enum vfio_release_state
vfio_release_event_get_state(const struct vfio_release_event *ev)
{
	return ev->state;
}
