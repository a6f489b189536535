// SPDX-License-Identifier: GPL-2.0-or-later
/* Decoding of vfio_release messages built with libnl, as the kernel sends them. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <netlink/errno.h>
#include <netlink/genl/genl.h>

#include "internal.h"

static struct nl_msg *message(uint8_t cmd)
{
	struct nl_msg *msg = nlmsg_alloc();

	assert_non_null(msg);
	assert_non_null(genlmsg_put(msg, 0, 0, 0x20, 0, 0, cmd, VFIO_RELEASE_GENL_VERSION));
	return msg;
}

static void put_u64(struct nl_msg *msg, int attr, uint64_t v)
{
	assert_int_equal(nla_put_u64(msg, attr, v), 0);
}

static void device_record(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_RELEASED);
	struct vfio_release_event ev;

	(void)state;
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	nla_put_string(msg, VFIO_RELEASE_A_SUBSYSTEM, "pci");
	nla_put_string(msg, VFIO_RELEASE_A_DRIVER, "vfio-pci");
	nla_put_u16(msg, VFIO_RELEASE_A_PCI_VENDOR, 0x1234);
	nla_put_u16(msg, VFIO_RELEASE_A_PCI_DEVICE, 0x11e8);
	nla_put_u32(msg, VFIO_RELEASE_A_IOMMU_GROUP, 6);
	nla_put_u32(msg, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_RELEASED);
	nla_put_u32(msg, VFIO_RELEASE_A_RESET, VFIO_RELEASE_RESET_BUS_PENDING);
	put_u64(msg, VFIO_RELEASE_A_CLOSE_NS, 6000000000ULL);
	put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, 123456789ULL);
	put_u64(msg, VFIO_RELEASE_A_SEQ, 1ULL << 40);
	put_u64(msg, VFIO_RELEASE_A_GENERATION, 7);
	nla_put_u32(msg, VFIO_RELEASE_A_PID, 4242);
	nla_put_string(msg, VFIO_RELEASE_A_COMM, "qemu-system-x86");

	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_int_equal(ev.type, VFIO_RELEASE_CMD_DEVICE_RELEASED);
	assert_string_equal(ev.device, "0000:01:00.0");
	assert_string_equal(ev.subsystem, "pci");
	assert_string_equal(ev.driver, "vfio-pci");
	assert_true(ev.has_pci_id);
	assert_int_equal(ev.pci_vendor, 0x1234);
	assert_int_equal(ev.pci_device, 0x11e8);
	assert_true(ev.has_group);
	assert_int_equal(ev.iommu_group, 6);
	assert_int_equal(ev.state, VFIO_RELEASE_STATE_RELEASED);
	assert_int_equal(ev.reset, VFIO_RELEASE_RESET_BUS_PENDING);
	assert_true(ev.has_close);
	assert_int_equal(ev.close_ns, 6000000000ULL);
	assert_int_equal(ev.timestamp_ns, 123456789ULL);
	assert_int_equal(ev.seq, 1ULL << 40);
	assert_int_equal(ev.generation, 7);
	assert_int_equal(ev.pid, 4242);
	assert_string_equal(ev.comm, "qemu-system-x86");
	nlmsg_free(msg);
}

/* Absent optional attributes stay absent; no stale data leaks in. */
static void absent_attributes(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_GROUP_RELEASED);
	struct vfio_release_event ev;

	(void)state;
	memset(&ev, 0xa5, sizeof(ev));
	nla_put_u32(msg, VFIO_RELEASE_A_IOMMU_GROUP, 8);
	put_u64(msg, VFIO_RELEASE_A_SEQ, 3);
	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_int_equal(ev.type, VFIO_RELEASE_CMD_GROUP_RELEASED);
	assert_int_equal(ev.iommu_group, 8);
	assert_false(ev.has_close);
	assert_false(ev.has_pci_id);
	assert_string_equal(ev.device, "");
	assert_int_equal(ev.generation, 0);
	nlmsg_free(msg);
}

/* A newer module's attributes are ignored, known ones still decode. */
static void unknown_attributes_ignored(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_FREE);
	struct vfio_release_event ev;

	(void)state;
	nla_put_u32(msg, VFIO_RELEASE_A_MAX + 1, 99);
	nla_put_string(msg, VFIO_RELEASE_A_MAX + 5, "from the future");
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:02:00.0");
	nla_put_u32(msg, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_FREE);
	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_string_equal(ev.device, "0000:02:00.0");
	assert_int_equal(ev.state, VFIO_RELEASE_STATE_FREE);
	nlmsg_free(msg);
}

static void resync_notice(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_RESYNC);
	struct vfio_release_event ev;

	(void)state;
	nla_put_u32(msg, VFIO_RELEASE_A_RESYNC_REASON, VFIO_RELEASE_RESYNC_QUEUE_FULL);
	put_u64(msg, VFIO_RELEASE_A_LOST, 12);
	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_int_equal(ev.resync_reason, VFIO_RELEASE_RESYNC_QUEUE_FULL);
	assert_int_equal(ev.lost, 12);
	assert_false(ev.local_overflow);
	nlmsg_free(msg);
}

/* A u32 where a u64 belongs is malformed: refused, not misread. */
static void wrong_size_refused(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_FREE);
	struct vfio_release_event ev;

	(void)state;
	nla_put_u16(msg, VFIO_RELEASE_A_SEQ, 1);
	assert_int_equal(vr_decode(msg, &ev), -ERANGE);
	nlmsg_free(msg);
}

/* The attributes a newer module adds: ids, and who opened the device. */
static void instance_registration_opener(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_OPENED);
	struct vfio_release_event ev;

	(void)state;
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	nla_put_u32(msg, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_OPEN);
	put_u64(msg, VFIO_RELEASE_A_INSTANCE, 0xfedcba9876543210ULL);
	put_u64(msg, VFIO_RELEASE_A_REGISTRATION, 3);
	nla_put_u32(msg, VFIO_RELEASE_A_OPENER_PID, 777);
	nla_put_string(msg, VFIO_RELEASE_A_OPENER_COMM, "qemu-system-x86");
	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_int_equal(ev.type, VFIO_RELEASE_CMD_DEVICE_OPENED);
	assert_int_equal(ev.instance, 0xfedcba9876543210ULL);
	assert_int_equal(ev.registration, 3);
	assert_true(ev.has_opener);
	assert_int_equal(ev.opener_pid, 777);
	assert_string_equal(ev.opener_comm, "qemu-system-x86");
	/* The closer's fields are apart from the opener's. */
	assert_false(ev.has_close);
	assert_int_equal(ev.pid, 0);
	assert_string_equal(ev.comm, "");
	nlmsg_free(msg);
}

/* An old module sends none of them; a released device has no opener. */
static void new_attributes_absent(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_REMOVED);
	struct vfio_release_event ev;

	(void)state;
	memset(&ev, 0xa5, sizeof(ev));
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	nla_put_u32(msg, VFIO_RELEASE_A_PID, 4242);
	nla_put_string(msg, VFIO_RELEASE_A_COMM, "qemu-system-x86");
	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_int_equal(ev.type, VFIO_RELEASE_CMD_DEVICE_REMOVED);
	assert_int_equal(ev.instance, 0);
	assert_int_equal(ev.registration, 0);
	assert_false(ev.has_opener);
	assert_int_equal(ev.opener_pid, 0);
	assert_string_equal(ev.opener_comm, "");
	nlmsg_free(msg);
}

/* A comm longer than the field is cut, still terminated. */
static void long_opener_comm_cut(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_OPENED);
	struct vfio_release_event ev;

	(void)state;
	nla_put_u32(msg, VFIO_RELEASE_A_OPENER_PID, 1);
	nla_put_string(msg, VFIO_RELEASE_A_OPENER_COMM, "a-name-longer-than-sixteen");
	assert_int_equal(vr_decode(msg, &ev), 0);
	assert_string_equal(ev.opener_comm, "a-name-longer-t");
	nlmsg_free(msg);
}

/* The registration is a u64: a u32 there is malformed. */
static void registration_wrong_size_refused(void **state)
{
	struct nl_msg *msg = message(VFIO_RELEASE_CMD_DEVICE_OPENED);
	struct vfio_release_event ev;

	(void)state;
	nla_put_u32(msg, VFIO_RELEASE_A_REGISTRATION, 1);
	assert_int_equal(vr_decode(msg, &ev), -ERANGE);
	nlmsg_free(msg);
}

/*
 * Without CAP_NET_ADMIN: joining the group fails in setsockopt with EPERM,
 * which libnl turns into NLE_PERM; GET and dump get an NLMSG_ERROR whose
 * errno the library returns as it is. Either way -EPERM, and its message.
 */
static void permission(void **state)
{
	(void)state;
	assert_int_equal(nl_syserr2nlerr(EPERM), NLE_PERM);
	assert_int_equal(vr_errno_from_nl(-nl_syserr2nlerr(EPERM)), -EPERM);
	assert_int_equal(vr_errno_from_nl(-NLE_PERM), -EPERM);
	assert_int_equal(vr_errno_from_nl(-nl_syserr2nlerr(EACCES)), -EACCES);
	assert_string_equal(vfio_release_strerror(-EPERM), "needs CAP_NET_ADMIN (run as root)");
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(vfio_release_state_name(VFIO_RELEASE_STATE_FREE), "free");
	assert_string_equal(vfio_release_state_name(99), "unknown");
	assert_string_equal(vfio_release_reset_name(VFIO_RELEASE_RESET_BUS_PENDING), "bus-pending");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_GROUP_RELEASED), "group-released");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_GROUP_CLAIMED), "group-claimed");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_DEVICE_OPENED), "opened");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_DEVICE_REMOVED), "removed");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_DEVICE_CLAIMED), "claimed");
	assert_string_equal(vfio_release_event_name(VFIO_RELEASE_CMD_MAX + 1), "unknown");
	assert_string_equal(vfio_release_resync_name(VFIO_RELEASE_RESYNC_REARMED), "rearmed");
	assert_non_null(strstr(vfio_release_strerror(-ENOPKG), "modprobe vfio_release"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(device_record),
		cmocka_unit_test(absent_attributes),
		cmocka_unit_test(unknown_attributes_ignored),
		cmocka_unit_test(resync_notice),
		cmocka_unit_test(wrong_size_refused),
		cmocka_unit_test(instance_registration_opener),
		cmocka_unit_test(new_attributes_absent),
		cmocka_unit_test(long_opener_comm_cut),
		cmocka_unit_test(registration_wrong_size_refused),
		cmocka_unit_test(permission),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests_name("decode", tests, NULL, NULL);
}
