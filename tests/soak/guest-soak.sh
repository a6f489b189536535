#!/bin/bash
# vr-timeout: 3600
#
# The soak (tests/soak/README.md): run by tests/soak/soak.sh through
# tests/vm/run-vm.sh, not part of the suite. Arguments (VR_ARGS):
#   --cycles N        module load/unload cycles (default 1000)
#   --procs P         churning processes, one per IOMMU group (default 4;
#                     more than 4 needs the race topology's extra NICs)
#   --core-every K    reload vfio_pci_core (and vfio-pci, devices rebound)
#                     every K cycles, alternately with vfio_release
#                     unloaded and loaded (default 10; 0: never)
#   --time-limit S    start no cycle after S seconds (default: none);
#                     the summary says how many ran
#   --max-failures F  stop after F failed cycles (default 20)
#   --pause-ms MS     each churner sleeps MS after each open/close cycle
#                     (default 10: the VM's two CPUs also run the soak)
#   --sample-every M  the memory sample at cycles 1, M+1, 2M+1, ...
#                     (default 100)
#   --settle-timeout S  seconds to wait for a churner's answer to a settle
#                     (default 60; the debug kernel under load needs more)
#
# Each cycle: rmmod vfio_release under churn, insmod under churn, then
# every churner settles in a state chosen for it (open, released or free)
# and the module's dump must match reality for every device, and its
# events since the load must show that settle. Every other cycle the
# churners settle before the rmmod, and the new instance's dump must
# match right after the load, from its scan alone. Figures every 100
# cycles; memory with the module unloaded at cycles 1, 101, 201, ... and
# after the last; kmemleak at the end.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/../guest/lib-release.sh"

CHURN=$VR_HELPERS/vfio-churn
# shellcheck source=SCRIPTDIR/soak-options.sh
. "$(dirname "$0")/soak-options.sh"
# shellcheck disable=SC2086 # VR_ARGS is one word list from run-vm.sh
set -- ${VR_ARGS:-}
while [ $# -gt 0 ]; do
	if ! soak_option "$1" "${2-}"; then
		vr_result FAIL soak-args "bad argument '$1 ${2-}'"
		vr_done
		exit 0
	fi
	shift 2
done

# --- the devices: one unit per IOMMU group, churned by one process ---
units=("$VR_EDU" "$VR_PAIR_A,$VR_PAIR_B" "$VR_HOTPLUG" "$VR_NIC")
if [ -n "${VR_RACE_NICS:-}" ]; then
	IFS=, read -r -a more <<<"$VR_RACE_NICS"
	units+=("${more[@]:1}")
fi
if [ "$sample_every" -lt 1 ]; then
	vr_result FAIL soak-args "--sample-every $sample_every: 1 or more"
	vr_done
	exit 0
fi
if [ "$procs" -lt 1 ] || [ "$procs" -gt ${#units[@]} ]; then
	vr_result FAIL soak-args "--procs $procs: 1 to ${#units[@]} with topology $VR_TOPOLOGY (one process per group)"
	vr_done
	exit 0
fi
all_devs=()
for u in "${units[@]}"; do
	IFS=, read -r -a ds <<<"$u"
	all_devs+=("${ds[@]}")
done
for d in "${all_devs[@]}"; do
	vr_bind_vfio "$d" || { vr_result FAIL soak-bind "$d does not bind to vfio-pci"; vr_done; exit 0; }
done
declare -A group_of
for d in "${all_devs[@]}"; do group_of[$d]=$(vr_group_of "$d"); done

# --- kmemleak ---
KML=/sys/kernel/debug/kmemleak
[ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
kml_state=0
vr_kmemleak_state || kml_state=$?
case $kml_state in
0) vr_info "soak: kmemleak present" ;;
1) vr_info "soak: kmemleak: not in this kernel ($(uname -r))" ;;
2) vr_info "soak: kmemleak: $VR_KMEMLEAK_WHY" ;;
esac

# --- small builtin-only readers (every fork costs in the VM) ---
# now_ms VAR: the time in ms into VAR (no command substitution: see expected).
now_ms() { printf -v "$1" '%s' $((${EPOCHREALTIME/./} / 1000)); }
# meminfo_read: every /proc/meminfo field, in kB, into MI.
declare -A MI
meminfo_read() {
	local k v _
	MI=()
	while read -r k v _; do MI[${k%:}]=$v; done </proc/meminfo
}
file1() { local v; read -r v <"$1" 2>/dev/null && echo "$v"; }

# mem_sample LABEL: with the module unloaded and every churner free.
# Reclaimable caches dropped first, so Slab is mostly what stays.
mem_keys=(Slab SUnreclaim VmallocUsed Percpu KernelStack MemFree)
mem_sample() {
	local k line="soak mem $1:"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	meminfo_read
	for k in "${mem_keys[@]}"; do line+=" $k=${MI[$k]:-?}kB"; done
	MI[kmemleak_objects]=$(slab_objs kmemleak_object || echo none)
	line+=" kmemleak_objects=${MI[kmemleak_objects]}"
	vr_info "$line"
	echo "$1 ${MI[SUnreclaim]:-} ${MI[Slab]:-} ${MI[VmallocUsed]:-} ${MI[Percpu]:-} ${MI[kmemleak_objects]}" >>/tmp/soak-mem.txt
}

# Where the code of vfio_release, vfio_pci_core and vfio_pci lies while
# loaded: section starts from sysfs at each load, sizes from the .ko, so
# that a kmemleak backtrace frame left unnamed after an unload can still
# be told apart (see kml_classify).
declare -A SECT_SIZE SECT_SEEN
sect_sizes() { # MODULE KO
	local name size
	# readelf -SW: "[Nr] Name Type Address Off Size ...". (No process
	# substitution: the guest has no /dev/fd.)
	readelf -SW "$2" 2>/dev/null |
		awk '{ sub(/^ *\[ *[0-9]+\] */, "") } $1 ~ /text/ { print $1, $5 }' >/tmp/soak-sect.txt
	while read -r name size; do
		SECT_SIZE[$1:$name]=$size
	done </tmp/soak-sect.txt
}
sect_record() { # MODULE
	local f a n
	for f in /sys/module/"$1"/sections/.*text*; do
		read -r a <"$f" 2>/dev/null || continue
		n=${f##*/}
		[ -n "${SECT_SEEN[$1:$n:$a]:-}" ] && continue
		SECT_SEEN[$1:$n:$a]=1
		echo "$1 $a ${SECT_SIZE[$1:$n]:-0}" >>/tmp/soak-ranges.txt
	done
}
: >/tmp/soak-ranges.txt
: >/tmp/soak-mem.txt
sect_sizes vfio_release "$VR_KO"
for m in vfio-pci-core vfio-pci; do
	ko=$(modinfo -n "$m" 2>/dev/null)
	case $ko in
	*.ko) sect_sizes "${m//-/_}" "$ko" ;;
	*.ko.xz) xz -dc "$ko" >"/tmp/$m.ko" && sect_sizes "${m//-/_}" "/tmp/$m.ko" ;;
	esac
done
sect_record vfio_pci_core
sect_record vfio_pci

# --- the monitor: one `monitor --json` for the whole soak, across every
# reload. Its notices of reloads on stderr are followed by builtins; its
# events (too many for bash to parse under churn in the VM) are read by
# awk at each check, then the file is emptied at a quiet point. ---
MONF=/tmp/soak-monitor.jsonl
MONERR=/tmp/soak-monitor.err
MONERR_FD=
MONERR_PART=
MON_LOADS=0 MON_OVERFLOWS=0 MON_EVENTS=0 MON_RESYNCS=0 MON_NOTICES=0
declare -A EV_LAST EV_OPENED RESYNC_REASONS
monerr_pump() {
	local line
	while IFS= read -r -u "$MONERR_FD" line; do
		line=$MONERR_PART$line
		MONERR_PART=
		case $line in
		*'module loaded'*) MON_LOADS=$((MON_LOADS + 1)) ;;
		*'events were lost'*) MON_OVERFLOWS=$((MON_OVERFLOWS + 1)) ;;
		esac
	done
	MONERR_PART+=$line
}
# mon_read: for every device since the last load the file shows, the
# state its last event left it in (EV_LAST: a device event carries the
# record as it stands after it) and its "opened" events (EV_OPENED);
# with "count", the file's totals are added.
mon_read() {
	local kind a b c
	EV_LAST=() EV_OPENED=()
	awk '
		function val(key,   re) { re = "\"" key "\":\"[^\"]*\""
			if (!match($0, re)) return ""
			return substr($0, RSTART + length(key) + 4, RLENGTH - length(key) - 5) }
		/"notice":"module-loaded"/ { split("", last); split("", opened); next }
		/"notice":/ { notices++; next }
		{ ev = val("event") }
		ev == "resync" { r = val("resync_reason"); resync[r == "" ? "?" : r]++; next }
		{ d = val("device") }
		d != "" { last[d] = val("state"); if (ev == "opened") opened[d]++; events++ }
		END { for (d in last) print "dev", d, last[d], opened[d] + 0
			print "events", events + 0; print "notices", notices + 0
			for (r in resync) print "resync", r, resync[r] }' "$MONF" >/tmp/soak-mon-read.txt
	while read -r kind a b c; do
		case $kind in
		dev) EV_LAST[$a]=$b EV_OPENED[$a]=$c ;;
		events) [ "${1:-}" != count ] || MON_EVENTS=$((MON_EVENTS + a)) ;;
		notices) [ "${1:-}" != count ] || MON_NOTICES=$((MON_NOTICES + a)) ;;
		resync)
			[ "${1:-}" = count ] || continue
			MON_RESYNCS=$((MON_RESYNCS + b))
			RESYNC_REASONS[$a]=$((${RESYNC_REASONS[$a]:-0} + b)) ;;
		esac
	done </tmp/soak-mon-read.txt
}
# Emptied at a quiet point (every churner settled, its events read); the
# monitor appends (O_APPEND), so it goes on at the start of the file.
mon_rotate() { : >"$MONF"; }
mon_alive() { vr__running "$MON_PID"; }

# --- the churners: vfio-churn ctl, one per unit, fifos both ways ---
declare -a CH_IN CH_OUT CH_PID CH_STATE CH_CYCLES CH_ERRORS
ch_start() {
	local k=$1 args=() d
	IFS=, read -r -a ds <<<"${units[$k]}"
	for d in "${ds[@]}"; do args+=(-d "$d"); done
	mkfifo "/tmp/soak-c$k.in" "/tmp/soak-c$k.out"
	exec {fd}<>"/tmp/soak-c$k.in"
	CH_IN[k]=$fd
	exec {fd}<>"/tmp/soak-c$k.out"
	CH_OUT[k]=$fd
	"$CHURN" ctl "${args[@]}" -p "$pause_ms" <"/tmp/soak-c$k.in" >"/tmp/soak-c$k.out" 2>>"/tmp/soak-c$k.err" &
	CH_PID[k]=$!
	CH_STATE[k]=cycling
}
# ch_settle STATE...: one state per churner, sent to all first, then
# every reply read; returns 1 (with FAIL_WHY) when one did not settle.
# A churner that did not answer in --settle-timeout still owes that
# answer (CH_OWED): it comes before the next one, and is read and
# dropped first, so that one slow settle fails one cycle, not every
# cycle after it.
declare -a CH_OWED
ch_settle() {
	local k reply rc=0
	for ((k = 0; k < procs; k++)); do
		if [ "${CH_OWED[k]:-0}" = 1 ]; then
			if IFS= read -r -t "$settle_timeout" -u "${CH_OUT[k]}" reply; then
				CH_OWED[k]=0
				vr_info "soak: churner $k (${units[$k]}) answered the last settle late: $reply"
			else
				FAIL_WHY+="churner $k (${units[$k]}) still owes the last settle's answer; "
				CH_STATE[k]=unknown rc=1
				shift
				continue
			fi
		fi
		echo "settle ${1}" >&"${CH_IN[k]}"
		CH_STATE[k]=$1
		shift
	done
	for ((k = 0; k < procs; k++)); do
		[ "${CH_STATE[k]}" != unknown ] || continue
		if ! IFS= read -r -t "$settle_timeout" -u "${CH_OUT[k]}" reply; then
			FAIL_WHY+="churner $k (${units[$k]}) did not answer a settle in $settle_timeout s; "
			CH_OWED[k]=1 CH_STATE[k]=unknown rc=1
			continue
		fi
		case $reply in
		"settled ${CH_STATE[k]} "*)
			[[ $reply =~ cycles=([0-9]+)\ errors=([0-9]+) ]] &&
				CH_CYCLES[k]=${BASH_REMATCH[1]} CH_ERRORS[k]=${BASH_REMATCH[2]} ;;
		*) FAIL_WHY+="churner $k (${units[$k]}): $reply; " CH_STATE[k]=unknown rc=1 ;;
		esac
	done
	return "$rc"
}
ch_resume() {
	local k
	for ((k = 0; k < procs; k++)); do
		echo resume >&"${CH_IN[k]}"
		CH_STATE[k]=cycling
	done
}

# expected DEV: what reality is for DEV, in EXPECTED (its churner's
# settled state, or free for a device nobody churns). A variable, not
# output: a command substitution forks, and a fork costs most of a
# second on the debug kernel.
expected() {
	local k
	for ((k = 0; k < procs; k++)); do
		case ,${units[$k]}, in *,"$1",*) EXPECTED=${CH_STATE[k]}; return ;; esac
	done
	EXPECTED=free
}

# check_exact PHASE: one dump (`vfio-release status`, synchronous with the
# module's queue); every bound device has exactly one record, in the state
# reality is in, and there is no other record. Appends to FAIL_WHY.
declare -A SEEN
check_exact() {
	local line dev st d want bad=0 n=0
	SEEN=()
	if ! "$VR_CLI" status >/tmp/soak-status.txt 2>&1; then
		FAIL_WHY+="$1: status failed: $(tr '\n' ' ' </tmp/soak-status.txt); "
		return 1
	fi
	while IFS= read -r line; do
		[[ $line =~ \ device=([^ ]+) ]] || continue
		dev=${BASH_REMATCH[1]}
		st='?'
		[[ $line =~ \ state=([^ ]+) ]] && st=${BASH_REMATCH[1]}
		n=$((n + 1))
		if [ -n "${SEEN[$dev]:-}" ]; then
			FAIL_WHY+="$1: $dev twice in the dump; "
			bad=1
		fi
		SEEN[$dev]=$st
	done </tmp/soak-status.txt
	for d in "${all_devs[@]}"; do
		expected "$d"
		want=$EXPECTED
		if [ "${SEEN[$d]:-none}" != "$want" ]; then
			FAIL_WHY+="$1: $d module=${SEEN[$d]:-no-record} reality=$want; "
			bad=1
		fi
	done
	if [ "$n" != ${#all_devs[@]} ]; then
		FAIL_WHY+="$1: $n records for ${#all_devs[@]} bound devices; "
		bad=1
	fi
	[ "$bad" = 0 ] || sed 's/^/soak status: /' /tmp/soak-status.txt
	return "$bad"
}

# check_events PHASE: since the load, every churned device had an
# "opened" event, and its last event left it in its settled state
# (within 10 s).
events_ok() {
	local k d
	mon_read "$@"
	for ((k = 0; k < procs; k++)); do
		IFS=, read -r -a ds <<<"${units[$k]}"
		for d in "${ds[@]}"; do
			[ "${EV_LAST[$d]:-none}" = "${CH_STATE[k]}" ] || return 1
			[ "${EV_OPENED[$d]:-0}" -ge 1 ] || return 1
		done
	done
}
# Reads the monitor's file until the events are there, at most 10 s (or
# SECONDS, the second argument);
# the file's totals are counted once, by the last read.
check_events() {
	local deadline=$((SECONDS + ${2:-10})) k d
	until events_ok; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			events_ok count
			for ((k = 0; k < procs; k++)); do
				IFS=, read -r -a ds <<<"${units[$k]}"
				for d in "${ds[@]}"; do
					FAIL_WHY+="$1: $d settled ${CH_STATE[k]}, its last event says ${EV_LAST[$d]:-none}, opened ${EV_OPENED[$d]:-0} since the load; "
				done
			done
			return 1
		fi
		vr_nap 0.1
	done
	# The same file again, to count it (it has not changed: all settled).
	mon_read count
}

# The module's loads, seen by the monitor: wait for the notice.
wait_loaded() {
	local deadline=$((SECONDS + 30))
	while monerr_pump; [ "$MON_LOADS" -lt "$1" ]; do
		if [ "$SECONDS" -ge "$deadline" ] || ! mon_alive; then
			FAIL_WHY+="the monitor saw $MON_LOADS loads, not $1 (alive: $(mon_alive && echo yes || echo no)); "
			return 1
		fi
		vr_nap 0.02
	done
}

LOADS=0
module_load() {
	if ! insmod "$VR_KO" 2>/tmp/soak-insmod.err; then
		FAIL_WHY+="insmod: $(cat /tmp/soak-insmod.err); "
		return 1
	fi
	LOADS=$((LOADS + 1))
	sect_record vfio_release
}
module_unload() {
	local try
	for try in 1 2 3 4 5; do
		[ "$try" = 1 ] || vr_nap 0.2
		rmmod vfio_release 2>/tmp/soak-rmmod.err && return 0
	done
	FAIL_WHY+="rmmod: $(cat /tmp/soak-rmmod.err); "
	return 1
}

# vfio_pci_core and vfio-pci reloaded: every device unbound (under churn:
# vfio waits for the open ones to close), both modules removed, vfio-pci
# loaded again; the devices keep driver_override=vfio-pci, so its probe
# binds them all again. Waits until every group's node is back.
CORE_RELOADS=0
bound_all() {
	local d
	for d in "${all_devs[@]}"; do
		[ -e "/sys/bus/pci/drivers/vfio-pci/$d" ] && [ -e "/dev/vfio/${group_of[$d]}" ] || return 1
	done
}
core_reload() {
	local d deadline
	for d in "${all_devs[@]}"; do
		echo "$d" >/sys/bus/pci/drivers/vfio-pci/unbind ||
			{ FAIL_WHY+="core reload: unbind $d failed; "; return 1; }
	done
	if ! modprobe -r vfio-pci vfio-pci-core 2>/tmp/soak-modprobe.err; then
		FAIL_WHY+="core reload: modprobe -r: $(cat /tmp/soak-modprobe.err); "
		return 1
	fi
	if ! modprobe vfio-pci 2>/tmp/soak-modprobe.err; then
		FAIL_WHY+="core reload: modprobe vfio-pci: $(cat /tmp/soak-modprobe.err); "
		return 1
	fi
	deadline=$((SECONDS + 30))
	until bound_all; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			FAIL_WHY+="core reload: devices not all back on vfio-pci in 30 s; "
			for d in "${all_devs[@]}"; do vr_bind_vfio "$d"; done
			return 1
		fi
		vr_nap 0.02
	done
	CORE_RELOADS=$((CORE_RELOADS + 1))
	sect_record vfio_pci_core
	sect_record vfio_pci
}

states=(open released free)
# targets OFFSET: one state per churner in TARGETS, varied by cycle and
# churner (no command substitution: see expected).
targets() {
	local k
	TARGETS=()
	for ((k = 0; k < procs; k++)); do TARGETS+=("${states[$(((c + k + $1) % 3))]}"); done
}
all_free=()
for ((k = 0; k < procs; k++)); do all_free+=(free); done

# --- set-up ---
vr_info "soak: $(uname -r), $cycles cycles, $procs churners on: ${units[*]:0:$procs}; idle: ${units[*]:$procs}; vfio_pci_core every $core_every cycles; churners pause ${pause_ms} ms a cycle; time limit ${time_limit}s"
if [ "$kml_state" = 0 ]; then
	# What the boot left is not the soak's.
	echo scan >"$KML"
	n=$(grep -c '^unreferenced object' "$KML")
	vr_info "soak: kmemleak before the soak: $n report(s) from the boot, cleared"
	echo clear >"$KML"
fi
for ((k = 0; k < procs; k++)); do ch_start "$k"; done
# The first sample: never loaded, every churner free (c=0 for targets).
c=0
FAIL_WHY=
ch_settle "${all_free[@]}" || { vr_result FAIL soak-setup "$FAIL_WHY"; vr_done; exit 0; }
mem_sample never-loaded
ch_resume
module_load || { vr_result FAIL soak-setup "$FAIL_WHY"; vr_done; exit 0; }
"$VR_CLI" monitor --json >>"$MONF" 2>"$MONERR" &
MON_PID=$!
vr_wait 30 grep -q monitoring "$MONERR" ||
	{ vr_result FAIL soak-setup "monitor: $(cat "$MONERR")"; vr_done; exit 0; }
exec {MONERR_FD}<"$MONERR"
# The monitor subscribed to a loaded module: it counts as the first load.
MON_LOADS=1
if [ -d /sys/kernel/slab/vfio_release_device ] && [ ! -L /sys/kernel/slab/vfio_release_device ]; then
	vr_info "soak: the module's cache vfio_release_device is its own (not merged): a record left at unload is a kmem_cache_destroy warning"
else
	vr_info "soak: the module's cache vfio_release_device is merged with another (boot with slab_nomerge to see it alone)"
fi
vr_info "soak: module coresize $(file1 /sys/module/vfio_release/coresize) bytes"

# The checks can fail: with every churner settled, they pass; told that
# the first churner's device is in another state than it is, both fail.
targets 0
if ch_settle "${TARGETS[@]}" && check_exact setup && check_events setup; then
	vr_result PASS soak-checks-pass-at-setup
else
	vr_result FAIL soak-checks-pass-at-setup "$FAIL_WHY"
fi
real=${CH_STATE[0]}
CH_STATE[0]=${states[$(((c + 1) % 3))]}
FAIL_WHY=
if check_exact self-test >/dev/null; then
	vr_result FAIL soak-exact-check-sees-a-wrong-state "the dump matched a state ${units[0]} is not in (${CH_STATE[0]}, it is $real)"
else
	vr_result PASS soak-exact-check-sees-a-wrong-state
fi
if check_events self-test 2; then
	vr_result FAIL soak-event-check-sees-a-wrong-state "the events matched a state ${units[0]} is not in (${CH_STATE[0]}, it is $real)"
else
	vr_result PASS soak-event-check-sees-a-wrong-state
fi
CH_STATE[0]=$real
FAIL_WHY=
# The soak's figures start here.
MON_EVENTS=0 MON_RESYNCS=0 MON_NOTICES=0
RESYNC_REASONS=()
mon_rotate
ch_resume

# --- the cycles ---
# block_report: the figures of the cycles since the last report.
block_report() {
	local t ncyc nerr k p phases
	now_ms t
	ncyc=0 nerr=0
	for ((k = 0; k < procs; k++)); do
		ncyc=$((ncyc + ${CH_CYCLES[k]:-0})) nerr=$((nerr + ${CH_ERRORS[k]:-0}))
	done
	phases=
	for p in settle rmmod core insmod monitor status events; do
		phases+=" $p=$((${T_SUM[$p]:-0} / 1000))s"
	done
	T_SUM=()
	vr_info "soak block cycles $block_from-$c: $(((t - t_block) / 1000)) s, $(awk -v n=$((c - block_from + 1)) -v ms=$((t - t_block)) 'BEGIN { printf "%.2f", n * 1000 / ms }') cycles/s; failed cycles $block_fail; vfio_pci_core reloads $block_core; events $((MON_EVENTS - prev_events)); churn so far: $ncyc open/close cycles, $nerr failed opens; resyncs so far $MON_RESYNCS; time in:$phases"
	t_block=$t
	block_fail=0 block_core=0 prev_events=$MON_EVENTS block_from=$((c + 1))
	if [ -d /sys/kernel/slab/vfio_release_device ]; then
		vr_info "soak: after cycle $c: vfio_release_device objects $(file1 /sys/kernel/slab/vfio_release_device/objects) for ${#all_devs[@]} devices"
	fi
}
block_from=1
failed_cycles=0 exact_checks=0 event_checks=0 held_cycles=0
first_fail=
t_start=0 t_end=0
now_ms t_start
t_block=$t_start
declare -A T_SUM
# tick PHASE: the time since the last tick goes to PHASE (and the console).
tick() {
	local t
	now_ms t
	T_SUM[$1]=$((${T_SUM[$1]:-0} + t - T_LAST))
	echo "soak: cycle $c $1 $((t - T_LAST)) ms"
	T_LAST=$t
}
stop_why=
ran=0
block_fail=0 block_core=0
prev_events=0
for ((c = 1; c <= cycles; c++)); do
	if [ "$time_limit" -gt 0 ] && [ "$SECONDS" -ge "$time_limit" ]; then
		stop_why="time limit ${time_limit}s reached"
		break
	fi
	if [ "$failed_cycles" -ge "$max_failures" ]; then
		stop_why="$failed_cycles failed cycles"
		break
	fi
	FAIL_WHY=
	now_ms T_LAST
	core=0 core_loaded=0
	if [ "$core_every" -gt 0 ] && [ $((c % core_every)) = 0 ]; then
		core=1
		core_loaded=$(((c / core_every) % 2))
	fi
	checkpoint=0
	[ $((c % sample_every)) != $((1 % sample_every)) ] || checkpoint=1
	held=0
	[ "$core" = 1 ] || [ $((c % 2)) = 0 ] || held=1
	# A sample is taken with every churner free: held, all free.
	[ "$checkpoint" = 0 ] || held=1
	ok=1
	# Held across the reload: settled before the rmmod.
	if [ "$held" = 1 ]; then
		held_cycles=$((held_cycles + 1))
		if [ "$checkpoint" = 1 ]; then
			ch_settle "${all_free[@]}" || ok=0
		else
			targets 1
			ch_settle "${TARGETS[@]}" || ok=0
		fi
		tick settle
	fi
	module_unload || ok=0
	tick rmmod
	[ "$checkpoint" = 0 ] || mem_sample "cycle-$c"
	if [ "$core" = 1 ] && [ "$core_loaded" = 0 ]; then
		core_reload || ok=0
		tick core
	fi
	module_load || ok=0
	tick insmod
	wait_loaded "$((LOADS))" || ok=0
	tick monitor
	if [ "$held" = 1 ]; then
		exact_checks=$((exact_checks + 1))
		check_exact "cycle $c held across the reload" || ok=0
		tick status
		ch_resume
	fi
	if [ "$core" = 1 ] && [ "$core_loaded" = 1 ]; then
		core_reload || ok=0
		tick core
	fi
	targets 0
	ch_settle "${TARGETS[@]}" || ok=0
	tick settle
	exact_checks=$((exact_checks + 1))
	check_exact "cycle $c after settling" || ok=0
	tick status
	event_checks=$((event_checks + 1))
	check_events "cycle $c events" || ok=0
	tick events
	mon_rotate
	ch_resume
	[ "$core" = 0 ] || block_core=$((block_core + 1))
	if [ "$ok" = 0 ]; then
		failed_cycles=$((failed_cycles + 1))
		block_fail=$((block_fail + 1))
		[ -n "$first_fail" ] || first_fail="cycle $c: $FAIL_WHY"
		vr_info "soak: cycle $c FAILED: $FAIL_WHY"
	fi
	ran=$c
	if [ $((c % 100)) = 0 ] || [ "$c" = "$cycles" ]; then
		block_report
	fi
done
now_ms t_end
# Stopped early: the last block's figures too.
[ "$ran" -lt "$block_from" ] || { c=$ran; block_report; }

# --- the end: kmemleak while loaded, then unloaded; memory after ---
monerr_pump
kml_reports() { grep -c '^unreferenced object' "$1"; }
if [ "$kml_state" = 0 ]; then
	# Refused only when kmemleak went off meanwhile: the scan below says so.
	{ echo scan >"$KML"; } 2>/dev/null
	cat "$KML" >/tmp/soak-kml-loaded.txt
fi
FAIL_WHY=
ch_settle "${all_free[@]}" || vr_info "soak: final settle: $FAIL_WHY"
module_unload || vr_result FAIL soak-final-unload "$FAIL_WHY"
mem_sample after
mon_alive_at_end=no
mon_alive && mon_alive_at_end=yes
mon_stop
for ((k = 0; k < procs; k++)); do echo quit >&"${CH_IN[k]}"; done
for ((k = 0; k < procs; k++)); do
	IFS= read -r -t 30 -u "${CH_OUT[k]}" reply || reply="no reply"
	wait "${CH_PID[k]}" 2>/dev/null
	vr_info "soak: churner $k (${units[$k]}): $reply; its failed opens, each kind once: $(head -n 6 "/tmp/soak-c$k.err" | tr '\n' ';')"
done

# --- summary ---
elapsed=$(((t_end - t_start) / 1000))
rate=$(awk -v n="$ran" -v ms=$((t_end - t_start)) 'BEGIN { if (ms > 0) printf "%.2f", n * 1000 / ms; else print 0 }')
vr_info "soak summary: $ran of $cycles cycles in $elapsed s ($rate cycles/s)${stop_why:+, stopped: $stop_why}; failed cycles $failed_cycles; exact-state checks $exact_checks ($held_cycles right after a load with the churners held across it); event checks $event_checks; vfio_pci_core reloads $CORE_RELOADS; module loads $LOADS"
vr_info "soak summary: monitor: $MON_LOADS loads seen, $MON_EVENTS device events, $MON_RESYNCS resyncs ($(for r in "${!RESYNC_REASONS[@]}"; do printf '%s=%s ' "$r" "${RESYNC_REASONS[$r]}"; done)), $MON_NOTICES notices, $MON_OVERFLOWS overflows, alive at the end: $mon_alive_at_end"
if [ "$failed_cycles" = 0 ] && [ "$ran" -gt 0 ]; then
	vr_result PASS soak-every-cycle-exact
else
	vr_result FAIL soak-every-cycle-exact "$failed_cycles of $ran cycles failed; first: $first_fail"
fi
check soak-monitor-followed-every-load expect_eq "$MON_LOADS $mon_alive_at_end" "$LOADS yes"
if [ -n "$stop_why" ]; then
	vr_result FAIL soak-all-cycles-ran "stopped after $ran of $cycles: $stop_why"
else
	vr_result PASS soak-all-cycles-ran
fi

# Memory: the sample at cycle 1 (after one load and unload) against
# the last (after the last cycle); "never loaded" is the first line.
{
	read -r _
	read -r _ su1 slab1 vm1 pc1 kmo1
} </tmp/soak-mem.txt
while read -r _ a b c d e; do
	su2=$a slab2=$b vm2=$c pc2=$d kmo2=$e
done </tmp/soak-mem.txt
vr_info "soak memory (module unloaded, churners free, caches dropped), cycle 1 -> after the last: SUnreclaim ${su1}kB -> ${su2}kB ($((su2 - su1))), Slab ${slab1}kB -> ${slab2}kB ($((slab2 - slab1))), VmallocUsed ${vm1}kB -> ${vm2}kB ($((vm2 - vm1))), Percpu ${pc1}kB -> ${pc2}kB ($((pc2 - pc1))), kmemleak objects $kmo1 -> $kmo2"
vr_info "soak memory samples (label SUnreclaim Slab VmallocUsed Percpu kmemleak_objects): $(tr '\n' ';' </tmp/soak-mem.txt)"
# The verdict: SUnreclaim + VmallocUsed + Percpu must not grow by 1 kB a
# cycle or more, as the least-squares slope over the later half of the
# samples (at least 3, over 50 cycles or more): the first loads and
# vfio_pci_core reloads fill caches once (a step, seen as growth first to
# last over a short run); a leak grows in every half. A whole load's
# allocations left behind (kretprobe instances, the queue, the records)
# is tens of kB a cycle; a lost object or two is kmemleak's to find.
awk -v ran="$ran" '$1 != "never-loaded" { n++
		x[n] = ($1 == "after") ? ran : substr($1, 7) + 0; y[n] = $2 + $4 + $5 }
	function slope(from,   i, m, sx, sy, sxx, sxy, d) {
		for (i = from; i <= n; i++) { m++; sx += x[i]; sy += y[i]; sxx += x[i] * x[i]; sxy += x[i] * y[i] }
		d = m * sxx - sx * sx; return d ? (m * sxy - sx * sy) / d : 0 }
	END { if (n < 2) { print 0, 0, 0, 0, 0, 0; exit }
		h = int(n / 2) + 1; if (n - h + 1 < 3) h = n - 2; if (h < 1) h = 1
		printf "%d %d %.3f %.3f %d %.3f\n", n, x[n] - x[1], (y[n] - y[1]) / (x[n] - x[1]), slope(1),
			x[n] - x[h], slope(h) }' /tmp/soak-mem.txt >/tmp/soak-growth.txt
read -r gn gspan gper gslope lspan lslope </tmp/soak-growth.txt
vr_info "soak memory growth (SUnreclaim+VmallocUsed+Percpu): $gn samples over $gspan cycles: first to last $gper kB/cycle, slope $gslope kB/cycle; later half (over $lspan cycles) slope $lslope kB/cycle (limit 1)"
if [ "$gn" -lt 3 ] || [ "$lspan" -lt 50 ]; then
	vr_result SKIP soak-memory-no-growth "$gn samples, the later half over $lspan cycles: too few to judge (3 samples over 50 cycles or more; see --sample-every)"
elif awk -v b="$lslope" 'BEGIN { exit !(b >= 1) }'; then
	vr_result FAIL soak-memory-no-growth "the later half of the samples grew $lslope kB/cycle (first to last $gper kB/cycle)"
else
	vr_result PASS soak-memory-no-growth
fi

# kml_classify FILE: each report's verdict, one line: "module|other|unnamed
# first-frames". A report is the module's when a frame names
# [vfio_release] or a vr_ function, or is an address inside a section of
# one of its loads; "unnamed" when a frame is an address no loaded
# module's and none of the recorded ones.
kml_classify() {
	awk -v ranges=/tmp/soak-ranges.txt '
	# Module code lies in the top 2 GiB (0xffffffff........): the low 32
	# bits are compared, as awk holds no 64-bit integer exactly.
	function num(s,   i, v) { v = 0; s = tolower(s); sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v }
	function hex(s) { s = tolower(s); sub(/^0x/, "", s)
		if (length(s) > 8) { if (substr(s, 1, length(s) - 8) !~ /^f+$/) return -1; s = substr(s, length(s) - 7) }
		return num(s) }
	BEGIN { while ((getline l < ranges) > 0) { split(l, f, " "); n++; rm[n] = f[1]; rs[n] = hex(f[2]); re[n] = rs[n] + num(f[3]) } }
	function flush() { if (obj != "") print verdict, who, frames; obj = ""; verdict = "other"; who = "-"; frames = ""; bt = 0 }
	/^unreferenced object/ { flush(); obj = $3; verdict = "other"; next }
	/^  backtrace/ { bt = 1; nf = 0; next }
	obj != "" && bt && /^    / {
		fr = $1; if (nf++ < 6) frames = frames fr " "
		if ($0 ~ /\[vfio_release\]/ || fr ~ /^vr_/) { verdict = "module"; who = "vfio_release" }
		if (fr ~ /^0x[0-9a-f]+$/) {
			a = hex(fr); hit = ""
			for (i = 1; i <= n; i++) if (a >= 0 && a >= rs[i] && a < re[i]) hit = rm[i]
			if (hit == "vfio_release") { verdict = "module"; who = "vfio_release(by-address)" }
			else if (verdict != "module") { verdict = (hit == "" ? "unnamed" : "other"); who = (hit == "" ? "?" : hit) }
		}
	}
	END { flush() }' "$1"
}
# Past kmemleak's minimum age for the last instance's objects.
if [ "$kml_state" = 0 ]; then
	vr_nap 6
	vr_kmemleak_scan /tmp/soak-kml.txt || kml_state=$?
fi
if [ "$kml_state" = 0 ]; then
	nl=$(kml_reports /tmp/soak-kml-loaded.txt)
	nu=$(kml_reports /tmp/soak-kml.txt)
	kml_classify /tmp/soak-kml-loaded.txt >/tmp/soak-kml-loaded.cls
	kml_classify /tmp/soak-kml.txt >/tmp/soak-kml.cls
	nmod=$(cat /tmp/soak-kml-loaded.cls /tmp/soak-kml.cls | grep -c '^module ')
	nunnamed=$(grep -c '^unnamed ' /tmp/soak-kml.cls)
	vr_info "soak kmemleak: $nl report(s) with the module loaded at the end, $nu after unloading it (two scans 6 s apart); naming vfio_release: $nmod; with a frame in no recorded module: $nunnamed"
	if [ "$nl" -gt 0 ] || [ "$nu" -gt 0 ]; then
		sed 's/^/soak kmemleak (loaded): /' /tmp/soak-kml-loaded.txt | head -n 300
		sed 's/^/soak kmemleak (unloaded): /' /tmp/soak-kml.txt | head -n 300
		sort /tmp/soak-kml.cls | uniq -c | sort -rn | head -n 10 |
			while read -r line; do vr_info "soak kmemleak kind: $line"; done
	fi
	if [ "$nmod" = 0 ]; then
		vr_result PASS soak-kmemleak-nothing-of-vfio_release
	else
		vr_result FAIL soak-kmemleak-nothing-of-vfio_release "$nmod report(s): $(grep -m1 '^module ' /tmp/soak-kml-loaded.cls /tmp/soak-kml.cls)"
	fi
	# vr_done scans again and fails on any report: what was said above
	# is cleared, so that only something new since fails it there.
	echo clear >"$KML"
elif [ "$kml_state" = 2 ]; then
	vr_kmemleak_off_result soak-kmemleak
else
	vr_result SKIP soak-kmemleak "kmemleak: not in this kernel ($(uname -r))"
fi
vr_done
