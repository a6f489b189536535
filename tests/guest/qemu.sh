#!/bin/bash
# vr-timeout: 600
# vfio-release gate and unplug against a real QEMU (Debian's 7.2, from the
# shared root, -S: it opens the device, no inner guest runs) holding the
# guest's e1000e through vfio-pci, with the real module:
#  1. gate --all while QEMU is quit on its other monitor: COMMAND runs once
#     QEMU is gone and the NIC is free, after the kernel's free;
#  2. the same with SIGKILL instead of quit;
#  3. vfio-steal takes QEMU's VFIO files, QEMU is killed: gate --all times
#     out, does not run COMMAND, and names the holder; once vfio-steal is
#     killed the NIC becomes free;
#  4. gate --id on a QEMU that is quit: the exit counts as the deletion;
#  5. unplug: a bad id, a device that is not vfio-pci (the root port, still
#     there afterwards), a device_del the absent guest never acknowledges
#     (timeout, the guest named, the NIC still open), and a second
#     device_del QEMU finds already pending (waited for: exit 1, said);
#  6. unplug while QEMU quits: exit 3, the exit said, the NIC free.
# The order of QEMU's side and the kernel's free, and the gap, are printed
# with vr_info (from gate's own report).
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

nic=$VR_NIC
QMPCMD=$VR_HELPERS/qmp-cmd
STEAL=$VR_HELPERS/vfio-steal
Q1=/tmp/q1
Q2=/tmp/q2
QEMU_PID=

# qemu_start: QEMU holds the NIC (the module says open) with two monitors.
qemu_start() {
	rm -f "$Q1" "$Q2"
	qemu-system-x86_64 -machine q35 -accel tcg -nodefaults -display none -S \
		-qmp "unix:$Q1,server=on,wait=off" -qmp "unix:$Q2,server=on,wait=off" \
		-device pcie-root-port,id=rp1,chassis=1 \
		-device "vfio-pci,host=$nic,id=hostdev0,bus=rp1" >/tmp/qemu.log 2>&1 &
	QEMU_PID=$!
	vr_wait 60 state_is "$nic" open && vr_wait 20 test -S "$Q2"
}
qemu_gone() { ! vr__running "$QEMU_PID"; }
qemu_reap() {
	[ -n "$QEMU_PID" ] || return 0
	kill -KILL "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}
nic_free() { state_is "$nic" free; }

# gate_start LOG ARGS...: gate ARGS -- qmp-cmd --now (into /tmp/ran); returns
# once gate listens.
GATE_PID=
gate_start() {
	local log=$1
	shift
	rm -f /tmp/ran
	"$VR_CLI" gate "$@" -- "$QMPCMD" --now >/tmp/ran 2>"$log" &
	GATE_PID=$!
	vr_wait 60 grep -q 'gate: listening on' "$log"
}
# gate_order LOG WHAT: "after 12.3" or "before 4.5" from gate's line.
gate_order() {
	sed -n "s/.*: free \([0-9.]*\) ms \(after\|before\) $2\$/\2 \1/p" "$1" | head -n1
}
ran_ns() { awk '$1 == "now" { print $2 }' /tmp/ran; }
sent_ns() { awk '$1 == "sent" { print $2 }' "$1"; }
free_ts() { mon_field "$nic" free timestamp_ns; }
# ordered A B C: A < B < C, as integers.
ordered() { [ -n "$1" ] && [ -n "$2" ] && [ -n "$3" ] && [ "$1" -lt "$2" ] && [ "$2" -lt "$3" ]; }

check module-loads vr_load
check nic-bind-vfio vr_bind_vfio "$nic"
mon_start

# --- 1. gate --all, QEMU quit on the other monitor ---
check quit-qemu-holds-nic qemu_start
check quit-gate-listens gate_start /tmp/gate1.err --qmp "$Q2" --all --timeout 120
"$QMPCMD" "$Q1" quit >/tmp/quit.out 2>/tmp/quit.err
vr_exit_within 120 "$GATE_PID"
rc=$?
check quit-gate-exit-0 expect_eq "$rc" 0
check quit-command-ran test -n "$(ran_ns)"
check quit-qemu-gone vr_wait 20 qemu_gone
check quit-nic-free nic_free
check quit-free-after-quit-before-command ordered "$(sent_ns /tmp/quit.err)" "$(free_ts)" "$(ran_ns)"
order=$(gate_order /tmp/gate1.err "QEMU exit")
check quit-order-reported test -n "$order"
vr_info "quit: free ${order:-?} ms QEMU's exit (monitor closed); quit sent $(sent_ns /tmp/quit.err), free $(free_ts), COMMAND $(ran_ns) ns; gate: $(grep "$nic" /tmp/gate1.err | tail -n1)"
qemu_reap

# --- 2. the same, QEMU killed ---
check kill-qemu-holds-nic qemu_start
check kill-gate-listens gate_start /tmp/gate2.err --qmp "$Q2" --all --timeout 120
"$QMPCMD" --now >/tmp/kill.mark
kill -KILL "$QEMU_PID"
vr_exit_within 120 "$GATE_PID"
rc=$?
check kill-gate-exit-0 expect_eq "$rc" 0
check kill-command-ran test -n "$(ran_ns)"
check kill-nic-free nic_free
check kill-free-after-kill-before-command ordered "$(awk '{ print $2 }' /tmp/kill.mark)" "$(free_ts)" "$(ran_ns)"
order=$(gate_order /tmp/gate2.err "QEMU exit")
check kill-order-reported test -n "$order"
vr_info "SIGKILL: free ${order:-?} ms QEMU's exit (monitor closed); gate: $(grep "$nic" /tmp/gate2.err | tail -n1)"
qemu_reap

# --- 3. another holder of QEMU's files: not free, not run, named ---
check steal-qemu-holds-nic qemu_start
"$STEAL" "$QEMU_PID" >/tmp/steal.out 2>&1 &
steal_pid=$!
check steal-took-files vr_wait 20 grep -q '^stole [1-9]' /tmp/steal.out
check steal-gate-listens gate_start /tmp/gate3.err --qmp "$Q2" --all --timeout 10
kill -KILL "$QEMU_PID"
vr_exit_within 30 "$GATE_PID"
rc=$?
check steal-gate-timeout expect_eq "$rc" 124
check steal-command-not-run test ! -s /tmp/ran
check steal-says-not-running grep -q 'timed out after 10.0 s: not running' /tmp/gate3.err
check steal-names-holder grep -q "$nic (hostdev0): QEMU exit +[0-9.]* ms, not free: still open by pid $steal_pid (vfio-steal)" /tmp/gate3.err
check steal-nic-still-open state_is "$nic" open
vr_info "stolen: $(grep "$nic" /tmp/gate3.err | tail -n1)"
kill -KILL "$steal_pid"
wait "$steal_pid" 2>/dev/null
check steal-free-once-thief-killed vr_wait 20 nic_free
qemu_reap

# --- 4. gate --id, QEMU quit: its exit is the deletion ---
check id-qemu-holds-nic qemu_start
check id-gate-listens gate_start /tmp/gate4.err --qmp "$Q2" --id hostdev0 --timeout 120
"$QMPCMD" "$Q1" quit >/tmp/quit4.out 2>/tmp/quit4.err
vr_exit_within 120 "$GATE_PID"
rc=$?
check id-gate-exit-0 expect_eq "$rc" 0
check id-command-ran test -n "$(ran_ns)"
check id-nic-free nic_free
order=$(gate_order /tmp/gate4.err "QEMU exit")
check id-exit-counts-as-deletion test -n "$order"
vr_info "gate --id, quit: free ${order:-?} ms QEMU's exit; gate: $(grep "$nic" /tmp/gate4.err | tail -n1)"
qemu_reap

# --- 5. unplug: refused before device_del, and a guest that never answers ---
check unplug-qemu-holds-nic qemu_start
"$VR_CLI" unplug --qmp "$Q1" --id nope --timeout 3 >/tmp/u1.out 2>/tmp/u1.err
check unplug-bad-id bash -c "[ $? = 2 ] && grep -q \"QEMU has no device with id 'nope'\" /tmp/u1.err"
"$VR_CLI" unplug --qmp "$Q1" --id rp1 --timeout 3 >/tmp/u2.out 2>/tmp/u2.err
check unplug-non-vfio bash -c "[ $? = 2 ] && grep -q \"device 'rp1' is not a vfio-pci device\" /tmp/u2.err"
check unplug-non-vfio-kept bash -c "'$QMPCMD' '$Q2' qom-list '{\"path\": \"/machine/peripheral\"}' | grep -q '\"name\": \"rp1\"'"
"$VR_CLI" unplug --qmp "$Q1" --id hostdev0 --timeout 5 --json >/tmp/u3.json 2>/tmp/u3.err
rc=$?
check unplug-unanswered-timeout expect_eq "$rc" 1
check unplug-says-guest grep -q 'hostdev0: no DEVICE_DELETED after 5.0 s: the guest did not acknowledge the unplug' /tmp/u3.err
check unplug-json jq -e --arg d "$nic" '.schema == 1 and .event == "unplug" and .result == "timeout" and
	.device == $d and .device_del_sent == true and (has("qemu_ns") | not) and .why.block == "open" and .exit == 1' /tmp/u3.json
check unplug-nic-still-open state_is "$nic" open
"$VR_CLI" unplug --qmp "$Q1" --id hostdev0 --timeout 5 >/tmp/u4.out 2>/tmp/u4.err
rc=$?
check unplug-pending-exit-1 expect_eq "$rc" 1
check unplug-pending-says grep -q 'hostdev0: QEMU says an unplug is already pending (Device hostdev0 is already in the process of unplug): waiting' /tmp/u4.err
vr_info "unplug without a guest: $(tr '\n' ' ' </tmp/u3.err) | second: $(tr '\n' ' ' </tmp/u4.err)"
qemu_reap
check unplug-free-after-kill vr_wait 20 nic_free

# --- 6. unplug while QEMU quits: the exit is said, the wait for free goes on ---
check exit-qemu-holds-nic qemu_start
"$VR_CLI" unplug --qmp "$Q1" --id hostdev0 --timeout 60 --json >/tmp/u6.json 2>/tmp/u6.err &
unplug_pid=$!
check exit-device-del-accepted vr_wait 30 grep -q 'hostdev0: device_del accepted' /tmp/u6.err
"$QMPCMD" "$Q2" quit >/dev/null 2>&1
vr_exit_within 60 "$unplug_pid"
rc=$?
check exit-unplug-exit-3 expect_eq "$rc" 3
check exit-unplug-says grep -q 'hostdev0: QEMU exited (it shut down) before DEVICE_DELETED; '"$nic"' is free' /tmp/u6.err
check exit-unplug-json jq -e '.result == "qemu-exited" and .qemu_event == "QEMU exit" and .device_del_sent == true and
	(.free_ns | type) == "number" and .exit == 3' /tmp/u6.json
check exit-nic-free nic_free
vr_info "unplug, QEMU quit meanwhile: $(jq -c '{first, qemu_ms, free_ms, gap_ms}' /tmp/u6.json) $(tr '\n' ' ' </tmp/u6.err)"
qemu_reap

mon_stop
check monitor-log-sane mon_log_sane
vr_done
