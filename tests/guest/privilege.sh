#!/bin/bash
# GET, dump and joining the events group need CAP_NET_ADMIN: the records
# name the processes that use devices. Without it `vfio-release status`,
# `status DEVICE`, `monitor` and `wait` fail with exit 2 and say so; as root
# they work. The unprivileged runs are user nobody (65534) with no
# capabilities at all, through setpriv (runuser as a fallback).
# shellcheck disable=SC2016,SC2054 # jq variables in single quotes; setpriv takes comma lists
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

dev=$VR_EDU

# unpriv CMD...: CMD as nobody, no groups, no capabilities left at all;
# netadmin CMD...: the same, but with CAP_NET_ADMIN (ambient), no root.
if command -v setpriv >/dev/null; then
	unpriv=(setpriv --reuid=65534 --regid=65534 --clear-groups
		--inh-caps=-all --bounding-set=-all --)
	netadmin=(setpriv --reuid=65534 --regid=65534 --clear-groups
		--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin
		--bounding-set=-all,+net_admin --)
elif command -v runuser >/dev/null; then
	unpriv=(runuser -u nobody --)
	netadmin=()
else
	vr_result FAIL unpriv-tool "neither setpriv nor runuser in the root"
	vr_done
	exit 0
fi
vr_info "unprivileged runs: ${unpriv[*]}"

# The CLI must be reachable by nobody, or every check below fails for a
# reason that has nothing to do with the module.
check unpriv-runs-cli "${unpriv[@]}" "$VR_CLI" --help
check unpriv-has-no-caps "${unpriv[@]}" grep -qx 'CapEff:[[:space:]]*0000000000000000' /proc/self/status

check bind-edu-vfio vr_bind_vfio "$dev"
check module-loads vr_load

# denied NAME SECONDS CMD...: CMD as nobody exits 2 within SECONDS (monitor
# would block forever if it were let in) and names CAP_NET_ADMIN.
denied() {
	local name=$1 secs=$2 rc
	shift 2
	timeout "$secs" "${unpriv[@]}" "$@" >"/tmp/$name.out" 2>"/tmp/$name.err"
	rc=$?
	vr_info "$name as nobody: exit $rc: $(head -c 300 "/tmp/$name.err")"
	check "$name-unpriv-exit-2" expect_eq "$rc" 2
	check "$name-unpriv-says-cap" grep -q "CAP_NET_ADMIN" "/tmp/$name.err"
	check "$name-unpriv-prints-no-record" no_record "/tmp/$name.out"
}
# Nothing on stdout, or (status --json prints what it read, even after an
# error) an empty JSON array: no record of any device.
no_record() {
	[ ! -s "$1" ] && return 0
	jq -e -s 'length == 1 and .[0] == []' "$1" >/dev/null || { head -c 300 "$1"; return 1; }
}

denied status 20 "$VR_CLI" status
denied status-json 20 "$VR_CLI" status --json
denied status-device 20 "$VR_CLI" status "$dev"
denied monitor 20 "$VR_CLI" monitor --json
denied wait 20 "$VR_CLI" wait "$dev" --timeout 5

# --- as root, the same commands work ---
"$VR_CLI" status --json >/tmp/status-all.json 2>/tmp/err
check status-root-exit-0 expect_eq "$?" 0
check status-root-lists-edu jq -e --arg d "$dev" '[.[] | select(.device == $d)] | length == 1 and .[0].state == "free"' /tmp/status-all.json
check status-device-root expect_eq "$(status_field "$dev" state)" free
check wait-root "$VR_CLI" wait "$dev" --timeout 10
mon_start
check monitor-root-subscribed kill -0 "$MON_PID"
"$HOLD" -d "$dev" close-device close-group >/dev/null 2>&1
check monitor-root-sees-free mon_wait_for "$dev" free
mon_stop

# --- the capability is what counts, not root ---
if [ ${#netadmin[@]} -gt 0 ]; then
	timeout 20 "${netadmin[@]}" "$VR_CLI" status --json "$dev" >/tmp/netadmin.json 2>/tmp/err
	check status-net-admin-not-root-exit-0 expect_eq "$?" 0
	check status-net-admin-not-root-record jq -e --arg d "$dev" 'length == 1 and .[0].device == $d' /tmp/netadmin.json
else
	vr_result SKIP status-net-admin-not-root "no setpriv to grant CAP_NET_ADMIN alone"
fi

check module-unloads vr_unload
vr_done
