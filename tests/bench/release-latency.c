// SPDX-License-Identifier: GPL-2.0
/*
 * release-latency: how fast does a waiter learn that a VFIO device was
 * released, compared with the eventfd wake-up floor and with today's
 * 100 ms polling loops? A benchmark: it prints figures, it judges nothing.
 *
 *   release-latency -d ADDR [options]
 *
 * Processes (none pinned; all at the default nice level):
 *
 *   holder  (this process) opens and closes ADDR through the VFIO
 *           container/group API, writes the eventfd, and drives the others;
 *   waiter  subscribes with libvfio-release and sleeps in poll() on
 *           vfio_release_fd() and on the eventfd; for each wake-up it takes
 *           CLOCK_MONOTONIC once it holds the decoded event (in the dispatch
 *           callback) or the eventfd value, and reports to the holder;
 *   pollers one per polling method, sleeping until told to poll:
 *           ebusy    open /dev/vfio/GROUP every period until it stops failing
 *                    with EBUSY (then close it at once);
 *           procscan scan /proc/PID/fd/ for /dev/vfio/GROUP every period
 *                    (in C, matching st_rdev, as fuser and lsof do);
 *           fuser    run psmisc's `fuser -s /dev/vfio/GROUP` every period
 *                    (posix_spawn, no shell).
 *
 * Phase 1, interleaved so both see the same noise: per cycle, E eventfd
 * samples (holder stamps CLOCK_MONOTONIC, writes the stamp as the eventfd
 * value; the waiter wakes, reads it, stamps again), then one VFIO
 * open/close cycle (close device, group, container; the waiter stamps the
 * DEVICE_RELEASED and DEVICE_FREE events against their timestamp_ns). The
 * holder waits for the waiter's report, then a random 5-15 ms gap, so the
 * waiter is asleep at every measured moment. With -b, E more eventfd
 * samples per cycle where the holder stays busy (spinning) for BUSY_US
 * after its write, as the closing task stays busy in close() after
 * close_device returned ("eventfd-busy").
 *
 * Phase 2, per polling method and cycle: the holder opens the device, tells
 * the poller to start, holds for a random 1.5-3.5 periods (so the release
 * falls at a uniformly random phase of the poll ticks), closes everything.
 * The latency is from the same reference as phase 1, the DEVICE_RELEASED
 * timestamp_ns (the kernel's CLOCK_MONOTONIC when close_device returned),
 * to the poller's CLOCK_MONOTONIC once its check said "free". Latencies
 * from the holder's own mark after its last close() are printed too.
 *
 * Phase 3: with the device held, the waiter and all pollers wait together
 * for the idle window; the holder reads each one's /proc/PID/schedstat
 * (on-CPU ns, times scheduled) and /proc/PID/stat (utime, stime, cutime,
 * cstime in clock ticks: fuser's CPU lands in its poller's cutime/cstime)
 * before and after.
 *
 * Output (stdout), one line per figure, all times in microseconds:
 *   lat NAME n=N lost=L p50=.. p99=.. mean=.. min=.. max=..
 *   idle NAME ms=W cpu_us=.. self_us=.. children_us=.. ticks=.. wakeups=..
 *   ref NAME ... (latencies against other reference moments)
 *   info ...
 * With -r, every sample goes to stderr as "sample NAME I LAT_NS FROM TO"
 * (FROM and TO in CLOCK_MONOTONIC ns, to line up with a trace taken with
 * trace_clock mono).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <linux/vfio.h>

#include "../helpers/vfio-group.h"
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <vfio-release.h>

extern char **environ;

/* Messages between processes: fixed size, well below PIPE_BUF (atomic). */
enum msg_kind {
	M_READY = 1,	/* waiter or poller is set up */
	M_EFD,		/* a = value written (holder's stamp), b = waiter's stamp */
	M_RELEASED,	/* a = timestamp_ns, b = waiter's stamp, c = generation */
	M_FREE,		/* same for DEVICE_FREE */
	M_RESYNC,	/* a = lost, c = the library's notice (0: the module's resync) */
	M_NOTICE,	/* poller saw "free": a = stamp, b = checks, c = overruns */
	M_IDLE_DONE,	/* a = checks, b = busy answers */
	M_ERROR,	/* a = errno */
	/* holder -> poller */
	C_CYCLE,
	C_IDLE,
	C_STOP,
};

struct msg {
	uint32_t kind;
	uint32_t pad;
	uint64_t a, b, c;
};

enum poll_method { P_EBUSY, P_PROCSCAN, P_FUSER, P_COUNT };

static const char *const method_name[P_COUNT] = {
	[P_EBUSY] = "ebusy", [P_PROCSCAN] = "procscan", [P_FUSER] = "fuser",
};

struct poller {
	pid_t pid;
	int ctl;	/* holder writes commands */
	int res;	/* holder reads results */
};

static struct {
	const char *dev;
	int group;
	char group_path[64];
	int efd_per_cycle;
	int cycles;
	int poll_cycles;
	int warmup;
	long period_ms;
	long idle_ms;
	uint64_t seed;
	const char *fuser;
	bool raw;
	bool skip_poll;
	long busy_us;
} opt = {
	.efd_per_cycle = 2,
	.cycles = 100,
	.poll_cycles = 20,
	.warmup = 3,
	.period_ms = 100,
	.idle_ms = 5000,
	.seed = 1,
	.fuser = "/usr/bin/fuser",
};

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "release-latency[%d]: ", (int)getpid());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err));
	fputc('\n', stderr);
	exit(2);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { t / 1000000000ULL, t % 1000000000ULL };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void sleep_ns(uint64_t ns)
{
	sleep_until(now_ns() + ns);
}

/* xorshift64*: reproducible gaps and hold times for a given seed. */
static uint64_t rng_state;

static double rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 2685821657736338717ULL) >> 11) / (double)(1ULL << 53);
}

static void send_msg(int fd, uint32_t kind, uint64_t a, uint64_t b, uint64_t c)
{
	struct msg m = { .kind = kind, .a = a, .b = b, .c = c };

	if (write(fd, &m, sizeof(m)) != sizeof(m))
		die("write message %u", kind);
}

/* 1: got one; 0: timed out; exits on EOF or error. */
static int recv_msg(int fd, struct msg *m, int timeout_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t n;
	int r;

	do
		r = poll(&p, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("poll");
	if (r == 0)
		return 0;
	n = read(fd, m, sizeof(*m));
	if (n != sizeof(*m)) {
		if (n >= 0)
			errno = EPIPE;
		die("read message");
	}
	if (m->kind == M_ERROR) {
		errno = (int)m->a;
		die("a child failed");
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* The waiter                                                           */

struct waiter_ctx {
	int out;
};

/* An integer attribute, or 0 when the event does not carry it. */
static uint64_t ev_u64(const struct vfio_release_event *ev, enum vfio_release_attr attr)
{
	uint64_t v;

	return vfio_release_event_get_u64(ev, attr, &v) ? 0 : v;
}

static int on_event(const struct vfio_release_event *ev, void *arg)
{
	uint64_t t = now_ns();	/* the decoded event is in hand */
	struct waiter_ctx *ctx = arg;
	enum vfio_release_cmd type = vfio_release_event_get_type(ev);
	enum vfio_release_notice notice = vfio_release_event_get_notice(ev);

	/* The module's resync, or the library's: a socket overflow, a reload. */
	if (type == VFIO_RELEASE_CMD_RESYNC || notice != VFIO_RELEASE_NOTICE_NONE) {
		send_msg(ctx->out, M_RESYNC, ev_u64(ev, VFIO_RELEASE_A_LOST), t, notice);
		return 0;
	}
	if (strcmp(vfio_release_event_get_device(ev), opt.dev))
		return 0;
	if (type == VFIO_RELEASE_CMD_DEVICE_RELEASED)
		send_msg(ctx->out, M_RELEASED, ev_u64(ev, VFIO_RELEASE_A_TIMESTAMP_NS), t,
			 ev_u64(ev, VFIO_RELEASE_A_GENERATION));
	else if (type == VFIO_RELEASE_CMD_DEVICE_FREE)
		send_msg(ctx->out, M_FREE, ev_u64(ev, VFIO_RELEASE_A_TIMESTAMP_NS), t,
			 ev_u64(ev, VFIO_RELEASE_A_GENERATION));
	return 0;
}

static void __attribute__((noreturn)) waiter(int efd, int ctl, int out)
{
	struct waiter_ctx ctx = { .out = out };
	struct vfio_release *vr;
	struct pollfd p[3];
	int err;

	err = vfio_release_open(&vr);
	if (!err)
		err = vfio_release_subscribe(vr);
	if (err) {
		fprintf(stderr, "waiter: %s\n", vfio_release_strerror(err));
		send_msg(out, M_ERROR, -err, 0, 0);
		exit(2);
	}
	send_msg(out, M_READY, 0, 0, 0);

	p[0] = (struct pollfd){ .fd = vfio_release_fd(vr), .events = POLLIN };
	p[1] = (struct pollfd){ .fd = efd, .events = POLLIN };
	p[2] = (struct pollfd){ .fd = ctl, .events = POLLIN };
	for (;;) {
		if (poll(p, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("waiter: poll");
		}
		if (p[1].revents & POLLIN) {
			uint64_t v;

			if (read(efd, &v, sizeof(v)) == sizeof(v))
				send_msg(out, M_EFD, v, now_ns(), 0);
		}
		if (p[0].revents & POLLIN) {
			err = vfio_release_dispatch(vr, on_event, &ctx);
			if (err < 0) {
				fprintf(stderr, "waiter: dispatch: %s\n",
					vfio_release_strerror(err));
				send_msg(out, M_ERROR, -err, 0, 0);
				exit(2);
			}
		}
		if (p[2].revents)	/* the holder closed its end: done */
			break;
	}
	vfio_release_close(vr);
	exit(0);
}

/* ------------------------------------------------------------------ */
/* The pollers                                                          */

static dev_t group_rdev;

/* 1: the group is free, 0: busy, -errno on an unexpected error. */
static int check_ebusy(void)
{
	int fd = open(opt.group_path, O_RDWR | O_CLOEXEC);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return errno == EBUSY ? 0 : -errno;
}

static bool fd_dir_has_group(const char *pid)
{
	char path[300];
	struct dirent *e;
	struct stat st;
	bool found = false;
	int dfd;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return false;	/* gone, or a kernel thread */
	dfd = dirfd(d);
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dfd, e->d_name, &st, 0) == 0 &&
		    S_ISCHR(st.st_mode) && st.st_rdev == group_rdev)
			found = true;
	}
	closedir(d);
	return found;
}

static int check_procscan(void)
{
	struct dirent *e;
	bool found = false;
	DIR *d = opendir("/proc");

	if (!d)
		return -errno;
	while (!found && (e = readdir(d)))
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
			found = fd_dir_has_group(e->d_name);
	closedir(d);
	return found ? 0 : 1;
}

/* fuser -s FILE exits 0 when some process uses FILE, 1 when none does. */
static int check_fuser(void)
{
	char *argv[] = { "fuser", "-s", opt.group_path, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int st, err;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	err = posix_spawn(&pid, opt.fuser, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (WIFEXITED(st) && WEXITSTATUS(st) <= 1)
		return WEXITSTATUS(st);
	return -EPROTO;
}

static int check(enum poll_method m)
{
	switch (m) {
	case P_EBUSY:
		return check_ebusy();
	case P_PROCSCAN:
		return check_procscan();
	default:
		return check_fuser();
	}
}

/* Sleeps until the absolute time t, or until a command arrives: 1 then. */
static int tick_wait(int ctl, uint64_t t)
{
	struct pollfd p = { .fd = ctl, .events = POLLIN };
	uint64_t n = now_ns();
	struct timespec ts;
	int r;

	if (t <= n)
		return 0;
	ts.tv_sec = (t - n) / 1000000000ULL;
	ts.tv_nsec = (t - n) % 1000000000ULL;
	r = ppoll(&p, 1, &ts, NULL);
	return r > 0;
}

/*
 * Polls every period from now on. In a cycle, stops at the first "free"
 * and reports when it knew; when idle, until told to stop.
 */
static void poll_run(enum poll_method m, int ctl, int out, bool idle)
{
	uint64_t period = opt.period_ms * 1000000ULL, next = now_ns();
	uint64_t checks = 0, busy = 0, overruns = 0;
	struct msg cmd;

	for (;;) {
		int r = check(m);
		uint64_t t = now_ns();

		checks++;
		if (r < 0) {
			send_msg(out, M_ERROR, -r, 0, 0);
			exit(2);
		}
		if (r == 1 && !idle) {
			send_msg(out, M_NOTICE, t, checks, overruns);
			return;
		}
		busy += r == 0;
		next += period;
		if (next <= now_ns()) {	/* the check took longer than a period */
			overruns++;
			next = now_ns();
		}
		if (tick_wait(ctl, next)) {
			recv_msg(ctl, &cmd, -1);
			if (cmd.kind == C_STOP) {
				send_msg(out, idle ? M_IDLE_DONE : M_NOTICE,
					 idle ? checks : 0, busy, 0);
				return;
			}
		}
	}
}

static void __attribute__((noreturn)) poller(enum poll_method m, int ctl, int out)
{
	struct msg cmd;
	ssize_t n;

	send_msg(out, M_READY, 0, 0, 0);
	for (;;) {
		n = read(ctl, &cmd, sizeof(cmd));
		if (n == 0)
			exit(0);
		if (n != sizeof(cmd))
			die("poller: read command");
		if (cmd.kind == C_CYCLE || cmd.kind == C_IDLE)
			poll_run(m, ctl, out, cmd.kind == C_IDLE);
	}
}

/* ------------------------------------------------------------------ */
/* The holder: VFIO open and close                                     */

struct held {
	int container, group, device;
};

static void vfio_open(struct held *h)
{
	const char *what;

	h->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (h->container < 0)
		die("open /dev/vfio/vfio");
	h->group = vfio_group_attach(h->container, opt.group, &what);
	if (h->group < 0)
		die("group %d: %s", opt.group, what);
	if (ioctl(h->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
		die("VFIO_SET_IOMMU");
	h->device = ioctl(h->group, VFIO_GROUP_GET_DEVICE_FD, opt.dev);
	if (h->device < 0)
		die("VFIO_GROUP_GET_DEVICE_FD %s", opt.dev);
}

/* Closes device, group and container; returns the stamp after the last. */
static uint64_t vfio_close(struct held *h)
{
	if (close(h->device) || close(h->group) || close(h->container))
		die("close");
	return now_ns();
}

/* ------------------------------------------------------------------ */
/* Figures                                                              */

struct series {
	const char *name;
	uint64_t *v;	/* ns */
	int n, cap, lost;
};

static void series_init(struct series *s, const char *name, int cap)
{
	s->name = name;
	s->cap = cap;
	s->n = s->lost = 0;
	s->v = calloc(cap, sizeof(*s->v));
	if (!s->v)
		die("calloc");
}

/* One sample, from the CLOCK_MONOTONIC moment FROM to the moment TO. */
static void series_add(struct series *s, uint64_t from, uint64_t to)
{
	int64_t ns = (int64_t)(to - from);

	if (opt.raw)
		fprintf(stderr, "sample %s %d %" PRId64 " %" PRIu64 " %" PRIu64 "\n",
			s->name, s->n, ns, from, to);
	if (ns < 0) {
		/*
		 * Only a comparison with the holder's stamp can be negative
		 * (a poller may see the group free before the holder stamps):
		 * counted as 0. Anything else would be a bug: say so.
		 */
		if (!strstr(s->name, "-from-last-close"))
			fprintf(stderr, "warning: %s sample %d is negative (%" PRId64 " ns)\n",
				s->name, s->n, ns);
		ns = 0;
	}
	if (s->n < s->cap)
		s->v[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p% at or below it. */
static double pct(const uint64_t *sorted, int n, double p)
{
	int k = (int)ceil(p / 100.0 * n);

	return sorted[k < 1 ? 0 : k - 1] / 1000.0;
}

static void series_print(const char *kind, struct series *s)
{
	double sum = 0;
	int i;

	if (!s->n) {
		printf("%s %s n=0 lost=%d\n", kind, s->name, s->lost);
		return;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_u64);
	for (i = 0; i < s->n; i++)
		sum += s->v[i];
	printf("%s %s n=%d lost=%d p50=%.1f p99=%.1f mean=%.1f min=%.1f max=%.1f\n",
	       kind, s->name, s->n, s->lost, pct(s->v, s->n, 50),
	       pct(s->v, s->n, 99), sum / s->n / 1000.0, s->v[0] / 1000.0,
	       s->v[s->n - 1] / 1000.0);
}

/* ------------------------------------------------------------------ */
/* CPU accounting from /proc, read by the holder                        */

struct cpu {
	uint64_t run_ns;	/* schedstat: time on CPU */
	uint64_t slices;	/* schedstat: times it got a CPU */
	uint64_t ticks;		/* stat: utime + stime */
	uint64_t cticks;	/* stat: cutime + cstime (reaped children) */
};

static void read_cpu(pid_t pid, struct cpu *c)
{
	char path[64], buf[1024], *p;
	unsigned long long run, wait, slices;
	unsigned long ut, st;
	long cut, cst;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%llu %llu %llu", &run, &wait, &slices) != 3)
		die("read %s", path);
	fclose(f);
	c->run_ns = run;
	c->slices = slices;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		die("read %s", path);
	fclose(f);
	/* Fields after the command: state is field 3; utime is field 14. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %ld %ld",
			 &ut, &st, &cut, &cst) != 4) {
		errno = EPROTO;
		die("parse %s", path);
	}
	c->ticks = ut + st;
	c->cticks = cut + cst;
}

static void print_idle(const char *name, const struct cpu *a,
		       const struct cpu *b, uint64_t window_ns)
{
	long hz = sysconf(_SC_CLK_TCK);
	double self_us = (b->run_ns - a->run_ns) / 1000.0;
	double child_us = (double)(b->cticks - a->cticks) * 1e6 / hz;

	printf("idle %s ms=%.0f cpu_us=%.1f self_us=%.1f children_us=%.0f "
	       "ticks=%" PRIu64 " wakeups=%" PRIu64 "\n",
	       name, window_ns / 1e6, self_us + child_us, self_us, child_us,
	       (b->ticks - a->ticks) + (b->cticks - a->cticks),
	       b->slices - a->slices);
}

/* ------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr,
		"usage: release-latency -d ADDR [-e EVENTFD_PER_CYCLE] [-n CYCLES]\n"
		"         [-p POLL_CYCLES] [-w WARMUP] [-P PERIOD_MS] [-i IDLE_MS]\n"
		"         [-s SEED] [-f FUSER] [-b BUSY_US] [-r] [-R]\n"
		"  -r  print every sample to stderr   -R  skip phases 2 and 3\n"
		"  -b  also measure eventfd wake-ups with the writer busy BUSY_US\n"
		"      after the write (series eventfd-busy)\n");
	exit(2);
}

static long num(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0)
		usage();
	return v;
}


static int waiter_out, waiter_ctl;
static struct poller pollers[P_COUNT];
static int resyncs;

/*
 * Waits for the waiter's DEVICE_FREE of this cycle, collecting its
 * DEVICE_RELEASED on the way. 0 on success, -1 on timeout.
 */
static int wait_release(struct msg *rel, struct msg *fre, int timeout_ms)
{
	struct msg m;
	bool have_rel = false;

	for (;;) {
		if (!recv_msg(waiter_out, &m, timeout_ms))
			return -1;
		switch (m.kind) {
		case M_RELEASED:
			*rel = m;
			have_rel = true;
			break;
		case M_FREE:
			*fre = m;
			return have_rel ? 0 : -1;
		case M_RESYNC:
			resyncs++;
			fprintf(stderr, "warning: resync (lost=%" PRIu64 " notice=%s)\n", m.a,
				vfio_release_notice_name((enum vfio_release_notice)m.c));
			break;
		default:
			fprintf(stderr, "warning: unexpected message %u\n", m.kind);
		}
	}
}

/* Waits for the waiter's eventfd report. 0 on success, -1 on timeout. */
static int wait_efd(struct msg *m, int timeout_ms)
{
	for (;;) {
		if (!recv_msg(waiter_out, m, timeout_ms))
			return -1;
		if (m->kind == M_EFD)
			return 0;
		if (m->kind == M_RESYNC)
			resyncs++;
		fprintf(stderr, "warning: message %u while waiting for the eventfd\n",
			m->kind);
	}
}

static void gap(void)
{
	sleep_ns(5000000ULL + (uint64_t)(rnd() * 10000000ULL));
}

static void phase_events(int efd)
{
	struct series efds, rels, frees, rel_to_mark;
	int i, k, total = opt.warmup + opt.cycles;
	struct held h;
	struct msg rel, fre, m;
	uint64_t t0, mark;

	struct series busy;

	series_init(&efds, "eventfd", opt.cycles * opt.efd_per_cycle);
	series_init(&busy, "eventfd-busy", opt.cycles * opt.efd_per_cycle);
	series_init(&rels, "released", opt.cycles);
	series_init(&frees, "free", opt.cycles);
	series_init(&rel_to_mark, "released-before-last-close", opt.cycles);

	for (i = 0; i < total; i++) {
		bool counted = i >= opt.warmup;

		for (k = 0; k < opt.efd_per_cycle; k++) {
			gap();
			t0 = now_ns();
			if (write(efd, &t0, sizeof(t0)) != sizeof(t0))
				die("write eventfd");
			if (wait_efd(&m, 5000)) {
				efds.lost += counted;
				continue;
			}
			if (counted)
				series_add(&efds, m.a, m.b);
		}

		/*
		 * The same, but the writer stays busy after the write, as the
		 * closing task does after close_device returns: shows what a
		 * busy waker costs the wake-up on this machine.
		 */
		for (k = 0; opt.busy_us && k < opt.efd_per_cycle; k++) {
			uint64_t end;

			gap();
			t0 = now_ns();
			if (write(efd, &t0, sizeof(t0)) != sizeof(t0))
				die("write eventfd");
			end = t0 + opt.busy_us * 1000ULL;
			while (now_ns() < end)
				;
			if (wait_efd(&m, 5000)) {
				busy.lost += counted;
				continue;
			}
			if (counted)
				series_add(&busy, m.a, m.b);
		}

		gap();
		vfio_open(&h);
		mark = vfio_close(&h);
		if (wait_release(&rel, &fre, 5000)) {
			rels.lost += counted;
			frees.lost += counted;
			continue;
		}
		if (!counted)
			continue;
		series_add(&rels, rel.a, rel.b);
		series_add(&frees, fre.a, fre.b);
		series_add(&rel_to_mark, rel.a, mark);
	}
	series_print("lat", &efds);
	if (opt.busy_us)
		series_print("lat", &busy);
	series_print("lat", &rels);
	series_print("lat", &frees);
	series_print("ref", &rel_to_mark);
}

static void phase_poll(enum poll_method meth)
{
	struct poller *p = &pollers[meth];
	struct series lat, from_mark, from_free;
	char name[3][48];
	uint64_t period = opt.period_ms * 1000000ULL, mark, checks = 0, overruns = 0;
	struct held h;
	struct msg rel, fre, m;
	int i, total = 1 + opt.poll_cycles;	/* one warm-up cycle */

	snprintf(name[0], sizeof(name[0]), "%s", method_name[meth]);
	snprintf(name[1], sizeof(name[1]), "%s-from-last-close", method_name[meth]);
	snprintf(name[2], sizeof(name[2]), "%s-from-free", method_name[meth]);
	series_init(&lat, name[0], opt.poll_cycles);
	series_init(&from_mark, name[1], opt.poll_cycles);
	series_init(&from_free, name[2], opt.poll_cycles);

	for (i = 0; i < total; i++) {
		bool counted = i > 0, noticed = false;

		gap();
		vfio_open(&h);
		send_msg(p->ctl, C_CYCLE, 0, 0, 0);
		sleep_ns(period * 3 / 2 + (uint64_t)(rnd() * 2 * period));
		mark = vfio_close(&h);
		if (wait_release(&rel, &fre, 5000)) {
			lat.lost += counted;
			send_msg(p->ctl, C_STOP, 0, 0, 0);
			recv_msg(p->res, &m, -1);
			continue;
		}
		if (recv_msg(p->res, &m, 10 * opt.period_ms + 5000) && m.kind == M_NOTICE && m.a)
			noticed = true;
		if (!noticed) {
			send_msg(p->ctl, C_STOP, 0, 0, 0);
			recv_msg(p->res, &m, -1);
			lat.lost += counted;
			continue;
		}
		if (!counted)
			continue;
		checks += m.b;
		overruns += m.c;
		series_add(&lat, rel.a, m.a);
		series_add(&from_mark, mark, m.a);
		series_add(&from_free, fre.a, m.a);
	}
	series_print("lat", &lat);
	series_print("ref", &from_mark);
	series_print("ref", &from_free);
	printf("info %s checks=%" PRIu64 " overruns=%" PRIu64 " period_ms=%ld\n",
	       method_name[meth], checks, overruns, opt.period_ms);
}

static void phase_idle(pid_t waiter_pid)
{
	struct cpu before[P_COUNT + 1], after[P_COUNT + 1];
	uint64_t t0, t1;
	struct held h;
	struct msg m, rel, fre;
	int i;

	vfio_open(&h);	/* the device stays in use: every poll says busy */
	for (i = 0; i < P_COUNT; i++) {
		send_msg(pollers[i].ctl, C_IDLE, 0, 0, 0);
		/* Spread the pollers' ticks over the period. */
		sleep_ns(opt.period_ms * 1000000ULL / P_COUNT);
	}
	sleep_ns(opt.period_ms * 1000000ULL);	/* everyone settled */

	t0 = now_ns();
	read_cpu(waiter_pid, &before[P_COUNT]);
	for (i = 0; i < P_COUNT; i++)
		read_cpu(pollers[i].pid, &before[i]);
	sleep_ns(opt.idle_ms * 1000000ULL);
	t1 = now_ns();
	read_cpu(waiter_pid, &after[P_COUNT]);
	for (i = 0; i < P_COUNT; i++)
		read_cpu(pollers[i].pid, &after[i]);

	for (i = 0; i < P_COUNT; i++) {
		send_msg(pollers[i].ctl, C_STOP, 0, 0, 0);
		if (!recv_msg(pollers[i].res, &m, 10000) || m.kind != M_IDLE_DONE)
			fprintf(stderr, "warning: poller %s did not stop\n",
				method_name[i]);
		else if (m.b != m.a)
			fprintf(stderr, "warning: poller %s saw the held device free\n",
				method_name[i]);
	}
	print_idle("waiter", &before[P_COUNT], &after[P_COUNT], t1 - t0);
	for (i = 0; i < P_COUNT; i++)
		print_idle(method_name[i], &before[i], &after[i], t1 - t0);

	vfio_close(&h);
	if (wait_release(&rel, &fre, 5000))
		fprintf(stderr, "warning: no release event after the idle phase\n");
}

int main(int argc, char **argv)
{
	const char *what;
	int efd, to_waiter[2], from_waiter[2], c, i;
	pid_t waiter_pid;
	struct stat st;
	struct msg m;

	while ((c = getopt(argc, argv, "d:e:n:p:w:P:i:s:f:rRb:")) != -1) {
		switch (c) {
		case 'd': opt.dev = optarg; break;
		case 'e': opt.efd_per_cycle = num(optarg); break;
		case 'n': opt.cycles = num(optarg); break;
		case 'p': opt.poll_cycles = num(optarg); break;
		case 'w': opt.warmup = num(optarg); break;
		case 'P': opt.period_ms = num(optarg); break;
		case 'i': opt.idle_ms = num(optarg); break;
		case 's': opt.seed = num(optarg); break;
		case 'f': opt.fuser = optarg; break;
		case 'r': opt.raw = true; break;
		case 'R': opt.skip_poll = true; break;
		case 'b': opt.busy_us = num(optarg); break;
		default: usage();
		}
	}
	if (!opt.dev || optind != argc || !opt.cycles || !opt.period_ms)
		usage();
	rng_state = opt.seed * 0x9E3779B97F4A7C15ULL + 1;
	opt.group = vfio_group_of(opt.dev, &what);
	if (opt.group < 0)
		die("%s %s", what, opt.dev);
	snprintf(opt.group_path, sizeof(opt.group_path), "/dev/vfio/%d", opt.group);
	if (stat(opt.group_path, &st))
		die("stat %s", opt.group_path);
	group_rdev = st.st_rdev;
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A poller's death must show as an error, not kill the holder. */
	signal(SIGPIPE, SIG_IGN);

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		die("eventfd");
	if (pipe2(to_waiter, O_CLOEXEC) || pipe2(from_waiter, O_CLOEXEC))
		die("pipe");
	fflush(NULL);
	waiter_pid = fork();
	if (waiter_pid < 0)
		die("fork");
	if (waiter_pid == 0) {
		close(to_waiter[1]);
		close(from_waiter[0]);
		waiter(efd, to_waiter[0], from_waiter[1]);
	}
	close(to_waiter[0]);
	close(from_waiter[1]);
	waiter_ctl = to_waiter[1];
	waiter_out = from_waiter[0];
	if (!recv_msg(waiter_out, &m, 30000) || m.kind != M_READY) {
		errno = ETIMEDOUT;
		die("the waiter did not get ready");
	}

	for (i = 0; i < P_COUNT; i++) {
		int ctl[2], res[2];

		if (pipe2(ctl, O_CLOEXEC) || pipe2(res, O_CLOEXEC))
			die("pipe");
		fflush(NULL);
		pollers[i].pid = fork();
		if (pollers[i].pid < 0)
			die("fork");
		if (pollers[i].pid == 0) {
			int j;

			close(ctl[1]);
			close(res[0]);
			close(efd);
			close(waiter_ctl);
			close(waiter_out);
			/* Only the holder may keep another poller's pipes open. */
			for (j = 0; j < i; j++) {
				close(pollers[j].ctl);
				close(pollers[j].res);
			}
			poller(i, ctl[0], res[1]);
		}
		close(ctl[0]);
		close(res[1]);
		pollers[i].ctl = ctl[1];
		pollers[i].res = res[0];
		if (!recv_msg(pollers[i].res, &m, 30000) || m.kind != M_READY) {
			errno = ETIMEDOUT;
			die("poller %s did not get ready", method_name[i]);
		}
	}

	printf("info device=%s group=%d cycles=%d eventfd_per_cycle=%d warmup=%d "
	       "poll_cycles=%d period_ms=%ld idle_ms=%ld seed=%" PRIu64 " fuser=%s\n",
	       opt.dev, opt.group, opt.cycles, opt.efd_per_cycle, opt.warmup,
	       opt.poll_cycles, opt.period_ms, opt.idle_ms, opt.seed, opt.fuser);
	printf("info holder_pid=%d waiter_pid=%d ebusy_pid=%d procscan_pid=%d fuser_pid=%d\n",
	       (int)getpid(), (int)waiter_pid, (int)pollers[P_EBUSY].pid,
	       (int)pollers[P_PROCSCAN].pid, (int)pollers[P_FUSER].pid);
	phase_events(efd);
	if (!opt.skip_poll) {
		for (i = 0; i < P_COUNT; i++)
			phase_poll(i);
		phase_idle(waiter_pid);
	}
	printf("info resyncs=%d\n", resyncs);

	for (i = 0; i < P_COUNT; i++) {
		close(pollers[i].ctl);
		waitpid(pollers[i].pid, NULL, 0);
	}
	close(waiter_ctl);
	waitpid(waiter_pid, NULL, 0);
	return 0;
}
