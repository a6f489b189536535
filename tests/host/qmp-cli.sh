#!/bin/bash
# vfio-release unplug and gate against a real QEMU on the host (Debian's
# qemu-system-x86_64, TCG, -S), with no vfio_release module: what can be
# checked without the kernel's side. Argument errors; a socket that does
# not exist, one nobody listens on, a monitor held by another client; a
# device that is not vfio-pci (usb-kbd) refused by unplug and gate before
# any device_del (it is still in QEMU afterwards, asked on the other
# monitor); gate --all with nothing to wait for; QEMU killed while gate
# waits for its greeting. Then a fake QMP monitor (python3) with a
# vfio-pci device: the QOM lookups bounded by --timeout, and no
# device_del sent when they used up the time. gate's own statuses are
# 124 (timeout) and 125 (error). COMMAND never runs. One line per check:
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
	for p in $gate_pid $hold_pid $qemu_pid ${fake_pid:-}; do
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
expect gate-needs-command 125 'no COMMAND given' "$cli" gate --qmp "$A" --all
expect gate-id-or-all 125 'either --id ID or --all' "$cli" gate --qmp "$A" --id kbd0 --all -- true
expect gate-neither 125 'either --id ID or --all' "$cli" gate --qmp "$A" -- true
expect gate-all-no-host 125 '--host goes with --id' "$cli" gate --qmp "$A" --all --host 01:00.0 -- true
if "$cli" help unplug | grep -q -- '--qmp SOCKET --id ID' && "$cli" help gate | grep -q -- '-- COMMAND'; then
	pass help-unplug-gate
else
	fail help-unplug-gate "$("$cli" help unplug 2>&1 | head -n 2)"
fi

# --- sockets ---
expect unplug-no-socket 2 "$tmp/nope: no such socket" "$cli" unplug --qmp "$tmp/nope" --id kbd0
expect gate-no-socket 125 "$tmp/nope: no such socket" "$cli" gate --qmp "$tmp/nope" --all -- touch "$tmp/ran"
: >"$tmp/plain"
expect unplug-not-a-socket 2 "$tmp/plain: not a socket" \
	"$cli" unplug --qmp "$tmp/plain" --id kbd0

# --- a device that is not vfio-pci: refused before device_del ---
expect unplug-non-vfio 2 "device 'kbd0' is not a vfio-pci device" \
	"$cli" unplug --qmp "$A" --id kbd0 --timeout 5
if has_kbd0; then pass unplug-non-vfio-kept; else fail unplug-non-vfio-kept "kbd0 is gone: $(cat "$tmp/qom")"; fi
"$cli" unplug --qmp "$A" --id kbd0 --json >"$tmp/json" 2>"$tmp/err"
rc=$?
# The error's errno and words; no qemu_event, none was seen (EMEDIUMTYPE 124).
if [ "$rc" = 2 ] && jq -e '.schema == 1 and .event == "unplug" and .result == "error" and
	.device_del_sent == false and .exit == 2 and .id == "kbd0" and (has("qemu_event") | not) and
	.error.errno == 124 and (.error.message | test("not a vfio-pci device"))' "$tmp/json" >/dev/null; then
	pass unplug-non-vfio-json
else
	fail unplug-non-vfio-json "exit $rc: $(head -c 300 "$tmp/json")"
fi
expect unplug-no-such-id 2 "no device with id 'nope'" "$cli" unplug --qmp "$A" --id nope
expect unplug-host-non-vfio 2 "device 'kbd0' is not a vfio-pci device" \
	"$cli" unplug --qmp "$A" --id kbd0 --host 0000:01:00.0
expect gate-non-vfio 125 "device 'kbd0' is not a vfio-pci device" \
	"$cli" gate --qmp "$A" --id kbd0 -- touch "$tmp/ran"
expect gate-all-nothing 125 'has no vfio-pci device: nothing to wait for' \
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
: >"$tmp/hold"
"$qmpcmd" --hold "$B" >"$tmp/hold" 2>&1 &
hold_pid=$!
# Only ever killed: no job notice for it.
disown "$hold_pid"
wait_for 10 grep -q held "$tmp/hold"
expect gate-held-monitor 125 "$B: no QMP greeting within 1.0 s \(another client" \
	"$cli" gate --qmp "$B" --all --timeout 1 -- touch "$tmp/ran"

# --- QEMU killed while gate waits for its greeting (monitor B is held) ---
# Only the connect phase: without the kernel's side (no module on the
# host) gate cannot get further on a real QEMU; the fake monitor below
# covers QEMU going during the QOM lookups.
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
	if [ "$rc" = 125 ] && grep -q "$B: QEMU closed the monitor before it greeted" "$tmp/gate.err" && [ ! -e "$tmp/ran" ]; then
		pass gate-qemu-killed-before-greeting
	else
		fail gate-qemu-killed-before-greeting "exit $rc, ran: $([ -e "$tmp/ran" ] && echo yes || echo no): $(cat "$tmp/gate.err")"
	fi
else
	fail gate-qemu-killed-before-greeting "gate still runs 10 s after QEMU was killed: $(cat "$tmp/gate.err")"
fi
kill -KILL "$hold_pid" 2>/dev/null
hold_pid=

# --- QEMU already gone: its socket is left, nobody listens ---
expect gate-qemu-gone 125 "$A: (nobody listens on this socket|no such socket)" \
	"$cli" gate --qmp "$A" --all -- touch "$tmp/ran"
expect unplug-qemu-gone 2 "$A: (nobody listens on this socket|no such socket)" \
	"$cli" unplug --qmp "$A" --id kbd0
if [ ! -e "$tmp/ran" ]; then pass gate-never-ran; else fail gate-never-ran "COMMAND ran"; fi

# --- a fake QMP monitor with a vfio-pci device (QEMU 7.2's answers) ---
# MODE slowqom: each qom-get answers after 0.4 s; silent: no answer but
# qmp_capabilities'; closeonlist: closes the connection at qom-list.
# Every command is logged to LOG, one line each.
cat >"$tmp/fakeqmp.py" <<'PY'
import json, os, socket, sys, time
path, mode, log = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(4)
def answer(c, m):
    ex, a = m.get("execute"), m.get("arguments", {})
    if ex == "qmp_capabilities":
        return {"return": {}}
    if mode == "silent":
        return None
    if ex == "qom-list" and mode == "closeonlist":
        raise EOFError
    if ex == "qom-get":
        if mode == "slowqom":
            time.sleep(0.4)
        prop = a.get("property")
        if prop == "type":
            return {"return": "vfio-pci"}
        if prop == "host":
            return {"return": "0000:01:00.0"}
        if prop == "sysfsdev":
            return {"return": ""}
    if ex == "qom-list-types":
        return {"return": [{"name": "vfio-pci"}, {"name": "vfio-pci-nohotplug"}]}
    if ex == "qom-list":
        return {"return": [{"name": "hostdev0", "type": "child<vfio-pci>"}]}
    if ex == "device_del":
        return {"return": {}}
    return {"error": {"class": "GenericError", "desc": "not faked"}}
while True:
    c, _ = s.accept()
    c.sendall(b'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": []}}\r\n')
    buf = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                break
            buf += d
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                if not line.strip():
                    continue
                m = json.loads(line)
                with open(log, "a") as f:
                    f.write(m.get("execute", "?") + "\n")
                r = answer(c, m)
                if r is not None:
                    if "id" in m:
                        r["id"] = m["id"]
                    c.sendall(json.dumps(r).encode() + b"\r\n")
    except (EOFError, OSError):
        pass
    c.close()
PY
fake_pid=
# fake_start MODE: a fake monitor at $F, its commands in $tmp/fake.log.
F=$tmp/fake
fake_start() {
	[ -z "$fake_pid" ] || { kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; }
	rm -f "$F" "$tmp/fake.log"
	: >"$tmp/fake.log"
	python3 "$tmp/fakeqmp.py" "$F" "$1" "$tmp/fake.log" 2>"$tmp/fake.err" &
	fake_pid=$!
	wait_for 10 test -S "$F"
}
# elapsed_under MS CMD...: CMD runs (status in $rc, out/err in files) within MS.
elapsed_under() {
	local max=$1 t0 t1
	shift
	t0=$(date +%s%N)
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	t1=$(date +%s%N)
	took=$(((t1 - t0) / 1000000))
	[ "$took" -lt "$max" ]
}
if ! command -v python3 >/dev/null; then
	fail qmp-cli-fake "python3 is not installed (the fake QMP monitor)"
elif ! fake_start slowqom; then
	fail qmp-cli-fake "the fake monitor did not start: $(cat "$tmp/fake.err")"
else
	pass qmp-cli-fake-starts
	# Three QOM answers at 0.4 s each leave under 1 s of --timeout 1.2.
	"$cli" unplug --qmp "$F" --id hostdev0 --timeout 1.2 --json >"$tmp/json" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 1 ] && ! grep -q device_del "$tmp/fake.log" &&
		grep -q 'hostdev0: not sending device_del: .* the QOM lookups used up the time' "$tmp/err" &&
		jq -e '.device_del_sent == false and .result == "timeout" and .exit == 1 and
			.device == "0000:01:00.0" and .error.errno == 110' "$tmp/json" >/dev/null; then
		pass unplug-no-time-left-no-device-del
	else
		fail unplug-no-time-left-no-device-del "exit $rc; sent: $(tr '\n' ' ' <"$tmp/fake.log"); $(head -c 300 "$tmp/err") $(jq -c . "$tmp/json" 2>&1 | head -c 300)"
	fi

	fake_start silent
	# QOM's wait is what --timeout leaves (1.5 s), not a fixed 5 s.
	if elapsed_under 3500 "$cli" unplug --qmp "$F" --id hostdev0 --timeout 1.5 &&
		[ "$rc" = 1 ] && grep -q "did not answer about device 'hostdev0' within the 1.5 s left of --timeout" "$tmp/err" &&
		! grep -q device_del "$tmp/fake.log"; then
		pass unplug-qom-bounded-by-timeout
	else
		fail unplug-qom-bounded-by-timeout "exit $rc after $took ms: $(head -c 300 "$tmp/err")"
	fi
	if elapsed_under 3500 "$cli" gate --qmp "$F" --id hostdev0 --timeout 1.5 -- touch "$tmp/ran" &&
		[ "$rc" = 124 ] && grep -q "within the 1.5 s left of --timeout" "$tmp/err" && [ ! -e "$tmp/ran" ]; then
		pass gate-qom-timeout-124
	else
		fail gate-qom-timeout-124 "exit $rc after $took ms: $(head -c 300 "$tmp/err")"
	fi
	if elapsed_under 3500 "$cli" gate --qmp "$F" --all --timeout 1.5 -- touch "$tmp/ran" &&
		[ "$rc" = 124 ] && grep -q "did not list its devices within the 1.5 s left of --timeout" "$tmp/err" && [ ! -e "$tmp/ran" ]; then
		pass gate-all-list-timeout-124
	else
		fail gate-all-list-timeout-124 "exit $rc after $took ms: $(head -c 300 "$tmp/err")"
	fi
	# Without --timeout the QOM wait is 5 s: a status of gate's own, 125.
	if elapsed_under 9000 "$cli" gate --qmp "$F" --id hostdev0 -- touch "$tmp/ran" &&
		[ "$rc" = 125 ] && grep -q "did not answer about device 'hostdev0' within 5.0 s" "$tmp/err"; then
		pass gate-qom-5s-125
	else
		fail gate-qom-5s-125 "exit $rc after $took ms: $(head -c 300 "$tmp/err")"
	fi

	fake_start closeonlist
	expect gate-qemu-gone-while-listing 125 "$F: QEMU closed the monitor while its devices were listed" \
		"$cli" gate --qmp "$F" --all --timeout 10 -- touch "$tmp/ran"
	if [ ! -e "$tmp/ran" ]; then pass gate-fake-never-ran; else fail gate-fake-never-ran "COMMAND ran"; fi
	kill "$fake_pid" 2>/dev/null
	wait "$fake_pid" 2>/dev/null
	fake_pid=
fi
