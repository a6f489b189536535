#!/bin/bash
# rt-regression.sh [KVER]: proof that the debug kernel catches what it
# should. The module as it was before its RT fix (adbc57d, "never gets in
# VFIO's way") took a spinlock_t in its kretprobe handlers (the event
# ring's lock, and task_lock through get_task_comm): on PREEMPT_RT those
# are sleeping locks, taken here with preemption off. Debian's RT kernels
# say nothing; this kernel must report it. The current module, run the
# same way, must not.
#
# Prints PASS/FAIL lines and "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
kver=${1:-$(cat "${VR_DEBUG_CACHE:-/var/cache/vfio-release/debug-kernel}/kernelrelease" 2>/dev/null)}
[ -n "$kver" ] || { echo "rt-regression.sh: no debug kernel: make debug-kernel" >&2; exit 2; }
kdir=/lib/modules/$kver/build
[ -d "$kdir" ] || { echo "rt-regression.sh: no build tree $kdir: make debug-kernel" >&2; exit 2; }

# The last commit before the fix.
before_fix=adbc57d^
pass=0 fail=0
result() {
	echo "$1 rt-regression-$2${3:+: $3}"
	if [ "$1" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

old=$top/build/$kver/pre-rt-fix
rm -rf "$old" && mkdir -p "$old"
if ! git -C "$top" rev-parse -q --verify "$before_fix^{commit}" >/dev/null; then
	result FAIL old-source "commit $before_fix is not in this clone (a shallow clone?)"
elif git -C "$top" archive "$before_fix" Kbuild kmod uapi | tar -x -C "$old" &&
	make -C "$kdir" M="$old" modules >"$old/build.log" 2>&1; then
	result PASS old-module-builds
else
	result FAIL old-module-builds "see $old/build.log"
fi

# run KO: boot the debug kernel once with that module; run_log is the
# console log's path, run_rc run-vm.sh's status.
run_log='' run_rc=0
run() {
	local out
	run_rc=0
	out=$(VR_TIMEOUT_SCALE=${VR_TIMEOUT_SCALE:-4} tests/vm/run-vm.sh "$kver" \
		tests/debug-kernel/guest-rt-regression.sh "$1" 2>&1) || run_rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	run_log=$(printf '%s\n' "$out" | sed -n 's/^run-vm: console log //p' | tail -n1)
}

# What PREEMPT_RT with DEBUG_ATOMIC_SLEEP or lockdep's wait-context
# check says of a sleeping lock taken with preemption or interrupts off.
splat='BUG: sleeping function called from invalid context|BUG: Invalid wait context'
if [ -f "$old/vfio_release.ko" ]; then
	run "$old/vfio_release.ko"
	# Counted, not grep -q: under pipefail an early exit is a SIGPIPE.
	if [ "$(grep -A40 -E "$splat" "$run_log" | grep -c '\[vfio_release\]')" -gt 0 ]; then
		result PASS old-module-splats "$(grep -m1 -E "$splat" "$run_log" | tr -d '\r')"
	else
		result FAIL old-module-splats "no sleeping-lock report naming vfio_release in $run_log"
	fi
fi

if make -s module KVER="$kver" >/dev/null 2>&1; then
	run "$top/build/$kver/vfio_release.ko"
	if grep -qE "$splat|BUG:|WARNING:" "$run_log"; then
		result FAIL current-module-silent "$(grep -m1 -E "$splat|BUG:|WARNING:" "$run_log" | tr -d '\r')"
	elif [ "$run_rc" != 0 ]; then
		result FAIL current-module-silent "the run failed ($run_log)"
	else
		result PASS current-module-silent
	fi
else
	result FAIL current-module-builds "make module KVER=$kver"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
