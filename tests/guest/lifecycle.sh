#!/bin/bash
# Module life cycle against live devices: loaded while a device is open,
# reloaded under open/close churn, vfio-pci unbound while watched, the vfio
# modules themselves unloaded and reloaded, and a real rebind of a NIC to
# its host driver.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU nic=$VR_NIC
check bind-edu-vfio vr_bind_vfio "$dev"

# --- loaded while the device is open: state is open, never free ---
"$HOLD" -d "$dev" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q paused /tmp/hold.log
check module-loads-while-open vr_load
check state-open-at-load expect_eq "$(status_field "$dev" state)" open
mon_start
kill -TERM "$hold_pid"
wait "$hold_pid" 2>/dev/null
mon_wait_for "$dev" free
check preopened-release-events expect_eq "$(mon_events "$dev")" "released group-released free"
check preopened-generation expect_eq "$(mon_field "$dev" released generation)" 1
mon_stop

# --- loaded while the group is held but the device closed: released ---
"$HOLD" -d "$dev" close-device pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q paused /tmp/hold.log
vr_unload
vr_load
check state-released-group-held expect_eq "$(status_field "$dev" state)" released
kill -TERM "$hold_pid"
wait "$hold_pid" 2>/dev/null
vr_wait 10 state_is "$dev" free
check state-free-after-group-release expect_eq "$(status_field "$dev" state)" free

# --- unloaded and reloaded 20 times under open/close churn ---
churn() {
	while [ ! -e /tmp/churn.stop ]; do
		"$HOLD" -d "$dev" close-device close-group >/dev/null 2>&1 || true
	done
}
rm -f /tmp/churn.stop
churn &
churn_pid=$!
reloads=0
for i in $(seq 20); do
	vr_unload && vr_load && reloads=$((reloads + 1))
	sleep 0.$((RANDOM % 3))
done
touch /tmp/churn.stop
wait "$churn_pid"
check reload-20-under-churn expect_eq "$reloads" 20
check state-free-after-churn expect_eq "$(status_field "$dev" state)" free
# After the churn the module still follows the device exactly.
mon_start
"$HOLD" -d "$dev" close-device close-group >/dev/null 2>&1
mon_wait_for "$dev" free
check events-after-churn expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
mon_stop

# --- vfio-pci unbound while the module watches ---
check status-lists-edu bash -c "'$VR_CLI' status --json | jq -e 'type == \"array\" and ([.[] | select(.device == \"$dev\")] | length) == 1'"
check unbind-edu vr_unbind "$dev"
check edu-gone-from-status bash -c "! '$VR_CLI' status $dev 2>/tmp/err; grep -q 'not bound to vfio-pci' /tmp/err"
check rebind-edu-vfio vr_bind_vfio "$dev"
check edu-back-free expect_eq "$(status_field "$dev" state)" free

# --- a real rebind of a NIC: e1000e -> vfio-pci -> open/close -> e1000e ---
check nic-on-e1000e expect_eq "$(vr_driver_of "$nic")" e1000e
check bind-nic-vfio vr_bind_vfio "$nic"
mon_start
"$HOLD" -d "$nic" close-device close-group >/tmp/hold.log 2>&1
mon_wait_for "$nic" free
check nic-events expect_eq "$(mon_events "$nic")" "group-claimed claimed opened released group-released free"
vr_info "e1000e: reset=$(mon_field "$nic" released reset) close_ns=$(mon_field "$nic" released close_ns)"
mon_stop
check nic-back-to-e1000e vr_bind_host "$nic" e1000e
check nic-interface-appears vr_wait 10 bash -c "ls /sys/bus/pci/devices/$nic/net | grep -q ."

# --- the vfio modules unloaded and reloaded under the module ---
mon_start
vr_unbind "$dev"
check vfio-pci-core-unloads modprobe -r vfio-pci vfio-pci-core
check vfio-pci-core-reloads modprobe vfio-pci
check resync-rearmed vr_wait 10 jq -e -s 'any(.[]; .event == "resync" and .resync_reason == "rearmed" and has("notice") == false)' "$MON_LOG"
check rebind-edu-after-reload vr_bind_vfio "$dev"
"$HOLD" -d "$dev" close-device close-group >/tmp/hold.log 2>&1
mon_wait_for "$dev" free
# Unloading vfio-pci removes the device from the watch; bound again it is new.
check events-after-vfio-reload expect_eq "$(mon_events "$dev")" "removed group-claimed claimed opened released group-released free"
mon_stop
check module-unloads vr_unload

# --- a missing module is reported by name, and nothing stays loaded ---
vr_unbind "$dev"
modprobe -r vfio-pci vfio-pci-core
check load-refused-without-vfio-pci-core bash -c "! insmod '$VR_KO'"
check refusal-names-symbol bash -c "dmesg | grep -q 'cannot hook vfio_pci_core_register_device: symbol not found; is module vfio_pci_core loaded'"
check nothing-left-loaded bash -c "! grep -q '^vfio_release ' /proc/modules"
modprobe vfio-pci
check no-other-hook-errors bash -c "[ \"\$(dmesg | grep -c 'vfio_release: cannot hook')\" = 1 ]"
vr_done
