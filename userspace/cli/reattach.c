// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * vfio-release reattach DEVICE [--driver NAME [--force]] [--timeout SECONDS] [--restore]
 *
 * The way back to the host driver that cannot strand a device:
 *
 *  0. One reattach per device (devlock.h): a second one while the first,
 *     or its background finisher, still works on the device exits 2.
 *  1. Find the host driver before touching anything: --driver NAME (whose
 *     module must match the device's modalias, unless --force), or the
 *     modules serving the device's modalias (libkmod, blacklist applied),
 *     to be tried in turn.
 *  2. Wait until the device is free, load the driver's module, and check
 *     again that it is still free (it may have been reopened).
 *  3. Still bound to its VFIO driver, point driver_override at the host
 *     driver. The override wins over every ID table, vfio-pci's dynamic
 *     ids (new_id, ids=) included, and lets the kernel probe a VF whose
 *     PF has sriov_drivers_autoprobe=0 (pci_match_device and
 *     pci_device_can_probe, drivers/pci/pci-driver.c, 6.1 and 6.12).
 *  4. Unbind, probe, and once the host driver has it, clear
 *     driver_override: every write by a detached child, bounded by the
 *     timeout (unbind.h), which finishes alone if a write outlasts it.
 *
 * Exit status: 0 on the host driver; 1 timed out, device untouched; 2 an
 * error with nothing changed; 3 changed but not on the host driver (or not
 * yet: a write still blocked), with the state it was left in on stderr
 * (with --restore, back on its VFIO driver if that worked).
 */

#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "devlock.h"
#include "hostdriver.h"
#include "output.h"
#include "sysfs.h"
#include "unbind.h"

/* Not an exit status: carry on with the next step. */
#define VR_CONTINUE (-1)
/* Not an exit status: the device was reopened, wait again. */
#define VR_RETRY (-2)
/* Not an exit status: nothing left to do, exit 0 (someone else bound it). */
#define VR_DONE (-3)

struct vr_reattach {
	const char *dev;
	const char *want;		/* --driver NAME, or NULL */
	bool force;			/* --force */
	bool restore;			/* --restore */
	long long start_ms;
	long long deadline_ms;		/* CLOCK_MONOTONIC; -1: no timeout */
	struct vfio_release *vr;	/* only for a device on a VFIO driver */
	int lock_fd;
	char from[VR_DRIVER_NAME_MAX];		/* bound to at the start, "" none */
	char from_override[VR_DRIVER_NAME_MAX];	/* its driver_override then */
	/* The host driver's module candidates, in libkmod's order. */
	char modules[VR_MODULE_CANDIDATES_MAX][VR_MODULE_NAME_MAX];
	int nmodules;
	/* The PCI drivers to try, in that order, once known. */
	char targets[VR_MODULE_CANDIDATES_MAX][VR_MODULE_NAME_MAX];
	int ntargets;
};

static void vr_sleep_ms(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Milliseconds left before the deadline (0 when past), -1 without one. */
static int vr_left_ms(const struct vr_reattach *r)
{
	return r->deadline_ms < 0 ? -1 : vr_ms_left(r->deadline_ms, INT_MAX);
}

/*
 * Test-only: VFIO_RELEASE_TEST_PAUSE=STEP:MS sleeps MS at STEP
 * ("before-recheck", "before-unbind"), so that a test can reopen the
 * device exactly there.
 */
static void vr_test_pause(const char *step)
{
	const char *spec = getenv("VFIO_RELEASE_TEST_PAUSE");
	size_t len = strlen(step);

	if (!spec || strncmp(spec, step, len) || spec[len] != ':')
		return;
	fprintf(stderr, "%s: test pause %s\n", vr_prog, step);
	vr_sleep_ms(atoi(spec + len + 1));
}

/* "open by pid N (comm)", or the state when no opener is known. */
/*
 * Whether pid is alive: not gone, not a zombie. The kernel's opener may
 * have exited while a child it forked, or a process it passed the fd to,
 * keeps the file open.
 */
static bool vr_pid_alive(uint64_t pid)
{
	char path[32], stat[256], *end;
	FILE *f;
	bool alive;

	snprintf(path, sizeof(path), "/proc/%llu/stat", (unsigned long long)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	alive = fgets(stat, sizeof(stat), f) && (end = strrchr(stat, ')')) &&
		end[1] == ' ' && end[2] != 'Z' && end[2] != 'X';
	fclose(f);
	return alive;
}

static void vr_describe(const struct vfio_release_event *rec, char *buf, size_t size)
{
	enum vfio_release_state state = rec ? vfio_release_event_get_state(rec) :
					      VFIO_RELEASE_STATE_UNKNOWN;
	const char *comm = "?";
	char escaped[64];
	uint64_t pid;

	if (state == VFIO_RELEASE_STATE_OPEN &&
	    !vfio_release_event_get_u64(rec, VFIO_RELEASE_A_OPENER_PID, &pid)) {
		if (!vfio_release_event_get_string(rec, VFIO_RELEASE_A_OPENER_COMM, &comm)) {
			vr_escape(comm, escaped, sizeof(escaped));
			comm = escaped;
		}
		if (vr_pid_alive(pid))
			snprintf(buf, size, "open by pid %llu (%s)", (unsigned long long)pid, comm);
		else
			snprintf(buf, size, "open, though its opener pid %llu (%s) has exited: another process holds its file",
				 (unsigned long long)pid, comm);
	} else if (state == VFIO_RELEASE_STATE_RELEASED) {
		snprintf(buf, size, "released, its IOMMU group still claimed");
	} else {
		snprintf(buf, size, "%s", vfio_release_state_name(state));
	}
}

/* The device's record: its state, described; "unknown" when it cannot be read. */
static enum vfio_release_state vr_describe_now(struct vr_reattach *r, char *buf, size_t size)
{
	struct vfio_release_event *rec = NULL;
	enum vfio_release_state state = VFIO_RELEASE_STATE_UNKNOWN;

	if (r->vr && !vfio_release_get(r->vr, r->dev, &rec))
		state = vfio_release_event_get_state(rec);
	vr_describe(rec, buf, size);
	vfio_release_event_unref(rec);
	return state;
}

static int vr_error(const struct vr_reattach *r, const char *what, int err)
{
	fprintf(stderr, "%s: %s: %s: %s (nothing was changed)\n", vr_prog, r->dev, what,
		vfio_release_strerror(err));
	return VR_EXIT_ERROR;
}

/* --- 0. one reattach per device --- */

static int vr_take_lock(struct vr_reattach *r)
{
	pid_t holder;

	r->lock_fd = vr_devlock_take(r->dev, &holder);
	if (r->lock_fd >= 0)
		return VR_CONTINUE;
	if (r->lock_fd == -EWOULDBLOCK) {
		if (holder > 0)
			fprintf(stderr, "%s: %s: reattach pid %d is finishing with it (nothing was changed)\n",
				vr_prog, r->dev, (int)holder);
		else
			fprintf(stderr, "%s: %s: another reattach is finishing with it (nothing was changed)\n",
				vr_prog, r->dev);
		return VR_EXIT_ERROR;
	}
	return vr_error(r, "taking the reattach lock", r->lock_fd);
}

/* --- 1. where it is, and which host driver is to take it --- */

/* On a host driver already: nothing to do but a stale VFIO or stub override. */
static int vr_already_bound(struct vr_reattach *r)
{
	char override[VR_DRIVER_NAME_MAX];

	if (r->want && strcmp(r->from, r->want)) {
		fprintf(stderr, "%s: %s: bound to %s, not to a VFIO driver: not touching it\n",
			vr_prog, r->dev, r->from);
		return VR_EXIT_ERROR;
	}
	if (!vr_pci_override(r->dev, override, sizeof(override)) && *override &&
	    strcmp(override, r->from) && !vr_is_host_driver(override)) {
		/* Left by whoever bound it to VFIO: the next reprobe would obey it. */
		if (!vr_pci_set_override(r->dev, ""))
			fprintf(stderr, "%s: %s: cleared its stale driver_override %s\n", vr_prog,
				r->dev, override);
	}
	printf("%s: already bound to %s\n", r->dev, r->from);
	return VR_EXIT_OK;
}

static int vr_read_start(struct vr_reattach *r)
{
	char vf[VR_DRIVER_NAME_MAX], vf_driver[VR_DRIVER_NAME_MAX];
	int err, numvfs;

	err = vr_pci_driver(r->dev, r->from, sizeof(r->from));
	if (err)
		return vr_error(r, "reading its driver", err);
	if (vr_is_host_driver(r->from))
		return vr_already_bound(r);
	/*
	 * Only a device on its VFIO driver has an override worth restoring.
	 * An unbound one may be in the middle of someone else's unbind, which
	 * holds the device lock: on 6.1 reading driver_override would wait.
	 */
	if (vr_is_vfio_driver(r->from)) {
		err = vr_pci_override(r->dev, r->from_override, sizeof(r->from_override));
		if (err)
			return vr_error(r, "reading its driver_override", err);
	}
	numvfs = vr_pci_pf_vf_on_vfio(r->dev, vf, sizeof(vf), vf_driver, sizeof(vf_driver));
	if (numvfs > 0) {
		fprintf(stderr, "%s: %s: a PF with %d VFs, %s on %s: its VFIO driver's remove disables SR-IOV, which waits for every VF's user; reattach the VFs first, or set sriov_numvfs to 0 (nothing was changed)\n",
			vr_prog, r->dev, numvfs, vf, vf_driver);
		return VR_EXIT_ERROR;
	}
	return VR_CONTINUE;
}

/* Whether module is among the ones the device's modalias resolves to. */
static int vr_modalias_matches(struct vr_reattach *r, const char *module, char *modalias,
			       size_t size)
{
	char mods[VR_MODULE_CANDIDATES_MAX][VR_MODULE_NAME_MAX];
	int err, n, i, blacklisted;

	err = vr_pci_modalias(r->dev, modalias, size);
	if (err)
		return err;
	n = vr_host_module_candidates(modalias, false, mods, VR_MODULE_CANDIDATES_MAX,
				      &blacklisted);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (!strcmp(mods[i], module))
			return 1;
	return 0;
}

/*
 * --driver NAME: registered already, or a module of that name to load;
 * and its ID table must match the device. driver_override makes the PCI
 * core match any device (pci_match_device: a zero pci_device_id), so a
 * driver for other hardware would be probed with it.
 */
static int vr_plan_named_driver(struct vr_reattach *r)
{
	char module[VR_MODULE_NAME_MAX], modalias[256];
	bool registered = vr_pci_driver_registered(r->want);
	int err, n, blacklisted;
	char *p;

	snprintf(r->targets[0], sizeof(r->targets[0]), "%s", r->want);
	r->ntargets = 1;
	if (registered) {
		if (vr_pci_driver_module(r->want, module, sizeof(module))) {
			/* A built-in driver without a module kobject: its name, as a module. */
			snprintf(module, sizeof(module), "%s", r->want);
			for (p = module; *p; p++)
				if (*p == '-')
					*p = '_';
		}
	} else {
		n = vr_host_module_candidates(r->want, false, r->modules, 1, &blacklisted);
		if (n == 0) {
			fprintf(stderr, "%s: %s: no PCI driver %s is registered, and no module %s exists (nothing was changed)\n",
				vr_prog, r->dev, r->want, r->want);
			return VR_EXIT_ERROR;
		}
		if (n < 0)
			return vr_error(r, "looking up the driver's module", n);
		r->nmodules = 1;
		snprintf(module, sizeof(module), "%s", r->modules[0]);
	}
	if (r->force)
		return VR_EXIT_OK;
	err = vr_modalias_matches(r, module, modalias, sizeof(modalias));
	if (err < 0)
		return vr_error(r, "matching its modalias", err);
	if (!err) {
		fprintf(stderr, "%s: %s: %s (module %s) has no ID table entry for its modalias %s: driver_override would make the PCI core probe it anyway, with an empty ID; --force to do that (nothing was changed)\n",
			vr_prog, r->dev, r->want, module, modalias);
		return VR_EXIT_ERROR;
	}
	return VR_EXIT_OK;
}

/* No --driver: the modules that serve the device's modalias. */
static int vr_plan_modalias_driver(struct vr_reattach *r)
{
	char modalias[256];
	int err, blacklisted;

	err = vr_pci_modalias(r->dev, modalias, sizeof(modalias));
	if (err)
		return vr_error(r, "reading its modalias", err);
	r->nmodules = vr_host_module_candidates(modalias, true, r->modules,
						VR_MODULE_CANDIDATES_MAX, &blacklisted);
	if (r->nmodules == 0 && blacklisted) {
		fprintf(stderr, "%s: %s: the host driver modules for its modalias %s are blacklisted; name one with --driver to use it anyway (nothing was changed)\n",
			vr_prog, r->dev, modalias);
		return VR_EXIT_ERROR;
	}
	if (r->nmodules == 0) {
		fprintf(stderr, "%s: %s: no host driver module matches its modalias %s; name one with --driver (nothing was changed)\n",
			vr_prog, r->dev, modalias);
		return VR_EXIT_ERROR;
	}
	if (r->nmodules < 0)
		return vr_error(r, "looking up its host driver's module", r->nmodules);
	return VR_EXIT_OK;
}

/* Loads one module; says why not. 0 loaded (or was), else not. */
static int vr_load_module(struct vr_reattach *r, const char *module, bool honour_blacklist)
{
	int err, install_status;

	err = vr_host_module_load(module, honour_blacklist, &install_status);
	if (!err)
		return 0;
	if (err == VR_MODULE_BLACKLISTED)
		fprintf(stderr, "%s: %s: host driver module %s is blacklisted; name it with --driver to load it anyway\n",
			vr_prog, r->dev, module);
	else if (err == VR_MODULE_INSTALL_FAILED)
		/* libkmod said its exit status above; it answers -EINVAL (kmod 30). */
		fprintf(stderr, "%s: %s: the install command modprobe.d gives for %s failed (%s)\n",
			vr_prog, r->dev, module, strerror(install_status));
	else
		fprintf(stderr, "%s: %s: cannot load host driver module %s: %s\n", vr_prog, r->dev,
			module, strerror(-err));
	return err;
}

/* Loads the planned modules and names the drivers they register. */
static int vr_load_host_driver(struct vr_reattach *r)
{
	char driver[VR_MODULE_NAME_MAX];
	int i, count;

	if (r->want) {
		if (vr_pci_driver_registered(r->want))
			return VR_EXIT_OK;
		/* Named, like modprobe NAME: the blacklist does not apply. */
		if (vr_load_module(r, r->modules[0], false)) {
			fprintf(stderr, "%s: %s: nothing was changed\n", vr_prog, r->dev);
			return VR_EXIT_ERROR;
		}
		fprintf(stderr, "%s: %s: loaded module %s\n", vr_prog, r->dev, r->modules[0]);
		if (vr_pci_driver_registered(r->want))
			return VR_EXIT_OK;
		fprintf(stderr, "%s: %s: module %s is loaded but registers no PCI driver %s (nothing was changed)\n",
			vr_prog, r->dev, r->modules[0], r->want);
		return VR_EXIT_ERROR;
	}
	if (r->ntargets)
		return VR_EXIT_OK;
	for (i = 0; i < r->nmodules; i++) {
		const char *module = r->modules[i];

		count = vr_module_pci_driver(module, driver, sizeof(driver));
		if (count <= 0) {
			/* Found by modalias, like udev's autoload, it obeys the blacklist. */
			if (vr_load_module(r, module, true))
				continue;
			fprintf(stderr, "%s: %s: loaded module %s\n", vr_prog, r->dev, module);
			count = vr_module_pci_driver(module, driver, sizeof(driver));
		}
		if (count == 1) {
			snprintf(r->targets[r->ntargets++], sizeof(r->targets[0]), "%s", driver);
		} else {
			/* Which one would be a guess: never forced on the device. */
			fprintf(stderr, "%s: %s: module %s registers %s PCI driver; not a candidate (name one with --driver)\n",
				vr_prog, r->dev, module, count > 1 ? "more than one" : "no");
		}
	}
	if (r->ntargets)
		return VR_EXIT_OK;
	fprintf(stderr, "%s: %s: no host driver to try (nothing was changed)\n", vr_prog, r->dev);
	return VR_EXIT_ERROR;
}

/* --- 2. free, and still free right before the unbind --- */

static void vr_progress(const struct vfio_release_wait *w, long long waited_ms, void *arg)
{
	struct vr_reattach *r = arg;
	char holder[128];

	(void)waited_ms;
	vr_describe(vfio_release_wait_record(w, 0), holder, sizeof(holder));
	fprintf(stderr, "%s: waiting for %s to be free: %s, %lld s\n", vr_prog, r->dev, holder,
		(vr_mono_ms() - r->start_ms) / 1000);
}

/* It left vfio while we waited: fine if a host driver (the one asked for) has it. */
static int vr_left_vfio(struct vr_reattach *r)
{
	char driver[VR_DRIVER_NAME_MAX] = "";

	vr_pci_driver(r->dev, driver, sizeof(driver));
	if (vr_is_host_driver(driver) && (!r->want || !strcmp(driver, r->want))) {
		printf("%s: already bound to %s\n", r->dev, driver);
		fprintf(stderr, "%s: %s: left vfio while reattach waited, and is on %s now (bound by someone else; nothing was changed)\n",
			vr_prog, r->dev, driver);
		return VR_DONE;
	}
	fprintf(stderr, "%s: %s: left vfio while reattach waited (nothing was changed by reattach): bound to %s\n",
		vr_prog, r->dev, *driver ? driver : "no driver");
	return VR_EXIT_CHANGED;
}

static int vr_recheck_free(struct vr_reattach *r)
{
	struct vfio_release_event *rec = NULL;
	char holder[128];
	int err;

	err = vfio_release_get(r->vr, r->dev, &rec);
	if (err == -ENODEV)
		return vr_left_vfio(r);
	if (err)
		return vr_error(r, "reading its record again", err);
	vr_describe(rec, holder, sizeof(holder));
	err = vfio_release_event_get_state(rec) == VFIO_RELEASE_STATE_FREE ? 0 : VR_RETRY;
	vfio_release_event_unref(rec);
	if (err)
		fprintf(stderr, "%s: %s: no longer free (%s): waiting again\n", vr_prog, r->dev, holder);
	return err;
}

static int vr_wait_until_free(struct vr_reattach *r)
{
	char names[1][VFIO_RELEASE_DEVICE_NAME_MAX];
	struct vr_wait_opts wo = {
		.target = VFIO_RELEASE_STATE_FREE,
		.progress = vr_progress,
		.progress_arg = r,
	};
	int status;

	snprintf(names[0], sizeof(names[0]), "%s", r->dev);
	if (vr_open(&r->vr))
		return VR_EXIT_ERROR;
	do {
		wo.timeout_ms = vr_left_ms(r);
		status = vr_wait_devices(names, 1, &wo);
		if (!status)
			status = vr_load_host_driver(r);
		if (!status) {
			vr_test_pause("before-recheck");
			status = vr_recheck_free(r);
		}
	} while (status == VR_RETRY);
	return status;
}

/* --- 3 and 4. steer, unbind, probe --- */

static void vr_explain_steering(const struct vr_reattach *r)
{
	/* vfio_pci_core drivers match by override only: bound without one means a dynamic id. */
	if (vr_is_vfio_driver(r->from) && !*r->from_override)
		fprintf(stderr, "%s: %s: bound to %s without driver_override, so %s has a dynamic id for it (new_id or ids=); driver_override=%s steers the probe past it, the id stays (a later reprobe of the device would give it to %s again)\n",
			vr_prog, r->dev, r->from, r->from, r->targets[0], r->from);
	if (vr_pci_vf_without_autoprobe(r->dev))
		fprintf(stderr, "%s: %s: a VF whose PF has sriov_drivers_autoprobe=0: the kernel probes it only for driver_override, set to %s\n",
			vr_prog, r->dev, r->targets[0]);
}

/* What the background process does from here on. */
static void vr_say_plan(const struct vr_reattach *r, pid_t finisher, const char *then)
{
	fprintf(stderr, "%s: %s: process %d finishes in the background, cannot be cancelled, and logs the outcome to syslog (vfio-release): %s\n",
		vr_prog, r->dev, (int)finisher, then);
}

/*
 * A write outlasted the timeout: say which, what may hold it up, and what
 * the background process does once it completes. driver_override is not
 * read here: on 6.1 that takes the device lock, which the write holds or
 * waits for.
 */
static int vr_finish_pending(struct vr_reattach *r, enum vr_finish_step step, int target,
			     pid_t finisher)
{
	char holder[128], then[256];
	const char *to = r->targets[target];

	switch (step) {
	case VR_STEP_START:
	case VR_STEP_OVERRIDE:
		fprintf(stderr, "%s: %s: setting driver_override to %s is blocked: the device lock is held by an unbind, bind or probe of it elsewhere (on 6.1 driver_override takes the device lock)\n",
			vr_prog, r->dev, to);
		fprintf(stderr, "%s: %s: left: on %s, driver_override about to be %s\n", vr_prog, r->dev,
			*r->from ? r->from : "no driver", to);
		if (r->restore && *r->from)
			snprintf(then, sizeof(then), "it puts driver_override back (--restore)");
		else
			snprintf(then, sizeof(then), "%s%s", *r->from ? "it unbinds the device and probes " :
				 "it probes ", to);
		break;
	case VR_STEP_UNBIND:
		if (vr_describe_now(r, holder, sizeof(holder)) == VFIO_RELEASE_STATE_OPEN)
			fprintf(stderr, "%s: %s: the unbind from %s has not completed: the device was reopened before the unbind (%s); %s's remove waits until it is closed, and has asked its user to let go (vfio's device request: QEMU hot-unplugs it from its guest)\n",
				vr_prog, r->dev, r->from, holder, r->from);
		else
			fprintf(stderr, "%s: %s: the unbind from %s has not completed, and the device is not open (%s): it waits for the device lock, held elsewhere, or for a VF's user\n",
				vr_prog, r->dev, r->from, holder);
		/* The kernel drops the driver link before it calls the driver's remove. */
		fprintf(stderr, "%s: %s: left: being unbound (sysfs shows no driver already), driver_override %s\n",
			vr_prog, r->dev, to);
		if (r->restore)
			snprintf(then, sizeof(then), "once the unbind completes it binds it back to %s (--restore)",
				 r->from);
		else
			snprintf(then, sizeof(then), "once the unbind completes it probes %s, then clears driver_override",
				 to);
		break;
	default:
		/*
		 * drivers_probe does nothing while dev->driver is still set (an
		 * unbind in progress elsewhere), and the bind then waits for the
		 * device lock that unbind holds; or the driver's probe is slow.
		 */
		fprintf(stderr, "%s: %s: %s has not completed: it waits for the device lock (held by an unbind in progress elsewhere), or the driver's probe is slow\n",
			vr_prog, r->dev, step == VR_STEP_RESTORE ? "the bind back to its VFIO driver (--restore)" :
			"the bind of the host driver");
		fprintf(stderr, "%s: %s: left: %s%s, driver_override %s, being bound to %s\n", vr_prog,
			r->dev, *r->from ? "unbound from " : "not bound", r->from,
			step == VR_STEP_RESTORE ? r->from : to, step == VR_STEP_RESTORE ? r->from : to);
		snprintf(then, sizeof(then), "once the bind completes it clears driver_override, or goes on as reattach would");
		break;
	}
	vr_say_plan(r, finisher, then);
	return VR_EXIT_CHANGED;
}

static int vr_move_to_host_driver(struct vr_reattach *r)
{
	struct vr_finish_plan plan = {
		.dev = r->dev,
		.from = r->from,
		.from_override = r->from_override,
		.targets = r->targets,
		.ntargets = r->ntargets,
		.restore = r->restore,
		.lock_fd = r->lock_fd,
		.deadline_ms = r->deadline_ms,
	};
	enum vr_finish_step step;
	pid_t finisher;
	int status, target;

	vr_explain_steering(r);
	vr_test_pause("before-unbind");
	status = vr_finish(&plan, &step, &target, &finisher);
	if (status == VR_FINISH_PENDING)
		return vr_finish_pending(r, step, target, finisher);
	if (status < 0)
		return vr_error(r, "starting the process that makes the changes", status);
	return status;
}

/* --- the command --- */

static int vr_parse_reattach(int argc, char **argv, struct vr_reattach *r,
			     char *name, int *timeout_ms)
{
	static const struct option opts[] = {
		{ "driver", required_argument, NULL, 'd' },
		{ "force", no_argument, NULL, 'f' },
		{ "timeout", required_argument, NULL, 't' },
		{ "restore", no_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ }
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "d:ft:rh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (!*optarg || strchr(optarg, '/') || strlen(optarg) >= VR_DRIVER_NAME_MAX)
				return vr_usage_error("bad driver name '%s'", optarg);
			r->want = optarg;
			break;
		case 'f':
			r->force = true;
			break;
		case 't':
			if (vr_parse_timeout(optarg, timeout_ms))
				return VR_EXIT_ERROR;
			break;
		case 'r':
			r->restore = true;
			break;
		case 'h':
			vr_command_help("reattach");
			return VR_EXIT_OK;
		default:
			return vr_usage_error("reattach: bad option");
		}
	}
	if (argc - optind != 1)
		return vr_usage_error("reattach: exactly one DEVICE expected");
	if (r->force && !r->want)
		return vr_usage_error("reattach: --force needs --driver");
	if (r->want && vr_is_stub_driver(r->want))
		return vr_usage_error("reattach: %s is a stub driver (it takes whatever it is told to), not a host driver",
				      r->want);
	if (r->want && vr_is_vfio_driver(r->want))
		return vr_usage_error("reattach: %s is a VFIO driver, not a host driver", r->want);
	if (vfio_release_parse_device(argv[optind], name, VFIO_RELEASE_DEVICE_NAME_MAX))
		return vr_usage_error("'%s' is not a PCI address (like 0000:01:00.0 or 01:00.0)",
				      argv[optind]);
	return VR_CONTINUE;
}

static int vr_reattach_locked(struct vr_reattach *r)
{
	int status;

	status = vr_read_start(r);
	if (status != VR_CONTINUE)
		return status;
	status = r->want ? vr_plan_named_driver(r) : vr_plan_modalias_driver(r);
	if (!status) {
		/* pci-stub and no driver at all have nothing to wait for. */
		if (vr_is_vfio_driver(r->from))
			status = vr_wait_until_free(r);
		else
			status = vr_load_host_driver(r);
	}
	if (!status)
		status = vr_move_to_host_driver(r);
	return status == VR_DONE ? VR_EXIT_OK : status;
}

int vr_cmd_reattach(int argc, char **argv)
{
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];
	struct vr_reattach r = { .dev = name, .deadline_ms = -1, .lock_fd = -1 };
	int status, timeout_ms = -1;

	status = vr_parse_reattach(argc, argv, &r, name, &timeout_ms);
	if (status != VR_CONTINUE)
		return status;
	r.start_ms = vr_mono_ms();
	if (timeout_ms >= 0)
		r.deadline_ms = r.start_ms + timeout_ms;
	if (!vr_pci_exists(r.dev)) {
		fprintf(stderr, "%s: %s: no such PCI device\n", vr_prog, r.dev);
		return VR_EXIT_ERROR;
	}
	status = vr_take_lock(&r);
	if (status == VR_CONTINUE)
		status = vr_reattach_locked(&r);
	if (r.vr)
		vfio_release_close(r.vr);
	/* A background finisher holds the lock on (it has its own copy). */
	if (r.lock_fd >= 0)
		close(r.lock_fd);
	return status;
}
