#!/bin/bash
# vr-timeout: 480
#
# libvfio-release as a contract a long-lived consumer relies on (issue 7),
# through tests/helpers/lib-contract (linked against the shared library in
# the tree) and the CLI built on it, with several devices bound to
# vfio-pci (VR_EDU, VR_PAIR_A, VR_PAIR_B, VR_NIC, VR_HOTPLUG):
#   (a) a GET after an aborted dump answers for the device asked for;
#   (b) a device that leaves vfio short of free during `wait` ends it with
#       exit 3 within a second, naming the device and why; one that was
#       free when it left (the kernel detaches a held group's container
#       at unbind and hot-removal) ends it with 0;
#   (c) `wait`, `monitor` and a library wait across rmmod/insmod of the
#       module: the wait returns 0 once the device is free, the monitor
#       says "module unloaded"/"module loaded" and shows events after;
#   (d) one handle, two waits, one poll loop through vfio_release_dispatch;
#   (e) `wait --state free A B` means free at the same moment;
#   (f) without CAP_NET_ADMIN the library's calls fail with -EPERM and
#       the CAP_NET_ADMIN message;
#   and userspace/examples/poll-loop waits for two devices in one loop.
# shellcheck disable=SC2016,SC2054 # jq variables in single quotes; setpriv takes comma lists
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

LC=$VR_HELPERS/lib-contract
edu=$VR_EDU nic=$VR_NIC pa=$VR_PAIR_A pb=$VR_PAIR_B hp=$VR_HOTPLUG
HP_ADD="edu,id=hp0,bus=rphp"
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# exits_with NAME PID RC: PID ends within 20 s with status RC.
exits_with() {
	vr_exit_within 20 "$2"
	check "$1" expect_eq "$?" "$3"
}
# hold_open NAME DEVICE [ACTIONS...]: a vfio-hold that keeps DEVICE open
# (or what ACTIONS leave) until killed; its pid in HOLD_PIDS[NAME].
declare -A HOLD_PIDS
hold_open() {
	local name=$1 dev=$2
	shift 2
	"$HOLD" -d "$dev" "$@" pause >"/tmp/hold-$name.log" 2>&1 &
	HOLD_PIDS[$name]=$!
	vr_wait 10 grep -q paused "/tmp/hold-$name.log"
}
hold_end() {
	kill -KILL "${HOLD_PIDS[$1]}" 2>/dev/null
	wait "${HOLD_PIDS[$1]}" 2>/dev/null
	return 0
}

for d in "$edu" "$pa" "$pb" "$nic" "$hp"; do check "bind-vfio-$d" vr_bind_vfio "$d"; done
check module-loads vr_load
# 64-bit ids (instance, registration) as the JSON carries them.
vr_info "record: $("$VR_CLI" status --json "$edu" | jq -c '.[0]')"

# --- (a) a GET after an aborted dump answers for the device asked for ---
abort_get() {
	local name=$1
	shift
	"$LC" abort-get "$@" >"/tmp/$name.out" 2>&1
	check "$name-exit-0" expect_eq "$?" 0
	vr_info "$name: $(head -n1 "/tmp/$name.out"); $(grep -c ' get ' "/tmp/$name.out") GETs; $(tail -n1 "/tmp/$name.out")"
	check "$name-nothing-wrong" bash -c "! grep -E 'WRONG|err=' /tmp/$name.out"
	# Every GET line names the device asked for as the one answered.
	check "$name-names-match" awk '{ for (i = 1; i < NF; i++) if ($i == "get") { n++; if ($(i + 1) != $(i + 3)) bad++ } }
		END { exit !(n >= 16 && !bad) }' "/tmp/$name.out"
	check "$name-dumps-cancelled" bash -c "[ \$(grep -c ' dump=-125 calls=' /tmp/$name.out) -ge 16 ]"
}
abort_get abort-get "$edu" "$pa" "$pb" "$nic"
# With records that differ: EDU open, the others free.
hold_open a "$edu"
abort_get abort-get-open "$edu" "$nic" "$pa"
# gets_state FILE DEVICE STATE: every GET of DEVICE answered with STATE.
gets_state() {
	awk -v d="$2" -v s="state=$3" '{ for (i = 1; i < NF; i++) if ($i == "get" && $(i + 1) == d) { n++; if ($(i + 4) != s) bad++ } }
		END { exit !(n > 0 && !bad) }' "$1"
}
check abort-get-open-edu-state gets_state /tmp/abort-get-open.out "$edu" open
check abort-get-open-nic-state gets_state /tmp/abort-get-open.out "$nic" free
hold_end a

# --- (b) a device leaving vfio during `wait`: exit 3 within a second ---
# leave_during_wait NAME DEVICE HOW RC STATE: `wait DEVICE` runs while
# DEVICE is released but not free (the holders below keep its group
# claimed), then HOW makes it leave; the wait must end with RC within a
# second, having last seen the device STATE.
leave_during_wait() {
	local name=$1 dev=$2 how=$3 want_rc=$4 want_state=$5 wpid rc gone_ms
	check "$name-released-not-free" state_is "$dev" released
	mon_start
	"$VR_CLI" wait "$dev" --timeout 60 --json >"/tmp/$name.out" 2>"/tmp/$name.err" &
	wpid=$!
	vr_nap 2
	check "$name-wait-pending" vr__running "$wpid"
	case $how in
	unbind) vr_unbind "$dev" ;;
	hot-remove) vr_hot_unplug hp0 "$dev" ;;
	esac
	gone_ms=$(now_ms)
	vr_exit_within 10 "$wpid"
	rc=$?
	vr_info "$name: wait exit $rc, $((VR_EXIT_MS - gone_ms)) ms after the device left: $(head -c 300 "/tmp/$name.err")"
	check "$name-wait-exit-$want_rc" expect_eq "$rc" "$want_rc"
	check "$name-wait-within-1s" test $((VR_EXIT_MS - gone_ms)) -lt 1000
	vr_nap 0.5
	mon_stop
	vr_info "$name: events: $(jq -c --arg d "$dev" 'select(.device == $d or (.event | startswith("group-"))) | [.event, .state, .seq, .registration]' "$MON_LOG" | tr '\n' ' ')"
	check "$name-last-event-removed" expect_eq "$(jq -r --arg d "$dev" 'select(.device == $d) | "\(.event)/\(.state)"' "$MON_LOG" | tail -n1)" "removed/$want_state"
}
# left_free_record NAME DEVICE WORDS: the wait of leave_during_wait NAME
# ended at the device's free (its record free, nothing said of leaving),
# or, when the removal came in the same read, at the removal (state free),
# and then it says so on stderr with WORDS. Which one is timing: the free
# is what ends the wait.
left_free_ok() {
	local rec
	rec=$(jq -r --arg d "$2" 'if length == 1 and .[0].device == $d then "\(.[0].event)/\(.[0].state)" else "bad" end' "/tmp/$1.out")
	case $rec in
	free/free) ! grep -q 'left vfio' "/tmp/$1.err" ;;
	removed/free) grep -q "^vfio-release: $2: free when it left vfio (unbound or removed): $3\$" "/tmp/$1.err" ;;
	*) echo "record: $rec"; return 1 ;;
	esac
}
left_free_record() {
	vr_info "$1: the wait's record: $(jq -c '[.[] | [.event, .state]]' "/tmp/$1.out")"
	check "$1-record-and-message" left_free_ok "$@"
}
# The pair's group stays claimed by B's holder: A, unbound, leaves vfio
# released, short of free.
hold_open b "$pb"
leave_during_wait unbind "$pa" unbind 3 released
check unbind-names-device grep -q "^vfio-release: $pa: left vfio while released: unbound from its vfio driver (now: no driver)" /tmp/unbind.err
check unbind-prints-no-record test ! -s /tmp/unbind.out
check unbind-rebind vr_bind_vfio "$pa"
hold_end b
check unbind-rebound-free vr_wait 10 state_is "$pa" free
# A device alone in its group, released, its group held by the holder:
# unbinding it detaches the group's container, so the kernel gives the
# DMA ownership back first (group-released, free) and the device leaves
# free: the wait ends with 0, its record the removal, state free.
hold_open b "$edu" close-device
leave_during_wait unbind-alone "$edu" unbind 0 free
left_free_record unbind-alone "$edu" "counted as free"
hold_end b
check unbind-alone-rebind vr_bind_vfio "$edu"
# Hot-removed the same way: free when it left, exit 0.
hold_open b "$hp" close-device
leave_during_wait hot-remove "$hp" hot-remove 0 free
left_free_record hot-remove "$hp" "counted as free"
hold_end b
check hot-readd vr_hot_plug "$HP_ADD" "$hp"
check hot-readd-bind vr_bind_vfio "$hp"
# A device free when it leaves counts as free: the wait goes on for the
# other one, and ends with 0.
hold_open fb "$hp"
"$VR_CLI" wait "$pa" "$hp" --timeout 60 >/dev/null 2>/tmp/wait-fl.err &
wpid=$!
vr_nap 2
check unbind-free-unbind vr_unbind "$pa"
vr_nap 1
check unbind-free-wait-goes-on vr__running "$wpid"
hold_end fb
exits_with unbind-free-wait-exit-0 "$wpid" 0
check unbind-free-rebind vr_bind_vfio "$pa"

# --- (c) across rmmod; insmod: wait, monitor, and a library wait ---
hold_open c "$edu"
hold_open c2 "$hp"
mon_start
inst0=$(status_field "$edu" instance)
"$VR_CLI" wait "$edu" --timeout 120 --json >/tmp/wait-c.json 2>/tmp/wait-c.err &
wpid=$!
"$LC" two-waits "$edu" "$hp" 120000 >/tmp/two-c.out 2>&1 &
tpid=$!
vr_wait 20 grep -q ready /tmp/two-c.out
vr_nap 2
check reload-wait-pending vr__running "$wpid"
check reload-unload vr_unload
check reload-monitor-says-unloaded vr_wait 10 grep -q 'module unloaded' /tmp/monitor.err
vr_nap 1
check reload-wait-survives-unload vr__running "$wpid"
check reload-two-waits-survive-unload vr__running "$tpid"
check reload-monitor-survives-unload kill -0 "$MON_PID"
check reload-load vr_load
check reload-monitor-says-loaded vr_wait 10 grep -q 'module loaded' /tmp/monitor.err
inst1=$(status_field "$edu" instance)
check reload-new-instance test "$inst1" != "$inst0"
check reload-edu-open state_is "$edu" open
vr_nap 2
check reload-wait-survives-load vr__running "$wpid"
hold_end c
exits_with reload-wait-exit-0 "$wpid" 0
check reload-wait-record jq -e --arg d "$edu" --arg i "$inst1" \
	'length == 1 and .[0].device == $d and .[0].state == "free" and .[0].instance == $i' /tmp/wait-c.json
mon_wait_for "$edu" free
check reload-monitor-running kill -0 "$MON_PID"
# In the log: the unload, the load, then the events of the new instance.
check reload-monitor-json-notices jq -e -s '
	[.[] | select(has("notice")) | "\(.event)/\(.notice)"] == ["module-unloaded/module-unloaded", "resync/module-loaded"]' "$MON_LOG"
check reload-monitor-events-after jq -e -s --arg d "$edu" --arg i "$inst1" '
	(map(.notice == "module-loaded") | index(true)) as $l |
	$l != null and ([.[$l + 1:][] | select(.device == $d and .instance == $i) | .event] == ["released", "free"])' "$MON_LOG"
check reload-monitor-log-sane mon_log_sane
mon_stop
hold_end c2
exits_with reload-two-waits-exit-0 "$tpid" 0
vr_info "two waits across the reload: $(tr '\n' '|' </tmp/two-c.out)"
check reload-two-waits-both-done bash -c "grep -qx 'done $edu' /tmp/two-c.out && grep -qx 'done $hp' /tmp/two-c.out"
check reload-two-waits-notices bash -c "grep -qx 'notice module-unloaded' /tmp/two-c.out && grep -qx 'notice module-loaded' /tmp/two-c.out"

# The device becomes free while the module is unloaded: nobody saw it
# happen; the wait reads the new module's record and ends with 0.
hold_open c3 "$edu"
"$VR_CLI" wait "$edu" --timeout 120 --json >/tmp/wait-c3.json 2>/tmp/wait-c3.err &
wpid=$!
vr_nap 2
check unseen-wait-pending vr__running "$wpid"
check unseen-unload vr_unload
hold_end c3
vr_nap 1
check unseen-wait-survives vr__running "$wpid"
check unseen-load vr_load
exits_with unseen-wait-exit-0 "$wpid" 0
check unseen-wait-record jq -e --arg d "$edu" 'length == 1 and .[0].device == $d and .[0].state == "free" and .[0].generation == 0' /tmp/wait-c3.json

# --- (d) one handle, two waits, one poll loop ---
hold_open d1 "$edu"
hold_open d2 "$hp"
"$LC" two-waits "$edu" "$hp" 60000 >/tmp/two-d.out 2>&1 &
tpid=$!
vr_wait 20 grep -q "^status $edu=pending $hp=pending" /tmp/two-d.out
check two-waits-both-pending grep -qx "status $edu=pending $hp=pending" /tmp/two-d.out
hold_end d2
check two-waits-released-done vr_wait 10 grep -qx "done $hp" /tmp/two-d.out
vr_nap 1
free_pending() { vr__running "$tpid" && ! grep -q "done $edu" /tmp/two-d.out; }
check two-waits-free-still-pending free_pending
hold_end d1
exits_with two-waits-exit-0 "$tpid" 0
check two-waits-order bash -c "grep '^done' /tmp/two-d.out | tr '\n' ' ' | grep -qx 'done $hp done $edu '"
check two-waits-dispatched grep -qE '^dispatched=[1-9][0-9]* delivered=[1-9]' /tmp/two-d.out
vr_info "two waits: $(tr '\n' '|' </tmp/two-d.out)"

# --- (e) wait --state free A B: free at the same moment ---
# A free, B open; then A opened, B closed: never both free, still waiting;
# then A closed: both free, exit 0.
hold_open eb "$hp"
"$VR_CLI" wait --state free "$edu" "$hp" --timeout 120 --json >/tmp/wait-e.json 2>/tmp/wait-e.err &
wpid=$!
vr_nap 2
check free-now-pending-while-b-open vr__running "$wpid"
hold_open ea "$edu"
check free-now-a-reopened state_is "$edu" open
hold_end eb
check free-now-b-closed vr_wait 10 state_is "$hp" free
vr_nap 2
check free-now-still-waiting vr__running "$wpid"
hold_end ea
exits_with free-now-exit-0 "$wpid" 0
check free-now-records jq -e --arg a "$edu" --arg b "$hp" \
	'length == 2 and .[0].device == $a and .[1].device == $b and all(.[]; .state == "free")' /tmp/wait-e.json

# --- (f) without CAP_NET_ADMIN: -EPERM and the message, from the library ---
unpriv=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all --)
# nobody can run the helper at all (its usage, exit 2).
"${unpriv[@]}" "$LC" >/dev/null 2>/tmp/unpriv-usage.err
rc=$?
check unpriv-runs-helper bash -c "[ $rc = 2 ] && grep -q '^usage: lib-contract' /tmp/unpriv-usage.err"
for op in "get $edu" dump subscribe "wait $edu"; do
	name=unpriv-${op%% *}
	# shellcheck disable=SC2086 # op is the subcommand and its argument
	timeout 20 "${unpriv[@]}" "$LC" $op >"/tmp/$name.out" 2>"/tmp/$name.err"
	rc=$?
	vr_info "$name: exit $rc: $(head -c 200 "/tmp/$name.err")"
	check "$name-exit-2" expect_eq "$rc" 2
	check "$name-says-cap" grep -q "needs CAP_NET_ADMIN (run as root) (err=-1)" "/tmp/$name.err"
	check "$name-no-record" test ! -s "/tmp/$name.out"
done
check root-get-works bash -c "'$LC' get $edu | grep -q '^record device=$edu state=free'"

# --- userspace/examples/poll-loop: an application's loop, two devices ---
EXAMPLE=$VR_TOP/userspace/examples/poll-loop
if [ -x "$EXAMPLE" ]; then
	hold_open x1 "$edu"
	hold_open x2 "$hp"
	"$EXAMPLE" --timeout 60 "$edu" "$hp" >/tmp/example.out 2>/tmp/example.err &
	xpid=$!
	vr_nap 2
	check example-waits-while-open bash -c "kill -0 $xpid && [ ! -s /tmp/example.out ]"
	hold_end x2
	check example-second-free-first vr_wait 10 grep -qx "$hp: free" /tmp/example.out
	check example-first-still-waiting bash -c "kill -0 $xpid && ! grep -q '$edu' /tmp/example.out"
	hold_end x1
	exits_with example-exit-0 "$xpid" 0
	check example-output expect_eq "$(tr '\n' '|' </tmp/example.out)" "$hp: free|$edu: free|"
	hold_open x3 "$edu"
	"$EXAMPLE" --timeout 1 "$edu" "$hp" >/tmp/example-t.out 2>/tmp/example-t.err
	check example-timeout-exit-1 expect_eq "$?" 1
	check example-timeout-says grep -q "timed out: 1 of 2 free" /tmp/example-t.err
	hold_end x3
else
	vr_result FAIL example-built "no $EXAMPLE: make -C userspace builds it"
fi

check module-unloads vr_unload
vr_done
