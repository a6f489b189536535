// SPDX-License-Identifier: GPL-2.0
/*
 * vfio-cdev: open PCI devices through their VFIO device cdev and iommufd,
 * the path that needs no group file and no container:
 *
 *   vfio-cdev [-G] -d ADDR [-d ADDR ...] ACTION...
 *
 * /dev/iommu is opened once and one IOAS allocated in it; each device's
 * /dev/vfio/devices/vfioN (found under /sys/bus/pci/devices/ADDR/vfio-dev)
 * is opened, bound to that iommufd (VFIO_DEVICE_BIND_IOMMUFD) and attached
 * to the IOAS (VFIO_DEVICE_ATTACH_IOMMUFD_PT). Devices of one IOMMU group
 * must share an iommufd: the kernel refuses a second owner of a group.
 *
 * With -G the devices are opened through their groups instead, with the
 * iommufd as the groups' container: /dev/vfio/<group>,
 * VFIO_GROUP_SET_CONTAINER with the iommufd, VFIO_GROUP_GET_DEVICE_FD
 * (the device is bound to the iommufd and attached to its compat IOAS by
 * the kernel).
 *
 * Actions run in order:
 *
 *   close-device[=ADDR]  close one device fd (default: all of them)
 *   close-group          close the group fds (-G)
 *   close-iommufd        close the /dev/iommu fd
 *   sleep-ms=N           sleep N ms
 *   mark=TEXT            print "MARK TEXT <CLOCK_MONOTONIC ns>"
 *   hold                 print "holding", wait for SIGUSR1, SIGTERM,
 *                        SIGINT or SIGHUP, or for the end of stdin when
 *                        stdin is a pipe; then go on with the next action
 *
 * Output: "opened ADDR vfioN devid=D ioas=I" per device, then what the
 * actions print, then "exit". Whatever is left open is closed at exit.
 * A failed step prints "vfio-cdev: STEP ADDR: ENAME (message)" on stderr
 * and exits with status 2; usage errors exit with status 2 too.
 *
 * The kernel headers of the build host may predate the cdev path: the
 * few ioctls used are declared here when they are missing (their numbers
 * and layouts are the kernel's ABI, include/uapi/linux/{vfio,iommufd}.h).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <linux/types.h>
#include <linux/vfio.h>

#include "action-list.h"
#include "vfio-group.h"

#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
	__u32 argsz;
	__u32 flags;
	__s32 iommufd;
	__u32 out_devid;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)

struct vfio_device_attach_iommufd_pt {
	__u32 argsz;
	__u32 flags;
	__u32 pt_id;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
#endif

#ifndef IOMMU_IOAS_ALLOC
#define IOMMUFD_TYPE (';')
struct iommu_ioas_alloc {
	__u32 size;
	__u32 flags;
	__u32 out_ioas_id;
};
#define IOMMU_IOAS_ALLOC _IO(IOMMUFD_TYPE, 0x81)
#endif

#define MAX_DEVS 8

struct dev {
	const char *addr;
	char node[NAME_MAX + 1];	/* vfioN */
	int fd;
};

struct group {
	int id;
	int fd;
};

struct state {
	struct dev devs[MAX_DEVS];
	int ndevs;
	int via_group;			/* -G */
	struct group groups[MAX_DEVS];
	int ngroups;
	int iommufd;
	__u32 ioas;
};

/* "vfio-cdev: WHAT: ENAME (message)", exit status 2. */
static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	int err = errno;
	const char *name = strerrorname_np(err);
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "vfio-cdev: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (%s)\n", name ? name : "unknown errno",
		strerror(err));
	exit(2);
}

static void usage(void)
{
	fprintf(stderr, "usage: vfio-cdev [-G] -d ADDR [-d ADDR ...] [close-device[=ADDR] | close-group | close-iommufd | sleep-ms=N | mark=TEXT | hold]...\n");
	exit(2);
}

/* The vfioN node of the vfio device under PCI device addr. */
static void find_node(struct dev *d)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/vfio-dev", d->addr);
	dir = opendir(path);
	if (!dir)
		die("%s (is it bound to a VFIO driver, on a kernel with CONFIG_VFIO_DEVICE_CDEV?)",
		    path);
	d->node[0] = '\0';
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4) &&
		    strlen(de->d_name) < sizeof(d->node))
			strcpy(d->node, de->d_name);
	closedir(dir);
	if (!d->node[0]) {
		errno = ENOENT;
		die("no vfioN under %s", path);
	}
}

/* -G: the device through its group, whose container is the iommufd. */
static void open_via_group(struct state *s, struct dev *d)
{
	const char *what;
	int id, j;

	id = vfio_group_of(d->addr, &what);
	if (id < 0)
		die("%s %s", what, d->addr);
	for (j = 0; j < s->ngroups && s->groups[j].id != id; j++)
		;
	if (j == s->ngroups) {
		s->groups[j].id = id;
		s->groups[j].fd = vfio_group_attach(s->iommufd, id, &what);
		if (s->groups[j].fd < 0)
			die("group %d: %s (container: the iommufd)", id, what);
		s->ngroups++;
	}
	d->fd = ioctl(s->groups[j].fd, VFIO_GROUP_GET_DEVICE_FD, d->addr);
	if (d->fd < 0)
		die("VFIO_GROUP_GET_DEVICE_FD %s", d->addr);
	printf("opened %s through group %d on the iommufd\n", d->addr, id);
}

static void open_all(struct state *s)
{
	struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	int i;

	s->iommufd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (s->iommufd < 0)
		die("open /dev/iommu (is iommufd loaded?)");
	if (ioctl(s->iommufd, IOMMU_IOAS_ALLOC, &alloc))
		die("IOMMU_IOAS_ALLOC");
	s->ioas = alloc.out_ioas_id;

	for (i = 0; i < s->ndevs; i++) {
		struct vfio_device_bind_iommufd bind = {
			.argsz = sizeof(bind),
			.iommufd = s->iommufd,
		};
		struct vfio_device_attach_iommufd_pt attach = {
			.argsz = sizeof(attach),
			.pt_id = s->ioas,
		};
		struct dev *d = &s->devs[i];
		char path[PATH_MAX];

		if (s->via_group) {
			open_via_group(s, d);
			continue;
		}
		find_node(d);
		snprintf(path, sizeof(path), "/dev/vfio/devices/%s", d->node);
		d->fd = open(path, O_RDWR | O_CLOEXEC);
		if (d->fd < 0)
			die("open %s for %s", path, d->addr);
		if (ioctl(d->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind))
			die("VFIO_DEVICE_BIND_IOMMUFD %s", d->addr);
		if (ioctl(d->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach))
			die("VFIO_DEVICE_ATTACH_IOMMUFD_PT %s (ioas %u)", d->addr,
			    s->ioas);
		printf("opened %s %s devid=%u ioas=%u\n", d->addr, d->node,
		       bind.out_devid, attach.pt_id);
	}
	fflush(stdout);
}

static void close_fd(int *fd, const char *what)
{
	if (*fd >= 0 && close(*fd))
		die("close %s", what);
	*fd = -1;
}

static void close_device(struct state *s, const char *addr)
{
	int i, found = 0;

	for (i = 0; i < s->ndevs; i++) {
		if (addr && strcmp(addr, s->devs[i].addr))
			continue;
		close_fd(&s->devs[i].fd, s->devs[i].addr);
		found = 1;
	}
	if (!found) {
		errno = ENODEV;
		die("close-device=%s: not a device given with -d", addr);
	}
}

enum act {
	A_CLOSE_DEVICE, A_CLOSE_GROUP, A_CLOSE_IOMMUFD, A_SLEEP, A_MARK, A_HOLD,
};

static const struct action_spec acts[] = {
	[A_CLOSE_DEVICE] = { "close-device", ACTION_MAYBE_TEXT },
	[A_CLOSE_GROUP] = { "close-group", ACTION_BARE },
	[A_CLOSE_IOMMUFD] = { "close-iommufd", ACTION_BARE },
	[A_SLEEP] = { "sleep-ms", ACTION_NUMBER },
	[A_MARK] = { "mark", ACTION_TEXT },
	[A_HOLD] = { "hold", ACTION_BARE },
};

static enum act parse_action(const char *a, const char **value)
{
	return action_parse(acts, sizeof(acts) / sizeof(acts[0]), a, value);
}

static void run(struct state *s, const char *a, const sigset_t *sigs)
{
	struct timespec ts;
	const char *v;
	int i;

	switch (parse_action(a, &v)) {
	case A_CLOSE_DEVICE:
		close_device(s, v);
		break;
	case A_CLOSE_GROUP:
		for (i = 0; i < s->ngroups; i++)
			close_fd(&s->groups[i].fd, "group");
		break;
	case A_CLOSE_IOMMUFD:
		close_fd(&s->iommufd, "/dev/iommu");
		break;
	case A_SLEEP:
		sleep_ms(action_number(a, v));
		break;
	case A_MARK:
		clock_gettime(CLOCK_MONOTONIC, &ts);
		printf("MARK %s %llu\n", v,
		       (unsigned long long)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
		break;
	case A_HOLD:
		action_hold(sigs);
		break;
	}
	fflush(stdout);
}

int main(int argc, char **argv)
{
	struct state s = { .iommufd = -1 };
	sigset_t sigs;
	int opt, i;

	while ((opt = getopt(argc, argv, "+Gd:")) != -1) {
		if (opt == 'G') {
			s.via_group = 1;
			continue;
		}
		if (opt != 'd' || s.ndevs == MAX_DEVS)
			usage();
		s.devs[s.ndevs].addr = optarg;
		s.devs[s.ndevs].fd = -1;
		s.ndevs++;
	}
	if (!s.ndevs)
		usage();
	/* Check every action before touching a device. */
	for (i = optind; i < argc; i++) {
		const char *v;

		parse_action(argv[i], &v);
	}
	/* Blocked from the start: one sent before a hold is not lost. */
	action_hold_signals(&sigs);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL))
		die("sigprocmask");

	open_all(&s);
	for (i = optind; i < argc; i++)
		run(&s, argv[i], &sigs);
	for (i = 0; i < s.ndevs; i++)
		close_fd(&s.devs[i].fd, s.devs[i].addr);
	for (i = 0; i < s.ngroups; i++)
		close_fd(&s.groups[i].fd, "group");
	close_fd(&s.iommufd, "/dev/iommu");
	printf("exit\n");
	return 0;
}
