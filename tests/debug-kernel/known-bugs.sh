#!/bin/bash
# known-bugs.sh [KVER]: proof that the debug kernel catches what it
# should. Each bug the module once had is built from the commit before
# its fix and booted the way that shows it; the kernel must report it,
# naming vfio_release. The current module, booted each of those ways,
# must not.
#
# - rt: before adbc57d ("never gets in VFIO's way") the kretprobe
#   handlers took a spinlock_t (the event ring's lock, and task_lock
#   through get_task_comm): on PREEMPT_RT, sleeping locks taken with
#   preemption off. Debian's RT kernels say nothing.
# - nmi: before aa9ac81 the release hook's entry handler took a raw
#   spinlock and read ktime_get() (tk_core's seqcount). Without
#   FUNCTION_TRACER (this kernel) an entry kprobe is an int3 until it is
#   optimized, and an int3 in the kernel is an NMI to lockdep; the soak
#   saw it once in 59 loads. Booting with kprobe optimization off keeps
#   every probe an int3, so the run shows it every time.
#
# Prints PASS/FAIL lines and "N passed, N failed".
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
kver=${1:-$("$top/tests/debug-kernel/release.sh")} || exit 2
kdir=/lib/modules/$kver/build
[ -d "$kdir" ] || { echo "known-bugs.sh: no build tree $kdir: make debug-kernel" >&2; exit 2; }

pass=0 fail=0
result() {
	echo "$1 known-bug-$2${3:+: $3}"
	if [ "$1" = PASS ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
}

# run KO APPEND: boot the debug kernel once with that module and those
# extra kernel command-line words; run_log is the console log's path,
# run_rc run-vm.sh's status.
run_log='' run_rc=0
run() {
	local out
	run_rc=0
	out=$(VR_APPEND=$2 VR_TIMEOUT_SCALE=${VR_TIMEOUT_SCALE:-4} \
		tests/vm/run-vm.sh "$kver" tests/debug-kernel/guest-known-bugs.sh "$1" 2>&1) ||
		run_rc=$?
	printf '%s\n' "$out" | sed 's/^/    /'
	run_log=$(printf '%s\n' "$out" | sed -n 's/^run-vm: console log //p' | tail -n1)
}

# What PREEMPT_RT with DEBUG_ATOMIC_SLEEP or lockdep's wait-context
# check says of a sleeping lock taken with preemption or interrupts off.
rt_splat='BUG: sleeping function called from invalid context|BUG: Invalid wait context'
# What lockdep says of a lock (or seqcount) first taken outside NMI and
# then inside one.
nmi_splat='inconsistent \{[^}]*\} -> \{IN-NMI\} usage'
int3_boot='sysctl.debug.kprobes-optimization=0'

# old_bug NAME FIX APPEND SPLAT: the module from before commit FIX,
# booted with APPEND, must report SPLAT naming vfio_release.
old_bug() {
	local name=$1 before=$2^ old=$top/build/$kver/before-$1
	rm -rf "$old" && mkdir -p "$old"
	if ! git -C "$top" rev-parse -q --verify "$before^{commit}" >/dev/null; then
		result FAIL "$name-old-source" "commit $before is not in this clone (a shallow clone?)"
		return
	fi
	if ! git -C "$top" archive "$before" Kbuild kmod uapi | tar -x -C "$old" ||
		! make -C "$kdir" M="$old" modules >"$old/build.log" 2>&1; then
		result FAIL "$name-old-module-builds" "see $old/build.log"
		return
	fi
	result PASS "$name-old-module-builds"
	run "$old/vfio_release.ko" "$3"
	# Counted, not grep -q: under pipefail an early exit is a SIGPIPE.
	if [ "$(grep -A40 -E "$4" "$run_log" | grep -c '\[vfio_release\]')" -gt 0 ]; then
		result PASS "$name-old-module-splats" "$(grep -m1 -E "$4" "$run_log" | tr -d '\r')"
	else
		result FAIL "$name-old-module-splats" "no report naming vfio_release in $run_log"
	fi
}

# current NAME APPEND: the current module, booted with APPEND, is silent.
current() {
	run "$top/build/$kver/vfio_release.ko" "$2"
	if grep -qE "$rt_splat|$nmi_splat|BUG:|WARNING:" "$run_log"; then
		result FAIL "$1-current-module-silent" \
			"$(grep -m1 -E "$rt_splat|$nmi_splat|BUG:|WARNING:" "$run_log" | tr -d '\r')"
	elif [ "$run_rc" != 0 ]; then
		result FAIL "$1-current-module-silent" "the run failed ($run_log)"
	else
		result PASS "$1-current-module-silent"
	fi
}

old_bug rt adbc57d "" "$rt_splat"
old_bug nmi aa9ac81 "$int3_boot" "$nmi_splat"
if make -s module KVER="$kver" >/dev/null 2>&1; then
	current rt ""
	current nmi "$int3_boot"
else
	result FAIL current-module-builds "make module KVER=$kver"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
