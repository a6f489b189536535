#!/bin/bash
# release.sh: prints the release of the debug kernel `make debug-kernel`
# built (from its cache), for the scripts that boot it by default. Its
# number follows Debian's linux-source-6.12, so it is read, never
# assumed. Exits 1, saying so, when none is built and installed.
# Environment: VR_DEBUG_CACHE as for build.sh.
set -u
cache=${VR_DEBUG_CACHE:-/var/cache/vfio-release/debug-kernel}
kver=$(cat "$cache/kernelrelease" 2>/dev/null) || kver=
if [ -z "$kver" ] || [ ! -r "/boot/vmlinuz-$kver" ]; then
	echo "no debug kernel in $cache${kver:+ (its $kver is not in /boot)}: run make debug-kernel" >&2
	exit 1
fi
echo "$kver"
