#!/bin/bash
# vr-kernels: vrdebug
# The iommufd path: devices opened through their VFIO cdev
# (/dev/vfio/devices/vfioN) and bound to /dev/iommu give the same events as
# the group path (opened, released with the reset outcome, free), and a
# device is free only when its whole IOMMU group is: two functions of one
# group (VR_PAIR_A, VR_PAIR_B) through the cdev, the cdev beside the legacy
# group (which the kernel refuses, either way round), a second iommufd
# (refused too), the module loaded while the cdev holds the group, a cdev
# file never bound (it holds the device: released, not free). The
# group path with an iommufd as container, and the legacy group path
# (type1 container), on the same kernel. Only kernels built with IOMMUFD and
# VFIO_DEVICE_CDEV have the path: the debug kernel.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

CDEV=$VR_HELPERS/vfio-cdev
dev=$VR_EDU a=$VR_PAIR_A b=$VR_PAIR_B

# holding LOG N: vfio-cdev reached its Nth hold.
holding() { [ "$(grep -c '^holding$' "$1")" -ge "$2" ]; }
# cdev_hold LOG N: vfio-cdev (CDEV_PID) reached its Nth hold; fails at
# once when it exited instead, saying why, or after 60 s.
CDEV_PID=
cdev_hold() {
	local deadline=$((SECONDS + 60))
	until holding "$1" "$2"; do
		vr__running "$CDEV_PID" || { echo "vfio-cdev exited: $(tail -n 2 "$1")"; return 1; }
		[ "$SECONDS" -lt "$deadline" ] || { echo "vfio-cdev not at hold $2 after 60 s"; return 1; }
		vr_nap 0.05
	done
}
# cdev_start LOG ARGS...: vfio-cdev ARGS in the background, until it holds.
cdev_start() {
	local log=$1
	shift
	"$CDEV" "$@" >"$log" 2>&1 &
	CDEV_PID=$!
	cdev_hold "$log" 1
}
# cdev_next LOG N: let vfio-cdev go on from its hold; wait for hold N (or
# for its exit, status 0, when N is "exit").
cdev_next() {
	kill -USR1 "$CDEV_PID" || return 1
	if [ "$2" = exit ]; then
		vr_exit_within 60 "$CDEV_PID" || { echo "vfio-cdev: status $?: $(tail -n 2 "$1")"; return 1; }
	else
		cdev_hold "$1" "$2"
	fi
}
# has_cdev ADDR: ADDR's vfio device has its cdev (the vfio-dev class
# device exists without CONFIG_VFIO_DEVICE_CDEV too; its node does not).
has_cdev() {
	local d
	d=$(compgen -G "/sys/bus/pci/devices/$1/vfio-dev/vfio*") || { echo "no vfio-dev under $1"; return 1; }
	test -c "/dev/vfio/devices/${d##*/}" || { echo "no /dev/vfio/devices/${d##*/}"; return 1; }
}
# not_free_within SECONDS DEVICE: `vfio-release wait --state free` times
# out (exit 1): the device is not free and does not become free meanwhile.
not_free_within() {
	local rc=0
	"$VR_CLI" wait "$2" --state free --timeout "$1" >/tmp/wait.out 2>&1 || rc=$?
	[ "$rc" = 1 ] || { echo "wait exited $rc: $(cat /tmp/wait.out)"; return 1; }
}
ts_ok() { test "$1" -gt 0 2>/dev/null; }

check bind-edu-vfio vr_bind_vfio "$dev"
check pair-share-group expect_eq "$(vr_group_of "$a")" "$(vr_group_of "$b")"
check bind-pair-vfio bash -c ". $(dirname "$0")/../vm/guest-lib.sh; vr_bind_vfio $a && vr_bind_vfio $b"
check dev-iommu-exists test -c /dev/iommu
check edu-has-cdev has_cdev "$dev"
check pair-a-has-cdev has_cdev "$a"
check pair-b-has-cdev has_cdev "$b"
vr_info "edu $dev: $(basename "$(compgen -G "/sys/bus/pci/devices/$dev/vfio-dev/vfio*")"), reset_method $(cat "/sys/bus/pci/devices/$dev/reset_method" 2>/dev/null); pair $a $b group $(vr_group_of "$a")"
check module-loads vr_load
check all-free-at-load expect_eq "$(status_field "$dev" state)/$(status_field "$a" state)/$(status_field "$b" state)" free/free/free

# --- one device alone in its group, through the cdev ---
mon_start
check cdev-holds cdev_start /tmp/cdev.log -d "$dev" hold mark=closing close-device mark=closed \
	sleep-ms=500 mark=iommufd-closing close-iommufd
vr_info "vfio-cdev: $(head -n1 /tmp/cdev.log)"
check cdev-state-open expect_eq "$(status_field "$dev" state)" open
check cdev-opener-named expect_eq "$(status_field "$dev" opener_comm)" vfio-cdev
check cdev-helper-done cdev_next /tmp/cdev.log exit
mon_wait_for "$dev" free
check cdev-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
rel=$(mon_field "$dev" released timestamp_ns)
free=$(mon_field "$dev" free timestamp_ns)
closing=$(mark_ts /tmp/cdev.log closing)
closed=$(mark_ts /tmp/cdev.log closed)
check cdev-released-in-device-close test "$rel" -gt "$closing" -a "$rel" -lt "$closed"
# No group file: ownership is the device's, given back in its own release.
check cdev-free-in-device-close test "$free" -ge "$rel" -a "$free" -lt "$closed"
check cdev-reset-function expect_eq "$(mon_field "$dev" released reset)" function
check cdev-close-ns-positive ts_ok "$(mon_field "$dev" released close_ns)"
check cdev-released-names-closer expect_eq "$(mon_field "$dev" released comm)" vfio-cdev
check cdev-status expect_eq "$(status_field "$dev" state)/$(status_field "$dev" generation)" free/1
vr_info "cdev: reset=$(mon_field "$dev" released reset) close_ns=$(mon_field "$dev" released close_ns) free $(((free - rel) / 1000)) us after released"
mon_stop

# --- the cdev holder killed with SIGKILL ---
mon_start
check cdev-kill-holds cdev_start /tmp/cdev.log -d "$dev" hold
kill -KILL "$CDEV_PID"
wait "$CDEV_PID" 2>/dev/null
mon_wait_for "$dev" free
check cdev-sigkill-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
check cdev-sigkill-reset expect_eq "$(mon_field "$dev" released reset)" function
mon_stop

# --- the legacy group path, on the same kernel ---
mon_start
"$HOLD" -d "$dev" mark=device-closing close-device mark=device-closed sleep-ms=500 \
	mark=group-closing close-group >/tmp/hold.log 2>&1
mon_wait_for "$dev" free
check group-path-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
check group-path-free-after-group-close test "$(mon_field "$dev" free timestamp_ns)" -gt "$(mark_ts /tmp/hold.log group-closing)"
check group-path-reset expect_eq "$(mon_field "$dev" released reset)" function
mon_stop

# --- the group path with an iommufd as the group's container ---
# Ownership is claimed per device there too (at VFIO_GROUP_GET_DEVICE_FD)
# and given back at the device's last close, not at the group's.
mon_start
rc=0
"$CDEV" -G -d "$dev" mark=device-closing close-device mark=device-closed sleep-ms=500 \
	mark=group-closing close-group close-iommufd >/tmp/cdev.log 2>&1 || rc=$?
check group-iommufd-helper expect_eq "$rc/$(tail -n1 /tmp/cdev.log)" 0/exit
mon_wait_for "$dev" free
check group-iommufd-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
rel=$(mon_field "$dev" released timestamp_ns)
free=$(mon_field "$dev" free timestamp_ns)
check group-iommufd-released-in-close test "$rel" -gt "$(mark_ts /tmp/cdev.log device-closing)" -a "$rel" -lt "$(mark_ts /tmp/cdev.log device-closed)"
check group-iommufd-free-in-device-close test "$free" -ge "$rel" -a "$free" -lt "$(mark_ts /tmp/cdev.log device-closed)"
check group-iommufd-reset expect_eq "$(mon_field "$dev" released reset)" function
mon_stop

# --- two functions of one group, both through the cdev on one iommufd ---
mon_start
check pair-cdev-holds cdev_start /tmp/cdev.log -d "$a" -d "$b" hold mark=a-closing \
	close-device="$a" mark=a-closed hold mark=b-closing close-device="$b" mark=b-closed
check pair-cdev-both-open expect_eq "$(status_field "$a" state)/$(status_field "$b" state)" open/open
check pair-cdev-a-closed cdev_next /tmp/cdev.log 2
# B still holds the group: A is released, not free, and stays so.
check pair-cdev-a-released-only expect_eq "$(status_field "$a" state)/$(status_field "$b" state)" released/open
check pair-cdev-a-not-free-while-b-held not_free_within 3 "$a"
check pair-cdev-a-events-so-far expect_eq "$(mon_events "$a")" "group-claimed claimed opened released"
check pair-cdev-a-bus-pending expect_eq "$(mon_field "$a" released reset)" bus-pending
check pair-cdev-helper-done cdev_next /tmp/cdev.log exit
mon_wait_for "$a" free
mon_wait_for "$b" free
check pair-cdev-a-events expect_eq "$(mon_events "$a")" "group-claimed claimed opened released reset group-released free"
check pair-cdev-b-events expect_eq "$(mon_events "$b")" "group-claimed claimed opened released group-released free"
check pair-cdev-b-reset-bus expect_eq "$(mon_field "$b" released reset)" bus
check pair-cdev-a-reset-event-bus expect_eq "$(mon_field "$a" reset reset)" bus
check pair-cdev-a-free-after-b-close test "$(mon_field "$a" free timestamp_ns)" -gt "$(mark_ts /tmp/cdev.log b-closing)"
check pair-cdev-status expect_eq "$(status_field "$a" state)/$(status_field "$b" state)" free/free
mon_stop

# --- a second iommufd for the other function: refused, nothing changes ---
mon_start
check pair-2fd-a-holds cdev_start /tmp/cdev.log -d "$a" hold
rc=0
"$CDEV" -d "$b" >/tmp/cdev-b.log 2>&1 || rc=$?
check pair-2fd-b-refused expect_eq "$rc/$(grep -c "VFIO_DEVICE_BIND_IOMMUFD $b: EPERM" /tmp/cdev-b.log)" 2/1
vr_info "second iommufd: $(tr '\n' ' ' </tmp/cdev-b.log)"
check pair-2fd-b-not-opened expect_eq "$(status_field "$b" state)/$(mon_events "$b")" "released/group-claimed claimed"
check pair-2fd-a-still-open expect_eq "$(status_field "$a" state)" open
check pair-2fd-a-done cdev_next /tmp/cdev.log exit
mon_wait_for "$b" free
check pair-2fd-a-events expect_eq "$(mon_events "$a")" "group-claimed claimed opened released group-released free"
check pair-2fd-b-events expect_eq "$(mon_events "$b")" "group-claimed claimed group-released free"
mon_stop

# --- cdev first, then the legacy group of the other function: refused ---
mon_start
check mixed-cdev-a-holds cdev_start /tmp/cdev.log -d "$a" hold
rc=0
"$HOLD" -d "$b" close-device close-group >/tmp/hold.log 2>&1 || rc=$?
check mixed-group-refused expect_eq "$rc/$(grep -c 'open /dev/vfio/<group>: Device or resource busy' /tmp/hold.log)" 2/1
check mixed-b-not-opened expect_eq "$(status_field "$b" state)/$(mon_events "$b")" "released/group-claimed claimed"
check mixed-a-not-free-while-held not_free_within 2 "$a"
check mixed-cdev-a-done cdev_next /tmp/cdev.log exit
mon_wait_for "$a" free
mon_wait_for "$b" free
check mixed-a-events expect_eq "$(mon_events "$a")" "group-claimed claimed opened released group-released free"
check mixed-a-alone-reset-bus expect_eq "$(mon_field "$a" released reset)" bus
check mixed-b-events expect_eq "$(mon_events "$b")" "group-claimed claimed group-released free"
mon_stop

# --- the legacy group first, then the cdev of the other function: refused ---
mon_start
"$HOLD" -d "$b" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
vr_wait 60 grep -q paused /tmp/hold.log
check mixed2-group-b-open expect_eq "$(status_field "$b" state)" open
rc=0
"$CDEV" -d "$a" >/tmp/cdev-a.log 2>&1 || rc=$?
check mixed2-cdev-refused expect_eq "$rc/$(grep -c "VFIO_DEVICE_BIND_IOMMUFD $a: EBUSY" /tmp/cdev-a.log)" 2/1
vr_info "cdev beside the group: $(tr '\n' ' ' </tmp/cdev-a.log)"
check mixed2-a-not-opened expect_eq "$(status_field "$a" state)/$(mon_events "$a")" "released/group-claimed claimed"
kill -KILL "$hold_pid"
wait "$hold_pid" 2>/dev/null
mon_wait_for "$b" free
mon_wait_for "$a" free
check mixed2-b-events expect_eq "$(mon_events "$b")" "group-claimed claimed opened released group-released free"
check mixed2-a-events expect_eq "$(mon_events "$a")" "group-claimed claimed group-released free"
check monitor-json-valid mon_log_sane
mon_stop

# --- a file never bound holds the device too ---
# vfio-pci's unbind waits for every file of the device, bound or not: the
# device stays released after its last close while such a file is open,
# and is free soon after that file is closed.
node=/dev/vfio/devices/$(basename "$(compgen -G "/sys/bus/pci/devices/$dev/vfio-dev/vfio*")")
mon_start
exec {unbound}<>"$node"
rc=0
"$CDEV" -d "$dev" close-device >/tmp/cdev.log 2>&1 || rc=$?
check unbound-helper expect_eq "$rc/$(tail -n1 /tmp/cdev.log)" 0/exit
mon_wait_for "$dev" group-released
check unbound-holds-released not_free_within 3 "$dev"
check unbound-events-so-far expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released"
exec {unbound}>&-
check unbound-free-after-its-close vr_wait 10 state_is "$dev" free
check unbound-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
mon_stop

# Every close of the edu device so far, counted since the module loaded.
check status-counters-edu expect_eq "$(status_field "$dev" open_count)/$(status_field "$dev" release_count)/$(status_field "$dev" free_count)" 5/5/5

# --- loaded while both functions are held through the cdev ---
check module-unloads-1 vr_unload
check pair-held-before-load cdev_start /tmp/cdev.log -d "$a" -d "$b" hold \
	close-device="$a" mark=a-closed hold close-device="$b"
check module-loads-held vr_load
check loaded-held-both-open expect_eq "$(status_field "$a" state)/$(status_field "$b" state)" open/open
mon_start
check loaded-held-a-closed cdev_next /tmp/cdev.log 2
# The count of the group's claims was read, not seen: B's still counts.
check loaded-held-a-released-only expect_eq "$(status_field "$a" state)/$(status_field "$b" state)" released/open
check loaded-held-a-not-free not_free_within 3 "$a"
check loaded-held-done cdev_next /tmp/cdev.log exit
check loaded-held-a-free vr_wait 30 state_is "$a" free
check loaded-held-b-free vr_wait 30 state_is "$b" free
vr_info "loaded while held: A $(mon_events "$a") | B $(mon_events "$b")"
mon_stop

# --- loaded while a file never bound holds a device ---
check module-unloads-2 vr_unload
exec {unbound}<>"$node"
check module-loads-unbound vr_load
check loaded-unbound-released vr_wait 10 state_is "$dev" released
check loaded-unbound-stays not_free_within 3 "$dev"
exec {unbound}>&-
check loaded-unbound-free-after-its-close vr_wait 10 state_is "$dev" free
check module-unloads vr_unload
vr_done
