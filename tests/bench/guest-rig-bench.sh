#!/bin/bash
# vr-topology: rig8
# vr-timeout: 600
#
# guest-rig-bench.sh [-r ROUNDS] [-s SECONDS] [-c CHURN_MS] [-m MODES]:
# the rig benchmarks inside one test VM (run by tests/bench/rig.sh through
# tests/vm/run-vm.sh; topology rig8: eight e1000e NICs on root ports).
#
#   cycle  the open/close cost of edu on vfio_pci_slow (delay 0, no
#          reset at open or close: the cheapest cycle) with the vfio_release
#          module loaded and not loaded, in interleaved rounds (load, N
#          cycles, unload, N cycles; every other round unloaded first);
#          N is chosen so that one measurement takes about SECONDS
#          (default 1); ROUNDS (default 9); each measurement's least,
#          median and mean cycle time
#   stop   a VM stop with the eight NICs passed through, on vfio_pci_slow
#          with close delays 250, 500, ... 2000 ms, one holder for all,
#          SIGKILLed; each manager in MODES (default "reattach wait
#          libvirt poll naive", see rig-bench.c) acts on the EOF of the
#          holder's monitor socket
#   churn  event throughput to a library consumer while 1, 3 and 11
#          processes cycle (fast) devices open/close for CHURN_MS
#          (default 4000), with a consumer that dispatches as events
#          come, one that dispatches once a second, and that one again
#          with net.core.rmem_max 16384 (its socket buffer starved)
#
# Figures are "INFO bench ..." lines; only a step that could not run is a
# FAIL, never a figure.
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"
# shellcheck source=SCRIPTDIR/../guest/lib-release.sh
. "$(dirname "$0")/../guest/lib-release.sh"

RB=$VR_TOP/tests/bench/rig-bench
RIG=$VR_TOP/tests/rig/vr-rig
rounds=9 secs=1 churn_ms=4000 modes="reattach wait libvirt poll naive"
while getopts r:s:c:m: opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	s) secs=$OPTARG ;;
	c) churn_ms=$OPTARG ;;
	m) modes=${OPTARG//,/ } ;;
	*) vr_result FAIL rig-bench-args "bad arguments: $*"; vr_done; exit 0 ;;
	esac
done
IFS=, read -r -a nics <<<"${VR_RIG_NICS:-}"
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
t_start=$(now_ms)

# report FILE: every line of FILE as "INFO bench LINE".
report() {
	local line
	while read -r line; do
		vr_info "bench $line"
	done <"$1"
}

modprobe vfio-pci
vr_info "bench guest kernel=$(uname -r) cpus=$(nproc) rmem_max=$(cat /proc/sys/net/core/rmem_max) nics=${#nics[@]}"
if [ "${#nics[@]}" -ne 8 ]; then
	vr_result FAIL rig-topology "expected 8 NICs, got '${VR_RIG_NICS:-}'"
fi

# fast DEVICE: on vfio_pci_slow with no delay and no final reset, and
# its reset methods disabled (reset_method ""), so that the open's reset
# (vfio_pci_core_enable) does not run either: the cheapest cycle there is.
fast() {
	"$RIG" setup "$1" --delay 0 --skip-reset >"/tmp/rig-$1.out" 2>&1 || return 1
	if [ -e "/sys/bus/pci/devices/$1/reset_method" ]; then
		echo >"/sys/bus/pci/devices/$1/reset_method" || return 1
	fi
}

# --- cycle ---
t0=$(now_ms)
if ! fast "$VR_EDU"; then
	vr_result FAIL cycle-setup "$(tail -n 2 "/tmp/rig-$VR_EDU.out")"
else
	# Calibrate: N cycles take about $secs seconds.
	if ! "$RB" cycle -d "$VR_EDU" -n 10 >/tmp/cal.out 2>&1; then
		vr_result FAIL cycle-calibrate "$(tail -n 2 /tmp/cal.out)"
	else
		per=$(sed -n 's/.* ns_per_cycle=\([0-9]*\).*/\1/p' /tmp/cal.out)
		n=$((secs * 1000000000 / (per > 0 ? per : 1)))
		[ "$n" -ge 10 ] || n=10
		[ "$n" -le 5000 ] || n=5000
		vr_info "bench cycle-info device=$VR_EDU driver=vfio_pci_slow delay_ms=0 skip_reset=1 reset_method='$(cat "/sys/bus/pci/devices/$VR_EDU/reset_method" 2>/dev/null)' cycles=$n rounds=$rounds calibration_ns=$per"
		for r in $(seq 1 "$rounds"); do
			loaded='' unloaded=''
			for phase in 1 2; do
				# Odd rounds: loaded first; even rounds: unloaded first.
				if [ $(((r + phase) % 2)) = 0 ]; then
					vr_load || { vr_result FAIL "cycle-load-$r" "insmod failed"; break 2; }
					loaded=$("$RB" cycle -d "$VR_EDU" -n "$n" 2>&1)
					vr_unload || { vr_result FAIL "cycle-unload-$r" "rmmod failed"; break 2; }
				else
					unloaded=$("$RB" cycle -d "$VR_EDU" -n "$n" 2>&1)
				fi
			done
			l=$(sed -n 's/.* median_ns=\([0-9]*\).*/\1/p' <<<"$loaded")
			u=$(sed -n 's/.* median_ns=\([0-9]*\).*/\1/p' <<<"$unloaded")
			lm=$(sed -n 's/.* ns_per_cycle=\([0-9]*\).*/\1/p' <<<"$loaded")
			um=$(sed -n 's/.* ns_per_cycle=\([0-9]*\).*/\1/p' <<<"$unloaded")
			ln=$(sed -n 's/.* min_ns=\([0-9]*\).*/\1/p' <<<"$loaded")
			un=$(sed -n 's/.* min_ns=\([0-9]*\).*/\1/p' <<<"$unloaded")
			if [ -z "$l" ] || [ -z "$u" ] || [ -z "$lm" ] || [ -z "$um" ] || [ -z "$ln" ] || [ -z "$un" ]; then
				vr_result FAIL "cycle-round-$r" "no figures: $loaded / $unloaded"
				continue
			fi
			vr_info "bench cycle round=$r first=$([ $((r % 2)) = 1 ] && echo loaded || echo unloaded) loaded_ns=$l unloaded_ns=$u loaded_mean_ns=$lm unloaded_mean_ns=$um loaded_min_ns=$ln unloaded_min_ns=$un"
		done
	fi
fi
vr_info "bench phase cycle ms=$(($(now_ms) - t0))"

# --- stop ---
t0=$(now_ms)
vr_load || vr_result FAIL stop-load "insmod failed"
specs=()
i=0
for d in "${nics[@]}"; do
	i=$((i + 1))
	delay=$((250 * i))
	if ! "$RIG" setup "$d" --delay "$delay" >"/tmp/rig-$d.out" 2>&1; then
		vr_result FAIL "stop-setup-$d" "$(tail -n 2 "/tmp/rig-$d.out")"
		continue
	fi
	specs+=("$d:$delay")
done
if [ "${#specs[@]}" -eq 8 ]; then
	for mode in $modes; do
		if ! timeout 120 "$RB" stop -m "$mode" -c "$VR_CLI" -H e1000e "${specs[@]}" \
			>"/tmp/stop-$mode.out" 2>"/tmp/stop-$mode.err"; then
			vr_result FAIL "stop-$mode" "rig-bench stop failed: $(tail -n 2 "/tmp/stop-$mode.err")"
			continue
		fi
		echo "=== stop $mode"
		cat "/tmp/stop-$mode.out"
		sed "s/^dev /stop-dev mode=$mode dev=/" "/tmp/stop-$mode.out" >"/tmp/stop-$mode.res"
		report "/tmp/stop-$mode.res"
	done
fi
vr_info "bench phase stop ms=$(($(now_ms) - t0))"

# --- churn ---
t0=$(now_ms)
# Every churned device made fast (see fast above).
churn_ok=1
for d in "${nics[@]}" "$VR_HOTPLUG" "$VR_PAIR_A" "$VR_PAIR_B"; do
	fast "$d" || { churn_ok=0; vr_result FAIL "churn-setup-$d" "$(tail -n 2 "/tmp/rig-$d.out")"; }
done
rmem_default=$(cat /proc/sys/net/core/rmem_max)
if [ "$churn_ok" = 1 ]; then
	levels=("$VR_EDU" "$VR_EDU $VR_HOTPLUG $VR_PAIR_A" "$VR_EDU $VR_HOTPLUG $VR_PAIR_A ${nics[*]}")
	# A consumer that keeps up, one that dispatches once a second, and
	# the same with a starved socket buffer (rmem_max 16384: the
	# library asks for 1 MiB, the kernel caps it at rmem_max).
	for cfg in "0 $rmem_default" "1000 $rmem_default" "1000 16384"; do
		read -r pace rmem <<<"$cfg"
		echo "$rmem" >/proc/sys/net/core/rmem_max
		for lv in "${levels[@]}"; do
			# shellcheck disable=SC2086 # a list of addresses
			if ! "$RB" churn -t "$churn_ms" -p "$pace" $lv >/tmp/churn.out 2>/tmp/churn.err; then
				vr_result FAIL "churn-$pace" "rig-bench churn failed: $(tail -n 2 /tmp/churn.err)"
				continue
			fi
			sed -i "s/^churn /churn rmem_max=$rmem /" /tmp/churn.out
			cat /tmp/churn.out
			report /tmp/churn.out
		done
	done
	echo "$rmem_default" >/proc/sys/net/core/rmem_max
fi
vr_info "bench phase churn ms=$(($(now_ms) - t0))"
vr_unload || vr_result FAIL rig-unload "rmmod failed"
vr_info "bench wall_ms=$(($(now_ms) - t_start))"
vr_done
