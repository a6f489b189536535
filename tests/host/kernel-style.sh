#!/bin/bash
# The module is checkpatch-clean and sparse-clean against every installed
# kernel's headers, and the uapi header compiles alone in userspace.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if make -C "$top" -s style >"$log" 2>&1 && ! grep -qE '^(kmod|uapi)/.*: (ERROR|WARNING|CHECK):' "$log"; then
	echo "PASS checkpatch-clean"
else
	echo "FAIL checkpatch-clean: $(grep -E ': (ERROR|WARNING|CHECK):' "$log" | head -n 3 | tr '\n' ' ')"
fi

for b in /lib/modules/*/build; do
	k=${b%/build}
	k=${k##*/}
	# Touch the copies so sparse sees every file again.
	rm -rf "$top/build/$k/kmod"
	if make -C "$top" check KVER="$k" >"$log" 2>&1 && ! grep -qE 'warning:|error:' "$log"; then
		echo "PASS sparse-clean-$k"
	else
		echo "FAIL sparse-clean-$k: $(grep -E 'warning:|error:' "$log" | head -n 3 | tr '\n' ' ')"
	fi
done

# Userspace must not need installed kernel headers for the contract.
if printf '#include "linux/vfio_release.h"\nint main(void) { return VFIO_RELEASE_A_MAX > 0 ? 0 : 1; }\n' |
	gcc -std=c99 -Wall -Werror -I"$top/uapi" -x c - -o /dev/null 2>"$log"; then
	echo "PASS uapi-header-standalone"
else
	echo "FAIL uapi-header-standalone: $(head -n 3 "$log" | tr '\n' ' ')"
fi
