#!/bin/bash
# Two devices in one IOMMU group and one reset domain (two functions of one
# slot): each gets the right state and reset outcome.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

a=$VR_PAIR_A b=$VR_PAIR_B
check pair-share-group expect_eq "$(vr_group_of "$a")" "$(vr_group_of "$b")"
check bind-pair-vfio bash -c ". $(dirname "$0")/../vm/guest-lib.sh; vr_bind_vfio $a && vr_bind_vfio $b"
vr_info "reset methods: $a=$(cat /sys/bus/pci/devices/$a/reset_method 2>/dev/null) $b=$(cat /sys/bus/pci/devices/$b/reset_method 2>/dev/null)"
check module-loads vr_load
check pair-free-at-load expect_eq "$(status_field "$a" state)/$(status_field "$b" state)" free/free

mon_start
"$HOLD" -d "$a" -d "$b" close-device="$a" mark=a-closed sleep-ms=300 \
	mark=b-closing close-device="$b" sleep-ms=300 mark=group-closing close-group \
	>/tmp/hold.log 2>&1
mon_wait_for "$b" free
check pair-a-events expect_eq "$(mon_events "$a")" "group-claimed claimed opened released reset group-released free"
check pair-b-events expect_eq "$(mon_events "$b")" "group-claimed claimed opened released group-released free"
ra=$(mon_field "$a" released reset)
rb=$(mon_field "$b" released reset)
vr_info "pair: A released reset=$ra close_ns=$(mon_field "$a" released close_ns); B released reset=$rb close_ns=$(mon_field "$b" released close_ns)"
# A closes while B is open: its reset waits for the domain's last close.
check pair-a-bus-pending expect_eq "$ra" bus-pending
check pair-b-bus-reset expect_eq "$rb" bus
check pair-a-reset-event-is-bus expect_eq "$(mon_field "$a" reset reset)" bus
check pair-a-reset-at-b-close test "$(mon_field "$a" reset seq)" -gt "$(mon_field "$b" released seq)"
# Neither is free while the group is still claimed.
check pair-a-free-after-group test "$(mon_field "$a" free timestamp_ns)" -gt "$(mark_ts /tmp/hold.log group-closing)"
check pair-status expect_eq "$(status_field "$a" state)/$(status_field "$a" reset)/$(status_field "$b" state)/$(status_field "$b" reset)" free/bus/free/bus

# Only A opened and closed, B stays closed: A's own close resets the domain.
mon_stop
mon_start
"$HOLD" -d "$a" close-device close-group >/tmp/hold.log 2>&1
mon_wait_for "$a" free
check pair-a-alone-events expect_eq "$(mon_events "$a")" "group-claimed claimed opened released group-released free"
check pair-a-alone-reset expect_eq "$(mon_field "$a" released reset)" bus
# B is not opened, but A's session claims their group: not free meanwhile.
check pair-b-free-again-after-a expect_eq "$(mon_events "$b")" "group-claimed claimed group-released free"
check pair-b-generation-unchanged expect_eq "$(status_field "$b" generation)" 1
check monitor-json-valid mon_log_sane
mon_stop

# Only B opened: its group is claimed, so A, free before, is not any more.
# Each of A's steps is a uevent too: claimed, then free.
mon_start
"$VR_HELPERS/uevent-listen" -t 60 >/tmp/uevent-a.log &
ue_pid=$!
vr_wait 10 grep -q ready /tmp/uevent-a.log
"$HOLD" -d "$b" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q paused /tmp/hold.log
check sibling-open-a-not-free expect_eq "$(status_field "$a" state)" released
# A's record is its own 'claimed' event, right after the group's claim.
check sibling-open-a-seq-is-claimed-event expect_eq "$(status_field "$a" seq)" "$(mon_field "$a" claimed seq)"
check sibling-open-a-claimed-after-group test "$(mon_field "$a" claimed seq)" -gt \
	"$(jq -r --argjson g "$(vr_group_of "$a")" 'select(.event == "group-claimed" and .iommu_group == $g) | .seq' "$MON_LOG")"
check sibling-open-wait-free-times-out bash -c "'$VR_CLI' wait $a --timeout 1 2>/dev/null; [ \$? = 1 ]"
kill -KILL "$hold_pid"
wait "$hold_pid" 2>/dev/null
mon_wait_for "$b" free
check sibling-closed-a-free-again vr_wait 10 state_is "$a" free
check sibling-a-events expect_eq "$(mon_events "$a")" "group-claimed claimed group-released free"
kill "$ue_pid" 2>/dev/null
wait "$ue_pid" 2>/dev/null
a_uevents=$(grep "^uevent change .*/$a " /tmp/uevent-a.log | grep -o 'VFIO_RELEASE_EVENT=[a-z]*' | cut -d= -f2 | tr '\n' ' ')
check sibling-a-uevents expect_eq "$a_uevents" "claimed free "
mon_stop
check module-unloads vr_unload
vr_done
