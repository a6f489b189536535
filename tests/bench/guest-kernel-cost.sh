#!/bin/bash
# vr-timeout: 600
# guest-kernel-cost.sh [N]: tests/bench/kernel-cost in the test VM (run by
# tests/bench/debug-cost.sh through tests/vm/run-vm.sh); each figure an
# INFO line. A benchmark: only a failure to run is a FAIL.
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"

if "$VR_TOP/tests/bench/kernel-cost" "${1:-300}" >/tmp/cost.out 2>&1; then
	while IFS= read -r line; do vr_info "$line"; done </tmp/cost.out
	vr_result PASS kernel-cost-ran
else
	vr_result FAIL kernel-cost-ran "$(tr '\n' ' ' </tmp/cost.out)"
fi
vr_done
