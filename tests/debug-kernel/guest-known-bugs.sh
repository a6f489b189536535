#!/bin/bash
# guest-known-bugs.sh MODULE_KO: run by known-bugs.sh on the debug
# kernel. Loads the given build of the module, opens and closes a device
# through VFIO so that every release hook fires, and unloads it. Whether
# the kernel complained is judged on the host, from the console (and for
# the current module, by the run as a whole: vr_done's checks included).
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"

ko=${1:?usage: guest-known-bugs.sh MODULE_KO}
# A boot that asks for unoptimized kprobes must have them: otherwise the
# int3 path it is meant to show is taken only by chance.
case " $(cat /proc/cmdline) " in
*" sysctl.debug.kprobes-optimization=0 "*)
	if [ "$(cat /proc/sys/debug/kprobes-optimization 2>&1)" = 0 ]; then
		vr_result PASS kprobes-unoptimized
	else
		vr_result FAIL kprobes-unoptimized \
			"debug.kprobes-optimization is $(cat /proc/sys/debug/kprobes-optimization 2>&1)"
	fi
	;;
esac
if out=$(insmod "$ko" 2>&1); then
	vr_result PASS module-loads
else
	vr_result FAIL module-loads "insmod $ko: $out"
fi
if vr_bind_vfio "$VR_EDU"; then
	vr_result PASS edu-on-vfio-pci
else
	vr_result FAIL edu-on-vfio-pci "cannot bind $VR_EDU to vfio-pci"
fi
# Several rounds: the hooks' handlers run in each open and release.
for i in 1 2 3; do
	if ! out=$("$VR_HELPERS/vfio-hold" -d "$VR_EDU" close-device close-group 2>&1); then
		vr_result FAIL "open-close-$i" "$out"
	fi
done
vr_info "three open/close rounds done"
if out=$(rmmod vfio_release 2>&1); then
	vr_result PASS module-unloads
else
	vr_result FAIL module-unloads "$out"
fi
vr_done
