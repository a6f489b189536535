#!/bin/bash
# A vfio-pci variant driver: tests/drivers/vfio_pci_slow, built on
# vfio_pci_core's exported API, whose close_device sleeps close_delay_ms
# (module parameter, or the device's own attribute) before the core's close,
# and with skip_reset holds the device lock so that the core skips its reset.
# The module must find a device bound to it before it loaded, follow its
# open/close, and see it leave when it is unbound or the driver unloaded.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU
group=$(vr_group_of "$dev")
attr=/sys/bus/pci/devices/$dev

# cycle: open and close DEV through the group API, with the monitor on.
# Sets EVENTS, RESET, CLOSE_NS, DELAY_NS (close() of the device fd to the
# released event), CALL_NS (how long that close() took), HOLD_RC.
cycle() {
	mon_start
	HOLD_RC=0
	"$HOLD" -d "$dev" mark=closing close-device mark=closed close-group \
		>/tmp/hold.log 2>&1 || HOLD_RC=$?
	mon_wait_for "$dev" free
	mon_stop
	local closing rel
	closing=$(mark_ts /tmp/hold.log closing)
	rel=$(mon_field "$dev" released timestamp_ns)
	EVENTS=$(mon_events "$dev")
	RESET=$(mon_field "$dev" released reset)
	CLOSE_NS=$(mon_field "$dev" released close_ns)
	DELAY_NS=$((${rel:-0} - ${closing:-0}))
	CALL_NS=$(($(mark_ts /tmp/hold.log closed) - ${closing:-0}))
}
ms() { echo $(($1 / 1000000)); }

# --- bound to the variant before the module loads ---
check slow-driver-loads vr_slow_load
check param-default-0 expect_eq "$(cat "$VR_SLOW_PARAMS/close_delay_ms")" 0
check no-auto-bind expect_eq "$(vr_driver_of "$VR_PAIR_A")" ""
check bind-edu-slow vr_bind_slow "$dev"
check dev-vfio-group-appears test -c "/dev/vfio/$group"
check attr-default-unset expect_eq "$(cat "$attr/close_delay_ms")/$(cat "$attr/skip_reset")" -1/-1
check attr-rejects-below-minus-1 bash -c "! echo -2 >'$attr/close_delay_ms'"
check attr-rejects-junk bash -c "! echo soon >'$attr/close_delay_ms'"
check module-loads vr_load
check status-shows-variant expect_eq "$(status_field "$dev" driver)" vfio_pci_slow
check status-free-at-load expect_eq "$(status_field "$dev" state)" free

# --- open and close through the variant ---
cycle
check hold-opens-variant expect_eq "$HOLD_RC/$(grep -c "^opened $dev" /tmp/hold.log)" 0/1
check events expect_eq "$EVENTS" "group-claimed claimed opened released group-released free"
check released-driver expect_eq "$(mon_field "$dev" released driver)" vfio_pci_slow
check reset-function expect_eq "$RESET" function
check close-ns-positive test "${CLOSE_NS:-0}" -gt 0
base_ns=$DELAY_NS
vr_info "no delay: release $(ms "$DELAY_NS") ms after close(), close_ns=$CLOSE_NS reset=$RESET"

# --- close_delay_ms=2000 on the device ---
# The delay shows from close() of the device fd to the released event, and
# in close_ns, which the module times from the start of the file release.
echo 2000 >"$attr/close_delay_ms"
check attr-set-2000 expect_eq "$(cat "$attr/close_delay_ms")" 2000
cycle
check slow-events expect_eq "$EVENTS" "group-claimed claimed opened released group-released free"
check slow-release-after-delay test "$DELAY_NS" -ge 2000000000 -a "$DELAY_NS" -lt 4000000000
check slow-close-call-waits test "$CALL_NS" -ge 2000000000
check slow-close-ns-within-delay test "${CLOSE_NS:-0}" -gt 0 -a "${CLOSE_NS:-0}" -le "$DELAY_NS"
check slow-close-ns-has-delay test "${CLOSE_NS:-0}" -ge 2000000000
check slow-reset-function expect_eq "$RESET" function
vr_info "close_delay_ms=2000 (device): release $(ms "$DELAY_NS") ms after close(), close() took $(ms "$CALL_NS") ms, close_ns=$CLOSE_NS"

# --- the module parameter, once the device's value is unset again ---
echo -1 >"$attr/close_delay_ms"
echo 1000 >"$VR_SLOW_PARAMS/close_delay_ms"
cycle
check param-release-after-delay test "$DELAY_NS" -ge 1000000000 -a "$DELAY_NS" -lt 3000000000
check param-close-ns-has-delay test "${CLOSE_NS:-0}" -ge 1000000000
vr_info "close_delay_ms=1000 (parameter): release $(ms "$DELAY_NS") ms after close(), close_ns=$CLOSE_NS"
echo 0 >"$VR_SLOW_PARAMS/close_delay_ms"
cycle
check param-0-fast test "$DELAY_NS" -lt 1000000000 -a "$DELAY_NS" -lt $((base_ns + 500000000))
check param-0-events expect_eq "$EVENTS" "group-claimed claimed opened released group-released free"
vr_info "close_delay_ms=0 (parameter): release $(ms "$DELAY_NS") ms after close(), close_ns=$CLOSE_NS"

# --- skip_reset: the core's reset finds the device locked ---
echo 1 >"$attr/skip_reset"
cycle
check skip-reset-events expect_eq "$EVENTS" "group-claimed claimed opened released group-released free"
check skip-reset-skipped expect_eq "$RESET" skipped
echo -1 >"$attr/skip_reset"
cycle
check skip-reset-off-function expect_eq "$RESET" function

# --- the variant cannot unload while its device is open ---
"$HOLD" -d "$dev" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
check held-open vr_wait 10 grep -q paused /tmp/hold.log
check status-open expect_eq "$(status_field "$dev" state)" open
check rmmod-refused-while-open bash -c "! rmmod vfio_pci_slow"
kill -TERM "$hold_pid"
wait "$hold_pid" 2>/dev/null
check free-after-holder-gone vr_wait 10 state_is "$dev" free

# --- unbound from the variant, and vfio-pci takes the device ---
check unbind-slow vr_unbind "$dev"
check attr-gone-when-unbound test ! -e "$attr/close_delay_ms"
check gone-from-status bash -c "! '$VR_CLI' status $dev"
check rebind-vfio-pci vr_bind_vfio "$dev"
check status-shows-vfio-pci expect_eq "$(status_field "$dev" driver)" vfio-pci
cycle
check vfio-pci-events expect_eq "$EVENTS" "group-claimed claimed opened released group-released free"
check vfio-pci-released-driver expect_eq "$(mon_field "$dev" released driver)" vfio-pci

# --- back to the variant, then the variant unloaded while bound ---
check rebind-slow vr_bind_slow "$dev"
check status-shows-variant-again expect_eq "$(status_field "$dev" driver)" vfio_pci_slow
check slow-unloads-while-bound vr_slow_unload
check unbound-after-unload expect_eq "$(vr_driver_of "$dev")" ""
check gone-after-unload bash -c "! '$VR_CLI' status $dev"
check group-gone-after-unload vr_wait 10 test ! -e "/dev/vfio/$group"
check slow-reloads vr_slow_load
check bind-after-reload vr_bind_slow "$dev"
check status-after-reload expect_eq "$(status_field "$dev" state)/$(status_field "$dev" driver)" free/vfio_pci_slow
cycle
check events-after-reload expect_eq "$EVENTS" "group-claimed claimed opened released group-released free"
check slow-unloads-again vr_slow_unload
check module-unloads vr_unload
check no-kernel-warning bash -c "! dmesg | grep -E 'WARNING:|BUG:|Oops|general protection'"
vr_done
