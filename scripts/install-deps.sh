#!/bin/bash
# Installs, from Debian bookworm's archive, everything needed to build the
# module for Debian's 6.1 and 6.12 kernels, the userspace library and CLI,
# the debug kernel, and to run the tests in QEMU.
#   scripts/install-deps.sh          install what is missing
#   scripts/install-deps.sh --check  exit 1 if anything is missing
set -euo pipefail

packages=(
	build-essential pkg-config bc kmod cpio xz-utils
	linux-image-amd64 linux-headers-amd64
	linux-image-6.12-amd64 linux-headers-6.12-amd64
	linux-image-rt-amd64 linux-headers-rt-amd64
	linux-image-6.12-rt-amd64 linux-headers-6.12-rt-amd64
	linux-source-6.1
	linux-source-6.12
	dkms sparse
	libnl-3-dev libnl-genl-3-dev libjson-c-dev libcmocka-dev libkmod-dev
	abigail-tools
	qemu-system-x86 busybox-static jq valgrind procps
	python3-yaml python3-jsonschema
	clang libclang-rt-14-dev
	libvirt-daemon-system libvirt-clients libvirt-daemon-driver-qemu libxml2-utils
	# the debug kernel (make debug-kernel) and the sid chroot
	bison flex libelf-dev libssl-dev openssl debootstrap
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ "${1:-}" = --check ]; then
	[ ${#missing[@]} -eq 0 ] || { echo "missing packages: ${missing[*]}" >&2; exit 1; }
	exit 0
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: run as root to install: ${missing[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
