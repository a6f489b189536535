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
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "proc-fds.h"
#include "vfio-group.h"

static int pidfd;
static long pid;

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

struct wanted {
	const char *link;				/* the fd's /proc link */
	bool (*match)(int fd, const char *addr);	/* and, if set, this */
	const char *addr;
	int fd;						/* the copy kept, or -1 */
};

static bool want_link(const char *target, void *arg)
{
	return !strcmp(target, ((struct wanted *)arg)->link);
}

static bool keep_first(int fd, const char *name __attribute__((unused)),
		       const char *target __attribute__((unused)), void *arg)
{
	struct wanted *w = arg;

	if (w->match && !w->match(fd, w->addr)) {
		close(fd);
		return false;
	}
	w->fd = fd;
	return true;
}

/* Duplicates the first fd of PID whose link is link (and that match accepts). */
static int take_fd(const char *link, bool (*match)(int fd, const char *addr), const char *addr)
{
	struct wanted w = { .link = link, .match = match, .addr = addr, .fd = -1 };

	take_fds(pid, pidfd, want_link, keep_first, &w);
	return w.fd;
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
	pidfd = pidfd_of(pid);
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
