// SPDX-License-Identifier: GPL-2.0-or-later
/* Events: decoding the kernel's messages, the getters, and the names. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "netlink-builder.h"

static struct nl_msg *message(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, 0, TEST_FAMILY, 0, 0, cmd,
				    VFIO_RELEASE_GENL_VERSION));
	return msg;
}

static struct vfio_release_event *decode(struct nl_msg *msg)
{
	struct vfio_release_event *ev = NULL;

	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &ev), 0);
	nlmsg_free(msg);
	return ev;
}

static uint64_t u64(const struct vfio_release_event *ev, enum vfio_release_attr a)
{
	uint64_t v = 0;

	assert_int_equal(vfio_release_event_get_u64(ev, a, &v), 0);
	return v;
}

static const char *str(const struct vfio_release_event *ev, enum vfio_release_attr a)
{
	const char *s = NULL;

	assert_int_equal(vfio_release_event_get_string(ev, a, &s), 0);
	return s;
}

static void device_record(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_RELEASED);
	struct vfio_release_event *ev;

	(void)state;
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	nla_put_string(msg, VFIO_RELEASE_A_SUBSYSTEM, "pci");
	nla_put_string(msg, VFIO_RELEASE_A_DRIVER, "vfio-pci");
	nla_put_u16(msg, VFIO_RELEASE_A_PCI_VENDOR, 0x1234);
	nla_put_u16(msg, VFIO_RELEASE_A_PCI_DEVICE, 0x11e8);
	nla_put_u32(msg, VFIO_RELEASE_A_IOMMU_GROUP, 6);
	nla_put_u32(msg, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_RELEASED);
	nla_put_u32(msg, VFIO_RELEASE_A_RESET, VFIO_RELEASE_RESET_BUS_PENDING);
	nla_put_u64(msg, VFIO_RELEASE_A_CLOSE_NS, 6000000000ULL);
	nla_put_u64(msg, VFIO_RELEASE_A_SEQ, 1ULL << 40);
	nla_put_u64(msg, VFIO_RELEASE_A_GENERATION, 7);
	nla_put_u32(msg, VFIO_RELEASE_A_PID, 4242);
	nla_put_string(msg, VFIO_RELEASE_A_COMM, "qemu-system-x86");
	nla_put_u64(msg, VFIO_RELEASE_A_INSTANCE, 0xabcdef0123456789ULL);
	nla_put_u64(msg, VFIO_RELEASE_A_REGISTRATION, 3);
	nla_put_u32(msg, VFIO_RELEASE_A_OPENER_PID, 99);
	nla_put_string(msg, VFIO_RELEASE_A_OPENER_COMM, "x state=free");
	ev = decode(msg);

	assert_int_equal(vfio_release_event_get_type(ev), VFIO_RELEASE_CMD_DEVICE_RELEASED);
	assert_int_equal(vfio_release_event_get_notice(ev), VFIO_RELEASE_NOTICE_NONE);
	assert_string_equal(vfio_release_event_get_device(ev), "0000:01:00.0");
	assert_int_equal(vfio_release_event_get_state(ev), VFIO_RELEASE_STATE_RELEASED);
	assert_string_equal(str(ev, VFIO_RELEASE_A_SUBSYSTEM), "pci");
	assert_string_equal(str(ev, VFIO_RELEASE_A_DRIVER), "vfio-pci");
	assert_int_equal(u64(ev, VFIO_RELEASE_A_PCI_VENDOR), 0x1234);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_PCI_DEVICE), 0x11e8);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_IOMMU_GROUP), 6);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_RESET), VFIO_RELEASE_RESET_BUS_PENDING);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_CLOSE_NS), 6000000000ULL);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_SEQ), 1ULL << 40);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_GENERATION), 7);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_PID), 4242);
	assert_string_equal(str(ev, VFIO_RELEASE_A_COMM), "qemu-system-x86");
	assert_int_equal(u64(ev, VFIO_RELEASE_A_INSTANCE), 0xabcdef0123456789ULL);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_REGISTRATION), 3);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_OPENER_PID), 99);
	assert_string_equal(str(ev, VFIO_RELEASE_A_OPENER_COMM), "x state=free");
	vfio_release_event_unref(ev);
}

static void absent_and_mistyped(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_OPENED);
	struct vfio_release_event *ev;
	const char *s;
	uint64_t v;

	(void)state;
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	ev = decode(msg);
	assert_false(vfio_release_event_has(ev, VFIO_RELEASE_A_CLOSE_NS));
	assert_int_equal(vfio_release_event_get_u64(ev, VFIO_RELEASE_A_CLOSE_NS, &v), -ENODATA);
	assert_int_equal(vfio_release_event_get_string(ev, VFIO_RELEASE_A_COMM, &s), -ENODATA);
	/* A string read as a number and the reverse: refused. */
	assert_int_equal(vfio_release_event_get_u64(ev, VFIO_RELEASE_A_DEVICE, &v), -EINVAL);
	assert_int_equal(vfio_release_event_get_string(ev, VFIO_RELEASE_A_SEQ, &s), -ENODATA);
	assert_int_equal(vfio_release_event_get_state(ev), VFIO_RELEASE_STATE_UNKNOWN);
	/* Attributes outside the table, even huge numbers: simply absent. */
	assert_false(vfio_release_event_has(ev, 1000));
	assert_int_equal(vfio_release_event_get_u64(ev, 1000, &v), -ENODATA);
	vfio_release_event_unref(ev);
}

/* A newer module's attribute stays readable without a new symbol. */
static void newer_attributes_readable(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_FREE);
	struct vfio_release_event *ev;
	const char *s = NULL;

	(void)state;
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	nla_put_u32(msg, VFIO_RELEASE_A_MAX + 1, 77);
	nla_put_string(msg, VFIO_RELEASE_A_MAX + 2, "future");
	nla_put_u32(msg, VR_ATTR_SLOTS + 5, 1);	/* beyond what is kept */
	ev = decode(msg);
	assert_int_equal(u64(ev, VFIO_RELEASE_A_MAX + 1), 77);
	assert_int_equal(vfio_release_event_get_string(ev, VFIO_RELEASE_A_MAX + 2, &s), 0);
	assert_string_equal(s, "future");
	assert_string_equal(vfio_release_event_get_device(ev), "0000:01:00.0");
	vfio_release_event_unref(ev);
}

static void malformed_refused(void **state)
{
	struct vfio_release_event *ev = NULL;
	struct nl_msg *msg;
	char unterminated[4] = { 'a', 'b', 'c', 'd' };

	(void)state;
	/* A u64 attribute three bytes long. */
	msg = message(VFIO_RELEASE_CMD_DEVICE_FREE);
	nla_put(msg, VFIO_RELEASE_A_SEQ, 3, "abc");
	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &ev), -EINVAL);
	nlmsg_free(msg);
	/* A device name without its NUL. */
	msg = message(VFIO_RELEASE_CMD_DEVICE_FREE);
	nla_put(msg, VFIO_RELEASE_A_DEVICE, sizeof(unterminated), unterminated);
	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &ev), -EINVAL);
	nlmsg_free(msg);
	assert_null(ev);
	/* Raw bytes through the public entry point. */
	assert_int_equal(vfio_release_event_new_from_message("xx", 2, &ev), -EINVAL);
	assert_int_equal(vfio_release_event_new_from_message(NULL, 0, &ev), -EINVAL);
}

static void from_recorded_message(void **state)
{
	struct test_record r = {
		.cmd = VFIO_RELEASE_CMD_DEVICE_FREE, .device = "0000:02:00.0",
		.state = VFIO_RELEASE_STATE_FREE, .seq = 9, .generation = 2,
	};
	struct nl_msg *msg = test_record_msg(&r);
	struct nlmsghdr *hdr = nlmsg_hdr(msg);
	struct vfio_release_event *ev = NULL;

	(void)state;
	/* A length shorter than the header says: refused. */
	assert_int_equal(vfio_release_event_new_from_message(hdr, hdr->nlmsg_len - 1, &ev),
			 -EINVAL);
	assert_int_equal(vfio_release_event_new_from_message(hdr, hdr->nlmsg_len, &ev), 0);
	assert_string_equal(vfio_release_event_get_device(ev), "0000:02:00.0");
	/* References: the event lives until the last one goes. */
	assert_ptr_equal(vfio_release_event_ref(ev), ev);
	assert_null(vfio_release_event_unref(ev));
	assert_int_equal(u64(ev, VFIO_RELEASE_A_SEQ), 9);
	vfio_release_event_unref(ev);
	vfio_release_event_unref(NULL);
	nlmsg_free(msg);
}

static void notices(void **state)
{
	struct vfio_release_event *ev = vr_event_notice(VFIO_RELEASE_CMD_RESYNC,
							VFIO_RELEASE_NOTICE_OVERFLOW);

	(void)state;
	assert_int_equal(vfio_release_event_get_type(ev), VFIO_RELEASE_CMD_RESYNC);
	assert_int_equal(vfio_release_event_get_notice(ev), VFIO_RELEASE_NOTICE_OVERFLOW);
	assert_string_equal(vfio_release_event_get_device(ev), "");
	assert_false(vfio_release_event_has(ev, VFIO_RELEASE_A_SEQ));
	vfio_release_event_unref(ev);
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(vfio_release_state_name(VFIO_RELEASE_STATE_FREE), "free");
	assert_string_equal(vfio_release_state_name(99), "unknown");
	assert_string_equal(vfio_release_reset_name(VFIO_RELEASE_RESET_BUS_PENDING), "bus-pending");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_DEVICE_REMOVED), "removed");
	assert_string_equal(vfio_release_resync_name(VFIO_RELEASE_RESYNC_REARMED), "rearmed");
	assert_string_equal(vfio_release_notice_name(VFIO_RELEASE_NOTICE_MODULE_LOADED),
			    "module-loaded");
	assert_string_equal(vfio_release_attr_name(VFIO_RELEASE_A_CLOSE_NS), "close_ns");
	assert_string_equal(vfio_release_attr_name(VFIO_RELEASE_A_OPENER_COMM), "opener_comm");
	assert_null(vfio_release_attr_name(VFIO_RELEASE_A_PAD));
	assert_null(vfio_release_attr_name(VFIO_RELEASE_A_MAX + 1));
}

/* Every attribute of the uapi has a name: the JSON keys depend on it. */
static void every_attribute_named(void **state)
{
	unsigned int a;

	(void)state;
	for (a = VFIO_RELEASE_A_DEVICE; a <= VFIO_RELEASE_A_MAX; a++)
		assert_non_null(vfio_release_attr_name(a));
}

static void errors(void **state)
{
	(void)state;
	assert_non_null(strstr(vfio_release_strerror(-EPERM), "CAP_NET_ADMIN"));
	assert_non_null(strstr(vfio_release_strerror(-ENOPKG), "not loaded"));
	assert_string_equal(vfio_release_strerror(-EBUSY), strerror(EBUSY));
	/* libnl's codes keep the errno they stand for. */
	assert_int_equal(vr_errno_from_nl(-NLE_BUSY), -EBUSY);
	assert_int_equal(vr_errno_from_nl(-NLE_NOACCESS), -EACCES);
	assert_int_equal(vr_errno_from_nl(-NLE_PERM), -EPERM);
	assert_int_equal(vr_errno_from_nl(-NLE_AGAIN), -EAGAIN);
	assert_int_equal(vr_errno_from_nl(0), 0);
	/* Folded into NLE_FAILURE: the errno of the failed call. */
	errno = ECONNREFUSED;
	assert_int_equal(vr_errno_from_nl(-NLE_FAILURE), -ECONNREFUSED);
	errno = 0;
	assert_int_equal(vr_errno_from_nl(-NLE_FAILURE), -EIO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_record),
		cmocka_unit_test(absent_and_mistyped),
		cmocka_unit_test(newer_attributes_readable),
		cmocka_unit_test(malformed_refused),
		cmocka_unit_test(from_recorded_message),
		cmocka_unit_test(notices),
		cmocka_unit_test(names),
		cmocka_unit_test(every_attribute_named),
		cmocka_unit_test(errors),
	};

	return cmocka_run_group_tests_name("event", tests, NULL, NULL);
}
