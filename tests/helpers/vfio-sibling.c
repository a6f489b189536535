// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-sibling PID ADDR: opens ADDR, a device of an IOMMU group that
 * process PID (a QEMU) has open, through PID's own group file: the group
 * fd is duplicated with pidfd_open + pidfd_getfd, VFIO_GROUP_GET_DEVICE_FD
 * gets ADDR's device fd, and the duplicate is closed again. Only the
 * device fd is kept, until killed: it holds a reference to the group file
 * (vfio takes one for every open device), so the group stays claimed for
 * user DMA after PID exits, though none of PID's devices is held.
 * That is "a second function of the same IOMMU group still assigned"
 * without a second QEMU: vfio lets one process at a time open a group.
 * Prints "opened ADDR through pid PID's group N".
 *
 * vfio-sibling --take PID ADDR: what tests/helpers/vfio-steal does, for
 * one device of a QEMU that holds several: duplicates PID's group file of
 * ADDR and PID's own device file of ADDR (the one whose hot reset set,
 * VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, is ADDR alone: ADDR must be the
 * only function of its slot) and keeps both. Prints "took ADDR from pid
 * PID".
 *
 * Both hold until killed. Exit status 2 with a message on any failure.
 */
#include <dirent.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "helper-util.h"
#include "vfio-group.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

static int pidfd;
static long pid;

/* Duplicates the first fd of PID whose link is want (and that match accepts). */
static int take_fd(const char *want, bool (*match)(int fd, const char *addr), const char *addr)
{
	char dir[64], path[PATH_MAX], target[PATH_MAX];
	struct dirent *de;
	int fd = -1;
	DIR *d;

	snprintf(dir, sizeof(dir), "/proc/%ld/fd", pid);
	d = opendir(dir);
	if (!d)
		fail("%s", dir);
	while (fd < 0 && (de = readdir(d))) {
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			continue;
		target[n] = '\0';
		if (strcmp(target, want))
			continue;
		fd = syscall(SYS_pidfd_getfd, pidfd, atoi(de->d_name), 0);
		if (fd < 0)
			fail("pidfd_getfd %ld fd %s (%s)", pid, de->d_name, target);
		if (match && !match(fd, addr)) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	return fd;
}

/* Whether device fd's hot reset set is exactly addr. */
static bool is_device(int fd, const char *addr)
{
	struct {
		struct vfio_pci_hot_reset_info info;
		struct vfio_pci_dependent_device dev[8];
	} r = { .info.argsz = sizeof(r) };
	unsigned int dom, bus, slot, fn;

	if (sscanf(addr, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4)
		return false;
	if (ioctl(fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &r.info) || r.info.count != 1)
		return false;
	return r.dev[0].segment == dom && r.dev[0].bus == bus &&
	       r.dev[0].devfn == ((slot << 3) | fn);
}

int main(int argc, char **argv)
{
	bool take = argc == 4 && !strcmp(argv[1], "--take");
	const char *addr, *what = "";
	int group_fd, devfd, id;
	char want[32];

	pid = argc == 3 || take ? strtol(argv[argc - 2], NULL, 10) : 0;
	if (pid <= 0) {
		fprintf(stderr, "usage: vfio-sibling [--take] PID ADDR\n");
		return 2;
	}
	addr = argv[argc - 1];
	id = vfio_group_of(addr, &what);
	if (id < 0)
		fail("%s: %s", addr, what);
	snprintf(want, sizeof(want), "/dev/vfio/%d", id);
	pidfd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
	if (pidfd < 0)
		fail("pidfd_open %ld", pid);
	group_fd = take_fd(want, NULL, NULL);
	if (group_fd < 0) {
		fprintf(stderr, "vfio-sibling: pid %ld does not hold %s\n", pid, want);
		return 2;
	}
	if (take) {
		devfd = take_fd("anon_inode:[vfio-device]", is_device, addr);
		if (devfd < 0) {
			fprintf(stderr, "vfio-sibling: pid %ld holds no device file of %s alone in its slot\n",
				pid, addr);
			return 2;
		}
		printf("took %s from pid %ld\n", addr, pid);
	} else {
		devfd = ioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, addr);
		if (devfd < 0)
			fail("VFIO_GROUP_GET_DEVICE_FD %s through pid %ld's %s", addr, pid, want);
		close(group_fd);
		printf("opened %s through pid %ld's group %d\n", addr, pid, id);
	}
	fflush(stdout);
	close(pidfd);
	for (;;)
		pause();
}
