# lib-release.sh: guest-side helpers for vfio_release scenarios, sourced
# after tests/vm/guest-lib.sh. Events are read from `vfio-release monitor
# --json` (one JSON object per line) with jq; records from `status --json`
# (one JSON array). JSON schema 1: "schema", "event", the uapi attribute
# names in lower case (pci_vendor and pci_device are numbers), "time", and
# "notice" on the library's own notices (which carry no seq).

VR_TOP=$(cd "$VR_HELPERS/../.." && pwd)
VR_CLI=$VR_TOP/userspace/vfio-release
VR_KO=$VR_TOP/build/$(uname -r)/vfio_release.ko
HOLD=$VR_HELPERS/vfio-hold
MON_LOG=/tmp/monitor.jsonl
MON_PID=

vr_load() { insmod "$VR_KO"; }
vr_unload() { rmmod vfio_release; }

# check NAME CMD...: one PASS or FAIL line for CMD's outcome.
check() {
	local name=$1
	shift
	if "$@" >/tmp/check.out 2>&1; then
		vr_result PASS "$name"
	else
		vr_result FAIL "$name" "$* -> $(tail -n 3 /tmp/check.out)"
	fi
}

# Starts a monitor; returns once it is subscribed.
mon_start() {
	: >"$MON_LOG"
	"$VR_CLI" monitor --json >"$MON_LOG" 2>/tmp/monitor.err &
	MON_PID=$!
	vr_wait 20 grep -q monitoring /tmp/monitor.err ||
		vr_result FAIL monitor-start "$(cat /tmp/monitor.err)"
}

mon_stop() {
	[ -z "$MON_PID" ] || kill "$MON_PID" 2>/dev/null || true
	wait "$MON_PID" 2>/dev/null || true
	MON_PID=
}

# Events about DEVICE and its group's claims and releases, in order.
mon_events() {
	local group
	group=$(vr_group_of "$1")
	jq -r --arg d "$1" --argjson g "$group" \
		'select(.device == $d or ((.event | startswith("group-")) and .iommu_group == $g)) | .event' \
		"$MON_LOG" | tr '\n' ' ' | sed 's/ $//'
}

# mon_field DEVICE EVENT FIELD [N]: FIELD of the Nth (default last) EVENT.
mon_field() {
	jq -r --arg d "$1" --arg e "$2" \
		'select(.device == $d and .event == $e) | .'"$3" "$MON_LOG" |
		if [ -n "${4:-}" ]; then sed -n "${4}p"; else tail -n1; fi
}

mon_group_ts() {
	jq -r --argjson g "$(vr_group_of "$1")" \
		'select(.event == "group-released" and .iommu_group == $g) | .timestamp_ns' \
		"$MON_LOG" | tail -n1
}

# mon_wait_for DEVICE EVENT [COUNT]: wait until COUNT such events arrived.
mon_has() {
	[ "$(jq -r --arg d "$1" --arg e "$2" \
		'select(.device == $d and .event == $e) | .seq' "$MON_LOG" | wc -l)" -ge "${3:-1}" ]
}
mon_wait_for() { vr_wait 20 mon_has "$@"; }

# The MARK printed by vfio-hold, in CLOCK_MONOTONIC ns.
mark_ts() { awk -v m="$2" '$1 == "MARK" && $2 == m { print $3 }' "$1"; }

# status_field DEVICE FIELD: the module's record of DEVICE, one field.
# `status --json DEVICE` must print an array of exactly that one record.
status_field() {
	"$VR_CLI" status --json "$1" | jq -r --arg d "$1" \
		'if type == "array" and length == 1 and .[0].device == $d and .[0].schema == 1
		 then .[0].'"$2"' else "not-one-record-for-\($d)" end'
}
# state_is DEVICE STATE: the module's record says STATE (for vr_wait).
state_is() { [ "$(status_field "$1" state)" = "$2" ]; }
# status_dump FILE: the whole dump (`status --json`, one array) into FILE.
status_dump() { "$VR_CLI" status --json >"$1" && jq -e 'type == "array"' "$1" >/dev/null; }

expect_eq() {
	[ "$1" = "$2" ] || { echo "expected '$2', got '$1'"; return 1; }
}

# Every line of the monitor log (or FILE) is a JSON object of schema 1
# with an event name; the module's messages carry seq and instance, and
# within one module instance their seqs strictly increase; a line without
# seq is a library notice.
mon_log_sane() {
	jq -e -s 'length > 0 and all(.[]; type == "object" and .schema == 1 and (.event | type) == "string") and
		all(.[]; has("seq") or has("notice")) and
		([.[] | select(has("seq"))] | group_by(.instance) |
		 all(.[]; [.[].seq] as $s | $s == ($s | sort) and ($s | unique | length) == ($s | length)))' \
		"${1:-$MON_LOG}" >/dev/null
}

# --- tests/drivers/vfio_pci_slow: a test-only vfio-pci variant driver ---
VR_SLOW_KO=$VR_TOP/build/$(uname -r)/tests-drivers/vfio_pci_slow.ko
# shellcheck disable=SC2034 # used by the guest scripts
VR_SLOW_PARAMS=/sys/module/vfio_pci_slow/parameters

vr_slow_load() { insmod "$VR_SLOW_KO" "$@"; }
vr_slow_unload() { rmmod vfio_pci_slow; }

# vr_bind_vfio_driver ADDR DRIVER: bind ADDR to the VFIO driver DRIVER
# through driver_override and wait for /dev/vfio/<group>.
vr_bind_vfio_driver() {
	local group
	group=$(vr_group_of "$1") || return 1
	echo "$2" >"/sys/bus/pci/devices/$1/driver_override" || return 1
	if ! vr__bound_to "$1" "$2"; then
		vr_unbind "$1" || return 1
		echo "$1" >/sys/bus/pci/drivers_probe || return 1
	fi
	vr_wait 10 vr__bound_to "$1" "$2" && vr_wait 10 test -e "/dev/vfio/$group"
}
vr_bind_slow() { vr_bind_vfio_driver "$1" vfio_pci_slow; }

# --- helpers for the scale and removal groups ---

# vr_bounded SECONDS CMD...: run CMD, but wait for it at most SECONDS.
# Sets VR_BOUNDED_MS (wall time, or SECONDS*1000 when it did not finish)
# and returns CMD's status, or 124 when it is still running: it is left
# running (a task stuck in the kernel cannot be killed), pid VR_BOUNDED_PID.
VR_BOUNDED_MS=0
VR_BOUNDED_PID=
vr__running() {
	local _p _c st
	read -r _p _c st _ 2>/dev/null <"/proc/$1/stat" && [ "$st" != Z ]
}
# vr_exit_within SECONDS PID: PID's exit status once it ended (VR_EXIT_MS:
# when it was seen gone, ms), or 124 while it still runs after SECONDS, so
# that a command that hangs fails its check instead of the whole run.
VR_EXIT_MS=0
vr_exit_within() {
	local deadline=$((SECONDS + $1))
	while vr__running "$2"; do
		[ "$SECONDS" -lt "$deadline" ] || return 124
		vr_nap 0.02
	done
	VR_EXIT_MS=$((${EPOCHREALTIME/./} / 1000))
	wait "$2"
}
vr_bounded() {
	local secs=$1 t0=$((${EPOCHREALTIME/./} / 1000)) rc
	shift
	"$@" &
	VR_BOUNDED_PID=$!
	vr_exit_within "$secs" "$VR_BOUNDED_PID"
	rc=$?
	if [ "$rc" = 124 ] && vr__running "$VR_BOUNDED_PID"; then
		VR_BOUNDED_MS=$((secs * 1000))
	else
		VR_BOUNDED_MS=$((VR_EXIT_MS - t0))
	fi
	return "$rc"
}

# A monitor across module reloads: `monitor` itself keeps running across
# rmmod/insmod (it says "module unloaded"/"module loaded" on stderr), but
# it cannot start while the module is not loaded. mon_follow_start LOG
# starts `monitor --json` again until one subscribed, appending to LOG;
# after that it is never restarted (mon_follow_starts counts the starts
# that subscribed: more than one means a monitor ended under a reload).
MON_FOLLOW_PID=
MON_FOLLOW_ERR=/tmp/monitor-follow.err
mon_follow_start() {
	: >"$1"
	: >"$MON_FOLLOW_ERR"
	rm -f /tmp/monitor-follow.stop
	(
		while [ ! -e /tmp/monitor-follow.stop ]; do
			"$VR_CLI" monitor --json >>"$1" 2>>"$MON_FOLLOW_ERR" &
			echo $! >/tmp/monitor-follow.pid
			wait $!
			vr_nap 0.05
		done
	) &
	MON_FOLLOW_PID=$!
}
mon_follow_starts() { grep -c '^monitoring' "$MON_FOLLOW_ERR"; }
# Returns once a monitor has subscribed (within SECONDS, default 20).
mon_follow_wait() { vr_wait "${1:-20}" grep -q '^monitoring' "$MON_FOLLOW_ERR"; }
mon_follow_stop() {
	local pid
	touch /tmp/monitor-follow.stop
	read -r pid </tmp/monitor-follow.pid 2>/dev/null && kill "$pid" 2>/dev/null
	[ -z "$MON_FOLLOW_PID" ] || wait "$MON_FOLLOW_PID" 2>/dev/null
	MON_FOLLOW_PID=
}

# Active objects of a kmem_cache in /proc/slabinfo, or nothing when the
# cache does not exist (or slabinfo cannot be read).
slab_objs() {
	local name active _
	while read -r name active _; do
		[ "$name" = "$1" ] && { echo "$active"; return 0; }
	done </proc/slabinfo 2>/dev/null
	return 1
}

# jq: is this event a device-removed notification?
JQ_REMOVED='(.event == "removed")'
