#!/bin/bash
# make demo: the slow-release race, seen without hardware, in under a minute.
#
# Boots the test VM (tests/vm/run-vm.sh: QEMU TCG, no KVM needed) on the
# newest installed Debian kernel for which the module is built, and runs
# tests/demo/demo-guest.sh in it: an emulated e1000e NIC on vfio_pci_slow
# (tests/drivers, a vfio-pci variant whose close takes 2 s), a VM-like
# holder killed with SIGKILL, a naive rebind that blocks and skips the
# device's reset, then `vfio-release reattach`, which waits for the
# module's "free" and returns the NIC to e1000e. It prints the story as
# the guest tells it: numbered steps, the monitor's events, timings; the
# kernel's console goes to a log whose path ends the output.
#
#   tests/demo/demo.sh          (what `make demo` runs)
#
# Environment: VR_DEMO_KERNEL=K picks the kernel (a name under /lib/modules
# or a prefix, as run-vm.sh takes); VR_LOG_DIR as for run-vm.sh.
# Exit status: 0 when every step did what the story says, 1 otherwise
# (a missing prerequisite, a failed step, a crash), with the reason.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
start=$EPOCHREALTIME
log_dir=${VR_LOG_DIR:-/tmp/vr-logs}

die() {
	echo "demo: FAILED: $*" >&2
	exit 1
}
# Seconds since the demo started, for the story's left column.
elapsed() { awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%5.1fs", b - a }'; }

# --- what the demo needs, named when missing ---
need() {
	command -v "$1" >/dev/null 2>&1 ||
		die "$1 is not installed (Debian package $2): run sudo scripts/install-deps.sh"
}
need qemu-system-x86_64 qemu-system-x86
need busybox busybox-static
need cpio cpio
need python3 python3
need modprobe kmod
[ -x userspace/vfio-release ] ||
	die "userspace/vfio-release is not built: run make first"

# The kernel: VR_DEMO_KERNEL, or the newest with a kernel image, headers
# (the test driver is built here) and the module built; a standard flavour
# before an RT one (slower to boot under emulation). sid's kernel from
# tests/newest-kernel/setup.sh has no headers on the host: not picked.
kernel_image() { [ -r "/boot/vmlinuz-$1" ]; }
module_built() { [ -r "build/$1/vfio_release.ko" ]; }
host_headers() { [ -d "/lib/modules/$1/build" ]; }
installed=()
for d in /lib/modules/*/; do
	d=${d%/}
	[ -d "$d" ] && installed+=("${d##*/}")
done
[ ${#installed[@]} -gt 0 ] || die "no kernel installed under /lib/modules: sudo scripts/install-deps.sh"
if [ -n "${VR_DEMO_KERNEL:-}" ]; then
	kver=''
	matches=()
	for k in "${installed[@]}"; do
		case $k in
		"$VR_DEMO_KERNEL") kver=$k matches=("$k"); break ;;
		"$VR_DEMO_KERNEL".* | "$VR_DEMO_KERNEL"-*) kver=$k matches+=("$k") ;;
		esac
	done
	[ -n "$kver" ] || die "VR_DEMO_KERNEL=$VR_DEMO_KERNEL: no such kernel under /lib/modules (installed: ${installed[*]})"
	[ ${#matches[@]} -eq 1 ] || die "VR_DEMO_KERNEL=$VR_DEMO_KERNEL matches more than one kernel: ${matches[*]}"
	why="chosen by VR_DEMO_KERNEL"
else
	kver=
	# The debug kernel (make debug-kernel) takes minutes to boot: never picked.
	for k in $(printf '%s\n' "${installed[@]}" | grep -v -- '-vrdebug$' | sort -V -r | awk '/-rt-/ { rt = rt $0 "\n"; next } { print } END { printf "%s", rt }'); do
		kernel_image "$k" && module_built "$k" && host_headers "$k" && { kver=$k; break; }
	done
	if [ -z "$kver" ]; then
		images=()
		for k in "${installed[@]}"; do
			if kernel_image "$k"; then images+=("$k"); fi
		done
		[ ${#images[@]} -gt 0 ] ||
			die "no kernel image /boot/vmlinuz-* for the kernels under /lib/modules (${installed[*]}): sudo scripts/install-deps.sh"
		die "the vfio_release module is not built for any kernel with an image and headers (${images[*]}): no build/<kernel>/vfio_release.ko; run make"
	fi
	why="the newest installed kernel with the module built"
fi
kernel_image "$kver" || die "no kernel image /boot/vmlinuz-$kver: apt-get install linux-image-$kver"
module_built "$kver" ||
	die "the vfio_release module is not built for $kver (no build/$kver/vfio_release.ko): run make module KVER=$kver"
host_headers "$kver" ||
	die "no headers for $kver (/lib/modules/$kver/build) to build the test driver: apt-get install linux-headers-$kver"

# --- the demo's own pieces: the test helpers and the slow driver ---
mkdir -p "$log_dir" || die "cannot create $log_dir"
build_log=$log_dir/demo-build.log
slow_ko=build/$kver/tests-drivers/vfio_pci_slow.ko
# Kbuild always relinks: only when the driver's source is newer.
slow_fresh() {
	local f
	[ -r "$slow_ko" ] || return 1
	for f in tests/drivers/Makefile tests/drivers/vfio_pci_slow/*; do
		[ "$slow_ko" -nt "$f" ] || return 1
	done
}
if ! { make -s -C tests/helpers && { slow_fresh || make -s -C tests/drivers driver KVER="$kver"; }; } >"$build_log" 2>&1; then
	tail -n 15 "$build_log" >&2
	die "building the test helpers or tests/drivers/vfio_pci_slow for $kver failed (log: $build_log)"
fi
[ -r "$slow_ko" ] || die "$slow_ko was not built (log: $build_log)"

# --- the story ---
echo "vfio-release demo: a VFIO device given back to its host driver too early, and on time"
echo
echo "$(elapsed) 1. Boot Debian's $kver under QEMU TCG (no KVM needed)"
echo "$(elapsed)    ($why), with an emulated IOMMU and e1000e NIC"

out=$log_dir/demo-run-vm-$$.out
VR_LOG_DIR=$log_dir tests/vm/run-vm.sh "$kver" tests/demo/demo-guest.sh >"$out" 2>&1 &
vm=$!
vm_start=$EPOCHREALTIME
# A background job ignores ^C: on an interrupt, stop the VM (run-vm.sh's
# timeout passes the signal on to QEMU) and its relay, then run-vm.sh.
# shellcheck disable=SC2317 # called from the trap
stop_vm() {
	if kill -0 "$vm" 2>/dev/null; then
		pkill -TERM -P "$vm"
		kill -TERM "$vm" 2>/dev/null
	fi
}
trap 'stop_vm; echo; echo "demo: interrupted" >&2; exit 130' INT TERM
# run-vm.sh names its files after its own pid.
res=
until [ -n "$res" ] || ! kill -0 "$vm" 2>/dev/null; do
	for f in "$log_dir"/demo-guest-"$kver"-*-"$vm".results; do
		if [ -e "$f" ]; then res=$f; fi
	done
	[ -n "$res" ] || sleep 0.1
done

# One result line in, one story line out (PASS lines stay silent: the
# story says what happened; a FAIL is shown where it happened).
tell() {
	local line step=1 first=1 ev kv keep
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [ -n "$first" ]; then
			first=
			echo "$(elapsed)    the guest is up ($(awk -v a="$vm_start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s); it runs tests/demo/demo-guest.sh"
		fi
		case $line in
		"INFO step "*)
			step=$((step + 1))
			echo
			echo "$(elapsed) $step. ${line#INFO step }" ;;
		"INFO say "*) echo "$(elapsed)    ${line#INFO say }" ;;
		"INFO event "*)
			# The monitor's line, with the fields that tell the story.
			read -r ev line <<<"${line#INFO event }"
			keep=
			for kv in $line; do
				case $kv in
				state=* | close_ns=* | pid=* | comm=* | opener_pid=* | opener_comm=*) keep+=" $kv" ;;
				reset=unknown) ;;
				reset=*) keep+=" $kv" ;;
				esac
			done
			printf '%s    monitor: %-9s%s\n' "$(elapsed)" "$ev" "$keep" ;;
		FAIL*) echo "$(elapsed)    FAILED: ${line#FAIL }" ;;
		esac
	done
}
if [ -n "$res" ]; then
	tail -n +1 -s 0.1 -f --pid="$vm" "$res" | tell
fi
wait "$vm"
rc=$?

console=$(sed -n 's/^run-vm: console log //p' "$out" | tail -n1)
npass=0 nfail=0
[ -z "$res" ] || { npass=$(grep -c '^PASS' "$res"); nfail=$(grep -c '^FAIL' "$res"); }
echo
if [ "$rc" = 0 ] && [ "$nfail" = 0 ] && [ "$npass" -gt 0 ]; then
	echo "demo: OK: all $npass checks passed on $kver, $(elapsed | tr -d ' ') in all"
	echo "demo: full guest console: $console"
	exit 0
fi
echo "demo: FAILED on $kver ($nfail of $((npass + nfail)) checks failed, run-vm.sh exited $rc):"
grep -E '^FAIL' "${res:-/dev/null}" | sed 's/^/    /'
grep -E 'run-vm: FAILED|run-vm\.sh: |mkinitrd\.sh: ' "$out" | sed 's/^/    /'
[ -n "$res" ] || tail -n 10 "$out" | sed 's/^/    /'
echo "demo: run-vm.sh's output: $out"
echo "demo: full guest console: ${console:-none (the VM did not start)}"
exit 1
