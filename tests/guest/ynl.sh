#!/bin/bash
# The family as described by uapi/vfio_release.yaml, read with the kernel's
# own YNL cli (tools/net/ynl/cli.py from linux-source-6.12, extracted on the
# host by tests/ynl-setup.sh): dump, do, and the notifications of one
# open/close cycle of the edu device. Python starts slowly under emulation,
# so the cli runs three times only: a dump before the cycle, a run that
# subscribes and sleeps through the cycle, then prints the notifications it
# queued, and a do after the cycle.
# shellcheck disable=SC2016 # the $names in single quotes are jq variables
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU
YNL_DIR=$VR_TOP/build/ynl
YNL_SPEC=$VR_TOP/uapi/vfio_release.yaml
YNL_SCHEMA=$YNL_DIR/Documentation/netlink/genetlink-c.yaml
# Seconds the subscribed cli sleeps before it reads the notifications it
# queued: long enough for the open/close cycle, even on a loaded host.
YNL_SLEEP=8

# An array, not a function: "${ynl[@]}" ... & makes $! the cli's own pid.
ynl=(/usr/bin/python3 "$YNL_DIR/tools/net/ynl/cli.py" --spec "$YNL_SPEC" --output-json)

# ynl_subscribed PID: one of PID's generic netlink sockets has joined a
# multicast group (/proc/net/netlink shows the first 32 group bits).
ynl_subscribed() {
	local fd ino
	for fd in /proc/"$1"/fd/*; do
		ino=$(readlink "$fd") || continue
		case $ino in socket:\[*\]) ino=${ino//[^0-9]/} ;; *) continue ;; esac
		awk -v i="$ino" '$2 == 16 && $4 != "00000000" && $NF == i { print $4 >"/tmp/ynl-groups"; f = 1 } END { exit !f }' \
			/proc/net/netlink && return 0
	done
	return 1
}

# jq_check FILE FILTER [jq args...]: FILTER is true on FILE's JSON.
jq_check() {
	local file=$1 filter=$2
	shift 2
	jq -e "$@" "$filter" "$file" >/dev/null || { echo "false: $filter"; head -c 600 "$file"; return 1; }
}

if [ ! -f "$YNL_DIR/tools/net/ynl/cli.py" ] || [ ! -r "$YNL_SCHEMA" ]; then
	vr_result FAIL ynl-present "no ynl under $YNL_DIR: run tests/ynl-setup.sh on the host first"
	vr_done
	exit 0
fi

group=$(vr_group_of "$dev")
vendor=$(($(cat "/sys/bus/pci/devices/$dev/vendor")))
device_id=$(($(cat "/sys/bus/pci/devices/$dev/device")))
check bind-edu-vfio vr_bind_vfio "$dev"
check module-loads vr_load

# --- (a) dump, before any open; the spec is validated against the schema ---
t0=$SECONDS
"${ynl[@]}" --schema "$YNL_SCHEMA" --dump get-device >/tmp/ynl-dump.json 2>/tmp/ynl-dump.err
check ynl-dump test $? -eq 0
vr_info "ynl dump ($((SECONDS - t0))s): $(cat /tmp/ynl-dump.err) $(head -c 700 /tmp/ynl-dump.json)"
rec='.[] | select(.device == $d)'
check dump-lists-edu jq_check /tmp/ynl-dump.json "[$rec] | length == 1" --arg d "$dev"
check dump-edu-free jq_check /tmp/ynl-dump.json "$rec | .state == \"free\"" --arg d "$dev"
check dump-edu-record jq_check /tmp/ynl-dump.json \
	"$rec | .subsystem == \"pci\" and .driver == \"vfio-pci\" and .\"iommu-group\" == \$g and .\"pci-vendor\" == \$v and .\"pci-device\" == \$p" \
	--arg d "$dev" --argjson g "$group" --argjson v "$vendor" --argjson p "$device_id"
# Never opened since load: no close, so no reset outcome nor closer.
check dump-edu-never-closed jq_check /tmp/ynl-dump.json \
	"$rec | .generation == 0 and .\"open-count\" == 0 and .reset == \"unknown\" and has(\"close-ns\") == false and has(\"comm\") == false" \
	--arg d "$dev"

# --- (c) subscribe, and run one open/close cycle while the cli sleeps ---
# The 6.12 cli cannot do a request on the subscribed socket while
# notifications are queued (ynl.py _ops dies on "op.attr_set" of None), so
# the notifications get a run of their own.
t0=$SECONDS
"${ynl[@]}" --no-schema --subscribe events --sleep "$YNL_SLEEP" \
	>/tmp/ynl-events.json 2>/tmp/ynl-events.err &
ynl_pid=$!
if vr_wait 60 ynl_subscribed "$ynl_pid"; then
	vr_result PASS ynl-subscribed
else
	vr_result FAIL ynl-subscribed "no joined group on the cli's sockets: $(cat /tmp/ynl-events.err) $(awk '$2 == 16' /proc/net/netlink)"
fi
vr_info "ynl subscribed after $((SECONDS - t0))s, groups $(cat /tmp/ynl-groups 2>/dev/null)"
"$HOLD" -d "$dev" close-device close-group >/tmp/hold.log 2>&1
hold_rc=$?
# The cycle must be over before the cli's sleep ends and it reads its queue.
kill -0 "$ynl_pid" 2>/dev/null
check hold-within-ynl-sleep test $? -eq 0 -a "$hold_rc" -eq 0
wait "$ynl_pid"
check ynl-subscribe test $? -eq 0
vr_info "ynl subscribe ($((SECONDS - t0))s): $(cat /tmp/ynl-events.err) $(head -c 1500 /tmp/ynl-events.json)"

# --- (b) do get-device after the cycle ---
t0=$SECONDS
"${ynl[@]}" --no-schema --do get-device --json "{\"device\": \"$dev\"}" \
	>/tmp/ynl-do.json 2>/tmp/ynl-do.err
check ynl-do test $? -eq 0
vr_info "ynl do ($((SECONDS - t0))s): $(cat /tmp/ynl-do.err) $(head -c 700 /tmp/ynl-do.json)"

# (b) the record after one full cycle
check do-edu-free jq_check /tmp/ynl-do.json '.device == $d and .state == "free"' --arg d "$dev"
check do-edu-counters jq_check /tmp/ynl-do.json \
	'.generation == 1 and ."open-count" == 1 and ."release-count" == 1 and ."free-count" == 1'
check do-edu-closer jq_check /tmp/ynl-do.json \
	'.reset == "function" and .comm == "vfio-hold" and ."close-ns" > 0 and .pid > 0'

# (c) the notifications
check ntf-order jq_check /tmp/ynl-events.json \
	'[.[].name] == ["group-claimed", "device-claimed", "device-opened", "device-released", "group-released", "device-free"]'
ntf='.[] | select(.name == $n) | .msg'
released=(--arg n device-released --arg d "$dev" --argjson g "$group" --argjson v "$vendor" --argjson p "$device_id")
check ntf-released-device jq_check /tmp/ynl-events.json \
	"$ntf | .device == \$d and .subsystem == \"pci\" and .\"iommu-group\" == \$g and .\"pci-vendor\" == \$v and .\"pci-device\" == \$p" \
	"${released[@]}"
check ntf-released-attrs jq_check /tmp/ynl-events.json \
	"$ntf | .state == \"released\" and .reset == \"function\" and .driver == \"vfio-pci\" and .comm == \"vfio-hold\" and .\"close-ns\" > 0 and .generation == 1 and .\"release-count\" == 1 and .\"free-count\" == 0" \
	--arg n device-released
check ntf-group-released jq_check /tmp/ynl-events.json \
	"$ntf | .\"iommu-group\" == \$g and .\"timestamp-ns\" > 0 and has(\"device\") == false" \
	--arg n group-released --argjson g "$group"
check ntf-free-attrs jq_check /tmp/ynl-events.json \
	"$ntf | .device == \$d and .state == \"free\" and .generation == 1 and .\"free-count\" == 1 and .\"iommu-group\" == \$g" \
	--arg n device-free --arg d "$dev" --argjson g "$group"
check ntf-seq-increasing jq_check /tmp/ynl-events.json \
	'[.[].msg.seq] as $s | ($s | length) == 6 and $s == ($s | sort) and ($s | unique | length) == 6'
check do-seq-is-free-seq test "$(jq -r .seq /tmp/ynl-do.json)" = \
	"$(jq -r '.[] | select(.name == "device-free") | .msg.seq' /tmp/ynl-events.json)"
vr_info "ynl device-released: $(jq -c '.[] | select(.name == "device-released")' /tmp/ynl-events.json)"
vr_info "ynl device-free: $(jq -c '.[] | select(.name == "device-free")' /tmp/ynl-events.json)"

check module-unloads vr_unload
vr_done
