/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _VR_PROBES_H
#define _VR_PROBES_H

#include <linux/kprobes.h>

/*
 * kretprobe handlers, one entry/return pair per hooked function. They run
 * in atomic context: they only read what the probed function left and push
 * a record to the queue.
 */
#define VR_PROBE(name)							\
	int vr_##name##_entry(struct kretprobe_instance *ri,		\
			      struct pt_regs *regs);			\
	int vr_##name##_return(struct kretprobe_instance *ri,		\
			       struct pt_regs *regs)

VR_PROBE(register);
VR_PROBE(opened);
VR_PROBE(close);
VR_PROBE(unregister);
VR_PROBE(group_released);
VR_PROBE(dma_released);
VR_PROBE(group_claimed);
VR_PROBE(dma_claimed);

/* Per-call data kept between a probe's entry and return. */
#define VR_PROBE_DATA_SIZE 32

#endif
