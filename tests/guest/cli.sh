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
# The holder steps on by signal (hold), not by sleeps that a slow kernel
# (the debug kernel: a CLI call takes seconds) would outrun.
holds() { [ "$(grep -c '^holding$' /tmp/hold.log)" -ge "$1" ]; }
"$HOLD" -d "$dev" hold close-device mark=device-closed hold \
	mark=group-closing close-group >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 60 holds 1
check state-open-before-wait expect_eq "$(status_field "$dev" state)" open
"$VR_CLI" wait "$dev" --state released --timeout 60 --json >/tmp/wait-rel.json &
wait_pid=$!
kill -USR1 "$hold_pid"
wait "$wait_pid"
check wait-released-exit-0 expect_eq "$?" 0
check wait-released-before-group-close bash -c "kill -0 $hold_pid && ! grep -q group-closing /tmp/hold.log"
# wait --json: one array, the record of each device waited for.
# (The device's record, or the release event itself when the wait began
# before the release: the latest the wait saw.)
check wait-released-record expect_eq "$(jq -r --arg d "$dev" 'if type == "array" and length == 1 and .[0].device == $d and .[0].schema == 1 and (.[0].event == "device" or .[0].event == "released") then .[0].state else "not one record: \(.)" end' /tmp/wait-rel.json)" released
vr_wait 60 holds 2
"$VR_CLI" wait "$dev" --state free --timeout 60 >/dev/null &
wait_pid=$!
kill -USR1 "$hold_pid"
wait "$wait_pid"
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
# Keys are the uapi's attribute names in lower case; pci ids are numbers.
check monitor-json-uapi-keys jq -e -s --arg d "$dev" '
	[.[] | select(.event == "released" and .device == $d)] | length == 1 and
	(.[0] | .pci_vendor == 4660 and .pci_device == 4584 and (.iommu_group | type) == "number" and
	 .state == "released" and .reset == "function" and .release_count >= 1 and
	 (.open_count | type) == "number" and (.free_count | type) == "number" and
	 (.close_ns | type) == "number" and (.time | type) == "string" and
	 (.instance | type == "string" and test("^[0-9a-f]{16}$")) and
	 has("opens") == false and has("vendor") == false and has("reason") == false)' "$MON_LOG"

# --- text output: EVENT key=value, values escaped ---
# A holder whose comm is "x state=free" must not read as state=free.
cp "$HOLD" "/tmp/x state=free"
"/tmp/x state=free" -d "$dev" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q paused /tmp/hold.log
"$VR_CLI" status "$dev" >/tmp/status.txt 2>&1
check status-text-one-line expect_eq "$(wc -l </tmp/status.txt)" 1
check status-text-event-first grep -q "^device  *device=$dev " /tmp/status.txt
check status-text-comm-escaped grep -qF ' opener_comm=x\x20state\x3dfree' /tmp/status.txt
check status-text-one-state expect_eq "$(grep -o ' state=[^ ]*' /tmp/status.txt | tr -d '\n')" " state=open"
check status-json-comm-raw expect_eq "$(status_field "$dev" opener_comm)" "x state=free"
"$VR_CLI" wait "$dev" --timeout 0.5 2>/tmp/err
check wait-timeout-names-opener grep -qF "(opened by pid $hold_pid, x\x20state\x3dfree)" /tmp/err
# monitor text: a wall-clock stamp first, unless --no-time.
"$VR_CLI" monitor >/tmp/mon-text.out 2>/tmp/mon-text.err &
mt_pid=$!
"$VR_CLI" monitor --no-time --device "$dev" --event free >/tmp/mon-notime.out 2>/tmp/mon-notime.err &
mn_pid=$!
vr_wait 20 grep -q monitoring /tmp/mon-text.err
vr_wait 20 grep -q monitoring /tmp/mon-notime.err
kill -KILL "$hold_pid"
wait "$hold_pid" 2>/dev/null
vr_wait 20 grep -q "free" /tmp/mon-notime.out
vr_wait 20 grep -q " free " /tmp/mon-text.out
kill "$mt_pid" "$mn_pid" 2>/dev/null
wait "$mt_pid" "$mn_pid" 2>/dev/null
check monitor-text-timestamped grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} released +device=$dev " /tmp/mon-text.out
check monitor-text-closer-escaped grep -qE " released .* comm=x\\\\x20state\\\\x3dfree( |$)" /tmp/mon-text.out
check monitor-no-time-filtered expect_eq "$(cut -d' ' -f1 /tmp/mon-notime.out | sort -u | tr '\n' ' ')" "free "
check monitor-no-time-device grep -q "^free  *device=$dev " /tmp/mon-notime.out
"$VR_CLI" monitor --event bogus 2>/tmp/err
check monitor-unknown-event-exit-2 expect_eq "$?" 2

# --- help and version exit 0; bad invocations exit 2 ---
check version-exit-0 bash -c "'$VR_CLI' --version | grep -q '^vfio-release '"
check help-exit-0 bash -c "'$VR_CLI' help | grep -q '^Usage:'"
for c in monitor status wait reattach; do
	check "help-$c-exit-0" bash -c "'$VR_CLI' help $c | grep -q '^Usage: vfio-release $c '"
	check "$c-help-exit-0" bash -c "'$VR_CLI' $c --help | grep -q '^Usage: vfio-release $c '"
done
"$VR_CLI" help nosuchcommand 2>/dev/null
check help-unknown-exit-2 expect_eq "$?" 2
"$VR_CLI" 2>/dev/null
check no-command-exit-2 expect_eq "$?" 2

# --- timeouts: decimal seconds, bounded ---
check wait-timeout-fraction "$VR_CLI" wait "$dev" --timeout 2.5
check wait-timeout-max "$VR_CLI" wait "$dev" --timeout 2000000
n=0
for t in 0x10 3000000 2000001 -1 1e3 '' 1. .5 2.5s 1.0001; do
	n=$((n + 1))
	"$VR_CLI" wait "$dev" --timeout "$t" 2>/tmp/err
	rc=$?
	check "wait-timeout-refused-$n" bash -c "[ $rc = 2 ] && grep -qF \"bad timeout '$t'\" /tmp/err"
done

# --- PCI addresses: 5-digit domains (VMD) accepted, short digits refused ---
"$VR_CLI" wait 10000:e1:00.0 --timeout 1 2>/tmp/err
rc=$?
check wait-5-digit-domain-parsed bash -c "[ $rc = 2 ] && grep -q '10000:e1:00.0: no such PCI device' /tmp/err"
for a in 1:0.0 0:01:00.0 100000:01:00.0 01:00.8 01:20.0 01:00 0000:01:00.0.0; do
	"$VR_CLI" wait "$a" --timeout 1 2>/tmp/err
	rc=$?
	check "wait-address-refused-$a" bash -c "[ $rc = 2 ] && grep -q \"'$a' is not a PCI address\" /tmp/err"
done
check module-unloads vr_unload
vr_done
