#!/bin/bash
# With one kretprobe instance per hook (maxactive=1), closes that overlap
# miss probes: the module must say so (resync, probe-missed), re-read the
# kernel's state, and still report every device free in the end.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

devs=("$VR_EDU" "$VR_NIC" "$VR_PAIR_A")
for d in "${devs[@]}"; do check "bind-$d" vr_bind_vfio "$d"; done
check module-loads-maxactive-1 insmod "$VR_KO" maxactive=1

missed_rounds=0
for round in 1 2 3 4 5 6; do
	mon_start
	pids=()
	for d in "${devs[@]}"; do
		: >"/tmp/hold-$d.log"
		"$HOLD" -d "$d" pause >"/tmp/hold-$d.log" 2>&1 &
		pids+=($!)
	done
	for d in "${devs[@]}"; do vr_wait 10 grep -q paused "/tmp/hold-$d.log"; done
	# A waiter must come through a resync too: it re-reads and returns.
	"$VR_CLI" wait "${devs[@]}" --timeout 30 >/dev/null 2>/tmp/wait.err &
	waiter=$!
	vr_wait 10 grep -q . /proc/$waiter/status
	sleep 0.5
	# One signal for all: their closes run at once on both CPUs.
	kill -KILL "${pids[@]}"
	wait "${pids[@]}" 2>/dev/null
	wait "$waiter"
	check "round-$round-waiter-returns" expect_eq "$?" 0
	all_free() {
		for d in "${devs[@]}"; do
			state_is "$d" free || return 1
		done
	}
	check "round-$round-all-free" vr_wait 10 all_free
	if jq -e -s 'any(.[]; .event == "resync" and .resync_reason == "probe-missed")' "$MON_LOG" >/dev/null; then
		missed_rounds=$((missed_rounds + 1))
		check "round-$round-resync-lost-counted" jq -e -s 'any(.[]; .event == "resync" and has("notice") == false and .lost > 0)' "$MON_LOG"
	fi
	mon_stop
	[ "$missed_rounds" -ge 2 ] && break
done
vr_info "rounds with a missed probe: $missed_rounds of $round"
if [ "$missed_rounds" -gt 0 ]; then
	vr_result PASS resync-on-missed-probe
else
	vr_result FAIL resync-on-missed-probe "no round overlapped enough to miss a probe"
fi
check module-unloads vr_unload
vr_done
