// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Requests: GET and dump, asked again while the module is busy, and the
 * answer to a GET checked to be about the device asked for.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/attr.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "family.h"
#include "request.h"
#include "transact.h"

struct vr_reply {
	struct vfio_release *vr;
	struct vfio_release_event **records;
	unsigned int count, size;
};

static int vr_keep(struct vr_reply *reply, struct vfio_release_event *ev)
{
	if (reply->count == reply->size) {
		unsigned int size = reply->size ? reply->size * 2 : 8;
		void *p = realloc(reply->records, size * sizeof(*reply->records));

		if (!p)
			return -ENOMEM;
		reply->records = p;
		reply->size = size;
	}
	reply->records[reply->count++] = ev;
	return 0;
}

static int vr_on_record(struct nlmsghdr *hdr, void *arg)
{
	struct vr_reply *reply = arg;
	struct vfio_release_event *ev;
	int err;

	if (hdr->nlmsg_type != reply->vr->family)
		return 0;
	err = vr_event_decode(hdr, &ev);
	if (!err) {
		err = vr_keep(reply, ev);
		if (err)
			vfio_release_event_unref(ev);
	}
	return err;
}

static void vr_reply_clear(struct vr_reply *reply)
{
	unsigned int i;

	for (i = 0; i < reply->count; i++)
		vfio_release_event_unref(reply->records[i]);
	free(reply->records);
	reply->records = NULL;
	reply->count = reply->size = 0;
}

static int vr_request_once(struct vfio_release *vr, const char *device, int flags,
			   struct vr_reply *reply, bool *interrupted)
{
	struct vr_transact t = { .on_message = vr_on_record, .arg = reply };
	struct nl_msg *msg;
	int err;

	if (vr->family < 0)
		return -ENOPKG;
	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, vr->family, 0,
			 NLM_F_REQUEST | flags, VFIO_RELEASE_CMD_GET_DEVICE,
			 VFIO_RELEASE_GENL_VERSION) ||
	    (device && nla_put_string(msg, VFIO_RELEASE_A_DEVICE, device))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	err = vr_transact(vr, msg, &t);
	nlmsg_free(msg);
	*interrupted = t.interrupted;
	return err;
}

/*
 * -EAGAIN: the module is re-reading its devices. -ENOENT: the family id
 * is not known any more, the module was reloaded: follow it (never by
 * name: that would load a module just unloaded). A dump the kernel marked
 * interrupted may have missed or repeated a device. Each is asked again,
 * up to tries times; a dump interrupted every time is -EAGAIN.
 */
static int vr_request(struct vfio_release *vr, const char *device, int flags,
			  struct vr_reply *reply, int tries)
{
	bool interrupted;
	int err, n = 0;

	for (;;) {
		vr_reply_clear(reply);
		err = vr_request_once(vr, device, flags, reply, &interrupted);
		if (!err && interrupted)
			err = -EAGAIN;
		if (++n >= tries)
			break;
		if (err == -ENOENT || err == -ENOPKG) {
			/* Also when the controller's notice of the load was lost. */
			if (vr->io || vr_family_follow(vr))
				break;
			continue;
		}
		if (err != -EAGAIN)
			break;
	}
	if (err == -ENOENT)
		err = -ENOPKG;
	return err;
}

int vr_get(struct vfio_release *vr, const char *device,
	   struct vfio_release_event **out, int tries)
{
	struct vr_reply reply = { .vr = vr };
	int err;

	if (!vr || !device || !out)
		return -EINVAL;
	err = vr_request(vr, device, NLM_F_ACK, &reply, tries);
	if (!err && (reply.count != 1 ||
		     strcmp(vfio_release_event_get_device(reply.records[0]), device)))
		err = -EPROTO;
	if (!err) {
		*out = reply.records[0];
		reply.count = 0;
	}
	vr_reply_clear(&reply);
	return err;
}

VR_EXPORT int vfio_release_get(struct vfio_release *vr, const char *device,
			       struct vfio_release_event **out)
{
	return vr_get(vr, device, out, VR_REQUEST_TRIES);
}

VR_EXPORT int vfio_release_dump(struct vfio_release *vr,
				vfio_release_event_cb cb, void *arg)
{
	struct vr_reply reply = { .vr = vr };
	unsigned int i;
	int err;

	if (!vr)
		return -EINVAL;
	err = vr_request(vr, NULL, NLM_F_DUMP, &reply, VR_REQUEST_TRIES);
	for (i = 0; !err && cb && i < reply.count; i++)
		err = cb(reply.records[i], arg);
	/* Callbacks return 0 or a negative errno; anything else is a bug. */
	if (err > 0)
		err = -EINVAL;
	if (!err)
		err = reply.count;
	vr_reply_clear(&reply);
	return err;
}
