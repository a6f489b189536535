#!/bin/bash
# soak.sh [KVER] [--cycles N] [--procs P] [--core-every K] [--time-limit S]
#         [--max-failures F] [--pause-ms MS] [--sample-every M]
#
# The soak of issue 10 (tests/soak/README.md): boots KVER (default the
# debug kernel of make debug-kernel, tests/debug-kernel/release.sh) with
# tests/vm/run-vm.sh and runs tests/soak/guest-soak.sh in it: N (1000)
# load/unload cycles of vfio_release under open/close churn from P (4)
# processes, vfio_pci_core and vfio-pci reloaded every K (10) cycles,
# every cycle checked exact, memory sampled with the module unloaded,
# kmemleak at the end. Not part of the suite. Prints run-vm.sh's lines
# (figures are INFO lines) and exits as run-vm.sh does.
#
# --time-limit S: the guest starts no cycle after S seconds and says how
# many ran (the run then fails its soak-all-cycles-ran check). The VM's
# own timeout (VR_TIMEOUT) defaults to the time limit plus 30 minutes, or
# to 60 minutes plus 20 s a cycle without one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

kver=
# shellcheck source=SCRIPTDIR/soak-options.sh
. "$here/soak-options.sh"
usage() {
	sed -n '2,3s/^# //p' "$0" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help) usage ;;
	-*)
		rc=0
		soak_option "$1" "${2-}" || rc=$?
		case $rc in
		1) echo "$0: unknown option $1" >&2; usage ;;
		2) echo "$0: $1 needs a number, not '${2-}'" >&2; exit 2 ;;
		esac
		shift 2
		;;
	*) kver=$1; shift ;;
	esac
done
[ -n "$kver" ] || kver=$("$top/tests/debug-kernel/release.sh") || exit 2
[ "$cycles" -ge 1 ] || { echo "$0: --cycles must be at least 1" >&2; exit 2; }
[ "$procs" -ge 1 ] || { echo "$0: --procs must be at least 1" >&2; exit 2; }
[ -d "/lib/modules/$kver/build" ] ||
	{ echo "$0: no kernel $kver with headers (/lib/modules/$kver/build)" >&2; exit 2; }

# The module and the CLI for that kernel; the helpers run-vm.sh builds.
make -s -C "$top" module KVER="$kver" >&2
make -s -C "$top" userspace >&2

# One process per IOMMU group: the default topology has four groups, the
# race topology three more (NICs).
if [ "$procs" -gt 4 ]; then export VR_TOPOLOGY=race; fi
if [ -z "${VR_TIMEOUT:-}" ]; then
	if [ "$time_limit" -gt 0 ]; then
		VR_TIMEOUT=$((time_limit + 1800))
	else
		VR_TIMEOUT=$((3600 + cycles * 20))
	fi
	export VR_TIMEOUT
fi
# slab_nomerge: the module's kmem_cache stays its own, so that a record
# left at unload is kmem_cache_destroy's warning, and its objects can be
# read in /sys/kernel/slab/vfio_release_device.
export VR_APPEND="${VR_APPEND:-} slab_nomerge"
args=(--cycles "$cycles" --procs "$procs" --core-every "$core_every"
	--time-limit "$time_limit" --max-failures "$max_failures" --pause-ms "$pause_ms"
	--sample-every "$sample_every" --settle-timeout "$settle_timeout")
exec "$top/tests/vm/run-vm.sh" "$kver" "$here/guest-soak.sh" "${args[@]}"
