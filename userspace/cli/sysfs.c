// SPDX-License-Identifier: GPL-2.0-or-later
/* The few sysfs files reattach reads and writes. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysfs.h"

static const char *vr_sysfs(void)
{
	const char *root = getenv("VFIO_RELEASE_SYSFS");

	return root && *root ? root : "/sys";
}

static int vr_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, value, len);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	return (size_t)n == len ? 0 : -EIO;
}

bool vr_pci_exists(const char *dev)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", vr_sysfs(), dev);
	return access(path, F_OK) == 0;
}

int vr_pci_driver(const char *dev, char *buf, size_t size)
{
	char path[PATH_MAX], target[PATH_MAX];
	const char *name;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver", vr_sysfs(), dev);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		if (errno != ENOENT)
			return -errno;
		buf[0] = '\0';
		return 0;
	}
	target[n] = '\0';
	name = strrchr(target, '/');
	snprintf(buf, size, "%s", name ? name + 1 : target);
	return 0;
}

/* vfio-pci, or a variant driver built on vfio_pci_core (mlx5_vfio_pci...). */
bool vr_is_vfio_driver(const char *driver)
{
	return !strcmp(driver, "vfio-pci") || strstr(driver, "vfio") != NULL;
}

int vr_pci_unbind(const char *dev, const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers/%s/unbind", vr_sysfs(), driver);
	return vr_write(path, dev);
}

int vr_pci_set_override(const char *dev, const char *driver)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/driver_override",
		 vr_sysfs(), dev);
	/* An empty override is written as a lone newline. */
	return vr_write(path, *driver ? driver : "\n");
}

int vr_pci_reprobe(const char *dev)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/pci/drivers_probe", vr_sysfs());
	return vr_write(path, dev);
}
