// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-churn: VFIO load for the scale tests.
 *
 *   vfio-churn reset-loop -d ADDR [-n ITERATIONS] [-c] [-f FILE]
 *
 *     Opens ADDR through the VFIO group/container API and runs ITERATIONS
 *     (default 100) rounds of: VFIO_DEVICE_RESET on the device fd, then a
 *     full close of the device fd (its last close: vfio-pci's close_device
 *     resets the device again) and a reopen. Counts the resets that failed
 *     with EAGAIN (the device lock was contended), other reset failures and
 *     failed reopens; a failed reopen is retried in the next round. With
 *     -f, it also stops before a round once FILE exists. Ends with one
 *     line
 *
 *       resets=N eagain=N reset_fail=N open_fail=N ms=N rounds=N
 *
 *     (resets: attempts; rounds: the rounds run, so that with no failed
 *     open the device was opened and closed rounds + 1 times) and exits 0
 *     when every count but resets is 0, 1 otherwise, 2 on a setup error.
 *     With -c, no VFIO_DEVICE_RESET: only open/close cycles (the
 *     benchmark's churn).
 *
 *   vfio-churn hold-many [-d ADDR]... [-g GROUP]... [-f FILE]
 *
 *     Opens every ADDR and every device of every IOMMU GROUP but its PCI
 *     bridges (one group fd
 *     per group, one container for all), prints "opened N", then waits
 *     for SIGUSR1, or for FILE to exist, and closes all device fds, the
 *     group fds and the container at once; prints "closed N <ns>"
 *     (CLOCK_MONOTONIC before the first close) and exits 0. SIGKILL works
 *     too: the kernel then closes everything at exit.
 *
 *   vfio-churn ctl [-d ADDR]... [-g GROUP]... [-p PAUSE_MS]
 *
 *     The soak's churner (tests/soak). Cycles every device open and
 *     closed as a VM start and stop do (container, groups, VFIO_SET_IOMMU,
 *     every device fd; then everything closed), as fast as it can, and
 *     between two cycles takes commands, one a line on stdin:
 *
 *       settle open|released|free  open everything anew and stay there:
 *                                  every device fd open (open), only the
 *                                  groups and the container (released),
 *                                  or one whole cycle more and nothing
 *                                  held (free); replies "settled STATE
 *                                  cycles=N errors=N" once there, or
 *                                  "failed STATE: why" when the opens
 *                                  kept failing for 20 s
 *       resume                     drop what is held, cycle again
 *       quit, or end of input      drop everything, reply "done cycles=N
 *                                  errors=N", exit 0
 *
 *     cycles counts the whole open/close cycles done, errors the opens
 *     that failed (the devices unbound or vfio-pci reloading under it:
 *     tried again 5 ms later). With -p, it sleeps PAUSE_MS after each
 *     cycle (the VM's CPUs are shared with the soak's own steps). Each new kind of failure is said once on
 *     stderr. Replies go to stdout, flushed.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <signal.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helper-util.h"
#include "vfio-group.h"

#define MAX_DEVS 2048
#define MAX_GROUPS 64

struct dev {
	char addr[32];
	int group;	/* index into groups[] */
	int fd;
};

static struct dev devs[MAX_DEVS];
static int ndevs;
static struct { int id, fd; } groups[MAX_GROUPS];
static int ngroups;
static int container = -1;
static volatile sig_atomic_t got_usr1;

static void usage(void)
{
	fprintf(stderr,
		"usage: vfio-churn reset-loop -d ADDR [-n ITERATIONS] [-c] [-f FILE]\n"
		"       vfio-churn hold-many [-d ADDR]... [-g GROUP]... [-f FILE]\n"
		"       vfio-churn ctl [-d ADDR]... [-g GROUP]... [-p PAUSE_MS]\n");
	exit(2);
}

static void add_dev(const char *addr)
{
	if (ndevs == MAX_DEVS) {
		errno = E2BIG;
		fail("more than %d devices", MAX_DEVS);
	}
	if (strlen(addr) >= sizeof(devs[ndevs].addr)) {
		errno = ENAMETOOLONG;
		fail("device name %s", addr);
	}
	strcpy(devs[ndevs].addr, addr);
	devs[ndevs].fd = -1;
	ndevs++;
}

static int cmp_dev(const void *a, const void *b)
{
	return strcmp(((const struct dev *)a)->addr, ((const struct dev *)b)->addr);
}

/* A PCI bridge (class 0x0604xx) shares its group but is no VFIO device. */
static int is_bridge(const char *addr)
{
	char path[PATH_MAX];
	unsigned int class = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/class", addr);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%x", &class) != 1)
		class = 0;
	fclose(f);
	return (class >> 8) == 0x0604;
}

/* Every device of IOMMU group id but bridges, from sysfs. */
static void add_group_devs(const char *id)
{
	char path[64];
	struct dirent *de;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/kernel/iommu_groups/%s/devices", id);
	dir = opendir(path);
	if (!dir)
		fail("opendir %s", path);
	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.' || is_bridge(de->d_name))
			continue;
		add_dev(de->d_name);
		n++;
	}
	closedir(dir);
	if (!n) {
		errno = ENODEV;
		fail("group %s has no devices", id);
	}
}

static void open_container(void)
{
	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		fail("open /dev/vfio/vfio");
	if (ioctl(container, VFIO_GET_API_VERSION) != VFIO_API_VERSION)
		fail("VFIO_GET_API_VERSION");
	if (ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) <= 0)
		fail("VFIO_CHECK_EXTENSION(VFIO_TYPE1v2_IOMMU)");
}

/* Attaches every device's group (once per group) to the container. */
static void attach_groups(void)
{
	int i, j;

	for (i = 0; i < ndevs; i++) {
		const char *what;
		int id = vfio_group_of(devs[i].addr, &what);

		if (id < 0)
			fail("%s %s", what, devs[i].addr);
		for (j = 0; j < ngroups && groups[j].id != id; j++)
			;
		if (j == ngroups) {
			if (ngroups == MAX_GROUPS) {
				errno = E2BIG;
				fail("more than %d groups", MAX_GROUPS);
			}
			groups[j].id = id;
			groups[j].fd = vfio_group_attach(container, id, &what);
			if (groups[j].fd < 0)
				fail("group %d: %s", id, what);
			if (ngroups++ == 0 &&
			    ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
				fail("VFIO_SET_IOMMU(VFIO_TYPE1v2_IOMMU)");
		}
		devs[i].group = j;
	}
}

static int open_dev(struct dev *d)
{
	d->fd = ioctl(groups[d->group].fd, VFIO_GROUP_GET_DEVICE_FD, d->addr);
	return d->fd;
}

static int reset_loop(int argc, char **argv)
{
	long iterations = 100, i;
	unsigned long resets = 0, eagain = 0, reset_fail = 0, open_fail = 0;
	unsigned long long t0;
	bool cycles_only = false;
	const char *stop = NULL;
	struct dev *d;
	int opt;

	while ((opt = getopt(argc, argv, "cd:f:n:")) != -1) {
		switch (opt) {
		case 'c':
			cycles_only = true;
			break;
		case 'f':
			stop = optarg;
			break;
		case 'd':
			if (ndevs)
				usage();
			add_dev(optarg);
			break;
		case 'n':
			iterations = strtol(optarg, NULL, 10);
			if (iterations <= 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (ndevs != 1 || optind != argc)
		usage();
	d = &devs[0];
	open_container();
	attach_groups();

	t0 = now_ns();
	/* The first open counts like every reopen: it can fail the same way. */
	if (open_dev(d) < 0) {
		open_fail++;
		fprintf(stderr, "vfio-churn: first open: %s\n", strerror(errno));
	}
	for (i = 0; i < iterations; i++) {
		if (stop && !access(stop, F_OK))
			break;
		if (d->fd >= 0 && !cycles_only) {
			resets++;
			if (ioctl(d->fd, VFIO_DEVICE_RESET)) {
				if (errno == EAGAIN)
					eagain++;
				else
					reset_fail++;
				fprintf(stderr, "vfio-churn: round %ld: VFIO_DEVICE_RESET: %s\n",
					i, strerror(errno));
			}
		}
		if (d->fd >= 0) {
			close(d->fd);
			d->fd = -1;
		}
		if (open_dev(d) < 0) {
			open_fail++;
			fprintf(stderr, "vfio-churn: round %ld: reopen: %s\n",
				i, strerror(errno));
		}
	}
	if (d->fd >= 0)
		close(d->fd);
	printf("resets=%lu eagain=%lu reset_fail=%lu open_fail=%lu ms=%llu rounds=%ld\n",
	       resets, eagain, reset_fail, open_fail, (now_ns() - t0) / 1000000, i);
	return eagain || reset_fail || open_fail;
}

static void on_usr1(int sig)
{
	(void)sig;
	got_usr1 = 1;
}

static int hold_many(int argc, char **argv)
{
	const char *file = NULL;
	struct rlimit rl;
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t block, old;
	unsigned long long t;
	int opt, i;

	while ((opt = getopt(argc, argv, "d:g:f:")) != -1) {
		switch (opt) {
		case 'd':
			add_dev(optarg);
			break;
		case 'g':
			add_group_devs(optarg);
			break;
		case 'f':
			file = optarg;
			break;
		default:
			usage();
		}
	}
	if (!ndevs || optind != argc)
		usage();
	qsort(devs, ndevs, sizeof(devs[0]), cmp_dev);
	for (i = 1; i < ndevs; i++) {
		if (!strcmp(devs[i].addr, devs[i - 1].addr)) {
			errno = EINVAL;
			fail("device %s given twice", devs[i].addr);
		}
	}

	/* One fd per device, plus groups: more than the default 1024 soon. */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* SIGUSR1 is blocked until we wait for it: none is lost. */
	sigaction(SIGUSR1, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old);

	open_container();
	attach_groups();
	for (i = 0; i < ndevs; i++)
		if (open_dev(&devs[i]) < 0)
			fail("VFIO_GROUP_GET_DEVICE_FD %s", devs[i].addr);
	printf("opened %d\n", ndevs);
	fflush(stdout);

	for (;;) {
		struct timespec tick = { 0, 10 * 1000000L };

		if (got_usr1)
			break;
		if (file && !access(file, F_OK))
			break;
		if (file) {
			/* Wakes up on the signal or after 10 ms to look again. */
			if (sigtimedwait(&block, NULL, &tick) == SIGUSR1)
				got_usr1 = 1;
		} else {
			sigsuspend(&old);
		}
	}

	t = now_ns();
	for (i = 0; i < ndevs; i++)
		close(devs[i].fd);
	for (i = 0; i < ngroups; i++)
		close(groups[i].fd);
	close(container);
	printf("closed %d %llu\n", ndevs, t);
	return 0;
}

/* --- ctl: the soak's churner --- */

static unsigned long ctl_cycles, ctl_errors;
static char ctl_last_err[256];

static void ctl_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Closes whatever is open: devices, then groups, then the container. */
static void ctl_close(bool devices_only)
{
	int i;

	for (i = 0; i < ndevs; i++) {
		if (devs[i].fd >= 0)
			close(devs[i].fd);
		devs[i].fd = -1;
	}
	if (devices_only)
		return;
	for (i = 0; i < ngroups; i++) {
		if (groups[i].fd >= 0)
			close(groups[i].fd);
		groups[i].fd = -1;
	}
	ngroups = 0;
	if (container >= 0)
		close(container);
	container = -1;
}

/* One failed open: counted, said once per kind, everything dropped. */
static int ctl_failed(const char *what, const char *addr, char *why, size_t size)
{
	int err = errno;

	snprintf(why, size, "%s %s: %s", what, addr, strerror(err));
	ctl_errors++;
	if (strcmp(why, ctl_last_err)) {
		fprintf(stderr, "vfio-churn: %s\n", why);
		snprintf(ctl_last_err, sizeof(ctl_last_err), "%s", why);
	}
	ctl_close(false);
	return -1;
}

/* Opens the container, every group and every device fd; -1 on failure. */
static int ctl_open(char *why, size_t size)
{
	const char *what;
	int i, j, id;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (container < 0)
		return ctl_failed("open", "/dev/vfio/vfio", why, size);
	for (i = 0; i < ndevs; i++) {
		id = vfio_group_of(devs[i].addr, &what);
		if (id < 0)
			return ctl_failed(what, devs[i].addr, why, size);
		for (j = 0; j < ngroups && groups[j].id != id; j++)
			;
		if (j == ngroups) {
			groups[j].id = id;
			groups[j].fd = vfio_group_attach(container, id, &what);
			if (groups[j].fd < 0)
				return ctl_failed(what, devs[i].addr, why, size);
			ngroups++;
			if (j == 0 && ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU))
				return ctl_failed("VFIO_SET_IOMMU", devs[i].addr, why, size);
		}
		devs[i].group = j;
	}
	for (i = 0; i < ndevs; i++)
		if (open_dev(&devs[i]) < 0)
			return ctl_failed("VFIO_GROUP_GET_DEVICE_FD", devs[i].addr, why, size);
	return 0;
}

/* One whole cycle: everything opened, then everything closed. */
static int ctl_cycle(char *why, size_t size)
{
	if (ctl_open(why, size))
		return -1;
	ctl_close(false);
	ctl_cycles++;
	return 0;
}

/* Opens until it works, for at most 20 s; 0 once open. */
static int ctl_open_retry(char *why, size_t size)
{
	unsigned long long deadline = now_ns() + 20000000000ULL;

	while (ctl_open(why, size)) {
		if (now_ns() > deadline)
			return -1;
		ctl_sleep_ms(5);
	}
	return 0;
}

static void ctl_settle(const char *state)
{
	char why[512];
	int ret;

	if (!strcmp(state, "free")) {
		ret = ctl_open_retry(why, sizeof(why));
		if (!ret) {
			ctl_close(false);
			ctl_cycles++;
		}
	} else if (!strcmp(state, "open")) {
		ret = ctl_open_retry(why, sizeof(why));
	} else if (!strcmp(state, "released")) {
		ret = ctl_open_retry(why, sizeof(why));
		if (!ret)
			ctl_close(true);
	} else {
		printf("failed %s: unknown state\n", state);
		return;
	}
	if (ret)
		printf("failed %s: %s\n", state, why);
	else
		printf("settled %s cycles=%lu errors=%lu\n", state, ctl_cycles, ctl_errors);
}

/* Reads one command line from stdin; 0 on a line, -1 at end of input. */
static int ctl_command(char *line, size_t size)
{
	if (!fgets(line, size, stdin))
		return -1;
	line[strcspn(line, "\n")] = '\0';
	return 0;
}

static int ctl(int argc, char **argv)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
	bool held = false;
	long pause_ms = 0;
	char line[128];
	int opt;

	while ((opt = getopt(argc, argv, "d:g:p:")) != -1) {
		switch (opt) {
		case 'd':
			add_dev(optarg);
			break;
		case 'g':
			add_group_devs(optarg);
			break;
		case 'p':
			pause_ms = strtol(optarg, NULL, 10);
			if (pause_ms < 0)
				usage();
			break;
		default:
			usage();
		}
	}
	if (!ndevs || optind != argc)
		usage();
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* Commands are whole lines written at once: stdio may read ahead. */
	setvbuf(stdin, NULL, _IONBF, 0);

	for (;;) {
		char why[512];

		/* Held: wait for the next command. Cycling: only look. */
		if (held || poll(&pfd, 1, 0) > 0) {
			if (ctl_command(line, sizeof(line)))
				break;
			if (!strncmp(line, "settle ", 7)) {
				ctl_close(false);
				ctl_settle(line + 7);
				/* Settled or not, it waits for resume. */
				held = true;
			} else if (!strcmp(line, "resume")) {
				ctl_close(false);
				held = false;
			} else if (!strcmp(line, "quit")) {
				break;
			} else {
				printf("failed %s: unknown command\n", line);
			}
			continue;
		}
		if (ctl_cycle(why, sizeof(why)))
			ctl_sleep_ms(5);
		else if (pause_ms)
			ctl_sleep_ms(pause_ms);
	}
	ctl_close(false);
	printf("done cycles=%lu errors=%lu\n", ctl_cycles, ctl_errors);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	/* The mode is argv[1]; options follow it. */
	if (!strcmp(argv[1], "reset-loop"))
		return reset_loop(argc - 1, argv + 1);
	if (!strcmp(argv[1], "hold-many"))
		return hold_many(argc - 1, argv + 1);
	if (!strcmp(argv[1], "ctl"))
		return ctl(argc - 1, argv + 1);
	usage();
}
