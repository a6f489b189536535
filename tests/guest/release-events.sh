#!/bin/bash
# Open and close through the real VFIO API; keep-alive past close();
# SIGKILL of the holder. One device alone in its IOMMU group (edu).
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU
check bind-edu-vfio vr_bind_vfio "$dev"
check module-loads vr_load
check edu-free-at-load expect_eq "$(status_field "$dev" state)" free

# --- open, close device, close group: one released, then free ---
mon_start
"$VR_HELPERS/uevent-listen" -n 3 -t 30 >/tmp/uevent.log &
ue_pid=$!
vr_wait 10 grep -q ready /tmp/uevent.log
"$HOLD" -d "$dev" mark=device-closing close-device mark=device-closed sleep-ms=500 \
	mark=group-closing close-group >/tmp/hold.log 2>&1
mon_wait_for "$dev" free
wait "$ue_pid"
ue_rc=$?
check open-close-event-order expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
rel=$(mon_field "$dev" released timestamp_ns)
check released-in-device-close test "$rel" -gt "$(mark_ts /tmp/hold.log device-closing)" -a "$rel" -lt "$(mark_ts /tmp/hold.log device-closed)"
check released-before-group-close test "$rel" -lt "$(mark_ts /tmp/hold.log group-closing)"
check free-after-group-close test "$(mon_field "$dev" free timestamp_ns)" -gt "$(mark_ts /tmp/hold.log group-closing)"
reset=$(mon_field "$dev" released reset)
close_ns=$(mon_field "$dev" released close_ns)
check released-has-reset-outcome expect_eq "$reset" function
check released-close-ns-positive test "$close_ns" -gt 0
check released-names-closer expect_eq "$(mon_field "$dev" released comm)" vfio-hold
check released-generation-1 expect_eq "$(mon_field "$dev" released generation)" 1
# pci_vendor and pci_device are numbers in the JSON (0x1234, 0x11e8).
check released-has-pci-id expect_eq "$(mon_field "$dev" released pci_vendor):$(mon_field "$dev" released pci_device)" 4660:4584
check released-driver-vfio-pci expect_eq "$(mon_field "$dev" released driver)" vfio-pci
vr_info "edu open/close: reset=$reset close_ns=$close_ns events: $(mon_events "$dev")"
check uevent-listener-got-three test "$ue_rc" -eq 0
check uevent-claimed grep -q "^uevent change .*/${dev} .*VFIO_RELEASE_STATE=released .*VFIO_RELEASE_GENERATION=0 .*VFIO_RELEASE_EVENT=claimed" /tmp/uevent.log
check uevent-released grep -q "^uevent change .*/${dev} .*VFIO_RELEASE_STATE=released VFIO_RELEASE_GROUP=$(vr_group_of "$dev") VFIO_RELEASE_RESET=function VFIO_RELEASE_CLOSE_NS=$close_ns" /tmp/uevent.log
check uevent-free grep -q "^uevent change .*/${dev} .*VFIO_RELEASE_STATE=free .*VFIO_RELEASE_GENERATION=1" /tmp/uevent.log
vr_info "uevents: $(grep -c ^uevent /tmp/uevent.log) $(tr '\n' '|' </tmp/uevent.log)"
check status-free-gen-1 expect_eq "$(status_field "$dev" state)/$(status_field "$dev" generation)" free/1
mon_stop

# --- keep-alive cases: no release until the last reference goes ---
keepalive() {
	local name=$1 hold_ms=$2
	shift 2
	mon_start
	"$HOLD" -d "$dev" "$@" close-device close-group close-container mark=parent-closed \
		wait-children mark=children-gone >/tmp/hold.log 2>&1
	mon_wait_for "$dev" free
	local rel closed gone
	rel=$(mon_field "$dev" released timestamp_ns)
	closed=$(mark_ts /tmp/hold.log parent-closed)
	gone=$(mark_ts /tmp/hold.log children-gone)
	check "$name-one-release" expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
	# The release waits for the holder: at least most of its hold time.
	check "$name-release-waits-for-holder" test $((rel - closed)) -gt $((hold_ms * 800000))
	check "$name-release-before-holder-gone" test "$rel" -le "$gone"
	vr_info "$name: release $(((rel - closed) / 1000000)) ms after the parent closed everything"
	mon_stop
}
keepalive fork 1500 fork-hold-ms=1500
keepalive sendfd 1500 sendfd-hold-ms=1500

# mmap of a BAR keeps the device file alive after every fd is closed.
mon_start
"$HOLD" -d "$dev" mmap-bar=0 close-device close-group close-container mark=closed \
	sleep-ms=1000 mark=unmapping munmap sleep-ms=200 >/tmp/hold.log 2>&1
mon_wait_for "$dev" free
check mmap-one-release expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
check mmap-release-after-munmap test "$(mon_field "$dev" released timestamp_ns)" -gt "$(mark_ts /tmp/hold.log unmapping)"
mon_stop

# --- the holder killed with SIGKILL ---
mon_start
"$HOLD" -d "$dev" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 10 grep -q paused /tmp/hold.log
check state-open-while-held expect_eq "$(status_field "$dev" state)" open
kill -KILL "$hold_pid"
wait "$hold_pid" 2>/dev/null
mon_wait_for "$dev" free
check sigkill-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
check sigkill-reset expect_eq "$(mon_field "$dev" released reset)" function
check monitor-json-valid mon_log_sane
mon_stop

check status-counters expect_eq "$(status_field "$dev" open_count)/$(status_field "$dev" release_count)/$(status_field "$dev" free_count)" 5/5/5
check malformed-requests "$VR_HELPERS/genl-malformed" "$dev"
check module-unloads vr_unload
vr_done
