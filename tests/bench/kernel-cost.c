// SPDX-License-Identifier: GPL-2.0
/*
 * kernel-cost: what one system call and one socket round trip cost in
 * this kernel, for tests/bench/debug-cost.sh, which runs it on the debug
 * kernel with each checker switched off in turn. Every figure is the
 * mean over N operations, in microseconds of the process's CPU time and
 * of wall time, one line each:
 *
 *   cost OP cpu_us=X wall_us=Y n=N
 *
 * OP: getpid (a system call), unix (a 1-byte datagram through a
 * socketpair and back), genl (a generic netlink request to the
 * controller, answered with an error and an ack), rtnl (an rtnetlink
 * request of an unknown type, answered with an error).
 */
#define _GNU_SOURCE
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

struct clocks {
	double cpu, wall;
};

static double seconds(clockid_t id)
{
	struct timespec t;

	clock_gettime(id, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static struct clocks now(void)
{
	return (struct clocks){ seconds(CLOCK_PROCESS_CPUTIME_ID), seconds(CLOCK_MONOTONIC) };
}

static void report(const char *op, struct clocks t0, int n)
{
	struct clocks t1 = now();

	printf("cost %s cpu_us=%.1f wall_us=%.1f n=%d\n", op, (t1.cpu - t0.cpu) / n * 1e6,
	       (t1.wall - t0.wall) / n * 1e6, n);
}

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* One request the kernel refuses, n times; each answer read before the next. */
static void netlink_round_trips(const char *op, int proto, unsigned short type, int n)
{
	struct {
		struct nlmsghdr n;
		struct genlmsghdr g;
	} req;
	char answer[8192];
	struct clocks t0;
	int fd, i;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	if (fd < 0)
		die("socket(AF_NETLINK)");
	t0 = now();
	for (i = 0; i < n; i++) {
		memset(&req, 0, sizeof(req));
		req.n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
		req.n.nlmsg_type = type;
		req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
		req.n.nlmsg_seq = i;
		req.g.cmd = CTRL_CMD_GETFAMILY;
		req.g.version = 1;
		if (send(fd, &req, req.n.nlmsg_len, 0) < 0)
			die("send(netlink)");
		if (recv(fd, answer, sizeof(answer), 0) < 0)
			die("recv(netlink)");
	}
	report(op, t0, n);
	close(fd);
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 300;
	struct clocks t0;
	int sv[2], i;
	char byte = 'x';

	if (n < 1) {
		fprintf(stderr, "usage: kernel-cost [N]\n");
		return 2;
	}
	t0 = now();
	for (i = 0; i < n * 10; i++)
		syscall(SYS_getpid);
	report("getpid", t0, n * 10);

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	t0 = now();
	for (i = 0; i < n; i++) {
		if (send(sv[0], &byte, 1, 0) != 1 || recv(sv[1], &byte, 1, 0) != 1)
			die("unix datagram");
	}
	report("unix", t0, n);

	netlink_round_trips("genl", NETLINK_GENERIC, GENL_ID_CTRL, n);
	netlink_round_trips("rtnl", NETLINK_ROUTE, 0x1ff, n);
	return 0;
}
