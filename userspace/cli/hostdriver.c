// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host driver's module, found and loaded with libkmod. drivers_probe
 * only offers a device to drivers already registered: a host driver whose
 * module was never loaded (or was unloaded while the device served a VM)
 * would never bind.
 */

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <libkmod.h>

#include "hostdriver.h"

/* Drivers that take any device they are told to: never a host driver. */
static bool vr_module_is_catch_all(const char *module)
{
	return !strncmp(module, "vfio", 4) || !strcmp(module, "pci_stub") ||
	       !strcmp(module, "pci_pf_stub");
}

static struct kmod_ctx *vr_kmod_new(void)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);

	if (ctx)
		kmod_set_log_priority(ctx, 0);
	return ctx;
}

int vr_host_module_lookup(const char *key, char *module, size_t size)
{
	struct kmod_list *list = NULL, *l;
	struct kmod_ctx *ctx = vr_kmod_new();
	int err;

	if (!ctx)
		return -ENOMEM;
	err = kmod_module_new_from_lookup(ctx, key, &list);
	if (!err)
		err = -ENOENT;
	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);
		const char *name = kmod_module_get_name(mod);

		if (err && !vr_module_is_catch_all(name)) {
			snprintf(module, size, "%s", name);
			err = 0;
		}
		kmod_module_unref(mod);
	}
	kmod_module_unref_list(list);
	kmod_unref(ctx);
	return err;
}

int vr_host_module_load(const char *module, bool honour_blacklist)
{
	struct kmod_ctx *ctx = vr_kmod_new();
	struct kmod_module *mod = NULL;
	int err;

	if (!ctx)
		return -ENOMEM;
	err = kmod_module_new_from_name(ctx, module, &mod);
	if (!err)
		/* The module's install/softdep configuration is honoured, as by modprobe. */
		err = kmod_module_probe_insert_module(mod,
			honour_blacklist ? KMOD_PROBE_APPLY_BLACKLIST : 0,
			NULL, NULL, NULL, NULL);
	/* A positive answer names the flag that stopped it: the blacklist. */
	if (err > 0)
		err = -EPERM;
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return err;
}
