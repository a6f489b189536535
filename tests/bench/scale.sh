#!/bin/bash
# scale.sh KVER...
#
# The scale benchmark: for each kernel, boots the test VM twice, with 320
# and with 960 edu functions bound to vfio-pci (topologies scale and
# scale1k, see tests/vm/run-vm.sh), and prints one table: load time to a
# complete dump, resyncs after load, rmmod time, memory per watched
# device, and open/close churn from several processes without and with
# the module, with the events it delivered. KVER as for run-vm.sh.
#
# A benchmark, not a test: it exits non-zero only when a run gave no
# figures. Emulated and shared machines are noisy: compare rows of one
# run (with and without the module come from the same boot).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
[ $# -gt 0 ] || { echo "usage: $0 KVER..." >&2; exit 2; }

export VR_LOG_DIR=${VR_LOG_DIR:-$top/build/bench-logs}
mkdir -p "$VR_LOG_DIR"
echo "== build"
if ! { make -s modules userspace && make -s -C tests/helpers; } >"$VR_LOG_DIR/build.log" 2>&1; then
	tail -n 30 "$VR_LOG_DIR/build.log"
	exit 1
fi

report() {
	awk '
	function kv(line, key,    i, a, n, p) {
		n = split(line, a, " ")
		for (i = 1; i <= n; i++) {
			p = index(a[i], "=")
			if (p && substr(a[i], 1, p - 1) == key) return substr(a[i], p + 1)
		}
		return ""
	}
	$2 == "bench" && $3 == "info" { devices = kv($0, "devices"); topo = kv($0, "topology") }
	$2 == "bench" && $3 == "load" {
		r++; lms[r] = kv($0, "load_ms"); rs[r] = kv($0, "resyncs"); rm[r] = kv($0, "rmmod_ms")
		objs = kv($0, "slab_objs"); objsize = kv($0, "objsize"); modb = kv($0, "module_bytes")
	}
	$2 == "bench" && $3 == "churn" {
		cyc = kv($0, "cycles"); wo = kv($0, "without_ms"); wi = kv($0, "with_ms")
		ev = kv($0, "events"); procs = kv($0, "procs")
	}
	END {
		if (!r) { print "no figures"; exit 1 }
		printf "%-9s %6d devices: load to full dump %s ms (rounds:", topo, devices, lms[1]
		for (i = 1; i <= r; i++) printf " %s", lms[i]
		printf "), resyncs after load:"
		for (i = 1; i <= r; i++) printf " %s", rs[i]
		printf ", rmmod ms:"
		for (i = 1; i <= r; i++) printf " %s", rm[i]
		printf "\n"
		printf "%-9s memory: %d slab objects of %d B = %.0f B per device; module %d B (%.0f B per device)\n",
			"", objs, objsize, objs * objsize / devices, modb, modb / devices
		if (cyc != "")
			printf "%-9s churn: %s procs, %s open/close cycles: %.1f/s without, %.1f/s with the module (%.2fx time); %s events, %.1f events/s\n",
				"", procs, cyc, cyc * 1000 / wo, cyc * 1000 / wi, wi / wo, ev, ev * 1000 / wi
	}' "$1"
}

rc=0
for k in "$@"; do
	for topo in scale scale1k; do
		echo "== $k $topo"
		out=$VR_LOG_DIR/scale-$topo-$k.results
		VR_TOPOLOGY=$topo VR_TIMEOUT=${VR_TIMEOUT:-1800} VR_RESULTS_OUT=$out.tmp tests/vm/run-vm.sh "$k" tests/bench/guest-scale.sh \
			>"$VR_LOG_DIR/scale-$topo.out" 2>&1
		grep -E '^(FAIL|run-vm: FAILED)' "$VR_LOG_DIR/scale-$topo.out"
		grep '^INFO bench' "$out.tmp" >"$out" 2>/dev/null
		rm -f "$out.tmp"
		report "$out" || rc=1
	done
done
exit "$rc"
