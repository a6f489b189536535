// SPDX-License-Identifier: GPL-2.0-or-later
/* Device names: full and short PCI addresses, and everything else refused. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "vfio-release.h"

static void accepts(const char *in, const char *want)
{
	char out[VFIO_RELEASE_DEVICE_NAME_MAX];

	assert_int_equal(vfio_release_parse_device(in, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void refuses(const char *in)
{
	char out[VFIO_RELEASE_DEVICE_NAME_MAX];

	assert_int_equal(vfio_release_parse_device(in, out, sizeof(out)), -EINVAL);
}

static void full_and_short(void **state)
{
	(void)state;
	accepts("0000:01:00.0", "0000:01:00.0");
	accepts("01:00.0", "0000:01:00.0");
	accepts("0001:ff:1f.7", "0001:ff:1f.7");
	accepts("00:1F.3", "0000:00:1f.3");
	/* VMD domains have five digits. */
	accepts("10000:e1:00.0", "10000:e1:00.0");
	accepts("1ffff:00:1f.7", "1ffff:00:1f.7");
}

static void malformed(void **state)
{
	(void)state;
	refuses("");
	refuses("foo");
	refuses("0000:01:00");
	refuses("0000:01:00.8");	/* function > 7 */
	refuses("0000:01:20.0");	/* slot > 0x1f */
	refuses("0000:01:00.0 ");
	refuses(" 01:00.0");
	refuses("01:00.0x");
	refuses("-1:00.0");
	refuses("00000:01:00.0");	/* a domain below 0x10000 has four digits */
	refuses("100000:01:00.0");
	refuses("1:0.0");
	refuses("1:00.0");
	refuses("01:0.0");
	refuses("0:01:00.0");
	refuses("000:01:00.0");
	refuses("0000:1:00.0");
	refuses("0000:01:00.00");
	refuses("0000:01:00.0.0");
	refuses("0000::01:00.0");
	refuses("+000:01:00.0");
	refuses("0000:001:00.0");
	refuses("/sys/bus/pci/devices/0000:01:00.0");
}

static void small_buffers(void **state)
{
	char out[13];

	(void)state;
	/* "0000:01:00.0" and its NUL: 13 bytes. */
	assert_int_equal(vfio_release_parse_device("01:00.0", out, 12), -ENOSPC);
	assert_int_equal(vfio_release_parse_device("01:00.0", out, sizeof(out)), 0);
	assert_int_equal(vfio_release_parse_device("01:00.0", NULL, 0), -ENOSPC);
	assert_int_equal(vfio_release_parse_device(NULL, out, sizeof(out)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_and_short),
		cmocka_unit_test(malformed),
		cmocka_unit_test(small_buffers),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
