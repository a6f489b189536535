#!/bin/bash
# vr-timeout: 300
#
# Devices leaving the module's watch: vfio-pci unbound from a closed
# device, and from one whose group a process holds; a device hot-removed
# through the outer QEMU (device_del over the hot-plug channel, see
# run-vm.sh), closed and while open; each time exactly one device-removed
# notification, nothing more about the old registration, no stale or
# duplicate record in the dump, and the device bound (or added) again
# shows up as a fresh record. No uevent may carry a DEVPATH cut short
# (one built after the device left sysfs): every one starts /devices/pci.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

UEVENTS=$VR_HELPERS/uevent-listen
edu=$VR_EDU hp=$VR_HOTPLUG
HP_ADD="edu,id=hp0,bus=rphp"

check bind-edu-vfio vr_bind_vfio "$edu"
check bind-hotplug-vfio vr_bind_vfio "$hp"
check module-loads vr_load
"$UEVENTS" -t 3600 >/tmp/uevents.log 2>/tmp/uevents.err &
uev_pid=$!
vr_wait 20 grep -q ready /tmp/uevents.log
mon_start

# Events since line FROM of the monitor log, as a file.
since() { tail -n +"$(($1 + 1))" "$MON_LOG"; }
mon_lines() { wc -l <"$MON_LOG"; }
# removed_count FROM DEVICE: device-removed events about DEVICE since FROM.
removed_count() {
	since "$1" | jq -s --arg d "$2" "[.[] | select(.device == \$d and $JQ_REMOVED)] | length"
}
removed_seen() { [ "$(removed_count "$1" "$2")" -ge 1 ]; }
# Device events about DEVICE after its device-removed (none may follow).
after_removed() {
	since "$1" | jq -s -r --arg d "$2" "
		[.[] | select(.device == \$d)] as \$e |
		([\$e | to_entries[] | select(.value | $JQ_REMOVED) | .key] | first) as \$i |
		if \$i == null then \"no-removed\" else [\$e[\$i + 1:][] | .event] | join(\" \") end"
}
# fresh DEVICE: one record for DEVICE in the dump, free, with no open,
# release or free counted: a new registration, not the old one kept.
fresh() {
	status_dump /tmp/fresh.json || return 1
	jq -e --arg d "$1" '
		[.[] | select(.device == $d)] |
		length == 1 and .[0].state == "free" and .[0].open_count == 0 and
		.[0].release_count == 0 and .[0].free_count == 0' /tmp/fresh.json >/dev/null ||
		{ jq -c --arg d "$1" '.[] | select(.device == $d)' /tmp/fresh.json; return 1; }
}
# Neither a GET (the CLI may refuse that from sysfs alone) nor the dump.
gone_from_status() {
	! "$VR_CLI" status "$1" >/dev/null 2>&1 || return 1
	status_dump /tmp/gone.json || return 1
	! jq -e --arg d "$1" 'any(.[]; .device == $d)' /tmp/gone.json >/dev/null
}
no_duplicates() {
	status_dump /tmp/dups.json || return 1
	[ "$(jq -r '.[].device' /tmp/dups.json | sort | uniq -d | wc -l)" = 0 ] ||
		{ jq -r '.[].device' /tmp/dups.json | sort | uniq -d; return 1; }
}
# One open/close cycle, so that a record kept across a removal shows.
cycle() {
	local n
	n=$(jq -r --arg d "$1" 'select(.device == $d and .event == "free") | .seq' "$MON_LOG" | wc -l)
	"$HOLD" -d "$1" close-device close-group >/tmp/hold-cycle.log 2>&1 &&
		mon_wait_for "$1" free $((n + 1))
}
# exactly_one NAME FROM DEVICE: the device-removed check of one case.
exactly_one() {
	vr_wait 10 removed_seen "$2" "$3"
	vr_nap 0.5
	check "$1-one-removed-event" expect_eq "$(removed_count "$2" "$3")" 1
	after_check "$1-nothing-after-removed" "$2" "$3"
}
# after_check NAME FROM DEVICE: no device event after the device-removed
# one (skipped when there was none: the check above failed already).
after_check() {
	local after
	after=$(after_removed "$2" "$3")
	if [ "$after" = no-removed ]; then
		vr_result SKIP "$1" "no device-removed event to look after"
	else
		check "$1" expect_eq "$after" ""
	fi
}

# --- vfio-pci unbound from a closed device ---
check closed-cycle cycle "$edu"
from=$(mon_lines)
check unbind-closed vr_unbind "$edu"
exactly_one unbind-closed "$from" "$edu"
check unbind-closed-gone-from-status gone_from_status "$edu"
check unbind-closed-rebind vr_bind_vfio "$edu"
check unbind-closed-fresh-record vr_wait 10 fresh "$edu"

# --- vfio-pci unbound while a process holds the device's group ---
check held-cycle cycle "$edu"
"$HOLD" -d "$edu" close-device pause >/tmp/hold.log 2>&1 &
holder=$!
vr_wait 10 grep -q paused /tmp/hold.log
from=$(mon_lines)
vr_bounded 30 vr_unbind "$edu"
check unbind-held-returns expect_eq "$?" 0
exactly_one unbind-held "$from" "$edu"
kill -TERM "$holder"
wait "$holder" 2>/dev/null
# The group's release is a group event; about the device, still nothing.
vr_wait 10 jq -e -s --argjson g "$(vr_group_of "$edu")" \
	'any(.[]; .event == "group-released" and .iommu_group == $g)' "$MON_LOG" >/dev/null
vr_nap 0.5
after_check unbind-held-nothing-after-release "$from" "$edu"
check unbind-held-gone-from-status gone_from_status "$edu"
check unbind-held-rebind vr_bind_vfio "$edu"
check unbind-held-fresh-record vr_wait 10 fresh "$edu"

# --- hot-removed through QEMU while closed, then added back ---
check hotplug-cycle cycle "$hp"
from=$(mon_lines)
t0=$SECONDS
check hot-remove-closed vr_hot_unplug hp0 "$hp"
vr_info "hot-remove (closed) took $((SECONDS - t0)) s"
exactly_one hot-remove-closed "$from" "$hp"
check hot-remove-closed-gone-from-status gone_from_status "$hp"
check hot-readd vr_hot_plug "$HP_ADD" "$hp"
check hot-readd-bind vr_bind_vfio "$hp"
check hot-readd-fresh-record vr_wait 10 fresh "$hp"

# --- hot-removed while open: vfio-pci's remove waits for the close ---
"$HOLD" -d "$hp" mark=opened sleep-ms=4000 close-device close-group >/tmp/hold-hp.log 2>&1 &
holder=$!
vr_wait 10 grep -q MARK /tmp/hold-hp.log
from=$(mon_lines)
t0=$SECONDS
check hot-remove-open vr_hot_unplug hp0 "$hp"
wait "$holder"
check hot-remove-open-holder-ok expect_eq "$?" 0
vr_info "hot-remove (open, closed 4 s later) took $((SECONDS - t0)) s"
exactly_one hot-remove-open "$from" "$hp"
# Its last release is reported before it goes.
check hot-remove-open-released-first expect_eq \
	"$(since "$from" | jq -r -s --arg d "$hp" "[.[] | select(.device == \$d and (.event == \"released\" or $JQ_REMOVED)) | if $JQ_REMOVED then \"removed\" else .event end] | join(\" \")")" \
	"released removed"
check hot-readd-2 vr_hot_plug "$HP_ADD" "$hp"
check hot-readd-2-bind vr_bind_vfio "$hp"
check hot-readd-2-fresh-record vr_wait 10 fresh "$hp"

# --- afterwards: one record per device, and the records still work ---
check no-duplicate-records no_duplicates
check readded-follows-cycle cycle "$hp"
check rebound-follows-cycle cycle "$edu"
mon_stop
check monitor-log-sane mon_log_sane

# --- uevents: every DEVPATH whole ---
kill "$uev_pid" 2>/dev/null
wait "$uev_pid" 2>/dev/null
nuev=$(grep -c '^uevent ' /tmp/uevents.log)
bad=$(awk '$1 == "uevent" && $3 !~ /^\/devices\/pci/' /tmp/uevents.log)
vr_info "uevents captured: $nuev; removed-device ones: $(grep -c 'STATE=removed' /tmp/uevents.log)"
check uevents-captured test "$nuev" -gt 0
check uevent-devpaths-whole expect_eq "$bad" ""
check module-unloads vr_unload
vr_done
