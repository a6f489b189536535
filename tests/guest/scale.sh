#!/bin/bash
# vr-topology: scale
# vr-timeout: 480
#
# Many devices: every edu of the scale topology (320 functions behind two
# pcie-pci-bridges, two IOMMU groups) plus the default ones bound to
# vfio-pci before the module loads, then
#   (i)   the load: at most one resync in the 10 s after it, every device
#         in the dump exactly once, load time;
#   (ii)  a burst: all devices, held by five processes, released at once
#         (SIGKILL): every device released and free exactly once (or one
#         resync and a dump that is right), generations +1, slab objects
#         back where they were;
#   (iii) resets undisturbed: VFIO_DEVICE_RESET + close/reopen churn on
#         VR_EDU while the module is reloaded again and again: no EAGAIN,
#         no failed open, no release with reset=skipped; the same churn
#         without the module, in the same boot, for comparison;
#   (iv)  rmmod under 5 s, every time.
# Against a module whose load-time scan overflows its queue the load
# resyncs without end and rmmod hangs; one whose scan holds the device
# lock while it waits for the dev_set lock makes VFIO skip resets and
# VFIO_DEVICE_RESET fail with EAGAIN. Those checks fail then, by design.
#
# Every exec costs ~0.1 s in this VM: loops over devices stay in bash
# builtins and single jq calls.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

CHURN=$VR_HELPERS/vfio-churn
UEVENTS=$VR_HELPERS/uevent-listen
ITER=${VR_SCALE_ITER:-100}   # reset-loop rounds, with and without the module
SLAB=vfio_release_device
FLOG=/tmp/follow.jsonl
module_stuck=   # set when an rmmod never returned: no more loads then

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }

# A listener must keep up with hundreds of events in a burst.
echo 16777216 >/proc/sys/net/core/rmem_max
echo 16777216 >/proc/sys/net/core/rmem_default

if [ "${VR_TOPOLOGY:-}" != scale ]; then
	vr_result FAIL scale-topology "booted without '# vr-topology: scale' (VR_TOPOLOGY=${VR_TOPOLOGY:-unset})"
	vr_done
	exit 0
fi

# --- the devices: every 1234:11e8 function, and the two big groups ---
all_edu=()
for d in /sys/bus/pci/devices/*; do
	read -r v <"$d/vendor" && read -r id <"$d/device" || continue
	[ "$v:$id" = 0x1234:0x11e8 ] && all_edu+=("${d##*/}")
done
vr_scale_devices >/tmp/scale-devs.txt
mapfile -t scale_devs </tmp/scale-devs.txt
big_groups=()
for g in /sys/kernel/iommu_groups/*; do
	members=("$g"/devices/*)
	[ "${#members[@]}" -ge 100 ] && big_groups+=("${g##*/}")
done
vr_info "edu functions: ${#all_edu[@]} (scale topology: ${#scale_devs[@]}), big IOMMU groups: ${big_groups[*]}"
check scale-functions-present expect_eq "${#scale_devs[@]}" "${VR_SCALE_COUNT:-320}"
check scale-two-big-groups expect_eq "${#big_groups[@]}" 2

# --- bind them all (this also takes VR_EDU, VR_PAIR_*, VR_HOTPLUG) ---
bound_count() {
	local b=(/sys/bus/pci/drivers/vfio-pci/0000:*)
	[ -e "${b[0]}" ] || { echo 0; return; }
	echo "${#b[@]}"
}
all_bound() { [ "$(bound_count)" -ge "${#all_edu[@]}" ]; }
t0=$(now_ms)
echo "1234 11e8" >/sys/bus/pci/drivers/vfio-pci/new_id
check bind-all-vfio vr_wait 120 all_bound
ndev=$(bound_count)
vr_info "bound to vfio-pci: $ndev devices in $(($(now_ms) - t0)) ms"
printf '%s\n' "${all_edu[@]}" | sort >/tmp/expected.txt

# --- (iii, first half) the reset churn without the module ---
"$CHURN" reset-loop -d "$VR_EDU" -n "$ITER" >/tmp/churn-bare.out 2>/tmp/churn-bare.err
bare=$(tail -n1 /tmp/churn-bare.out)
check reset-loop-bare-clean grep -q ' eagain=0 reset_fail=0 open_fail=0 ' /tmp/churn-bare.out

# --- (i) the load ---
"$UEVENTS" -t 3600 >/tmp/uevents.log 2>/tmp/uevents.err &
uev_pid=$!
vr_wait 20 grep -q ready /tmp/uevents.log
mon_follow_start "$FLOG"
slab_before_load=$(slab_objs "$SLAB")
vr_bounded 60 insmod "$VR_KO"
load_rc=$? load_ms=$VR_BOUNDED_MS
load_at=$SECONDS
check module-loads expect_eq "$load_rc" 0
if [ "$load_rc" = 124 ]; then
	vr_result FAIL scale-aborted "insmod did not return within 60 s"
	vr_done
	exit 0
fi
mon_follow_wait
# The first ten seconds after the load: at most one resync.
while [ $((SECONDS - load_at)) -lt 10 ]; do vr_nap 0.5; done
cp "$FLOG" /tmp/load-10s.jsonl
# Resyncs from the module, and socket overflows (the library's notice); a
# monitor that subscribed just before the module's family appeared may see
# the load itself as a "module-loaded" notice, which is not a resync.
JQ_RESYNC='(.event == "resync" and .notice != "module-loaded")'
resyncs_10s=$(jq -s "[.[] | select($JQ_RESYNC)] | length" /tmp/load-10s.jsonl)
vr_info "resync reasons in the 10 s after load: $(jq -r "select($JQ_RESYNC) | .resync_reason // .notice" /tmp/load-10s.jsonl | sort | uniq -c | tr -s ' \n' ' ')"
check resyncs-after-load-at-most-1 test "$resyncs_10s" -le 1

status_dump /tmp/dump.json 2>/tmp/dump.err
dumped=$(jq 'length' /tmp/dump.json)
check dump-lists-every-device bash -c "jq -r '.[].device' /tmp/dump.json | sort | comm -23 /tmp/expected.txt - | (! grep .)"
check dump-no-duplicates bash -c "[ \"\$(jq -r '.[].device' /tmp/dump.json | sort | uniq -d | wc -l)\" = 0 ]"
check dump-all-free bash -c "[ \"\$(jq -r '.[] | select(.state != \"free\") | .device' /tmp/dump.json | wc -l)\" = 0 ]"
slab_loaded=$(slab_objs "$SLAB")
if [ -n "$slab_loaded" ]; then
	check "slab-one-object-per-device" test "$slab_loaded" -ge "$ndev"
	vr_info "slab $SLAB: $slab_loaded objects with $ndev devices (before load: ${slab_before_load:-none})"
else
	vr_info "slab cache $SLAB not in /proc/slabinfo: no memory figure"
fi
vr_info "load: ${load_ms} ms (insmod, with the exec), devices in the dump: $dumped, resyncs in the 10 s after load: $resyncs_10s"

# --- (ii) the burst ---
# One process per group of holders: a group fd is one process's.
holders=()
hold() {
	local name=$1
	shift
	"$CHURN" hold-many "$@" >"/tmp/hold-$name.log" 2>&1 &
	holders+=($!)
}
slab_pre=$(slab_objs "$SLAB")
hold g1 -g "${big_groups[0]:-none}"
hold g2 -g "${big_groups[1]:-none}"
hold edu -d "$VR_EDU"
hold pair -d "$VR_PAIR_A" -d "$VR_PAIR_B"
hold hp -d "$VR_HOTPLUG"
# Each holder either opened everything or failed (and exited).
holders_settled() {
	local p n=0
	for p in "${holders[@]}"; do vr__running "$p" || n=$((n + 1)); done
	[ $(($(cat /tmp/hold-*.log | grep -c '^opened') + n)) -ge ${#holders[@]} ]
}
vr_wait 120 holders_settled
check burst-holders-open expect_eq "$(cat /tmp/hold-*.log | grep -c '^opened')" ${#holders[@]}
vr_info "holders: $(cat /tmp/hold-*.log | tr '\n' ' ')"
all_state() {
	status_dump /tmp/dump-poll.json 2>/dev/null &&
		[ "$(jq --arg s "$1" '[.[] | select(.state != $s)] | length' /tmp/dump-poll.json)" = 0 ] &&
		[ "$(jq length /tmp/dump-poll.json)" -ge "$ndev" ]
}
check burst-all-open-before vr_wait 30 all_state open
status_dump /tmp/dump-pre.json 2>/dev/null
from=$(wc -l <"$FLOG")
t0=$(now_ms)
kill -KILL "${holders[@]}"
wait "${holders[@]}" 2>/dev/null
check burst-all-free vr_wait 60 all_state free
burst_ms=$(($(now_ms) - t0))
# The monitor may lag behind the kernel: wait (a while) until it printed
# a free event per device, or a resync.
burst_events_in() {
	tail -n +"$((from + 1))" "$FLOG" >/tmp/burst.jsonl
	jq -e -s --argjson n "$ndev" \
		'([.[] | select(.event == "free")] | length) >= $n or any(.[]; .event == "resync")' \
		/tmp/burst.jsonl >/dev/null
}
vr_wait 20 burst_events_in
vr_nap 0.5
tail -n +"$((from + 1))" "$FLOG" >/tmp/burst.jsonl
# Per device: released and free events after the kill.
# (No process substitution: the guest has no /dev/fd for jq to open.)
jq -R . /tmp/expected.txt | jq -s . >/tmp/expected.json
jq -s -r --slurpfile exp /tmp/expected.json '
	($exp[0]) as $devs |
	[.[] | select(.event == "released" or .event == "free")] as $ev |
	(reduce $ev[] as $e ({}; .[$e.device + " " + $e.event] += 1)) as $n |
	[$devs[] | select(($n[. + " released"] // 0) != 1 or ($n[. + " free"] // 0) != 1)] as $bad |
	"released=\([$ev[] | select(.event == "released")] | length) free=\([$ev[] | select(.event == "free")] | length) resyncs=\([.[] | select(.event == "resync")] | length) devices_not_exactly_once=\($bad | length) first_bad=\($bad[0] // "none")"
' /tmp/burst.jsonl >/tmp/burst-count.txt 2>&1
burst=$(cat /tmp/burst-count.txt)
vr_info "burst: $ndev devices released at once, all free after ${burst_ms} ms; events: $burst"
burst_resyncs=$(sed -n 's/.* resyncs=\([0-9]*\).*/\1/p' /tmp/burst-count.txt)
burst_bad=$(sed -n 's/.* devices_not_exactly_once=\([0-9]*\).*/\1/p' /tmp/burst-count.txt)
# Either every device's events, exactly once, with no resync; or one
# resync and a dump that matches reality (every device free, checked above).
burst_accounted() {
	[ -n "$burst_resyncs" ] && [ -n "$burst_bad" ] || return 1
	[ "$burst_resyncs" = 0 ] && [ "$burst_bad" = 0 ] && return 0
	[ "$burst_resyncs" = 1 ] && all_state free
}
check burst-events-accounted burst_accounted
status_dump /tmp/dump-post.json 2>/dev/null
jq -r --slurpfile pre /tmp/dump-pre.json '
	(reduce $pre[0][] as $r ({}; .[$r.device] = $r.generation)) as $g |
	[.[] | select($g[.device] == null or .generation != $g[.device] + 1) | "\(.device):\($g[.device])->\(.generation)"] |
	"generation_not_plus_1=\(length) \(.[0:3] | join(" "))"
' /tmp/dump-post.json >/tmp/gen.txt 2>&1
check burst-generations-plus-1 grep -q '^generation_not_plus_1=0 ' /tmp/gen.txt
check burst-dump-complete bash -c "[ \"\$(jq length /tmp/dump-post.json)\" -ge $ndev ]"
if [ -n "$slab_pre" ]; then
	slab_back() { [ "$(slab_objs "$SLAB")" = "$slab_pre" ]; }
	check burst-slab-back vr_wait 10 slab_back
	vr_info "slab $SLAB: $slab_pre before the burst, $(slab_objs "$SLAB") after"
else
	vr_info "slab cache $SLAB not in /proc/slabinfo: burst memory not measured"
fi

# --- (iii) the reset churn under module reloads ---
rm -f /tmp/reload.stop
: >/tmp/rmmod-ms.txt
: >/tmp/reload.status
reloader() {
	local n=0
	# The first part of the loop runs under the module as loaded above.
	vr_nap 1.5
	while [ ! -e /tmp/reload.stop ]; do
		vr_bounded 20 rmmod vfio_release
		case $? in
		0) echo "$VR_BOUNDED_MS" >>/tmp/rmmod-ms.txt ;;
		124) echo "$VR_BOUNDED_MS" >>/tmp/rmmod-ms.txt; echo stuck >/tmp/reload.status; return ;;
		*) echo "rmmod-failed" >/tmp/reload.status; return ;;
		esac
		vr_nap 0.$((RANDOM % 5))
		insmod "$VR_KO" || { echo "insmod-failed" >/tmp/reload.status; return; }
		n=$((n + 1))
		echo "reloads=$n" >/tmp/reload.count
		vr_nap 0.$((5 + RANDOM % 5))
	done
	echo done >/tmp/reload.status
}
from=$(wc -l <"$FLOG")
uev_from=$(wc -l </tmp/uevents.log)
reloader &
reloader_pid=$!
# Chunks of rounds until ITER rounds ran and the module was reloaded at
# least 3 times (or the reloader gave up), for at most 90 s.
sum=(0 0 0 0 0) rounds=0 setup_fail=0 loop_deadline=$((SECONDS + 90))
: >/tmp/churn-mod.err
while :; do
	"$CHURN" reset-loop -d "$VR_EDU" -n 20 >/tmp/churn-chunk.out 2>>/tmp/churn-mod.err
	read -r line </tmp/churn-chunk.out || line=
	[ -n "$line" ] || setup_fail=$((setup_fail + 1))
	i=0
	for kv in $line; do
		sum[i]=$((sum[i] + ${kv#*=}))
		i=$((i + 1))
	done
	rounds=$((rounds + 20))
	read -r rl 2>/dev/null </tmp/reload.count || rl=reloads=0
	[ "$rounds" -ge "$ITER" ] || continue
	[ "${rl#reloads=}" -ge 3 ] && break
	[ -s /tmp/reload.status ] && break
	[ "$SECONDS" -lt "$loop_deadline" ] || break
done
echo "resets=${sum[0]} eagain=${sum[1]} reset_fail=${sum[2]} open_fail=${sum[3]} ms=${sum[4]} setup_fail=$setup_fail" >/tmp/churn-mod.out
touch /tmp/reload.stop
vr_wait 40 grep -q . /tmp/reload.status
reload_status=$(cat /tmp/reload.status)
[ "$reload_status" = stuck ] && module_stuck=1
read -r loaded 2>/dev/null </tmp/reload.count
loaded=${loaded:-reloads=0}
with=$(tail -n1 /tmp/churn-mod.out)
vr_info "reset loop on $VR_EDU ($ITER rounds) without the module: $bare"
vr_info "reset loop on $VR_EDU ($rounds rounds) with the module, $loaded (reloader: $reload_status): $with"
check reset-loop-completed grep -q ' setup_fail=0$' /tmp/churn-mod.out
check reset-loop-no-eagain grep -q ' eagain=0 ' /tmp/churn-mod.out
check reset-loop-no-open-fail grep -q ' open_fail=0 ' /tmp/churn-mod.out
check reset-loop-no-reset-fail grep -q ' reset_fail=0 ' /tmp/churn-mod.out
tail -n +"$((from + 1))" "$FLOG" >/tmp/loop.jsonl
tail -n +"$((uev_from + 1))" /tmp/uevents.log >/tmp/loop-uevents.log
edu_rel=$(jq -s --arg d "$VR_EDU" '[.[] | select(.device == $d and .event == "released")] | length' /tmp/loop.jsonl)
edu_skip=$(jq -s --arg d "$VR_EDU" '[.[] | select(.device == $d and .event == "released" and .reset == "skipped")] | length' /tmp/loop.jsonl)
grep "/$VR_EDU VFIO_RELEASE_STATE=released" /tmp/loop-uevents.log >/tmp/loop-edu-uevents.log
uev_rel=$(wc -l </tmp/loop-edu-uevents.log)
uev_skip=$(grep -c 'VFIO_RELEASE_RESET=skipped' /tmp/loop-edu-uevents.log)
vr_info "during the loop: releases of $VR_EDU seen by the monitor $edu_rel (reset=skipped: $edu_skip), released uevents $uev_rel (reset=skipped: $uev_skip)"
# The module must have watched the loop, or "no skipped reset" means nothing.
check reset-loop-watched test $((edu_rel + uev_rel)) -gt 0
check reset-loop-no-skipped-reset test "$edu_skip" = 0 -a "$uev_skip" = 0
check reloads-happened test "${loaded#reloads=}" -gt 0
# The one monitor followed every reload: it was never restarted, and it
# told each unload and load, in order.
rmmods=$(wc -l </tmp/rmmod-ms.txt)
notices_seen() {
	tail -n +"$((from + 1))" "$FLOG" |
		jq -r 'select(.notice == "module-unloaded" or .notice == "module-loaded") | .notice' >/tmp/loop-notices.txt
	[ "$(grep -c unloaded /tmp/loop-notices.txt)" -ge "$rmmods" ]
}
vr_wait 20 notices_seen
check monitor-not-restarted expect_eq "$(mon_follow_starts)" 1
check monitor-saw-each-unload expect_eq "$(grep -c unloaded /tmp/loop-notices.txt)" "$rmmods"
check monitor-saw-each-load expect_eq "$(grep -c '^module-loaded' /tmp/loop-notices.txt)" "${loaded#reloads=}"
check monitor-notices-alternate bash -c "! uniq -d /tmp/loop-notices.txt | grep -q . && head -n1 /tmp/loop-notices.txt | grep -q unloaded"
check monitor-said-unloaded expect_eq "$(grep -c 'module unloaded' "$MON_FOLLOW_ERR")" "$rmmods"

# --- (iv) rmmod, timed ---
if [ -z "$module_stuck" ]; then
	if grep -q '^vfio_release ' /proc/modules; then
		vr_bounded 30 rmmod vfio_release
		rc=$?
		echo "$VR_BOUNDED_MS" >>/tmp/rmmod-ms.txt
		[ "$rc" = 124 ] && module_stuck=1
		check module-unloads expect_eq "$rc" 0
	fi
fi
rmmod_max=$(sort -n /tmp/rmmod-ms.txt | tail -n1)
vr_info "rmmod: $(wc -l </tmp/rmmod-ms.txt) unloads, max ${rmmod_max:-?} ms, all: $(tr '\n' ' ' </tmp/rmmod-ms.txt)${module_stuck:+ (one never returned)}"
check rmmod-under-5s test "${rmmod_max:-99999}" -lt 5000
mon_follow_stop
kill "$uev_pid" 2>/dev/null
vr_info "figures: devices=$ndev resyncs_after_load=$resyncs_10s load_ms=$load_ms rmmod_max_ms=${rmmod_max:-?} burst_ms=$burst_ms $burst"
vr_done
