#!/bin/bash
# run-vm.sh KVER GUEST_SCRIPT [ARGS...]
#
# Boots kernel KVER (a directory name under /lib/modules, or an unambiguous
# prefix of one such as "6.1" or "6.12") under QEMU TCG with an emulated
# Intel IOMMU, and runs GUEST_SCRIPT with bash inside the guest, chrooted
# into the host root shared read-only over 9p (see mkinitrd.sh).
#
# Guest PCI devices, exported to the guest script as environment variables
# (the bus numbers follow from the root ports' fixed slots):
#   VR_EDU     edu on its own root port, its own IOMMU group
#   VR_NIC     e1000e on its own root port, bound to the e1000e driver
#   VR_PAIR_A  edu, function 0 of a multi-function slot on a third root port
#   VR_PAIR_B  edu, function 1 of the same slot: one IOMMU group and one
#              reset domain (neither function has FLR) with VR_PAIR_A
#   VR_HOTPLUG edu with QEMU id "hp0" alone on a fourth root port ("rphp",
#              pcie.0 slot 5, bus 4): the one a test removes and adds back
#              (vr_hot_unplug / vr_hot_plug in guest-lib.sh)
# The other devices have QEMU ids too: edu0 (VR_EDU), nic0 (VR_NIC).
#
# Topologies: a guest script may declare one in a header line
#   # vr-topology: scale
# which adds two root ports (pcie.0 slots 0x10 and 0x11, after every
# default one, so the default buses keep their numbers), each with a
# pcie-pci-bridge carrying 20 slots x 8 edu functions: 320 more edu
# functions, in two IOMMU groups and two bus reset domains (one per
# bridge). The guest gets VR_TOPOLOGY=scale and VR_SCALE_COUNT=320; it
# finds them as the 1234:11e8 functions below a pcie-pci-bridge (see
# vr_scale_devices in guest-lib.sh). The VM then gets more memory.
# "scale1k" does the same with six bridges (VR_SCALE_BRIDGES=N to change):
# 960 more edu functions. Seven bridges (1120) never get past the firmware
# here: the VM holds about a thousand.
# "race" adds three more e1000e NICs (QEMU ids nic1..nic3), each on its
# own root port (pcie.0 slots 0x10..0x12, buses 5..7) and IOMMU group, for
# the slow-reset race test's parallel cycles: VR_RACE_NICS lists all four
# NICs' addresses, comma-separated, VR_NIC first.
# "qrace" adds a root port (pcie.0 slot 0x10, bus 5) with a two-function
# e1000e slot (QEMU ids nicf0, nicf1): e1000e has no ACS, so both
# functions are one IOMMU group (and one reset domain), for the QEMU race
# group's "a sibling of the group still assigned": VR_QRACE_PAIR lists
# 0000:05:00.0,0000:05:00.1; and one more e1000e alone on a root port
# (slot 0x11, bus 6, QEMU id nicq2): VR_QRACE_NIC2=0000:06:00.0.
# "rig8" adds seven more e1000e NICs (QEMU ids nic1..nic7), each on its
# own root port (pcie.0 slots 0x10..0x16, buses 5..11) and IOMMU group,
# for the rig benchmark's VM stop with eight passthrough devices:
# VR_RIG_NICS lists all eight NICs' addresses, comma-separated, VR_NIC
# first.
# VR_TOPOLOGY=NAME in the environment overrides the header.
# A header line "# vr-timeout: N" sets the run's timeout (VR_TIMEOUT wins).
#
# Hot-plug channel: the outer QEMU has a QMP socket, and the guest's third
# serial port (ttyS2) reaches tests/vm/qmp-relay.py on the host, which
# turns "device_del ID" / "device_add DRIVER,K=V,..." lines into QMP
# commands and answers each with one line (log: *.qmp.log).
#
# The guest reports on a second serial port (ttyS1, see guest-lib.sh) with
# lines "PASS name", "FAIL name: why", "SKIP name: why", "INFO text" and a
# final "DONE". The run passes (exit 0) when the guest wrote DONE, no line
# is FAIL, and the console shows no kernel BUG/WARNING/Oops/panic.
#
# Environment:
#   VR_TIMEOUT=300      seconds before QEMU is killed (the run then fails)
#   VR_TIMEOUT_SCALE=N  multiply the run's timeout by N (the debug kernel,
#                       KASAN and lockdep under TCG, runs several times
#                       slower; the groups' own bounds are theirs)
#   VR_VERBOSE=1        copy the guest console to stdout as it runs
#   VR_LOG_DIR=DIR      where console logs and result files go
#                       (default /tmp/vr-logs)
#   VR_APPEND="..."     extra kernel command-line words
#   VR_TCG_THREAD=multi one host thread per vCPU (default single, see below)
#   VR_RESULTS_OUT=FILE append this run's result lines to FILE, after a
#                       "# KVER SCRIPT LOG" header; a harness failure (crash,
#                       hang, kernel warning) is appended as a FAIL line.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

[ $# -ge 2 ] || { echo "usage: $0 KVER GUEST_SCRIPT [ARGS...]" >&2; exit 2; }
kver=$1
script=$(realpath -m "$2")
shift 2

if [ ! -d "/lib/modules/$kver" ]; then
	# Accept a version prefix: "6.1" matches 6.1.0-NN-amd64, not 6.12.x.
	match=()
	for d in /lib/modules/"$kver".* /lib/modules/"$kver"-*; do
		if [ -d "$d" ]; then match+=("${d##*/}"); fi
	done
	[ ${#match[@]} -eq 1 ] || { echo "$0: no single kernel matches '$kver'" >&2; exit 2; }
	kver=${match[0]}
fi
kernel=/boot/vmlinuz-$kver
[ -r "$kernel" ] || { echo "$0: missing $kernel" >&2; exit 2; }
[ -r "$script" ] || { echo "$0: missing guest script $script" >&2; exit 2; }
case $script in
"$top"/*) ;; # the guest keeps the checkout visible, wherever it is
/tmp/* | /run/*)
	# The guest mounts fresh tmpfs there, hiding the host's files.
	echo "$0: guest script must not live under /tmp or /run" >&2; exit 2 ;;
*[[:space:]\"]*)
	echo "$0: guest script path must not contain spaces or quotes" >&2; exit 2 ;;
esac
for a in "$@"; do
	# Arguments travel on the kernel command line inside one quoted word.
	case $a in *[[:space:]\"]* | '')
		echo "$0: guest arguments must be non-empty, without spaces or quotes" >&2; exit 2 ;;
	esac
done

# Header lines of the guest script: "# vr-topology: NAME", "# vr-timeout: N".
topology=$(sed -n 's/^# vr-topology:[[:space:]]*\([A-Za-z0-9_-]*\).*/\1/p' "$script" | head -n1)
# VR_TOPOLOGY in the environment wins (the benchmarks pick their size).
topology=${VR_TOPOLOGY:-${topology:-default}}
hdr_timeout=$(sed -n 's/^# vr-timeout:[[:space:]]*\([0-9][0-9]*\).*/\1/p' "$script" | head -n1)
case $topology in
default | scale | scale1k | race | qrace | rig8) ;;
*) echo "$0: unknown vr-topology '$topology' in $script" >&2; exit 2 ;;
esac
timeout_s=${VR_TIMEOUT:-${hdr_timeout:-300}}
case ${VR_TIMEOUT_SCALE:-1} in
'' | *[!0-9]* | 0) echo "$0: VR_TIMEOUT_SCALE must be a positive integer" >&2; exit 2 ;;
esac
timeout_s=$((timeout_s * ${VR_TIMEOUT_SCALE:-1}))
log_dir=${VR_LOG_DIR:-/tmp/vr-logs}
cache_dir=${VR_CACHE_DIR:-/tmp/vr-cache}
mkdir -p "$log_dir" "$cache_dir"

# Guest helpers are run from the shared host root: make sure they are fresh.
if [ -f "$top/tests/helpers/Makefile" ]; then
	make -s -C "$top/tests/helpers" >&2
fi

initrd=$cache_dir/initrd-$kver.gz
if [ ! "$initrd" -nt "$here/mkinitrd.sh" ] ||
	[ ! "$initrd" -nt "/lib/modules/$kver/modules.dep" ]; then
	"$here/mkinitrd.sh" "$kver" "$initrd"
fi

base=$log_dir/$(basename "$script" .sh)-$kver-$(date +%Y%m%d-%H%M%S)-$$
log=$base.console.log
res=$base.results
: >"$res"

# Fixed slots on pcie.0 make SeaBIOS number the root ports' buses 1, 2,
# 3, 4 (in slot order); the scale topology's ports come after them.
edu=0000:01:00.0 nic=0000:02:00.0 pair_a=0000:03:00.0 pair_b=0000:03:00.1
hotplug=0000:04:00.0

# tsc=reliable: under TCG the clocksource watchdog sees skew and marks the
# TSC unstable mid-run; the live text patch that follows can hit a stale
# int3 ("Oops: int3" in sched_clock_cpu), a hazard of emulation only.
# no_timer_check: on a loaded host the boot's check that the timer ticks
# through the interrupt-remapped IO-APIC can miss its window, and with
# intremap on the kernel panics ("timer doesn't work through
# Interrupt-remapped IO-APIC") instead of falling back; seen once in CI.
append="console=ttyS0 panic_on_warn=1 panic=-1 intel_iommu=on iommu=pt tsc=reliable no_timer_check"
# Dot-free NAME=VALUE words reach /init as environment variables.
append+=" VR_SCRIPT=$script VR_TOP=$top VR_EDU=$edu VR_NIC=$nic VR_PAIR_A=$pair_a VR_PAIR_B=$pair_b"
append+=" VR_HOTPLUG=$hotplug VR_TOPOLOGY=$topology"
[ $# -eq 0 ] || append+=" VR_ARGS=\"$*\""
append+=" ${VR_APPEND:-}"

if [ "${VR_VERBOSE:-0}" = 1 ]; then
	console=(-chardev "stdio,id=con,signal=off,logfile=$log")
else
	console=(-chardev "file,id=con,path=$log")
fi

# One host thread runs both vCPUs by default. With one thread per vCPU, a
# live text patch (kprobe arming, static keys, tracepoints) can race the
# other vCPU's stale translation of the patched code and oops on an int3
# the kernel no longer expects: seen on 6.12 while tracing. The benchmark
# sets VR_TCG_THREAD=multi, as it measures wake-ups between vCPUs.
tcg_thread=${VR_TCG_THREAD:-single}

mem=2048
extra=()
# more_nics N VAR: N more e1000e NICs (QEMU ids nic1..nicN), each on its
# own root port (pcie.0 slots 0x10.., buses 5..) and IOMMU group; VAR
# (appended to the command line) lists VR_NIC and them, comma-separated,
# as the command line's words carry no spaces.
more_nics() {
	local n list=$nic
	for n in $(seq 1 "$1"); do
		extra+=(-device "pcie-root-port,id=rpn$n,chassis=$((20 + n)),bus=pcie.0,addr=$(printf 0x%x $((0x10 + n - 1)))")
		extra+=(-netdev "user,id=net$n,restrict=on")
		extra+=(-device "e1000e,id=nic$n,bus=rpn$n,addr=0.0,netdev=net$n,romfile=")
		list+=,$(printf '0000:%02x:00.0' $((4 + n)))
	done
	append+=" $2=$list"
}
case $topology in scale | scale1k)
	# 160 vfio-pci devices per bridge: their config space copies, BAR
	# bookkeeping and the module's records want more memory.
	bridges=2 mem=3072
	[ "$topology" = scale ] || bridges=${VR_SCALE_BRIDGES:-6} mem=4096
	append+=" VR_SCALE_COUNT=$((bridges * 160))"
	for b in $(seq 1 "$bridges"); do
		extra+=(-device "pcie-root-port,id=rps$b,chassis=$((10 + b)),bus=pcie.0,addr=$(printf 0x%x $((0x10 + b - 1)))")
		extra+=(-device "pcie-pci-bridge,id=brs$b,bus=rps$b,addr=0.0")
		# Slot 0 of a pcie-pci-bridge is taken (SHPC); slots are hex.
		for slot in $(seq 1 20); do
			for fn in 0 1 2 3 4 5 6 7; do
				mf=
				[ "$fn" != 0 ] || mf=,multifunction=on
				extra+=(-device "edu,bus=brs$b,addr=$(printf %x "$slot").$fn$mf")
			done
		done
	done
	;;
race)
	more_nics 3 VR_RACE_NICS
	;;
qrace)
	extra+=(-device "pcie-root-port,id=rpq,chassis=30,bus=pcie.0,addr=0x10")
	extra+=(-netdev "user,id=netf0,restrict=on" -netdev "user,id=netf1,restrict=on")
	extra+=(-device "e1000e,id=nicf0,bus=rpq,addr=0.0,multifunction=on,netdev=netf0,romfile=")
	extra+=(-device "e1000e,id=nicf1,bus=rpq,addr=0.1,netdev=netf1,romfile=")
	extra+=(-device "pcie-root-port,id=rpq2,chassis=31,bus=pcie.0,addr=0x11")
	extra+=(-netdev "user,id=netq2,restrict=on")
	extra+=(-device "e1000e,id=nicq2,bus=rpq2,addr=0.0,netdev=netq2,romfile=")
	append+=" VR_QRACE_PAIR=0000:05:00.0,0000:05:00.1 VR_QRACE_NIC2=0000:06:00.0"
	;;
rig8)
	more_nics 7 VR_RIG_NICS
	;;
esac

# The QMP socket and the guest's request channel: short paths (a unix
# socket path is limited to 108 bytes), removed at exit.
sock_dir=$(mktemp -d /tmp/vr-qmp.XXXXXX)
relay_pid=
cleanup() {
	[ -z "$relay_pid" ] || kill "$relay_pid" 2>/dev/null || true
	rm -rf "$sock_dir"
}
trap cleanup EXIT

# shellcheck disable=SC2054 # the commas are QEMU's
qemu=(
	qemu-system-x86_64 -machine q35,kernel-irqchip=split -accel "tcg,thread=$tcg_thread"
	-m "$mem" -smp 2 -nodefaults -nographic -no-reboot
	"${console[@]}" -serial chardev:con -serial "file:$res"
	-chardev "socket,id=ctl,path=$sock_dir/ctl,server=on,wait=off" -serial chardev:ctl
	-qmp "unix:$sock_dir/qmp,server=on,wait=off"
	-device intel-iommu,intremap=on,caching-mode=on
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap
	-device pcie-root-port,id=rp1,chassis=1,bus=pcie.0,addr=0x2
	-device edu,id=edu0,bus=rp1,addr=0.0
	-device pcie-root-port,id=rp2,chassis=2,bus=pcie.0,addr=0x3
	-netdev user,id=net0,restrict=on
	-device e1000e,id=nic0,bus=rp2,addr=0.0,netdev=net0,romfile=
	-device pcie-root-port,id=rp3,chassis=3,bus=pcie.0,addr=0x4
	-device edu,bus=rp3,addr=0.0,multifunction=on
	-device edu,bus=rp3,addr=0.1
	-device pcie-root-port,id=rphp,chassis=4,bus=pcie.0,addr=0x5
	-device edu,id=hp0,bus=rphp,addr=0.0
	"${extra[@]}"
	-kernel "$kernel" -initrd "$initrd" -append "$append"
)

echo "run-vm: $kver $(basename "$script") $* (topology $topology, timeout ${timeout_s}s)"
echo "run-vm: console log $log"
python3 "$here/qmp-relay.py" "$sock_dir/qmp" "$sock_dir/ctl" "$base.qmp.log" </dev/null &
relay_pid=$!
start=$EPOCHREALTIME
rc=0
timeout -k 10 "$timeout_s" "${qemu[@]}" </dev/null || rc=$?
elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')

# The result channel is a raw tty: strip any stray carriage returns.
sed -i 's/\r$//' "$res"
problems=()
case $rc in
0) ;;
124) problems+=("timed out after ${timeout_s}s") ;;
*) problems+=("qemu exited with status $rc") ;;
esac
# Whatever the guest script itself prints lands on the console too.
# KASAN, lockdep and sleeping-in-atomic reports start with BUG: or
# WARNING:; lockdep's one report that does not is named.
kernel_bad='BUG:|WARNING:|Oops|general protection|Kernel panic|UBSAN:|INFO: trying to register non-static key'
if grep -qE "$kernel_bad" "$log"; then
	problems+=("kernel reported a problem: $(grep -m1 -E "$kernel_bad" "$log" | tr -d '\r')")
fi
last=$(grep -v '^[[:space:]]*$' "$res" | tail -n1 || true)
[ "$last" = DONE ] || problems+=("guest did not finish (no final DONE on the result channel)")
bad=$(grep -cvE '^(PASS|FAIL|SKIP|INFO)( |$)|^DONE$|^[[:space:]]*$' "$res" || true)
[ "$bad" -eq 0 ] || problems+=("$bad malformed result line(s)")

grep -v '^DONE$' "$res" || true
npass=$(grep -c '^PASS' "$res" || true)
nfail=$(grep -c '^FAIL' "$res" || true)
nskip=$(grep -c '^SKIP' "$res" || true)
# A crash, hang or kernel warning counts as one more failure.
nfail=$((nfail + ${#problems[@]}))

if [ -n "${VR_RESULTS_OUT:-}" ]; then
	{
		echo "# $kver $(basename "$script") $log"
		grep -E '^(PASS|FAIL|SKIP|INFO)' "$res" || true
		for p in "${problems[@]}"; do echo "FAIL $(basename "$script" .sh)@$kver: $p"; done
	} >>"$VR_RESULTS_OUT"
fi

for p in "${problems[@]}"; do echo "run-vm: FAILED: $p"; done
if [ ${#problems[@]} -gt 0 ]; then
	echo "run-vm: last console lines:"
	tail -n 30 "$log" | tr -d '\r' | sed 's/^/    /'
fi
echo "$npass passed, $nfail failed, $nskip skipped ($kver, ${elapsed}s wall)"
echo "run-vm: console log $log"
[ "$nfail" -eq 0 ]
