#!/bin/bash
# test.sh: `make test-debug`. Builds (or finds cached) the debug kernel,
# runs every guest group on it, then the checks only it can make: the
# module as it was before each fix of a bug this kernel catches must
# splat here (known-bugs.sh), and the dkms-signed module loads under
# module.sig_enforce=1 while an unsigned one is refused (signing.sh). Any KASAN, lockdep, atomic-sleep
# or kmemleak report fails the run (run-vm.sh reads the console;
# guest-lib.sh's vr_done scans kmemleak after unloading the module).
#
# Ends with "N passed, N failed, N skipped", the sum of its parts.
#
# Environment: VR_TIMEOUT_SCALE (default 10) stretches every group's
# timeout for the slower kernel; VR_JOBS as for tests/run.sh.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cd "$top" || exit 1
log_dir=${VR_LOG_DIR:-$top/build/test-logs}
mkdir -p "$log_dir"

echo "== dependencies"
scripts/install-deps.sh >"$log_dir/deps.log" 2>&1 ||
	{ tail -n 20 "$log_dir/deps.log"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

echo "== debug kernel"
if ! "$here/build.sh" >"$log_dir/debug-kernel.log" 2>&1; then
	tail -n 30 "$log_dir/debug-kernel.log"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
fi
kver=$(tail -n1 "$log_dir/debug-kernel.log")
echo "$kver"

pass=0 fail=0 skip=0
# part NAME CMD...: run one part, show it, add its final counts.
part() {
	local name=$1 out counts p f s
	shift
	echo "== $name"
	out=$log_dir/debug-$name.out
	"$@" 2>&1 | tee "$out"
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n1)
	if [ -z "$counts" ]; then
		echo "FAIL $name: it printed no result line (see $out)"
		fail=$((fail + 1))
		return
	fi
	read -r p _ f _ s _ <<<"${counts//,/}"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + ${s:-0}))
}

echo "== build for $kver"
if ! make -s module KVER="$kver" >"$log_dir/debug-build.log" 2>&1 ||
	! make -s -C tests/drivers driver KVER="$kver" >>"$log_dir/debug-build.log" 2>&1; then
	tail -n 30 "$log_dir/debug-build.log"
	fail=$((fail + 1))
else
	export VR_TIMEOUT_SCALE=${VR_TIMEOUT_SCALE:-10}
	part suite tests/run.sh --vm-only --kernel "$kver"
	part known-bugs "$here/known-bugs.sh" "$kver"
	if [ -x "$here/signing.sh" ]; then
		part signing "$here/signing.sh" "$kver"
	fi
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
