#!/bin/bash
# `make demo` (tests/demo) runs, exits 0, and its story says what the
# kernel and the module did: the naive unbind blocked (the kernel's own
# "blocked until released by user") and the release's reset was skipped;
# the gated `vfio-release reattach` exited 0 with the NIC on e1000e and the
# reset done; the monitor's events came in order; no kernel console lines
# in the story, and the console log it names exists. Then, without a VM,
# that it fails loudly when something it needs is missing. One VM boot
# (about 30 s).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/demo.out

t0=$SECONDS
make -s -C "$top" demo >"$out" 2>&1
rc=$?
echo "INFO demo: make demo took $((SECONDS - t0)) s, exit $rc"
why() { tail -n 8 "$out" | tr '\n' ' '; }

# Each story line, prefixed with the number of the step it belongs to.
awk '/^ *[0-9.]+s [0-9]+\. / { step = $2; sub(/\./, "", step) } { print step + 0 "|" $0 }' "$out" >"$tmp/steps"
# in_step N REGEX: a line of step N matches.
in_step() { grep -E "^$1\|" "$tmp/steps" | grep -qE "$2"; }
# The step whose title matches REGEX (the numbers are the demo's to change).
step_of() { grep -E "^[0-9]+\| *[0-9.]+s [0-9]+\. $1" "$tmp/steps" | head -n1 | cut -d'|' -f1; }

if [ "$rc" = 0 ] && grep -qE '^demo: OK: all [0-9]+ checks passed' "$out"; then
	echo "PASS demo-exit-0"
else
	echo "FAIL demo-exit-0: make demo exited $rc: $(why)"
fi
if grep -qE "^ *[0-9.]+s 1\. Boot Debian's [^ ]+ under QEMU TCG" "$out"; then
	echo "PASS demo-names-kernel"
else
	echo "FAIL demo-names-kernel: no 'Boot Debian's KERNEL' line: $(head -n 4 "$out" | tr '\n' ' ')"
fi

naive=$(step_of 'SIGKILL the VM')
gated=$(step_of 'Again, gated')
if [ -z "$naive" ] || [ -z "$gated" ]; then
	echo "FAIL demo-steps: the naive or the gated step is missing: $(why)"
else
	echo "PASS demo-steps"
	ms=$(grep -E "^$naive\|" "$tmp/steps" | sed -n 's/.*the naive unbind blocked for \([0-9]*\) ms.*/\1/p' | head -n1)
	if [ -n "$ms" ] && [ "$ms" -gt 0 ] && in_step "$naive" 'blocked until released by user'; then
		echo "PASS demo-naive-unbind-blocked"
	else
		echo "FAIL demo-naive-unbind-blocked: no blocked unbind with the kernel's message in step $naive"
	fi
	if in_step "$naive" 'monitor: released +state=released reset=skipped close_ns=[0-9]+' &&
		in_step "$naive" 'the module: released after a [0-9]+ ms close, reset=skipped'; then
		echo "PASS demo-naive-reset-skipped"
	else
		echo "FAIL demo-naive-reset-skipped: no released event with reset=skipped in step $naive"
	fi
	# The monitor's events of the naive cycle, in the order they came.
	order=$(grep -E "^$naive\|" "$tmp/steps" | sed -n 's/.*monitor: \([a-z-]*\).*/\1/p' | tr '\n' ' ')
	if [ "$order" = "released free removed " ]; then
		echo "PASS demo-monitor-events-in-order"
	else
		echo "FAIL demo-monitor-events-in-order: step $naive showed '$order', not 'released free removed'"
	fi
	if in_step "$gated" 'reattach: [0-9a-f:.]+: reattached to e1000e' &&
		in_step "$gated" "reattach exited 0 after [0-9]+ ms, the NIC on 'e1000e'"; then
		echo "PASS demo-gated-reattach-e1000e"
	else
		echo "FAIL demo-gated-reattach-e1000e: step $gated has no reattach to e1000e with exit 0"
	fi
	if in_step "$gated" 'monitor: released +state=released reset=function' &&
		in_step "$gated" 'no unbind waited for the device'; then
		echo "PASS demo-gated-reset-done"
	else
		echo "FAIL demo-gated-reset-done: step $gated has no released event with reset=function and no blocked unbind"
	fi
fi

# The story only: no kernel console lines ("[   12.345678] ...").
if grep -qE '^\[ *[0-9]+\.[0-9]+\]' "$out"; then
	echo "FAIL demo-no-console-noise: $(grep -m1 -E '^\[ *[0-9]+\.[0-9]+\]' "$out")"
else
	echo "PASS demo-no-console-noise"
fi
log=$(sed -n 's/^demo: full guest console: //p' "$out")
if [ -n "$log" ] && [ -s "$log" ]; then
	echo "PASS demo-console-log"
else
	echo "FAIL demo-console-log: the console log '$log' it names is missing or empty"
fi

# Failing loudly, without a VM: a kernel that is not there, and no QEMU.
neg_rc=0
VR_DEMO_KERNEL=0.0-none "$top/tests/demo/demo.sh" >"$tmp/neg" 2>&1 || neg_rc=$?
if [ "$neg_rc" = 1 ] && grep -q '^demo: FAILED: VR_DEMO_KERNEL=0.0-none: no such kernel' "$tmp/neg"; then
	echo "PASS demo-fails-no-such-kernel"
else
	echo "FAIL demo-fails-no-such-kernel: exit $neg_rc: $(head -c 300 "$tmp/neg")"
fi
# A PATH with every command of /usr/bin and /usr/sbin but QEMU's.
mkdir "$tmp/bin"
ln -s /usr/bin/* /usr/sbin/* "$tmp/bin/" 2>/dev/null
rm -f "$tmp/bin/qemu-system-x86_64"
neg_rc=0
PATH=$tmp/bin "$top/tests/demo/demo.sh" >"$tmp/neg" 2>&1 || neg_rc=$?
if [ "$neg_rc" = 1 ] && grep -q '^demo: FAILED: qemu-system-x86_64 is not installed' "$tmp/neg"; then
	echo "PASS demo-fails-no-qemu"
else
	echo "FAIL demo-fails-no-qemu: exit $neg_rc: $(head -c 300 "$tmp/neg")"
fi
