// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The CLI's argument parsing and exit codes (0 done, 1 timeout, 2 error,
 * 3 changed),
 * run as a program. reattach reads a fixture sysfs tree given by
 * VFIO_RELEASE_SYSFS, so the paths that need no kernel are covered here.
 */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char sysfs[] = "/tmp/vr-test-sysfs-XXXXXX";
static char err_text[4096];

/* Runs the CLI with argv; returns its exit status, stderr in err_text. */
static int run(const char *const *args)
{
	const char *argv[16] = { VR_CLI_PATH };
	int pipefd[2], status, i;
	size_t len;
	ssize_t n;
	pid_t pid;

	for (i = 0; args[i]; i++)
		argv[i + 1] = args[i];
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(pipefd[1], 2);
		dup2(open("/dev/null", 0), 1);
		setenv("VFIO_RELEASE_SYSFS", sysfs, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	len = 0;
	while ((n = read(pipefd[0], err_text + len, sizeof(err_text) - 1 - len)) > 0)
		len += n;
	err_text[len] = '\0';
	close(pipefd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

#define RUN(...) run((const char *const[]){ __VA_ARGS__, NULL })

static void mkpath(const char *rel)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", sysfs, rel);
	assert_int_equal(system(cmd), 0);
}

/* A device bound to e1000e, and an unbound one. */
static int fixture_up(void **state)
{
	char link[512];

	(void)state;
	if (!mkdtemp(sysfs))
		return -1;
	mkpath("bus/pci/drivers/e1000e");
	mkpath("bus/pci/devices/0000:02:00.0");
	mkpath("bus/pci/devices/0000:05:00.0");
	snprintf(link, sizeof(link), "%s/bus/pci/devices/0000:02:00.0/driver", sysfs);
	return symlink("../../drivers/e1000e", link);
}

static int fixture_down(void **state)
{
	char cmd[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sysfs);
	return system(cmd);
}

static void help_and_version(void **state)
{
	(void)state;
	assert_int_equal(RUN("--help"), 0);
	assert_int_equal(RUN("help"), 0);
	assert_int_equal(RUN("--version"), 0);
	assert_int_equal(RUN("help", "wait"), 0);
	assert_int_equal(RUN("wait", "--help"), 0);
	assert_int_equal(RUN("status", "--help"), 0);
	assert_int_equal(RUN("monitor", "--help"), 0);
	assert_int_equal(RUN("reattach", "--help"), 0);
	assert_string_equal(err_text, "");
	assert_int_equal(RUN("help", "frobnicate"), 2);
}

/* Decimal seconds, bounded: nothing wraps into "forever". */
static void timeouts(void **state)
{
	static const char *const bad[] = {
		"-1", "soon", "0x10", "1e3", "inf", "nan", "3000000", "2147484",
		"99999999999999999999", ".5", "5.", "2.5000", " 5", "5 ", "",
	};
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(RUN("wait", "01:00.0", "--timeout", bad[i]), 2);
		assert_non_null(strstr(err_text, "bad timeout"));
	}
	/* Accepted: what fails then is the missing module, not the timeout. */
	assert_int_equal(RUN("wait", "01:00.0", "--timeout", "2.5"), 2);
	assert_null(strstr(err_text, "bad timeout"));
	assert_int_equal(RUN("wait", "01:00.0", "--timeout", "2000000"), 2);
	assert_null(strstr(err_text, "bad timeout"));
}

static void monitor_filters_checked(void **state)
{
	(void)state;
	assert_int_equal(RUN("monitor", "--event", "bogus"), 2);
	assert_non_null(strstr(err_text, "unknown event 'bogus'"));
	assert_int_equal(RUN("monitor", "--device", "eth0"), 2);
	assert_non_null(strstr(err_text, "'eth0' is not a PCI address"));
}

static void usage_errors(void **state)
{
	(void)state;
	assert_int_equal(run((const char *const[]){ NULL }), 2);
	assert_int_equal(RUN("frobnicate"), 2);
	assert_non_null(strstr(err_text, "unknown command 'frobnicate'"));
	assert_int_equal(RUN("wait"), 2);
	assert_non_null(strstr(err_text, "no DEVICE given"));
	assert_int_equal(RUN("monitor", "extra"), 2);
	assert_int_equal(RUN("reattach", "01:00.0", "02:00.0"), 2);
}

static void bad_arguments_are_named(void **state)
{
	(void)state;
	assert_int_equal(RUN("wait", "eth0"), 2);
	assert_non_null(strstr(err_text, "'eth0' is not a PCI address"));
	assert_int_equal(RUN("status", "01:00.0", "1:2:3"), 2);
	assert_non_null(strstr(err_text, "'1:2:3' is not a PCI address"));
	assert_int_equal(RUN("status", "1:0.0"), 2);
	assert_non_null(strstr(err_text, "'1:0.0' is not a PCI address"));
	assert_int_equal(RUN("wait", "01:00.0", "--timeout", "-1"), 2);
	assert_non_null(strstr(err_text, "bad timeout '-1'"));
	assert_int_equal(RUN("wait", "01:00.0", "--timeout", "soon"), 2);
	assert_int_equal(RUN("wait", "01:00.0", "--state", "open"), 2);
	assert_non_null(strstr(err_text, "bad state 'open'"));
}

static void module_missing(void **state)
{
	(void)state;
	if (access("/sys/module/vfio_release", F_OK) == 0)
		skip();
	assert_int_equal(RUN("status"), 2);
	assert_non_null(strstr(err_text, "vfio_release kernel module is not loaded"));
	assert_int_equal(RUN("wait", "01:00.0", "--timeout", "1"), 2);
}

static void reattach_without_kernel(void **state)
{
	(void)state;
	assert_int_equal(RUN("reattach", "0000:09:00.0"), 2);
	assert_non_null(strstr(err_text, "no such PCI device"));
	/* Already with its host driver: nothing to do, and nothing touched. */
	assert_int_equal(RUN("reattach", "02:00.0"), 0);
	assert_int_equal(RUN("reattach", "02:00.0", "--driver", "e1000e"), 0);
	assert_int_equal(RUN("reattach", "02:00.0", "--driver", "igb"), 2);
	assert_non_null(strstr(err_text, "bound to e1000e, not to a VFIO driver"));
	/* Unbound: the probe write fails in a tree without drivers_probe. */
	assert_int_equal(RUN("reattach", "05:00.0"), 2);
	assert_non_null(strstr(err_text, "0000:05:00.0"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(help_and_version),
		cmocka_unit_test(timeouts),
		cmocka_unit_test(monitor_filters_checked),
		cmocka_unit_test(usage_errors),
		cmocka_unit_test(bad_arguments_are_named),
		cmocka_unit_test(module_missing),
		cmocka_unit_test(reattach_without_kernel),
	};

	return cmocka_run_group_tests_name("cli", tests, fixture_up, fixture_down);
}
