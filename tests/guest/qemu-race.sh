#!/bin/bash
# vr-topology: qrace
# vr-timeout: 300
# "DEVICE_DELETED is not enough" (issue 9), with a real QEMU (Debian's
# 7.2 from the shared root, -S: no inner guest, so no device_del is ever
# acknowledged and QEMU's exit, SIGKILL or `quit`, is the deletion)
# holding e1000e functions on tests/drivers/vfio_pci_slow (close_delay_ms
# DELAY_MS). Three ways QEMU's end comes while the device is still not
# free, one device each, all three in one QEMU per cycle (the suite's
# time budget: a QEMU start costs seconds under TCG):
#  a. sibling: the two e1000e functions of one slot (no ACS: one IOMMU
#     group) are both on vfio; QEMU holds function 0, another holder
#     (tests/helpers/vfio-sibling: function 1's device fd, opened through
#     QEMU's own group file, as vfio lets one process at a time open a
#     group) keeps function 1. QEMU's own close of function 0 is over when
#     it is reaped, but the group file lives on in function 1's device
#     file, still claimed for user DMA: the host driver's bind fails with
#     EBUSY (really_probe -> pci_dma_configure -> iommu_device_use_default_
#     domain: owner_cnt with group->owner set, in 6.1 and 6.12; vfio-pci
#     is driver_managed_dma and never asks) and function 0 is left on no
#     driver, its driver_override on e1000e;
#  b. other holder: `vfio-sibling --take` (vfio-steal for one device:
#     pidfd_getfd of QEMU's group and device files) keeps QEMU's files
#     HOLD_MS after QEMU is reaped: the unbind blocks in
#     vfio_unregister_group_dev for that and the close's delay, holding
#     the device lock, so the close's reset is skipped;
#  c. slow close in the receiver: the same, letting go the moment QEMU is
#     reaped (in a naive cycle, the moment the kernel says the unbind
#     waits); its close is the one that takes close_delay_ms: the unbind
#     blocks for about the delay, the reset is skipped.
# The naive manager rebinds (driver_override, unbind, bind to e1000e) the
# moment QEMU is reaped: the latest of QEMU's signals (SHUTDOWN and the
# monitors' EOF come before its exit_files), so any earlier one fails as
# well. It is asserted to fail in every cycle: EBUSY (a), or an unbind of
# at least half the delay with the kernel's word that it waited for the
# user ("Relaying device request to user": QEMU had registered a request
# eventfd, which lives on in the taken file; "No device request channel
# registered, blocked until released by user" without one) and the reset
# `skipped` in the module's released event (b, c).
# Gated cycles, per device: `vfio-release gate --qmp SOCK --id ID --
# REBIND` and, on the same QEMU, `vfio-release unplug --qmp SOCK2 --id ID
# --reattach --driver e1000e`: gate runs the same rebind only once the
# device is free (after the holder's release and its close), which then
# works at once; unplug waits just as long, but as QEMU exited before any
# DEVICE_DELETED it says so (exit 3, "free: not reattached") and does not
# reattach: the device stays on vfio_pci_slow, free.
# QEMU ends by SIGKILL in odd naive cycles, by `quit` on a monitor in even
# ones and in odd gated ones.
# Every assertion is a kernel fact or a lower bound: a loaded VM cannot
# make one pass.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

RIG=$VR_TOP/tests/rig/vr-rig
SIBLING=$VR_HELPERS/vfio-sibling
QMPCMD=$VR_HELPERS/qmp-cmd
DELAY_MS=${QRACE_DELAY_MS:-1000}
HOLD_MS=${QRACE_HOLD_MS:-1000}
# Three cycles per case (a QEMU start and its device resets cost 10-30 s
# under TCG): two naive (one SIGKILL, one quit), one gated (quit).
N_NAIVE=${QRACE_NAIVE:-2}
N_GATED=${QRACE_GATED:-1}
half=$((DELAY_MS / 2))
t_start=$SECONDS
QEMU_PID=""
cases=(a b c)
declare -A DEV=() HOLDER=() NV=() FIG=() OK=()
IFS=, read -r f0 f1 <<<"${VR_QRACE_PAIR:-,}"
DEV[a]=$f0 DEV[b]=$VR_NIC DEV[c]=${VR_QRACE_NIC2:-}
us_now() { echo "${EPOCHREALTIME/./}"; }
fig() { FIG[$1]+="$2 "; }
count() { OK[$1]=$((${OK[$1]:-0} + 1)); }

# rebind DEV: what a naive manager does (libvirt's nodedev-reattach,
# driverctl): driver_override, unbind, bind; builtins only, timed. One
# line: start_us= unbind_us= bind=ok|EBUSY|...
rebind() {
	local d=$1 s=/sys/bus/pci/devices/$1 t0 t1 t2 bind=ok err=
	t0=${EPOCHREALTIME/./}
	echo e1000e >"$s/driver_override"
	t1=${EPOCHREALTIME/./}
	[ ! -e "$s/driver" ] || echo "$d" >"$s/driver/unbind"
	t2=${EPOCHREALTIME/./}
	if { echo "$d" >/sys/bus/pci/drivers/e1000e/bind; } 2>"/tmp/rebind.$BASHPID.err"; then
		echo >"$s/driver_override"
	else
		read -r err <"/tmp/rebind.$BASHPID.err"
		case $err in
		*"Device or resource busy"*) bind=EBUSY ;;
		*"No such device"*) bind=ENODEV ;;
		*) bind=${err// /_} ;;
		esac
	fi
	echo "start_us=$t0 unbind_us=$((t2 - t1)) bind=$bind"
}
# field FILE KEY: KEY's value in FILE's key=value line.
field() {
	local kv kvs=()
	[ -r "$1" ] && read -r -a kvs <"$1"
	for kv in "${kvs[@]}"; do
		[ "${kv%%=*}" != "$2" ] || { echo "${kv#*=}"; return; }
	done
}

bind_slow() {
	vr_bind_slow "$1" && echo "$DELAY_MS" >"/sys/bus/pci/devices/$1/close_delay_ms"
}
# nap_until SECONDS CMD...: vr_wait without a fork per poll (each exec
# costs a lot in the VM, and competes with the QEMU being waited for).
nap_until() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		vr_nap 0.05
	done
}
# have FILE TEXT: FILE has a line starting with TEXT (builtins only).
have() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l; do [ "${l#"$2"}" = "$l" ] || return 0; done <"$1"
	return 1
}
# contains FILE TEXT: a line of FILE contains TEXT (builtins only).
contains() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l; do [[ $l != *"$2"* ]] || return 0; done <"$1"
	return 1
}
# waits_now: WAITS[CASE], the kernel's word that an unbind of the case's
# device waited for its user, counted in one dmesg.
declare -A WAITS=()
waits_now() {
	local l c
	for c in "${cases[@]}"; do WAITS[$c]=0; done
	dmesg >/tmp/dmesg.txt
	while IFS= read -r l; do
		case $l in
		*"Relaying device request to user"* | *"No device request channel registered, blocked until released by user"*) ;;
		*) continue ;;
		esac
		for c in "${cases[@]}"; do
			[[ $l != *" ${DEV[$c]}: "* ]] || WAITS[$c]=$((WAITS[$c] + 1))
		done
	done </tmp/dmesg.txt
}
# kernel_waited CASE: the kernel has said, since waits0, that an unbind
# of CASE's device waits for its user.
kernel_waited() {
	waits_now
	[ "${WAITS[$1]}" -gt "${waits0[$1]}" ]
}
# rels_now: from one jq over the monitor log, NREL[CASE] (the case's
# device's released events) and REL[CASE] (the last: "reset close_ms comm").
declare -A NREL=() REL=()
rels_now() {
	local d reset ms comm c
	for c in "${cases[@]}"; do NREL[$c]=0 REL[$c]=; done
	jq -r 'select(.event == "released") | "\(.device) \(.reset) \(.close_ns / 1e6 | floor) \(.comm)"' \
		"$MON_LOG" >/tmp/released.txt
	while read -r d reset ms comm; do
		for c in "${cases[@]}"; do
			[ "$d" = "${DEV[$c]}" ] || continue
			NREL[$c]=$((NREL[$c] + 1)) REL[$c]="$reset $ms $comm"
		done
	done </tmp/released.txt
}
# rels_more CASE... : each case's device has more released events than
# in REL0 (for nap_until).
declare -A REL0=()
rels_more() {
	local c
	rels_now
	for c; do [ "${NREL[$c]}" -gt "${REL0[$c]:-0}" ] || return 1; done
}
all_open() {
	local c
	for c in "${cases[@]}"; do state_is "${DEV[$c]}" open || return 1; done
}

# One QEMU holds the three devices, hd_a, hd_b, hd_c, each on a root port
# of its own; monitors: /tmp/q.quit, and per case /tmp/q.gate.C and
# /tmp/q.unplug.C.
qemu_start() {
	local c i=0 args=()
	rm -f /tmp/q.*
	for c in "${cases[@]}"; do
		i=$((i + 1))
		args+=(-qmp "unix:/tmp/q.gate.$c,server=on,wait=off" -qmp "unix:/tmp/q.unplug.$c,server=on,wait=off")
		args+=(-device "pcie-root-port,id=rp_$c,chassis=$i,bus=pcie.0")
		args+=(-device "vfio-pci,host=${DEV[$c]},id=hd_$c,bus=rp_$c")
	done
	qemu-system-x86_64 -machine q35 -accel tcg -nodefaults -display none -S \
		-qmp "unix:/tmp/q.quit,server=on,wait=off" "${args[@]}" >/tmp/qemu.log 2>&1 &
	QEMU_PID=$!
	# QEMU answers its monitor once every device is realized and reset.
	nap_until 60 test -S /tmp/q.unplug.c && "$QMPCMD" /tmp/q.quit query-status >/dev/null 2>&1 &&
		vr_wait 30 all_open
}
qemu_reap() {
	[ -n "$QEMU_PID" ] || return 0
	kill -KILL "$QEMU_PID" 2>/dev/null
	wait "$QEMU_PID" 2>/dev/null
	QEMU_PID=
}
# The other holders: a, function 1 through QEMU's group; b and c, QEMU's
# own files of their device.
holders_start() {
	local c
	"$SIBLING" "$QEMU_PID" "$f1" >/tmp/holder.a 2>&1 &
	HOLDER[a]=$!
	for c in b c; do
		"$SIBLING" --take "$QEMU_PID" "${DEV[$c]}" >"/tmp/holder.$c" 2>&1 &
		HOLDER[$c]=$!
	done
	nap_until 20 have /tmp/holder.a opened && nap_until 20 have /tmp/holder.b took &&
		nap_until 20 have /tmp/holder.c took
}
holder_kill() {
	[ -n "${HOLDER[$1]:-}" ] || return 0
	kill -KILL "${HOLDER[$1]}" 2>/dev/null
	T_KILL_US[$1]=$(us_now)
}
holders_reap() {
	local c
	for c in "${cases[@]}"; do
		[ -n "${HOLDER[$c]:-}" ] || continue
		kill -KILL "${HOLDER[$c]}" 2>/dev/null
		wait "${HOLDER[$c]}" 2>/dev/null
		HOLDER[$c]=
	done
}
# qemu_end N: SIGKILL (odd N) or quit (even N); returns once QEMU is
# reaped: T_EXIT_US; T_TRIG_US: the trigger.
T_EXIT_US=0 T_TRIG_US=0
declare -A T_KILL_US=()
qemu_end() {
	T_TRIG_US=$(us_now)
	if [ $(($1 % 2)) = 1 ]; then
		kill -KILL "$QEMU_PID"
	else
		"$QMPCMD" /tmp/q.quit quit >/dev/null 2>&1 &
	fi
	vr_exit_within 60 "$QEMU_PID" >/dev/null
	T_EXIT_US=$(us_now)
	QEMU_PID=
}
# After QEMU's reap: c lets go at once, a and b HOLD_MS later (a only
# once its naive rebind is over, when there is one: its EBUSY is the case).
release_holders() {
	holder_kill c
	[ -z "${1:-}" ] || vr_exit_within 60 "$1"
	vr_nap "$((HOLD_MS / 1000)).$(printf %03d $((HOLD_MS % 1000)))"
	holder_kill a
	holder_kill b
}
# cycle_setup KIND N: devices on vfio_pci_slow, QEMU, or a FAIL and 1.
cycle_setup() {
	local c
	for c in "${cases[@]}"; do
		bind_slow "${DEV[$c]}" || { vr_result FAIL "$1-$2-bind" "${DEV[$c]} not on vfio_pci_slow"; return 1; }
	done
	qemu_start || { vr_result FAIL "$1-$2-qemu" "$(tail -n 3 /tmp/qemu.log)"; qemu_reap; return 1; }
}

naive_cycle() {
	local n=$1 c d ub bind rel
	local -A pid=() waits0=()
	cycle_setup naive "$n" || return
	holders_start || { vr_result FAIL "naive-$n-holders" "$(cat /tmp/holder.*)"; holders_reap; qemu_reap; return; }
	waits_now
	rels_now
	for c in "${cases[@]}"; do
		waits0[$c]=${WAITS[$c]} REL0[$c]=${NREL[$c]}
		rm -f "/tmp/naive.$c"
	done
	qemu_end "$n"
	for c in "${cases[@]}"; do
		rebind "${DEV[$c]}" >"/tmp/naive.$c" &
		pid[$c]=$!
	done
	# c lets go only once its unbind is in VFIO's wait for the release
	# (the kernel's word): let go at the same moment, its close could be
	# over before an unbind slow to start got there, the unbind then
	# blocked on the device lock with no word (seen once in CI on 6.12).
	nap_until 30 kernel_waited c
	release_holders "${pid[a]}"
	for c in "${cases[@]}"; do
		vr_exit_within 60 "${pid[$c]}"
		check "$c-naive-$n-rebind-ended" expect_eq "$?" 0
	done
	holders_reap
	# b and c: one released event each, from the holder's close.
	check "naive-$n-released" nap_until 20 rels_more b c
	waits_now
	for c in "${cases[@]}"; do
		d=${DEV[$c]}
		ub=$(field "/tmp/naive.$c" unbind_us) bind=$(field "/tmp/naive.$c" bind)
		NV[$c]+="$((${ub:-0} / 1000)) "
		if [ "$c" = a ]; then
			check "a-naive-$n-bind-ebusy" expect_eq "$bind" EBUSY
			check "a-naive-$n-left-unbound" expect_eq "$(vr_driver_of "$d")/$(cat "/sys/bus/pci/devices/$d/driver_override")" /e1000e
			# The sibling's release (its own slow close) frees the group.
			check "a-naive-$n-sibling-free" vr_wait 20 state_is "$f1" free
			[ "$bind" = EBUSY ] && [ -z "$(vr_driver_of "$d")" ] && count a-naive
			continue
		fi
		check "$c-naive-$n-unbind-blocked" test "${ub:-0}" -ge $((half * 1000))
		check "$c-naive-$n-kernel-says-waited" test "${WAITS[$c]}" -gt "${waits0[$c]}"
		rel=${REL[$c]}
		check "$c-naive-$n-reset-skipped" expect_eq "${rel%% *}" skipped
		check "$c-naive-$n-ends-on-e1000e" expect_eq "$bind/$(vr_driver_of "$d")" ok/e1000e
		[ "${ub:-0}" -ge $((half * 1000)) ] && [ "${rel%% *}" = skipped ] && count "$c-naive"
		fig "$c-naive-close" "${rel#* }"
	done
	fig naive-exit "$(((T_EXIT_US - T_TRIG_US) / 1000))"
}

# exits_within SECONDS PID...: waits for them all; EXIT_RC[PID] (124 if
# still running) and EXIT_MS[PID] (when it was seen gone, wall ms).
declare -A EXIT_RC=() EXIT_MS=()
exits_within() {
	local deadline=$((SECONDS + $1)) p left=1
	shift
	for p; do EXIT_RC[$p]=124 EXIT_MS[$p]=0; done
	while [ -n "$left" ] && [ "$SECONDS" -lt "$deadline" ]; do
		left=
		for p; do
			[ "${EXIT_MS[$p]}" = 0 ] || continue
			if vr__running "$p" 2>/dev/null; then
				left=1
			else
				EXIT_MS[$p]=$((${EPOCHREALTIME/./} / 1000))
				wait "$p"
				EXIT_RC[$p]=$?
			fi
		done
		[ -z "$left" ] || vr_nap 0.02
	done
}
# said_or_gone TEXT FILE PID: FILE says TEXT, or PID has ended.
said_or_gone() { contains "$2" "$1" || ! vr__running "$3" 2>/dev/null; }
# gated_cycle N: per device, a gate and an unplug on one QEMU.
gated_cycle() {
	local n=$1 c d rc st u_ms line free_ms rel ready=1
	local -A g_pid=() u_pid=() waits0=()
	cycle_setup gated "$n" || return
	for c in "${cases[@]}"; do
		d=${DEV[$c]}
		rm -f "/tmp/ran.$c"
		"$VR_CLI" gate --qmp "/tmp/q.gate.$c" --id "hd_$c" --timeout 60 -- \
			bash -c "$(declare -f rebind); rebind $d" >"/tmp/ran.$c" 2>"/tmp/gate.$c" &
		g_pid[$c]=$!
		"$VR_CLI" unplug --qmp "/tmp/q.unplug.$c" --id "hd_$c" --reattach --driver e1000e --timeout 60 --json \
			>"/tmp/unplug.$c.json" 2>"/tmp/unplug.$c" &
		u_pid[$c]=$!
	done
	for c in "${cases[@]}"; do
		nap_until 60 said_or_gone "gate: listening on" "/tmp/gate.$c" "${g_pid[$c]}"
		nap_until 60 said_or_gone "hd_$c: device_del accepted" "/tmp/unplug.$c" "${u_pid[$c]}"
		check "$c-gated-$n-gate-listens" grep -q 'gate: listening on' "/tmp/gate.$c"
		check "$c-gated-$n-unplug-device-del-sent" grep -q "hd_$c: device_del accepted" "/tmp/unplug.$c"
		grep -q 'gate: listening on' "/tmp/gate.$c" && grep -q 'device_del accepted' "/tmp/unplug.$c" || ready=
	done
	# The holders after unplug's check that QEMU holds the device.
	if [ -n "$ready" ] && ! holders_start; then
		ready=
	fi
	if [ -z "$ready" ]; then
		for c in "${cases[@]}"; do
			vr_info "gated $n, $c: gate: $(tr '\n' ' ' <"/tmp/gate.$c") | unplug: $(tr '\n' ' ' <"/tmp/unplug.$c") | holder: $(cat "/tmp/holder.$c" 2>/dev/null)"
			kill "${g_pid[$c]}" "${u_pid[$c]}" 2>/dev/null
		done
		vr_info "gated $n: qemu: $(tr '\n' ' ' </tmp/qemu.log)"
		holders_reap
		qemu_reap
		return
	fi
	waits_now
	for c in "${cases[@]}"; do waits0[$c]=${WAITS[$c]}; done
	qemu_end $((n + 1))
	release_holders
	# Every gate and unplug, each one's end seen when it came.
	exits_within 60 "${u_pid[@]}" "${g_pid[@]}"
	waits_now
	rels_now
	for c in "${cases[@]}"; do
		d=${DEV[$c]}
		rc=${EXIT_RC[${u_pid[$c]}]} u_ms=${EXIT_MS[${u_pid[$c]}]}
		# unplug: the wait for free, then exit 3 (QEMU exited before
		# DEVICE_DELETED): it does not reattach.
		check "$c-gated-$n-unplug-exit-3" expect_eq "$rc" 3
		check "$c-gated-$n-unplug-says-exit-free" grep -qE "hd_$c: QEMU exited \((it shut down|the monitor closed)\) before DEVICE_DELETED; $d is free: not reattached" "/tmp/unplug.$c"
		check "$c-gated-$n-unplug-waited-for-holder" test "$u_ms" -ge $((T_KILL_US[$c] / 1000 + half))
		check "$c-gated-$n-unplug-json" jq -e '.result == "qemu-exited" and .qemu_event == "QEMU exit" and (.free_ns | type) == "number" and .exit == 3' "/tmp/unplug.$c.json"
		[ "$rc" = 3 ] && [ "$u_ms" -ge $((T_KILL_US[$c] / 1000 + half)) ] && count "$c-unplug"
		fig "$c-unplug-after-kill" "$((u_ms - T_KILL_US[$c] / 1000))"
		rc=${EXIT_RC[${g_pid[$c]}]}
		st=$(field "/tmp/ran.$c" start_us)
		# gate: COMMAND only once free, which is after the holder's
		# release and its close (the delay); the rebind then works at once.
		check "$c-gated-$n-gate-exit-0" expect_eq "$rc" 0
		check "$c-gated-$n-gate-waited-for-holder" test "${st:-0}" -ge $((T_KILL_US[$c] + half * 1000))
		check "$c-gated-$n-gate-rebind-ok" expect_eq "$(field "/tmp/ran.$c" bind)/$(vr_driver_of "$d")" ok/e1000e
		check "$c-gated-$n-gate-unbind-not-blocked" expect_eq "${WAITS[$c]}" "${waits0[$c]}"
		rel=${REL[$c]}
		check "$c-gated-$n-reset-done" test "${rel%% *}" != skipped
		[ "$rc" = 0 ] && [ "${st:-0}" -ge $((T_KILL_US[$c] + half * 1000)) ] && [ "$(vr_driver_of "$d")" = e1000e ] &&
			count "$c-gate"
		line=$(grep "$d (hd_$c)" "/tmp/gate.$c" | tail -n1)
		free_ms=$(sed -n 's/.*free \([0-9.]*\) ms after QEMU exit.*/\1/p' <<<"$line")
		fig "$c-gate-free-after-exit" "${free_ms:-?}"
		fig "$c-gate-cmd-after-kill" "$(((${st:-0} - T_KILL_US[$c]) / 1000))"
		fig "$c-gated-close" "${rel#* }"
		[ "$n" != 1 ] || vr_info "$c gated $n: gate: $line | unplug: $(tr '\n' ' ' <"/tmp/unplug.$c")"
	done
	holders_reap
}

# --- the topology and the rig ---
check qrace-topology bash -c "[ -e '/sys/bus/pci/devices/$f0' ] && [ -e '/sys/bus/pci/devices/$f1' ] && [ -e '/sys/bus/pci/devices/${DEV[c]}' ]"
check pair-one-group expect_eq "$(vr_group_of "$f0")" "$(vr_group_of "$f1")"
check three-groups bash -c "[ $(vr_group_of "$f0") != $(vr_group_of "${DEV[b]}") ] && [ $(vr_group_of "${DEV[b]}") != $(vr_group_of "${DEV[c]}") ]"
check module-loads vr_load
# The rig for the sibling (the others are bound by each cycle the same way).
check rig-setup "$RIG" setup "$f1" --delay "$DELAY_MS"
check rig-delay expect_eq "$(cat "/sys/bus/pci/devices/$f1/close_delay_ms")" "$DELAY_MS"
mon_start

t_cycles=$SECONDS
for n in $(seq 1 "$N_NAIVE"); do naive_cycle "$n"; done
t_naive=$((SECONDS - t_cycles))
for n in $(seq 1 "$N_GATED"); do gated_cycle "$n"; done
vr_info "cycles: naive $t_naive s, gated $((SECONDS - t_cycles - t_naive)) s; QEMU reaped ms after its SIGKILL/quit (naive cycles): ${FIG[naive-exit]:-}"
for c in "${cases[@]}"; do
	vr_info "$c (${DEV[$c]}): naive failed as it should ${OK[$c-naive]:-0}/$N_NAIVE (unbind ms: ${NV[$c]:-}; last close ms/comm: ${FIG[$c-naive-close]:-n/a})"
	vr_info "$c (${DEV[$c]}): gate ok ${OK[$c-gate]:-0}/$N_GATED (free ms after QEMU's exit: ${FIG[$c-gate-free-after-exit]:-}; COMMAND ms after the holder's kill: ${FIG[$c-gate-cmd-after-kill]:-}), unplug waited ${OK[$c-unplug]:-0}/$N_GATED (exit ms after the holder's kill: ${FIG[$c-unplug-after-kill]:-}); last close ms/comm: ${FIG[$c-gated-close]:-}"
done
mon_stop
check monitor-log-sane mon_log_sane

# --- back to e1000e ---
for d in "${DEV[b]}" "${DEV[c]}" "$f0" "$f1"; do
	[ "$(vr_driver_of "$d")" = e1000e ] || "$RIG" restore "$d" --driver e1000e >/dev/null 2>&1 ||
		vr_bind_host "$d" e1000e
done
check all-back-on-e1000e bash -c "for d in ${DEV[b]} ${DEV[c]} $f0 $f1; do [ \"\$(basename \$(readlink /sys/bus/pci/devices/\$d/driver))\" = e1000e ] || exit 1; done"
check no-kernel-warning bash -c "! dmesg | grep -E 'WARNING:|BUG:|Oops|general protection'"
vr_info "qemu-race: $((SECONDS - t_start)) s in the guest: $N_NAIVE naive + $N_GATED gated cycles of 3 cases, delay $DELAY_MS ms, hold $HOLD_MS ms"
vr_done
