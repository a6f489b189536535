// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The few sysfs files reattach reads and writes. Plain files rather than
 * libudev: every one of them is a single read or write, libudev's device
 * cache would only have to be invalidated after each write, and a fake
 * tree ($VFIO_RELEASE_SYSFS) stays a directory of plain files.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
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

/* path = root + the formatted rest; -ENAMETOOLONG when it does not fit. */
static int vr_vpath(char *path, size_t size, const char *fmt, va_list ap)
{
	size_t len = (size_t)snprintf(path, size, "%s/", vr_sysfs());
	int n;

	if (len >= size)
		return -ENAMETOOLONG;
	n = vsnprintf(path + len, size - len, fmt, ap);
	return n < 0 || (size_t)n >= size - len ? -ENAMETOOLONG : 0;
}

static int __attribute__((format(printf, 3, 4)))
vr_path(char *path, size_t size, const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vr_vpath(path, size, fmt, ap);
	va_end(ap);
	return err;
}

static int vr_write(const char *path, const char *value)
{
	size_t len = strlen(value);
	ssize_t n;
	int fd;

	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
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

/* Writes value to the sysfs file the rest of the arguments name. */
static int __attribute__((format(printf, 2, 3)))
vr_write_to(const char *value, const char *fmt, ...)
{
	char path[PATH_MAX];
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = vr_vpath(path, sizeof(path), fmt, ap);
	va_end(ap);
	return err ? err : vr_write(path, value);
}

/* Whether bus/pci/KIND/NAME exists: a device or a driver. */
static bool vr_pci_entry_exists(const char *kind, const char *name)
{
	char path[PATH_MAX];

	return !vr_path(path, sizeof(path), "bus/pci/%s/%s", kind, name) &&
	       access(path, F_OK) == 0;
}

/* One line of a sysfs file, without its newline. */
static int vr_read_line(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n < 0)
		return n;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int vr_device_attr(const char *dev, const char *attr, char *buf, size_t size)
{
	char path[PATH_MAX];
	int err = vr_path(path, sizeof(path), "bus/pci/devices/%s/%s", dev, attr);

	return err ? err : vr_read_line(path, buf, size);
}

bool vr_pci_exists(const char *dev)
{
	return vr_pci_entry_exists("devices", dev);
}

/* The last path component of the symlink at path. */
static int vr_link_name(const char *path, char *buf, size_t size)
{
	char target[PATH_MAX];
	const char *name;
	ssize_t n;

	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	name = strrchr(target, '/');
	snprintf(buf, size, "%s", name ? name + 1 : target);
	return 0;
}

int vr_pci_driver(const char *dev, char *buf, size_t size)
{
	char path[PATH_MAX];
	int err;

	err = vr_path(path, sizeof(path), "bus/pci/devices/%s/driver", dev);
	if (!err)
		err = vr_link_name(path, buf, size);
	if (err == -ENOENT) {
		buf[0] = '\0';
		return 0;
	}
	return err;
}

int vr_pci_override(const char *dev, char *buf, size_t size)
{
	int err = vr_device_attr(dev, "driver_override", buf, size);

	/* Absent only from a fixture tree: nothing to override there. */
	if (err == -ENOENT || (!err && !strcmp(buf, "(null)")))
		buf[0] = '\0';
	return err == -ENOENT ? 0 : err;
}

int vr_pci_modalias(const char *dev, char *buf, size_t size)
{
	return vr_device_attr(dev, "modalias", buf, size);
}

bool vr_pci_vf_without_autoprobe(const char *dev)
{
	char value[16];

	return !vr_device_attr(dev, "physfn/sriov_drivers_autoprobe", value, sizeof(value)) &&
	       !strcmp(value, "0");
}

bool vr_is_vfio_driver(const char *driver)
{
	return strstr(driver, "vfio") != NULL;
}

/* Driver names use '-' (pci-stub), module names '_' (pci_stub): compare both. */
static bool vr_name_is(const char *name, const char *dashed)
{
	for (; *name && *dashed; name++, dashed++)
		if (*name != *dashed && !(*name == '_' && *dashed == '-'))
			return false;
	return !*name && !*dashed;
}

bool vr_is_stub_driver(const char *driver)
{
	return vr_name_is(driver, "pci-stub") || vr_name_is(driver, "pci-pf-stub");
}

bool vr_is_host_driver(const char *driver)
{
	return *driver && !vr_is_vfio_driver(driver) && !vr_is_stub_driver(driver);
}

bool vr_pci_driver_registered(const char *driver)
{
	return vr_pci_entry_exists("drivers", driver);
}

int vr_module_pci_driver(const char *module, char *buf, size_t size)
{
	char path[PATH_MAX];
	struct dirent *de;
	int err, count = 0;
	DIR *dir;

	err = vr_path(path, sizeof(path), "module/%s/drivers", module);
	if (err)
		return err;
	dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	/* Entries are "BUS:DRIVER" links. */
	while ((de = readdir(dir))) {
		if (strncmp(de->d_name, "pci:", 4))
			continue;
		if (!count++)
			snprintf(buf, size, "%s", de->d_name + 4);
	}
	closedir(dir);
	return count;
}

/* The last path component of a symlink under the device ("" when absent). */
static void vr_device_link_name(const char *dev, const char *rel, char *buf, size_t size)
{
	char path[PATH_MAX];

	if (vr_path(path, sizeof(path), "bus/pci/devices/%s/%s", dev, rel) ||
	    vr_link_name(path, buf, size))
		buf[0] = '\0';
}

int vr_pci_pf_vf_on_vfio(const char *dev, char *vf, size_t vf_size, char *driver,
			 size_t driver_size)
{
	char value[16], rel[32];
	int i, numvfs;

	if (vr_device_attr(dev, "sriov_numvfs", value, sizeof(value)))
		return 0;
	numvfs = atoi(value);
	for (i = 0; i < numvfs; i++) {
		snprintf(rel, sizeof(rel), "virtfn%d/driver", i);
		vr_device_link_name(dev, rel, driver, driver_size);
		if (!vr_is_vfio_driver(driver))
			continue;
		snprintf(rel, sizeof(rel), "virtfn%d", i);
		vr_device_link_name(dev, rel, vf, vf_size);
		return numvfs;
	}
	driver[0] = '\0';
	return 0;
}

int vr_pci_driver_module(const char *driver, char *buf, size_t size)
{
	char path[PATH_MAX];
	int err;

	err = vr_path(path, sizeof(path), "bus/pci/drivers/%s/module", driver);
	return err ? err : vr_link_name(path, buf, size);
}

int vr_pci_unbind(const char *dev, const char *driver)
{
	return vr_write_to(dev, "bus/pci/drivers/%s/unbind", driver);
}

int vr_pci_set_override(const char *dev, const char *driver)
{
	/* An empty override is written as a lone newline. */
	return vr_write_to(*driver ? driver : "\n", "bus/pci/devices/%s/driver_override", dev);
}

int vr_pci_reprobe(const char *dev)
{
	return vr_write_to(dev, "bus/pci/drivers_probe");
}

int vr_pci_bind(const char *dev, const char *driver)
{
	return vr_write_to(dev, "bus/pci/drivers/%s/bind", driver);
}
