#!/bin/bash
# The library's ABI: only vfio_release_* leaves the shared and the static
# library, every symbol is versioned, header and version script agree, and
# abidiff finds no change against the baseline in userspace/abi (an
# intended change: make -C userspace abi-baseline, and say why in the
# commit). The check is shown to catch a removed symbol.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
us=$top/userspace
so=$us/lib/libvfio-release.so.1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if ! make -s -C "$us" >"$tmp/log" 2>&1; then
	echo "FAIL abi-build: $(tail -n 3 "$tmp/log" | tr '\n' ' ')"
	exit 0
fi

# result NAME OK [WHY]
result() { if [ "$2" = 0 ]; then echo "PASS $1"; else echo "FAIL $1: $3"; fi; }

nm -D --defined-only "$so" | awk '{ print $3 }' >"$tmp/dyn"
others=$(grep -Ev '^vfio_release_[a-z0-9_]*@@LIBVFIO_RELEASE_1(\.[0-9]+)?$' "$tmp/dyn" |
	grep -Ev '^LIBVFIO_RELEASE_1(\.[0-9]+)?$' | tr '\n' ' ')
result abi-shared-exports-only-vfio_release "$([ -z "$others" ]; echo $?)" "also exported: $others"

nm -g --defined-only "$us/lib/libvfio-release.a" 2>/dev/null | awk 'NF == 3 { print $3 }' >"$tmp/static"
others=$(grep -v '^vfio_release_' "$tmp/static" | tr '\n' ' ')
result abi-static-exports-only-vfio_release "$([ -s "$tmp/static" ] && [ -z "$others" ]; echo $?)" \
	"also global in the archive: ${others:-nothing at all}"

# Every function the header declares is exported, and nothing else is.
cat "$us"/include/vfio-release*.h | grep -o '\bvfio_release_[a-z0-9_]*(' | tr -d '(' | sort -u >"$tmp/declared"
sed -n 's/^\t\(vfio_release_[a-z0-9_]*\);$/\1/p' "$us/lib/libvfio-release.sym" | sort -u >"$tmp/mapped"
sed 's/@@.*//' "$tmp/dyn" | grep '^vfio_release_' | sort -u >"$tmp/exported"
diff_out=$(diff "$tmp/declared" "$tmp/mapped"; diff "$tmp/mapped" "$tmp/exported")
result abi-header-map-exports-agree "$([ -z "$diff_out" ]; echo $?)" "$(echo "$diff_out" | tr '\n' ' ')"

if ! command -v abidiff >/dev/null; then
	echo "FAIL abi-abidiff: abidiff is missing (scripts/install-deps.sh installs abigail-tools)"
	exit 0
fi
abidiff --headers-dir2 "$us/include" "$us/abi/libvfio-release.abi" "$so" >"$tmp/diff" 2>&1
rc=$?
result abi-matches-baseline "$rc" "abidiff exited $rc: $(head -c 600 "$tmp/diff" | tr '\n' ' ')"

# The same objects without one symbol: abidiff must call it incompatible.
objs=$(make -s -C "$us" -p -n 2>/dev/null | sed -n 's/^LIB_OBJ := //p' | head -n1)
grep -v 'vfio_release_wait_feed;' "$us/lib/libvfio-release.sym" >"$tmp/broken.sym"
(cd "$us" && ${CC:-cc} -shared -Wl,-soname,libvfio-release.so.1 \
	-Wl,--version-script="$tmp/broken.sym" -o "$tmp/broken.so" $objs \
	$(pkg-config --libs libnl-genl-3.0 json-c)) >"$tmp/log" 2>&1
abidiff "$us/abi/libvfio-release.abi" "$tmp/broken.so" >/dev/null 2>&1
rc=$?
result abi-check-catches-removed-symbol "$([ $((rc & 8)) -ne 0 ]; echo $?)" \
	"abidiff exited $rc for a library without vfio_release_wait_feed"
