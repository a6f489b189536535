# guest-lib.sh: sourced by guest scripts that tests/vm/run-vm.sh runs in
# the test VM (bash, chrooted into the read-only host root; scratch space
# is /tmp). The environment carries VR_EDU, VR_NIC, VR_PAIR_A, VR_PAIR_B
# and VR_HOTPLUG, the PCI addresses of the test devices, and VR_TOPOLOGY
# (see run-vm.sh).
#
# Results go to the result channel, one line each; the host decides the
# run from them. A script must end with vr_done, or the run fails.

# The second serial port, backed by a file on the host.
VR_RESULT_DEV=${VR_RESULT_DEV:-/dev/ttyS1}
# The test helpers built on the host (tests/helpers).
# shellcheck disable=SC2034 # used by the guest scripts
VR_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../helpers" && pwd)

# One line to the result channel, and a copy to the console for context.
vr__emit() {
	local uptime _
	read -r uptime _ </proc/uptime
	printf '%s\n' "$1" >"$VR_RESULT_DEV"
	printf 'vr: [%s] %s\n' "$uptime" "$1"
}

# vr_result PASS|FAIL|SKIP NAME [REASON...]
vr_result() {
	local status=$1 name=${2// /_} reason
	shift 2
	reason=$(printf '%s' "${*:-no reason given}" | tr '\n' ' ')
	case $status in
	PASS) vr__emit "PASS $name" ;;
	FAIL | SKIP) vr__emit "$status $name: $reason" ;;
	*) vr__emit "FAIL $name: vr_result called with status '$status'" ;;
	esac
}

vr_info() { vr__emit "INFO $(printf '%s' "$*" | tr '\n' ' ')"; }
vr_done() {
	vr__debug_checks
	vr__emit DONE
}

# --- the debug kernel's checkers (make test-debug) ---
# KASAN, lockdep and sleeping-in-atomic reports reach the console, where
# run-vm.sh fails the run on them. What the console does not show by
# itself: lockdep switched off after a report, and kmemleak, which reports
# only when asked. Kernels without them (Debian's) skip this silently:
# there is nothing to check, and the groups' results are the same.
VR__KMEMLEAK=/sys/kernel/debug/kmemleak
if [ -e /sys/kernel/debug ] && ! [ -e /sys/kernel/debug/kmemleak ] &&
	grep -q '^CONFIG_DEBUG_KMEMLEAK=y' "/boot/config-$(uname -r)" 2>/dev/null; then
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
fi
# A group answers for what leaks while it runs, not for the boot.
if [ -e "$VR__KMEMLEAK" ]; then echo clear >"$VR__KMEMLEAK"; fi

# vr_kmemleak_scan FILE: kmemleak's report of now into FILE. Returns 0
# when it scanned, 1 on a kernel without kmemleak, 2 when kmemleak is in
# the kernel but off (VR_KMEMLEAK_WHY says why): it refuses a scan then,
# and its report file reads empty, which must not pass for "no leak".
# An object is reported once it has been unreferenced for kmemleak's
# minimum age (5 s) at a scan: the objects a step just dropped need two
# scans that far apart.
VR_KMEMLEAK_WHY=
vr_kmemleak_scan() {
	local pass
	[ -e "$VR__KMEMLEAK" ] || return 1
	for pass in 1 2; do
		[ "$pass" = 1 ] || sleep 6
		if ! { echo scan >"$VR__KMEMLEAK"; } 2>/dev/null; then
			vr__kmemleak_why
			return 2
		fi
	done
	cat "$VR__KMEMLEAK" >"$1"
}
# vr_kmemleak_state: 0 when kmemleak is on, 1 when the kernel has none,
# 2 when it is there but off (VR_KMEMLEAK_WHY says why). Asks without a
# scan: "stack=on" is kmemleak's default, and refused when it is off.
vr_kmemleak_state() {
	[ -e "$VR__KMEMLEAK" ] || return 1
	{ echo stack=on >"$VR__KMEMLEAK"; } 2>/dev/null && return 0
	vr__kmemleak_why
	return 2
}
# Asked for on the command line, or kmemleak's own decision after an
# error (its pool ran out, say), which the console tells.
VR__KMEMLEAK_OFF_BY_BOOT=0
vr__kmemleak_why() {
	case " $(cat /proc/cmdline) " in
	*" kmemleak=off "*)
		VR__KMEMLEAK_OFF_BY_BOOT=1
		VR_KMEMLEAK_WHY="kmemleak=off on the kernel command line" ;;
	*) VR_KMEMLEAK_WHY="kmemleak disabled itself (it refuses a scan; the console says why)" ;;
	esac
}
# vr_kmemleak_off_result NAME: the verdict on NAME when a scan returned 2:
# a SKIP when the run booted with kmemleak=off, else a FAIL.
vr_kmemleak_off_result() {
	if [ "$VR__KMEMLEAK_OFF_BY_BOOT" = 1 ]; then
		vr_result SKIP "$1" "$VR_KMEMLEAK_WHY: nothing scanned"
	else
		vr_result FAIL "$1" "$VR_KMEMLEAK_WHY: nothing scanned"
	fi
}

vr__debug_checks() {
	local n first
	if [ -r /proc/lockdep_stats ]; then
		# debug_locks drops to 0 when lockdep has reported and stopped.
		if grep -Eq '^[[:space:]]*debug_locks:[[:space:]]+1$' /proc/lockdep_stats; then
			vr_result PASS lockdep-still-on
		else
			vr_result FAIL lockdep-still-on "lockdep turned itself off (a report on the console)"
		fi
	fi
	[ -e "$VR__KMEMLEAK" ] || return 0
	# The module's own allocations are freed at unload; what is left of
	# it is what the scan must not find.
	if [ -d /sys/module/vfio_release ]; then
		if rmmod vfio_release 2>/tmp/vr-rmmod.err; then
			vr_result PASS module-unloads-at-end
		else
			vr_result FAIL module-unloads-at-end "rmmod: $(cat /tmp/vr-rmmod.err)"
		fi
	fi
	if ! vr_kmemleak_scan /tmp/vr-kmemleak.txt; then
		vr_kmemleak_off_result kmemleak-clean
		return 0
	fi
	n=$(grep -c '^unreferenced object' /tmp/vr-kmemleak.txt || true)
	if [ "$n" -eq 0 ]; then
		vr_result PASS kmemleak-clean
	else
		# The console keeps the whole report for the reader.
		sed 's/^/kmemleak: /' /tmp/vr-kmemleak.txt | head -n 200
		# 6.12 prints the backtrace as "    function+off/len [module]".
		first=$(awk '/^unreferenced object/ { n++ } n == 1 && bt && /^    [^ ]/ { print $1 $2 }
			/backtrace/ { bt = 1 } n > 1 { exit }' /tmp/vr-kmemleak.txt | head -n 8 | tr '\n' ' ')
		vr_result FAIL kmemleak-clean "$n suspected leak(s); the first from: $first"
	fi
}

# vr_nap SECONDS: sleep without a fork (every exec costs ~0.1 s in the VM,
# far more on the debug kernel).
VR__NAP_FD=
vr_nap() {
	if [ -z "$VR__NAP_FD" ]; then
		mkfifo "/tmp/.vr-nap.$$" 2>/dev/null
		exec {VR__NAP_FD}<>"/tmp/.vr-nap.$$"
	fi
	read -r -t "$1" -u "$VR__NAP_FD" _ || true
}

# vr_wait SECONDS CMD...: poll CMD until it succeeds; fail after SECONDS.
vr_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		vr_nap 0.05
	done
}

vr_group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# Prints the bound driver's name, or nothing when unbound.
vr_driver_of() {
	local d=/sys/bus/pci/devices/$1/driver
	if [ -e "$d" ]; then basename "$(readlink "$d")"; fi
}

# vr_unbind ADDR: detach ADDR from its driver, if it has one.
vr_unbind() {
	local d=/sys/bus/pci/devices/$1/driver
	if [ -e "$d" ]; then echo "$1" >"$d/unbind"; fi
}

vr__bound_to() { [ "$(vr_driver_of "$1")" = "$2" ]; }

# vr_bind_vfio ADDR: bind ADDR to vfio-pci and wait for /dev/vfio/<group>.
vr_bind_vfio() {
	local group
	group=$(vr_group_of "$1") || return 1
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override" || return 1
	if ! vr__bound_to "$1" vfio-pci; then
		vr_unbind "$1" || return 1
		echo "$1" >/sys/bus/pci/drivers_probe || return 1
	fi
	vr_wait 10 vr__bound_to "$1" vfio-pci && vr_wait 10 test -e "/dev/vfio/$group"
}

# vr_bind_host ADDR DRIVER: clear the override, unbind, and let the kernel
# pick the device's own driver again; wait until DRIVER has it.
vr_bind_host() {
	echo >"/sys/bus/pci/devices/$1/driver_override" || return 1
	vr_unbind "$1" || return 1
	echo "$1" >/sys/bus/pci/drivers_probe || return 1
	vr_wait 10 vr__bound_to "$1" "$2"
}

# --- the hot-plug channel (ttyS2 <-> tests/vm/qmp-relay.py on the host) ---
VR_CTL_DEV=${VR_CTL_DEV:-/dev/ttyS2}
VR__CTL_FD=
VR__CTL_N=0

# vr_host REQUEST...: one request to the host's QMP relay ("device_del ID",
# "device_add DRIVER,K=V,...", "qmp JSON", "ping"). Prints the reply's
# text; status 0 when the host answered ok, 1 on its error, 2 when it did
# not answer within VR_HOST_TIMEOUT (default 90) seconds.
vr_host() {
	local n reply deadline=$((SECONDS + ${VR_HOST_TIMEOUT:-90}))
	if [ -z "$VR__CTL_FD" ]; then
		stty -F "$VR_CTL_DEV" raw -echo 115200 || return 2
		exec {VR__CTL_FD}<>"$VR_CTL_DEV" || return 2
	fi
	# Unique even across subshells, which each open the port anew.
	VR__CTL_N=$((VR__CTL_N + 1))
	n=$BASHPID.$VR__CTL_N
	printf '%s %s\n' "$n" "$*" >&"$VR__CTL_FD"
	# Replies to earlier requests that timed out are skipped.
	while [ "$SECONDS" -lt "$deadline" ]; do
		IFS= read -r -t "$((deadline - SECONDS + 1))" reply <&"$VR__CTL_FD" || break
		reply=${reply%$'\r'}
		[ "${reply%% *}" = "$n" ] || continue
		reply=${reply#* }
		printf '%s\n' "${reply#* }"
		[ "${reply%% *}" = ok ]
		return
	done
	echo "no reply from the host to request $n ($*)"
	return 2
}

# vr_hot_unplug ID ADDR: device_del QEMU device ID (the guest answers the
# unplug itself) and wait until ADDR is gone from /sys/bus/pci/devices.
vr_hot_unplug() {
	vr_host device_del "$1" || return 1
	vr_wait 30 test ! -e "/sys/bus/pci/devices/$2"
}

# vr_hot_plug OPTIONS ADDR: device_add OPTIONS (QEMU syntax, e.g.
# "edu,id=hp0,bus=rphp") and wait until ADDR shows up; if the slot's
# hot-plug driver does not enumerate it, rescan the bus.
vr_hot_plug() {
	vr_host device_add "$1" || return 1
	vr_wait 15 test -e "/sys/bus/pci/devices/$2" && return 0
	echo 1 >/sys/bus/pci/rescan
	vr_wait 15 test -e "/sys/bus/pci/devices/$2"
}

# The scale topology's edu functions (1234:11e8 below a pcie-pci-bridge),
# one address per line, sorted.
# Builtins only: under emulation every fork+exec over 9p costs ~0.2 s.
vr_scale_devices() {
	local d v id pv pid
	for d in /sys/bus/pci/devices/*; do
		read -r v <"$d/vendor" && read -r id <"$d/device" || continue
		[ "$v:$id" = 0x1234:0x11e8 ] || continue
		# The parent of a function behind a pcie-pci-bridge is that bridge
		# (1b36:000e); the default topology's edus sit below root ports.
		read -r pv <"$d/../vendor" 2>/dev/null && read -r pid <"$d/../device" || continue
		[ "$pv:$pid" = 0x1b36:0x000e ] || continue
		echo "${d##*/}"
	done
}
