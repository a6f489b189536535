#!/bin/bash
# vr-timeout: 120
# The guest half of `make demo` (tests/demo/demo.sh boots it with
# tests/vm/run-vm.sh): the slow-release race on an emulated e1000e NIC,
# once the naive way and once gated by `vfio-release reattach`.
#
# It tells its story on the result channel, one line each, which the host
# side formats as it arrives:
#   INFO step TEXT    a numbered step
#   INFO say TEXT     a line of the step
#   INFO event TEXT   a line of `vfio-release monitor`, as it came
#   PASS/FAIL NAME    the checks: the demo fails when one fails
# DEMO_DELAY_MS: the slow driver's close delay (default 2000).
#
# The holder is tests/helpers/vfio-hold with a forked helper that shares
# its files (fork-hold-ms): SIGKILL of the holder and waitpid return at
# once, the device still open in the helper (the "reap-fork" signal of
# tests/rig/README.md: unsafe). The helper is killed next; its exit runs
# the device's slow close while the manager acts.
# Functions run through demo_check, vr_wait and vr_bounded look unused.
# shellcheck disable=SC2317
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"
# shellcheck source=SCRIPTDIR/../guest/lib-release.sh
. "$(dirname "$0")/../guest/lib-release.sh"

RIG=$VR_TOP/tests/rig/vr-rig
NIC=$VR_NIC
SYS=/sys/bus/pci/devices/$NIC
DELAY_MS=${DEMO_DELAY_MS:-2000}
MON_TXT=/tmp/demo-monitor.txt

# One story line to the result channel and a copy to the console, with
# builtins only (a fork costs ~0.1 s in the VM).
tell() {
	local text=${*//$'\n'/ }
	printf 'INFO %s\n' "$text" >"$VR_RESULT_DEV"
	printf 'vr: %s\n' "$text"
}
step() { tell "step $*"; }
say() { tell "say $*"; }
now_ms() { NOW_MS=$((${EPOCHREALTIME/./} / 1000)); }
# demo_check NAME WHAT CMD...: a PASS/FAIL line; on failure also said.
demo_check() {
	local name=$1 what=$2
	shift 2
	if "$@" >/tmp/check.out 2>&1; then
		vr_result PASS "$name"
		return 0
	fi
	vr_result FAIL "$name" "$what: $(tail -n 2 /tmp/check.out | tr '\n' ' ')"
	return 1
}
# The end: a step that failed ends the demo (what follows depends on it).
finish() {
	mon_text_stop
	vr_done
	exit 0
}
abort() {
	say "the demo cannot go on: $*"
	finish
}

# `vfio-release monitor` for the NIC, each line to the story as it comes
# (the CLI flushes every event) and to MON_TXT for the facts.
MON_TXT_PID=
mon_text_start() {
	: >"$MON_TXT"
	(
		"$VR_CLI" monitor --no-time --device "$NIC" 2>/tmp/demo-monitor.err |
			while IFS= read -r line; do
				printf '%s\n' "$line" >>"$MON_TXT"
				tell "event $line"
			done
	) &
	MON_TXT_PID=$!
	vr_wait 20 grep -q '^monitoring' /tmp/demo-monitor.err
}
mon_text_stop() {
	[ -n "$MON_TXT_PID" ] || return 0
	# The monitor is the pipeline's first process: ending it ends the loop.
	pkill -P "$MON_TXT_PID" 2>/dev/null
	wait "$MON_TXT_PID" 2>/dev/null
	MON_TXT_PID=
}
# mon_count EVENT: how many EVENT lines the monitor printed so far.
mon_count() { grep -c "^$1 " "$MON_TXT"; }
# mon_key EVENT KEY: KEY's value in the last EVENT line.
mon_key() {
	local line kv
	line=$(grep "^$1 " "$MON_TXT" | tail -n1)
	for kv in $line; do
		[ "${kv%%=*}" = "$2" ] && { echo "${kv#*=}"; return 0; }
	done
	return 1
}
# mon_wait_count EVENT N: until the monitor printed N EVENT lines (20 s).
mon_at_least() { [ "$(mon_count "$1")" -ge "$2" ]; }
mon_wait_count() { vr_wait 20 mon_at_least "$1" "$2"; }

# The kernel's own word that an unbind waited for the device's user.
blocked_msgs() { dmesg | grep -c "$NIC.*blocked until released by user"; }

# start_holder TAG: a VM-like process opens the NIC through VFIO and forks
# a helper that shares its files (and would hold them 10 minutes); HOLDER
# and HELPER are their pids.
HOLDER=''
HELPER=''
start_holder() {
	"$HOLD" -d "$NIC" fork-hold-ms=600000 pause >"/tmp/demo-hold-$1.out" 2>&1 &
	HOLDER=$!
	vr_wait 20 grep -q '^paused' "/tmp/demo-hold-$1.out" || return 1
	HELPER=$(pgrep -P "$HOLDER")
	[ -n "$HELPER" ]
}
# kill_holder: SIGKILL, then waitpid: what a manager takes as "the VM is
# gone" (KILL_MS: how long the reap took); then the helper is killed, and
# its exit starts the device's slow close.
KILL_MS=0
kill_holder() {
	local t0
	now_ms; t0=$NOW_MS
	kill -KILL "$HOLDER"
	wait "$HOLDER" 2>/dev/null
	now_ms; KILL_MS=$((NOW_MS - t0))
	kill -KILL "$HELPER"
}
naive_unbind() { echo "$NIC" >/sys/bus/pci/drivers/vfio_pci_slow/unbind; }

# --- the module and its monitor ---
step "Load the vfio_release module; start 'vfio-release monitor --device $NIC'"
demo_check module-loads "insmod $VR_KO" insmod "$VR_KO" || abort "the module did not load"
demo_check monitor-starts "vfio-release monitor did not subscribe" mon_text_start ||
	abort "no monitor: $(cat /tmp/demo-monitor.err)"
say "the NIC $NIC is an emulated Intel e1000e, on its host driver: $(vr_driver_of "$NIC")"
say "the monitor's events: claimed (its IOMMU group taken for a VM's DMA), opened,"
say "released (the last close is over, with its reset), free (a host driver may bind), removed (left vfio)"
say "(each 'monitor:' line is one event with its key fields; the full lines are in the console log)"

# --- the rig ---
step "Put the NIC on vfio_pci_slow (tests/rig/vr-rig), a vfio-pci variant whose close takes ${DELAY_MS} ms"
demo_check rig-setup "vr-rig setup" "$RIG" setup "$NIC" --delay "$DELAY_MS" || abort "the rig failed"
say "vr-rig: $(tail -n1 /tmp/check.out)"
say "(a device slow to quiesce: a Mellanox CX4 on PowerNV takes seconds, which started this project)"

# --- the naive manager ---
step "A VM-like process (vfio-hold) opens the NIC through VFIO and forks a helper that shares its files"
opens=$(mon_count opened)
demo_check naive-holder-opens "vfio-hold did not open the NIC" start_holder naive || abort "no holder: $(cat /tmp/demo-hold-naive.out)"
mon_wait_count opened $((opens + 1))
step "SIGKILL the VM; once waitpid returns, give the NIC back to e1000e the naive way"
say "(driver_override, unbind, probe: what libvirt's nodedev-reattach, driverctl and dpdk-devbind do)"
say "the VM's helper still has the NIC open: killed right after the VM, its exit starts the ${DELAY_MS} ms close"
blocked_before=$(blocked_msgs)
releases=$(mon_count released)
removals=$(mon_count removed)
kill_holder
say "waitpid returned after $KILL_MS ms: the VM looks gone; unbinding from vfio_pci_slow ..."
echo e1000e >"$SYS/driver_override"
vr_bounded 30 naive_unbind
unbind_rc=$? naive_ms=$VR_BOUNDED_MS
if [ "$unbind_rc" = 124 ]; then
	vr_result FAIL naive-unbind-returns "the unbind was still blocked after 30 s"
	abort "the naive unbind never returned"
fi
echo "$NIC" >/sys/bus/pci/drivers_probe 2>/dev/null
vr_wait 10 vr__bound_to "$NIC" e1000e
demo_check naive-released-event "no released event from the monitor" mon_wait_count released $((releases + 1))
# The whole cycle's events are shown before the story goes on.
mon_wait_count removed $((removals + 1))
naive_reset=$(mon_key released reset || echo missing)
naive_close_ms=$(($(mon_key released close_ns || echo 0) / 1000000))
naive_blocked=$(($(blocked_msgs) - blocked_before))
kmsg=$(dmesg | grep "$NIC.*blocked until released by user" | tail -n1 | sed 's/^\[[^]]*\] //')
if [ "$naive_blocked" -gt 0 ]; then
	say "the naive unbind blocked for $naive_ms ms; the kernel logged:"
	say "  $kmsg"
else
	say "the naive unbind took $naive_ms ms, and the kernel logged no blocked unbind: the race was missed"
fi
if [ "$naive_reset" = skipped ]; then
	say "the module: released after a ${naive_close_ms} ms close, reset=$naive_reset (the blocked unbind held"
	say "the device lock, so the close could not reset the NIC); the NIC is on '$(vr_driver_of "$NIC")' again, un-reset"
else
	say "the module: released after a ${naive_close_ms} ms close, reset=$naive_reset (the close got to its reset"
	say "before the unbind took the device lock); the NIC is on '$(vr_driver_of "$NIC")' again"
fi
demo_check naive-unbind-blocked "the kernel did not log a blocked unbind" expect_eq "$naive_blocked" 1
demo_check naive-reset-skipped "the module's reset field" expect_eq "$naive_reset" skipped
demo_check naive-back-on-e1000e "the naive rebind" expect_eq "$(vr_driver_of "$NIC")" e1000e ||
	abort "the NIC did not get back to e1000e"

# --- gated by vfio-release reattach ---
step "Again, gated: same rig, holder and SIGKILL, then 'vfio-release reattach $NIC --driver e1000e'"
demo_check rig-setup-again "vr-rig setup" "$RIG" setup "$NIC" --delay "$DELAY_MS" || abort "the rig failed"
opens=$(mon_count opened)
demo_check gated-holder-opens "vfio-hold did not open the NIC" start_holder gated || abort "no holder: $(cat /tmp/demo-hold-gated.out)"
mon_wait_count opened $((opens + 1))
blocked_before=$(blocked_msgs)
releases=$(mon_count released)
frees=$(mon_count free)
removals=$(mon_count removed)
kill_holder
say "waitpid returned after $KILL_MS ms, the helper killed too; reattach waits for 'free' first:"
now_ms; t0=$NOW_MS
"$VR_CLI" reattach "$NIC" --driver e1000e --timeout 30 2>&1 |
	while IFS= read -r line; do say "  reattach: $line"; done
reattach_rc=${PIPESTATUS[0]}
now_ms; reattach_ms=$((NOW_MS - t0))
demo_check gated-released-event "no released event from the monitor" mon_wait_count released $((releases + 1))
demo_check gated-free-event "no free event from the monitor" mon_wait_count free $((frees + 1))
mon_wait_count removed $((removals + 1))
gated_reset=$(mon_key released reset || echo missing)
gated_close_ms=$(($(mon_key released close_ns || echo 0) / 1000000))
gated_blocked=$(($(blocked_msgs) - blocked_before))
say "reattach exited $reattach_rc after $reattach_ms ms, the NIC on '$(vr_driver_of "$NIC")'; the module:"
if [ "$gated_blocked" = 0 ]; then
	say "released after a ${gated_close_ms} ms close, reset=$gated_reset; no unbind waited for the device"
else
	say "released after a ${gated_close_ms} ms close, reset=$gated_reset; the kernel logged a blocked unbind again"
fi
demo_check gated-reattach-ok "vfio-release reattach's exit status" expect_eq "$reattach_rc" 0
demo_check gated-not-blocked "the kernel logged a blocked unbind" expect_eq "$gated_blocked" 0
demo_check gated-reset-ran "the module's reset field" expect_eq "$gated_reset" function
demo_check gated-on-e1000e "the NIC's driver after reattach" expect_eq "$(vr_driver_of "$NIC")" e1000e

step "Summary"
if [ "$naive_blocked" -gt 0 ]; then
	say "naive rebind: the unbind blocked $naive_ms ms, reset=$naive_reset"
else
	say "naive rebind: the unbind took $naive_ms ms, not blocked, reset=$naive_reset"
fi
say "vfio-release reattach: waited for free, $reattach_ms ms in all, reset=$gated_reset, the NIC on $(vr_driver_of "$NIC")"
finish
