// SPDX-License-Identifier: GPL-2.0
/*
 * Every kernel function the module hooks, in one table, installed and
 * removed in one place. A failed install removes what was installed before
 * it. Hooks in a module (vfio_pci_core) die with it: they are removed when
 * it goes and installed again when it comes back.
 */

#include <linux/kprobes.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/string.h>

#include <linux/pci.h>

#include "compat.h"
#include "hooks.h"
#include "probes.h"
#include "queue.h"
#include "scan.h"

#ifndef CONFIG_KRETPROBES
#error "vfio_release needs a kernel built with CONFIG_KRETPROBES"
#endif

/*
 * Closes and resets sleep, for seconds on slow hardware, and each sleeping
 * call holds one instance: every device of the host may close at once.
 * Hooks of calls that do not sleep long keep the kernel's usual number.
 */
static int maxactive;
module_param(maxactive, int, 0444);
MODULE_PARM_DESC(maxactive, "concurrent calls each sleeping hook can follow (default 0: one per PCI device at load, 64 to 1024)");

#define VR_MAXACTIVE_MIN 64
#define VR_MAXACTIVE_MAX 1024
/* What an administrator may ask for. */
#define VR_MAXACTIVE_LIMIT 8192

/* What a hook is. */
#define VR_OPTIONAL	BIT(0)	/* absent in some kernels; so are its callers */
#define VR_SLEEPS	BIT(1)	/* its calls can sleep for seconds */
#define VR_TIMING	BIT(2)	/* times closes: a miss leaves one untimed */
#define VR_LOSSLESS	BIT(3)	/* a miss loses no event: no re-read */
/* The iommufd path's: optional where the kernel has no such path. */
#define VR_IOMMUFD	(VR_IOMMUFD_PATH ? 0 : VR_OPTIONAL)
/*
 * The release only times closes, except on the iommufd path, where it
 * also says when a file stops holding its device: a miss loses that.
 */
#define VR_RELEASE	(VR_TIMING | (VR_IOMMUFD_PATH ? 0 : VR_LOSSLESS))

struct vr_hook {
	const char *symbol;
	const char *module;	/* the module that owns symbol, NULL if built in */
	unsigned int flags;
	kretprobe_handler_t entry;
	kretprobe_handler_t ret;
	struct kretprobe rp;
	bool armed;
	u64 missed_before;	/* misses counted by earlier installs */
};

#define VR_HOOK(_module, _symbol, _entry, _probe, _flags) {	\
	.symbol = _symbol,					\
	.module = _module,					\
	.flags = _flags,					\
	.entry = _entry,					\
	.ret = vr_##_probe##_return,				\
}

static struct vr_hook vr_hooks[] = {
	/*
	 * Where the last close begins, to time it whole, and where the file
	 * lets go of the device after it.
	 */
	VR_HOOK("vfio", "vfio_device_fops_release",
		vr_release_entry, release, VR_SLEEPS | VR_RELEASE),
	VR_HOOK("vfio_pci_core", "vfio_pci_core_register_device",
		vr_save_arg, register, VR_SLEEPS),
	VR_HOOK("vfio_pci_core", "vfio_pci_core_finish_enable",
		vr_save_arg, opened, 0),
	VR_HOOK("vfio_pci_core", "vfio_pci_core_close_device",
		vr_close_entry, close, VR_SLEEPS),
	VR_HOOK("vfio_pci_core", "vfio_pci_core_unregister_device",
		vr_save_arg, unregister, VR_SLEEPS),
	/* Tells a bus reset after a failed function reset at close. */
	VR_HOOK(NULL, "pci_reset_bus", vr_save_arg, bus_reset, VR_SLEEPS),
	VR_HOOK(NULL, "iommu_group_claim_dma_owner",
		vr_save_group, group_claimed, VR_SLEEPS),
	VR_HOOK(NULL, "iommu_group_release_dma_owner",
		vr_save_group, group_released, VR_SLEEPS),
	/* The iommufd path: the VFIO device cdev, or a group on an iommufd. */
	VR_HOOK(NULL, "iommu_device_claim_dma_owner",
		vr_save_arg, dma_claimed, VR_SLEEPS | VR_IOMMUFD),
	VR_HOOK(NULL, "iommu_device_release_dma_owner",
		vr_save_arg, dma_released, VR_SLEEPS | VR_IOMMUFD),
};

/* Serializes arming against the module notifier and readers of nmissed. */
static DEFINE_MUTEX(vr_hooks_mutex);

static void vr_hook_explain(const struct vr_hook *h, int err)
{
	if (err == -ENOENT && h->module)
		pr_err("cannot hook %s: symbol not found; is module %s loaded? (modprobe vfio-pci)\n",
		       h->symbol, h->module);
	else if (err == -ENOENT)
		pr_err("cannot hook %s: symbol not found in this kernel\n",
		       h->symbol);
	else if (err == -EINVAL)
		pr_err("cannot hook %s: not at a probe-able function entry (inlined or blacklisted)\n",
		       h->symbol);
	else
		pr_err("cannot hook %s: register_kretprobe failed (%d)\n",
		       h->symbol, err);
}

static int vr_hook_arm(struct vr_hook *h)
{
	int ret;

	if (h->armed)
		return 0;
	/* A kretprobe cannot be registered twice: start from a clean one. */
	memset(&h->rp, 0, sizeof(h->rp));
	h->rp.kp.symbol_name = h->symbol;
	h->rp.entry_handler = h->entry;
	h->rp.handler = h->ret;
	h->rp.data_size = VR_PROBE_DATA_SIZE;
	h->rp.maxactive = h->flags & VR_SLEEPS ? maxactive : VR_MAXACTIVE_MIN;

	ret = register_kretprobe(&h->rp);
	if (ret == -ENOENT && (h->flags & VR_OPTIONAL)) {
		pr_info("%s is not in this kernel: not hooked\n", h->symbol);
		return 0;
	}
	if (ret) {
		vr_hook_explain(h, ret);
		return ret;
	}
	h->armed = true;
	return 0;
}

static void vr_hook_disarm(struct vr_hook *h)
{
	if (!h->armed)
		return;
	unregister_kretprobe(&h->rp);
	h->missed_before += h->rp.nmissed + h->rp.kp.nmissed;
	h->armed = false;
}

static bool vr_hook_of(const struct vr_hook *h, const char *module)
{
	if (!module)
		return true;
	return h->module && !strcmp(h->module, module);
}

/* Arms the hooks of one module (NULL: all); all or none of them. */
static int vr_hooks_arm(const char *module)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(vr_hooks); i++) {
		if (!vr_hook_of(&vr_hooks[i], module))
			continue;
		ret = vr_hook_arm(&vr_hooks[i]);
		if (ret)
			goto rollback;
	}
	return 0;

rollback:
	while (i--)
		if (vr_hook_of(&vr_hooks[i], module))
			vr_hook_disarm(&vr_hooks[i]);
	return ret;
}

static void vr_hooks_disarm(const char *module)
{
	int i;

	for (i = ARRAY_SIZE(vr_hooks) - 1; i >= 0; i--)
		if (vr_hook_of(&vr_hooks[i], module))
			vr_hook_disarm(&vr_hooks[i]);
}

static bool vr_hooks_module(const char *module)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(vr_hooks); i++)
		if (vr_hooks[i].module && !strcmp(vr_hooks[i].module, module))
			return true;
	return false;
}

static u64 vr_hook_misses(const struct vr_hook *h)
{
	u64 missed = h->missed_before;

	if (h->armed)
		missed += READ_ONCE(h->rp.nmissed) + READ_ONCE(h->rp.kp.nmissed);
	return missed;
}

/* The misses of the hooks whose flags in @mask are @want. */
static u64 vr_hooks_missed_of(unsigned int mask, unsigned int want)
{
	u64 missed = 0;
	int i;

	mutex_lock(&vr_hooks_mutex);
	for (i = 0; i < ARRAY_SIZE(vr_hooks); i++)
		if ((vr_hooks[i].flags & mask) == want)
			missed += vr_hook_misses(&vr_hooks[i]);
	mutex_unlock(&vr_hooks_mutex);
	return missed;
}

u64 vr_hooks_missed(void)
{
	return vr_hooks_missed_of(VR_LOSSLESS, 0);
}

u64 vr_hooks_timing_missed(void)
{
	return vr_hooks_missed_of(VR_TIMING, VR_TIMING);
}

/* Every device is read again, in order with the records around it. */
static void vr_push_rearmed(void)
{
	struct vr_record rec = { .kind = VR_REC_REARMED };

	vr_queue_push(&rec);
}

static int vr_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct module *mod = data;

	/* Any module may drive vfio devices a scan is reading. */
	if (action == MODULE_STATE_GOING)
		vr_scan_barrier();
	if (!vr_hooks_module(mod->name))
		return NOTIFY_DONE;

	mutex_lock(&vr_hooks_mutex);
	if (action == MODULE_STATE_GOING) {
		vr_hooks_disarm(mod->name);
		pr_info("%s is going: its hooks are removed until it returns\n",
			mod->name);
	} else if (action == MODULE_STATE_LIVE) {
		if (vr_hooks_arm(mod->name))
			pr_err("%s is back but could not be hooked again: devices it drives are NOT watched\n",
			       mod->name);
		else
			vr_push_rearmed();
	}
	mutex_unlock(&vr_hooks_mutex);
	return NOTIFY_DONE;
}

static struct notifier_block vr_module_nb = {
	.notifier_call = vr_module_notify,
};

static int vr_count_device(struct device *dev, void *count)
{
	(*(int *)count)++;
	return 0;
}

static void vr_size_maxactive(void)
{
	int devices = 0;

	if (maxactive > 0) {
		maxactive = min(maxactive, VR_MAXACTIVE_LIMIT);
		return;
	}
	bus_for_each_dev(&pci_bus_type, NULL, &devices, vr_count_device);
	maxactive = clamp(devices, VR_MAXACTIVE_MIN, VR_MAXACTIVE_MAX);
}

/*
 * The module notifier comes first: a vfio_pci_core loaded or unloaded
 * while the hooks are armed is never missed.
 */
int vr_hooks_init(void)
{
	int ret;

	vr_size_maxactive();
	/* Every release the hook can follow at once gets a start slot. */
	ret = vr_probes_init(maxactive);
	if (ret) {
		pr_err("cannot allocate the release table for %d releases (%d)\n",
		       maxactive, ret);
		return ret;
	}
	ret = register_module_notifier(&vr_module_nb);
	if (ret) {
		pr_err("cannot watch module loads (%d)\n", ret);
		goto err_probes;
	}
	mutex_lock(&vr_hooks_mutex);
	ret = vr_hooks_arm(NULL);
	mutex_unlock(&vr_hooks_mutex);
	if (ret)
		goto err_notifier;
	return 0;

err_notifier:
	/*
	 * A vfio module that came up while the arm failed may have been
	 * armed by the notifier meanwhile: remove whatever is armed.
	 */
	unregister_module_notifier(&vr_module_nb);
	mutex_lock(&vr_hooks_mutex);
	vr_hooks_disarm(NULL);
	mutex_unlock(&vr_hooks_mutex);
err_probes:
	vr_probes_exit();
	return ret;
}

void vr_hooks_exit(void)
{
	unregister_module_notifier(&vr_module_nb);
	mutex_lock(&vr_hooks_mutex);
	vr_hooks_disarm(NULL);
	mutex_unlock(&vr_hooks_mutex);
	/* unregister_kretprobes() waited for every handler in flight. */
	vr_probes_exit();
}
