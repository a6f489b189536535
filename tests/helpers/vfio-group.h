/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The VFIO group steps shared by the test helpers and the benchmark.
 * Each returns -1 with errno set, and names the failed step in *what.
 */
#ifndef VR_TEST_VFIO_GROUP_H
#define VR_TEST_VFIO_GROUP_H

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/vfio.h>

/* The IOMMU group number of PCI device addr. */
static inline int vfio_group_of(const char *addr, const char **what)
{
	char path[PATH_MAX], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", addr);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		*what = "readlink iommu_group";
		return -1;
	}
	link[n] = '\0';
	return atoi(basename(link));
}

/* Opens /dev/vfio/<id>, checks it is viable and puts it in container. */
static inline int vfio_group_attach(int container, int id, const char **what)
{
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/vfio/%d", id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		*what = "open /dev/vfio/<group>";
		return -1;
	}
	if (ioctl(fd, VFIO_GROUP_GET_STATUS, &st)) {
		*what = "VFIO_GROUP_GET_STATUS";
		goto err;
	}
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		*what = "group not viable (a device in it is not bound to vfio-pci)";
		errno = EBUSY;
		goto err;
	}
	if (ioctl(fd, VFIO_GROUP_SET_CONTAINER, &container)) {
		*what = "VFIO_GROUP_SET_CONTAINER";
		goto err;
	}
	return fd;
err:
	close(fd);
	return -1;
}

#endif
