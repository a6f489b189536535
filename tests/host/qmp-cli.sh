#!/bin/bash
# vfio-release unplug and gate against a real QEMU on the host (Debian's
# qemu-system-x86_64, TCG, -S), with no vfio_release module: what can be
# checked without the kernel's side. Argument errors; a socket that does
# not exist, one nobody listens on, a monitor held by another client; a
# device that is not vfio-pci (usb-kbd) refused by unplug and gate before
# any device_del (it is still in QEMU afterwards, asked on the other
# monitor); gate --all with nothing to wait for; QEMU killed while gate
# waits on its monitor. COMMAND never runs. One line per check:
# PASS name / FAIL name: why.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cli=$top/userspace/vfio-release
qmpcmd=$top/tests/helpers/qmp-cmd
tmp=$(mktemp -d)
qemu_pid=
hold_pid=
gate_pid=
cleanup() {
	local p
	for p in $gate_pid $hold_pid $qemu_pid; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

if ! make -s -C "$top/userspace" vfio-release >"$tmp/log" 2>&1 ||
	! make -s -C "$top/tests/helpers" qmp-cmd >>"$tmp/log" 2>&1; then
	echo "FAIL qmp-cli-build: $(tail -n 3 "$tmp/log" | tr '\n' ' ')"
	exit 0
fi
if ! command -v qemu-system-x86_64 >/dev/null; then
	echo "FAIL qmp-cli-qemu: qemu-system-x86_64 is not installed"
	exit 0
fi

# wait_for SECONDS CMD...: poll CMD until it succeeds, at most SECONDS.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}
running() { kill -0 "$1" 2>/dev/null; }

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2" | tr '\n' ' '; echo; }

# expect NAME STATUS REGEX CMD...: CMD exits STATUS and its stderr matches REGEX.
expect() {
	local name=$1 want=$2 re=$3 rc
	shift 3
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		fail "$name" "exit $rc, not $want: $(head -c 300 "$tmp/err")"
	elif ! grep -Eq -- "$re" "$tmp/err"; then
		fail "$name" "stderr does not say /$re/: $(head -c 300 "$tmp/err")"
	else
		pass "$name"
	fi
}

A=$tmp/qmp-a
B=$tmp/qmp-b
start_qemu() {
	rm -f "$A" "$B"
	qemu-system-x86_64 -machine q35 -accel tcg -nodefaults -display none -S \
		-qmp "unix:$A,server=on,wait=off" -qmp "unix:$B,server=on,wait=off" \
		-device qemu-xhci,id=xhci -device usb-kbd,id=kbd0 >"$tmp/qemu.log" 2>&1 &
	qemu_pid=$!
	wait_for 20 test -S "$B" && wait_for 20 "$qmpcmd" "$B" query-status >/dev/null 2>&1
}
# The devices QEMU has, asked on monitor B with the raw helper.
has_kbd0() {
	"$qmpcmd" "$B" qom-list '{"path": "/machine/peripheral"}' >"$tmp/qom" 2>&1 &&
		grep -q '"name": "kbd0"' "$tmp/qom"
}

if start_qemu && has_kbd0; then
	pass qmp-cli-qemu-starts
else
	fail qmp-cli-qemu-starts "$(tail -n 3 "$tmp/qemu.log") $(cat "$tmp/qom" 2>/dev/null)"
	exit 0
fi

# --- arguments: refused before anything is touched ---
expect unplug-needs-qmp 2 'unplug: --qmp SOCKET is required' "$cli" unplug --id kbd0
expect unplug-needs-id 2 'unplug: --id ID is required' "$cli" unplug --qmp "$A"
expect unplug-bad-id 2 "bad id 'a/b'" "$cli" unplug --qmp "$A" --id a/b
expect unplug-driver-needs-reattach 2 'driver needs --reattach' \
	"$cli" unplug --qmp "$A" --id kbd0 --driver e1000e
expect unplug-stub-driver 2 'pci-stub is not a host driver' \
	"$cli" unplug --qmp "$A" --id kbd0 --reattach --driver pci-stub
expect unplug-bad-host 2 "'nothing' is not a PCI address" \
	"$cli" unplug --qmp "$A" --id kbd0 --host nothing
expect unplug-bad-timeout 2 "bad timeout '1e3'" "$cli" unplug --qmp "$A" --id kbd0 --timeout 1e3
expect unplug-stray-argument 2 "unexpected argument 'extra'" "$cli" unplug --qmp "$A" --id kbd0 extra
expect gate-needs-command 2 'no COMMAND given' "$cli" gate --qmp "$A" --all
expect gate-id-or-all 2 'either --id ID or --all' "$cli" gate --qmp "$A" --id kbd0 --all -- true
expect gate-neither 2 'either --id ID or --all' "$cli" gate --qmp "$A" -- true
expect gate-all-no-host 2 '--host goes with --id' "$cli" gate --qmp "$A" --all --host 01:00.0 -- true
if "$cli" help unplug | grep -q -- '--qmp SOCKET --id ID' && "$cli" help gate | grep -q -- '-- COMMAND'; then
	pass help-unplug-gate
else
	fail help-unplug-gate "$("$cli" help unplug 2>&1 | head -n 2)"
fi

# --- sockets ---
expect unplug-no-socket 2 "$tmp/nope: no such socket" "$cli" unplug --qmp "$tmp/nope" --id kbd0
expect gate-no-socket 2 "$tmp/nope: no such socket" "$cli" gate --qmp "$tmp/nope" --all -- touch "$tmp/ran"
: >"$tmp/plain"
expect unplug-not-a-socket 2 "$tmp/plain: not a socket" \
	"$cli" unplug --qmp "$tmp/plain" --id kbd0

# --- a device that is not vfio-pci: refused before device_del ---
expect unplug-non-vfio 2 "device 'kbd0' is not a vfio-pci device" \
	"$cli" unplug --qmp "$A" --id kbd0 --timeout 5
if has_kbd0; then pass unplug-non-vfio-kept; else fail unplug-non-vfio-kept "kbd0 is gone: $(cat "$tmp/qom")"; fi
"$cli" unplug --qmp "$A" --id kbd0 --json >"$tmp/json" 2>"$tmp/err"
rc=$?
if [ "$rc" = 2 ] && jq -e '.schema == 1 and .event == "unplug" and .result == "error" and
	.device_del_sent == false and .exit == 2 and .id == "kbd0"' "$tmp/json" >/dev/null; then
	pass unplug-non-vfio-json
else
	fail unplug-non-vfio-json "exit $rc: $(head -c 300 "$tmp/json")"
fi
expect unplug-no-such-id 2 "no device with id 'nope'" "$cli" unplug --qmp "$A" --id nope
expect unplug-host-non-vfio 2 "device 'kbd0' is not a vfio-pci device" \
	"$cli" unplug --qmp "$A" --id kbd0 --host 0000:01:00.0
expect gate-non-vfio 2 "device 'kbd0' is not a vfio-pci device" \
	"$cli" gate --qmp "$A" --id kbd0 -- touch "$tmp/ran"
expect gate-all-nothing 2 'has no vfio-pci device: nothing to wait for' \
	"$cli" gate --qmp "$A" --all -- touch "$tmp/ran"
if has_kbd0; then pass gate-non-vfio-kept; else fail gate-non-vfio-kept "kbd0 is gone: $(cat "$tmp/qom")"; fi
if [ ! -e "$tmp/ran" ]; then pass gate-refused-ran-nothing; else fail gate-refused-ran-nothing "COMMAND ran"; fi

# The usb-kbd's own unplug, to show this QEMU does answer device_del
# without a guest (so the refusal above is unplug's, not QEMU's).
no_kbd0() { ! has_kbd0; }
if "$qmpcmd" "$A" device_del '{"id": "kbd0"}' >"$tmp/del" 2>&1 && wait_for 10 no_kbd0; then
	pass qemu-deletes-kbd0
else
	fail qemu-deletes-kbd0 "$(cat "$tmp/del")"
fi

# --- a monitor held by another client: no greeting ---
"$qmpcmd" --hold "$B" >"$tmp/hold" 2>&1 &
hold_pid=$!
# Only ever killed: no job notice for it.
disown "$hold_pid"
wait_for 10 grep -q held "$tmp/hold"
expect gate-held-monitor 2 "$B: no QMP greeting within 1.0 s \(another client" \
	"$cli" gate --qmp "$B" --all --timeout 1 -- touch "$tmp/ran"

# --- QEMU killed while gate waits on its monitor ---
"$cli" gate --qmp "$B" --all -- touch "$tmp/ran" >"$tmp/gate.out" 2>"$tmp/gate.err" &
gate_pid=$!
# gate_connected: gate holds a socket (connected, waiting for the greeting).
gate_connected() { ls -l "/proc/$gate_pid/fd" 2>/dev/null | grep -q 'socket:'; }
wait_for 10 gate_connected || fail gate-connects "gate holds no socket: $(cat "$tmp/gate.err")"
kill -KILL "$qemu_pid"
{ wait "$qemu_pid"; } 2>/dev/null
qemu_pid=
if wait_for 10 bash -c "! kill -0 $gate_pid 2>/dev/null"; then
	wait "$gate_pid"
	rc=$?
	gate_pid=
	if [ "$rc" = 2 ] && grep -q "$B: QEMU closed the monitor" "$tmp/gate.err" && [ ! -e "$tmp/ran" ]; then
		pass gate-qemu-killed
	else
		fail gate-qemu-killed "exit $rc, ran: $([ -e "$tmp/ran" ] && echo yes || echo no): $(cat "$tmp/gate.err")"
	fi
else
	fail gate-qemu-killed "gate still runs 10 s after QEMU was killed: $(cat "$tmp/gate.err")"
fi
kill -KILL "$hold_pid" 2>/dev/null
hold_pid=

# --- QEMU already gone: its socket is left, nobody listens ---
expect gate-qemu-gone 2 "$A: (nobody listens on this socket|no such socket)" \
	"$cli" gate --qmp "$A" --all -- touch "$tmp/ran"
expect unplug-qemu-gone 2 "$A: (nobody listens on this socket|no such socket)" \
	"$cli" unplug --qmp "$A" --id kbd0
if [ ! -e "$tmp/ran" ]; then pass gate-never-ran; else fail gate-never-ran "COMMAND ran"; fi
