#!/bin/bash
# vr-timeout: 600
# vfio-release reattach against the real module, vfio-pci and e1000e: the
# return of the NIC once free (with the progress line while it waits), a
# timeout that leaves it untouched, a host driver whose module is not
# loaded (with --driver and found by modalias), vfio-pci's new_id for the
# NIC's id, pci-stub not taken for a host driver, a device reopened right
# after it became free (before the re-check, and between the re-check and
# the unbind), a host driver that refuses the device, --restore, and what
# reattach says about a VF under sriov_drivers_autoprobe=0 (fake sysfs).
#
# VFIO_RELEASE_TEST_PAUSE=STEP:MS makes reattach sleep at STEP, so that the
# device can be reopened exactly there.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

nic=$VR_NIC
sysdev=/sys/bus/pci/devices/$nic
NIC_ID="8086 10d3"

override_of() { cat "$sysdev/driver_override"; }
# untouched_on_vfio: still on vfio-pci with its override, as bound.
untouched_on_vfio() {
	expect_eq "$(vr_driver_of "$nic")" vfio-pci && expect_eq "$(override_of)" vfio-pci
}
on_host_driver() {
	expect_eq "$(vr_driver_of "$nic")" e1000e && expect_eq "$(override_of)" "(null)"
}
not_loaded() { [ ! -e "/sys/module/$1" ]; }
# hold_start LOG: vfio-hold keeps the NIC open; returns once it has it.
hold_start() {
	"$HOLD" -d "$nic" pause >"$1" 2>&1 &
	hold_pid=$!
	vr_wait 20 grep -q paused "$1"
}
hold_stop() {
	kill -KILL "$hold_pid" 2>/dev/null
	wait "$hold_pid" 2>/dev/null
	return 0
}
back_to_e1000e() { on_host_driver || vr_bind_host "$nic" e1000e; }
# bounded_wait SECONDS PID: PID's exit status, or 124 if it still runs
# after SECONDS (a reattach that hangs must fail here, not hang the run).
bounded_wait() {
	local deadline=$((SECONDS + $1))
	while vr__running "$2"; do
		[ "$SECONDS" -lt "$deadline" ] || return 124
		vr_nap 0.05
	done
	wait "$2"
}

check module-loads vr_load

# --- once free, back to e1000e; a progress line while it waits ---
check bind-nic-vfio vr_bind_vfio "$nic"
check nic-held hold_start /tmp/hold.log
"$VR_CLI" reattach "${nic#0000:}" --driver e1000e --timeout 60 >/tmp/reattach.out 2>/tmp/reattach.err &
re_pid=$!
check progress-line vr_wait 10 grep -q "waiting for $nic to be free: open by pid $hold_pid (vfio-hold), [0-9]* s" /tmp/reattach.err
check reattach-waits-while-open bash -c "kill -0 $re_pid && [ \"\$(basename \$(readlink $sysdev/driver))\" = vfio-pci ]"
hold_stop
wait "$re_pid"
check reattach-exit-0 expect_eq "$?" 0
check reattach-says-driver grep -q "reattached to e1000e" /tmp/reattach.out
check nic-on-e1000e on_host_driver
check nic-interface-appears vr_wait 10 bash -c "ls $sysdev/net | grep -q ."
check reattach-again-is-noop "$VR_CLI" reattach "$nic" --driver e1000e
"$VR_CLI" reattach "$nic" --driver igb 2>/tmp/err
check reattach-wrong-driver-exit-2 expect_eq "$?" 2

# --- timing out while held: exit 1, holder named, device untouched ---
check bind-nic-vfio-again vr_bind_vfio "$nic"
check nic-held-again hold_start /tmp/hold.log
"$VR_CLI" reattach "$nic" --timeout 1 2>/tmp/err
check reattach-timeout-exit-1 expect_eq "$?" 1
check reattach-timeout-names-holder grep -q "opened by pid $hold_pid, vfio-hold" /tmp/err
check reattach-timeout-left-vfio untouched_on_vfio
hold_stop
check reattach-default-driver "$VR_CLI" reattach "$nic" --timeout 30
check nic-on-e1000e-again on_host_driver

# --- a host driver whose module is not loaded: libkmod loads it ---
check bind-nic-vfio-unloaded vr_bind_vfio "$nic"
check e1000e-unloads rmmod e1000e
check e1000e-gone not_loaded e1000e
"$VR_CLI" reattach "$nic" --driver e1000e --timeout 30 >/tmp/out 2>/tmp/err
check named-unloaded-exit-0 expect_eq "$?" 0
check named-unloaded-says-loaded grep -q "loaded module e1000e" /tmp/err
check named-unloaded-on-e1000e on_host_driver
check bind-nic-vfio-unloaded-2 vr_bind_vfio "$nic"
check e1000e-unloads-2 rmmod e1000e
"$VR_CLI" reattach "$nic" --timeout 30 >/tmp/out 2>/tmp/err
check modalias-unloaded-exit-0 expect_eq "$?" 0
check modalias-unloaded-says-loaded grep -q "loaded module e1000e" /tmp/err
check modalias-unloaded-on-e1000e on_host_driver

# --- no such driver: exit 2, nothing changed ---
check bind-nic-vfio-nosuch vr_bind_vfio "$nic"
"$VR_CLI" reattach "$nic" --driver vr_no_such_driver --timeout 30 2>/tmp/err
check no-such-driver-exit-2 expect_eq "$?" 2
check no-such-driver-named grep -q "no module vr_no_such_driver" /tmp/err
check no-such-driver-untouched untouched_on_vfio

# --- vfio-pci's dynamic id for the NIC's id does not recapture it ---
check nic-on-e1000e-for-new-id back_to_e1000e
check new-id-added bash -c "echo '$NIC_ID' >/sys/bus/pci/drivers/vfio-pci/new_id"
# Bound by the dynamic id alone, the way ids= or new_id users bind.
echo >"$sysdev/driver_override"
vr_unbind "$nic"
echo "$nic" >/sys/bus/pci/drivers_probe
check new-id-captures-nic vr_wait 10 vr__bound_to "$nic" vfio-pci
check new-id-no-override expect_eq "$(override_of)" "(null)"
"$VR_CLI" reattach "$nic" --timeout 30 >/tmp/out 2>/tmp/err
check new-id-exit-0 expect_eq "$?" 0
check new-id-on-e1000e on_host_driver
check new-id-said grep -q "vfio-pci has a dynamic id for it" /tmp/err
# The control: a plain reprobe would have given it to vfio-pci again.
vr_unbind "$nic"
echo "$nic" >/sys/bus/pci/drivers_probe
check new-id-would-recapture vr_wait 10 vr__bound_to "$nic" vfio-pci
check new-id-removed bash -c "echo '$NIC_ID' >/sys/bus/pci/drivers/vfio-pci/remove_id"
check nic-on-e1000e-after-new-id vr_bind_host "$nic" e1000e

# --- pci-stub is not a host driver ---
if modprobe pci-stub 2>/tmp/err; then
	echo pci-stub >"$sysdev/driver_override"
	vr_unbind "$nic"
	echo "$nic" >/sys/bus/pci/drivers_probe
	check nic-on-pci-stub vr_wait 10 vr__bound_to "$nic" pci-stub
	"$VR_CLI" reattach "$nic" --timeout 30 >/tmp/out 2>/tmp/err
	check stub-exit-0 expect_eq "$?" 0
	check stub-not-already bash -c "! grep -q already /tmp/out"
	check stub-reattached grep -q "reattached to e1000e" /tmp/out
	check stub-on-e1000e on_host_driver
	"$VR_CLI" reattach "$nic" --driver pci-stub 2>/tmp/err
	check stub-refused-as-driver expect_eq "$?" 2
else
	vr_result SKIP pci-stub "modprobe pci-stub failed: $(cat /tmp/err)"
fi

# --- reopened after it became free, before the re-check: exit 1, untouched ---
check bind-nic-vfio-recheck vr_bind_vfio "$nic"
check nic-held-recheck hold_start /tmp/hold.log
VFIO_RELEASE_TEST_PAUSE=before-recheck:4000 \
	"$VR_CLI" reattach "$nic" --timeout 8 >/tmp/out 2>/tmp/err &
re_pid=$!
vr_wait 10 grep -q "waiting for $nic" /tmp/err
hold_stop
check recheck-paused vr_wait 20 grep -q "test pause before-recheck" /tmp/err
check recheck-reopened hold_start /tmp/hold2.log
bounded_wait 30 "$re_pid"
check recheck-exit-1 expect_eq "$?" 1
check recheck-names-holder grep -q "no longer free (open by pid $hold_pid (vfio-hold))" /tmp/err
check recheck-untouched untouched_on_vfio
hold_stop

# --- reopened between the re-check and the unbind: bounded, exit 3 ---
blocked_unbind() { # NAME ARGS...: the NIC reopened right before the unbind
	local name=$1
	shift
	check "$name-bind-vfio" vr_bind_vfio "$nic"
	check "$name-held" hold_start /tmp/hold.log
	VFIO_RELEASE_TEST_PAUSE=before-unbind:4000 \
		"$VR_CLI" reattach "$nic" --timeout 8 "$@" >/tmp/out 2>/tmp/err &
	re_pid=$!
	vr_wait 10 grep -q "waiting for $nic" /tmp/err
	hold_stop
	check "$name-paused" vr_wait 20 grep -q "test pause before-unbind" /tmp/err
	check "$name-reopened" hold_start /tmp/hold2.log
	bounded_wait 30 "$re_pid"
	check "$name-exit-3" expect_eq "$?" 3
	vr_info "$name: $(tr '\n' '|' </tmp/err)"
	check "$name-names-holder" grep -q "reopened before the unbind (open by pid $hold_pid (vfio-hold))" /tmp/err
	# Being unbound: the kernel dropped the driver link, vfio-pci's remove
	# waits for the holder, the group's device node is still there.
	check "$name-being-unbound" expect_eq "$(vr_driver_of "$nic")" ""
	check "$name-vfio-still-has-it" test -e "/dev/vfio/$(vr_group_of "$nic")"
	check "$name-holder-still-holds" vr__running "$hold_pid"
}
blocked_unbind blocked --driver e1000e
check blocked-says-state grep -q "left: being unbound, vfio-pci's remove waits for that process (sysfs shows no driver already), driver_override e1000e" /tmp/err
check blocked-says-plan grep -q "once the unbind completes, process [0-9]* binds it to e1000e" /tmp/err
hold_stop
check blocked-finishes-on-e1000e vr_wait 30 vr__bound_to "$nic" e1000e
check blocked-override-cleared vr_wait 10 expect_eq "$(override_of)" "(null)"

blocked_unbind blocked-restore --driver e1000e --restore
check blocked-restore-says-state grep -q "left: being unbound, vfio-pci's remove waits for that process (sysfs shows no driver already), driver_override e1000e" /tmp/err
check blocked-restore-says-plan grep -q "once the unbind completes, process [0-9]* binds it to vfio-pci (--restore)" /tmp/err
hold_stop
check blocked-restore-back-on-vfio vr_wait 30 bash -c "[ -e /dev/vfio/$(vr_group_of "$nic") ] && [ \"\$(basename \$(readlink $sysdev/driver))\" = vfio-pci ]"
check blocked-restore-override expect_eq "$(override_of)" vfio-pci

# --- a host driver that refuses the device ---
# virtio-pci (loaded: it carries the 9p root), forced by driver_override,
# answers -ENODEV for a device ID outside 0x1000-0x107f before touching it
# (vp_modern_probe, vp_legacy_probe). e1000 refuses an 82574L too, but its
# error path warns in iounmap on 6.12.
check bind-nic-vfio-refused vr_bind_vfio "$nic"
"$VR_CLI" reattach "$nic" --driver virtio-pci --timeout 30 >/tmp/out 2>/tmp/err
check refused-exit-3 expect_eq "$?" 3
vr_info "refused: $(tr '\n' '|' </tmp/err)"
check refused-said grep -q "unbound from vfio-pci, but virtio-pci did not take it: No such device" /tmp/err
check refused-state-said grep -q "left: bound to no driver, driver_override cleared" /tmp/err
check refused-state-true expect_eq "$(vr_driver_of "$nic"):$(override_of)" ":(null)"
check bind-nic-vfio-restore vr_bind_vfio "$nic"
"$VR_CLI" reattach "$nic" --driver virtio-pci --timeout 30 --restore >/tmp/out 2>/tmp/err
check restore-exit-3 expect_eq "$?" 3
check restore-said grep -q "restore: returned it: bound to vfio-pci, driver_override vfio-pci" /tmp/err
check restore-state-true untouched_on_vfio
check restore-usable vr_wait 10 test -e "/dev/vfio/$(vr_group_of "$nic")"
check nic-back-at-end "$VR_CLI" reattach "$nic" --timeout 30
check nic-on-e1000e-at-end on_host_driver

# --- a VF whose PF has sriov_drivers_autoprobe=0, in a fake sysfs tree ---
# The VM has no SR-IOV device: the tree only shows what reattach says and
# writes; the kernel side is pci_device_can_probe() (see reattach.c).
fake=/tmp/fake-sys
vf=0000:05:00.1
mkdir -p "$fake/bus/pci/devices/$vf" "$fake/bus/pci/devices/0000:05:00.0" "$fake/bus/pci/drivers/e1000e"
ln -sfn ../0000:05:00.0 "$fake/bus/pci/devices/$vf/physfn"
echo 0 >"$fake/bus/pci/devices/0000:05:00.0/sriov_drivers_autoprobe"
echo "(null)" >"$fake/bus/pci/devices/$vf/driver_override"
: >"$fake/bus/pci/drivers_probe"
: >"$fake/bus/pci/drivers/e1000e/bind"
VFIO_RELEASE_SYSFS=$fake "$VR_CLI" reattach "$vf" --driver e1000e --timeout 1 >/tmp/out 2>/tmp/err
check fake-vf-exit-3 expect_eq "$?" 3
check fake-vf-autoprobe-said grep -q "sriov_drivers_autoprobe=0: the kernel probes it only for driver_override, set to e1000e" /tmp/err
check fake-vf-probed expect_eq "$(cat "$fake/bus/pci/drivers_probe")" "$vf"
check fake-vf-bind-tried expect_eq "$(cat "$fake/bus/pci/drivers/e1000e/bind")" "$vf"

check module-unloads vr_unload
vr_done
