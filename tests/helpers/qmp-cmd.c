// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * qmp-cmd SOCKET COMMAND [ARGUMENTS_JSON]: one QMP command, for the tests,
 * with no code of the library's (so a test of the CLI does not trust the
 * client it tests). Reads the greeting, leaves negotiation mode, sends the
 * command and prints its reply line (events before it are skipped).
 * Exit status: 0 a "return", 1 an "error", 2 a failure of ours, 3 QEMU
 * closed the monitor before answering (a quit may).
 *
 * On stderr: "sent NS", the CLOCK_MONOTONIC time the command was sent.
 *
 * qmp-cmd --hold SOCKET: connects and holds the connection without a word
 * (QEMU serves one client per monitor: the next one gets no greeting);
 * prints "held" and waits until killed.
 *
 * qmp-cmd --now: prints "now NS" (CLOCK_MONOTONIC, the kernel's clock for
 * event timestamps), for a command run by gate to say when it ran.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helper-util.h"

static char buf[1 << 20];
static size_t have;

/* One line into line (NUL-terminated, no CR/LF): 0, or 3 at EOF. */
static int read_line(int fd, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(buf, '\n', have);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t len = nl - buf;

			if (len && buf[len - 1] == '\r')
				len--;
			if (len >= size)
				len = size - 1;
			memcpy(line, buf, len);
			line[len] = '\0';
			have -= nl + 1 - buf;
			memmove(buf, nl + 1, have);
			return 0;
		}
		if (poll(&pfd, 1, 30000) == 0) {
			fprintf(stderr, "qmp-cmd: no answer within 30 s\n");
			exit(2);
		}
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0)
			fail("read");
		if (n == 0)
			return 3;
		have += n;
	}
}

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		fail("socket");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
		fail("connect %s", path);
	return fd;
}

static void send_line(int fd, const char *text)
{
	size_t len = strlen(text);

	if (write(fd, text, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		fail("write");
}

/* The next line that is not an event. */
static int read_reply(int fd, char *line, size_t size)
{
	int ret;

	while (!(ret = read_line(fd, line, size)))
		if (!strstr(line, "\"event\""))
			return 0;
	return ret;
}

int main(int argc, char **argv)
{
	static char line[1 << 20], cmd[1 << 16];
	int fd;

	if (argc == 2 && !strcmp(argv[1], "--now")) {
		printf("now %llu\n", now_ns());
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--hold")) {
		fd = connect_to(argv[2]);
		printf("held\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: qmp-cmd SOCKET COMMAND [ARGUMENTS_JSON] | qmp-cmd --hold SOCKET\n");
		return 2;
	}
	fd = connect_to(argv[1]);
	if (read_line(fd, line, sizeof(line)) || !strstr(line, "\"QMP\"")) {
		fprintf(stderr, "qmp-cmd: %s: no QMP greeting\n", argv[1]);
		return 2;
	}
	send_line(fd, "{\"execute\": \"qmp_capabilities\"}");
	if (read_reply(fd, line, sizeof(line)) || !strstr(line, "\"return\"")) {
		fprintf(stderr, "qmp-cmd: qmp_capabilities: %s\n", line);
		return 2;
	}
	snprintf(cmd, sizeof(cmd), "{\"execute\": \"%s\"%s%s}", argv[2],
		 argc == 4 ? ", \"arguments\": " : "", argc == 4 ? argv[3] : "");
	send_line(fd, cmd);
	fprintf(stderr, "sent %llu\n", now_ns());
	if (read_reply(fd, line, sizeof(line))) {
		printf("closed\n");
		return 3;
	}
	printf("%s\n", line);
	return strncmp(line, "{\"return\"", 9) ? 1 : 0;
}
