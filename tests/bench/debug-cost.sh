#!/bin/bash
# debug-cost.sh [KVER] [-n N]
#
# Where the debug kernel's time goes: boots KVER (default the debug kernel,
# tests/debug-kernel/release.sh) once as built and once with each checker
# that can be switched off at boot switched off (kmemleak=off,
# no_debug_objects, lockdep.prove_locking=0, then all three), plus
# Debian's 6.12 RT kernel (the same PREEMPT_RT, no checkers) when it is
# installed, and runs tests/bench/kernel-cost in each: the CPU time of a
# system call and of socket and netlink round trips. Prints one row per
# boot and each row's ratio to the debug kernel as built (the netlink
# round trip is what the fuzz and every CLI call pay). KASAN cannot be
# switched off at boot: what is left with all three off is mostly it.
#
# A benchmark: exits non-zero only when a boot gave no figures. Compare
# rows of one run, not runs: the machine is shared. Environment:
# VR_LOG_DIR (default build/bench-logs).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

kver=
n=300
while [ $# -gt 0 ]; do
	case $1 in
	-n) n=${2:-}; shift 2 ;;
	-*) echo "usage: $0 [KVER] [-n N]" >&2; exit 2 ;;
	*) kver=$1; shift ;;
	esac
done
case $n in '' | *[!0-9]*) echo "$0: -n needs a number" >&2; exit 2 ;; esac
[ -n "$kver" ] || kver=$(tests/debug-kernel/release.sh) || exit 2
export VR_LOG_DIR=${VR_LOG_DIR:-$top/build/bench-logs}
mkdir -p "$VR_LOG_DIR"
make -s -C tests/bench kernel-cost || exit 1

variants=("as built" "kmemleak=off" "no_debug_objects" "lockdep.prove_locking=0"
	"kmemleak=off no_debug_objects lockdep.prove_locking=0")
rt_ref=
for d in /lib/modules/6.12.*-rt-amd64; do [ -d "$d/build" ] && rt_ref=${d##*/}; done

# row LABEL KVER APPEND: one boot; prints "LABEL|getpid|unix|genl|rtnl".
row() {
	local res=$VR_LOG_DIR/debug-cost.results
	: >"$res"
	VR_APPEND=$3 VR_RESULTS_OUT=$res tests/vm/run-vm.sh "$2" tests/bench/guest-kernel-cost.sh "$n" \
		>"$VR_LOG_DIR/debug-cost.out" 2>&1
	awk -v label="$1" '$1 == "INFO" && $2 == "cost" { split($4, c, "="); v[$3] = c[2] }
		END { if (!("genl" in v)) exit 1
			printf "%s|%s|%s|%s|%s\n", label, v["getpid"], v["unix"], v["genl"], v["rtnl"] }' "$res"
}

rows=()
for v in "${variants[@]}"; do
	append=$v
	[ "$v" = "as built" ] && append=
	r=$(row "$kver ${v}" "$kver" "$append") || { echo "no figures from $kver with '$v': $VR_LOG_DIR/debug-cost.out" >&2; exit 1; }
	rows+=("$r")
done
if [ -n "$rt_ref" ]; then
	r=$(row "$rt_ref (no checkers)" "$rt_ref" "") && rows+=("$r")
fi

echo "CPU time per operation, microseconds (ratio to $kver as built); $n round trips each"
printf '%s\n' "${rows[@]}" | awk -F'|' '
	NR == 1 { for (i = 2; i <= 5; i++) base[i] = $i }
	{ line = sprintf("%-72s", $1)
	  for (i = 2; i <= 5; i++) line = line sprintf("  %9.1f (%5.3f)", $i, base[i] ? $i / base[i] : 0)
	  print line }
	BEGIN { printf "%-72s  %17s  %17s  %17s  %17s\n", "kernel, boot option", "getpid", "unix datagram", "genl round trip", "rtnl round trip" }'
