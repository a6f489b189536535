// SPDX-License-Identifier: GPL-2.0-or-later
/* The CLI's output: escaped text and the JSON schema (keys as in the uapi). */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "netlink-builder.h"
#include "output.h"

static struct vfio_release_event *released(const char *comm)
{
	struct nl_msg *msg = nlmsg_alloc();
	struct vfio_release_event *ev = NULL;

	assert_non_null(genlmsg_put(msg, 0, 0, TEST_FAMILY, 0, 0,
				    VFIO_RELEASE_CMD_DEVICE_RELEASED, 1));
	nla_put_string(msg, VFIO_RELEASE_A_DEVICE, "0000:01:00.0");
	nla_put_u16(msg, VFIO_RELEASE_A_PCI_VENDOR, 0x8086);
	nla_put_u32(msg, VFIO_RELEASE_A_STATE, VFIO_RELEASE_STATE_RELEASED);
	nla_put_u32(msg, VFIO_RELEASE_A_RESET, VFIO_RELEASE_RESET_FUNCTION);
	nla_put_u64(msg, VFIO_RELEASE_A_SEQ, 42);
	nla_put_u64(msg, VFIO_RELEASE_A_TIMESTAMP_NS, 1000000000ULL);
	nla_put_u64(msg, VFIO_RELEASE_A_OPEN_COUNT, 3);
	nla_put_string(msg, VFIO_RELEASE_A_COMM, comm);
	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &ev), 0);
	nlmsg_free(msg);
	return ev;
}

static void escape(void **state)
{
	char buf[64];

	(void)state;
	vr_escape("x state=free", buf, sizeof(buf));
	assert_string_equal(buf, "x\\x20state\\x3dfree");
	vr_escape("a\\b\"\n\x7f", buf, sizeof(buf));
	assert_string_equal(buf, "a\\x5cb\\x22\\x0a\\x7f");
	vr_escape("qemu-system-x86", buf, sizeof(buf));
	assert_string_equal(buf, "qemu-system-x86");
	/* Cut on a whole escape, always terminated. */
	vr_escape("          ", buf, 10);
	assert_string_equal(buf, "\\x20\\x20");
}

/* A process named "x state=free" cannot fool a grep for state=free. */
static void text_cannot_be_spoofed(void **state)
{
	struct vfio_release_event *ev = released("x state=free");
	char *line = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&line, &size);

	(void)state;
	vr_print_text(out, ev, false);
	fclose(out);
	assert_non_null(strstr(line, " state=released "));
	assert_null(strstr(line, "state=free"));
	assert_non_null(strstr(line, " comm=x\\x20state\\x3dfree"));
	assert_non_null(strstr(line, " pci_vendor=8086"));
	assert_non_null(strstr(line, " seq=42"));
	assert_int_equal(strncmp(line, "released ", 9), 0);
	free(line);
	vfio_release_event_unref(ev);
}

static void json_schema(void **state)
{
	struct vfio_release_event *ev = released("vfio-hold");
	json_object *obj = vr_event_json(ev), *v;

	(void)state;
	assert_true(json_object_object_get_ex(obj, "schema", &v));
	assert_int_equal(json_object_get_int(v), VR_JSON_SCHEMA);
	assert_true(json_object_object_get_ex(obj, "event", &v));
	assert_string_equal(json_object_get_string(v), "released");
	assert_true(json_object_object_get_ex(obj, "state", &v));
	assert_string_equal(json_object_get_string(v), "released");
	assert_true(json_object_object_get_ex(obj, "reset", &v));
	assert_string_equal(json_object_get_string(v), "function");
	assert_true(json_object_object_get_ex(obj, "pci_vendor", &v));
	assert_int_equal(json_object_get_int(v), 0x8086);
	assert_true(json_object_object_get_ex(obj, "open_count", &v));
	assert_int_equal(json_object_get_int(v), 3);
	assert_true(json_object_object_get_ex(obj, "comm", &v));
	assert_string_equal(json_object_get_string(v), "vfio-hold");
	assert_true(json_object_object_get_ex(obj, "time", &v));
	/* Absent attributes are absent, not zero. */
	assert_false(json_object_object_get_ex(obj, "close_ns", &v));
	assert_false(json_object_object_get_ex(obj, "notice", &v));
	json_object_put(obj);
	vfio_release_event_unref(ev);
}

static void json_is_always_valid(void **state)
{
	struct vfio_release_event *ev = released("bad\xff\xfe");
	json_object *obj = vr_event_json(ev), *v;
	struct nl_msg *msg = nlmsg_alloc();
	struct vfio_release_event *rec = NULL;

	(void)state;
	/* Not UTF-8: escaped, so the output stays JSON. */
	assert_true(json_object_object_get_ex(obj, "comm", &v));
	assert_string_equal(json_object_get_string(v), "bad\\xff\\xfe");
	json_object_put(obj);
	vfio_release_event_unref(ev);
	/* The random instance: a string, exact past 2^53. */
	genlmsg_put(msg, 0, 0, TEST_FAMILY, 0, 0, VFIO_RELEASE_CMD_GET_DEVICE, 1);
	nla_put_u64(msg, VFIO_RELEASE_A_INSTANCE, 0xfedcba9876543211ULL);
	assert_int_equal(vr_event_decode(nlmsg_hdr(msg), &rec), 0);
	nlmsg_free(msg);
	obj = vr_event_json(rec);
	assert_true(json_object_object_get_ex(obj, "instance", &v));
	assert_string_equal(json_object_get_string(v), "fedcba9876543211");
	json_object_put(obj);
	vfio_release_event_unref(rec);
}

static void json_notices(void **state)
{
	struct vfio_release_event *gone = vr_event_notice(VFIO_RELEASE_CMD_UNSPEC,
							  VFIO_RELEASE_NOTICE_MODULE_UNLOADED);
	struct vfio_release_event *back = vr_event_notice(VFIO_RELEASE_CMD_RESYNC,
							  VFIO_RELEASE_NOTICE_MODULE_LOADED);
	json_object *a = vr_event_json(gone), *b = vr_event_json(back), *v;

	(void)state;
	assert_true(json_object_object_get_ex(a, "event", &v));
	assert_string_equal(json_object_get_string(v), "module-unloaded");
	assert_true(json_object_object_get_ex(b, "event", &v));
	assert_string_equal(json_object_get_string(v), "resync");
	assert_true(json_object_object_get_ex(b, "notice", &v));
	assert_string_equal(json_object_get_string(v), "module-loaded");
	json_object_put(a);
	json_object_put(b);
	vfio_release_event_unref(gone);
	vfio_release_event_unref(back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escape),
		cmocka_unit_test(text_cannot_be_spoofed),
		cmocka_unit_test(json_schema),
		cmocka_unit_test(json_is_always_valid),
		cmocka_unit_test(json_notices),
	};

	return cmocka_run_group_tests_name("output", tests, NULL, NULL);
}
