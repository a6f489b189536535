#!/bin/bash
# The whole test suite: builds everything, runs the host tests, then every
# guest scenario group on every installed Debian kernel under QEMU (one
# boot per group and kernel; VR_JOBS=N boots N at once, default 2).
# Ends with "N passed, N failed, N skipped".
#
#   tests/run.sh [--kernel PREFIX]... [--group NAME]... [--vm-only]
#
# --vm-only leaves out the host tests (make test-debug runs the guest
# groups on the debug kernel alone).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1

kernels=() groups=() host_tests=1
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernels+=("$2"); shift 2 ;;
	--group) groups+=("$2"); shift 2 ;;
	--vm-only) host_tests=0; shift ;;
	*) echo "usage: $0 [--kernel PREFIX]... [--group NAME]... [--vm-only]" >&2; exit 2 ;;
	esac
done
results=$(mktemp)
trap 'rm -f "$results"' EXIT

log_dir=${VR_LOG_DIR:-$top/build/test-logs}
mkdir -p "$log_dir"

echo "== dependencies"
scripts/install-deps.sh >"$log_dir/deps.log" 2>&1 || { tail -n 20 "$log_dir/deps.log"; exit 1; }

echo "== build"
if ! make -s modules userspace >"$log_dir/build.log" 2>&1 ||
	! make -s -C tests/helpers >>"$log_dir/build.log" 2>&1 ||
	! make -s -C tests/drivers >>"$log_dir/build.log" 2>&1 ||
	! tests/ynl-setup.sh >>"$log_dir/build.log" 2>&1; then
	tail -n 30 "$log_dir/build.log"
	echo "FAIL build: see $log_dir/build.log" >>"$results"
fi

if [ ${#kernels[@]} -eq 0 ]; then
	for b in /lib/modules/*/build; do
		b=${b%/build}
		case ${b##*/} in
		# The debug kernel (make test-debug) is run only when named.
		*-vrdebug) continue ;;
		esac
		[ -e "/boot/vmlinuz-${b##*/}" ] && kernels+=("${b##*/}")
	done
fi
if [ ${#groups[@]} -eq 0 ]; then
	for g in tests/guest/*.sh; do
		# A group is a script (#!); the rest (lib-release.sh) is sourced.
		IFS= read -r first <"$g"
		case $first in '#!'*) ;; *) continue ;; esac
		groups+=("$(basename "$g" .sh)")
	done
fi

if [ "$host_tests" = 1 ]; then
	echo "== host"
	for t in tests/host/*.sh; do
		echo "-- ${t##*/}"
		bash "$t" | tee -a "$results"
	done
fi

# One VM per (group, kernel); VR_JOBS of them at once, default two (at
# most one per CPU): a VM is one TCG thread plus QEMU's main loop for 9p,
# and one at a time took the suite past an hour. Each job has its own
# output and results, printed and collected as jobs end.
cpus=$(nproc 2>/dev/null || echo 1)
jobs_max=${VR_JOBS:-$((cpus < 2 ? cpus : 2))}
declare -A job_desc=()
job_finish() {
	local n=$1 rc out=$log_dir/job-$1.out res=$log_dir/job-$1.results
	rc=$(cat "$log_dir/job-$n.rc" 2>/dev/null || echo 99)
	echo "== ${job_desc[$n]}"
	grep -v '^PASS' "$out"
	cat "$res" >>"$results"
	# A run that could not even start wrote no results: a failure.
	if [ "$rc" != 0 ] && ! grep -q '^# ' "$res"; then
		echo "FAIL ${job_desc[$n]// on /@}: run-vm.sh exited $rc: $(tail -n 1 "$out")" >>"$results"
	fi
	rm -f "$out" "$res" "$log_dir/job-$n.rc"
}
job_reap() {
	local n
	wait -n -p done_pid
	for n in "${!job_pid[@]}"; do
		if [ "${job_pid[$n]}" = "$done_pid" ]; then
			job_finish "$n"
			unset "job_pid[$n]"
		fi
	done
}
declare -A job_pid=()
if ! grep -q '^FAIL build' "$results"; then
	n=0
	for k in "${kernels[@]}"; do
		for g in "${groups[@]}"; do
			# "# vr-kernels: REGEX": a group that needs one boot per suite
			# (a nested guest, a libvirtd) names the kernels it runs on.
			want=$(sed -n 's/^# vr-kernels:[[:space:]]*\([^[:space:]]*\).*/\1/p' "tests/guest/$g.sh" | head -n1)
			if [ -n "$want" ] && ! [[ $k =~ $want ]]; then
				echo "== $g not on $k (it runs on $want only)"
				continue
			fi
			while [ "${#job_pid[@]}" -ge "$jobs_max" ]; do job_reap; done
			n=$((n + 1))
			job_desc[$n]="$g on $k"
			: >"$log_dir/job-$n.results"
			(
				VR_LOG_DIR=$log_dir VR_RESULTS_OUT=$log_dir/job-$n.results \
					tests/vm/run-vm.sh "$k" "tests/guest/$g.sh" >"$log_dir/job-$n.out" 2>&1
				echo $? >"$log_dir/job-$n.rc"
			) &
			job_pid[$n]=$!
		done
	done
	while [ "${#job_pid[@]}" -gt 0 ]; do job_reap; done
fi

failures=$(grep '^FAIL' "$results" || true)
if [ -n "$failures" ]; then
	echo "== failures"
	echo "$failures"
fi
npass=$(grep -c '^PASS' "$results")
nfail=$(grep -c '^FAIL' "$results")
nskip=$(grep -c '^SKIP' "$results")
echo "$npass passed, $nfail failed, $nskip skipped"
[ "$nfail" -eq 0 ]
