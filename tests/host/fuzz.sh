#!/bin/bash
# A short libFuzzer run of the QMP client's parsing (tests/fuzz/run.sh):
# 30000 executions, a few seconds, as one PASS/FAIL line (and its INFO
# figures). Crashes, leaks, undefined behaviour and broken promises of
# the target fail it; the long run is tests/bench/fuzz-qmp.sh.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
exec bash "$top/tests/fuzz/run.sh" 30000 120
