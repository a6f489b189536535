// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The host driver's module, found and loaded with libkmod. drivers_probe
 * only offers a device to drivers already registered: a host driver whose
 * module was never loaded (or was unloaded while the device served a VM)
 * would never bind.
 */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <libkmod.h>

#include "commands.h"
#include "hostdriver.h"

/* Drivers that take any device they are told to: never a host driver. */
static bool vr_module_is_catch_all(const char *module)
{
	return !strncmp(module, "vfio", 4) || !strcmp(module, "pci_stub") ||
	       !strcmp(module, "pci_pf_stub");
}

/* libkmod's own reason for a failure (a bad config line, a failed insert). */
static void vr_kmod_log(void *data, int priority, const char *file, int line,
			const char *fn, const char *format, va_list args)
{
	(void)data;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	fprintf(stderr, "%s: libkmod: ", vr_prog);
	vfprintf(stderr, format, args);
}

static struct kmod_ctx *vr_kmod_new(void)
{
	struct kmod_ctx *ctx = kmod_new(NULL, NULL);

	if (ctx) {
		kmod_set_log_fn(ctx, vr_kmod_log, NULL);
		kmod_set_log_priority(ctx, LOG_ERR);
	}
	return ctx;
}

/* How many modules of a list are not catch-alls. */
static int vr_count_host_modules(struct kmod_list *list)
{
	struct kmod_list *l;
	int n = 0;

	kmod_list_foreach(l, list) {
		struct kmod_module *mod = kmod_module_get_module(l);

		n += !vr_module_is_catch_all(kmod_module_get_name(mod));
		kmod_module_unref(mod);
	}
	return n;
}

int vr_host_module_candidates(const char *key, bool apply_blacklist,
			      char (*mods)[VR_MODULE_NAME_MAX], int max, int *blacklisted)
{
	struct kmod_list *list = NULL, *kept = NULL, *l;
	struct kmod_ctx *ctx = vr_kmod_new();
	int err, count = 0;

	*blacklisted = 0;
	if (!ctx)
		return -ENOMEM;
	err = kmod_module_new_from_lookup(ctx, key, &list);
	if (err < 0)
		goto out;
	if (apply_blacklist) {
		/* As udev's autoload does: a blacklisted module is no candidate. */
		err = kmod_module_apply_filter(ctx, KMOD_FILTER_BLACKLIST, list, &kept);
		if (err < 0)
			goto out;
	}
	/* libkmod's order: modprobe.d aliases, then modules.alias (by priority). */
	kmod_list_foreach(l, apply_blacklist ? kept : list) {
		struct kmod_module *mod = kmod_module_get_module(l);
		const char *name = kmod_module_get_name(mod);

		if (!vr_module_is_catch_all(name) && count < max)
			snprintf(mods[count++], VR_MODULE_NAME_MAX, "%s", name);
		kmod_module_unref(mod);
	}
	if (apply_blacklist)
		*blacklisted = vr_count_host_modules(list) - vr_count_host_modules(kept);
	err = count;
out:
	kmod_module_unref_list(list);
	kmod_module_unref_list(kept);
	kmod_unref(ctx);
	return err;
}

int vr_host_module_load(const char *module, bool honour_blacklist, int *install_status)
{
	struct kmod_ctx *ctx = vr_kmod_new();
	struct kmod_module *mod = NULL;
	int err;

	*install_status = 0;
	if (!ctx)
		return -ENOMEM;
	err = kmod_module_new_from_name(ctx, module, &mod);
	if (!err)
		/* The module's install/softdep configuration is honoured, as by modprobe. */
		err = kmod_module_probe_insert_module(mod,
			honour_blacklist ? KMOD_PROBE_APPLY_BLACKLIST : 0,
			NULL, NULL, NULL, NULL);
	/* A positive answer names the flag that stopped it: the blacklist. */
	if (err > 0) {
		err = VR_MODULE_BLACKLISTED;
	} else if (err < 0 && mod && kmod_module_get_install_commands(mod)) {
		/*
		 * Not the blacklist: kmod 30's command_do logs the command's
		 * exit status and answers -EINVAL.
		 */
		*install_status = -err;
		err = VR_MODULE_INSTALL_FAILED;
	}
	kmod_module_unref(mod);
	kmod_unref(ctx);
	return err;
}
