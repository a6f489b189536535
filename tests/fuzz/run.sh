#!/bin/bash
# run.sh RUNS [SECONDS]: builds the QMP fuzz target with clang (libFuzzer,
# ASan with LeakSanitizer, UBSan that aborts) and runs it RUNS times from
# a small seed corpus (at most SECONDS, default 600). Prints
#   PASS fuzz-qmp                  (and INFO fuzz-qmp runs=N seconds=S exec_per_s=R)
#   FAIL fuzz-qmp: why             (a crash, a leak, a broken promise)
# and the reproducer's path in the build directory on failure.
# Environment: CLANG (default clang, else clang-14), VR_FUZZ_DIR (default
# build/fuzz).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
runs=${1:?usage: run.sh RUNS [SECONDS]}
max_s=${2:-600}
out=${VR_FUZZ_DIR:-$top/build/fuzz}
clang=${CLANG:-$(command -v clang || command -v clang-14)}
mkdir -p "$out"

if [ -z "$clang" ]; then
	echo "FAIL fuzz-qmp-build: clang is missing (scripts/install-deps.sh installs clang and libclang-rt-14-dev)"
	exit 0
fi
us=$top/userspace
if ! "$clang" -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-I"$us/include" -I"$us/lib" -I"$top/uapi" $(pkg-config --cflags json-c) \
	-o "$out/qmp-fuzz" "$top/tests/fuzz/qmp-fuzz.c" "$us/lib/qmp-message.c" "$us/lib/qmp.c" \
	$(pkg-config --libs json-c) >"$out/build.log" 2>&1; then
	echo "FAIL fuzz-qmp-build: $(grep -m3 -E 'error|undefined' "$out/build.log" | tr '\n' ' ')"
	exit 0
fi

# Seeds: the first byte picks the mode (0 message, 1 stream, 2 connection).
corpus=$out/corpus
rm -rf "$corpus" && mkdir -p "$corpus"
i=0
seed() { printf '%b' "$1" >"$corpus/seed-$i"; i=$((i + 1)); }
for mode in '\x00' '\x01\x05' '\x02\x07'; do
	seed "$mode"'{"QMP": {"version": {"qemu": {"micro": 0, "minor": 2, "major": 7}, "package": ""}, "capabilities": ["oob"]}}\r\n'
	seed "$mode"'{"return": {}, "id": "vr-1"}\r\n{"timestamp": {"seconds": 1700000000, "microseconds": 5}, "event": "DEVICE_DELETED", "data": {"device": "kbd0", "path": "/machine/peripheral/kbd0"}}\r\n'
	seed "$mode"'{"id": "vr-2", "error": {"class": "DeviceNotFound", "desc": "Device \\u0027x\\u0027 not found"}}\r\n'
	seed "$mode"'{"return": [{"name": "type", "type": "string"}, {"name": "kbd0", "type": "child<usb-kbd>"}], "id": "vr-1"}'
	seed "$mode"'{"event": "X", "data": {"a": [1, 2.5e3, -0, true, false, null, "caf\xc3\xa9"]}}{"return": "s", "id": "vr-2"}'
done

log=$out/fuzz.log
t0=$EPOCHREALTIME
(cd "$out" && "$out/qmp-fuzz" -runs="$runs" -max_total_time="$max_s" -max_len=4096 \
	-dict="$top/tests/fuzz/qmp.dict" -print_final_stats=1 "$corpus") >"$log" 2>&1
rc=$?
t1=$EPOCHREALTIME
done_runs=$(sed -n 's/^Done \([0-9]*\) runs in.*/\1/p' "$log" | tail -n1)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
why=$(grep -m1 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)|deadly signal|out-of-memory|timeout' "$log")
if [ "$rc" = 0 ] && [ -n "$done_runs" ] && [ "$done_runs" -ge "$runs" ]; then
	echo "PASS fuzz-qmp"
	awk -v n="$done_runs" -v s="$secs" 'BEGIN { printf "INFO fuzz-qmp runs=%d seconds=%s exec_per_s=%.0f\n", n, s, (s > 0 ? n / s : 0) }'
elif [ "$rc" = 0 ]; then
	echo "FAIL fuzz-qmp: ran ${done_runs:-no} runs of $runs in $secs s (time limit $max_s s)"
else
	echo "FAIL fuzz-qmp: exited $rc: ${why:-$(tail -n 2 "$log" | tr '\n' ' ')} (log $log, reproducer $(ls "$out"/crash-* "$out"/leak-* "$out"/oom-* 2>/dev/null | head -n1))"
fi
