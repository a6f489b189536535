/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between the kernels the module builds for, so that the
 * rest of the code reads like one kernel.
 */
#ifndef _VR_COMPAT_H
#define _VR_COMPAT_H

#include <linux/sched.h>
#include <linux/string.h>

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

#endif
