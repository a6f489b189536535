#!/bin/bash
# The EXAMPLE of libvfio-release(3) compiles against the built library, and
# runs: here, with no module loaded, it must say so and exit 2.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

sed -n '/^\.SH EXAMPLE/,/^\.SH SEE ALSO/p' "$top/userspace/man/libvfio-release.3" |
	sed -n '/^#include/,/^}/p' | sed 's/\\e/\\/g' >"$tmp/example.c"
if [ ! -s "$tmp/example.c" ]; then
	echo "FAIL man-example-found: no example program in libvfio-release.3"
	exit 0
fi
if ${CC:-cc} ${CFLAGS:-} -Wall -Wextra -Werror -I"$top/userspace/include" -I"$top/uapi" \
	-o "$tmp/example" "$tmp/example.c" -L"$top/userspace/lib" -lvfio-release \
	-Wl,-rpath,"$top/userspace/lib" ${LDFLAGS:-} >"$tmp/log" 2>&1; then
	echo "PASS man-example-compiles"
else
	echo "FAIL man-example-compiles: $(head -n 5 "$tmp/log" | tr '\n' ' ')"
	exit 0
fi
if [ -e /sys/module/vfio_release ]; then
	echo "SKIP man-example-runs: the vfio_release module is loaded on this host"
	exit 0
fi
"$tmp/example" >"$tmp/out" 2>&1
rc=$?
if [ "$rc" = 2 ] && grep -q "module is not loaded" "$tmp/out"; then
	echo "PASS man-example-runs"
else
	echo "FAIL man-example-runs: exit $rc: $(head -c 300 "$tmp/out")"
fi
