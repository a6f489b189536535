#!/bin/bash
# fuzz.sh [KVER] [-n CASES] [-s SEED] [-t SECONDS] [-K]
#
# The netlink fuzzing run of issue 10: boots KVER (default the debug
# kernel of make debug-kernel, tests/debug-kernel/release.sh: KASAN,
# lockdep, kmemleak, PREEMPT_RT) once and runs the fuzz guest group
# (tests/guest/fuzz.sh) in it with CASES cases (default 1000000) of
# tests/helpers/genl-fuzz, as root and as user nobody at once, while
# devices open, close, are held and are rebound; then the group's
# exactness checks, a kmemleak scan where the kernel has one, and
# the harness's check of the console for BUG/WARNING (KASAN, lockdep,
# sleeping in atomic). SECONDS (default 2700) bounds the fuzz itself: a run
# that hits it reports the cases it made, not a million.
#
# Prints the seed, the figures (cases, datagrams and netlink messages
# sent, seconds, rate, cases by kind, replies by errno, what user nobody
# got, the events listener's count), the checks, the sanitizer reports
# found in the console, and the kmemleak result. Unlike the other
# benchmarks it is a verification: exit 1 when a check failed, the
# console has a report or the run made no figures; 0 otherwise.
# -K boots with kmemleak=off: KASAN, lockdep, debug objects and RT stay,
# and a netlink round trip costs about a fifth of what it costs with
# kmemleak on, which tracks every allocation and free (6.3 ms against
# 1.2 ms of CPU, tests/bench/debug-cost.sh and tests/bench/README.md). The kmemleak checks
# are then SKIPs that say so; leaks are the default run's to find.
# Environment: VR_LOG_DIR (default build/bench-logs), VR_TIMEOUT (default
# SECONDS + 1200). The raw lines are in VR_LOG_DIR/fuzz-KVER.results.
# Example: tests/bench/fuzz.sh -n 200000 -t 900
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

kver=
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
	kver=$1
	shift
fi
cases=1000000 seed=random secs=2700 no_kmemleak=0
usage="usage: $0 [KVER] [-n CASES] [-s SEED] [-t SECONDS] [-K]"
while getopts n:s:t:K opt; do
	case $opt in
	n) cases=$OPTARG ;;
	s) seed=$OPTARG ;;
	t) secs=$OPTARG ;;
	K) no_kmemleak=1 ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || { echo "$usage" >&2; exit 2; }
[ -n "$kver" ] || kver=$(tests/debug-kernel/release.sh) || exit 2
case $cases$secs in *[!0-9]*) echo "$0: CASES and SECONDS are numbers" >&2; exit 2 ;; esac

if [ "$no_kmemleak" = 1 ]; then export VR_APPEND="${VR_APPEND:-} kmemleak=off"; fi
export VR_LOG_DIR=${VR_LOG_DIR:-$top/build/bench-logs}
export VR_TIMEOUT=${VR_TIMEOUT:-$((secs + 1200))}
mkdir -p "$VR_LOG_DIR"

echo "== build (module for $kver, userspace, helpers)"
if ! { make -s module KVER="$kver" && make -s userspace && make -s -C tests/helpers; } \
	>"$VR_LOG_DIR/fuzz-build.log" 2>&1; then
	tail -n 30 "$VR_LOG_DIR/fuzz-build.log"
	echo "build failed: see $VR_LOG_DIR/fuzz-build.log" >&2
	exit 1
fi

echo "== $kver: $cases cases, seed $seed, fuzz bounded to $secs s (run bounded to $VR_TIMEOUT s)${VR_APPEND:+, kernel command line +$VR_APPEND}"
res=$VR_LOG_DIR/fuzz-$kver.results
out=$VR_LOG_DIR/fuzz-$kver.out
: >"$res"
t0=$EPOCHREALTIME
VR_RESULTS_OUT=$res tests/vm/run-vm.sh "$kver" tests/guest/fuzz.sh "$cases" "$seed" "$secs" >"$out" 2>&1
vm_rc=$?
wall=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
console=$(sed -n 's/^run-vm: console log //p' "$out" | tail -n1)

rc=0
echo
sed -n 's/^INFO genl-fuzz: /fuzz: /p; s/^INFO fuzz \(figures\|kinds\|replies\|errno\|done-errno\|send-errno\|sockopt-errno\|nobody\|listener\|post-check\|RESULT\)/\1/p' "$res"
if ! grep -q '^INFO fuzz figures ' "$res"; then
	echo "no figures in this run"
	rc=1
fi
awk '$1 == "INFO" && $2 == "fuzz" && $3 == "figures" {
	for (i = 4; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "\n%s cases (%s datagrams, %s netlink messages) in %s s: %s cases/s, %s messages/s\n",
		v["cases"], v["datagrams"], v["messages"], v["seconds"], v["rate"], v["msgs_per_s"]
	printf "target: >= 1000000 cases: %s\n", (v["cases"] >= 1000000 ? "met" : "NOT met")
}' "$res"
grep -E '^INFO (beside the fuzz|monitor|kmemleak|no kmemleak|fuzz stopped)' "$res" | sed 's/^INFO //'
npass=$(grep -c '^PASS' "$res")
nfail=$(grep -c '^FAIL' "$res")
nskip=$(grep -c '^SKIP' "$res")
echo "checks: $npass passed, $nfail failed, $nskip skipped"
grep -E '^(FAIL|SKIP)' "$res" | head -n 20
[ "$nfail" -eq 0 ] || rc=1

# Sanitizers and the kernel's own warnings, from the console.
reports=0
if [ -n "$console" ] && [ -r "$console" ]; then
	reports=$(grep -cE 'BUG:|WARNING:|Oops|general protection|Kernel panic|KASAN|possible circular locking|inconsistent lock state|sleeping function called from invalid context' "$console")
	echo "console: $console"
	echo "sanitizer and warning lines in the console: $reports"
	grep -m 30 -E 'BUG:|WARNING:|KASAN|lockdep|circular locking|sleeping function' "$console" | tr -d '\r'
else
	echo "no console log found"
	rc=1
fi
[ "$reports" -eq 0 ] || rc=1
[ "$vm_rc" -eq 0 ] || { grep '^run-vm: FAILED' "$out"; rc=1; }
echo "wall time with the boot: $wall s; verdict: $([ "$rc" = 0 ] && echo PASS || echo FAIL)"
exit "$rc"
