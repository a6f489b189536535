// SPDX-License-Identifier: GPL-2.0
/*
 * uevent-listen: print the kernel's uevents that carry VFIO_RELEASE_STATE.
 *
 *   uevent-listen [-n COUNT] [-t SECONDS]
 *
 * Prints "ready" once the netlink socket is bound, so a script can start
 * the action under test only then, and one line per matching uevent:
 *
 *   uevent ACTION DEVPATH VFIO_RELEASE_STATE=... VFIO_RELEASE_...=...
 *
 * with the VFIO_RELEASE_* keys in the order the kernel sent them.
 * Messages re-broadcast by udev (libudev format) are ignored: only what the
 * kernel itself sent counts. Exits 0 after COUNT matching events, 1 when
 * the overall timeout runs out first, 2 on errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RCVBUF (16 << 20)

/* Overridable so the parser can be tried on synthetic uevents, whose keys
 * the kernel prefixes with SYNTH_ARG_. */
#ifndef KEY_PREFIX
#define KEY_PREFIX "VFIO_RELEASE_"
#endif
#define STATE_KEY KEY_PREFIX "STATE="

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	fprintf(stderr, "uevent-listen: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Prints the event if it is a kernel uevent with VFIO_RELEASE_STATE. */
static int handle(char *buf, size_t len)
{
	const char *action = NULL, *devpath = NULL, *p, *end = buf + len;
	int found = 0;

	/* Kernel format: "ACTION@DEVPATH\0KEY=VALUE\0...". udev's own
	 * messages start with "libudev\0" and have no '@' in the header. */
	if (!memchr(buf, '@', strnlen(buf, len)))
		return 0;
	for (p = buf + strlen(buf) + 1; p < end; p += strlen(p) + 1) {
		if (!strncmp(p, "ACTION=", 7))
			action = p + 7;
		else if (!strncmp(p, "DEVPATH=", 8))
			devpath = p + 8;
		else if (!strncmp(p, STATE_KEY, strlen(STATE_KEY)))
			found = 1;
	}
	if (!found || !action || !devpath)
		return 0;
	printf("uevent %s %s", action, devpath);
	for (p = buf + strlen(buf) + 1; p < end; p += strlen(p) + 1)
		if (!strncmp(p, KEY_PREFIX, strlen(KEY_PREFIX)))
			printf(" %s", p);
	printf("\n");
	fflush(stdout);
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = 1 };
	long count = -1, timeout_s = -1;
	long long deadline = 0;
	int fd, opt, size = RCVBUF;
	static char buf[64 * 1024];

	while ((opt = getopt(argc, argv, "n:t:")) != -1) {
		switch (opt) {
		case 'n':
			count = atol(optarg);
			break;
		case 't':
			timeout_s = atol(optarg);
			break;
		default:
			fprintf(stderr, "usage: uevent-listen [-n COUNT] [-t SECONDS]\n");
			return 2;
		}
	}

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	if (fd < 0)
		die("socket");
	/* Bursts of uevents must not overflow the queue: FORCE needs
	 * CAP_NET_ADMIN, the plain option is capped by rmem_max. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)))
		die("SO_RCVBUF");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind");
	printf("ready\n");
	fflush(stdout);

	if (timeout_s >= 0)
		deadline = now_ms() + timeout_s * 1000LL;
	while (count != 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		struct sockaddr_nl from;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr msg = {
			.msg_name = &from, .msg_namelen = sizeof(from),
			.msg_iov = &iov, .msg_iovlen = 1,
		};
		int wait_ms = -1;
		ssize_t n;

		if (timeout_s >= 0) {
			long long left = deadline - now_ms();

			if (left <= 0)
				return 1;
			wait_ms = left > 1000000 ? 1000000 : (int)left;
		}
		n = poll(&pfd, 1, wait_ms);
		if (n < 0 && errno != EINTR)
			die("poll");
		if (n <= 0)
			continue;
		n = recvmsg(fd, &msg, 0);
		if (n < 0) {
			if (errno == ENOBUFS) {
				/* Events were dropped: say so, keep going. */
				fprintf(stderr, "uevent-listen: receive queue overflowed\n");
				continue;
			}
			if (errno == EINTR)
				continue;
			die("recvmsg");
		}
		/* Only the kernel (port id 0) sends real uevents. */
		if (from.nl_pid != 0)
			continue;
		buf[n] = '\0';
		if (handle(buf, n) && count > 0)
			count--;
	}
	return 0;
}
