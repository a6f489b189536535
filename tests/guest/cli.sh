#!/bin/bash
# The vfio-release CLI against the real module: wait on release and on
# free, already free, timeouts, concurrent waiters, and the exit codes of
# the edge cases (reattach has its own group: reattach.sh).
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU nic=$VR_NIC
check bind-edu-vfio vr_bind_vfio "$dev"

# Without the module: a distinct, named error and exit 2.
"$VR_CLI" wait "$dev" --timeout 1 2>/tmp/err
check wait-no-module-exit-2 expect_eq "$?" 2
check wait-no-module-says-so grep -q "vfio_release kernel module is not loaded" /tmp/err
check module-loads vr_load

# --- already free: returns at once, even with a zero timeout ---
check wait-already-free "$VR_CLI" wait "$dev" --timeout 0
check wait-already-free-short-form "$VR_CLI" wait "${dev#0000:}" --state released --timeout 0

# --- wait --state released returns at the device release, before free ---
"$HOLD" -d "$dev" mark=start sleep-ms=1000 close-device mark=device-closed sleep-ms=4000 \
	mark=group-closing close-group >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q "MARK start" /tmp/hold.log
check state-open-before-wait expect_eq "$(status_field "$dev" state)" open
"$VR_CLI" wait "$dev" --state released --timeout 30 --json >/tmp/wait-rel.json
check wait-released-exit-0 expect_eq "$?" 0
check wait-released-before-group-close bash -c "kill -0 $hold_pid && ! grep -q group-closing /tmp/hold.log"
check wait-released-record expect_eq "$(jq -r .state /tmp/wait-rel.json)" released
"$VR_CLI" wait "$dev" --state free --timeout 30 >/dev/null
check wait-free-exit-0 expect_eq "$?" 0
check wait-free-after-group-close grep -q group-closing /tmp/hold.log
wait "$hold_pid"

# --- timeout: exit 1 and the device's state named ---
"$HOLD" -d "$dev" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q paused /tmp/hold.log
"$VR_CLI" wait "$dev" --timeout 1 2>/tmp/err
check wait-timeout-exit-1 expect_eq "$?" 1
check wait-timeout-names-state grep -q "still open after 1.0 s" /tmp/err

# --- several concurrent waiters all wake ---
pids=()
for i in 1 2 3 4 5 6; do
	"$VR_CLI" wait "$dev" --timeout 60 >/dev/null 2>&1 &
	pids+=($!)
done
sleep 1
check waiters-still-waiting bash -c "kill -0 ${pids[*]}"
kill -KILL "$hold_pid"
woke=0
for p in "${pids[@]}"; do wait "$p" && woke=$((woke + 1)); done
check six-waiters-woke expect_eq "$woke" 6

# --- exit codes of the edge cases ---
"$VR_CLI" wait 0000:0f:1f.7 --timeout 1 2>/tmp/err
check wait-absent-device-exit-2 expect_eq "$?" 2
"$VR_CLI" wait "$nic" --timeout 1 2>/tmp/err
check wait-host-bound-device-exit-0 expect_eq "$?" 0
"$VR_CLI" wait not-a-device 2>/tmp/err
check wait-bad-name-exit-2 expect_eq "$?" 2
check wait-bad-name-named grep -q "'not-a-device' is not a PCI address" /tmp/err

# --- monitor --json: every line is valid JSON ---
mon_start
"$HOLD" -d "$dev" close-device close-group >/dev/null 2>&1
mon_wait_for "$dev" free
check monitor-json-valid mon_log_sane
check monitor-json-per-line bash -c "while read -r l; do jq -e . <<<\"\$l\" >/dev/null || exit 1; done <$MON_LOG"
mon_stop
check module-unloads vr_unload
vr_done
