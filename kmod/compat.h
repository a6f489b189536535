/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels the module builds for, so that the
 * rest of the code reads like one kernel.
 */
#ifndef _VR_COMPAT_H
#define _VR_COMPAT_H

#include <linux/fs.h>
#include <linux/sched.h>
#include <linux/string.h>
#include <linux/vfio.h>

/*
 * get_task_comm() takes task_lock, a sleeping lock on PREEMPT_RT, until
 * 6.13. Probes copy the current task's comm without it: a rename racing
 * with the copy can at worst mix two names, and the copy is always
 * terminated.
 */
static inline void vr_current_comm(char comm[TASK_COMM_LEN])
{
	memcpy(comm, current->comm, TASK_COMM_LEN);
	comm[TASK_COMM_LEN - 1] = '\0';
}

/*
 * Which vfio device a release of a device file is for. Up to 6.4 the
 * file's private data is the vfio_device; from the per-file structure of
 * 6.5 on (struct vfio_device_file, private to vfio) it is that structure,
 * whose first member is the vfio_device (see vfio_device_fops_release in
 * drivers/vfio/vfio_main.c). Both candidates are read in the release's
 * own entry, while the file holds them; each kernel's other candidate is
 * the address of another live object (the device's struct device, the
 * per-file structure), so it never equals a vfio_device that is closing.
 * Should a kernel reorder that private structure, closes go untimed
 * (close_ns 0, said in the log), never wrongly timed.
 */
struct vr_release_key {
	const void *data;	/* the file's private data */
	const void *first;	/* its first word */
};

static inline struct vr_release_key vr_release_key(const struct file *filep)
{
	struct vr_release_key key = { .data = filep->private_data };

	if (key.data)
		key.first = *(const void * const *)key.data;
	return key;
}

/*
 * The iommufd path (a device bound through its VFIO cdev, or opened
 * through a group whose container is an iommufd) claims DMA ownership one
 * device at a time, iommu_device_claim_dma_owner() and
 * iommu_device_release_dma_owner() (drivers/iommu/iommufd/device.c). A
 * last close gives it back inside the release of the device file; so do,
 * outside any release, a bind or a group open that fails after the claim,
 * and the release of an iommufd that still had the device's object
 * (drivers/iommu/iommufd/main.c). Kernels built without IOMMUFD never
 * call them: 6.1 has neither, Debian's 6.12 has both unused. Their hooks
 * are optional there, and required with IOMMUFD: a kernel that has the
 * path and could not be hooked would never report such a device free.
 */
#define VR_IOMMUFD_PATH IS_ENABLED(CONFIG_IOMMUFD)

static inline bool vr_release_key_is(const struct vr_release_key *key,
				     const struct vfio_device *vdev)
{
	return key->data == vdev || key->first == vdev;
}

/*
 * A vfio device's registration count (vfio_device.refcount, 6.1 and 6.12)
 * is the driver's 1 while registered, plus one for each file of the
 * device, bound or not (vfio_device_try_get_registration and
 * vfio_device_put_registration in drivers/vfio/vfio_main.c). A release
 * drops its file's count last, after the device set's lock: a reading
 * is not ordered with it, and says what held at that moment.
 * Unregistration drops the driver's 1 first; a scan sees no such device
 * on 6.12, which deletes it before (vfio_unregister_group_dev).
 */
static inline bool vr_device_has_users(const struct vfio_device *vdev)
{
	return refcount_read(&vdev->refcount) > 1;
}

/* In a release of one of @vdev's files: whether another file holds it. */
static inline bool vr_device_other_files(const struct vfio_device *vdev)
{
	return refcount_read(&vdev->refcount) > 2;
}

#endif
