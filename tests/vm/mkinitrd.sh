#!/bin/bash
# mkinitrd.sh KVER OUTFILE
#
# Builds the test VM's initramfs for kernel KVER: busybox-static, the 9p
# stack (needed to reach the host root), the vfio stack and e1000e, plus
# an /init that mounts the host root over 9p and runs a guest script in it
# (see init below). Modules and their dependencies are resolved with the
# host's kmod against KVER's own modules.dep, so built-in modules and
# modules that do not exist in KVER (fscache on 6.12, vfio_virqfd after 6.2)
# drop out by themselves. 6.12 ships .ko.xz, which busybox insmod cannot
# load, so every module is stored decompressed.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 KVER OUTFILE" >&2; exit 2; }
kver=$1
out=$2
[ -f "/lib/modules/$kver/modules.dep" ] || { echo "$0: no modules for $kver" >&2; exit 1; }

BOOT_MODS=(virtio_pci 9pnet_virtio 9p)
LATE_MODS=(irqbypass vfio vfio_iommu_type1 vfio_virqfd vfio-pci-core vfio-pci e1000e)

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,host,lib/modules}

cp /bin/busybox "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
# A console node lets the kernel give /init its stdio before devtmpfs is up.
mknod -m 600 "$stage/dev/console" c 5 1 2>/dev/null || true

# add_mods LISTFILE MOD...: copy MODs and their dependencies, in load order,
# and append their in-initramfs paths to LISTFILE.
add_mods() {
	local list=$1 path dst
	shift
	# "modprobe -a" skips (and fails on) names absent from this kernel.
	{ modprobe -a -S "$kver" --show-depends "$@" 2>/dev/null || true; } |
		awk '$1 == "insmod" && !seen[$2]++ { print $2 }' |
		while read -r path; do
			dst=${path##*/}
			dst=/lib/modules/${dst%.ko*}.ko
			[ -e "$stage$dst" ] && continue   # already in an earlier list
			case $path in
			*.xz) xz -dc "$path" >"$stage$dst" ;;
			*.zst) zstd -qdc "$path" >"$stage$dst" ;;
			*) cp "$path" "$stage$dst" ;;
			esac
			echo "$dst" >>"$stage/$list"
		done
}
add_mods boot.list "${BOOT_MODS[@]}"
add_mods late.list "${LATE_MODS[@]}"

# These must be there (as modules or built in) or the VM is useless.
for m in 9p 9pnet_virtio vfio vfio_iommu_type1 vfio-pci; do
	modprobe -S "$kver" --show-depends "$m" >/dev/null 2>&1 ||
		{ echo "$0: $kver has no module $m" >&2; exit 1; }
done

cat >"$stage/init" <<'INIT'
#!/bin/sh
# Kernel command-line words of the form NAME=VALUE without a dot reach us
# as environment variables: VR_SCRIPT, VR_ARGS, VR_EDU, VR_NIC, VR_PAIR_A,
# VR_PAIR_B, VR_TOP (set by run-vm.sh). They are inherited by the guest
# script.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
exec </dev/console >/dev/console 2>&1

die() { echo "vr-init: $*"; poweroff -f; }

for m in $(cat /boot.list); do insmod "$m" || die "insmod $m failed"; done
# The share is read-only and the host does not change it during a run, so
# the guest may cache it (cache=loose): every exec over 9p gets cheaper.
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144,cache=loose hostroot /host ||
	die "cannot mount the host root over 9p"
mount -t proc proc /host/proc
mount -t sysfs sys /host/sys
mount -t devtmpfs dev /host/dev
mkdir -p /host/dev/pts /host/dev/shm 2>/dev/null
mount -t devpts devpts /host/dev/pts
mount -t tmpfs tmpfs /host/dev/shm
# A checkout under /tmp or /run would vanish under the guest's scratch
# tmpfs: hold on to it, and put it back at the same path afterwards.
kept=
case ${VR_TOP:-} in
/tmp/* | /run/*)
	mkdir -p /keep && mount -o bind "/host$VR_TOP" /keep ||
		die "cannot hold on to $VR_TOP"
	kept=1 ;;
esac
mount -t tmpfs tmpfs /host/tmp
mount -t tmpfs tmpfs /host/run
if [ -n "$kept" ]; then
	mkdir -p "/host$VR_TOP" && mount -o bind /keep "/host$VR_TOP" ||
		die "cannot put $VR_TOP back"
fi
for m in $(cat /late.list); do insmod "$m" || die "insmod $m failed"; done

# The result channel: raw, so lines reach the host file without \r added.
stty -F /dev/ttyS1 raw -echo 115200 || die "no result channel /dev/ttyS1"

echo "vr-init: uptime $(cut -d' ' -f1 /proc/uptime)s, running $VR_SCRIPT $VR_ARGS"
# shellcheck disable=SC2086 # VR_ARGS is a space-separated word list
chroot /host /bin/sh -c 'cd / && exec /bin/bash "$@"' vr "$VR_SCRIPT" $VR_ARGS
echo "vr-init: guest script exited with status $?"
poweroff -f
INIT
chmod 755 "$stage/init"

# Write under a private name first: parallel runs may build the same file.
(cd "$stage" && find . | cpio -o -H newc --quiet) | gzip -1 >"$out.$$.tmp"
mv "$out.$$.tmp" "$out"
