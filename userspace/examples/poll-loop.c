// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * poll-loop: libvfio-release in an application's own event loop.
 *
 *   poll-loop [--timeout SECONDS] DEVICE...
 *
 * Waits until each DEVICE is free, one wait per device, all fed from one
 * handle. The loop below stands for libvirt's (virEventAddHandle() for
 * the fd, virEventAddTimeout() for deferred work): the fd callback only
 * dispatches, which reads what is queued and waits for nothing; the
 * re-reads a wait may ask for, which block for about a second at most,
 * run from a zero-delay timeout instead.
 *
 * Exit status: 0 all free, 1 timeout, 2 error, 3 a device left vfio.
 */

#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vfio-release.h>

/* --- a minimal event loop: fd handles and one-shot timeouts --- */

typedef void (*handle_cb)(int fd, void *opaque);
typedef void (*timeout_cb)(void *opaque);

struct loop {
	int fd;
	handle_cb on_fd;
	void *fd_opaque;
	long long timeout_at;	/* ms, CLOCK_MONOTONIC; -1 when none */
	timeout_cb on_timeout;
	void *timeout_opaque;
	bool quit;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void loop_add_handle(struct loop *l, int fd, handle_cb cb, void *opaque)
{
	l->fd = fd;
	l->on_fd = cb;
	l->fd_opaque = opaque;
}

static void loop_add_timeout(struct loop *l, int ms, timeout_cb cb, void *opaque)
{
	l->timeout_at = now_ms() + ms;
	l->on_timeout = cb;
	l->timeout_opaque = opaque;
}

static int loop_run(struct loop *l, long long deadline)
{
	while (!l->quit) {
		struct pollfd pfd = { .fd = l->fd, .events = POLLIN };
		long long wake = deadline;

		if (l->timeout_at >= 0 && l->timeout_at < wake)
			wake = l->timeout_at;
		if (now_ms() >= deadline)
			return -ETIMEDOUT;
		if (poll(&pfd, 1, wake > now_ms() ? (int)(wake - now_ms()) : 0) < 0 &&
		    errno != EINTR)
			return -errno;
		if (pfd.revents & POLLIN)
			l->on_fd(l->fd, l->fd_opaque);
		if (l->timeout_at >= 0 && now_ms() >= l->timeout_at) {
			l->timeout_at = -1;
			l->on_timeout(l->timeout_opaque);
		}
	}
	return 0;
}

/* --- the application --- */

struct app {
	struct loop loop;
	struct vfio_release *vr;
	struct vfio_release_wait **waits;
	bool *reported;
	int count, done, status;
};

static void app_check(struct app *app);

static void app_reread(void *opaque)
{
	struct app *app = opaque;
	int i, err;

	for (i = 0; i < app->count; i++) {
		if (vfio_release_wait_status(app->waits[i]) != VFIO_RELEASE_WAIT_REREAD)
			continue;
		err = vfio_release_wait_reread(app->vr, app->waits[i]);
		/* Unloaded: its return is announced on the fd. */
		if (err && err != -ENOPKG) {
			fprintf(stderr, "re-read: %s\n", vfio_release_strerror(err));
			app->status = 2;
			app->loop.quit = true;
			return;
		}
	}
	app_check(app);
}

static void app_check(struct app *app)
{
	bool reread = false;
	int i;

	for (i = 0; i < app->count; i++) {
		const char *dev = vfio_release_wait_device(app->waits[i], 0);

		switch (vfio_release_wait_status(app->waits[i])) {
		case VFIO_RELEASE_WAIT_DONE:
			if (!app->reported[i]) {
				printf("%s: free\n", dev);
				fflush(stdout);
				app->reported[i] = true;
				app->done++;
			}
			break;
		case VFIO_RELEASE_WAIT_GONE:
			fprintf(stderr, "%s: left vfio before it was free\n", dev);
			app->status = 3;
			app->loop.quit = true;
			return;
		case VFIO_RELEASE_WAIT_REREAD:
			reread = true;
			break;
		case VFIO_RELEASE_WAIT_PENDING:
			break;
		}
	}
	if (app->done == app->count)
		app->loop.quit = true;
	else if (reread)
		loop_add_timeout(&app->loop, 0, app_reread, app);
}

/* The fd callback: dispatch feeds every wait; nothing here blocks. */
static void app_on_fd(int fd, void *opaque)
{
	struct app *app = opaque;
	int err = vfio_release_dispatch(app->vr, NULL, NULL);

	(void)fd;
	if (err < 0) {
		fprintf(stderr, "dispatch: %s\n", vfio_release_strerror(err));
		app->status = 2;
		app->loop.quit = true;
		return;
	}
	app_check(app);
}

int main(int argc, char **argv)
{
	struct app app = { .loop = { .fd = -1, .timeout_at = -1 } };
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];
	double timeout_s = 60;
	int i, first = 1, err;

	if (argc > 2 && !strcmp(argv[1], "--timeout")) {
		timeout_s = atof(argv[2]);
		first = 3;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: %s [--timeout SECONDS] DEVICE...\n", argv[0]);
		return 2;
	}
	err = vfio_release_open(&app.vr);
	if (err) {
		fprintf(stderr, "%s\n", vfio_release_strerror(err));
		return 2;
	}
	app.count = argc - first;
	app.waits = calloc(app.count, sizeof(*app.waits));
	app.reported = calloc(app.count, sizeof(*app.reported));
	for (i = 0; i < app.count && app.waits && app.reported; i++) {
		const char *devs[] = { name };

		err = vfio_release_parse_device(argv[first + i], name, sizeof(name));
		if (!err)
			err = vfio_release_wait_new(app.vr, devs, 1, VFIO_RELEASE_STATE_FREE,
						    &app.waits[i]);
		if (err) {
			fprintf(stderr, "%s: %s\n", argv[first + i], vfio_release_strerror(err));
			app.status = 2;
			goto out;
		}
	}
	loop_add_handle(&app.loop, vfio_release_fd(app.vr), app_on_fd, &app);
	/* The records read at creation may be the answer already. */
	app_check(&app);
	err = loop_run(&app.loop, now_ms() + (long long)(timeout_s * 1000));
	if (err == -ETIMEDOUT) {
		fprintf(stderr, "timed out: %d of %d free\n", app.done, app.count);
		app.status = 1;
	}
out:
	for (i = 0; app.waits && i < app.count; i++)
		vfio_release_wait_free(app.waits[i]);
	free(app.waits);
	free(app.reported);
	vfio_release_close(app.vr);
	return app.status;
}
