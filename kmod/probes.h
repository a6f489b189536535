/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_PROBES_H
#define _VR_PROBES_H

#include <linux/kprobes.h>

/*
 * kretprobe handlers. They run in atomic context (preemption off, on
 * PREEMPT_RT too): they read what the probed function's caller keeps
 * stable, copy it into a record and queue it. No sleeping lock, no
 * allocation.
 *
 * Entry handlers keep what the return handler needs: the first argument
 * (vr_save_arg), an IOMMU group's number (vr_save_group), or their own.
 * They may run as an NMI (an entry kprobe that is an int3, on a kernel
 * without FUNCTION_TRACER): no lock of any kind, no clock but
 * ktime_get_mono_fast_ns(), no record and no queueing. Return handlers
 * run from the return trampoline, never as an NMI.
 */
int vr_save_arg(struct kretprobe_instance *ri, struct pt_regs *regs);
int vr_save_group(struct kretprobe_instance *ri, struct pt_regs *regs);
int vr_release_entry(struct kretprobe_instance *ri, struct pt_regs *regs);
int vr_close_entry(struct kretprobe_instance *ri, struct pt_regs *regs);

#define VR_PROBE_RETURN(name)						\
	int vr_##name##_return(struct kretprobe_instance *ri,		\
			       struct pt_regs *regs)

VR_PROBE_RETURN(release);
VR_PROBE_RETURN(register);
VR_PROBE_RETURN(opened);
VR_PROBE_RETURN(close);
VR_PROBE_RETURN(unregister);
VR_PROBE_RETURN(group_released);
VR_PROBE_RETURN(dma_released);
VR_PROBE_RETURN(group_claimed);
VR_PROBE_RETURN(dma_claimed);
VR_PROBE_RETURN(bus_reset);

/* How well closes were timed since the module loaded. */
struct vr_probe_stats {
	u64 untimed;		/* closes whose release start was not found */
	u64 key_mismatch;	/* of them, in a release of another key */
	u64 no_slot;		/* releases that found no free start slot */
	unsigned int in_use;	/* releases in flight with a slot now */
};

/* Room for @releases releases in flight at once, before the hooks arm. */
int vr_probes_init(unsigned int releases);
/* After the hooks are removed. */
void vr_probes_exit(void);
void vr_probes_stats(struct vr_probe_stats *st);

/* Per-call data kept between a probe's entry and return. */
#define VR_PROBE_DATA_SIZE 48

#endif
