#!/bin/bash
# smoke.sh: proves the test VM harness. Run on the host with
#   tests/vm/run-vm.sh KVER tests/guest/smoke.sh
# Checks the IOMMU, the device layout, the VFIO open/close path through
# tests/helpers/vfio-hold, and a real rebind of the e1000e.
# No "set -e": a failed check is reported and the next one still runs.
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"

hold=$VR_HELPERS/vfio-hold
listen=$VR_HELPERS/uevent-listen

# check NAME CMD...: PASS if CMD succeeds, else FAIL with its last output.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		vr_result PASS "$name"
	else
		vr_result FAIL "$name" "$(printf '%s' "$out" | tail -n 3)"
	fi
}

# hold_ok OUTFILE ARGS...: run vfio-hold, keep its output, demand exit 0
# and an "opened" line for each -d ADDR.
hold_ok() {
	local out=$1 a
	shift
	"$hold" "$@" >"$out" 2>&1 || { cat "$out"; return 1; }
	for a in "$@"; do
		case $a in 0000:*) grep -q "^opened $a fd=" "$out" || { cat "$out"; return 1; } ;; esac
	done
	grep -qx exit "$out" || { cat "$out"; return 1; }
}

net_up() { ls "/sys/bus/pci/devices/$1/net/"* >/dev/null 2>&1; }
net_gone() { ! net_up "$1"; }
bind_pair() { vr_bind_vfio "$VR_PAIR_A" && vr_bind_vfio "$VR_PAIR_B"; }
nic_to_vfio() { vr_bind_vfio "$VR_NIC" && net_gone "$VR_NIC"; }

# --- the IOMMU and the device layout ---
check iommu-groups-exist test -n "$(ls /sys/kernel/iommu_groups)"
for a in "$VR_EDU" "$VR_NIC" "$VR_PAIR_A" "$VR_PAIR_B"; do
	d=/sys/bus/pci/devices/$a
	vr_info "$a $(cat "$d/vendor"):$(cat "$d/device") group=$(vr_group_of "$a")" \
		"driver=$(vr_driver_of "$a") reset_method=$(cat "$d/reset_method" 2>/dev/null)"
done
check edu-own-group test "$(ls "/sys/kernel/iommu_groups/$(vr_group_of "$VR_EDU")/devices")" = "$VR_EDU"
check pair-same-group test "$(vr_group_of "$VR_PAIR_A")" = "$(vr_group_of "$VR_PAIR_B")"
check nic-has-e1000e test "$(vr_driver_of "$VR_NIC")" = e1000e

# --- edu through vfio-pci ---
check edu-bind-vfio vr_bind_vfio "$VR_EDU"
check edu-open-close hold_ok /tmp/h1 -d "$VR_EDU" close-device close-group
check edu-hold-actions hold_ok /tmp/h2 -d "$VR_EDU" mmap-bar=0 mark=a reset \
	fork-hold-ms=200 sendfd-hold-ms=200 munmap close-device close-group \
	close-container wait-children mark=b
check edu-marks test "$(grep -c '^MARK [ab] [0-9]*$' /tmp/h2)" = 2

# A paused holder keeps the group: a second opener must be refused.
"$hold" -d "$VR_EDU" pause >/tmp/h3 2>&1 &
pid=$!
check edu-pause vr_wait 10 grep -qx paused /tmp/h3
"$hold" -d "$VR_EDU" >/tmp/h4 2>&1
rc=$?
check edu-busy-while-held test "$rc" = 2
kill "$pid"
wait "$pid" 2>/dev/null
check edu-reopen-after-kill hold_ok /tmp/h5 -d "$VR_EDU" close-device

# No module sends VFIO_RELEASE uevents yet: the listener must time out.
"$listen" -t 1 >/tmp/u1 2>&1
rc=$?
check uevent-listen-timeout test "$rc:$(head -n1 /tmp/u1)" = "1:ready"

# --- the pair: one group, both devices through one group fd ---
check pair-bind-vfio bind_pair
check pair-open-close hold_ok /tmp/p1 -d "$VR_PAIR_A" -d "$VR_PAIR_B" close-device close-group

# --- e1000e: host driver -> vfio-pci -> host driver ---
check nic-netdev-at-boot net_up "$VR_NIC"
check nic-bind-vfio nic_to_vfio
check nic-open-close hold_ok /tmp/n1 -d "$VR_NIC" close-device close-group
check nic-rebind-e1000e vr_bind_host "$VR_NIC" e1000e
check nic-netdev-back vr_wait 10 net_up "$VR_NIC"
iface=$(ls "/sys/bus/pci/devices/$VR_NIC/net" 2>/dev/null)
check nic-in-class-net test -n "$iface" -a -e "/sys/class/net/$iface"

vr_done
