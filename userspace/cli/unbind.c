// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The unbind, bounded by a timeout: see unbind.h.
 *
 * Parent and child share a socket pair. The child writes the unbind,
 * sends the write's result, and reads one byte back: the parent's "I
 * carry on". End of file instead means the parent gave up waiting and
 * left; the child then finishes the reattach itself.
 */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "sysfs.h"
#include "unbind.h"

#define VR_FINISH_BIND_WAIT_MS 5000
#define VR_FINISH_POLL_MS 50

static void vr_nap_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The rest of the reattach, done by the child after its parent left. */
static void vr_finish_alone(const char *dev, const struct vr_unbind_plan *alone)
{
	char driver[VR_DRIVER_NAME_MAX] = "", override[VR_DRIVER_NAME_MAX] = "";
	int waited;

	vr_pci_set_override(dev, alone->bind);
	vr_pci_reprobe(dev);
	for (waited = 0; waited < VR_FINISH_BIND_WAIT_MS; waited += VR_FINISH_POLL_MS) {
		if (!vr_pci_driver(dev, driver, sizeof(driver)) && *driver)
			break;
		vr_nap_ms(VR_FINISH_POLL_MS);
	}
	if (!strcmp(driver, alone->bind))
		vr_pci_set_override(dev, alone->then_override);
	vr_pci_override(dev, override, sizeof(override));
	fprintf(stderr, "%s: %s: the blocked unbind completed: bound to %s, driver_override %s\n",
		vr_prog, dev, *driver ? driver : "no driver", *override ? override : "cleared");
}

static void __attribute__((noreturn))
vr_unbind_child(int sock, const char *dev, const char *driver,
		const struct vr_unbind_plan *alone)
{
	int err;
	char go;

	/*
	 * It may outlive its parent: keep it out of the terminal's and the
	 * session's signals, and off the parent's stdout (whose reader would
	 * wait for it). stderr stays, for the last word.
	 */
	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (!freopen("/dev/null", "w", stdout))
		close(STDOUT_FILENO);

	err = vr_pci_unbind(dev, driver);
	if (send(sock, &err, sizeof(err), MSG_NOSIGNAL) == sizeof(err) &&
	    recv(sock, &go, 1, 0) == 1)
		_exit(0);
	if (!err)
		vr_finish_alone(dev, alone);
	_exit(err ? 1 : 0);
}

int vr_unbind_bounded(const char *dev, const char *driver, int timeout_ms,
		      const struct vr_unbind_plan *alone, pid_t *finisher)
{
	struct pollfd pfd = { .events = POLLIN };
	int sv[2], err = 0, ready;
	const char go = 'x';
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(sv[0]);
		close(sv[1]);
		return err;
	}
	if (pid == 0) {
		close(sv[0]);
		vr_unbind_child(sv[1], dev, driver, alone);
	}
	close(sv[1]);
	pfd.fd = sv[0];
	do
		ready = poll(&pfd, 1, timeout_ms);
	while (ready < 0 && errno == EINTR);
	if (ready == 0) {
		/* Closing our end tells the child it finishes alone. */
		close(sv[0]);
		*finisher = pid;
		return -ETIMEDOUT;
	}
	if (ready < 0 || recv(sv[0], &err, sizeof(err), 0) != sizeof(err))
		err = -EIO;
	send(sv[0], &go, 1, MSG_NOSIGNAL);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return err;
}
