#!/bin/bash
# dkms add/build/install for every installed kernel's headers, and a clear
# refusal of a kernel built without what the module needs (a copy of real
# headers with CONFIG_KRETPROBES switched off).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/.*VFIO_RELEASE_VERSION "\(.*\)"/\1/p' "$top/kmod/version.h")
fake=0.0.0-vfio-release-nokprobes
log=$(mktemp)

result() { echo "$1 dkms-$2${3:+: $3}"; }

cleanup() {
	dkms remove "vfio-release/$version" --all >/dev/null 2>&1 || true
	rm -rf "/usr/src/vfio-release-$version" "/lib/modules/$fake" "/usr/src/linux-headers-$fake" "$log"
}
trap cleanup EXIT
cleanup

if ! command -v dkms >/dev/null; then
	result SKIP all "dkms is not installed (apt-get install dkms)"
	exit 0
fi
if make -C "$top" -s dkms.conf-check >"$log" 2>&1; then
	result PASS version-matches
else
	result FAIL version-matches "$(cat "$log")"
fi

kvers=()
for b in /lib/modules/*/build; do
	b=${b%/build}
	kvers+=("${b##*/}")
done
first=1
for k in "${kvers[@]}"; do
	if [ $first = 1 ]; then
		make -C "$top" -s dkms-install KVER="$k" >"$log" 2>&1
		first=0
	else
		dkms install "vfio-release/$version" -k "$k" >"$log" 2>&1
	fi
	if [ $? -eq 0 ] && ls "/lib/modules/$k/updates/dkms/vfio_release.ko"* >/dev/null 2>&1 &&
		modinfo -k "$k" vfio_release | grep -q "^version: *$version"; then
		result PASS "install-$k"
	else
		result FAIL "install-$k" "$(tail -n 5 "$log" | tr '\n' ' ')"
	fi
done

# A kernel without kretprobes: real headers, one option switched off.
real=$(readlink -f "/lib/modules/${kvers[0]}/build")
cp -a "$real" "/usr/src/linux-headers-$fake"
sed -i 's/^CONFIG_KRETPROBES=y/# CONFIG_KRETPROBES is not set/' \
	"/usr/src/linux-headers-$fake/.config" "/usr/src/linux-headers-$fake/include/config/auto.conf"
mkdir -p "/lib/modules/$fake"
ln -s "/usr/src/linux-headers-$fake" "/lib/modules/$fake/build"
if dkms build "vfio-release/$version" -k "$fake" >"$log" 2>&1; then
	result FAIL refuses-kernel-without-kretprobes "dkms built it"
elif grep -q "built without CONFIG_KRETPROBES" "$log"; then
	result PASS refuses-kernel-without-kretprobes
else
	result FAIL refuses-kernel-without-kretprobes "no reason given: $(tail -n 3 "$log" | tr '\n' ' ')"
fi
# Built by hand, Kbuild names the missing option too.
if make -C "$top" -s module KVER="$fake" >"$log" 2>&1; then
	result FAIL kbuild-refuses-without-kretprobes "it built"
elif grep -q "needs a kernel built with CONFIG_KRETPROBES" "$log"; then
	result PASS kbuild-refuses-without-kretprobes
else
	result FAIL kbuild-refuses-without-kretprobes "$(tail -n 3 "$log" | tr '\n' ' ')"
fi
rm -rf "$top/build/$fake"
