// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qmp-live SOCKET PID VERSION: the QMP client against a real QEMU (run by
 * tests/host/qmp.sh, not a cmocka suite). QEMU listens on SOCKET, has
 * pid PID, says it is VERSION, and has a usb-kbd with id kbd0. Prints
 * one PASS or FAIL line per check; the last check kills QEMU.
 */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfio-release-qmp.h"

static int failures;

static void result(const char *name, bool ok, const char *fmt, ...)
{
	va_list ap;

	if (ok) {
		printf("PASS %s\n", name);
		return;
	}
	failures++;
	printf("FAIL %s: ", name);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

struct deleted {
	bool seen;
	bool device_ok;
	int64_t skew_s;
	bool has_timestamp;
};

static int on_event(const struct vfio_release_qmp_message *ev, void *arg)
{
	struct deleted *d = arg;
	const char *dev = vfio_release_qmp_message_get_string(ev, "device");
	uint64_t us;

	if (strcmp(vfio_release_qmp_message_event(ev), "DEVICE_DELETED") || !dev ||
	    strcmp(dev, "kbd0"))
		return 0;
	d->seen = true;
	d->device_ok = true;
	d->has_timestamp = !vfio_release_qmp_message_timestamp_us(ev, &us);
	if (d->has_timestamp)
		d->skew_s = (int64_t)(us / 1000000) - (int64_t)time(NULL);
	return 0;
}

/* Polls and dispatches until done says so, the dispatch fails, or 10 s. */
static int pump(struct vfio_release_qmp *q, vfio_release_qmp_event_cb cb, void *arg,
		const bool *done)
{
	struct pollfd pfd = { .fd = vfio_release_qmp_fd(q), .events = POLLIN };
	int n, rounds;

	for (rounds = 0; rounds < 100; rounds++) {
		/* execute() may have read events already: dispatch first. */
		n = vfio_release_qmp_dispatch(q, cb, arg);
		if (n < 0 || (done && *done))
			return n;
		poll(&pfd, 1, 100);
	}
	return -ETIMEDOUT;
}

struct owed {
	bool called;
	int err;
	bool reply_null;
};

static void on_reply(const struct vfio_release_qmp_message *reply, int err, void *arg)
{
	struct owed *o = arg;

	o->called = true;
	o->err = err;
	o->reply_null = !reply;
}

static void checks_with_qemu(struct vfio_release_qmp *q, pid_t pid)
{
	struct vfio_release_qmp_message *reply = NULL;
	struct deleted d = { 0 };
	struct owed o = { 0 };
	const char *json;
	char dev[32];
	int err;

	err = vfio_release_qmp_execute(q, "qom-list", "{\"path\": \"/machine/peripheral\"}", 5000,
				       &reply);
	json = reply ? vfio_release_qmp_message_json(reply) : "";
	result("qmp-execute-qom-list", !err && strstr(json, "{\"name\":\"kbd0\",\"type\":\"child<usb-kbd>\"}"),
	       "%d (%s): %.200s", err, strerror(-err), json);
	vfio_release_qmp_message_unref(reply);

	reply = NULL;
	err = vfio_release_qmp_execute(q, "no-such-command", NULL, 5000, &reply);
	result("qmp-execute-error-reply",
	       err == -EREMOTEIO && reply &&
		       !strcmp(vfio_release_qmp_message_error_class(reply), "CommandNotFound"),
	       "%d, class %s", err, reply ? vfio_release_qmp_message_error_class(reply) : "-");
	vfio_release_qmp_message_unref(reply);

	err = vfio_release_qmp_host_device(q, "kbd0", 5000, dev, sizeof(dev));
	result("qmp-host-device-not-vfio", err == -EMEDIUMTYPE, "%d (%s), expected -EMEDIUMTYPE", err,
	       strerror(-err));
	err = vfio_release_qmp_host_device(q, "nosuch", 5000, dev, sizeof(dev));
	result("qmp-host-device-nosuch", err == -ENODEV, "%d (%s), expected -ENODEV", err,
	       strerror(-err));
	err = vfio_release_qmp_vfio_devices(q, 5000, NULL, NULL);
	result("qmp-vfio-devices-none", err == 0, "%d, expected 0 (no vfio-pci device)", err);

	err = vfio_release_qmp_execute(q, "device_del", "{\"id\": \"kbd0\"}", 5000, NULL);
	if (!err)
		err = pump(q, on_event, &d, &d.seen);
	result("qmp-device-deleted-event",
	       err >= 0 && d.seen && d.device_ok && d.has_timestamp && d.skew_s > -60 && d.skew_s < 60,
	       "dispatch %d, seen %d, timestamp %d, %lld s off the clock", err, d.seen,
	       d.has_timestamp, (long long)d.skew_s);

	/*
	 * Stopped, QEMU cannot answer before it dies: the command is pending
	 * when the SIGKILL lands.
	 */
	kill(pid, SIGSTOP);
	err = vfio_release_qmp_send(q, "query-status", NULL, on_reply, &o);
	if (!err) {
		kill(pid, SIGKILL);
		err = pump(q, NULL, NULL, NULL);
	}
	result("qmp-killed-pending-command",
	       err == -ECONNRESET && o.called && o.err == -ECONNRESET && o.reply_null,
	       "dispatch %d, callback called %d with %d", err, o.called, o.err);
	err = vfio_release_qmp_dispatch(q, NULL, NULL);
	result("qmp-killed-dispatch-again", err == -ECONNRESET, "%d", err);
}

/* A monitor that greets, accepts qmp_capabilities, then talks nonsense. */
static void fake_monitor(int listen_fd, bool greet)
{
	static const char greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 0, \"major\": 9}}, "
		"\"capabilities\": []}}\r\n";
	static const char garbage[] = "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 not json\r\n";
	char buf[4096];
	int fd = accept(listen_fd, NULL, NULL);

	if (fd < 0)
		_exit(1);
	if (greet) {
		if (write(fd, greeting, sizeof(greeting) - 1) < 0 || read(fd, buf, sizeof(buf)) <= 0)
			_exit(1);
		dprintf(fd, "{\"return\": {}, \"id\": \"vr-1\"}\r\n");
	}
	if (write(fd, garbage, sizeof(garbage) - 1) < 0)
		_exit(1);
	/* Kept open: the error must come from the bytes, not the close. */
	sleep(5);
	_exit(0);
}

static int fake_listen(const char *path, bool greet, pid_t *child)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof(sun)) || listen(fd, 1))
		return -errno;
	*child = fork();
	if (!*child)
		fake_monitor(fd, greet);
	close(fd);
	return *child < 0 ? -errno : 0;
}

static void reap(pid_t child)
{
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
}

static void checks_with_fake(const char *dir)
{
	struct vfio_release_qmp *q = NULL;
	char path[256];
	pid_t child;
	int err;

	snprintf(path, sizeof(path), "%s/fake-garbage.sock", dir);
	err = fake_listen(path, true, &child);
	if (!err) {
		err = vfio_release_qmp_connect(path, 5000, &q);
		if (!err)
			err = pump(q, NULL, NULL, NULL);
		reap(child);
	}
	result("qmp-fake-monitor-garbage", err == -EBADMSG, "%d (%s), expected -EBADMSG", err,
	       strerror(-err));
	vfio_release_qmp_close(q);
	q = NULL;

	snprintf(path, sizeof(path), "%s/fake-nogreeting.sock", dir);
	err = fake_listen(path, false, &child);
	if (!err) {
		err = vfio_release_qmp_connect(path, 5000, &q);
		reap(child);
	}
	result("qmp-fake-monitor-garbage-greeting", err == -EBADMSG && !q,
	       "%d (%s), expected -EBADMSG", err, strerror(-err));
	vfio_release_qmp_close(q);
}

int main(int argc, char **argv)
{
	struct vfio_release_qmp *q = NULL;
	const char *version;
	char dir[256], *slash;
	int err;

	if (argc != 4) {
		fprintf(stderr, "usage: %s SOCKET PID VERSION\n", argv[0]);
		return 2;
	}
	err = vfio_release_qmp_connect(argv[1], 10000, &q);
	version = q ? vfio_release_qmp_version(q) : "";
	result("qmp-connect-version", !err && !strcmp(version, argv[3]), "%d (%s), version '%s', QEMU says '%s'",
	       err, strerror(-err), version, argv[3]);
	if (!err)
		checks_with_qemu(q, atoi(argv[2]));
	vfio_release_qmp_close(q);
	q = NULL;

	/*
	 * Refused once QEMU's listener is closed; reset when the connect
	 * slipped into its backlog while the dying QEMU closed its files.
	 */
	err = vfio_release_qmp_connect(argv[1], 2000, &q);
	result("qmp-connect-after-exit", err == -ECONNREFUSED || err == -ECONNRESET,
	       "%d (%s), expected -ECONNREFUSED", err, strerror(-err));
	vfio_release_qmp_close(q);

	snprintf(dir, sizeof(dir), "%s", argv[1]);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	checks_with_fake(dir);
	return failures ? 1 : 0;
}
