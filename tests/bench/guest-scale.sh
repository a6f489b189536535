#!/bin/bash
# vr-topology: scale
# vr-timeout: 1200
#
# The scale benchmark's guest side (tests/bench/scale.sh runs it, with
# VR_TOPOLOGY=scale or scale1k): every edu function bound to vfio-pci, then
#   load     insmod to a complete dump, resyncs in the 5 s after, rmmod;
#            three rounds
#   memory   the module's slab objects and its size, per watched device
#   churn    open/close cycles from several processes (one per IOMMU
#            group) without and with the module, side by side, and the
#            events the module delivered meanwhile
# Results are "INFO bench ..." lines; checks only guard the figures' sense.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/../guest/lib-release.sh"

CHURN=$VR_HELPERS/vfio-churn
CYCLES=${VR_BENCH_CYCLES:-20}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
bound() { local d n=0; for d in /sys/bus/pci/drivers/vfio-pci/0000:*; do n=$((n + 1)); done; echo "$n"; }

modprobe vfio-pci
echo 10000000 >/proc/sys/net/core/rmem_max
echo "1234 11e8" >/sys/bus/pci/drivers/vfio-pci/new_id
vr_wait 60 bash -c "[ \$(ls -d /sys/bus/pci/drivers/vfio-pci/0000:* | wc -l) -ge $((VR_SCALE_COUNT + 4)) ]"
devices=$(bound)
vr_info "bench info devices=$devices topology=$VR_TOPOLOGY kernel=$(uname -r)"

# Records in the dump (`status --json` prints one array; 0 on an error).
dump_count() {
	local n
	n=$("$VR_CLI" status --json 2>/dev/null | jq 'length' 2>/dev/null)
	echo "${n:-0}"
}

for round in 1 2 3; do
	: >/tmp/mon.jsonl
	t0=$(now_ms)
	vr_load || { vr_result FAIL "load-round-$round" "insmod failed"; break; }
	"$VR_CLI" monitor --json >/tmp/mon.jsonl 2>/dev/null &
	mon=$!
	n=0
	until [ "$n" -ge "$devices" ] || [ $(($(now_ms) - t0)) -gt 60000 ]; do
		n=$(dump_count)
	done
	load_ms=$(($(now_ms) - t0))
	vr_nap 5
	kill "$mon" 2>/dev/null
	wait "$mon" 2>/dev/null
	resyncs=$(jq -s '[.[] | select(.event == "resync")] | length' /tmp/mon.jsonl)
	objs=$(slab_objs vfio_release_device || echo 0)
	objsize=$(awk '$1 == "vfio_release_device" { print $4 }' /proc/slabinfo)
	modsize=$(awk '$1 == "vfio_release" { print $2 }' /proc/modules)
	t1=$(now_ms)
	vr_unload
	rmmod_ms=$(($(now_ms) - t1))
	vr_info "bench load round=$round devices=$devices dumped=$n load_ms=$load_ms resyncs=$resyncs rmmod_ms=$rmmod_ms slab_objs=$objs objsize=${objsize:-0} module_bytes=${modsize:-0}"
	check "load-round-$round-dumps-all" test "$n" -ge "$devices"
done

# One churner per IOMMU group: a group's file is exclusive.
churn_devs=("$VR_EDU" "$VR_HOTPLUG" "$VR_PAIR_A")
for g in $(vr_scale_devices | while read -r d; do vr_group_of "$d"; done | sort -un); do
	for d in /sys/kernel/iommu_groups/"$g"/devices/*; do
		case $(cat "$d/vendor"):$(cat "$d/device") in 0x1234:0x11e8)
			churn_devs+=("${d##*/}"); break ;;
		esac
	done
done
churn() {
	local d pids=() t0
	t0=$(now_ms)
	for d in "${churn_devs[@]}"; do
		"$CHURN" reset-loop -c -n "$CYCLES" -d "$d" >"/tmp/churn-$d.$1" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}"
	echo $(($(now_ms) - t0))
}
without_ms=$(churn off)
vr_load
: >/tmp/mon.jsonl
"$VR_CLI" monitor --json >/tmp/mon.jsonl 2>/dev/null &
mon=$!
vr_nap 1
with_ms=$(churn on)
vr_nap 2
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null
# Device events (group events and notices carry no device).
events=$(jq -s '[.[] | select(has("device"))] | length' /tmp/mon.jsonl)
cycles=$((${#churn_devs[@]} * CYCLES))
fails=$(cat /tmp/churn-*.off /tmp/churn-*.on | grep -c 'open_fail=[1-9]')
vr_info "bench churn procs=${#churn_devs[@]} cycles=$cycles without_ms=$without_ms with_ms=$with_ms events=$events open_fail_runs=$fails"
check churn-events-seen test "$events" -ge "$cycles"
check churn-no-failed-opens test "$fails" -eq 0
vr_unload
vr_done
