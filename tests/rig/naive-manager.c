// SPDX-License-Identifier: GPL-2.0
/*
 * naive-manager: give a VFIO device back to its host driver on one of the
 * signals management software uses today, and measure what that rebind
 * hits while the device's close is slow (tests/drivers/vfio_pci_slow).
 *
 *   naive-manager -d ADDR -s SIGNAL [-g GATE] [-n CYCLES] [-H HOST_DRIVER]
 *                 [-V VFIO_DRIVER] [-m DELAY_MS] [-c CLI] [-t SECONDS]
 *
 * Every cycle binds ADDR to VFIO_DRIVER (default vfio_pci_slow, with the
 * device's close_delay_ms set to DELAY_MS when given), forks a holder that
 * opens it through the VFIO group/container API, ends the holder the way
 * SIGNAL says, and the moment the signal arrives gives the device back:
 *
 *   GATE none      (the naive manager) driver_override=HOST_DRIVER, unbind
 *                  from the VFIO driver, bind to HOST_DRIVER: what libvirt's
 *                  nodedev-reattach, driverctl and dpdk-devbind do;
 *   GATE wait      `CLI wait ADDR --state free` first, then the same rebind;
 *   GATE reattach  `CLI reattach ADDR --driver HOST_DRIVER`.
 *
 * SIGNAL is what the manager waits for before it acts:
 *
 *   close-own     the holder's close() of its device fd returned (it says
 *                 so over a pipe, as QEMU's DEVICE_DELETED follows its
 *                 close); it then closes its group and container and exits
 *   close-sendfd  the same, but the holder had passed its device fd over
 *                 SCM_RIGHTS to a second process, which closes its copy
 *                 when the holder has gone
 *   reap-own      the holder is SIGKILLed and reaped (waitpid); every file
 *                 was its own
 *   reap-fork     the same, but the holder had forked a helper that
 *                 inherited its fds and dies with it (PR_SET_PDEATHSIG)
 *   reap-uring    the same, but the device file is held only as an
 *                 io_uring fixed file of the holder's ring
 *   channel-last  the holder is SIGKILLed; the signal is EOF on a socket
 *                 it held, opened after its VFIO fds (as QEMU's accepted
 *                 monitor connection is)
 *   channel-first the same with the socket opened before its VFIO fds
 *   close-keepgroup  close-own, but the holder keeps its group and
 *                 container open until the cycle ends (a VMM that keeps
 *                 its container for other devices, or until it exits)
 *
 * One line per cycle, then a summary line, all "key=value":
 *
 *   cycle=N signal_ms=F unbind_ms=F blocked=0|1 kernel_blocked=0|1
 *           bind=ok|ERRNO gate_ms=F gate_rc=N final=DRIVER ok=0|1
 *   summary signal=S gate=G cycles=N ok=N blocked=N kernel_blocked=N ebusy=N ...
 *
 * signal_ms: from the trigger (the holder told to close, or killed) to
 * the signal; unbind_ms: the unbind write, which vfio-pci's remove keeps
 * blocked until the device's last file is released; blocked: the unbind
 * took at least half of DELAY_MS; kernel_blocked: the kernel logged that
 * this device's unbind waited for its user (vfio-pci's "blocked until
 * released by user", read from /dev/kmsg: exact, where times under
 * emulation are not); gate_ms: the gate's own time (wait or reattach);
 * ok: the device ended on HOST_DRIVER, the gate and the bind did not
 * fail, and no unbind waited for the device. Exit status 0 once every cycle
 * ran (the caller judges the counts), 2 on a setup error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/io_uring.h>
#include <linux/vfio.h>

#include "helper-util.h"
#include "vfio-group.h"

enum signal_kind {
	SIG_CLOSE_OWN, SIG_CLOSE_SENDFD, SIG_REAP_OWN, SIG_REAP_FORK,
	SIG_REAP_URING, SIG_CHANNEL_LAST, SIG_CHANNEL_FIRST, SIG_CLOSE_KEEPGROUP,
};

static const char *const signal_names[] = {
	[SIG_CLOSE_OWN] = "close-own",
	[SIG_CLOSE_SENDFD] = "close-sendfd",
	[SIG_REAP_OWN] = "reap-own",
	[SIG_REAP_FORK] = "reap-fork",
	[SIG_REAP_URING] = "reap-uring",
	[SIG_CHANNEL_LAST] = "channel-last",
	[SIG_CHANNEL_FIRST] = "channel-first",
	[SIG_CLOSE_KEEPGROUP] = "close-keepgroup",
};

enum gate_kind { GATE_NONE, GATE_WAIT, GATE_REATTACH };
static const char *const gate_names[] = { "none", "wait", "reattach" };

static const char *addr;
static enum signal_kind sig;
static enum gate_kind gate = GATE_NONE;
static const char *host_driver = "e1000e";
static const char *vfio_driver = "vfio_pci_slow";
static const char *cli = "vfio-release";
static long delay_ms = -1;		/* -1: leave the device's value alone */
static long timeout_s = 60;
static int group_id;

static double ms_since(unsigned long long t0)
{
	return (now_ns() - t0) / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* A sysfs write; 0 or -errno (the kernel's answer is what we measure). */
static int sysfs_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		err = -errno;
	close(fd);
	return err;
}

static void dev_path(char *buf, size_t size, const char *leaf)
{
	snprintf(buf, size, "/sys/bus/pci/devices/%s/%s", addr, leaf);
}

/* The bound driver's name into buf ("" when unbound). */
static const char *driver_of(char *buf, size_t size)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	dev_path(path, sizeof(path), "driver");
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		buf[0] = '\0';
		return buf;
	}
	link[n] = '\0';
	snprintf(buf, size, "%s", basename(link));
	return buf;
}

static bool bound_to(const char *driver)
{
	char cur[64];

	return !strcmp(driver_of(cur, sizeof(cur)), driver);
}

/* Polls cond for up to ms milliseconds (setup only, never a measurement). */
static bool poll_until(bool (*cond)(void), long ms)
{
	unsigned long long end = now_ns() + ms * 1000000ULL;

	while (!cond()) {
		if (now_ns() > end)
			return false;
		sleep_ms(5);
	}
	return true;
}

static bool group_node_exists(void)
{
	char path[32];

	snprintf(path, sizeof(path), "/dev/vfio/%d", group_id);
	return access(path, F_OK) == 0;
}

static bool on_vfio_driver(void)
{
	return bound_to(vfio_driver);
}

/* Puts the device on the VFIO driver for the next cycle, with its delay. */
static void bind_vfio(void)
{
	char path[PATH_MAX], num[32];
	int err;

	dev_path(path, sizeof(path), "driver_override");
	if ((err = sysfs_write(path, vfio_driver))) {
		errno = -err;
		fail("%s: driver_override=%s", addr, vfio_driver);
	}
	if (!on_vfio_driver()) {
		dev_path(path, sizeof(path), "driver/unbind");
		err = sysfs_write(path, addr);
		if (err && err != -ENOENT) {
			errno = -err;
			fail("%s: unbind before the cycle", addr);
		}
		if ((err = sysfs_write("/sys/bus/pci/drivers_probe", addr))) {
			errno = -err;
			fail("%s: drivers_probe for %s", addr, vfio_driver);
		}
	}
	if (!poll_until(on_vfio_driver, 10000) || !poll_until(group_node_exists, 10000)) {
		errno = ETIMEDOUT;
		fail("%s: not bound to %s with /dev/vfio/%d", addr, vfio_driver, group_id);
	}
	if (delay_ms >= 0) {
		snprintf(num, sizeof(num), "%ld", delay_ms);
		dev_path(path, sizeof(path), "close_delay_ms");
		if ((err = sysfs_write(path, num))) {
			errno = -err;
			fail("%s: close_delay_ms=%s", addr, num);
		}
	}
}

/* --- the holder, a child of the manager --- */

struct vfio_files {
	int container, group, device;
};

/* The holder's VFIO fds are moved to VFIO_FD_BASE and up. */
#define VFIO_FD_BASE 32
#define CHANNEL_LAST_FD 48

static int move_fd(int fd, int to)
{
	if (dup3(fd, to, O_CLOEXEC) < 0)
		fail("dup3 %d to %d", fd, to);
	close(fd);
	return to;
}

/*
 * Opens the device through the group API. The group may still be open
 * for a moment from the previous cycle (a kworker's delayed fput): retry.
 */
static struct vfio_files holder_open(void)
{
	struct vfio_files f;
	const char *what = "";
	int tries;

	f.container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (f.container < 0)
		fail("open /dev/vfio/vfio");
	for (tries = 0;; tries++) {
		f.group = vfio_group_attach(f.container, group_id, &what);
		if (f.group >= 0)
			break;
		if (errno != EBUSY || tries == 500)
			fail("group %d: %s", group_id, what);
		sleep_ms(10);
	}
	if (ioctl(f.container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		fail("VFIO_SET_IOMMU");
	f.device = ioctl(f.group, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (f.device < 0)
		fail("VFIO_GROUP_GET_DEVICE_FD %s", addr);
	/*
	 * Above every pipe and socket the holder got from the manager, in
	 * the order they were opened: the channel signals depend on where
	 * the socket is (see SIG_CHANNEL_*).
	 */
	f.container = move_fd(f.container, VFIO_FD_BASE);
	f.group = move_fd(f.group, VFIO_FD_BASE + 1);
	f.device = move_fd(f.device, VFIO_FD_BASE + 2);
	return f;
}

static void send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte = 'F';
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sock, &msg, 0) != 1)
		fail("sendmsg SCM_RIGHTS");
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	char byte;
	struct iovec iov = { &byte, 1 };
	struct msghdr msg = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = cbuf, .msg_controllen = sizeof(cbuf),
	};
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1)
		fail("recvmsg SCM_RIGHTS");
	cm = CMSG_FIRSTHDR(&msg);
	if (!cm || cm->cmsg_type != SCM_RIGHTS) {
		errno = EPROTO;
		fail("no fd received");
	}
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/*
 * The second process of close-sendfd: a receiver that keeps only the
 * device fd it was sent, and closes it once the holder has gone (EOF on
 * the socket). Its close is the slow one.
 */
static void receiver_start(int devfd)
{
	int sv[2], held;
	char byte = 'R';
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail("socketpair");
	pid = fork();
	if (pid < 0)
		fail("fork receiver");
	if (pid == 0) {
		/* Nothing inherited may keep the device or the group busy. */
		if (dup2(sv[1], 3) < 0)
			fail("dup2");
		if (syscall(SYS_close_range, 4, ~0U, 0))
			fail("close_range");
		held = recv_fd(3);
		if (write(3, &byte, 1) != 1)
			fail("receiver: confirm");
		while (read(3, &byte, 1) > 0)
			;
		close(held);
		_exit(0);
	}
	close(sv[1]);
	send_fd(sv[0], devfd);
	if (read(sv[0], &byte, 1) != 1)
		fail("receiver did not confirm");
	/* sv[0] stays open until the holder exits: the receiver's cue. */
}

/* reap-fork: a helper sharing every fd, killed when the holder dies. */
static void helper_start(void)
{
	pid_t parent = getpid(), pid;
	int p[2];
	char byte = 'H';

	if (pipe2(p, O_CLOEXEC))
		fail("pipe2");
	pid = fork();
	if (pid < 0)
		fail("fork helper");
	if (pid == 0) {
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
			_exit(1);
		if (write(p[1], &byte, 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (read(p[0], &byte, 1) != 1)
		fail("helper did not start");
	close(p[0]);
}

/* reap-uring: only the ring holds the device file afterwards. */
static void uring_take(int *devfd)
{
	struct io_uring_params params = { 0 };
	int ring = syscall(SYS_io_uring_setup, 1, &params);

	if (ring < 0)
		fail("io_uring_setup");
	if (syscall(SYS_io_uring_register, ring, IORING_REGISTER_FILES, devfd, 1))
		fail("IORING_REGISTER_FILES");
	close(*devfd);
	*devfd = -1;
}

/*
 * The holder: opens the device, arranges what SIGNAL needs, says 'R' on
 * status, then for the close signals waits for the manager's go, closes
 * its device fd and says 'C' once close() returned; the kill signals
 * just wait to be killed.
 */
static void __attribute__((noreturn)) holder(int status, int go, int channel)
{
	struct vfio_files f;
	char byte;

	f = holder_open();
	switch (sig) {
	case SIG_CLOSE_SENDFD:
		receiver_start(f.device);
		break;
	case SIG_REAP_FORK:
		helper_start();
		break;
	case SIG_REAP_URING:
		uring_take(&f.device);
		break;
	case SIG_CHANNEL_LAST:
		/* Above every VFIO fd, as a connection accepted later is. */
		move_fd(channel, CHANNEL_LAST_FD);
		break;
	default:
		break;
	}
	if (write(status, "R", 1) != 1)
		fail("holder: ready");
	if (read(go, &byte, 1) != 1)
		_exit(1);
	close(f.device);
	if (write(status, "C", 1) != 1)
		fail("holder: closed");
	/* Until the manager is done with the cycle (EOF on go). */
	if (sig == SIG_CLOSE_KEEPGROUP)
		while (read(go, &byte, 1) > 0)
			;
	close(f.group);
	close(f.container);
	_exit(0);
}

/* --- the manager --- */

struct cycle {
	double signal_ms, unbind_ms, gate_ms;
	int bind_err;			/* 0 or -errno of the host driver's bind */
	int gate_rc;
	char final[64];
	bool ok, blocked, kernel_blocked;
};

/*
 * vfio-pci's remove, when the device is still open, asks its user to let
 * go and warns, once per unbind, "No device request channel registered,
 * blocked until released by user": the kernel's own witness that an
 * unbind waited for the device, whatever the timing under emulation.
 */
static int kmsg_fd = -1;

static void kmsg_skip_to_end(void)
{
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
}

static bool kmsg_saw_blocked_unbind(void)
{
	char rec[2048], needle[64];
	bool seen = false;
	ssize_t n;

	if (kmsg_fd < 0)
		return false;
	snprintf(needle, sizeof(needle), " %s: No device request channel", addr);
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* overwritten records: go on */
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, needle))
			seen = true;
	}
	return seen;
}

static pid_t holder_pid;
static int status_rd, go_wr, channel_rd;

static void start_holder(void)
{
	int status[2], go[2], channel[2] = { -1, -1 };
	char byte;

	if (pipe2(status, O_CLOEXEC) || pipe2(go, O_CLOEXEC))
		fail("pipe2");
	/* channel-first: created before the holder's VFIO fds. */
	if ((sig == SIG_CHANNEL_LAST || sig == SIG_CHANNEL_FIRST) &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, channel))
		fail("socketpair");
	fflush(stdout);
	holder_pid = fork();
	if (holder_pid < 0)
		fail("fork holder");
	if (holder_pid == 0) {
		close(status[0]);
		close(go[1]);
		if (channel[0] >= 0)
			close(channel[0]);
		holder(status[1], go[0], channel[1]);
	}
	close(status[1]);
	close(go[0]);
	if (channel[1] >= 0)
		close(channel[1]);
	status_rd = status[0];
	go_wr = go[1];
	channel_rd = channel[0];
	if (read(status_rd, &byte, 1) != 1 || byte != 'R') {
		errno = EPROTO;
		fail("holder did not get the device open");
	}
}

/* Ends the holder the way the signal says; returns once it arrived. */
static double trigger_and_wait_signal(void)
{
	unsigned long long t0 = now_ns();
	char byte, buf[16];
	int st;

	switch (sig) {
	case SIG_CLOSE_OWN:
	case SIG_CLOSE_SENDFD:
	case SIG_CLOSE_KEEPGROUP:
		if (write(go_wr, "G", 1) != 1)
			fail("go");
		if (read(status_rd, &byte, 1) != 1 || byte != 'C') {
			errno = EPROTO;
			fail("holder did not report its close");
		}
		break;
	case SIG_REAP_OWN:
	case SIG_REAP_FORK:
	case SIG_REAP_URING:
		kill(holder_pid, SIGKILL);
		if (waitpid(holder_pid, &st, 0) != holder_pid)
			fail("waitpid holder");
		holder_pid = 0;
		break;
	case SIG_CHANNEL_LAST:
	case SIG_CHANNEL_FIRST:
		kill(holder_pid, SIGKILL);
		while (read(channel_rd, buf, sizeof(buf)) > 0)
			;
		break;
	}
	return ms_since(t0);
}

/* fork+exec CLI ARGS; its exit status (stdout to /dev/null). */
static int run_cli(char *const argv[])
{
	pid_t pid;
	int st;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork %s", cli);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		if (null >= 0)
			dup2(null, 1);
		execvp(argv[0], argv);
		fprintf(stderr, "naive-manager: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			fail("waitpid %s", cli);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* What a naive manager does: override, unbind, bind; each write timed. */
static void rebind(struct cycle *c)
{
	char path[PATH_MAX];
	unsigned long long t0;

	dev_path(path, sizeof(path), "driver_override");
	sysfs_write(path, host_driver);
	dev_path(path, sizeof(path), "driver/unbind");
	t0 = now_ns();
	sysfs_write(path, addr);	/* -ENOENT: it had no driver */
	c->unbind_ms = ms_since(t0);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", host_driver);
	c->bind_err = sysfs_write(path, addr);
	if (!c->bind_err) {
		dev_path(path, sizeof(path), "driver_override");
		sysfs_write(path, "\n");
	}
}

static void run_gate(struct cycle *c)
{
	char timeout[32];
	unsigned long long t0 = now_ns();

	snprintf(timeout, sizeof(timeout), "%ld", timeout_s);
	if (gate == GATE_WAIT) {
		char *argv[] = { (char *)cli, "wait", (char *)addr, "--state", "free",
				 "--timeout", timeout, NULL };

		c->gate_rc = run_cli(argv);
		c->gate_ms = ms_since(t0);
		if (c->gate_rc == 0)
			rebind(c);
	} else {
		char *argv[] = { (char *)cli, "reattach", (char *)addr, "--driver",
				 (char *)host_driver, "--timeout", timeout, NULL };

		c->gate_rc = run_cli(argv);
		c->gate_ms = ms_since(t0);
	}
}

/* Every descendant (holders, receivers, helpers, reattach's finisher). */
static void reap_all(void)
{
	unsigned long long end = now_ns() + timeout_s * 1000000000ULL;
	int st;

	if (holder_pid > 0)
		kill(holder_pid, SIGKILL);
	holder_pid = 0;
	for (;;) {
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid < 0 && errno == ECHILD)
			return;
		if (pid <= 0) {
			if (now_ns() > end) {
				errno = ETIMEDOUT;
				fail("descendants still running after the cycle");
			}
			sleep_ms(5);
		}
	}
}

static void run_cycle(int n, struct cycle *c, double blocked_ms)
{
	memset(c, 0, sizeof(*c));
	c->unbind_ms = -1;
	bind_vfio();
	start_holder();
	kmsg_skip_to_end();
	c->signal_ms = trigger_and_wait_signal();
	if (gate == GATE_NONE)
		rebind(c);
	else
		run_gate(c);
	driver_of(c->final, sizeof(c->final));
	c->blocked = c->unbind_ms >= blocked_ms;
	c->kernel_blocked = kmsg_saw_blocked_unbind();
	c->ok = !c->gate_rc && !c->bind_err && !c->kernel_blocked &&
		!strcmp(c->final, host_driver);
	printf("cycle=%d signal_ms=%.1f unbind_ms=%.1f blocked=%d kernel_blocked=%d bind=%s "
	       "gate_ms=%.1f gate_rc=%d final=%s ok=%d\n",
	       n, c->signal_ms, c->unbind_ms, c->blocked, c->kernel_blocked,
	       c->bind_err ? strerrorname_np(-c->bind_err) : "ok",
	       c->gate_ms, c->gate_rc, c->final[0] ? c->final : "none", c->ok);
	fflush(stdout);
	close(status_rd);
	close(go_wr);
	if (channel_rd >= 0)
		close(channel_rd);
	reap_all();
}

static int lookup(const char *const *names, int count, const char *name)
{
	int i;

	for (i = 0; i < count; i++)
		if (!strcmp(names[i], name))
			return i;
	return -1;
}

static void __attribute__((noreturn)) usage(void)
{
	fprintf(stderr,
		"usage: naive-manager -d ADDR -s SIGNAL [-g none|wait|reattach] [-n CYCLES]\n"
		"       [-H HOST_DRIVER] [-V VFIO_DRIVER] [-m DELAY_MS] [-c CLI] [-t SECONDS]\n"
		"SIGNAL: close-own close-sendfd close-keepgroup reap-own reap-fork reap-uring\n"
		"        channel-last channel-first\n");
	exit(2);
}

static long number(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	double unbind_max = 0, unbind_min = -1, signal_sum = 0, gate_max = 0, gate_min = -1;
	int opt, i, cycles = 20, ok = 0, blocked = 0, kernel_blocked = 0, ebusy = 0;
	int gate_failed = 0;
	const char *what;
	struct cycle c;

	while ((opt = getopt(argc, argv, "d:s:g:n:H:V:m:c:t:")) != -1) {
		switch (opt) {
		case 'd': addr = optarg; break;
		case 's':
			i = lookup(signal_names, sizeof(signal_names) / sizeof(*signal_names), optarg);
			if (i < 0)
				usage();
			sig = i;
			break;
		case 'g':
			i = lookup(gate_names, 3, optarg);
			if (i < 0)
				usage();
			gate = i;
			break;
		case 'n': cycles = number(optarg); break;
		case 'H': host_driver = optarg; break;
		case 'V': vfio_driver = optarg; break;
		case 'm': delay_ms = number(optarg); break;
		case 'c': cli = optarg; break;
		case 't': timeout_s = number(optarg); break;
		default: usage();
		}
	}
	if (!addr || optind != argc || !cycles)
		usage();
	group_id = vfio_group_of(addr, &what);
	if (group_id < 0)
		fail("%s %s", what, addr);
	/* Orphaned receivers and helpers come back to us to be reaped. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		fail("PR_SET_CHILD_SUBREAPER");
	signal(SIGPIPE, SIG_IGN);
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd < 0)
		fprintf(stderr, "naive-manager: /dev/kmsg: %s: kernel_blocked stays 0\n",
			strerror(errno));

	for (i = 1; i <= cycles; i++) {
		/* Without a delay, "blocked" means a quarter second. */
		run_cycle(i, &c, delay_ms > 0 ? delay_ms / 2.0 : 250);
		ok += c.ok;
		blocked += c.blocked;
		kernel_blocked += c.kernel_blocked;
		ebusy += c.bind_err == -EBUSY;
		gate_failed += c.gate_rc != 0;
		signal_sum += c.signal_ms;
		if (c.unbind_ms > unbind_max)
			unbind_max = c.unbind_ms;
		if (c.unbind_ms >= 0 && (unbind_min < 0 || c.unbind_ms < unbind_min))
			unbind_min = c.unbind_ms;
		if (gate != GATE_NONE) {
			if (c.gate_ms > gate_max)
				gate_max = c.gate_ms;
			if (gate_min < 0 || c.gate_ms < gate_min)
				gate_min = c.gate_ms;
		}
	}
	/* Leave the device where a manager would: on its host driver. */
	printf("summary signal=%s gate=%s cycles=%d ok=%d blocked=%d kernel_blocked=%d ebusy=%d gate_failed=%d "
	       "signal_ms_avg=%.1f unbind_ms_min=%.1f unbind_ms_max=%.1f gate_ms_min=%.1f gate_ms_max=%.1f\n",
	       signal_names[sig], gate_names[gate], cycles, ok, blocked, kernel_blocked, ebusy, gate_failed,
	       signal_sum / cycles, unbind_min < 0 ? 0 : unbind_min, unbind_max,
	       gate_min < 0 ? 0 : gate_min, gate_max);
	return 0;
}
