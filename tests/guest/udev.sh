#!/bin/bash
# The udev rules (udev/70-vfio-release.rules) under the real systemd-udevd
# of the shared host root: the logging rule fires on released and free with
# the module's keys, a device marked for automatic return goes back to its
# host driver by itself once free (marked by a rule for every event, and by
# a rule for "add" only, carried through udev's database), and an unmarked
# device is left alone.
#
# The rules and the helper run as installed, only their paths rewritten to
# the build tree; logger reaches a busybox syslogd on /dev/log, so a line
# in the syslog file proves that the rule itself ran.
#
# The VM has no systemd as PID 1, so the helper's fallback (setsid) is what
# returns the device here. For the systemd path the test checks what can
# be checked without it: the free event asks for the template unit
# (SYSTEMD_WANTS, the systemd tag), the unit file passes systemd-analyze
# verify, and the unit's command (helper --unit DEVICE) returns a device
# to the driver named in udev's database.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU nic=$VR_NIC
SYSLOG=/tmp/syslog
RULES_D=/run/udev/rules.d
HELPER=/run/udev/vfio-release-auto-reattach
MARK_RULE=$RULES_D/60-vfio-release-mark.rules
UNIT=/run/vfio-release-test/vfio-release-reattach@.service
UDEV_LOG=/tmp/udevd.log
UMON_LOG=/tmp/udev-monitor.log
# udevadm ignores control, settle and trigger requests when it finds itself
# in a chroot, as this guest script is.
export SYSTEMD_IGNORE_CHROOT=1

# Our tag's syslog lines about DEVICE, without syslogd's prefix: the
# rule's "DEVICE STATE: key=value..." and the helper's "DEVICE: ...".
logged() { sed -n "s/.*vfio-release: \($1.*\)/\1/p" "$SYSLOG"; }
# has_state DEVICE STATE [N]: at least N (default 1) STATE lines logged.
has_state() { [ "$(logged "$1" | grep -c "^$1 $2:")" -ge "${3:-1}" ]; }
logged_state() { vr_wait 30 has_state "$@"; }
logged_line() { logged "$1" | grep "^$1 $2:" | tail -n1; }
# field LINE KEY: the value of KEY=... in a logged line.
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }
# The second word of each line: the order of what happened to DEVICE.
story() { logged "$1" | cut -d' ' -f2 | tr '\n' ' '; }
not_logged() { ! logged "$1" | grep -q "$2"; }
logged_times() { expect_eq "$(logged "$1" | grep -c "$2")" "$3"; }

# The module's record of DEVICE, one field (status --json prints an array;
# one object from CLIs before that).
record_field() {
	"$VR_CLI" status --json "$1" | jq -r "if type == \"array\" then .[0] else . end | .$2"
}
udev_prop() {
	udevadm info --query=property "/sys/bus/pci/devices/$1" | sed -n "s/^$2=//p"
}
net_up() { ls "/sys/bus/pci/devices/$1/net/"* >/dev/null 2>&1; }
# free_event_has DEVICE KEY=VALUE: udev's free event for DEVICE had it.
free_event_has() {
	awk -v d="$1" -v kv="$2" '
		/^UDEV / { dp = 0; fr = 0; has = 0 }
		$0 ~ "^DEVPATH=.*/" d "$" { dp = 1 }
		/^VFIO_RELEASE_STATE=free$/ { fr = 1 }
		$0 == kv { has = 1 }
		/^$/ { if (dp && fr && has) found = 1 }
		END { exit !found }' "$UMON_LOG"
}
udevd_exit() {
	udevadm control --exit && wait "$udevd_pid"
}
# Nothing udevd said about our rules files or programs is a complaint.
no_rule_errors() {
	! grep -E "vfio-release|$HELPER" "$UDEV_LOG" | grep -iE 'invalid|error|failed|killed|timed out'
}
mark_rule() { printf '%s\n' "$1" >"$MARK_RULE" && udevadm control --reload; }

# A device's driver and override, stable for a few seconds after its free
# event: nothing touched it.
left_alone() {
	local _
	for _ in 1 2 3 4 5 6; do
		expect_eq "$(vr_driver_of "$1")" vfio-pci || return 1
		expect_eq "$(cat "/sys/bus/pci/devices/$1/driver_override")" vfio-pci || return 1
		sleep 0.5
	done
	udevadm settle --timeout=30
	expect_eq "$(vr_driver_of "$1")" vfio-pci
}

# --- a syslog, the rules and the helper, udevd ---
busybox syslogd -n -O "$SYSLOG" &
syslog_pid=$!
check syslogd-listens vr_wait 10 test -S /dev/log
mkdir -p "$RULES_D"
sed "s|/usr/local/bin/vfio-release|$VR_CLI|" "$VR_TOP/udev/vfio-release-auto-reattach" >"$HELPER"
chmod 755 "$HELPER"
sed "s|/usr/local/lib/udev/vfio-release-auto-reattach|$HELPER|" \
	"$VR_TOP/udev/70-vfio-release.rules" >"$RULES_D/70-vfio-release.rules"
check helper-path-rewritten grep -q "^VFIO_RELEASE=$VR_CLI\$" "$HELPER"
mkdir -p "${UNIT%/*}"
sed "s|/usr/local/lib/udev/vfio-release-auto-reattach|$HELPER|" \
	"$VR_TOP/udev/vfio-release-reattach@.service" >"$UNIT"
check unit-path-rewritten grep -q "^ExecStart=$HELPER --unit %I\$" "$UNIT"
if command -v systemd-analyze >/dev/null; then
	# Without systemd running, verify still parses the unit and checks
	# that ExecStart is executable; any complaint is a failure.
	verify_out=$(systemd-analyze verify --man=no "$UNIT" 2>&1)
	check unit-verifies expect_eq "$?:$verify_out" "0:"
else
	vr_result SKIP unit-verifies "no systemd-analyze in the host root"
fi
check rules-path-rewritten grep -q "RUN+=\"$HELPER " "$RULES_D/70-vfio-release.rules"
# The administrator's mark, exactly as udev/README.md shows it.
printf '%s\n' "SUBSYSTEM==\"pci\", KERNEL==\"$nic\", ENV{VFIO_RELEASE_AUTO_REATTACH}=\"1\", ENV{VFIO_RELEASE_AUTO_REATTACH_DRIVER}=\"e1000e\"" >"$MARK_RULE"

# --debug: udevd then logs each RUN program it ran and how it ended.
/lib/systemd/systemd-udevd --debug >"$UDEV_LOG" 2>&1 &
udevd_pid=$!
check udevd-starts vr_wait 60 udevadm control --ping
vr_info "systemd-udevd $(udevadm --version) pid $udevd_pid"
udevadm monitor --udev --property --subsystem-match=pci >"$UMON_LOG" 2>&1 &
umon_pid=$!
vr_wait 10 grep -q 'UDEV - the event' "$UMON_LOG"

check bind-edu-vfio vr_bind_vfio "$dev"
check module-loads vr_load
udevadm settle --timeout=60

# --- (a) logging: released and free, with the module's own figures ---
"$HOLD" -d "$dev" close-device sleep-ms=500 close-group >/tmp/hold.log 2>&1
check edu-held-and-closed grep -qx exit /tmp/hold.log
check log-released logged_state "$dev" released
check log-free logged_state "$dev" free
rel=$(logged_line "$dev" released) free=$(logged_line "$dev" free)
vr_info "syslog: $rel"
vr_info "syslog: $free"
check log-group expect_eq "$(field "$rel" group)" "$(vr_group_of "$dev")"
check log-free-group expect_eq "$(field "$free" group)" "$(vr_group_of "$dev")"
check log-reset expect_eq "$(field "$rel" reset)" "$(record_field "$dev" reset)"
check log-close-ns expect_eq "$(field "$rel" close_ns)" "$(record_field "$dev" close_ns)"
check log-close-ns-positive test "$(field "$rel" close_ns)" -gt 0
check log-seq-free expect_eq "$(field "$free" seq)" "$(record_field "$dev" seq)"
check log-seq-order test "$(field "$rel" seq)" -lt "$(field "$free" seq)"
check log-generation expect_eq "$(field "$free" generation)" 1
check log-driver expect_eq "$(field "$free" driver)" vfio-pci
check log-released-then-free expect_eq "$(story "$dev")" "claimed: released: free: "
# udev itself saw the keys on the change event (as udevadm monitor prints it).
check udev-event-keys vr_wait 10 grep -q "VFIO_RELEASE_SEQ=$(field "$free" seq)\$" "$UMON_LOG"

# --- (c) unmarked: the edu stays on vfio-pci after its free event ---
check edu-unmarked-in-udev-db expect_eq "$(udev_prop "$dev" VFIO_RELEASE_AUTO_REATTACH)" ""
check edu-left-alone left_alone "$dev"
check edu-no-reattach not_logged "$dev" returning

# --- (b) marked: the e1000e returns to e1000e by itself ---
check bind-nic-vfio vr_bind_vfio "$nic"
udevadm settle --timeout=60
check nic-marked-in-udev-db expect_eq "$(udev_prop "$nic" VFIO_RELEASE_AUTO_REATTACH)" 1
"$HOLD" -d "$nic" pause >/tmp/hold.log 2>&1 &
hold_pid=$!
check nic-held vr_wait 10 grep -q paused /tmp/hold.log
sleep 1
check nic-stays-while-held expect_eq "$(vr_driver_of "$nic")" vfio-pci
kill -KILL "$hold_pid"
wait "$hold_pid" 2>/dev/null
t0=$SECONDS
check nic-free-logged logged_state "$nic" free
check nic-back-on-e1000e vr_wait 30 vr__bound_to "$nic" e1000e
check nic-interface-appears vr_wait 15 net_up "$nic"
vr_info "e1000e back $((SECONDS - t0)) s after the holder was killed"
check nic-override-cleared expect_eq "$(cat "/sys/bus/pci/devices/$nic/driver_override")" "(null)"
check nic-reattach-logged vr_wait 10 logged_times "$nic" "reattached to e1000e" 1
check nic-reattach-after-free expect_eq "$(story "$nic")" "claimed: released: free: free, reattached "
vr_info "syslog: $(logged "$nic" | grep -E 'returning|reattached' | tr '\n' '|')"
check nic-free-event-carried-mark free_event_has "$nic" VFIO_RELEASE_AUTO_REATTACH=1
check nic-free-event-wants-unit free_event_has "$nic" "SYSTEMD_WANTS=vfio-release-reattach@$nic.service"
check nic-free-event-systemd-tag free_event_has "$nic" "CURRENT_TAGS=:systemd:"
check edu-never-wants-unit bash -c "! grep -q 'SYSTEMD_WANTS=vfio-release-reattach@$dev' '$UMON_LOG'"
udevadm settle --timeout=60
check nic-still-marked-on-e1000e expect_eq "$(udev_prop "$nic" VFIO_RELEASE_AUTO_REATTACH)" 1

# --- unmarking: rule deleted, next add event starts from the rules ---
rm -f "$MARK_RULE"
udevadm control --reload
check nic-add-event udevadm trigger --action=add --settle "/sys/bus/pci/devices/$nic"
check nic-unmarked-after-add expect_eq "$(udev_prop "$nic" VFIO_RELEASE_AUTO_REATTACH)" ""

# --- a mark set only at "add" lasts, through udev's database, to free ---
mark_rule "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"$nic\", ENV{VFIO_RELEASE_AUTO_REATTACH}=\"1\""
check nic-add-event-marks udevadm trigger --action=add --settle "/sys/bus/pci/devices/$nic"
check nic-marked-at-add expect_eq "$(udev_prop "$nic" VFIO_RELEASE_AUTO_REATTACH)" 1
check bind-nic-vfio-again vr_bind_vfio "$nic"
udevadm settle --timeout=60
check nic-mark-carried-past-bind expect_eq "$(udev_prop "$nic" VFIO_RELEASE_AUTO_REATTACH)" 1
"$HOLD" -d "$nic" close-device close-group >/tmp/hold.log 2>&1
check nic-free-logged-again logged_state "$nic" free 2
check nic-back-on-e1000e-again vr_wait 30 vr__bound_to "$nic" e1000e
check nic-interface-appears-again vr_wait 15 net_up "$nic"
check nic-reattach-logged-again vr_wait 10 logged_times "$nic" "reattached to e1000e" 2

# --- the unit's command: the driver comes from udev's database ---
# Named but not marked: the free event leaves it alone, the unit's command
# (what vfio-release-reattach@DEVICE.service runs) returns it.
mark_rule "SUBSYSTEM==\"pci\", KERNEL==\"$nic\", ENV{VFIO_RELEASE_AUTO_REATTACH}=\"0\", ENV{VFIO_RELEASE_AUTO_REATTACH_DRIVER}=\"e1000e\""
check bind-nic-vfio-unit vr_bind_vfio "$nic"
udevadm settle --timeout=60
check nic-driver-in-udev-db expect_eq "$(udev_prop "$nic" VFIO_RELEASE_AUTO_REATTACH_DRIVER)" e1000e
"$HOLD" -d "$nic" close-device close-group >/tmp/hold.log 2>&1
check nic-free-logged-unmarked logged_state "$nic" free 3
check nic-unmarked-left-alone left_alone "$nic"
"$HELPER" --unit "$nic" >/tmp/unit.out 2>&1
check unit-command-exit-0 expect_eq "$?" 0
check unit-command-reattached grep -q "reattached to e1000e" /tmp/unit.out
check unit-command-on-e1000e vr__bound_to "$nic" e1000e
"$HELPER" --unit "$nic" extra >/tmp/unit.out 2>&1
check unit-command-usage-exit-2 expect_eq "$?" 2

# --- cleanup ---
sed 's/^/syslog: /' "$SYSLOG"
udevadm settle --timeout=60
kill "$umon_pid" 2>/dev/null
# For the record: udev's view of the marked device's first free event.
awk -v d="$nic" '/^UDEV / { blk = "" } { blk = blk $0 "\n" }
	$0 ~ "^DEVPATH=.*/" d "$" { dp = 1 } /^VFIO_RELEASE_STATE=free$/ { fr = 1 }
	/^$/ { if (dp && fr) { printf "%s", blk; exit } dp = fr = 0 }' "$UMON_LOG"
check udevd-exits udevd_exit
check udevd-ran-logger grep -q "Process '/usr/bin/logger -t vfio-release '$nic free: .*' succeeded" "$UDEV_LOG"
check udevd-ran-helper grep -q "Process '$HELPER $nic e1000e' succeeded" "$UDEV_LOG"
check udevd-ran-helper-no-driver grep -q "Process '$HELPER $nic *' succeeded" "$UDEV_LOG"
check udevd-no-rule-errors no_rule_errors
grep -E "Process '(/usr/bin/logger -t vfio-release|$HELPER)" "$UDEV_LOG" | tail -n 4
kill "$syslog_pid" 2>/dev/null
check module-unloads vr_unload
vr_done
