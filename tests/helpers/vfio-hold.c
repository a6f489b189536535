// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-hold: open PCI devices through the VFIO group/container API and
 * hold, share or drop the files in a scripted order, so that tests can
 * drive every way a VFIO device gets released.
 *
 *   vfio-hold -d ADDR [-d ADDR ...] ACTION...
 *
 * Devices of one IOMMU group share one group fd; all groups share one
 * container with the type1v2 IOMMU. Actions run in order:
 *
 *   close-device[=ADDR]  close one device fd (default: all of them)
 *   close-group          close all group fds
 *   close-container      close the container fd
 *   sleep-ms=N           sleep N ms
 *   mmap-bar=N           mmap BAR N of the first device (exit 3 if the
 *                        region cannot be mmapped) and keep the mapping
 *   munmap               drop that mapping
 *   fork-hold-ms=N       a child inherits every fd and mapping, exits after
 *                        N ms; the parent goes on at once
 *   sendfd-hold-ms=N     a child drops everything it inherited, receives
 *                        the first device fd over SCM_RIGHTS and holds it
 *                        N ms; the parent goes on once the child has it
 *   wait-children        reap all children
 *   mark=TEXT            print "MARK TEXT <CLOCK_MONOTONIC ns>"
 *   pause                print "paused" and sleep until killed
 *   reset                VFIO_DEVICE_RESET on the first device
 *   hold                 print "holding", wait for SIGUSR1 (or SIGTERM,
 *                        SIGINT, SIGHUP), or for the end of stdin when it
 *                        is a pipe; then go on with the next action
 *
 * Output: "opened ADDR fd=N" per device, then what the actions print, then
 * "exit". A failed step is reported with strerror and exit status 2.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>

#include "action-list.h"
#include "helper-util.h"
#include "vfio-group.h"
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEVS 16
#define MAX_CHILDREN 64

struct dev {
	const char *addr;
	int group;	/* index into groups[] */
	int fd;
};

struct group {
	int id;
	int fd;
};

static struct dev devs[MAX_DEVS];
static int ndevs;
static struct group groups[MAX_DEVS];
static int ngroups;
static int container = -1;
static void *map_addr;
static size_t map_len;
static pid_t children[MAX_CHILDREN];
static int nchildren;

static void usage(void)
{
	fprintf(stderr, "usage: vfio-hold -d ADDR [-d ADDR ...] ACTION...\n");
	exit(2);
}

static void open_all(void)
{
	int i, j;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail("VFIO_GET_API_VERSION");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		fail("VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU)");

	for (i = 0; i < ndevs; i++) {
		const char *what;
		int id = vfio_group_of(devs[i].addr, &what);

		if (id < 0)
			fail("%s %s", what, devs[i].addr);
		for (j = 0; j < ngroups && groups[j].id != id; j++)
			;
		if (j == ngroups) {
			groups[j].id = id;
			groups[j].fd = vfio_group_attach(container, id, &what);
			if (groups[j].fd < 0)
				fail("group %d: %s", id, what);
			/* The IOMMU model is set once, after the first group. */
			if (ngroups++ == 0 &&
			    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
				fail("VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)");
		}
		devs[i].group = j;
	}

	for (i = 0; i < ndevs; i++) {
		devs[i].fd = ioctl(groups[devs[i].group].fd,
				   VFIO_GROUP_GET_DEVICE_FD, devs[i].addr);
		if (devs[i].fd < 0)
			fail("VFIO_GROUP_GET_DEVICE_FD %s", devs[i].addr);
		printf("opened %s fd=%d\n", devs[i].addr, devs[i].fd);
	}
	fflush(stdout);
}

static int first_dev_fd(const char *action)
{
	if (devs[0].fd < 0) {
		errno = EBADF;
		fail("%s: device %s is closed", action, devs[0].addr);
	}
	return devs[0].fd;
}

static void close_fd(int *fd, const char *what)
{
	if (*fd >= 0 && close(*fd))
		fail("close %s", what);
	*fd = -1;
}

static void close_device(const char *addr)
{
	int i, found = 0;

	for (i = 0; i < ndevs; i++) {
		if (addr && strcmp(addr, devs[i].addr))
			continue;
		close_fd(&devs[i].fd, devs[i].addr);
		found = 1;
	}
	if (!found) {
		errno = ENODEV;
		fail("close-device=%s: not a device given with -d", addr);
	}
}

/* Used by children that must not keep the device open by accident. */
static void drop_inherited(void)
{
	int i;

	if (map_addr)
		munmap(map_addr, map_len);
	map_addr = NULL;
	for (i = 0; i < ndevs; i++)
		if (devs[i].fd >= 0)
			close(devs[i].fd);
	for (i = 0; i < ngroups; i++)
		if (groups[i].fd >= 0)
			close(groups[i].fd);
	if (container >= 0)
		close(container);
}

static void mmap_bar(const char *action, long bar)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri) };

	if (bar > VFIO_PCI_BAR5_REGION_INDEX) {
		errno = EINVAL;
		fail("%s", action);
	}
	if (map_addr) {
		errno = EBUSY;
		fail("%s: a BAR is already mapped", action);
	}
	ri.index = VFIO_PCI_BAR0_REGION_INDEX + bar;
	if (ioctl(first_dev_fd(action), VFIO_DEVICE_GET_REGION_INFO, &ri))
		fail("%s: VFIO_DEVICE_GET_REGION_INFO", action);
	if (!(ri.flags & VFIO_REGION_INFO_FLAG_MMAP) || !ri.size) {
		fprintf(stderr, "vfio-hold: %s: BAR %ld of %s cannot be mmapped "
			"(flags 0x%x, size %llu)\n", action, bar, devs[0].addr,
			ri.flags, (unsigned long long)ri.size);
		exit(3);
	}
	map_addr = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED,
			devs[0].fd, ri.offset);
	if (map_addr == MAP_FAILED) {
		map_addr = NULL;
		fail("%s: mmap", action);
	}
	map_len = ri.size;
	printf("mapped bar%ld size=%llu\n", bar, (unsigned long long)ri.size);
}

static void add_child(pid_t pid)
{
	if (nchildren == MAX_CHILDREN) {
		errno = EAGAIN;
		fail("too many children");
	}
	children[nchildren++] = pid;
}

static void fork_hold(long ms)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("fork-hold-ms: fork");
	if (pid == 0) {
		sleep_ms(ms);
		_exit(0);
	}
	add_child(pid);
}

static void sendfd_hold(long ms)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int sv[2], fd = first_dev_fd("sendfd-hold-ms");
	char byte = 'x';
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		fail("sendfd-hold-ms: socketpair");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		fail("sendfd-hold-ms: fork");
	if (pid == 0) {
		int held;

		close(sv[0]);
		drop_inherited();
		iov.iov_base = &byte;
		iov.iov_len = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC) != 1)
			fail("sendfd-hold-ms child: recvmsg");
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS) {
			errno = EPROTO;
			fail("sendfd-hold-ms child: no fd received");
		}
		memcpy(&held, CMSG_DATA(cm), sizeof(int));
		if (write(sv[1], &byte, 1) != 1)
			fail("sendfd-hold-ms child: confirm");
		sleep_ms(ms);
		close(held);
		_exit(0);
	}
	add_child(pid);
	close(sv[1]);

	iov.iov_base = &byte;
	iov.iov_len = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	if (sendmsg(sv[0], &msg, 0) != 1)
		fail("sendfd-hold-ms: sendmsg");
	errno = 0;
	if (read(sv[0], &byte, 1) != 1) {
		if (!errno)
			errno = EPIPE;
		fail("sendfd-hold-ms: child did not confirm");
	}
	close(sv[0]);
}

static void wait_children(void)
{
	int i, st;

	for (i = 0; i < nchildren; i++) {
		if (waitpid(children[i], &st, 0) < 0)
			fail("waitpid %d", (int)children[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st)) {
			errno = ECHILD;
			fail("child %d ended with status 0x%x", (int)children[i], st);
		}
	}
	nchildren = 0;
}

enum act {
	A_CLOSE_DEVICE, A_CLOSE_GROUP, A_CLOSE_CONTAINER, A_SLEEP, A_MMAP,
	A_MUNMAP, A_FORK_HOLD, A_SENDFD_HOLD, A_WAIT, A_MARK, A_PAUSE, A_RESET,
	A_HOLD,
};

static const struct action_spec acts[] = {
	[A_CLOSE_DEVICE] = { "close-device", ACTION_MAYBE_TEXT },
	[A_CLOSE_GROUP] = { "close-group", ACTION_BARE },
	[A_CLOSE_CONTAINER] = { "close-container", ACTION_BARE },
	[A_SLEEP] = { "sleep-ms", ACTION_NUMBER },
	[A_MMAP] = { "mmap-bar", ACTION_NUMBER },
	[A_MUNMAP] = { "munmap", ACTION_BARE },
	[A_FORK_HOLD] = { "fork-hold-ms", ACTION_NUMBER },
	[A_SENDFD_HOLD] = { "sendfd-hold-ms", ACTION_NUMBER },
	[A_WAIT] = { "wait-children", ACTION_BARE },
	[A_MARK] = { "mark", ACTION_TEXT },
	[A_PAUSE] = { "pause", ACTION_BARE },
	[A_RESET] = { "reset", ACTION_BARE },
	[A_HOLD] = { "hold", ACTION_BARE },
};

static enum act parse_action(const char *a, const char **value)
{
	return action_parse(acts, sizeof(acts) / sizeof(acts[0]), a, value);
}

static void run(const char *a)
{
	const char *v;
	struct timespec ts;
	sigset_t sigs, was;
	int i;

	switch (parse_action(a, &v)) {
	case A_CLOSE_DEVICE:
		close_device(v);
		break;
	case A_CLOSE_GROUP:
		for (i = 0; i < ngroups; i++)
			close_fd(&groups[i].fd, "group");
		break;
	case A_CLOSE_CONTAINER:
		close_fd(&container, "container");
		break;
	case A_SLEEP:
		sleep_ms(action_number(a, v));
		break;
	case A_MMAP:
		mmap_bar(a, action_number(a, v));
		break;
	case A_MUNMAP:
		if (map_addr && munmap(map_addr, map_len))
			fail("munmap");
		map_addr = NULL;
		break;
	case A_FORK_HOLD:
		fork_hold(action_number(a, v));
		break;
	case A_SENDFD_HOLD:
		sendfd_hold(action_number(a, v));
		break;
	case A_WAIT:
		wait_children();
		break;
	case A_MARK:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		printf("MARK %s %llu\n", v,
		       (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
		break;
	case A_PAUSE:
		printf("paused\n");
		fflush(stdout);
		for (;;)
			pause();
	case A_RESET:
		if (ioctl(first_dev_fd(a), VFIO_DEVICE_RESET))
			fail("reset: VFIO_DEVICE_RESET");
		break;
	case A_HOLD:
		/* Blocked only here: elsewhere SIGTERM still ends it. */
		action_hold_signals(&sigs);
		if (sigprocmask(SIG_BLOCK, &sigs, &was))
			fail("hold: sigprocmask");
		action_hold(&sigs);
		if (sigprocmask(SIG_SETMASK, &was, NULL))
			fail("hold: sigprocmask");
		break;
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int opt, i;

	while ((opt = getopt(argc, argv, "+d:")) != -1) {
		if (opt != 'd' || ndevs == MAX_DEVS)
			usage();
		devs[ndevs].addr = optarg;
		devs[ndevs].fd = -1;
		ndevs++;
	}
	if (!ndevs)
		usage();
	/* Check every action before touching a device. */
	for (i = optind; i < argc; i++) {
		const char *v;

		parse_action(argv[i], &v);
	}

	open_all();
	for (i = optind; i < argc; i++)
		run(argv[i]);
	printf("exit\n");
	return 0;
}
