#!/bin/bash
# vr-kernels: ^6\.1\.0-[0-9]+-amd64$
# vr-timeout: 1500
# A whole device_del with a guest that answers it: an inner QEMU (Debian's
# 7.2, from the shared root) boots this kernel with a busybox initramfs
# whose init says it is ready and sleeps, holding the e1000e through
# vfio-pci on a root port; then
#   vfio-release unplug --qmp ... --id hostdev0 --reattach --driver e1000e --json
# must see DEVICE_DELETED (the inner guest's answer) and the kernel's free,
# and leave the NIC on e1000e. The order of DEVICE_DELETED and free, and
# the gap, are printed (vr_info, from unplug's JSON). The inner boot
# (3 to 9 min of wall time under emulation inside emulation, seen here) dominates: one boot.
set -u
. "$(dirname "$0")/../vm/guest-lib.sh"
. "$(dirname "$0")/lib-release.sh"

nic=$VR_NIC
QMP=/tmp/q1
QMPCMD=$VR_HELPERS/qmp-cmd
INNER=/tmp/inner
QEMU_PID=

# The inner guest's initramfs: busybox alone, an init that says it is up.
make_initramfs() {
	rm -rf "$INNER" && mkdir -p "$INNER/root/bin" "$INNER/root/proc" "$INNER/root/dev" || return 1
	cp /bin/busybox "$INNER/root/bin/busybox" || return 1
	cat >"$INNER/root/init" <<-'EOF'
		#!/bin/busybox sh
		/bin/busybox mount -t devtmpfs dev /dev
		exec </dev/console >/dev/console 2>&1
		/bin/busybox mount -t proc proc /proc
		echo "VR-INNER-READY $(/bin/busybox cat /proc/uptime)"
		while :; do /bin/busybox sleep 3600; done
	EOF
	chmod +x "$INNER/root/init"
	(cd "$INNER/root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$INNER/initrd.gz"
}

inner_start() {
	rm -f "$QMP"
	qemu-system-x86_64 -machine q35 -accel tcg -m 384 -smp 1 -nodefaults -display none \
		-no-reboot -serial "file:$INNER/serial.log" \
		-kernel "/boot/vmlinuz-$(uname -r)" -initrd "$INNER/initrd.gz" \
		-append "console=ttyS0 panic=-1 quiet" \
		-qmp "unix:$QMP,server=on,wait=off" \
		-device pcie-root-port,id=rp1,chassis=1 \
		-device "vfio-pci,host=$nic,id=hostdev0,bus=rp1" >"$INNER/qemu.log" 2>&1 &
	QEMU_PID=$!
	vr_wait 60 state_is "$nic" open
}
inner_ready() { grep -q VR-INNER-READY "$INNER/serial.log" 2>/dev/null; }

check module-loads vr_load
check nic-bind-vfio vr_bind_vfio "$nic"
check initramfs-built make_initramfs
mon_start
t0=$SECONDS
check inner-qemu-holds-nic inner_start
if vr_wait 1200 inner_ready; then
	vr_result PASS inner-guest-ready
else
	vr_result FAIL inner-guest-ready "no ready line: serial: $(tail -c 600 "$INNER/serial.log" 2>/dev/null) qemu: $(tail -c 300 "$INNER/qemu.log")"
fi
vr_info "inner guest ready after $((SECONDS - t0)) s: $(grep VR-INNER-READY "$INNER/serial.log")"

"$VR_CLI" unplug --qmp "$QMP" --id hostdev0 --reattach --driver e1000e --timeout 120 --json \
	>/tmp/unplug.json 2>/tmp/unplug.err &
unplug_pid=$!
vr_exit_within 150 "$unplug_pid"
rc=$?
check unplug-exit-0 expect_eq "$rc" 0
check unplug-json-one-object jq -e 'type == "object" and .schema == 1 and .event == "unplug"' /tmp/unplug.json
check unplug-device-deleted-came jq -e '.qemu_event == "DEVICE_DELETED" and (.qemu_ns | type) == "number"' /tmp/unplug.json
check unplug-free-came jq -e '(.free_ns | type) == "number" and (has("why") | not)' /tmp/unplug.json
check unplug-result-done jq -e --arg d "$nic" '.result == "done" and .device == $d and .exit == 0' /tmp/unplug.json
check unplug-reattached jq -e '.reattach.exit == 0 and .reattach.driver == "e1000e"' /tmp/unplug.json
check nic-on-e1000e vr_wait 20 vr__bound_to "$nic" e1000e
check inner-qemu-still-runs vr__running "$QEMU_PID"
# The kernel said free (its free event) at the time unplug reports.
check unplug-free-is-kernels expect_eq "$(jq -r .free_ns /tmp/unplug.json)" "$(mon_field "$nic" free timestamp_ns)"
vr_info "device_del: $(jq -r '"first \(.first), DEVICE_DELETED +\(.qemu_ms) ms, free +\(.free_ms) ms, gap (free - DEVICE_DELETED) \(.gap_ms) ms"' /tmp/unplug.json)"
vr_info "unplug stderr: $(tr '\n' ' ' </tmp/unplug.err)"

"$QMPCMD" "$QMP" quit >/dev/null 2>&1
vr_exit_within 30 "$QEMU_PID"
kill -KILL "$QEMU_PID" 2>/dev/null
mon_stop
check monitor-log-sane mon_log_sane
vr_done
