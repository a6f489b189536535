/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Messages as the kernel sends them, for the unit tests: vfio_release
 * records and notifications, ACKs and errors with extended acks, dump
 * ends, and the generic netlink controller's family notifications.
 */
#ifndef VR_TEST_NETLINK_BUILDER_H
#define VR_TEST_NETLINK_BUILDER_H

#include <stdint.h>
#include <string.h>

#include <linux/genetlink.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>

#include "internal.h"

#define TEST_FAMILY 0x21

/* The fields the tests vary; zero means "not sent". */
struct test_record {
	uint8_t cmd;
	const char *device;
	int state;		/* -1: not sent */
	uint64_t seq, generation, instance, registration;
	uint32_t nlseq;		/* the reply's sequence number */
	uint16_t nlflags;
	int family;		/* 0: TEST_FAMILY */
};

static inline struct nl_msg *test_record_msg(const struct test_record *r)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, r->nlseq, r->family ? r->family : TEST_FAMILY,
				    0, r->nlflags,
				    r->cmd, VFIO_RELEASE_GENL_VERSION));
	if (r->device)
		assert_int_equal(nla_put_string(msg, VFIO_RELEASE_A_DEVICE, r->device), 0);
	if (r->state >= 0)
		assert_int_equal(nla_put_u32(msg, VFIO_RELEASE_A_STATE, r->state), 0);
	if (r->seq)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_SEQ, r->seq), 0);
	assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_GENERATION, r->generation), 0);
	if (r->instance)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_INSTANCE, r->instance), 0);
	if (r->registration)
		assert_int_equal(nla_put_u64(msg, VFIO_RELEASE_A_REGISTRATION,
					     r->registration), 0);
	return msg;
}

static inline struct vfio_release_event *test_event(const struct test_record *r)
{
	struct nl_msg *msg = test_record_msg(r);
	struct vfio_release_event *ev = NULL;

	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &ev), 0);
	nlmsg_free(msg);
	return ev;
}

/* NLMSG_DONE or NLMSG_ERROR (0 is an ACK), with an extended ack message. */
static inline struct nl_msg *test_control_msg(int type, uint32_t nlseq, int error,
					      const char *extack)
{
	struct nl_msg *msg = nlmsg_alloc_simple(type, extack ? NLM_F_ACK_TLVS | NLM_F_CAPPED : 0);
	struct nlmsgerr err = { .error = error };

	assert_non_null(msg);
	nlmsg_hdr(msg)->nlmsg_seq = nlseq;
	if (type == NLMSG_ERROR) {
		err.msg.nlmsg_len = NLMSG_HDRLEN;
		err.msg.nlmsg_type = TEST_FAMILY;
		err.msg.nlmsg_seq = nlseq;
		assert_int_equal(nlmsg_append(msg, &err, sizeof(err), 0), 0);
		if (extack)
			assert_int_equal(nla_put_string(msg, NLMSGERR_ATTR_MSG, extack), 0);
	} else {
		/* A dump's end carries its outcome, and may carry TLVs too. */
		assert_int_equal(nlmsg_append(msg, &error, sizeof(error), 0), 0);
		if (extack)
			assert_int_equal(nla_put_string(msg, NLMSGERR_ATTR_MSG, extack), 0);
	}
	return msg;
}

/* The controller's NEWFAMILY / DELFAMILY (also its GETFAMILY answer). */
static inline struct nl_msg *test_family_msg_group(uint8_t cmd, const char *name,
						   uint16_t id, const char *group_name,
						   uint32_t group, uint32_t nlseq)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct nlattr *groups, *g;

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, nlseq, GENL_ID_CTRL, 0, 0, cmd, 2));
	assert_int_equal(nla_put_string(msg, CTRL_ATTR_FAMILY_NAME, name), 0);
	assert_int_equal(nla_put_u16(msg, CTRL_ATTR_FAMILY_ID, id), 0);
	assert_int_equal(nla_put_u32(msg, CTRL_ATTR_VERSION, 1), 0);
	assert_int_equal(nla_put_u32(msg, CTRL_ATTR_HDRSIZE, 0), 0);
	assert_int_equal(nla_put_u32(msg, CTRL_ATTR_MAXATTR, VFIO_RELEASE_A_MAX), 0);
	if (group) {
		groups = nla_nest_start(msg, CTRL_ATTR_MCAST_GROUPS);
		g = nla_nest_start(msg, 1);
		assert_int_equal(nla_put_string(msg, CTRL_ATTR_MCAST_GRP_NAME,
						group_name), 0);
		assert_int_equal(nla_put_u32(msg, CTRL_ATTR_MCAST_GRP_ID, group), 0);
		nla_nest_end(msg, g);
		nla_nest_end(msg, groups);
	}
	return msg;
}

static inline struct nl_msg *test_family_msg(uint8_t cmd, const char *name,
					     uint16_t id, uint32_t group, uint32_t nlseq)
{
	return test_family_msg_group(cmd, name, id, VFIO_RELEASE_MCGRP_EVENTS, group, nlseq);
}

#endif
