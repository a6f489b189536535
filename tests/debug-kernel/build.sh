#!/bin/bash
# build.sh: build the debug kernel the tests boot (`make debug-kernel`).
#
# Debian's linux-source-6.12 with x86_64_defconfig, kvm_guest.config and
# vr-debug.config (PREEMPT_RT, KASAN, lockdep, kmemleak, debug objects,
# IOMMUFD with the VFIO cdev, module signing), built once into a cache
# outside the clone and installed as /boot/vmlinuz-KVER and
# /lib/modules/KVER (KVER ends in -vrdebug), which is what run-vm.sh boots.
# A rebuild happens only when this script, the config fragment or the
# source package changes. Prints the kernel release on its last line.
#
# Environment:
#   VR_DEBUG_CACHE=DIR  the cache (default /var/cache/vfio-release/debug-kernel)
#   VR_DEBUG_JOBS=N     parallel compile jobs (default: the CPU count)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${VR_DEBUG_CACHE:-/var/cache/vfio-release/debug-kernel}
jobs=${VR_DEBUG_JOBS:-$(nproc)}
src_tar=/usr/src/linux-source-6.12.tar.xz
fragment=$here/vr-debug.config

need_pkgs=()
[ -r "$src_tar" ] || need_pkgs+=(linux-source-6.12)
for t in gcc:build-essential make:build-essential bc:bc bison:bison flex:flex \
	openssl:openssl cpio:cpio depmod:kmod; do
	command -v "${t%%:*}" >/dev/null || need_pkgs+=("${t#*:}")
done
[ -e /usr/include/libelf.h ] || need_pkgs+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
	echo "build.sh: missing packages, run: apt-get install ${need_pkgs[*]}" >&2
	exit 1
fi

mkdir -p "$cache"
src=$cache/src out=$cache/build mok=$cache/mok
stamp_want=$(cat "$0" "$fragment" <(stat -c '%s %Y' "$src_tar") | sha256sum | cut -c1-16)
if [ -f "$cache/stamp" ] && [ "$(cat "$cache/stamp")" = "$stamp_want" ]; then
	kver=$(cat "$cache/kernelrelease")
	if [ -r "/boot/vmlinuz-$kver" ] && [ -f "/lib/modules/$kver/modules.dep" ]; then
		echo "build.sh: debug kernel $kver is up to date ($cache)"
		echo "$kver"
		exit 0
	fi
fi

# The test MOK: what dkms would sign with on a Secure Boot host, here
# trusted by being built into the kernel's keyring (a real host enrols it
# with mokutil --import instead).
if [ ! -s "$mok/mok.key" ] || [ ! -s "$mok/mok.der" ]; then
	mkdir -p "$mok"
	openssl req -new -x509 -nodes -days 36500 -newkey rsa:2048 -sha256 \
		-subj "/CN=vfio-release test MOK/" -outform DER \
		-keyout "$mok/mok.key" -out "$mok/mok.der" 2>/dev/null
	openssl x509 -inform DER -in "$mok/mok.der" -out "$mok/mok.pem"
	chmod 600 "$mok/mok.key"
fi

if [ ! -f "$src/Makefile" ] || [ ! -f "$src/.vr-extracted" ] ||
	[ "$(cat "$src/.vr-extracted")" != "$(stat -c '%s %Y' "$src_tar")" ]; then
	echo "build.sh: extracting $src_tar"
	rm -rf "$src" && mkdir -p "$src"
	tar -xJf "$src_tar" -C "$src" --strip-components=1
	stat -c '%s %Y' "$src_tar" >"$src/.vr-extracted"
fi

mkdir -p "$out"
make -s -C "$src" O="$out" x86_64_defconfig
"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
	"$src/kernel/configs/kvm_guest.config" "$fragment" >/dev/null
"$src/scripts/config" --file "$out/.config" \
	--set-str SYSTEM_TRUSTED_KEYS "$mok/mok.pem" \
	--set-str MODULE_SIG_KEY "certs/signing_key.pem"
make -s -C "$src" O="$out" olddefconfig

# Kconfig drops what it cannot satisfy without a word: name it.
missing=()
while IFS= read -r line; do
	case $line in CONFIG_*=y | CONFIG_*=m) ;; *) continue ;; esac
	opt=${line%%=*}
	grep -qE "^$opt=(y|m)$" "$out/.config" || missing+=("$opt")
done <"$fragment"
if [ ${#missing[@]} -gt 0 ]; then
	echo "build.sh: the kernel config lacks ${missing[*]} (dependencies not met?)" >&2
	exit 1
fi

echo "build.sh: compiling with $jobs jobs (log $cache/build.log)"
if ! make -C "$src" O="$out" -j"$jobs" bzImage modules >"$cache/build.log" 2>&1; then
	tail -n 40 "$cache/build.log" >&2
	echo "build.sh: kernel build failed, see $cache/build.log" >&2
	exit 1
fi
kver=$(make -s -C "$src" O="$out" kernelrelease)
make -s -C "$src" O="$out" INSTALL_MOD_PATH=/ modules_install >>"$cache/build.log" 2>&1
ln -sfn "$out" "/lib/modules/$kver/build"
cp "$out/arch/x86/boot/bzImage" "/boot/vmlinuz-$kver"
cp "$out/.config" "/boot/config-$kver"
depmod -a "$kver"
echo "$kver" >"$cache/kernelrelease"
echo "$stamp_want" >"$cache/stamp"
echo "build.sh: installed /boot/vmlinuz-$kver and /lib/modules/$kver"
echo "$kver"
