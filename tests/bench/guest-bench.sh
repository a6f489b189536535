#!/bin/bash
# guest-bench.sh [--trace] [RELEASE-LATENCY OPTIONS...]: the
# release-latency benchmark inside the test VM (run by tests/bench/run.sh
# through tests/vm/run-vm.sh). Binds edu to vfio-pci, loads the module,
# runs tests/bench/release-latency on it, and reports every figure as an
# INFO line; every raw sample goes to the console log. Then traces the
# module's own work items over an idle window. A benchmark: only a failure
# to run is a FAIL, never a figure.
#
# --trace: only the eventfd and release phase, traced (sched, workqueue and
# IPI tracepoints, trace_clock mono, so trace times are CLOCK_MONOTONIC
# like the samples), and every sample split into stages (see
# trace_stages); per-sample lines go to the console log, stage figures to
# the result channel. Tracing adds overhead: compare stages, not totals
# with an untraced run.
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"
# shellcheck source=SCRIPTDIR/../guest/lib-release.sh
. "$(dirname "$0")/../guest/lib-release.sh"

BENCH=$VR_TOP/tests/bench/release-latency
dev=$VR_EDU
idle_s=5

T=/sys/kernel/tracing
trace_mount() {
	[ -e "$T/tracing_on" ] || mount -t tracefs nodev "$T" 2>/dev/null
}

# module_idle SECONDS: the module's work items while nothing happens,
# from the workqueue tracepoints: "N runs/T us" per work function.
module_idle() {
	local ev
	trace_mount || { echo "module-idle unavailable: no tracefs"; return; }
	echo 0 >"$T/tracing_on"
	: >"$T/trace"
	for ev in workqueue_execute_start workqueue_execute_end; do
		echo 1 >"$T/events/workqueue/$ev/enable"
	done
	echo 1 >"$T/tracing_on"
	sleep "$1"
	echo 0 >"$T/tracing_on"
	for ev in workqueue_execute_start workqueue_execute_end; do
		echo 0 >"$T/events/workqueue/$ev/enable"
	done
	# "... 1234.567890: workqueue_execute_start: work struct P: function F [mod]"
	awk -v secs="$1" '
		{
			ts = ""
			for (i = 1; i <= NF; i++)
				if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); break }
			if (ts == "") next
			for (j = i; j <= NF; j++) if ($j == "struct") { w = $(j + 1); f = $(j + 3) }
			if (f !~ /^vr_/) next
			if ($0 ~ /workqueue_execute_start/) start[w] = ts
			else if ((w in start)) { n[f]++; us[f] += (ts - start[w]) * 1e6; delete start[w] }
		}
		END {
			out = ""
			for (f in n) out = out sprintf(" %s=%d runs/%.1f us", f, n[f], us[f])
			if (out == "") out = " none"
			printf "module-idle s=%d%s\n", secs, out
		}' "$T/trace"
	: >"$T/trace"
}

TRACE_EVENTS="sched/sched_waking sched/sched_wakeup sched/sched_switch
	workqueue/workqueue_queue_work workqueue/workqueue_activate_work
	workqueue/workqueue_execute_start workqueue/workqueue_execute_end
	irq_vectors/reschedule_entry irq_vectors/call_function_single_entry
	irq_vectors/local_timer_entry power/cpu_idle"

trace_start() {
	local ev
	trace_mount || { echo "no tracefs"; return 1; }
	echo 0 >"$T/tracing_on"
	echo mono >"$T/trace_clock"
	echo 8192 >"$T/buffer_size_kb"
	: >"$T/trace"
	for ev in $TRACE_EVENTS; do
		[ -e "$T/events/$ev/enable" ] && echo 1 >"$T/events/$ev/enable"
	done
	echo 1 >"$T/tracing_on"
}

# trace_stop FILE: stops tracing and saves the trace to FILE.
trace_stop() {
	local ev
	echo 0 >"$T/tracing_on"
	for ev in $TRACE_EVENTS; do
		[ -e "$T/events/$ev/enable" ] && echo 0 >"$T/events/$ev/enable"
	done
	# Keep the buffer: changing the clock would clear it.
	cp "$T/trace" "$1"
	echo local >"$T/trace_clock"
	: >"$T/trace"
}

# trace_stages SAMPLES TRACE WAITER_PID: each eventfd and released sample
# cut into stages (us), from the tracepoints around it (free events often
# ride on a work item already queued, so they are not cut):
#   probe    stamp -> queue_work(vr_work_fn) in the closing task
#   kwake    queue_work -> the kworker that runs it is switched in
#   kstart   switched in -> execute_start(vr_work_fn)
#   work     execute_start -> the worker wakes the waiter (sched_waking);
#            0 when the event was sent by an earlier run of the work
#   wake     the waiter woken -> switched in ("eventfd": holder stamp ->
#            waiter switched in, the whole kernel path of the floor)
#   user     switched in -> the waiter's stamp (poll returns, recvmsg,
#            decode, callback)
# and, for the wake stage: the CPU the waiter ran on, what it preempted
# (idle = the CPU was idle) and when the first IPI reached that CPU after
# the waking ("ipi", us after the waking; - if none before the switch).
# A long wake stage on an idle CPU whose IPI came late means the vCPU did
# not run: host-side (QEMU thread) scheduling, not the guest.
trace_stages() {
	awk -v wpid="$3" '
	function tns(s) { return s * 1e9 }
	function field(key,    i) {
		for (i = 1; i <= NF; i++)
			if (index($i, key "=") == 1) return substr($i, length(key) + 2)
		return ""
	}
	# first index in arr[1..n] whose time is >= t
	function lb(arr, n, t,    lo, hi, mid) {
		lo = 1; hi = n + 1
		while (lo < hi) { mid = int((lo + hi) / 2); if (arr[mid] < t) lo = mid + 1; else hi = mid }
		return lo
	}
	FNR == NR {
		if ($1 == "sample" && ($2 == "eventfd" || $2 == "eventfd-busy" || $2 == "released")) {
			ns++; sname[ns] = $2; sfrom[ns] = $5; sto[ns] = $6
		}
		next
	}
	{
		ts = ""
		for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = tns(substr($i, 1, length($i) - 1)); ev = $(i + 1); break }
		if (ts == "") next
		cpu = ""
		if (match($0, /\[[0-9]+\]/)) cpu = substr($0, RSTART + 1, RLENGTH - 2) + 0
		if (ev == "workqueue_queue_work:" && $0 ~ /function=vr_work_fn/) { nq++; q[nq] = ts; qcpu[nq] = cpu }
		else if (ev == "workqueue_execute_start:" && $0 ~ /function vr_work_fn/) {
			nx++; x[nx] = ts; xcpu[nx] = cpu
			task = $1; sub(/^.*-/, "", task); xpid[nx] = task
		}
		else if (ev == "sched_waking:") { nw++; w[nw] = ts; wpidv[nw] = field("pid") }
		else if (ev == "sched_switch:") {
			nsw++; sw[nsw] = ts; swcpu[nsw] = cpu; swnext[nsw] = field("next_pid"); swprev[nsw] = field("prev_comm")
		}
		else if (ev == "reschedule_entry:" || ev == "call_function_single_entry:") { ni++; ip[ni] = ts; ipcpu[ni] = cpu }
	}
	function waking(pid, t,    k) {
		for (k = lb(w, nw, t); k <= nw; k++) if (wpidv[k] == pid) return k
		return 0
	}
	function switch_in(pid, t,    k) {
		for (k = lb(sw, nsw, t); k <= nsw; k++) if (swnext[k] == pid) return k
		return 0
	}
	function us(a, b) { return (b - a) / 1000 }
	function add(stage, name, v) { key = name SUBSEP stage; cnt[key]++; val[key, cnt[key]] = v }
	END {
		for (i = 1; i <= ns; i++) {
			from = sfrom[i]; to = sto[i]; name = sname[i]
			# the last switch-in of the waiter before its stamp
			k = lb(sw, nsw, to) - 1
			while (k > 0 && swnext[k] != wpid) k--
			if (k < 1 || sw[k] < from - 1000) { bad++; continue }
			f = sw[k]; fcpu = swcpu[k]; prev = swprev[k] ~ /^swapper/ ? "idle" : swprev[k]
			# the waking that led to it
			e = 0
			for (j = lb(w, nw, f + 1) - 1; j > 0 && w[j] >= from - 1000; j--) if (wpidv[j] == wpid) { e = w[j]; break }
			if (!e) { bad++; continue }
			ipi = "-"
			for (j = lb(ip, ni, e); j <= ni && ip[j] <= f; j++) if (ipcpu[j] == fcpu) { ipi = sprintf("%.0f", us(e, ip[j])); break }
			if (name ~ /^eventfd/) {
				line = sprintf("stage %s %d total=%.0f wake=%.0f user=%.0f cpu=%d preempted=%s ipi=%s",
					name, i, us(from, to), us(from, f), us(f, to), fcpu, prev, ipi)
				add("wake", name, us(from, f)); add("user", name, us(f, to))
			} else {
				qi = lb(q, nq, from - 2000)
				xi = lb(x, nx, q[qi])
				if (qi > nq || xi > nx) { bad++; continue }
				kp = xpid[xi]
				ks = switch_in(kp, q[qi])
				if (!ks || sw[ks] > x[xi]) kin = q[qi]; else kin = sw[ks]
				work = e > x[xi] ? us(x[xi], e) : 0
				line = sprintf("stage %s %d total=%.0f probe=%.0f kwake=%.0f kstart=%.0f work=%.0f wake=%.0f user=%.0f hcpu=%d kcpu=%d wcpu=%d preempted=%s ipi=%s",
					name, i, us(from, to), us(from, q[qi]), us(q[qi], kin), us(kin, x[xi]), work,
					us(e, f), us(f, to), qcpu[qi], xcpu[xi], fcpu, prev, ipi)
				add("probe", name, us(from, q[qi])); add("kwake", name, us(q[qi], kin))
				add("kstart", name, us(kin, x[xi])); add("work", name, work)
				add("wake", name, us(e, f)); add("user", name, us(f, to))
			}
			print line
			nsamp[name]++
			if (prev == "idle") idlewake[name]++
			if (ipi != "-" && ipi + 0 > 1000) lateipi[name]++
			if (name == "released" && qcpu[qi] == xcpu[xi]) samecpu[name]++
		}
		split("eventfd eventfd-busy released", names, " ")
		split("probe kwake kstart work wake user", stages, " ")
		for (a = 1; a <= 3; a++) {
			name = names[a]
			if (!nsamp[name]) continue
			out = sprintf("trace-stages %s n=%d", name, nsamp[name])
			for (b = 1; b <= 6; b++) {
				key = name SUBSEP stages[b]
				if (!cnt[key]) continue
				n = cnt[key]; delete v; s = 0
				for (c = 1; c <= n; c++) { v[c] = val[key, c]; s += v[c] }
				# insertion sort: n is small
				for (c = 2; c <= n; c++) { t = v[c]; d = c - 1; while (d > 0 && v[d] > t) { v[d + 1] = v[d]; d-- } v[d + 1] = t }
				p50 = v[int(0.5 * n + 0.999999)]; p99 = v[int(0.99 * n + 0.999999)]
				out = out sprintf(" %s=%.0f/%.0f/%.0f", stages[b], p50, p99, s / n)
			}
			out = out sprintf(" waiter_woken_on_idle_cpu=%d ipi_later_than_1ms=%d", idlewake[name], lateipi[name])
			if (name == "released") out = out sprintf(" kworker_on_closing_cpu=%d", samecpu[name])
			print out
		}
		if (bad) print "trace-stages unmatched=" bad
	}' "$1" "$2"
}

trace=0
if [ "${1:-}" = --trace ]; then
	trace=1
	shift
fi

if ! vr_bind_vfio "$dev"; then
	vr_result FAIL bench-setup "cannot bind $dev to vfio-pci"
	vr_done
	exit 0
fi
if ! vr_load; then
	vr_result FAIL bench-setup "cannot load $VR_KO"
	vr_done
	exit 0
fi
vr_info "guest $(uname -r), $(nproc) CPUs, $(awk '/^model name/ { $1 = $2 = $3 = ""; print; exit }' /proc/cpuinfo | sed 's/^ *//'), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)"

start=$SECONDS
if [ "$trace" = 1 ]; then
	trace_start || vr_result FAIL bench-trace "cannot start tracing"
	"$BENCH" -d "$dev" -R -r "$@" >/tmp/bench.out 2>/tmp/bench.err
	rc=$?
	trace_stop /tmp/trace.txt
else
	"$BENCH" -d "$dev" -i $((idle_s * 1000)) -r "$@" >/tmp/bench.out 2>/tmp/bench.err
	rc=$?
fi
# Raw samples and warnings to the console log, figures to the result channel.
echo "=== release-latency raw samples"
cat /tmp/bench.err
echo "=== release-latency figures"
cat /tmp/bench.out
while read -r line; do
	vr_info "bench $line"
done </tmp/bench.out
grep -v '^sample ' /tmp/bench.err | head -n 5 | while read -r line; do
	vr_info "bench-stderr $line"
done
if [ "$rc" -ne 0 ]; then
	vr_result FAIL bench "release-latency exited with status $rc: $(grep -v '^sample ' /tmp/bench.err | tail -n 2)"
elif [ "$trace" = 1 ]; then
	vr_info "bench wall_s=$((SECONDS - start)) trace_lines=$(wc -l </tmp/trace.txt)"
	wpid=$(sed -n 's/.* waiter_pid=\([0-9]*\).*/\1/p' /tmp/bench.out)
	echo "=== trace (trace_clock mono)"
	grep -v '^#' /tmp/trace.txt
	echo "=== trace stages (us)"
	trace_stages /tmp/bench.err /tmp/trace.txt "$wpid" >/tmp/stages.txt
	cat /tmp/stages.txt
	grep '^trace-stages' /tmp/stages.txt | while read -r line; do
		vr_info "bench $line"
	done
else
	vr_info "bench wall_s=$((SECONDS - start))"
	vr_info "bench $(module_idle "$idle_s")"
fi
vr_unload || vr_result FAIL bench-teardown "cannot unload the module"
vr_done
