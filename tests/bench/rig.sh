#!/bin/bash
# rig.sh KVER... [-- GUEST-RIG-BENCH OPTIONS...]
#
# The rig benchmarks of issue 9. First, on the host, the library's
# decode-and-match throughput on event messages built as the module sends
# them (tests/bench/match-bench). Then each kernel is booted once under
# QEMU (TCG, topology rig8: eight e1000e NICs on root ports) and
# tests/bench/guest-rig-bench.sh measures, in that one boot:
#   cycle  open/close cost of a fast device with the module loaded vs not
#          loaded, interleaved rounds, the ratio per round
#   stop   a VM stop with 8 slow passthrough devices (vfio_pci_slow,
#          close delays 250..2000 ms), one holder killed, and the time until
#          all 8 are back on e1000e for: vfio-release reattach per device,
#          wait --state free then rebind, libvirt's fixed 2 s per hostdev,
#          a 100 ms EBUSY poll, and the naive immediate rebind
#   churn  events/s delivered to a library consumer while 1, 3 and 11
#          processes cycle devices, and where a resync first appears
# and one table per kernel is printed, with the targets as met / not met.
# KVER as for run-vm.sh ("6.1", "6.12" or a full name).
#
# A benchmark, not a test: it exits non-zero only when a run produced no
# figures, never because of a figure. Timing under emulation on a shared
# host is noisy: compare rows of one run. Each kernel's boot takes about
# 4 minutes. Environment: VR_LOG_DIR (default build/bench-logs),
# VR_TIMEOUT (default 600 s); the raw figures of a run are kept in
# VR_LOG_DIR/rig-KVER.results.
# Example: tests/bench/rig.sh 6.1 6.12 -- -r 7 -c 3000
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1

kernels=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do
	kernels+=("$1")
	shift
done
[ "${1:-}" = -- ] && shift
[ ${#kernels[@]} -gt 0 ] || { echo "usage: $0 KVER... [-- GUEST-RIG-BENCH OPTIONS...]" >&2; exit 2; }

export VR_LOG_DIR=${VR_LOG_DIR:-$top/build/bench-logs}
export VR_TIMEOUT=${VR_TIMEOUT:-600}
mkdir -p "$VR_LOG_DIR"

echo "== build"
if ! { make -s modules userspace && make -s -C userspace lib/libvfio-release-internal.a &&
	make -s -C tests/helpers && make -s -C tests/drivers && make -s -C tests/bench; } \
	>"$VR_LOG_DIR/build.log" 2>&1; then
	tail -n 30 "$VR_LOG_DIR/build.log"
	echo "build failed: see $VR_LOG_DIR/build.log" >&2
	exit 1
fi

# Host CPU time in clock ticks: all CPUs busy, and this shell's reaped
# children (run-vm.sh, QEMU, match-bench). The difference is what others used.
host_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
own_children() { awk '{ sub(/^.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }
# host_load T0 BUSY0 OWN0 QEMUS: one line on what else ran meanwhile.
host_load() {
	local busy1 own1
	busy1=$(host_busy) own1=$(own_children)
	awk -v b="$((busy1 - $2))" -v o="$((own1 - $3))" -v a="$1" -v e="$EPOCHREALTIME" \
		-v hz="$(getconf CLK_TCK)" -v n="$(nproc)" -v q="$4" -v l="$(cut -d' ' -f1-3 /proc/loadavg)" 'BEGIN {
		w = e - a
		printf "host: %d CPUs; during the %.0f s run other processes used %.1f CPU-s (%.0f%% of one CPU); other QEMU processes at start: %d; load average at end: %s\n",
			n, w, (b - o) / hz, 100 * (b - o) / hz / w, q, l
	}'
}

rc=0

# kv(KEY): the value of KEY=VALUE among the line's fields, for the awk
# programs below.
# shellcheck disable=SC2016 # awk's own $i
AWK_KV='
function kv(key,    i, p) {
	for (i = 1; i <= NF; i++) {
		p = index($i, "=")
		if (p && substr($i, 1, p - 1) == key) return substr($i, p + 1)
	}
	return ""
}'

echo "== host: decode and match (tests/bench/match-bench)"
q=$(pgrep -c qemu-system || true)
t0=$EPOCHREALTIME busy0=$(host_busy) own0=$(own_children)
if tests/bench/match-bench >"$VR_LOG_DIR/match-bench.out" 2>&1; then
	host_load "$t0" "$busy0" "$own0" "$q"
	awk "$AWK_KV"'
	$1 == "match-bench" {
		if (!hdr++) {
			printf "%d devices, %s messages per run (%s bytes each on average), %d runs per path\n", kv("devices"), kv("messages"), kv("bytes_per_msg"), split(kv("runs"), tmp, ",")
			printf "%-9s %13s %13s %13s %11s %11s %13s %13s %11s\n", "path", "wall med/s", "wall min/s", "wall max/s", "med/1M", "min/1M", "CPU med/s", "CPU min/s", "CPU med/1M"
		}
		p = kv("path"); np++; po[np] = p
		med[p] = kv("median_per_s") + 0; mn[p] = kv("min_per_s") + 0
		cmed[p] = kv("cpu_median_per_s") + 0; cmn[p] = kv("cpu_min_per_s") + 0
		printf "%-9s %13.0f %13.0f %13.0f %10.2fx %10.2fx %13.0f %13.0f %10.2fx\n", p, med[p], mn[p], kv("max_per_s"), med[p] / 1e6, mn[p] / 1e6, cmed[p], cmn[p], cmed[p] / 1e6
	}
	END {
		if (!hdr) { print "no figures"; exit 1 }
		print "(wall: events per second of elapsed time; CPU: per second of the benchmark thread'"'"'s own CPU time, which the other sessions'"'"' load does not stretch)"
		print "targets (decode + match >= 1M events/s):"
		for (i = 1; i <= np; i++) {
			p = po[i]
			if (p == "decode") continue
			printf "  %s: by CPU time %s (median %.2fx, min %.2fx); by wall time %s (median %.2fx, min %.2fx)\n", p,
				(cmed[p] >= 1e6 ? "met" : "NOT met"), cmed[p] / 1e6, cmn[p] / 1e6,
				(med[p] >= 1e6 ? "met" : "NOT met"), med[p] / 1e6, mn[p] / 1e6
		}
	}' "$VR_LOG_DIR/match-bench.out" || rc=1
else
	cat "$VR_LOG_DIR/match-bench.out"
	echo "match-bench failed" >&2
	rc=1
fi
echo

# table RESULTS: one kernel's report from its "INFO bench ..." lines.
table() {
	awk "$AWK_KV"'
	function sort(a, n,    i, j, t) {
		for (i = 2; i <= n; i++) { t = a[i]; j = i - 1; while (j > 0 && a[j] > t) { a[j + 1] = a[j]; j-- } a[j + 1] = t }
	}
	$1 != "INFO" || $2 != "bench" { next }
	$3 == "guest" { guest = $0; sub(/^INFO bench /, "", guest) }
	$3 == "cycle-info" { cinfo = $0; sub(/^INFO bench cycle-info /, "", cinfo) }
	$3 == "cycle" {
		nr++; rl[nr] = kv("loaded_ns"); ru[nr] = kv("unloaded_ns"); rf[nr] = kv("first"); rr[nr] = rl[nr] / ru[nr]
		rlm[nr] = kv("loaded_mean_ns"); rum[nr] = kv("unloaded_mean_ns"); rrm[nr] = rlm[nr] / rum[nr]
		rln[nr] = kv("loaded_min_ns"); run_[nr] = kv("unloaded_min_ns"); rrn[nr] = (run_[nr] > 0) ? rln[nr] / run_[nr] : 0
	}
	$3 == "stop-dev" {
		m = kv("mode"); d = kv("done_ms"); f = kv("free_ms")
		if (f != "" && f + 0 >= 0) {
			if (!(m in fmin) || f + 0 < fmin[m]) fmin[m] = f + 0
			if (!(m in fmax) || f + 0 > fmax[m]) fmax[m] = f + 0
		}
		if (!(m in dmin) || d + 0 < dmin[m]) dmin[m] = d + 0
		if (!(m in dmax) || d + 0 > dmax[m]) dmax[m] = d + 0
	}
	$3 == "stop" {
		m = kv("mode"); ns++; sm[ns] = m
		sall[m] = kv("all_ms"); ssig[m] = kv("signal_ms"); sreap[m] = kv("reap_ms"); sok[m] = kv("ok")
		sblk[m] = kv("slow_unbind"); skb[m] = kv("kernel_blocked"); sfail[m] = kv("failed")
		sskip[m] = kv("reset_skipped"); sn[m] = kv("devices")
	}
	$3 == "churn" {
		nc++; cp[nc] = kv("procs"); cpace[nc] = kv("pace_ms"); ccps[nc] = kv("cycles_per_s"); crm[nc] = kv("rmem_max")
		ceps[nc] = kv("events_per_s"); cev[nc] = kv("events"); cprod[nc] = kv("produced")
		clost[nc] = kv("lost"); cov[nc] = kv("overflow"); crs[nc] = kv("resync"); ccpu[nc] = kv("cpu_ms")
		cms[nc] = kv("ms"); cfail[nc] = kv("cycle_fails")
	}
	$3 == "phase" { ph = ph sprintf(" %s %.0f s;", $4, kv("ms") / 1000) }
	$3 ~ /^wall_ms=/ { wall = substr($3, 9) / 1000 }
	END {
		if (!nr && !ns && !nc) { print "no figures in this run"; exit 1 }
		print guest
		printf "phases:%s whole guest run %.0f s\n\n", ph, wall
		if (nr) {
			print "1. open/close cycle cost, module loaded vs not loaded (" cinfo ")"
			print "(per measurement: the least disturbed cycle, the median cycle and the mean; ratio = loaded/unloaded of one round)"
			printf "%-5s %-9s %11s %11s %7s %11s %11s %7s %11s %11s %7s\n", "round", "first", "loaded min", "unl. min", "ratio", "loaded med", "unl. med", "ratio", "loaded mean", "unl. mean", "ratio"
			for (i = 1; i <= nr; i++) {
				printf "%-5d %-9s %11d %11d %7.4f %11d %11d %7.4f %11d %11d %7.4f\n", i, rf[i], rln[i], run_[i], rrn[i], rl[i], ru[i], rr[i], rlm[i], rum[i], rrm[i]
				sn[i] = rrn[i]; s[i] = rr[i]; sm2[i] = rrm[i]
			}
			sort(sn, nr); sort(s, nr); sort(sm2, nr)
			medn = (nr % 2) ? sn[(nr + 1) / 2] : (sn[nr / 2] + sn[nr / 2 + 1]) / 2
			med = (nr % 2) ? s[(nr + 1) / 2] : (s[nr / 2] + s[nr / 2 + 1]) / 2
			medm = (nr % 2) ? sm2[(nr + 1) / 2] : (sm2[nr / 2] + sm2[nr / 2 + 1]) / 2
			printf "ratio loaded/unloaded, least cycles:  median %.4f over %d rounds, spread %.4f..%.4f\n", medn, nr, sn[1], sn[nr]
			printf "ratio loaded/unloaded, median cycles: median %.4f over %d rounds, spread %.4f..%.4f\n", med, nr, s[1], s[nr]
			printf "ratio loaded/unloaded, mean cycles:   median %.4f over %d rounds, spread %.4f..%.4f\n", medm, nr, sm2[1], sm2[nr]
			if (sn[1] <= 0) { medn = med; sn[1] = s[1]; sn[nr] = s[nr]; print "(no least-cycle figures in these results: the target is judged on the median cycles)" }
			printf "target: loaded/unloaded <= 1.01 (median over rounds of the least-cycle ratio: a starved TCG vCPU only ever makes a cycle longer): %s\n", (medn <= 1.01 ? "met" : "NOT met")
			if (sn[nr] - sn[1] > 0.02) printf "  (the spread, %.4f..%.4f, is wider than the 1%% asked about: this run cannot resolve it)\n", sn[1], sn[nr]
			print ""
		}
		if (ns) {
			print "2. VM stop, 8 passthrough NICs on vfio_pci_slow (close delays 250..2000 ms), one holder SIGKILLed; manager acts on its monitor socket EOF"
			printf "%-34s %11s %9s %13s %13s %6s %12s %7s %12s %11s\n", "manager", "all back ms", "vs gated", "per device ms", "free at ms", "ok", "unbind wait", "failed", "reset skip", "reaped ms"
			split("reattach wait libvirt poll naive", order, " ")
			lab["reattach"] = "(a) vfio-release reattach, parallel"
			lab["wait"] = "(a2) wait --state free + rebind"
			lab["libvirt"] = "(b) libvirt: 2 s per hostdev, seq."
			lab["poll"] = "(c) 100 ms EBUSY poll + rebind"
			lab["naive"] = "(d) naive immediate rebind"
			for (i = 1; i <= 5; i++) {
				m = order[i]
				if (!(m in sall)) continue
				printf "%-34s %11.0f %9s %6.0f..%-6.0f %13s %3d/%d %8d/%d %5d/%d %9d/%d %11.0f\n", lab[m], sall[m],
					("reattach" in sall && sall["reattach"] > 0) ? sprintf("%.2fx", sall[m] / sall["reattach"]) : "-",
					dmin[m], dmax[m], (m in fmin) ? sprintf("%.0f..%.0f", fmin[m], fmax[m]) : "-", sok[m], sn[m], skb[m], sn[m], sfail[m], sn[m], sskip[m], sn[m], sreap[m]
			}
			printf "signal (monitor EOF) after the kill: "
			for (i = 1; i <= 5; i++) if ((order[i] in ssig)) printf "%s %.1f ms; ", order[i], ssig[order[i]]
			printf "\n\"free at\": the module'"'"'s timestamps of the devices'"'"' free events (the rebind then follows); \"unbind wait\": the kernel logged that the unbind waited for the device'"'"'s user; \"reset skip\": the module'"'"'s DEVICE_RELEASED said reset=skipped\n"
			printf "target: the gated rebinds never wait or fail: %s\n\n", (("reattach" in sok) && sok["reattach"] == sn["reattach"] && (!("wait" in sok) || sok["wait"] == sn["wait"]) ? "met" : "NOT met")
		}
		if (nc) {
			print "3. event throughput from the module to a library consumer under open/close churn"
			printf "%-6s %8s %9s %10s %12s %9s %9s %7s %9s %7s %8s\n", "procs", "pace ms", "rmem_max", "cycles/s", "delivered/s", "events", "produced", "lost", "overflow", "resync", "cpu ms"
			for (i = 1; i <= nc; i++) {
				printf "%-6d %8d %9d %10.1f %12.1f %9d %9d %7d %9d %7d %8.0f\n", cp[i], cpace[i], crm[i], ccps[i], ceps[i], cev[i], cprod[i], clost[i], cov[i], crs[i], ccpu[i]
				if (cfail[i] + 0) printf "  (%d failed cycles in that run)\n", cfail[i]
				key = cpace[i] " " crm[i]
				if (!(key in seenk)) { seenk[key] = 1; nk++; keys[nk] = key }
				nkey[key]++
				if (cov[i] + crs[i] > 0) nres[key]++
				if (cov[i] + crs[i] > 0 && (!(key in first) || ccps[i] + 0 < first[key] + 0)) { first[key] = ccps[i]; fe[key] = ceps[i] }
				if (!(key in maxc) || ccps[i] + 0 > maxc[key]) { maxc[key] = ccps[i] + 0; maxe[key] = ceps[i] }
			}
			print "(overflow: the library'"'"'s overflow notice, its resync path; resync: the module'"'"'s own RESYNC events)"
			for (k = 1; k <= nk; k++) {
				split(keys[k], kp, " ")
				if (keys[k] in first)
					printf "first resync (consumer pace %d ms, rmem_max %d): at %.1f cycles/s (%.1f events/s delivered)%s\n", kp[1], kp[2], first[keys[k]], fe[keys[k]],
						(nres[keys[k]] == nkey[keys[k]]) ? "; seen at every rate tried, so the threshold is lower" : ""
				else
					printf "first resync (consumer pace %d ms, rmem_max %d): none up to %.1f cycles/s (%.1f events/s delivered)\n", kp[1], kp[2], maxc[keys[k]], maxe[keys[k]]
			}
		}
	}' "$1"
}

for k in "${kernels[@]}"; do
	echo "== $k"
	res=$VR_LOG_DIR/rig-$k.results
	out=$VR_LOG_DIR/rig-$k.out
	: >"$res"
	q=$(pgrep -c qemu-system || true)
	t0=$EPOCHREALTIME busy0=$(host_busy) own0=$(own_children)
	VR_RESULTS_OUT=$res tests/vm/run-vm.sh "$k" tests/bench/guest-rig-bench.sh "$@" >"$out" 2>&1 || rc=1
	grep -E '^(run-vm|FAIL|SKIP)|passed, .* failed' "$out"
	host_load "$t0" "$busy0" "$own0" "$q"
	echo
	table "$res" || rc=1
	echo
done
exit "$rc"
