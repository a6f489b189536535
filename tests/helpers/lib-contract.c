// SPDX-License-Identifier: GPL-2.0
/*
 * lib-contract: drives libvfio-release's public API the way a long-lived
 * consumer does, for tests/guest/lib-contract.sh.
 *
 *   lib-contract abort-get DEVICE...
 *       Aborted dumps (the callback returns -ECANCELED at the first, then
 *       at the K-th record) each followed by GETs: every GET must return
 *       0 and the record of the device asked for. One line per step;
 *       exit 0 when every step was right, 1 otherwise.
 *   lib-contract two-waits DEV_FREE DEV_RELEASED [TIMEOUT_MS]
 *       One handle, two waits (DEV_FREE for free, DEV_RELEASED for
 *       released), one poll() loop on vfio_release_fd() that calls
 *       vfio_release_dispatch() and re-reads a wait that asks for it.
 *       Prints "ready" once both waits exist, "status A=.. B=.." whenever
 *       a status changes, "done DEVICE" as each wait completes. Exit 0
 *       when both are done, 1 on timeout, 3 when a device left vfio, 2 on
 *       an error.
 *   lib-contract get DEVICE | dump | subscribe | wait DEVICE
 *       One call; prints the record(s) or "ok", or on failure the error as
 *       "FUNCTION: MESSAGE (err=-N)" on stderr and exits 2.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vfio-release.h>

static int fail(const char *what, struct vfio_release *vr, int err)
{
	const char *kmsg = vr ? vfio_release_errmsg(vr) : NULL;

	fprintf(stderr, "%s: %s (err=%d)%s%s\n", what, vfio_release_strerror(err), err,
		kmsg ? " kernel: " : "", kmsg ? kmsg : "");
	return 2;
}

static uint64_t u64(const struct vfio_release_event *ev, enum vfio_release_attr attr)
{
	uint64_t v;

	return vfio_release_event_get_u64(ev, attr, &v) ? UINT64_MAX : v;
}

static void print_record(const char *prefix, const struct vfio_release_event *ev)
{
	printf("%s device=%s state=%s seq=%" PRIu64 " registration=%" PRIu64 "\n", prefix,
	       vfio_release_event_get_device(ev),
	       vfio_release_state_name(vfio_release_event_get_state(ev)),
	       u64(ev, VFIO_RELEASE_A_SEQ), u64(ev, VFIO_RELEASE_A_REGISTRATION));
}

/* ---- abort-get ---- */

struct abort_ctx {
	unsigned int calls, stop_at;
};

static int abort_cb(const struct vfio_release_event *ev, void *arg)
{
	struct abort_ctx *c = arg;

	(void)ev;
	return ++c->calls >= c->stop_at ? -ECANCELED : 0;
}

/* GET DEVICE: 0 when it answers with DEVICE's own record. */
static int get_matches(struct vfio_release *vr, const char *step, const char *device)
{
	struct vfio_release_event *rec = NULL;
	int err = vfio_release_get(vr, device, &rec);
	bool ok = !err && !strcmp(vfio_release_event_get_device(rec), device) &&
		  vfio_release_event_get_type(rec) == VFIO_RELEASE_CMD_GET_DEVICE;

	if (err)
		printf("%s get %s -> err=%d (%s)\n", step, device, err, vfio_release_strerror(err));
	else
		printf("%s get %s -> %s state=%s%s\n", step, device,
		       vfio_release_event_get_device(rec),
		       vfio_release_state_name(vfio_release_event_get_state(rec)),
		       ok ? "" : " WRONG");
	vfio_release_event_unref(rec);
	return ok ? 0 : 1;
}

static int cmd_abort_get(int n, char **devs)
{
	struct vfio_release *vr;
	unsigned int k;
	int err, total, bad = 0, i, r;
	char step[64];

	if (n < 2) {
		fprintf(stderr, "abort-get: two devices or more\n");
		return 2;
	}
	err = vfio_release_open(&vr);
	if (err)
		return fail("vfio_release_open", NULL, err);
	total = vfio_release_dump(vr, NULL, NULL);
	printf("dump records=%d\n", total);
	if (total < n) {
		fprintf(stderr, "dump: %d records, fewer than the %d devices given\n", total, n);
		vfio_release_close(vr);
		return total < 0 ? fail("vfio_release_dump", vr, total) : 1;
	}
	/* Stop at the first record, then at each later one; GET in turn. */
	for (k = 1; k <= (unsigned int)total; k++) {
		for (r = 0; r < n; r++) {
			struct abort_ctx c = { .stop_at = k };

			err = vfio_release_dump(vr, abort_cb, &c);
			snprintf(step, sizeof(step), "abort@%u round=%d dump=%d calls=%u", k, r, err,
				 c.calls);
			if (err != -ECANCELED || c.calls != k) {
				printf("%s WRONG: expected dump=%d calls=%u\n", step, -ECANCELED, k);
				bad++;
			}
			/* The device asked for first changes every round. */
			for (i = 0; i < n; i++)
				bad += get_matches(vr, step, devs[(r + i) % n]);
		}
		/* Beyond the first few stop points, one in eight is enough. */
		if (k >= 4)
			k += 7;
	}
	/* A full dump after all that is complete again. */
	err = vfio_release_dump(vr, NULL, NULL);
	printf("final dump records=%d\n", err);
	if (err != total)
		bad++;
	vfio_release_close(vr);
	printf("%s: %d wrong\n", bad ? "FAILED" : "ok", bad);
	return bad ? 1 : 0;
}

/* ---- two-waits ---- */

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static const char *status_name(enum vfio_release_wait_status s)
{
	switch (s) {
	case VFIO_RELEASE_WAIT_PENDING:
		return "pending";
	case VFIO_RELEASE_WAIT_DONE:
		return "done";
	case VFIO_RELEASE_WAIT_REREAD:
		return "reread";
	case VFIO_RELEASE_WAIT_GONE:
		return "gone";
	}
	return "?";
}

struct loop_ctx {
	unsigned int events, notices;
};

static int count_cb(const struct vfio_release_event *ev, void *arg)
{
	struct loop_ctx *c = arg;

	c->events++;
	if (vfio_release_event_get_notice(ev)) {
		c->notices++;
		printf("notice %s\n", vfio_release_notice_name(vfio_release_event_get_notice(ev)));
	}
	return 0;
}

static int cmd_two_waits(const char *a, const char *b, int timeout_ms)
{
	const char *devs[2] = { a, b };
	struct vfio_release_wait *w[2] = { NULL, NULL };
	enum vfio_release_wait_status last[2] = { -1, -1 }, st[2];
	struct loop_ctx ctx = { 0 };
	long long deadline = now_ms() + timeout_ms;
	struct vfio_release *vr;
	bool printed[2] = { false, false };
	int err, i, ret = 1, dispatched = 0;

	err = vfio_release_open(&vr);
	if (err)
		return fail("vfio_release_open", NULL, err);
	err = vfio_release_wait_new(vr, &devs[0], 1, VFIO_RELEASE_STATE_FREE, &w[0]);
	if (!err)
		err = vfio_release_wait_new(vr, &devs[1], 1, VFIO_RELEASE_STATE_RELEASED, &w[1]);
	if (err) {
		ret = fail("vfio_release_wait_new", vr, err);
		goto out;
	}
	printf("ready fd=%d\n", vfio_release_fd(vr));
	fflush(stdout);
	for (;;) {
		struct pollfd pfd = { .fd = vfio_release_fd(vr), .events = POLLIN };
		long long left = deadline - now_ms();
		bool stale = false;
		int n;

		for (i = 0; i < 2; i++) {
			st[i] = vfio_release_wait_status(w[i]);
			if (st[i] == VFIO_RELEASE_WAIT_REREAD) {
				err = vfio_release_wait_reread(vr, w[i]);
				/*
				 * Unloaded (the notice of its load comes on
				 * the fd), unloading or busy: still REREAD,
				 * try again in a second.
				 */
				if (err && err != -ENOPKG && err != -ESHUTDOWN && err != -EAGAIN) {
					ret = fail("vfio_release_wait_reread", vr, err);
					goto out;
				}
				if (err)
					printf("reread %s: err=%d\n", devs[i], err);
				st[i] = vfio_release_wait_status(w[i]);
				stale |= st[i] == VFIO_RELEASE_WAIT_REREAD;
			}
		}
		if (st[0] != last[0] || st[1] != last[1]) {
			printf("status %s=%s %s=%s\n", a, status_name(st[0]), b, status_name(st[1]));
			last[0] = st[0];
			last[1] = st[1];
		}
		for (i = 0; i < 2; i++) {
			if (st[i] == VFIO_RELEASE_WAIT_DONE && !printed[i]) {
				printf("done %s\n", devs[i]);
				printed[i] = true;
			}
		}
		fflush(stdout);
		if (st[0] == VFIO_RELEASE_WAIT_GONE || st[1] == VFIO_RELEASE_WAIT_GONE) {
			ret = 3;
			break;
		}
		if (st[0] == VFIO_RELEASE_WAIT_DONE && st[1] == VFIO_RELEASE_WAIT_DONE) {
			ret = 0;
			break;
		}
		if (left <= 0) {
			printf("timeout\n");
			ret = 1;
			break;
		}
		if (stale && left > 1000)
			left = 1000;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
			ret = fail("poll", NULL, -errno);
			break;
		}
		n = vfio_release_dispatch(vr, count_cb, &ctx);
		if (n < 0) {
			ret = fail("vfio_release_dispatch", vr, n);
			break;
		}
		dispatched += n;
	}
	printf("dispatched=%d delivered=%u notices=%u\n", dispatched, ctx.events, ctx.notices);
	/* dispatch's count is what it handed to the callback. */
	if (ret == 0 && dispatched != (int)ctx.events) {
		printf("dispatch count %d != callback calls %u\n", dispatched, ctx.events);
		ret = 1;
	}
out:
	vfio_release_wait_free(w[0]);
	vfio_release_wait_free(w[1]);
	vfio_release_close(vr);
	return ret;
}

/* ---- single calls ---- */

static int print_cb(const struct vfio_release_event *ev, void *arg)
{
	(void)arg;
	print_record("record", ev);
	return 0;
}

static int cmd_single(const char *what, const char *device)
{
	struct vfio_release_event *rec;
	struct vfio_release *vr;
	int err;

	err = vfio_release_open(&vr);
	if (err)
		return fail("vfio_release_open", NULL, err);
	if (!strcmp(what, "get")) {
		err = vfio_release_get(vr, device, &rec);
		if (!err) {
			print_record("record", rec);
			vfio_release_event_unref(rec);
		}
		what = "vfio_release_get";
	} else if (!strcmp(what, "dump")) {
		err = vfio_release_dump(vr, print_cb, NULL);
		if (err >= 0)
			err = 0;
		what = "vfio_release_dump";
	} else if (!strcmp(what, "subscribe")) {
		err = vfio_release_subscribe(vr);
		what = "vfio_release_subscribe";
	} else {
		err = vfio_release_wait(vr, &device, 1, VFIO_RELEASE_STATE_FREE, 1000);
		what = "vfio_release_wait";
	}
	if (err)
		err = fail(what, vr, err);
	else
		printf("ok\n");
	vfio_release_close(vr);
	return err;
}

static int usage(void)
{
	fprintf(stderr, "usage: lib-contract abort-get DEVICE DEVICE...\n"
		"       lib-contract two-waits DEV_FREE DEV_RELEASED [TIMEOUT_MS]\n"
		"       lib-contract get DEVICE | dump | subscribe | wait DEVICE\n");
	return 2;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "abort-get"))
		return cmd_abort_get(argc - 2, argv + 2);
	if (!strcmp(argv[1], "two-waits") && (argc == 4 || argc == 5))
		return cmd_two_waits(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 60000);
	if ((!strcmp(argv[1], "get") || !strcmp(argv[1], "wait")) && argc == 3)
		return cmd_single(argv[1], argv[2]);
	if ((!strcmp(argv[1], "dump") || !strcmp(argv[1], "subscribe")) && argc == 2)
		return cmd_single(argv[1], NULL);
	return usage();
}
