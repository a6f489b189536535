#!/bin/bash
# The QMP client against the host's real QEMU (qemu-system-x86_64, TCG,
# no guest: -S) and fake monitors, as PASS/FAIL lines: connect and
# version, commands and error replies, QOM devices, DEVICE_DELETED
# through dispatch, QEMU killed with a command pending, garbage. Then the
# client's unit suite under valgrind (leaks, bad reads).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
us=$top/userspace
tmp=$(mktemp -d)
qemu_pid=
cleanup() {
	[ -n "$qemu_pid" ] && kill -9 "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

qemu=$(command -v qemu-system-x86_64)
if [ -z "$qemu" ]; then
	echo "FAIL qmp-qemu: qemu-system-x86_64 is missing (scripts/install-deps.sh installs qemu-system-x86)"
	exit 0
fi
if ! make -s -C "$us" >"$tmp/log" 2>&1 ||
	! ${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -I"$us/include" -I"$top/uapi" \
		-o "$tmp/qmp-live" "$top/tests/unit/qmp-live.c" -L"$us/lib" -lvfio-release \
		-Wl,-rpath,"$us/lib" >>"$tmp/log" 2>&1; then
	echo "FAIL qmp-build: $(tail -n 3 "$tmp/log" | tr '\n' ' ')"
	exit 0
fi

# "QEMU emulator version 7.2.22 (Debian ...)" -> 7.2.22
version=$("$qemu" --version | sed -n '1s/^QEMU emulator version \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
sock=$tmp/qmp.sock
# Its exit status through a subshell: bash would report the SIGKILL.
(
	"$qemu" -machine q35 -accel tcg -nodefaults -display none -S \
		-qmp "unix:$sock,server=on,wait=off" -pidfile "$tmp/qemu.pid" \
		-device qemu-xhci,id=xhci -device usb-kbd,id=kbd0 >"$tmp/qemu.log" 2>&1
	echo $? >"$tmp/qemu.rc"
) 2>/dev/null &
waiter=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && [ -s "$tmp/qemu.pid" ] && break
	[ -e "$tmp/qemu.rc" ] && break
	sleep 0.1
done
qemu_pid=$(cat "$tmp/qemu.pid" 2>/dev/null)
if [ ! -S "$sock" ] || [ -z "$qemu_pid" ]; then
	echo "FAIL qmp-qemu-start: no monitor socket: $(tail -n 3 "$tmp/qemu.log" | tr '\n' ' ')"
	exit 0
fi

timeout 60 "$tmp/qmp-live" "$sock" "$qemu_pid" "$version"
rc=$?
# Any exit but the helper's own (0: all passed, 1: some failed) is a crash.
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
	echo "FAIL qmp-live: exited $rc"
fi
# QEMU may survive a helper that died early: not past this point.
kill -9 "$qemu_pid" 2>/dev/null
wait "$waiter"
st=$(cat "$tmp/qemu.rc" 2>/dev/null)
qemu_pid=
# 137: the SIGKILL of qmp-killed-pending-command, and nothing else.
if [ "$st" = 137 ]; then echo "PASS qmp-qemu-was-killed"; else echo "FAIL qmp-qemu-was-killed: QEMU exited $st"; fi

if ! make -s -C "$us" lib/libvfio-release-internal.a >"$tmp/log" 2>&1 ||
	! make -s -C "$top/tests/unit" test-qmp >>"$tmp/log" 2>&1; then
	echo "FAIL qmp-unit-build: $(tail -n 3 "$tmp/log" | tr '\n' ' ')"
	exit 0
fi
if ! command -v valgrind >/dev/null; then
	echo "FAIL qmp-unit-valgrind: valgrind is missing (scripts/install-deps.sh installs it)"
	exit 0
fi
if valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
	"$top/tests/unit/test-qmp" >"$tmp/vg" 2>&1; then
	echo "PASS qmp-unit-valgrind"
else
	echo "FAIL qmp-unit-valgrind: $(grep -E 'FAILED|ERROR|==[0-9]+==' "$tmp/vg" | head -n 3 | tr '\n' ' ')"
fi
