#!/bin/bash
# run.sh KVER... [-- RELEASE-LATENCY OPTIONS...]
#
# The release-latency benchmark: builds the module, the library, the test
# helpers and the benchmark, boots each kernel once under QEMU (TCG) with
# tests/vm/run-vm.sh, and prints one table per kernel: the eventfd wake-up
# floor, the vfio_release released and free events, and today's 100 ms
# polling loops, measured side by side in the same guest run, plus the CPU
# each waiter uses while nothing happens, and the issue's targets as
# met / not met. KVER as for run-vm.sh ("6.1", "6.12" or a full name).
#
# A benchmark, not a test: it exits non-zero only when a run fails (no
# figures), never because of a figure. Figures under emulation are noisy,
# more so when other VMs share the machine: compare rows of one run, not
# runs. Example: tests/bench/run.sh 6.1 6.12 -- -n 100 -p 20
#
# Environment: VR_LOG_DIR (default build/bench-logs), VR_TIMEOUT (default
# 900 s), as for run-vm.sh. Every raw sample is in the console log.
#
# Where the time goes, stage by stage (sched/workqueue/IPI tracepoints):
#   VR_TCG_THREAD=multi tests/vm/run-vm.sh KVER tests/bench/guest-bench.sh --trace [-b 2000]
# (Tracing patches kernel text live; under multi-threaded TCG that can oops,
# see run-vm.sh: rerun if it does. The tests run single-threaded.)
# (-b 2000 adds a control: eventfd wake-ups whose writer stays busy 2 ms
# after writing, as the closing task does after close_device returns.)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

kernels=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	kernels+=("$1")
	shift
done
[ "${1:-}" = -- ] && shift
[ ${#kernels[@]} -gt 0 ] || { echo "usage: $0 KVER... [-- BENCH OPTIONS...]" >&2; exit 2; }

export VR_LOG_DIR=${VR_LOG_DIR:-$top/build/bench-logs}
export VR_TIMEOUT=${VR_TIMEOUT:-900}
# Wake-ups between vCPUs are what is measured: one host thread per vCPU.
export VR_TCG_THREAD=${VR_TCG_THREAD:-multi}
mkdir -p "$VR_LOG_DIR"

echo "== build"
if ! { make -s modules userspace && make -s -C tests/helpers && make -s -C tests/bench; } \
	>"$VR_LOG_DIR/build.log" 2>&1; then
	tail -n 30 "$VR_LOG_DIR/build.log"
	echo "build failed: see $VR_LOG_DIR/build.log" >&2
	exit 1
fi

# table RESULTS: the report of one run, from its "INFO bench ..." lines.
table() {
	awk '
	function kv(line, key,    i, a, n, p) {
		n = split(line, a, " ")
		for (i = 1; i <= n; i++) {
			p = index(a[i], "=")
			if (p && substr(a[i], 1, p - 1) == key) return substr(a[i], p + 1)
		}
		return ""
	}
	$1 == "INFO" && $2 == "bench" && $3 == "lat" {
		name = $4
		seen[name] = 1
		n[name] = kv($0, "n"); lost[name] = kv($0, "lost")
		p50[name] = kv($0, "p50"); p99[name] = kv($0, "p99"); mean[name] = kv($0, "mean")
		max[name] = kv($0, "max")
	}
	$1 == "INFO" && $2 == "bench" && $3 == "idle" {
		name = $4
		idle[name] = 1
		ims[name] = kv($0, "ms"); icpu[name] = kv($0, "cpu_us")
		iself[name] = kv($0, "self_us"); ichild[name] = kv($0, "children_us")
		iticks[name] = kv($0, "ticks"); iwake[name] = kv($0, "wakeups")
	}
	$1 == "INFO" && $2 == "bench" && $3 == "info" && $0 ~ / checks=/ {
		overruns[$4] = kv($0, "overruns"); checks[$4] = kv($0, "checks")
	}
	$1 == "INFO" && $2 == "bench" && $3 == "module-idle" {
		sub(/^INFO bench module-idle /, ""); module_idle = $0
	}
	$1 == "INFO" && $2 == "bench" && $3 == "info" && $0 ~ /period_ms=/ && $0 ~ /device=/ {
		period = kv($0, "period_ms")
	}
	$1 == "INFO" && $2 == "bench" && $3 == "ref" && $4 == "released-before-last-close" {
		relmark = kv($0, "mean")
	}
	$1 == "INFO" && $2 == "bench" && $3 == "ref" && $4 ~ /-from-last-close$/ {
		m = $4; sub(/-from-last-close$/, "", m); frommark[m] = kv($0, "mean")
	}
	$1 == "INFO" && $2 == "bench" && $3 ~ /^wall_s=/ { wall = substr($3, 8) }
	$1 == "INFO" && $2 == "guest" { guest = $0; sub(/^INFO /, "", guest) }
	function ratio(a, b) { return (b > 0 && a != "") ? sprintf("%.1fx", a / b) : "-" }
	END {
		if (!("eventfd" in seen) || !("released" in seen)) {
			print "no figures in this run"; exit 1
		}
		if (period == "") period = 100
		split("eventfd eventfd-busy released free ebusy procscan fuser", order, " ")
		label["eventfd"] = "eventfd floor (process to process)"
		label["eventfd-busy"] = "eventfd, writer busy after write"
		label["released"] = "vfio_release released event"
		label["free"] = "vfio_release free event"
		label["ebusy"] = "EBUSY re-open poll " period " ms"
		label["procscan"] = "/proc fd scan " period " ms (C)"
		label["fuser"] = "fuser(1) loop " period " ms (psmisc)"
		print guest
		printf "%-36s %5s %4s %10s %10s %10s %9s %9s %11s\n", "", "n", "lost", "p50 us", "p99 us", "mean us", "p50/floor", "p99/floor", "mean/rel."
		for (i = 1; i <= 7; i++) {
			r = order[i]
			if (!(r in seen)) continue
			printf "%-36s %5s %4s %10.1f %10.1f %10.1f %9s %9s %11s\n", label[r], n[r], lost[r],
				p50[r], p99[r], mean[r],
				ratio(p50[r], p50["eventfd"]), ratio(p99[r], p99["eventfd"]),
				(r == "ebusy" || r == "procscan" || r == "fuser") ? ratio(mean[r], mean["released"]) : "-"
		}
		print ""
		printf "%-36s %8s %10s %12s %14s %8s %8s\n", "idle CPU while waiting", "window", "CPU us", "self us", "children us", "ticks", "wakeups"
		split("waiter ebusy procscan fuser", iorder, " ")
		ilabel["waiter"] = "vfio_release waiter (poll on fd)"
		ilabel["ebusy"] = "EBUSY re-open poll " period " ms"
		ilabel["procscan"] = "/proc fd scan " period " ms (C)"
		ilabel["fuser"] = "fuser(1) loop " period " ms (psmisc)"
		for (i = 1; i <= 4; i++) {
			r = iorder[i]
			if (!(r in idle)) continue
			printf "%-36s %6.1f s %10.1f %12.1f %14s %8s %8s\n", ilabel[r], ims[r] / 1000, icpu[r], iself[r], ichild[r], iticks[r], iwake[r]
		}
		if (module_idle != "") printf "%-36s %s\n", "vfio_release module work items", module_idle
		print ""
		printf "notes: released timestamp is %.0f us before the holder'"'"'s stamp after its last close(); pollers from that stamp:", relmark
		for (i = 5; i <= 7; i++) if ((order[i] in frommark)) printf " %s mean %.0f us;", order[i], frommark[order[i]]
		printf " tick overruns:"
		for (i = 5; i <= 7; i++) if ((order[i] in overruns)) printf " %s %s/%s", order[i], overruns[order[i]], checks[order[i]]
		printf "; guest run %s s\n", wall
		print ""
		print "targets:"
		r3 = p99["released"] / p99["eventfd"]
		printf "  released p99 within 3x of the eventfd floor p99: %s (%.1fx: %.1f us vs %.1f us)\n",
			(r3 <= 3 ? "met" : "NOT met"), r3, p99["released"], p99["eventfd"]
		best = ""
		for (i = 5; i <= 7; i++) {
			r = order[i]
			if (!(r in seen) || mean["released"] <= 0) continue
			x = mean[r] / mean["released"]
			if (best == "" || x < best) { best = x; bestname = label[r] }
			printf "  released mean at least 50x better than %s: %s (%.0fx; the eventfd floor itself: %.0fx)\n",
				label[r], (x >= 50 ? "met" : "NOT met"), x, mean[r] / mean["eventfd"]
		}
		if ("waiter" in idle)
			printf "  no CPU used while idle (waiter process): %s (%s us, %s wakeups in %.1f s)\n",
				((icpu["waiter"] + 0 == 0 && iwake["waiter"] + 0 == 0) ? "met" : "NOT met"),
				icpu["waiter"], iwake["waiter"], ims["waiter"] / 1000
		if (module_idle != "")
			printf "  no CPU used while idle (module, kernel side): %s (%s)\n",
				(module_idle ~ / none$/ ? "met" : "NOT met"), module_idle
	}' "$1"
}

# Host CPU time in clock ticks: all CPUs busy, and this shell's reaped
# children (run-vm.sh, QEMU). The difference is what others used.
host_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
own_children() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }

rc=0
for k in "${kernels[@]}"; do
	echo "== $k"
	res=$(mktemp)
	out=$(mktemp)
	others_qemu=$(pgrep -c qemu-system || true)
	busy0=$(host_busy) own0=$(own_children) t0=$EPOCHREALTIME
	VR_RESULTS_OUT=$res tests/vm/run-vm.sh "$k" tests/bench/guest-bench.sh "$@" >"$out" 2>&1 || rc=1
	busy1=$(host_busy) own1=$(own_children) t1=$EPOCHREALTIME
	grep -E '^(run-vm|FAIL|SKIP)|passed, .* failed' "$out"
	grep -E '^INFO bench-stderr' "$res" || true
	awk -v b="$((busy1 - busy0))" -v o="$((own1 - own0))" -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		-v hz="$(getconf CLK_TCK)" -v n="$(nproc)" -v q="$others_qemu" 'BEGIN {
		printf "host: %d CPUs; during the %.0f s run other processes used %.1f CPU-s (%.0f%% of one CPU); other QEMU processes at start: %d\n",
			n, w, (b - o) / hz, 100 * (b - o) / hz / w, q
	}'
	echo
	table "$res" || rc=1
	echo
	rm -f "$res" "$out"
done
exit "$rc"
