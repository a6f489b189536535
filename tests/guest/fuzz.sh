#!/bin/bash
# vr-timeout: 600
#
# The family under fuzzing while devices open, close, come and go:
# tests/helpers/genl-fuzz sends COUNT cases (default 40000: random and
# mutated requests, every command, attributes, nesting, lengths, flags,
# dumps abandoned midway, group joins), as root and as user nobody at once,
# and checks every reply, while
#   - VR_EDU is opened and closed again and again (vfio-churn -c),
#   - VR_PAIR_A and VR_PAIR_B are held open by one process,
#   - VR_HOTPLUG is unbound from vfio-pci and bound again and again (it
#     leaves the module's watch and comes back as a new registration),
#   - VR_NIC, bound to vfio-pci, is left alone.
# Then the module must be exact: the dump lists each device once, all
# free once the holder is gone; VR_EDU's generation and open and release
# counts grew by exactly the cycles the churn made, the pair's by one,
# VR_NIC's record did not change at all, VR_HOTPLUG has a new registration
# and its generation; the monitor that ran all along saw each of those
# opens, releases and removals once; and a fresh open/close after the
# fuzz still gives its events and a record that says so.
#
# With VR_TOPOLOGY=scale (run-vm.sh), the 320 more edu functions are bound
# to vfio-pci too and left alone (their records must not change): dumps
# then take many datagrams, so that dumps abandoned, interrupted and read
# in turns really stop midway.
#
# On a kernel with kmemleak (the debug kernel), a scan after the fuzz,
# with the module still loaded so that its frames have names, must find
# nothing allocated by the module.
#
# Arguments: run-vm.sh KVER tests/guest/fuzz.sh [COUNT [SEED [SECONDS]]]:
# SEED "random" (the default) picks one, printed with what replays one
# case; SECONDS stops the fuzz earlier (genl-fuzz --time), and then fewer
# than COUNT cases are a pass, said in an INFO line. tests/bench/fuzz.sh
# runs this group with a million cases.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

FUZZ=$VR_HELPERS/genl-fuzz
CHURN=$VR_HELPERS/vfio-churn
count=${1:-40000}
seed=${2:-random}
limit=${3:-}
STOP=/tmp/fuzz.stop
stable=("$VR_EDU" "$VR_PAIR_A" "$VR_PAIR_B" "$VR_NIC")
untouched=("$VR_NIC")
if [ "${VR_TOPOLOGY:-default}" = scale ]; then
	vr_scale_devices >/tmp/scale-devs.txt
	mapfile -t more </tmp/scale-devs.txt
	stable+=("${more[@]}")
	untouched+=("${more[@]}")
fi
all=("${stable[@]}" "$VR_HOTPLUG")

# The monitor must keep up with the churn's events.
echo 16777216 >/proc/sys/net/core/rmem_max
echo 16777216 >/proc/sys/net/core/rmem_default

for d in "$VR_EDU" "$VR_PAIR_A" "$VR_PAIR_B" "$VR_NIC" "$VR_HOTPLUG"; do
	check "bind-$d" vr_bind_vfio "$d"
done
if [ ${#untouched[@]} -gt 1 ]; then
	vfio_bound() {
		local b=(/sys/bus/pci/drivers/vfio-pci/0000:*)
		[ "${#b[@]}" -ge "${#all[@]}" ]
	}
	echo "1234 11e8" >/sys/bus/pci/drivers/vfio-pci/new_id
	check bind-scale-functions vr_wait 180 vfio_bound
fi
check module-loads vr_load
mon_start
status_dump /tmp/pre.json
check dump-before-lists-all expect_eq "$(jq length /tmp/pre.json)" "${#all[@]}"

# rec FILE DEVICE FIELD: one field of DEVICE's record in a dump.
rec() { jq -r --arg d "$2" '.[] | select(.device == $d) | .'"$3" "$1"; }

# --- what runs beside the fuzz ---
rm -f "$STOP"
: >/tmp/hold-pair.log
"$HOLD" -d "$VR_PAIR_A" -d "$VR_PAIR_B" pause >/tmp/hold-pair.log 2>&1 &
holder=$!
# Opening two devices takes over 20 s on the debug kernel (KASAN, lockdep) under TCG.
check pair-held vr_wait 120 grep -q paused /tmp/hold-pair.log
check pair-open-while-held state_is "$VR_PAIR_A" open
check pair-opener-is-holder expect_eq "$(status_field "$VR_PAIR_B" opener_pid)" "$holder"

"$CHURN" reset-loop -c -n 100000000 -f "$STOP" -d "$VR_EDU" >/tmp/churn.out 2>/tmp/churn.err &
churner=$!

rebinder() {
	local n=0
	while [ ! -e "$STOP" ]; do
		vr_unbind "$VR_HOTPLUG" || break
		vr_nap 0.1
		vr_bind_vfio "$VR_HOTPLUG" || break
		n=$((n + 1))
		echo "$n" >/tmp/rebinds
		vr_nap 0.3
	done
	echo "$n" >/tmp/rebinds
	echo finished >>/tmp/rebinds.status
}
: >/tmp/rebinds.status
echo 0 >/tmp/rebinds
rebinder &
rebind_pid=$!

# --- the fuzz ---
fuzz_args=(--count "$count" --root 1 --nobody 1 --volatile "$VR_HOTPLUG")
for d in "${stable[@]}"; do fuzz_args+=(--device "$d"); done
[ "$seed" = random ] || fuzz_args+=(--seed "$seed")
[ -z "$limit" ] || fuzz_args+=(--time "$limit")
vr_bounded "$((${limit:-360} + 120))" "$FUZZ" "${fuzz_args[@]}" >/tmp/fuzz.out 2>/tmp/fuzz.err
fuzz_rc=$?
touch "$STOP"
[ "$fuzz_rc" = 124 ] && kill -TERM "$VR_BOUNDED_PID" 2>/dev/null
vr_info "$(grep -m1 '^genl-fuzz: seed' /tmp/fuzz.out)"
grep -E '^(figures|kinds|replies|errno|done-errno|send-errno|sockopt-errno|nobody|listener|post-check|RESULT)' \
	/tmp/fuzz.out | while IFS= read -r line; do vr_info "fuzz $line"; done
if [ "$fuzz_rc" != 0 ]; then
	grep -m10 "^FAIL" /tmp/fuzz.err | while IFS= read -r line; do vr_info "fuzz $line"; done
	vr_info "fuzz stderr tail: $(tail -n 5 /tmp/fuzz.err | tr '\n' '|')"
fi
check fuzz-exit-0 expect_eq "$fuzz_rc" 0
check fuzz-result-pass grep -qx 'RESULT PASS' /tmp/fuzz.out
ran=$(sed -n 's/^figures cases=\([0-9]*\) .*/\1/p' /tmp/fuzz.out)
if [ -n "$limit" ] && [ "${ran:-0}" -gt 0 ] && [ "${ran:-0}" -lt "$count" ]; then
	vr_info "fuzz stopped by its time limit ($limit s): $ran of $count cases"
else
	check fuzz-ran-every-case expect_eq "${ran:-none}" "$count"
fi
check fuzz-nobody-refused grep -qE '^nobody cases=[1-9][0-9]* eperm=[1-9][0-9]* records=0 events=0 joins=0 ' /tmp/fuzz.out
check fuzz-listener-saw-events grep -qE '^listener events=[1-9]' /tmp/fuzz.out

# --- the devices beside it stop ---
check churn-exits vr_exit_within 60 "$churner"
check churn-clean grep -q ' eagain=0 reset_fail=0 open_fail=0 ' /tmp/churn.out
rounds=$(sed -n 's/.* rounds=\([0-9]*\)$/\1/p' /tmp/churn.out)
rounds=${rounds:-0}
check rebinder-exits vr_exit_within 60 "$rebind_pid"
check rebinder-clean grep -qx finished /tmp/rebinds.status
rebinds=$(cat /tmp/rebinds)
check hotplug-back-on-vfio vr_bind_vfio "$VR_HOTPLUG"
vr_info "beside the fuzz: $VR_EDU opened and closed $((rounds + 1)) times, $VR_HOTPLUG rebound $rebinds times"
check churn-cycled test "$rounds" -gt 0
check hotplug-rebound test "$rebinds" -gt 0
kill -KILL "$holder"
wait "$holder" 2>/dev/null

# --- exact afterwards ---
all_free() {
	status_dump /tmp/post.json 2>/dev/null || return 1
	[ "$(jq '[.[] | select(.state == "free")] | length' /tmp/post.json)" = "${#all[@]}" ]
}
check all-free-after vr_wait 30 all_free
status_dump /tmp/post.json
check dump-after-lists-each-once expect_eq \
	"$(jq -r '.[].device' /tmp/post.json | sort | uniq -u | tr '\n' ' ')" \
	"$(printf '%s\n' "${all[@]}" | sort | tr '\n' ' ')"
# delta DEVICE FIELD: how much FIELD grew from the first dump to the last.
delta() { echo $(($(rec /tmp/post.json "$1" "$2") - $(rec /tmp/pre.json "$1" "$2"))); }
cycles=$((rounds + 1))
for f in generation open_count release_count; do
	check "edu-$f-plus-$cycles" expect_eq "$(delta "$VR_EDU" "$f")" "$cycles"
	check "pair-a-$f-plus-1" expect_eq "$(delta "$VR_PAIR_A" "$f")" 1
	check "pair-b-$f-plus-1" expect_eq "$(delta "$VR_PAIR_B" "$f")" 1
done
for f in generation seq open_count release_count free_count registration state reset; do
	check "nic-$f-unchanged" expect_eq "$(rec /tmp/post.json "$VR_NIC" "$f")" "$(rec /tmp/pre.json "$VR_NIC" "$f")"
done
if [ ${#untouched[@]} -gt 1 ]; then
	printf '%s\n' "${untouched[@]}" | jq -R . | jq -s . >/tmp/untouched.json
	jq -s '.[0] as $u | [.[1][], .[2][] | select(.device as $d | $u | index($d))] |
		group_by(.device) | map(select(length != 2 or
			(.[0] | del(.time)) != (.[1] | del(.time)))) | length' \
		/tmp/untouched.json /tmp/pre.json /tmp/post.json >/tmp/changed.txt 2>&1
	check untouched-records-unchanged expect_eq "$(cat /tmp/changed.txt)" 0
fi
check hotplug-new-registration test "$(delta "$VR_HOTPLUG" registration)" -gt 0
check hotplug-generation-kept expect_eq "$(delta "$VR_HOTPLUG" generation)" 0

# What the monitor saw all along: each transition once, no resync.
count_ev() { jq -s --arg d "$1" --arg e "$2" '[.[] | select(.device == $d and .event == $e)] | length' "$MON_LOG"; }
sleep 1
resyncs=$(jq -s '[.[] | select(.event == "resync")] | length' "$MON_LOG")
vr_info "monitor: $(wc -l <"$MON_LOG") lines, resyncs $resyncs; $VR_EDU opened $(count_ev "$VR_EDU" opened) released $(count_ev "$VR_EDU" released); $VR_HOTPLUG removed $(count_ev "$VR_HOTPLUG" removed)"
check monitor-log-sane mon_log_sane
check monitor-no-resync expect_eq "$resyncs" 0
check monitor-edu-opened-each expect_eq "$(count_ev "$VR_EDU" opened)" "$cycles"
check monitor-edu-released-each expect_eq "$(count_ev "$VR_EDU" released)" "$cycles"
check monitor-pair-released expect_eq "$(count_ev "$VR_PAIR_A" released)" 1
check monitor-hotplug-removed-each expect_eq "$(count_ev "$VR_HOTPLUG" removed)" "$rebinds"
check monitor-nic-silent expect_eq "$(jq -s --arg d "$VR_NIC" '[.[] | select(.device == $d)] | length' "$MON_LOG")" 0

# --- a fresh open and close still gives its events ---
free_before=$(count_ev "$VR_EDU" free)
"$HOLD" -d "$VR_EDU" close-device close-group >/dev/null 2>&1
check fresh-cycle-free-event mon_wait_for "$VR_EDU" free $((free_before + 1))
check fresh-cycle-opened-event mon_wait_for "$VR_EDU" opened $((cycles + 1))
check fresh-cycle-record expect_eq "$(status_field "$VR_EDU" generation)" "$(($(rec /tmp/post.json "$VR_EDU" generation) + 1))"
mon_stop

# --- kmemleak, where the kernel has it ---
# With the module still loaded its frames are named in the report; the
# scan after its unload is vr_done's.
kml_rc=0
vr_kmemleak_scan /tmp/kmemleak.txt || kml_rc=$?
if [ "$kml_rc" = 0 ]; then
	leaks=$(grep -c '^unreferenced object' /tmp/kmemleak.txt)
	ours=$(awk '/^unreferenced object/ { n++ } /vfio_release/ { if (n != last) { m++; last = n } } END { print m + 0 }' /tmp/kmemleak.txt)
	vr_info "kmemleak: $leaks unreferenced objects, $ours of them with a vfio_release frame"
	[ "$ours" = 0 ] || vr_info "kmemleak: $(grep -m1 -B2 -A12 vfio_release /tmp/kmemleak.txt | tr '\n' '|')"
	check kmemleak-nothing-of-the-module expect_eq "$ours" 0
elif [ "$kml_rc" = 2 ]; then
	vr_kmemleak_off_result kmemleak-nothing-of-the-module
else
	vr_info "no kmemleak in this kernel ($(uname -r)): no leak scan"
fi
check module-unloads vr_unload
vr_done
