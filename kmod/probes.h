/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_PROBES_H
#define _VR_PROBES_H

#include <linux/kprobes.h>

/*
 * kretprobe handlers. They run in atomic context: they only read what the
 * probed function left and push a record to the queue.
 *
 * Entry handlers keep what the return handler needs: the first argument
 * (vr_save_arg), an IOMMU group's number (vr_save_group), or their own.
 */
int vr_save_arg(struct kretprobe_instance *ri, struct pt_regs *regs);
int vr_save_group(struct kretprobe_instance *ri, struct pt_regs *regs);
int vr_close_entry(struct kretprobe_instance *ri, struct pt_regs *regs);
int vr_unregister_entry(struct kretprobe_instance *ri, struct pt_regs *regs);

#define VR_PROBE_RETURN(name)						\
	int vr_##name##_return(struct kretprobe_instance *ri,		\
			       struct pt_regs *regs)

VR_PROBE_RETURN(register);
VR_PROBE_RETURN(opened);
VR_PROBE_RETURN(close);
VR_PROBE_RETURN(unregister);
VR_PROBE_RETURN(group_released);
VR_PROBE_RETURN(dma_released);
VR_PROBE_RETURN(group_claimed);
VR_PROBE_RETURN(dma_claimed);

/* Per-call data kept between a probe's entry and return. */
#define VR_PROBE_DATA_SIZE 32

#endif
