// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Why a device is not free, from its record and the system: the process
 * holding a VFIO file for it (/proc/PID/fd), the open sibling claiming its
 * IOMMU group (/sys/kernel/iommu_groups/N/devices), the open device its
 * bus reset waits for (the devices below its parent bridge).
 *
 * Everything read here may change or vanish while it is read: a process
 * that exits, a directory that cannot be read, is skipped without a word,
 * and the answer is the best found.
 */

#define _GNU_SOURCE	/* qsort_r */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "holders.h"

static const char *vr_proc_root = "/proc";
static const char *vr_sys_root = "/sys";

void vr_holders_set_roots(const char *proc_root, const char *sys_root)
{
	vr_proc_root = proc_root ? proc_root : "/proc";
	vr_sys_root = sys_root ? sys_root : "/sys";
}

/* What one process holds of the device's files, as bits. */
enum {
	VR_HOLDS_CDEV = 1,	/* its /dev/vfio/devices/vfioN: it alone is that device */
	VR_HOLDS_GROUP = 2,	/* its group's /dev/vfio/N (or noiommu-N) */
	VR_HOLDS_ANON = 4,	/* some anon_inode:[vfio-device]: which device is unknown */
};

/* The paths a holder's fd links read as; "" when not known. */
struct vr_targets {
	char cdev[VFIO_RELEASE_DEVICE_NAME_MAX + 32];
	char group[48];
	char noiommu[48];
	unsigned int wanted;	/* the VR_HOLDS_* bits that count */
};

/* The link targets are compared as text: a namespace's /dev says the same. */
static unsigned int vr_classify(const struct vr_targets *t, const char *target)
{
	if (t->cdev[0] && !strcmp(target, t->cdev))
		return VR_HOLDS_CDEV;
	if (t->group[0] && (!strcmp(target, t->group) || !strcmp(target, t->noiommu)))
		return VR_HOLDS_GROUP;
	if (!strcmp(target, "anon_inode:[vfio-device]"))
		return VR_HOLDS_ANON;
	return 0;
}

/*
 * A directory that could not be opened for want of resources (out of file
 * descriptors, of memory): the scan is then no proof that nobody holds
 * the device, unlike a process that is gone or not ours to read.
 */
static bool vr_scan_failed(int err)
{
	return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/*
 * The bits process pid holds; *budget is the readlinks left to the whole
 * scan. A process that is gone or not readable holds nothing; -EMFILE
 * (or -ENFILE, -ENOMEM) when its files could not be read.
 */
static int vr_scan_process(const struct vr_targets *t, const char *pid, unsigned long *budget)
{
	char path[PATH_MAX], target[PATH_MAX];
	unsigned int held = 0, n = 0;
	struct dirent *de;
	DIR *dir;

	if (snprintf(path, sizeof(path), "%s/%s/fd", vr_proc_root, pid) >= (int)sizeof(path))
		return 0;
	dir = opendir(path);
	if (!dir)
		return vr_scan_failed(errno) ? -errno : 0;
	while (*budget && n < VR_HOLDER_MAX_FDS_PER_PROC && (de = readdir(dir))) {
		ssize_t len;

		if (de->d_name[0] == '.')
			continue;
		(*budget)--;
		n++;
		len = readlinkat(dirfd(dir), de->d_name, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		held |= vr_classify(t, target) & t->wanted;
		if (held & VR_HOLDS_CDEV)
			break;
	}
	closedir(dir);
	return held;
}

/* A file's first line, without its newline: "" when it cannot be read. */
static void vr_read_line(const char *path, char *out, size_t size)
{
	FILE *f = fopen(path, "re");

	out[0] = '\0';
	if (!f)
		return;
	if (!fgets(out, size, f))
		out[0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	fclose(f);
}

static void vr_read_comm(uint32_t pid, char *comm)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%u/comm", vr_proc_root, pid);
	vr_read_line(path, comm, VFIO_RELEASE_DEVICE_NAME_MAX);
}

/* The device's VFIO character device (iommufd era): /dev/vfio/devices/vfioN. */
static void vr_cdev_path(const char *device, char *out, size_t size)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s/vfio-dev", vr_sys_root, device);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, "vfio", 4)) {
			if (snprintf(out, size, "/dev/vfio/devices/%s", de->d_name) >= (int)size)
				out[0] = '\0';
			break;
		}
	closedir(dir);
}

static bool vr_is_pid(const char *name)
{
	if (!*name)
		return false;
	for (; *name; name++)
		if (*name < '0' || *name > '9')
			return false;
	return true;
}

/*
 * Who holds the device, best first: the kernel's opener if it holds the
 * device's or the group's file; anyone holding the device's own cdev (no
 * one else can); a holder of the group file that also holds some device
 * file, then any holder of it; last the opener holding only an anonymous
 * device file, which cannot be tied to a device from /proc but was the
 * kernel's opener.
 */
int vr_find_holder(const char *device, int64_t group, uint32_t opener,
		   bool group_only, uint32_t *pid, char *comm)
{
	struct vr_targets t = { .wanted = VR_HOLDS_GROUP };
	uint32_t group_anon = 0, group_any = 0, found = 0;
	unsigned long budget = VR_HOLDER_MAX_FDS;
	unsigned int procs = 0;
	int opener_held = 0, err = 0;
	char name[16];
	struct dirent *de;
	DIR *dir;

	*pid = 0;
	comm[0] = '\0';
	if (!group_only) {
		t.wanted |= VR_HOLDS_CDEV | VR_HOLDS_ANON;
		vr_cdev_path(device, t.cdev, sizeof(t.cdev));
	}
	if (group >= 0) {
		snprintf(t.group, sizeof(t.group), "/dev/vfio/%lld", (long long)group);
		snprintf(t.noiommu, sizeof(t.noiommu), "/dev/vfio/noiommu-%lld", (long long)group);
	}
	if (opener) {
		snprintf(name, sizeof(name), "%u", opener);
		opener_held = vr_scan_process(&t, name, &budget);
		if (opener_held < 0)
			return opener_held;
		if (opener_held & (VR_HOLDS_CDEV | VR_HOLDS_GROUP))
			found = opener;
	}
	dir = found ? NULL : opendir(vr_proc_root);
	if (!found && !dir && vr_scan_failed(errno))
		return -errno;
	while (dir && budget && procs < VR_HOLDER_MAX_PROCS && (de = readdir(dir))) {
		int held;
		uint32_t p;

		if (!vr_is_pid(de->d_name))
			continue;
		p = strtoul(de->d_name, NULL, 10);
		if (p == opener)
			continue;
		procs++;
		held = vr_scan_process(&t, de->d_name, &budget);
		/* A process not read may be the one: a lesser candidate is no answer. */
		if (held < 0) {
			err = held;
			break;
		}
		if (held & VR_HOLDS_CDEV) {
			found = p;
			break;
		}
		if ((held & VR_HOLDS_GROUP) && (held & VR_HOLDS_ANON) && !group_anon)
			group_anon = p;
		else if ((held & VR_HOLDS_GROUP) && !group_any)
			group_any = p;
	}
	if (dir)
		closedir(dir);
	if (err && !found)
		return err;
	if (!found)
		found = group_anon ? group_anon : group_any;
	if (!found && (opener_held & VR_HOLDS_ANON))
		found = opener;
	*pid = found;
	if (found)
		vr_read_comm(found, comm);
	return found != 0;
}

/* A name sysfs gives a PCI device: the canonical address. */
static bool vr_is_pci_name(const char *name)
{
	char canon[VFIO_RELEASE_DEVICE_NAME_MAX];

	return !vfio_release_parse_device(name, canon, sizeof(canon)) && !strcmp(canon, name);
}

struct vr_names {
	char (*name)[VFIO_RELEASE_DEVICE_NAME_MAX];
	unsigned int count;
};

static int vr_names_add(struct vr_names *n, const char *name)
{
	if (n->count >= VR_HOLDER_MAX_SIBLINGS || strlen(name) >= sizeof(n->name[0]))
		return -ENOSPC;
	if (!n->name) {
		n->name = calloc(VR_HOLDER_MAX_SIBLINGS, sizeof(n->name[0]));
		if (!n->name)
			return -ENOMEM;
	}
	strcpy(n->name[n->count++], name);
	return 0;
}

/* The PCI devices in dir and, down to depth more levels, below them. */
static void vr_list_pci(const char *dir_path, int depth, struct vr_names *n)
{
	struct dirent *de;
	DIR *dir = opendir(dir_path);

	if (!dir)
		return;
	while ((de = readdir(dir))) {
		char sub[PATH_MAX];

		if (!vr_is_pci_name(de->d_name) || vr_names_add(n, de->d_name))
			continue;
		/* A bridge's secondary bus is reset with it. */
		if (depth > 0 &&
		    snprintf(sub, sizeof(sub), "%s/%s", dir_path, de->d_name) < (int)sizeof(sub))
			vr_list_pci(sub, depth - 1, n);
	}
	closedir(dir);
}

/* Bridges nest this deep below a device's parent at most, here. */
#define VR_RESET_DOMAIN_DEPTH 8

/* Devices of self's slot (same bus and device number) first, then by name. */
static int vr_slot_first(const void *a, const void *b, void *self)
{
	size_t slot = strlen(self) - 1;	/* "DDDD:BB:DD." without the function */
	bool sa = !strncmp(a, self, slot), sb = !strncmp(b, self, slot);

	if (sa != sb)
		return sa ? -1 : 1;
	return strcmp(a, b);
}

/*
 * The device's reset domain as read here: every PCI device below its
 * parent in sysfs (the bridge whose secondary bus reset resets them all,
 * or the root bus), those of its own slot first, as the kernel prefers a
 * slot reset where the slot offers one. A superset of the kernel's set:
 * only a device found open is named.
 */
static void vr_reset_domain(const char *device, struct vr_names *n)
{
	char path[PATH_MAX], *real, *slash;

	snprintf(path, sizeof(path), "%s/bus/pci/devices/%s", vr_sys_root, device);
	real = realpath(path, NULL);
	if (!real)
		return;
	slash = strrchr(real, '/');
	if (slash && slash != real) {
		*slash = '\0';
		vr_list_pci(real, VR_RESET_DOMAIN_DEPTH, n);
	}
	free(real);
	if (n->count)
		qsort_r(n->name, n->count, sizeof(n->name[0]), vr_slot_first, (void *)device);
}

static int vr_by_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void vr_group_devices(uint64_t group, struct vr_names *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/kernel/iommu_groups/%llu/devices", vr_sys_root,
		 (unsigned long long)group);
	dir = opendir(path);
	if (!dir)
		return;
	while ((de = readdir(dir)))
		if (de->d_name[0] != '.')
			vr_names_add(n, de->d_name);
	closedir(dir);
	if (n->count)
		qsort(n->name, n->count, sizeof(n->name[0]), vr_by_name);
}

/*
 * The first of names, other than self, whose record says open: into who.
 * No lookup is begun past deadline (monotonic ns, 0: none): a device not
 * read in time is not named.
 */
static bool vr_first_open(const struct vr_names *n, const char *self,
			  vr_record_lookup lookup, void *arg, uint64_t deadline, char *who)
{
	unsigned int i;

	for (i = 0; i < n->count; i++) {
		struct vfio_release_event *rec = NULL;
		bool open;

		if (deadline && vr_clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (!strcmp(n->name[i], self) || lookup(n->name[i], &rec, arg))
			continue;
		open = vfio_release_event_get_state(rec) == VFIO_RELEASE_STATE_OPEN;
		vfio_release_event_unref(rec);
		if (open) {
			snprintf(who, VFIO_RELEASE_DEVICE_NAME_MAX, "%s", n->name[i]);
			return true;
		}
	}
	return false;
}

static enum vfio_release_block vr_explain_open(const struct vfio_release_event *rec,
					       int64_t group, uint32_t *pid, char *comm)
{
	const char *device = vfio_release_event_get_device(rec);
	const char *opener_comm;
	uint64_t opener = 0;

	vfio_release_event_get_u64(rec, VFIO_RELEASE_A_OPENER_PID, &opener);
	/* Not found, or not known (the scan failed): pid 0 either way. */
	if (vr_find_holder(device, group, opener, false, pid, comm) <= 0)
		return VFIO_RELEASE_BLOCK_OPEN;
	/* The opener exited between the scan and the read of its comm. */
	if (!comm[0] && *pid == opener &&
	    !vfio_release_event_get_string(rec, VFIO_RELEASE_A_OPENER_COMM, &opener_comm))
		snprintf(comm, VFIO_RELEASE_DEVICE_NAME_MAX, "%s", opener_comm);
	return VFIO_RELEASE_BLOCK_OPEN;
}

/*
 * Released but not free: its group is claimed. An open sibling of the
 * group explains it first (it claims the group, and usually shares the
 * reset domain too); then a bus reset that waits for an open device of
 * the domain; else the group is held without an open device, by the
 * group file's holder.
 */
static enum vfio_release_block vr_explain_released(const struct vfio_release_event *rec,
						   int64_t group, vr_record_lookup lookup,
						   void *arg, uint64_t deadline, uint32_t *pid,
						   char *comm, char *who)
{
	const char *device = vfio_release_event_get_device(rec);
	enum vfio_release_block block = VFIO_RELEASE_BLOCK_GROUP_CLAIMED;
	struct vr_names n = { 0 };
	uint64_t reset = VFIO_RELEASE_RESET_UNKNOWN;

	if (group >= 0) {
		vr_group_devices(group, &n);
		if (vr_first_open(&n, device, lookup, arg, deadline, who))
			goto out;
	}
	vfio_release_event_get_u64(rec, VFIO_RELEASE_A_RESET, &reset);
	if (reset == VFIO_RELEASE_RESET_BUS_PENDING) {
		block = VFIO_RELEASE_BLOCK_BUS_PENDING;
		n.count = 0;
		vr_reset_domain(device, &n);
		vr_first_open(&n, device, lookup, arg, deadline, who);
		goto out;
	}
	if (group >= 0)
		vr_find_holder(device, group, 0, true, pid, comm);
out:
	free(n.name);
	return block;
}

enum vfio_release_block vr_block_explain(const struct vfio_release_event *rec,
					 vr_record_lookup lookup, void *arg, unsigned int budget_ms,
					 uint32_t *pid, char *comm, char *who)
{
	uint64_t deadline = budget_ms ? vr_clock_ns(CLOCK_MONOTONIC) + budget_ms * 1000000ULL : 0;
	uint64_t group;
	int64_t g = -1;

	*pid = 0;
	comm[0] = '\0';
	who[0] = '\0';
	if (!rec)
		return VFIO_RELEASE_BLOCK_UNKNOWN;
	if (vfio_release_event_get_type(rec) == VFIO_RELEASE_CMD_DEVICE_REMOVED)
		return VFIO_RELEASE_BLOCK_REMOVED;
	if (!vfio_release_event_get_u64(rec, VFIO_RELEASE_A_IOMMU_GROUP, &group))
		g = group;
	switch (vfio_release_event_get_state(rec)) {
	case VFIO_RELEASE_STATE_FREE:
		return VFIO_RELEASE_BLOCK_NONE;
	case VFIO_RELEASE_STATE_OPEN:
		return vr_explain_open(rec, g, pid, comm);
	case VFIO_RELEASE_STATE_RELEASED:
		return vr_explain_released(rec, g, lookup, arg, deadline, pid, comm, who);
	default:
		return VFIO_RELEASE_BLOCK_UNKNOWN;
	}
}

VR_EXPORT const char *vfio_release_block_name(enum vfio_release_block block)
{
	switch (block) {
	case VFIO_RELEASE_BLOCK_NONE:
		return "none";
	case VFIO_RELEASE_BLOCK_OPEN:
		return "open";
	case VFIO_RELEASE_BLOCK_GROUP_CLAIMED:
		return "group-claimed";
	case VFIO_RELEASE_BLOCK_BUS_PENDING:
		return "bus-pending";
	case VFIO_RELEASE_BLOCK_UNKNOWN:
		return "unknown";
	case VFIO_RELEASE_BLOCK_REMOVED:
		return "removed";
	}
	return "unknown";
}
