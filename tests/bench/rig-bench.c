// SPDX-License-Identifier: GPL-2.0
/*
 * rig-bench: the guest side of the rig benchmarks (tests/bench/rig.sh runs
 * it through tests/bench/guest-rig-bench.sh). Figures, never a verdict:
 * it exits 0 when it produced its figures, 2 when it could not run.
 *
 *   rig-bench cycle -d ADDR -n N
 *
 *     N open/close cycles of ADDR through the VFIO group API (container,
 *     group, VFIO_GROUP_SET_CONTAINER, VFIO_SET_IOMMU, device fd; then
 *     device, group and container closed), after one cycle not counted.
 *     Prints "cycle n=N ns_per_cycle=F median_ns=N min_ns=N max_ns=N"
 *     (ns_per_cycle: the mean).
 *
 *   rig-bench stop -m MODE [-H HOST] [-V VFIO] [-c CLI] [-l MS] ADDR:DELAY_MS...
 *
 *     A VM stop with every ADDR passed through: binds each ADDR to VFIO
 *     (default vfio_pci_slow) with close_delay_ms DELAY_MS, forks one
 *     holder that opens them all in one container as QEMU does (per
 *     device: its group, then its device fd), then connects a socket to
 *     the manager (the monitor connection, opened after the VFIO fds),
 *     and SIGKILLs it. The manager acts on EOF of that socket (as libvirt
 *     does on its monitor's EOF), with the closes still pending:
 *       reattach  `CLI reattach ADDR --driver HOST` for all, in parallel
 *       wait      `CLI wait ADDR --state free`, then the rebind, in parallel
 *       libvirt   per device in turn: a fixed wait of -l MS (2000), the rebind
 *       poll      re-open /dev/vfio/GROUP every 100 ms until it stops
 *                 failing with EBUSY, then the rebind, in parallel
 *       naive     the rebind at once, in parallel
 *     The rebind: driver_override=HOST, unbind from VFIO, bind to HOST.
 *     One line per device, then a summary, "key=value":
 *       dev ADDR delay_ms=N done_ms=F released_ms=F free_ms=F unbind_ms=F
 *           slow_unbind=0|1 blocked=0|1 bind=ok|ERR
 *           gate_rc=N final=DRIVER released=N reset=NAME ok=0|1
 *       stop mode=M devices=N all_ms=F signal_ms=F reap_ms=F ok=N
 *           slow_unbind=N kernel_blocked=N failed=N reset_skipped=N
 *     done_ms from the kill (released_ms, free_ms: the module's timestamps
 *     of the device's first release and free since); slow_unbind: the
 *     unbind took at least 100 ms (a figure: a loaded host stretches it);
 *     blocked, kernel_blocked: the kernel logged that the unbind waited
 *     for the device's user (/dev/kmsg: exact); reset: the module's word on the final
 *     close (its DEVICE_RELEASED event); ok: on HOST, the kernel saw no
 *     unbind wait for the device, the gate and the bind did not fail.
 *
 *   rig-bench churn -t MS [-p PACE_MS] ADDR...
 *
 *     One process per ADDR cycling it open/close (as "cycle") for MS
 *     milliseconds, while this process consumes the module's events
 *     through the library (vfio_release_subscribe, poll,
 *     vfio_release_dispatch); with -p it dispatches only every PACE_MS
 *     (a busy consumer). Prints "churn procs=N ms=F cycles=N cycles_per_s=F
 *     events=N events_per_s=F produced=N lost=N overflow=N resync=N
 *     resync_lost=N cpu_ms=F": produced from the events' sequence
 *     numbers, overflow the library's overflow notices, resync the
 *     module's own RESYNC events.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "vfio-release.h"
#include "../helpers/helper-util.h"
#include "../helpers/vfio-group.h"

extern char **environ;

#define MAX_DEVS 16

static double ms_between(unsigned long long a, unsigned long long b)
{
	return ((double)b - (double)a) / 1e6;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* -errno of the write, 0 when it was taken whole. */
static int sysfs_write(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(text))
		err = -EIO;
	close(fd);
	return err;
}

static void driver_of(const char *addr, char *buf, size_t size)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/driver", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(buf, size, "none");
		return;
	}
	link[n] = '\0';
	snprintf(buf, size, "%.63s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
}

static bool bound_to(const char *addr, const char *driver)
{
	char cur[64];

	driver_of(addr, cur, sizeof(cur));
	return !strcmp(cur, driver);
}

/* One full open of addr: container, group, IOMMU, device. */
struct vfio_set {
	int container, ngroups, ndevs;
	int group[MAX_DEVS], device[MAX_DEVS];
};

static int vfio_open_into(struct vfio_set *s, const char *addr, const char **what)
{
	int id = vfio_group_of(addr, what), g, d;

	if (id < 0)
		return -1;
	g = vfio_group_attach(s->container, id, what);
	if (g < 0)
		return -1;
	s->group[s->ngroups++] = g;
	if (s->ngroups == 1 && ioctl(s->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
		*what = "VFIO_SET_IOMMU";
		return -1;
	}
	d = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (d < 0) {
		*what = "VFIO_GROUP_GET_DEVICE_FD";
		return -1;
	}
	s->device[s->ndevs++] = d;
	return 0;
}

static int vfio_container(const char **what)
{
	int c = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);

	if (c < 0)
		*what = "open /dev/vfio/vfio";
	return c;
}

static void vfio_close_set(struct vfio_set *s)
{
	int i;

	for (i = s->ndevs - 1; i >= 0; i--)
		close(s->device[i]);
	for (i = s->ngroups - 1; i >= 0; i--)
		close(s->group[i]);
	close(s->container);
	s->ndevs = s->ngroups = 0;
}

/* One open/close cycle; -1 with errno and *what on a failure. */
static int one_cycle(const char *addr, const char **what)
{
	struct vfio_set s = { .container = vfio_container(what) };

	if (s.container < 0)
		return -1;
	if (vfio_open_into(&s, addr, what)) {
		int err = errno;

		vfio_close_set(&s);
		errno = err;
		return -1;
	}
	vfio_close_set(&s);
	return 0;
}

/* --- cycle --- */

static int cmp_ull(const void *a, const void *b)
{
	unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;

	return (x > y) - (x < y);
}

static int cmd_cycle(int argc, char **argv)
{
	const char *addr = NULL, *what = "";
	unsigned long long t0, t, total = 0, *each;
	long n = 100, i;
	int opt;

	while ((opt = getopt(argc, argv, "d:n:")) != -1) {
		switch (opt) {
		case 'd': addr = optarg; break;
		case 'n': n = atol(optarg); break;
		default: goto usage;
		}
	}
	if (!addr || n < 1)
		goto usage;
	each = calloc(n, sizeof(*each));
	if (!each)
		fail("calloc");
	if (one_cycle(addr, &what))
		fail("%s: %s", addr, what);
	for (i = 0; i < n; i++) {
		t0 = now_ns();
		if (one_cycle(addr, &what))
			fail("%s: cycle %ld: %s", addr, i, what);
		t = now_ns() - t0;
		total += t;
		each[i] = t;
	}
	qsort(each, n, sizeof(*each), cmp_ull);
	printf("cycle n=%ld ns_per_cycle=%.0f median_ns=%llu min_ns=%llu max_ns=%llu\n", n,
	       (double)total / n, each[n / 2], each[0], each[n - 1]);
	free(each);
	return 0;
usage:
	fprintf(stderr, "usage: rig-bench cycle -d ADDR -n N\n");
	return 2;
}

/* --- stop --- */

enum mode { M_REATTACH, M_WAIT, M_LIBVIRT, M_POLL, M_NAIVE };
static const char *const mode_names[] = { "reattach", "wait", "libvirt", "poll", "naive" };

struct dev {
	char addr[32];
	long delay_ms;
	int group;
	/* results */
	unsigned long long done_ns;
	double unbind_ms;
	int bind_err;
	int gate_rc;
	bool rebound;
	char final[64];
	int released;
	int reset;
	uint64_t released_ns, free_ns;	/* the module's timestamps, 0: none */
	bool kernel_blocked;
};

static struct dev devs[MAX_DEVS];
static int ndevs;
static const char *host_driver = "e1000e";
static const char *vfio_driver = "vfio_pci_slow";
static const char *cli = "vfio-release";
static long libvirt_wait_ms = 2000;
static enum mode mode;
static unsigned long long t_kill;

static int dev_attr(const struct dev *d, const char *leaf, const char *text)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/%s", d->addr, leaf);
	return sysfs_write(path, text);
}

static bool wait_bound(const char *addr, const char *driver, long ms)
{
	for (; ms > 0; ms -= 10) {
		if (bound_to(addr, driver))
			return true;
		sleep_ms(10);
	}
	return bound_to(addr, driver);
}

/* On VFIO with the delay, its group node there: or fail the run. */
static void bind_vfio(struct dev *d)
{
	char cur[64], path[64], text[32];
	int i;

	driver_of(d->addr, cur, sizeof(cur));
	if (strcmp(cur, vfio_driver)) {
		if (dev_attr(d, "driver_override", vfio_driver))
			fail("%s: driver_override", d->addr);
		if (strcmp(cur, "none")) {
			char unbind[PATH_MAX];

			snprintf(unbind, sizeof(unbind), "/sys/bus/pci/drivers/%s/unbind", cur);
			if ((errno = -sysfs_write(unbind, d->addr)))
				fail("%s: unbind from %s", d->addr, cur);
		}
		sysfs_write("/sys/bus/pci/drivers_probe", d->addr);
		if (!wait_bound(d->addr, vfio_driver, 10000)) {
			errno = ENODEV;
			fail("%s: %s did not take it", d->addr, vfio_driver);
		}
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", d->group);
	for (i = 0; i < 1000 && access(path, F_OK); i++)
		sleep_ms(10);
	snprintf(text, sizeof(text), "%ld", d->delay_ms);
	if ((errno = -dev_attr(d, "close_delay_ms", text)))
		fail("%s: close_delay_ms", d->addr);
	if ((errno = -dev_attr(d, "skip_reset", "0")))
		fail("%s: skip_reset", d->addr);
}

/* The naive rebind: override, unbind (may block), bind. */
static void rebind(struct dev *d)
{
	char path[PATH_MAX];
	unsigned long long t0;

	d->rebound = true;
	dev_attr(d, "driver_override", host_driver);
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/unbind", vfio_driver);
	t0 = now_ns();
	sysfs_write(path, d->addr);
	d->unbind_ms = ms_between(t0, now_ns());
	snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s/bind", host_driver);
	d->bind_err = sysfs_write(path, d->addr);
}

static int run_cli(char *const argv[])
{
	pid_t pid;
	int st, fd;
	posix_spawn_file_actions_t fa;

	posix_spawn_file_actions_init(&fa);
	fd = open("/dev/null", O_WRONLY);
	if (fd >= 0) {
		posix_spawn_file_actions_adddup2(&fa, fd, 1);
		posix_spawn_file_actions_adddup2(&fa, fd, 2);
	}
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		if (fd >= 0)
			close(fd);
		return 127;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (fd >= 0)
		close(fd);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 127;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void *manage_one(void *arg)
{
	struct dev *d = arg;
	char path[64];
	int fd;

	switch (mode) {
	case M_REATTACH: {
		char *argv[] = { (char *)cli, "reattach", d->addr, "--driver",
				 (char *)host_driver, "--timeout", "60", NULL };

		d->gate_rc = run_cli(argv);
		break;
	}
	case M_WAIT: {
		char *argv[] = { (char *)cli, "wait", d->addr, "--state", "free",
				 "--timeout", "60", NULL };

		d->gate_rc = run_cli(argv);
		if (!d->gate_rc)
			rebind(d);
		break;
	}
	case M_POLL:
		snprintf(path, sizeof(path), "/dev/vfio/%d", d->group);
		for (;;) {
			fd = open(path, O_RDWR | O_CLOEXEC);
			if (fd >= 0) {
				close(fd);
				break;
			}
			if (errno != EBUSY) {
				d->gate_rc = errno;
				break;
			}
			sleep_ms(100);
		}
		rebind(d);
		break;
	case M_NAIVE:
		rebind(d);
		break;
	case M_LIBVIRT:
		break;
	}
	d->done_ns = now_ns();
	return NULL;
}

static int kmsg_fd = -1;

static void kmsg_scan(void)
{
	char rec[2048], needle[64];
	ssize_t n;
	int i;

	if (kmsg_fd < 0)
		return;
	for (;;) {
		n = read(kmsg_fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (!strstr(rec, "blocked until"))
			continue;
		for (i = 0; i < ndevs; i++) {
			snprintf(needle, sizeof(needle), " %.31s: ", devs[i].addr);
			if (strstr(rec, needle))
				devs[i].kernel_blocked = true;
		}
	}
}

static int on_release_event(const struct vfio_release_event *ev, void *arg)
{
	const char *name = vfio_release_event_get_device(ev);
	uint64_t reset = 0;
	int i;

	enum vfio_release_cmd type = vfio_release_event_get_type(ev);
	uint64_t ts = 0;

	(void)arg;
	if (type != VFIO_RELEASE_CMD_DEVICE_RELEASED && type != VFIO_RELEASE_CMD_DEVICE_FREE)
		return 0;
	vfio_release_event_get_u64(ev, VFIO_RELEASE_A_TIMESTAMP_NS, &ts);
	for (i = 0; i < ndevs; i++) {
		if (strcmp(devs[i].addr, name))
			continue;
		if (type == VFIO_RELEASE_CMD_DEVICE_FREE) {
			if (!devs[i].free_ns)
				devs[i].free_ns = ts;
			continue;
		}
		devs[i].released++;
		if (!devs[i].released_ns)
			devs[i].released_ns = ts;
		if (!vfio_release_event_get_u64(ev, VFIO_RELEASE_A_RESET, &reset))
			devs[i].reset = (int)reset;
	}
	return 0;
}

/* The holder: every device in one container, then the monitor socket. */
static void holder(const struct sockaddr_un *sa, socklen_t salen, int listen_fd)
{
	struct vfio_set s = { 0 };
	const char *what = "";
	int i, sk;

	close(listen_fd);
	s.container = vfio_container(&what);
	if (s.container < 0)
		fail("holder: %s", what);
	for (i = 0; i < ndevs; i++)
		if (vfio_open_into(&s, devs[i].addr, &what))
			fail("holder: %s: %s", devs[i].addr, what);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (sk < 0 || connect(sk, (const struct sockaddr *)sa, salen))
		fail("holder: connect");
	if (write(sk, "R", 1) != 1)
		fail("holder: write");
	for (;;)
		pause();
}

static int cmd_stop(int argc, char **argv)
{
	struct vfio_release *vr = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	pthread_t th[MAX_DEVS];
	unsigned long long t_sig, t_reap = 0, last = 0;
	int opt, i, lfd, cfd, st, ok = 0, blocked = 0, kblocked = 0, failed = 0, skipped = 0;
	const char *what = "";
	pid_t pid;
	char c;

	while ((opt = getopt(argc, argv, "m:H:V:c:l:")) != -1) {
		switch (opt) {
		case 'm':
			for (i = 0; i < 5 && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == 5)
				goto usage;
			mode = i;
			break;
		case 'H': host_driver = optarg; break;
		case 'V': vfio_driver = optarg; break;
		case 'c': cli = optarg; break;
		case 'l': libvirt_wait_ms = atol(optarg); break;
		default: goto usage;
		}
	}
	for (i = optind; i < argc && ndevs < MAX_DEVS; i++) {
		struct dev *d = &devs[ndevs++];
		/* "0000:05:00.0:250": the last colon separates the delay. */
		char *colon = strrchr(argv[i], ':');

		if (!colon || !strchr(argv[i], '.') || strchr(colon, '.'))
			goto usage;
		snprintf(d->addr, sizeof(d->addr), "%.*s", (int)(colon - argv[i]), argv[i]);
		d->delay_ms = atol(colon + 1);
		d->group = vfio_group_of(d->addr, &what);
		if (d->group < 0)
			fail("%s: %s", d->addr, what);
		d->reset = -1;
	}
	if (!ndevs)
		goto usage;
	for (i = 0; i < ndevs; i++)
		bind_vfio(&devs[i]);

	/* The kernel's words from now on, and the module's events. */
	kmsg_fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (kmsg_fd >= 0)
		lseek(kmsg_fd, 0, SEEK_END);
	if (vfio_release_open(&vr) || vfio_release_subscribe(vr)) {
		vfio_release_close(vr);
		vr = NULL;
	}

	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1, "rig-bench-%d", getpid());
	salen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(sa.sun_path + 1);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, salen) || listen(lfd, 1))
		fail("monitor socket");
	pid = fork();
	if (pid < 0)
		fail("fork");
	if (!pid)
		holder(&sa, salen, lfd);
	cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0 || read(cfd, &c, 1) != 1)
		fail("the holder did not get ready");
	close(lfd);
	/* The device files are all open: let the module see it. */
	sleep_ms(300);

	t_kill = now_ns();
	kill(pid, SIGKILL);
	while (read(cfd, &c, 1) > 0)
		;
	t_sig = now_ns();
	if (mode == M_LIBVIRT) {
		for (i = 0; i < ndevs; i++) {
			sleep_ms(libvirt_wait_ms);
			rebind(&devs[i]);
			devs[i].done_ns = now_ns();
		}
	} else {
		for (i = 0; i < ndevs; i++)
			pthread_create(&th[i], NULL, manage_one, &devs[i]);
		for (i = 0; i < ndevs; i++)
			pthread_join(th[i], NULL);
	}
	if (waitpid(pid, &st, 0) == pid)
		t_reap = now_ns();
	kmsg_scan();
	if (vr) {
		/* Its events are all there by now; read them to the end. */
		while (vfio_release_dispatch(vr, on_release_event, NULL) > 0)
			;
		vfio_release_close(vr);
	}
	for (i = 0; i < ndevs; i++) {
		struct dev *d = &devs[i];
		bool dok, dblocked = d->rebound && d->unbind_ms >= 100;

		/* The bind may come back later than the write (an async probe). */
		wait_bound(d->addr, host_driver, 100);
		driver_of(d->addr, d->final, sizeof(d->final));
		dok = !strcmp(d->final, host_driver) && !d->gate_rc && !d->bind_err &&
		      !d->kernel_blocked;
		ok += dok;
		blocked += dblocked;
		kblocked += d->kernel_blocked;
		failed += !!d->bind_err || !!d->gate_rc || strcmp(d->final, host_driver);
		skipped += d->reset == VFIO_RELEASE_RESET_SKIPPED;
		if (d->done_ns > last)
			last = d->done_ns;
		printf("dev %s delay_ms=%ld done_ms=%.1f released_ms=%.1f free_ms=%.1f unbind_ms=%.1f slow_unbind=%d blocked=%d bind=%s gate_rc=%d final=%s released=%d reset=%s ok=%d\n",
		       d->addr, d->delay_ms, ms_between(t_kill, d->done_ns),
		       d->released_ns ? ms_between(t_kill, d->released_ns) : -1.0,
		       d->free_ns ? ms_between(t_kill, d->free_ns) : -1.0, d->unbind_ms,
		       dblocked, d->kernel_blocked, d->bind_err ? strerror(-d->bind_err) : "ok",
		       d->gate_rc, d->final, d->released,
		       d->reset < 0 ? "-" : vfio_release_reset_name(d->reset), dok);
	}
	printf("stop mode=%s devices=%d all_ms=%.1f signal_ms=%.1f reap_ms=%.1f ok=%d slow_unbind=%d kernel_blocked=%d failed=%d reset_skipped=%d events=%d\n",
	       mode_names[mode], ndevs, ms_between(t_kill, last), ms_between(t_kill, t_sig),
	       t_reap ? ms_between(t_kill, t_reap) : -1.0, ok, blocked, kblocked, failed, skipped,
	       vr != NULL);
	return 0;
usage:
	fprintf(stderr, "usage: rig-bench stop -m reattach|wait|libvirt|poll|naive [-H HOST] [-V VFIO] [-c CLI] [-l MS] ADDR:DELAY_MS...\n");
	return 2;
}

/* --- churn --- */

struct churn_count {
	unsigned long events, overflow, resync, resync_lost;
	uint64_t min_seq, max_seq, instance;
	bool have_seq;
};

static int on_churn_event(const struct vfio_release_event *ev, void *arg)
{
	struct churn_count *c = arg;
	uint64_t seq, v;

	if (vfio_release_event_get_notice(ev) == VFIO_RELEASE_NOTICE_OVERFLOW) {
		c->overflow++;
		return 0;
	}
	if (vfio_release_event_get_notice(ev) != VFIO_RELEASE_NOTICE_NONE)
		return 0;
	c->events++;
	if (vfio_release_event_get_type(ev) == VFIO_RELEASE_CMD_RESYNC) {
		c->resync++;
		if (!vfio_release_event_get_u64(ev, VFIO_RELEASE_A_LOST, &v))
			c->resync_lost = v;
	}
	if (!vfio_release_event_get_u64(ev, VFIO_RELEASE_A_SEQ, &seq)) {
		if (!c->have_seq || seq < c->min_seq)
			c->min_seq = seq;
		if (!c->have_seq || seq > c->max_seq)
			c->max_seq = seq;
		c->have_seq = true;
	}
	return 0;
}

static int cmd_churn(int argc, char **argv)
{
	struct churn_count cnt = { 0 };
	struct vfio_release *vr;
	struct rusage ru0, ru1;
	unsigned long long t0, t_end, t_stop;
	unsigned long cycles = 0, fails = 0;
	long ms = 5000, pace = 0;
	int opt, i, n, err, pipes[MAX_DEVS];
	pid_t pids[MAX_DEVS];

	while ((opt = getopt(argc, argv, "t:p:")) != -1) {
		switch (opt) {
		case 't': ms = atol(optarg); break;
		case 'p': pace = atol(optarg); break;
		default: goto usage;
		}
	}
	n = argc - optind;
	if (n < 1 || n > MAX_DEVS || ms < 1)
		goto usage;
	err = vfio_release_open(&vr);
	if (!err)
		err = vfio_release_subscribe(vr);
	if (err) {
		fprintf(stderr, "rig-bench: the library: %s\n", vfio_release_strerror(err));
		return 2;
	}
	getrusage(RUSAGE_SELF, &ru0);
	t0 = now_ns();
	t_end = t0 + ms * 1000000ULL;
	for (i = 0; i < n; i++) {
		int p[2];

		if (pipe(p))
			fail("pipe");
		pids[i] = fork();
		if (pids[i] < 0)
			fail("fork");
		if (!pids[i]) {
			const char *what = "";
			unsigned long k = 0, f = 0;
			char line[64];

			close(p[0]);
			while (now_ns() < t_end) {
				if (one_cycle(argv[optind + i], &what))
					f++;
				else
					k++;
			}
			snprintf(line, sizeof(line), "%lu %lu\n", k, f);
			if (write(p[1], line, strlen(line)) < 0)
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		pipes[i] = p[0];
	}
	/* Consume until the churn ends, and half a second more. */
	for (;;) {
		unsigned long long now = now_ns();
		struct pollfd pfd = { .fd = vfio_release_fd(vr), .events = POLLIN };

		if (now >= t_end + 500000000ULL)
			break;
		if (pace)
			sleep_ms(pace);
		else if (poll(&pfd, 1, 100) <= 0)
			continue;
		while ((err = vfio_release_dispatch(vr, on_churn_event, &cnt)) > 0)
			if (!pace)
				break;
		if (err < 0 && err != -EAGAIN) {
			fprintf(stderr, "rig-bench: dispatch: %s\n", vfio_release_strerror(err));
			break;
		}
	}
	t_stop = now_ns();
	getrusage(RUSAGE_SELF, &ru1);
	for (i = 0; i < n; i++) {
		char line[64] = "";
		unsigned long k = 0, f = 0;
		ssize_t r = read(pipes[i], line, sizeof(line) - 1);

		if (r > 0 && sscanf(line, "%lu %lu", &k, &f) == 2) {
			cycles += k;
			fails += f;
		}
		close(pipes[i]);
		waitpid(pids[i], NULL, 0);
	}
	vfio_release_close(vr);
	{
		double secs = ms / 1000.0;
		double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
			      ru0.ru_stime.tv_sec) * 1e3 +
			     (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
			      ru0.ru_stime.tv_usec) / 1e3;
		uint64_t produced = cnt.have_seq ? cnt.max_seq - cnt.min_seq + 1 : 0;

		printf("churn procs=%d pace_ms=%ld ms=%ld consumed_ms=%.0f cycles=%lu cycle_fails=%lu cycles_per_s=%.1f events=%lu events_per_s=%.1f produced=%llu lost=%lld overflow=%lu resync=%lu resync_lost=%lu cpu_ms=%.1f\n",
		       n, pace, ms, ms_between(t0, t_stop), cycles, fails, cycles / secs,
		       cnt.events, cnt.events / secs, (unsigned long long)produced,
		       (long long)produced - (long long)cnt.events, cnt.overflow, cnt.resync,
		       cnt.resync_lost, cpu);
	}
	return 0;
usage:
	fprintf(stderr, "usage: rig-bench churn -t MS [-p PACE_MS] ADDR...\n");
	return 2;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		goto usage;
	if (!strcmp(argv[1], "cycle"))
		return cmd_cycle(argc - 1, argv + 1);
	if (!strcmp(argv[1], "stop"))
		return cmd_stop(argc - 1, argv + 1);
	if (!strcmp(argv[1], "churn"))
		return cmd_churn(argc - 1, argv + 1);
usage:
	fprintf(stderr, "usage: rig-bench cycle|stop|churn ...\n");
	return 2;
}
