#!/bin/bash
# make install DESTDIR=... PREFIX=... installs a usable library: a program
# built only from the installed header and pkg-config file links, runs and
# finds the soname; the man pages render.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

if make -s -C "$top/userspace" install DESTDIR="$dest" PREFIX=/usr >"$dest/log" 2>&1; then
	echo "PASS install-destdir"
else
	echo "FAIL install-destdir: $(tail -n 3 "$dest/log" | tr '\n' ' ')"
	exit 0
fi

cat >"$dest/consumer.c" <<'C'
#include <errno.h>
#include <stdio.h>
#include <vfio-release.h>
#include <vfio-release-qmp.h>
int main(void)
{
	char name[VFIO_RELEASE_DEVICE_NAME_MAX];

	if (vfio_release_parse_device("01:00.0", name, sizeof(name)))
		return 1;
	puts(name);
	puts(vfio_release_strerror(-ENOPKG));
	puts(vfio_release_block_name(VFIO_RELEASE_BLOCK_OPEN));
	return 0;
}
C
export PKG_CONFIG_ALLOW_SYSTEM_CFLAGS=1 PKG_CONFIG_ALLOW_SYSTEM_LIBS=1 PKG_CONFIG_SYSROOT_DIR=$dest PKG_CONFIG_LIBDIR=$dest/usr/lib/pkgconfig:/usr/lib/x86_64-linux-gnu/pkgconfig:/usr/share/pkgconfig
if gcc -o "$dest/consumer" "$dest/consumer.c" $(pkg-config --cflags --libs libvfio-release) >"$dest/log" 2>&1 &&
	LD_LIBRARY_PATH=$dest/usr/lib "$dest/consumer" >"$dest/out" &&
	grep -q '^0000:01:00.0$' "$dest/out" && grep -q '^open$' "$dest/out" &&
	ldd "$dest/consumer" | grep -q 'libvfio-release.so.1 =>'; then
	echo "PASS install-pkg-config-consumer"
else
	echo "FAIL install-pkg-config-consumer: $(tail -n 3 "$dest/log" | tr '\n' ' ')"
fi
# A system install puts udev's files where udev's pkg-config file says.
udevdir=$(env -u PKG_CONFIG_SYSROOT_DIR -u PKG_CONFIG_LIBDIR pkg-config --variable=udevdir udev 2>/dev/null || echo /usr/lib/udev)
rules=$dest$udevdir/rules.d/70-vfio-release.rules
helper=$dest$udevdir/vfio-release-auto-reattach
if grep -q "RUN+=\"$udevdir/vfio-release-auto-reattach " "$rules" 2>/dev/null &&
	grep -q '^VFIO_RELEASE=/usr/bin/vfio-release$' "$helper" && [ -x "$helper" ]; then
	echo "PASS install-udev-paths"
else
	echo "FAIL install-udev-paths: the rules or the reattach helper do not name the installed paths"
fi
# The libvirt hook goes to libvirt's hook directory and runs the installed CLI.
hook=$dest/etc/libvirt/hooks/qemu.d/vfio-release
if [ -x "$hook" ] && grep -q '^VFIO_RELEASE=/usr/bin/vfio-release$' "$hook"; then
	echo "PASS install-libvirt-hook"
else
	echo "FAIL install-libvirt-hook: $hook is missing, not executable or does not name /usr/bin/vfio-release"
fi
for page in man1/vfio-release.1 man3/libvfio-release.3; do
	if [ "$(MANWIDTH=80 man -l "$dest/usr/share/man/$page" 2>&1 | grep -c 'EXIT STATUS\|RETURN VALUE')" -ge 1 ]; then
		echo "PASS install-man-${page##*/}"
	else
		echo "FAIL install-man-${page##*/}: does not render"
	fi
done
env -u PKG_CONFIG_SYSROOT_DIR -u PKG_CONFIG_LIBDIR make -s -C "$top/userspace" uninstall DESTDIR="$dest" PREFIX=/usr >"$dest/log" 2>&1
left=$(find "$dest/usr" "$dest/lib" "$dest/etc" -type f 2>/dev/null | tr '\n' ' ')
if [ -z "$left" ]; then
	echo "PASS uninstall-removes-everything"
else
	echo "FAIL uninstall-removes-everything: left $left"
fi
