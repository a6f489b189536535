#!/bin/bash
# setup.sh: the newest Debian kernel (sid's) for the test VM, and the
# module built for it (`make test-newest`).
#
# sid's kbuild tools (fixdep, modpost) are linked against sid's libc, so
# the module cannot be built for sid's kernel with bookworm's toolchain.
# A sid chroot, made once by debootstrap in a cache outside the clone, has
# sid's gcc, make, linux-headers-amd64 and that kernel's image and
# modules. From it:
#   - the kernel is made bootable by tests/vm/run-vm.sh: its vmlinuz goes
#     to /boot/vmlinuz-KVER and its modules to /lib/modules/KVER, where the
#     guest's modprobe (bookworm's kmod, over 9p) finds them. No build
#     symlink is made there: the host's `make` and `make test` build and
#     test every /lib/modules/*/build with bookworm's gcc, and so leave
#     this kernel alone.
#   - the module and tests/drivers' vfio_pci_slow are built inside the
#     chroot by the project's own Makefiles (the clone is bind-mounted at
#     the same path in a private mount namespace), into the clone's
#     build/KVER/ where the guest scripts look.
# Every step is skipped when its result is already there; the module is
# rebuilt each run (make decides). Prints the kernel release last.
#
# Environment:
#   VR_SID_CACHE=DIR   the chroot's cache (default /var/cache/vfio-release/sid)
#   VR_SID_MIRROR=URL  Debian mirror (default http://deb.debian.org/debian)
#   VR_SID_UPDATE=1    upgrade the chroot's kernel to sid's newest first
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${VR_SID_CACHE:-/var/cache/vfio-release/sid}
mirror=${VR_SID_MIRROR:-http://deb.debian.org/debian}
root=$cache/root
say() { echo "setup.sh: $*" >&2; }

[ "$(id -u)" = 0 ] || { say "needs root (debootstrap, chroot, /boot)"; exit 1; }
# A fresh bookworm has no debootstrap: the one thing installed here.
if ! command -v debootstrap >/dev/null; then
	say "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
		{ say "cannot install debootstrap: apt-get install debootstrap"; exit 1; }
fi
for t in unshare:util-linux depmod:kmod; do
	command -v "${t%%:*}" >/dev/null ||
		{ say "missing ${t%%:*}: apt-get install ${t#*:}"; exit 1; }
done
case $top in *[[:space:]]*) say "the clone's path must not contain spaces"; exit 1 ;; esac

# A snapshot of the archive may be served past its Release's Valid-Until.
apt_opts=(-o Acquire::Check-Valid-Until=false -o APT::Get::Assume-Yes=true
	-o APT::Install-Recommends=false -o Dpkg::Use-Pty=false)
in_root() {
	# A private mount namespace: the mounts go when the command ends.
	# shellcheck disable=SC2016 # the inner shell expands them
	unshare --mount --propagation private sh -ec '
		root=$1 top=$2; shift 2
		mount -t proc proc "$root/proc"
		mount --rbind /dev "$root/dev"
		mkdir -p "$root$top"
		mount --bind "$top" "$root$top"
		exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"
	' sh "$root" "$top" "$@"
}

# One setup at a time (two make test-newest in one cache).
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

t0=$SECONDS
if [ ! -f "$cache/.debootstrap-done" ]; then
	say "debootstrap sid into $root (a few minutes)"
	rm -rf "$root"
	debootstrap --variant=minbase sid "$root" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$cache/debootstrap.log" >&2; say "debootstrap failed: $cache/debootstrap.log"; exit 1; }
	touch "$cache/.debootstrap-done"
	say "debootstrap took $((SECONDS - t0)) s"
fi

# The release sid's linux-headers-amd64 stands for.
headers_kver() {
	# shellcheck disable=SC2016 # dpkg-query's own format
	in_root dpkg-query -W -f '${Depends}' linux-headers-amd64 | tr ',' '\n' |
		sed -n 's/^ *linux-headers-\([^ ]*\).*/\1/p' | head -n1
}

# linux-image-KVER would also pull an initramfs generator (dracut) and
# make an initramfs nobody boots (mkinitrd.sh makes the VM's): since 7.x
# Debian splits it, and linux-binary-KVER (the vmlinuz) with
# linux-modules-KVER is what the VM needs. An older split-less kernel
# comes as linux-image-KVER.
t1=$SECONDS
if [ ! -f "$cache/.packages-done" ] || [ "${VR_SID_UPDATE:-0}" = 1 ]; then
	say "installing sid's gcc, make, linux-headers-amd64 and that kernel's image and modules"
	{
		in_root apt-get "${apt_opts[@]}" update &&
			in_root dpkg --configure -a &&
			in_root apt-get "${apt_opts[@]}" install gcc make linux-headers-amd64 &&
			kver=$(headers_kver) && [ -n "$kver" ] &&
			if in_root apt-cache show "linux-binary-$kver" >/dev/null 2>&1; then
				in_root apt-get "${apt_opts[@]}" install "linux-binary-$kver" "linux-modules-$kver"
			else
				in_root apt-get "${apt_opts[@]}" install "linux-image-$kver"
			fi
	} >"$cache/packages.log" 2>&1 ||
		{ tail -n 20 "$cache/packages.log" >&2; say "apt-get in the chroot failed: $cache/packages.log"; exit 1; }
	in_root apt-get clean
	touch "$cache/.packages-done"
	say "packages took $((SECONDS - t1)) s"
fi

kver=$(headers_kver)
mods=$root/usr/lib/modules/$kver
image=$mods/vmlinuz
[ -f "$image" ] || image=$root/boot/vmlinuz-$kver
if [ -z "$kver" ] || [ ! -f "$image" ] || [ ! -d "$mods/kernel" ] ||
	[ ! -d "$root/usr/src/linux-headers-$kver" ]; then
	say "no kernel '$kver' with image, modules and headers in $root"
	exit 1
fi

# Bootable by run-vm.sh: the image in /boot, the modules in /lib/modules
# (without build and source links), indexed by the host's depmod. A copy
# whose stamp (the release, the image's size and time from its package)
# matches is left alone.
stamp="$kver $(stat -c '%s %Y' "$image")"
if [ "$(cat "/lib/modules/$kver/.vr-sid" 2>/dev/null)" != "$stamp" ] ||
	[ ! -f "/boot/vmlinuz-$kver" ]; then
	say "installing $kver as /boot/vmlinuz-$kver and /lib/modules/$kver"
	rm -rf "/lib/modules/$kver.vr-tmp"
	cp -a "$mods" "/lib/modules/$kver.vr-tmp"
	rm -f "/lib/modules/$kver.vr-tmp/build" "/lib/modules/$kver.vr-tmp/source"
	rm -rf "/lib/modules/$kver"
	mv "/lib/modules/$kver.vr-tmp" "/lib/modules/$kver"
	cp "$image" "/boot/vmlinuz-$kver"
	[ ! -f "$mods/config" ] || cp "$mods/config" "/boot/config-$kver"
	depmod -a "$kver"
	echo "$stamp" >"/lib/modules/$kver/.vr-sid"
fi

t2=$SECONDS
say "building the module and vfio_pci_slow for $kver in the chroot"
kdir=/usr/src/linux-headers-$kver
if ! in_root make -s -C "$top" module KVER="$kver" KDIR="$kdir" >"$cache/build.log" 2>&1 ||
	! in_root make -s -C "$top/tests/drivers" driver KVER="$kver" KDIR="$kdir" >>"$cache/build.log" 2>&1; then
	tail -n 30 "$cache/build.log" >&2
	say "the build for $kver failed: $cache/build.log"
	exit 1
fi
for ko in "$top/build/$kver/vfio_release.ko" "$top/build/$kver/tests-drivers/vfio_pci_slow.ko"; do
	[ -f "$ko" ] || { say "the build made no $ko"; exit 1; }
done
say "build took $((SECONDS - t2)) s; setup $((SECONDS - t0)) s in all"
echo "$kver"
