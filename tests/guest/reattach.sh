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
# And what the hostdev review found: a caller reading reattach's stderr
# through a pipe gets EOF when it exits, even while its background child
# waits for a blocked unbind; a second reattach meanwhile exits 2 at once;
# a caller killed after the unbind strands nothing; --driver must match
# the modalias (--force); modalias candidates in turn, the blacklist and an
# install command from modprobe.d; a stale override cleared; a device put
# on its host driver by someone else while reattach waited is exit 0; an
# unbind blocked by someone else bounds reattach too.
#
# VFIO_RELEASE_TEST_PAUSE=STEP:MS makes reattach sleep at STEP, so that the
# device can be reopened (or the caller killed) exactly there.
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
# The background child's last word goes to syslog.
SYSLOG=/tmp/syslog
busybox syslogd -n -O "$SYSLOG" &
syslog_pid=$!
check syslogd-listens vr_wait 10 test -S /dev/log
# logged PID TEXT: syslog has TEXT from vfio-release[PID].
logged() { grep -q "vfio-release\[$1\]: $2" "$SYSLOG"; }
mkdir -p /run/modprobe.d
MODPROBE_CONF=/run/modprobe.d/vr-reattach-test.conf

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

# --- the opener exited, a child it forked holds the file: not named as holder ---
check bind-nic-vfio-forked vr_bind_vfio "$nic"
# The child (vfio-hold's own image, no exec) holds until it is killed,
# once reattach has said who holds the device.
"$HOLD" -d "$nic" fork-hold-ms=120000 mark=forked >/tmp/hold-fork.log 2>&1
check forked-opener-exited expect_eq "$?" 0
check forked-child-holds vr_wait 10 state_is "$nic" open
"$VR_CLI" reattach "$nic" --driver e1000e --timeout 60 >/tmp/reattach.out 2>/tmp/reattach.err &
re_pid=$!
check forked-progress-says-opener-exited vr_wait 30 grep -q "waiting for $nic to be free: open, though its opener pid [0-9]* (vfio-hold) has exited: another process holds its file" /tmp/reattach.err
pkill -KILL -f "fork-hold-ms=120000"
vr_exit_within 60 "$re_pid"
check forked-reattach-exit-0 expect_eq "$?" 0
check forked-no-dead-holder-named bash -c "! grep -q 'free: open by pid' /tmp/reattach.err"
check forked-nic-on-e1000e on_host_driver

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
vr_exit_within 30 "$re_pid"
check recheck-exit-1 expect_eq "$?" 1
check recheck-names-holder grep -q "no longer free (open by pid $hold_pid (vfio-hold))" /tmp/err
check recheck-untouched untouched_on_vfio
hold_stop

# --- reopened between the re-check and the unbind: bounded, exit 3 ---
# The caller reads reattach's stdout and stderr through a pipe, as
# err=$(... 2>&1) or Python's capture_output do: the pipe's EOF, not just
# reattach's exit, must come within the bound while the unbind stays
# blocked (the background child must not hold the pipe).
blocked_unbind() { # NAME ARGS...: the NIC reopened right before the unbind
	local name=$1
	shift
	check "$name-bind-vfio" vr_bind_vfio "$nic"
	check "$name-held" hold_start /tmp/hold.log
	: >/tmp/err
	VFIO_RELEASE_TEST_PAUSE=before-unbind:4000 bash -c \
		'"$@" 2>&1 | cat >/tmp/err; echo "${PIPESTATUS[0]}" >/tmp/rc' _ \
		"$VR_CLI" reattach "$nic" --timeout 8 "$@" &
	re_pid=$!
	vr_wait 10 grep -q "waiting for $nic" /tmp/err
	hold_stop
	check "$name-paused" vr_wait 20 grep -q "test pause before-unbind" /tmp/err
	check "$name-reopened" hold_start /tmp/hold2.log
	vr_exit_within 30 "$re_pid"
	check "$name-pipe-eof-bounded" expect_eq "$?" 0
	check "$name-exit-3" expect_eq "$(cat /tmp/rc)" 3
	vr_info "$name: $(tr '\n' '|' </tmp/err)"
	check "$name-names-holder" grep -q "the unbind from vfio-pci has not completed: the device was reopened before the unbind (open by pid $hold_pid (vfio-hold)); vfio-pci's remove waits until it is closed, and has asked its user to let go" /tmp/err
	# Being unbound: the kernel dropped the driver link, vfio-pci's remove
	# waits for the holder, the group's device node is still there.
	check "$name-being-unbound" expect_eq "$(vr_driver_of "$nic")" ""
	check "$name-vfio-still-has-it" test -e "/dev/vfio/$(vr_group_of "$nic")"
	check "$name-holder-still-holds" vr__running "$hold_pid"
	finisher=$(sed -n 's/.*process \([0-9]*\) finishes in the background.*/\1/p' /tmp/err)
	check "$name-finisher-named" test -n "$finisher"
	check "$name-finisher-runs" vr__running "${finisher:-0}"
	# A second reattach now: the device looks unbound, but the first one's
	# child holds the device lock in its blocked unbind (6.1 would block in
	# driver_override, 6.12 in the bind). It must not go near it.
	"$VR_CLI" reattach "$nic" --timeout 5 >/tmp/out2 2>/tmp/err2 &
	second=$!
	vr_exit_within 15 "$second"
	check "$name-second-exit-2" expect_eq "$?" 2
	check "$name-second-names-finisher" grep -q "reattach pid $finisher is finishing with it (nothing was changed)" /tmp/err2
}
blocked_unbind blocked --driver e1000e
check blocked-says-state grep -q "left: being unbound (sysfs shows no driver already), driver_override e1000e" /tmp/err
check blocked-says-plan grep -q "process $finisher finishes in the background, cannot be cancelled, and logs the outcome to syslog (vfio-release): once the unbind completes it probes e1000e" /tmp/err
hold_stop
check blocked-finishes-on-e1000e vr_wait 30 vr__bound_to "$nic" e1000e
check blocked-override-cleared vr_wait 10 expect_eq "$(override_of)" "(null)"
check blocked-last-word-in-syslog vr_wait 10 logged "$finisher" "$nic: reattached to e1000e"
check blocked-finisher-gone vr_wait 10 bash -c "! [ -e /proc/$finisher ] || grep -q '^State:.*Z' /proc/$finisher/status"

blocked_unbind blocked-restore --driver e1000e --restore
check blocked-restore-says-state grep -q "left: being unbound (sysfs shows no driver already), driver_override e1000e" /tmp/err
check blocked-restore-says-plan grep -q "once the unbind completes it binds it back to vfio-pci (--restore)" /tmp/err
hold_stop
check blocked-restore-back-on-vfio vr_wait 30 bash -c "[ -e /dev/vfio/$(vr_group_of "$nic") ] && [ \"\$(basename \$(readlink $sysdev/driver))\" = vfio-pci ]"
check blocked-restore-override vr_wait 10 expect_eq "$(override_of)" vfio-pci
check blocked-restore-logged vr_wait 10 logged "$finisher" "$nic: --restore: returned it: bound to vfio-pci, driver_override vfio-pci"

# --- someone else's unbind is blocked (a plain write, not a reattach) ---
# The kernel dropped the driver link and holds the device lock. On 6.1
# driver_override takes that lock; on 6.12 drivers_probe does nothing (the
# device still has dev->driver) and the bind waits for it. Either way the
# write is the background child's: reattach returns within its bound.
check foreign-bind-vfio vr_bind_vfio "$nic"
check foreign-held hold_start /tmp/hold.log
echo "$nic" >/sys/bus/pci/drivers/vfio-pci/unbind &
foreign=$!
check foreign-unbinding vr_wait 10 bash -c "[ ! -e $sysdev/driver ]"
"$VR_CLI" reattach "$nic" --driver e1000e --timeout 3 >/tmp/out 2>/tmp/err &
re_pid=$!
vr_exit_within 40 "$re_pid"
check foreign-exit-3 expect_eq "$?" 3
vr_info "foreign: $(tr '\n' '|' </tmp/err)"
check foreign-says-why grep -Eq "setting driver_override to e1000e is blocked: the device lock is held|the bind of the host driver has not completed: it waits for the device lock" /tmp/err
finisher=$(sed -n 's/.*process \([0-9]*\) finishes in the background.*/\1/p' /tmp/err)
check foreign-finisher-named test -n "$finisher"
hold_stop
wait "$foreign"
check foreign-finishes-on-e1000e vr_wait 30 vr__bound_to "$nic" e1000e
check foreign-override-cleared vr_wait 10 on_host_driver
check foreign-logged vr_wait 10 logged "$finisher" "$nic: reattached to e1000e"

# --- the caller killed right after the unbind: the child finishes anyway ---
check killed-bind-vfio vr_bind_vfio "$nic"
VFIO_RELEASE_TEST_PAUSE=after-unbind:5000 "$VR_CLI" reattach "$nic" --driver e1000e --timeout 60 >/tmp/out 2>/tmp/err &
re_pid=$!
check killed-paused vr_wait 30 grep -q "test pause after-unbind" /tmp/err
check killed-unbound expect_eq "$(vr_driver_of "$nic")" ""
kill -TERM "$re_pid"
vr_exit_within 10 "$re_pid"
check killed-caller-died expect_eq "$?" 143
check killed-finishes-on-e1000e vr_wait 30 vr__bound_to "$nic" e1000e
check killed-override-cleared vr_wait 10 on_host_driver
check killed-logged vr_wait 10 grep -q "vfio-release\[[0-9]*\]: $nic: reattached to e1000e" "$SYSLOG"

# --- someone else put it on its host driver while reattach waited: exit 0 ---
check other-bind-vfio vr_bind_vfio "$nic"
check other-held hold_start /tmp/hold.log
VFIO_RELEASE_TEST_PAUSE=before-recheck:4000 \
	"$VR_CLI" reattach "$nic" --driver e1000e --timeout 30 >/tmp/out 2>/tmp/err &
re_pid=$!
vr_wait 10 grep -q "waiting for $nic" /tmp/err
hold_stop
check other-paused vr_wait 20 grep -q "test pause before-recheck" /tmp/err
check other-binds-it vr_bind_host "$nic" e1000e
vr_exit_within 30 "$re_pid"
check other-exit-0 expect_eq "$?" 0
check other-said grep -q "left vfio while reattach waited, and is on e1000e now (bound by someone else; nothing was changed)" /tmp/err

# --- on its host driver with a stale driver_override=vfio-pci: cleared ---
check stale-on-e1000e back_to_e1000e
echo vfio-pci >"$sysdev/driver_override"
"$VR_CLI" reattach "$nic" >/tmp/out 2>/tmp/err
check stale-exit-0 expect_eq "$?" 0
check stale-said grep -q "cleared its stale driver_override vfio-pci" /tmp/err
check stale-cleared on_host_driver

# --- --driver NAME whose ID table does not match: refused unless --force ---
check nomatch-bind-vfio vr_bind_vfio "$nic"
"$VR_CLI" reattach "$nic" --driver virtio-pci --timeout 30 >/tmp/out 2>/tmp/err
check nomatch-exit-2 expect_eq "$?" 2
check nomatch-said grep -q "virtio-pci (module virtio_pci) has no ID table entry for its modalias pci:v00008086d000010D3" /tmp/err
check nomatch-untouched untouched_on_vfio
if not_loaded igb; then
	"$VR_CLI" reattach "$nic" --driver igb --timeout 30 >/tmp/out 2>/tmp/err
	check nomatch-igb-exit-2 expect_eq "$?" 2
	check nomatch-igb-said grep -q "igb (module igb) has no ID table entry" /tmp/err
	check nomatch-igb-not-loaded not_loaded igb
fi
check nomatch-untouched-2 untouched_on_vfio

# --- modalias candidates in turn: the first refuses, the next takes it ---
# modprobe.d aliases come first in libkmod's lookup: virtio_pci (which
# refuses an 82574L with -ENODEV), then e1000e.
modalias=$(cat "$sysdev/modalias")
printf 'alias %s virtio_pci\nalias %s e1000e\n' "$modalias" "$modalias" >"$MODPROBE_CONF"
"$VR_CLI" reattach "$nic" --timeout 30 >/tmp/out 2>/tmp/err
check candidates-exit-0 expect_eq "$?" 0
vr_info "candidates: $(tr '\n' '|' </tmp/err)"
check candidates-first-refused grep -q "unbound from vfio-pci, but virtio-pci did not take it: No such device" /tmp/err
check candidates-second-took-it grep -q "reattached to e1000e" /tmp/out
check candidates-on-e1000e on_host_driver

# --- the blacklist, for a driver found by modalias ---
printf 'blacklist e1000e\n' >"$MODPROBE_CONF"
check blacklist-bind-vfio vr_bind_vfio "$nic"
check blacklist-e1000e-unloads rmmod e1000e
"$VR_CLI" reattach "$nic" --timeout 30 >/tmp/out 2>/tmp/err
check blacklist-exit-2 expect_eq "$?" 2
check blacklist-said grep -q "the host driver modules for its modalias $modalias are blacklisted; name one with --driver" /tmp/err
check blacklist-untouched untouched_on_vfio
check blacklist-not-loaded not_loaded e1000e
# Named, like modprobe NAME: loaded anyway.
"$VR_CLI" reattach "$nic" --driver e1000e --timeout 30 >/tmp/out 2>/tmp/err
check blacklist-named-exit-0 expect_eq "$?" 0
check blacklist-named-on-e1000e on_host_driver

# --- an install command that fails is not "blacklisted" ---
printf 'install e1000e /bin/false\n' >"$MODPROBE_CONF"
check install-bind-vfio vr_bind_vfio "$nic"
check install-e1000e-unloads rmmod e1000e
"$VR_CLI" reattach "$nic" --driver e1000e --timeout 30 >/tmp/out 2>/tmp/err
check install-exit-2 expect_eq "$?" 2
vr_info "install: $(tr '\n' '|' </tmp/err)"
check install-said grep -q "the install command modprobe.d gives for e1000e failed" /tmp/err
check install-libkmod-reason grep -q "libkmod: Error running install command ./bin/false. for module e1000e: retcode 1" /tmp/err
check install-not-blacklist bash -c "! grep -q blacklisted /tmp/err"
check install-untouched untouched_on_vfio
rm -f "$MODPROBE_CONF"
check install-after-removed "$VR_CLI" reattach "$nic" --driver e1000e --timeout 30
check install-after-on-e1000e on_host_driver

# --- a host driver that refuses the device ---
# virtio-pci (loaded: it carries the 9p root), forced by driver_override,
# answers -ENODEV for a device ID outside 0x1000-0x107f before touching it
# (vp_modern_probe, vp_legacy_probe). e1000 refuses an 82574L too, but its
# error path warns in iounmap on 6.12.
check bind-nic-vfio-refused vr_bind_vfio "$nic"
"$VR_CLI" reattach "$nic" --driver virtio-pci --force --timeout 30 >/tmp/out 2>/tmp/err
check refused-exit-3 expect_eq "$?" 3
vr_info "refused: $(tr '\n' '|' </tmp/err)"
check refused-said grep -q "unbound from vfio-pci, but virtio-pci did not take it: No such device" /tmp/err
check refused-state-said grep -q "left: bound to no driver, driver_override cleared" /tmp/err
check refused-state-true expect_eq "$(vr_driver_of "$nic"):$(override_of)" ":(null)"
check bind-nic-vfio-restore vr_bind_vfio "$nic"
"$VR_CLI" reattach "$nic" --driver virtio-pci --force --timeout 30 --restore >/tmp/out 2>/tmp/err
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
cp "$sysdev/modalias" "$fake/bus/pci/devices/$vf/modalias"
: >"$fake/bus/pci/drivers_probe"
: >"$fake/bus/pci/drivers/e1000e/bind"
VFIO_RELEASE_SYSFS=$fake "$VR_CLI" reattach "$vf" --driver e1000e --timeout 1 >/tmp/out 2>/tmp/err
check fake-vf-exit-3 expect_eq "$?" 3
check fake-vf-autoprobe-said grep -q "sriov_drivers_autoprobe=0: the kernel probes it only for driver_override, set to e1000e" /tmp/err
check fake-vf-probed expect_eq "$(cat "$fake/bus/pci/drivers_probe")" "$vf"
check fake-vf-bind-tried expect_eq "$(cat "$fake/bus/pci/drivers/e1000e/bind")" "$vf"

check module-unloads vr_unload
kill "$syslog_pid" 2>/dev/null
vr_done
