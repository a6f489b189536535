// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The writes of a reattach, made by a detached child and waited for with
 * a bound: see unbind.h.
 *
 * Parent and child share a SOCK_SEQPACKET pair. Each message is one
 * packet: 'S' step target (the child starts a step), 'E' text (a line
 * for stderr), 'O' text (for stdout), 'X' status (the child is done). A
 * send that fails means the parent left: from then on the child's lines
 * go to syslog.
 */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "devlock.h"
#include "sysfs.h"
#include "unbind.h"

#define VR_MSG_MAX 1024
/* What the override and unbind get at least, and without a deadline. */
#define VR_UNBIND_MIN_MS 2000
#define VR_UNBIND_DEFAULT_MS 10000
/* What each probe gets at least, and without a deadline. */
#define VR_PROBE_MIN_MS 10000
#define VR_PROBE_DEFAULT_MS 30000

struct vr_child {
	const struct vr_finish_plan *p;
	int sock;		/* -1 once the parent is gone */
	bool logging;
};

/* --- the child --- */

static bool vr_child_send(struct vr_child *c, const char *msg, size_t len)
{
	if (c->sock >= 0 && send(c->sock, msg, len, MSG_NOSIGNAL) == (ssize_t)len)
		return true;
	if (c->sock >= 0) {
		close(c->sock);
		c->sock = -1;
	}
	if (msg[0] != 'E' && msg[0] != 'O')
		return false;
	if (!c->logging) {
		openlog("vfio-release", LOG_PID, LOG_DAEMON);
		c->logging = true;
		syslog(LOG_NOTICE, "%s: finishing the reattach in the background (its caller stopped waiting)",
		       c->p->dev);
	}
	syslog(msg[0] == 'E' ? LOG_WARNING : LOG_NOTICE, "%.*s", (int)len - 1, msg + 1);
	return false;
}

/* A line about the device: 'E' (stderr) or 'O' (stdout), "DEV: text". */
static void __attribute__((format(printf, 3, 4)))
vr_say(struct vr_child *c, char kind, const char *fmt, ...)
{
	char msg[VR_MSG_MAX];
	va_list ap;
	int len;

	len = snprintf(msg, sizeof(msg), "%c%s: ", kind, c->p->dev);
	va_start(ap, fmt);
	vsnprintf(msg + len, sizeof(msg) - len, fmt, ap);
	va_end(ap);
	vr_child_send(c, msg, strlen(msg));
}

/* Tells the parent the next step; false when the parent is gone. */
static bool vr_step(struct vr_child *c, enum vr_finish_step step, int target)
{
	char msg[3] = { 'S', (char)step, (char)target };

	return vr_child_send(c, msg, sizeof(msg));
}

/*
 * Test-only: VFIO_RELEASE_TEST_PAUSE=after-unbind:MS sleeps MS right after
 * the unbind, so that a test can kill the caller exactly there.
 */
static void vr_child_test_pause(struct vr_child *c, const char *step)
{
	const char *spec = getenv("VFIO_RELEASE_TEST_PAUSE");
	size_t len = strlen(step);
	struct timespec ts;
	int ms;

	if (!spec || strncmp(spec, step, len) || spec[len] != ':')
		return;
	ms = atoi(spec + len + 1);
	vr_say(c, 'E', "test pause %s", step);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

static void vr_say_state(struct vr_child *c, const char *prefix)
{
	char driver[VR_DRIVER_NAME_MAX] = "?", override[VR_DRIVER_NAME_MAX] = "?";

	vr_pci_driver(c->p->dev, driver, sizeof(driver));
	vr_pci_override(c->p->dev, override, sizeof(override));
	vr_say(c, 'E', "%s: bound to %s, driver_override %s", prefix,
	       *driver ? driver : "no driver", *override ? override : "cleared");
}

static void vr_current_driver(const char *dev, char *buf, size_t size)
{
	if (vr_pci_driver(dev, buf, size))
		buf[0] = '\0';
}

/*
 * Sets driver_override to value if it is still what we wrote (ours): an
 * administrator's override written meanwhile is left alone, and said.
 */
static int vr_replace_override(struct vr_child *c, const char *ours, const char *value)
{
	char now[VR_DRIVER_NAME_MAX];
	int err;

	err = vr_pci_override(c->p->dev, now, sizeof(now));
	if (!err && strcmp(now, ours)) {
		vr_say(c, 'E', "driver_override was changed to %s meanwhile (not by reattach): left as it is",
		       *now ? now : "nothing");
		return -EBUSY;
	}
	err = vr_pci_set_override(c->p->dev, value);
	if (err)
		vr_say(c, 'E', "setting driver_override to %s failed: %s", *value ? value : "nothing",
		       strerror(-err));
	return err;
}

/* Binds the device to driver (override already set): "" or who has it. */
static int vr_probe(struct vr_child *c, const char *driver, char *now, size_t size)
{
	int err = 0;

	/* drivers_probe is synchronous (device_attach): no wait needed. */
	vr_pci_reprobe(c->p->dev);
	vr_current_driver(c->p->dev, now, size);
	if (!*now) {
		/* An explicit bind tells why: the probe's own error. */
		err = vr_pci_bind(c->p->dev, driver);
		vr_current_driver(c->p->dev, now, size);
	}
	return strcmp(now, driver) ? (err ? err : -ENODEV) : 0;
}

/* --restore: back to the VFIO driver it had, with its old driver_override. */
static int vr_restore(struct vr_child *c, const char *ours)
{
	const struct vr_finish_plan *p = c->p;
	char now[VR_DRIVER_NAME_MAX];

	vr_step(c, VR_STEP_RESTORE, 0);
	if (vr_replace_override(c, ours, p->from) == 0 &&
	    vr_probe(c, p->from, now, sizeof(now)) == 0) {
		vr_replace_override(c, p->from, p->from_override);
		vr_say_state(c, "--restore: returned it");
	} else {
		vr_say_state(c, "--restore failed");
	}
	return VR_EXIT_CHANGED;
}

/* The unbind failed outright. */
static int vr_unbind_failed(struct vr_child *c, int err)
{
	const struct vr_finish_plan *p = c->p;
	char now[VR_DRIVER_NAME_MAX];

	vr_current_driver(p->dev, now, sizeof(now));
	vr_say(c, 'E', "unbinding from %s failed: %s", p->from, strerror(-err));
	if (strcmp(now, p->from)) {
		/* -ENODEV: someone else moved it; what they set stays. */
		vr_say_state(c, "not on it any more (moved by someone else), left");
		return VR_EXIT_CHANGED;
	}
	if (vr_replace_override(c, p->targets[0], p->from_override)) {
		vr_say_state(c, "left");
		return VR_EXIT_CHANGED;
	}
	vr_say(c, 'E', "still on %s, driver_override put back to %s: nothing was changed", p->from,
	       *p->from_override ? p->from_override : "none");
	return VR_EXIT_ERROR;
}

static int vr_child_run(struct vr_child *c)
{
	const struct vr_finish_plan *p = c->p;
	char now[VR_DRIVER_NAME_MAX] = "";
	const char *ours = p->targets[0];
	bool parent_there;
	int err = 0, i;

	vr_step(c, VR_STEP_OVERRIDE, 0);
	err = vr_pci_set_override(p->dev, ours);
	if (err) {
		vr_say(c, 'E', "setting driver_override to %s failed: %s (nothing was changed)", ours,
		       strerror(-err));
		return VR_EXIT_ERROR;
	}
	if (*p->from) {
		/* The parent left while the override write was blocked. */
		if (!vr_step(c, VR_STEP_UNBIND, 0) && p->restore) {
			vr_replace_override(c, ours, p->from_override);
			vr_say_state(c, "not unbound (--restore)");
			return VR_EXIT_CHANGED;
		}
		err = vr_pci_unbind(p->dev, p->from);
		if (err)
			return vr_unbind_failed(c, err);
		vr_child_test_pause(c, "after-unbind");
	}
	for (i = 0; i < p->ntargets; i++) {
		parent_there = vr_step(c, VR_STEP_PROBE, i);
		/* A blocked unbind with --restore: the caller was told it goes back. */
		if (!parent_there && p->restore && *p->from && i == 0)
			return vr_restore(c, ours);
		if (i > 0) {
			if (vr_replace_override(c, ours, p->targets[i]))
				break;
			ours = p->targets[i];
		}
		err = vr_probe(c, p->targets[i], now, sizeof(now));
		if (!err) {
			vr_step(c, VR_STEP_CLEAR, i);
			vr_replace_override(c, ours, "");
			vr_say(c, 'O', "reattached to %s", p->targets[i]);
			return VR_EXIT_OK;
		}
		vr_say(c, 'E', "%s%s%s%s did not take it: %s", *p->from ? "unbound from " : "", p->from,
		       *p->from ? ", but " : "", p->targets[i], strerror(-err));
		if (*now)
			break;
	}
	if (p->restore && *p->from && !*now)
		return vr_restore(c, ours);
	if (!*now)
		vr_replace_override(c, ours, "");
	vr_say_state(c, "left");
	return VR_EXIT_CHANGED;
}

static void vr_close_range(unsigned int first, unsigned int last)
{
	unsigned int fd;

	if (first > last)
		return;
#ifdef SYS_close_range
	if (syscall(SYS_close_range, first, last, 0) == 0)
		return;
#endif
	for (fd = first; fd <= last && fd < 4096; fd++)
		close((int)fd);
}

/*
 * Out of everything of the caller's: its session and signals, its
 * terminal and pipes (a reader of our stderr waits for every writer's
 * EOF), its cwd, and every fd it had open (the library's netlink sockets)
 * but the two we need, moved to 3 and 4.
 */
static void vr_child_detach(int *sock, int *lock_fd)
{
	int null, high_sock, high_lock;

	setsid();
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/* Not holding a mount busy; "/" cannot fail in practice. */
	if (chdir("/"))
		(void)0;
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	/* Copies at 5 and above first, so that neither lands on the other. */
	high_sock = fcntl(*sock, F_DUPFD, 5);
	high_lock = *lock_fd >= 0 ? fcntl(*lock_fd, F_DUPFD, 5) : -1;
	if (high_sock >= 0 && dup2(high_sock, 3) == 3)
		*sock = 3;
	if (high_lock >= 0 && dup2(high_lock, 4) == 4)
		*lock_fd = 4;
	if (*sock != 3 || (*lock_fd >= 0 && *lock_fd != 4))
		return;	/* out of fds: keep what we have open rather than lose them */
	vr_close_range(*lock_fd >= 0 ? 5 : 4, ~0U);
}

static void __attribute__((noreturn))
vr_child_main(const struct vr_finish_plan *p, int sock)
{
	struct vr_child c = { .p = p };
	int lock_fd = p->lock_fd;
	char msg[2] = { 'X', 0 };

	vr_child_detach(&sock, &lock_fd);
	c.sock = sock;
	if (lock_fd >= 0)
		vr_devlock_set_holder(lock_fd, getpid());
	msg[1] = (char)vr_child_run(&c);
	vr_child_send(&c, msg, sizeof(msg));
	_exit(msg[1]);
}

/* --- the parent --- */

static long long vr_step_deadline(const struct vr_finish_plan *p, enum vr_finish_step step)
{
	bool probe = step > VR_STEP_UNBIND;
	long long min = vr_mono_ms() + (p->deadline_ms < 0 ?
		(probe ? VR_PROBE_DEFAULT_MS : VR_UNBIND_DEFAULT_MS) :
		(probe ? VR_PROBE_MIN_MS : VR_UNBIND_MIN_MS));

	return p->deadline_ms > min ? p->deadline_ms : min;
}

int vr_finish(const struct vr_finish_plan *plan, enum vr_finish_step *step, int *target,
	      pid_t *finisher)
{
	struct pollfd pfd = { .events = POLLIN };
	long long deadline;
	char msg[VR_MSG_MAX + 1];
	int sv[2], status, ready, left;
	ssize_t n;
	pid_t pid;

	*step = VR_STEP_START;
	*target = 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		status = -errno;
		close(sv[0]);
		close(sv[1]);
		return status;
	}
	if (pid == 0) {
		close(sv[0]);
		vr_child_main(plan, sv[1]);
	}
	close(sv[1]);
	pfd.fd = sv[0];
	deadline = vr_step_deadline(plan, VR_STEP_OVERRIDE);
	for (;;) {
		left = (int)(deadline - vr_mono_ms());
		ready = poll(&pfd, 1, left > 0 ? left : 0);
		if (ready < 0 && errno == EINTR)
			continue;
		/* Out of time, or poll failed: either way the child carries on alone. */
		if (ready <= 0)
			break;
		n = recv(sv[0], msg, sizeof(msg) - 1, 0);
		if (n <= 0) {
			/* Gone without its last word: it died. */
			close(sv[0]);
			waitpid(pid, &status, 0);
			fprintf(stderr, "%s: %s: the process making the changes died (%s)\n", vr_prog,
				plan->dev, WIFSIGNALED(status) ? strsignal(WTERMSIG(status)) : "no status");
			return VR_EXIT_CHANGED;
		}
		msg[n] = '\0';
		switch (msg[0]) {
		case 'S':
			if (n < 3)
				break;
			*step = (enum vr_finish_step)msg[1];
			*target = msg[2];
			deadline = vr_step_deadline(plan, *step);
			break;
		case 'E':
			fprintf(stderr, "%s: %s\n", vr_prog, msg + 1);
			break;
		case 'O':
			printf("%s\n", msg + 1);
			fflush(stdout);
			break;
		case 'X':
			close(sv[0]);
			waitpid(pid, NULL, 0);
			return n >= 2 ? msg[1] : VR_EXIT_CHANGED;
		}
	}
	/* Closing our end tells the child it is on its own. */
	close(sv[0]);
	*finisher = pid;
	return VR_FINISH_PENDING;
}
