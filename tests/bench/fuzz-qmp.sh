#!/bin/bash
# fuzz-qmp.sh [RUNS]: the long libFuzzer run of the QMP client's parsing
# (tests/fuzz/run.sh), RUNS executions (default 1000000, at most 30 min),
# and its figures: executions, seconds, executions per second. The target
# shares the machine: figures of one run, not to compare across machines.
# Exits non-zero only when the run failed (crash, leak, too few runs).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:-1000000}
out=$(bash "$top/tests/fuzz/run.sh" "$runs" 1800)
echo "$out" | grep -v '^INFO '
info=$(echo "$out" | grep '^INFO fuzz-qmp ')
[ -n "$info" ] || exit 1
echo "$info" | awk '{
	for (i = 3; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	printf "%-28s %12s %10s %10s\n", "", "executions", "seconds", "exec/s"
	printf "%-28s %12d %10.1f %10d\n", "fuzz-qmp (ASan+UBSan+LSan)", v["runs"], v["seconds"], v["exec_per_s"]
}'
echo "$out" | grep -q '^PASS fuzz-qmp$'
