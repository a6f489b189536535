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
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <time.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char sysfs[] = "/tmp/vr-test-sysfs-XXXXXX";
static char rundir[600];
static char err_text[4096];
/* How long run() took to see EOF on the CLI's stderr, in ms. */
static long long run_ms;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Runs the CLI with argv, reading its stderr through a pipe to EOF, as
 * err=$(... 2>&1) does: returns its exit status, stderr in err_text. A
 * process that keeps the pipe open (a background child of the CLI) fails
 * the test after 20 s instead of hanging it.
 */
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
		setenv("VFIO_RELEASE_RUNDIR", rundir, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	len = 0;
	run_ms = mono_ms();
	for (;;) {
		struct pollfd pfd = { .fd = pipefd[0], .events = POLLIN };

		assert_true(poll(&pfd, 1, 20000 - (int)(mono_ms() - run_ms)) == 1);
		n = read(pipefd[0], err_text + len, sizeof(err_text) - 1 - len);
		if (n <= 0)
			break;
		len += n;
	}
	run_ms = mono_ms() - run_ms;
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

/* Runs a shell command in the fixture tree. */
static void __attribute__((format(printf, 1, 2))) in_tree(const char *fmt, ...)
{
	char cmd[1024], rest[900];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rest, sizeof(rest), fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof(cmd), "cd '%s' && %s", sysfs, rest);
	assert_int_equal(system(cmd), 0);
}

/* The first line of a fixture file ("" when empty or absent). */
static const char *tree_line(const char *rel)
{
	static char buf[256];
	char path[700];
	FILE *f;

	buf[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", sysfs, rel);
	f = fopen(path, "r");
	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

/* A device bound to e1000e, and an unbound one. */
static int fixture_up(void **state)
{
	char link[512];

	(void)state;
	if (!mkdtemp(sysfs))
		return -1;
	snprintf(rundir, sizeof(rundir), "%s/run", sysfs);
	mkpath("bus/pci/drivers/e1000e");
	mkpath("bus/pci/devices/0000:02:00.0");
	mkpath("bus/pci/devices/0000:05:00.0");
	snprintf(link, sizeof(link), "%s/bus/pci/devices/0000:02:00.0/driver", sysfs);
	return symlink("../../drivers/e1000e", link);
}

static int fixture_down(void **state)
{
	char cmd[512];
	int fd;

	(void)state;
	/* A reader lets a background reattach still blocked on the FIFO go. */
	snprintf(cmd, sizeof(cmd), "%s/bus/pci/drivers/pci-stub/unbind", sysfs);
	fd = open(cmd, O_RDONLY | O_NONBLOCK);
	if (fd >= 0) {
		usleep(500000);
		close(fd);
	}
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

/* Already on its host driver, with the override vfio-pci's binder left. */
static void reattach_clears_stale_override(void **state)
{
	(void)state;
	in_tree("echo vfio-pci >bus/pci/devices/0000:02:00.0/driver_override");
	assert_int_equal(RUN("reattach", "02:00.0"), 0);
	assert_non_null(strstr(err_text, "cleared its stale driver_override vfio-pci"));
	assert_string_equal(tree_line("bus/pci/devices/0000:02:00.0/driver_override"), "");
	/* A host driver's override is the administrator's: kept. */
	in_tree("echo e1000e >bus/pci/devices/0000:02:00.0/driver_override");
	assert_int_equal(RUN("reattach", "02:00.0"), 0);
	assert_null(strstr(err_text, "cleared"));
	assert_string_equal(tree_line("bus/pci/devices/0000:02:00.0/driver_override"), "e1000e");
	in_tree("rm bus/pci/devices/0000:02:00.0/driver_override");
}

/* pci-pf-stub and pci-stub, either spelling: neither host driver nor --driver. */
static void reattach_stubs(void **state)
{
	static const char *const stubs[] = { "pci-stub", "pci_stub", "pci-pf-stub", "pci_pf_stub" };
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(stubs) / sizeof(stubs[0]); i++) {
		assert_int_equal(RUN("reattach", "05:00.0", "--driver", stubs[i]), 2);
		assert_non_null(strstr(err_text, "is a stub driver"));
		assert_null(strstr(err_text, "no module"));
	}
	assert_int_equal(RUN("reattach", "05:00.0", "--driver", "vfio-pci"), 2);
	assert_non_null(strstr(err_text, "is a VFIO driver, not a host driver"));
	assert_int_equal(RUN("reattach", "05:00.0", "--force"), 2);
	assert_non_null(strstr(err_text, "--force needs --driver"));
	/* On pci-pf-stub: not "already bound", it is to be reattached. */
	mkpath("bus/pci/drivers/pci-pf-stub");
	mkpath("bus/pci/devices/0000:06:00.0");
	in_tree("ln -s ../../drivers/pci-pf-stub bus/pci/devices/0000:06:00.0/driver");
	assert_int_equal(RUN("reattach", "06:00.0"), 2);
	assert_null(strstr(err_text, "already"));
	assert_non_null(strstr(err_text, "reading its modalias"));
}

/* A PF whose VF is on vfio-pci: refused before anything is touched. */
static void reattach_pf_with_vfio_vfs(void **state)
{
	(void)state;
	mkpath("bus/pci/drivers/vfio-pci");
	mkpath("bus/pci/devices/0000:07:00.0");
	mkpath("bus/pci/devices/0000:07:00.1");
	mkpath("bus/pci/devices/0000:07:00.2");
	in_tree("cd bus/pci/devices && ln -s ../../drivers/vfio-pci 0000:07:00.0/driver && "
		"ln -s ../../drivers/e1000e 0000:07:00.1/driver && "
		"ln -s ../../drivers/vfio-pci 0000:07:00.2/driver && "
		"ln -s ../0000:07:00.1 0000:07:00.0/virtfn0 && ln -s ../0000:07:00.2 0000:07:00.0/virtfn1 && "
		"echo 2 >0000:07:00.0/sriov_numvfs && echo vfio-pci >0000:07:00.0/driver_override");
	assert_int_equal(RUN("reattach", "07:00.0", "--driver", "e1000e", "--force"), 2);
	assert_non_null(strstr(err_text, "a PF with 2 VFs, 0000:07:00.2 on vfio-pci"));
	assert_string_equal(tree_line("bus/pci/devices/0000:07:00.0/driver_override"), "vfio-pci");
	/* Its VFs back on host drivers (or none left): no objection. */
	in_tree("echo 0 >bus/pci/devices/0000:07:00.0/sriov_numvfs");
	assert_int_equal(RUN("reattach", "07:00.0", "--driver", "e1000e", "--force"), 2);
	assert_null(strstr(err_text, "a PF with"));
}

/* Someone holds the device's reattach lock: exit 2, named, nothing touched. */
static void reattach_locked(void **state)
{
	char path[700];
	int fd;

	(void)state;
	mkdir(rundir, 0755);
	snprintf(path, sizeof(path), "%s/0000:05:00.0.lock", rundir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "4242\n", 5), 5);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	in_tree("echo '(null)' >bus/pci/devices/0000:05:00.0/driver_override");
	assert_int_equal(RUN("reattach", "05:00.0", "--driver", "e1000e", "--force"), 2);
	assert_non_null(strstr(err_text, "reattach pid 4242 is finishing with it (nothing was changed)"));
	assert_string_equal(tree_line("bus/pci/devices/0000:05:00.0/driver_override"), "(null)");
	close(fd);
	/* Released: the same run gets past the lock. */
	assert_int_equal(RUN("reattach", "05:00.0", "--driver", "e1000e", "--force"), 3);
	assert_null(strstr(err_text, "finishing"));
	/* drivers_probe is synchronous: no waiting for a driver after it. */
	assert_true(run_ms < 3000);
	in_tree("rm bus/pci/devices/0000:05:00.0/driver_override");
}

/*
 * An unbind that blocks (the unbind file is a FIFO nobody reads): the
 * caller reading stderr through a pipe gets EOF when reattach exits, at
 * the timeout's 2 s minimum; the background child holds the device lock
 * (a second run exits 2) and finishes alone once the write completes.
 */
static void reattach_blocked_unbind_detached(void **state)
{
	char fifo[700], path[64], target[256];
	const char *finisher;
	int fd, i, nfds;
	struct dirent *de;
	ssize_t n;
	pid_t pid;
	DIR *dir;

	(void)state;
	mkpath("bus/pci/drivers/pci-stub");
	mkpath("bus/pci/devices/0000:08:00.0");
	in_tree("ln -s ../../drivers/pci-stub bus/pci/devices/0000:08:00.0/driver && "
		"echo '(null)' >bus/pci/devices/0000:08:00.0/driver_override && "
		": >bus/pci/drivers_probe && : >bus/pci/drivers/e1000e/bind");
	snprintf(fifo, sizeof(fifo), "%s/bus/pci/drivers/pci-stub/unbind", sysfs);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(RUN("reattach", "08:00.0", "--driver", "e1000e", "--force", "--timeout", "0.5"), 3);
	assert_true(run_ms < 6000);
	assert_non_null(strstr(err_text, "the unbind from pci-stub has not completed"));
	assert_non_null(strstr(err_text, "finishes in the background, cannot be cancelled"));
	assert_string_equal(tree_line("bus/pci/devices/0000:08:00.0/driver_override"), "e1000e");
	/*
	 * The background child: cwd /, stdin, stdout and stderr on /dev/null,
	 * and nothing else of its caller's open but its socket and the lock.
	 */
	finisher = strstr(err_text, "process ");
	assert_non_null(finisher);
	pid = atoi(finisher + strlen("process "));
	assert_true(pid > 0);
	snprintf(path, sizeof(path), "/proc/%d/cwd", pid);
	n = readlink(path, target, sizeof(target) - 1);
	assert_true(n > 0);
	target[n] = '\0';
	assert_string_equal(target, "/");
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, i);
		n = readlink(path, target, sizeof(target) - 1);
		assert_true(n > 0);
		target[n] = '\0';
		assert_string_equal(target, "/dev/null");
	}
	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	dir = opendir(path);
	assert_non_null(dir);
	for (nfds = 0; (de = readdir(dir));)
		nfds += de->d_name[0] != '.';
	closedir(dir);
	assert_int_equal(nfds, 5);
	/* The background child has the lock. */
	assert_int_equal(RUN("reattach", "08:00.0", "--driver", "e1000e", "--force"), 2);
	assert_non_null(strstr(err_text, "is finishing with it"));
	assert_true(run_ms < 2000);
	/*
	 * Let the unbind complete (the kernel has dropped the driver link
	 * already): the child probes, binds, and, nobody taking it in this
	 * tree, clears the override.
	 */
	in_tree("rm bus/pci/devices/0000:08:00.0/driver");
	fd = open(fifo, O_RDONLY);
	assert_true(fd >= 0);
	for (i = 0; i < 100 && strcmp(tree_line("bus/pci/drivers/e1000e/bind"), "0000:08:00.0"); i++)
		usleep(50000);
	assert_string_equal(tree_line("bus/pci/drivers_probe"), "0000:08:00.0");
	assert_string_equal(tree_line("bus/pci/drivers/e1000e/bind"), "0000:08:00.0");
	for (i = 0; i < 100 && strcmp(tree_line("bus/pci/devices/0000:08:00.0/driver_override"), ""); i++)
		usleep(50000);
	assert_string_equal(tree_line("bus/pci/devices/0000:08:00.0/driver_override"), "");
	close(fd);
	/* Done: the lock is free again (this run fails on the FIFO-less tree's next write). */
	for (i = 0; i < 100; i++) {
		RUN("reattach", "08:00.0", "--driver", "e1000e", "--force", "--timeout", "0");
		if (!strstr(err_text, "is finishing with it"))
			break;
		usleep(50000);
	}
	assert_null(strstr(err_text, "is finishing with it"));
}

/*
 * The unbind fails outright (here: the unbind file is a directory) and the
 * device is still on its driver: the override is put back, exit 2.
 */
static void reattach_unbind_fails(void **state)
{
	pid_t pid;

	(void)state;
	mkpath("bus/pci/drivers/pci-pf-stub/unbind");
	mkpath("bus/pci/devices/0000:09:00.0");
	in_tree("ln -s ../../drivers/pci-pf-stub bus/pci/devices/0000:09:00.0/driver && "
		"echo '(null)' >bus/pci/devices/0000:09:00.0/driver_override");
	assert_int_equal(RUN("reattach", "09:00.0", "--driver", "e1000e", "--force"), 2);
	assert_non_null(strstr(err_text, "unbinding from pci-pf-stub failed: Is a directory"));
	assert_non_null(strstr(err_text, "still on pci-pf-stub, driver_override put back to none: nothing was changed"));
	assert_string_equal(tree_line("bus/pci/devices/0000:09:00.0/driver_override"), "");

	/*
	 * Someone else moves it to e1000e right before the unbind (the
	 * kernel's unbind then answers -ENODEV): exit 3 with where it is,
	 * and nothing of theirs undone.
	 */
	setenv("VFIO_RELEASE_TEST_PAUSE", "before-unbind:1500", 1);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		usleep(500000);
		in_tree("ln -sfn ../../drivers/e1000e bus/pci/devices/0000:09:00.0/driver");
		_exit(0);
	}
	assert_int_equal(RUN("reattach", "09:00.0", "--driver", "e1000e", "--force"), 3);
	unsetenv("VFIO_RELEASE_TEST_PAUSE");
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_non_null(strstr(err_text, "unbinding from pci-pf-stub failed"));
	assert_non_null(strstr(err_text, "not on it any more (moved by someone else), left: bound to e1000e"));
	assert_null(strstr(err_text, "put back"));
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
		cmocka_unit_test(reattach_clears_stale_override),
		cmocka_unit_test(reattach_stubs),
		cmocka_unit_test(reattach_pf_with_vfio_vfs),
		cmocka_unit_test(reattach_locked),
		cmocka_unit_test(reattach_blocked_unbind_detached),
		cmocka_unit_test(reattach_unbind_fails),
	};

	return cmocka_run_group_tests_name("cli", tests, fixture_up, fixture_down);
}
