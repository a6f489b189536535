#!/bin/bash
# signing-guest.sh DIR MODE: the guest half of tests/debug-kernel/signing.sh.
#
# MODE enforce: the debug kernel, booted with module.sig_enforce=1, which
# trusts the test MOK. DIR holds signed.ko (built and signed by dkms with
# the test MOK), unsigned.ko (make module), untrusted.ko (signed by a key
# the kernel does not know), tampered.ko (signed.ko altered after signing)
# and signer (the test MOK's common name).
# MODE lockdown: a Debian kernel booted with lockdown=integrity, which is
# what Debian's kernels do by themselves under UEFI Secure Boot
# (CONFIG_LOCK_DOWN_IN_EFI_SECURE_BOOT); DIR holds unsigned.ko and
# untrusted.ko built for it. The kernel trusts no key of ours there, so
# this only shows how a Secure Boot host refuses a module.
# Not a group of tests/guest: it needs those kernels and command lines.
# vr-timeout: 2700
set -u
# shellcheck source=SCRIPTDIR/../vm/guest-lib.sh
. "$(dirname "$0")/../vm/guest-lib.sh"
# shellcheck source=SCRIPTDIR/../guest/lib-release.sh
. "$(dirname "$0")/../guest/lib-release.sh"

dir=${1:?usage: signing-guest.sh DIR enforce|lockdown}
mode=${2:-enforce}
dev=$VR_EDU

# The kernel log since the last mark: what one load made the kernel say.
klog_mark() { dmesg >/tmp/klog.before; }
klog_new() { dmesg | diff /tmp/klog.before - | sed -n 's/^> //p'; }
loaded() { grep -q "^$1 " /proc/modules; }
not_loaded() { ! loaded "$1"; }
# The module's taint flags lack E (loaded without a valid signature).
not_tainted_unsigned() {
	local t
	read -r t <"/sys/module/$1/taint" || return 1
	[[ $t != *E* ]]
}
lacks() { ! grep -qF "$1" "$2"; }
signed_verified() { loaded vfio_release && lacks "module verification failed" /tmp/klog.signed; }

# refused NAME FILE ERROR MESSAGE: insmod FILE fails with ERROR (strerror),
# the module is not loaded, and the kernel logs MESSAGE (if not empty).
refused() {
	local name=$1 ko=$2 want=$3 message=$4 err
	klog_mark
	if err=$(insmod "$ko" 2>&1); then
		vr_result FAIL "$name-refused" "insmod succeeded: the kernel took it"
		rmmod vfio_release
		return
	fi
	vr_info "$name: insmod says: $err"
	if [[ $err == *"$want"* ]]; then
		vr_result PASS "$name-refused-with-$errname"
	else
		vr_result FAIL "$name-refused-with-$errname" "want '$want', insmod: $err"
	fi
	check "$name-not-loaded" not_loaded vfio_release
	klog_new >"/tmp/klog.$name"
	vr_info "$name: kernel says: $(tr '\n' '|' <"/tmp/klog.$name")"
	if [ -n "$message" ]; then
		check "$name-kernel-message" grep -qF "$message" "/tmp/klog.$name"
	fi
}

# in_tree: an in-tree module, signed at modules_install by the build's own
# key, loads. The initramfs already loaded vfio-pci under the same rules;
# load it once more, from the installed tree.
in_tree() {
	check vfio-pci-loaded-at-boot loaded vfio_pci
	rmmod vfio_pci 2>/dev/null
	check in-tree-vfio-pci-loads modprobe vfio-pci
	check in-tree-vfio-pci-untainted expect_eq "$(cat /sys/module/vfio_pci/taint 2>&1)" ""
	vr_info "vfio-pci signer: $(modinfo -F signer vfio-pci)"
}

if [ "$mode" = lockdown ]; then
	errname=eperm
	mountpoint -q /sys/kernel/security || mount -t securityfs securityfs /sys/kernel/security
	check lockdown-integrity grep -qF "[integrity]" /sys/kernel/security/lockdown
	vr_info "lockdown: $(cat /sys/kernel/security/lockdown 2>&1)"
	check sig-enforce-off expect_eq "$(cat /sys/module/module/parameters/sig_enforce)" N
	in_tree
	# Missing or unknown key alike: the lockdown LSM names the comm.
	msg="Lockdown: insmod: unsigned module loading is restricted; see man kernel_lockdown.7"
	refused unsigned "$dir/unsigned.ko" "Operation not permitted" "$msg"
	refused untrusted "$dir/untrusted.ko" "Operation not permitted" "$msg"
	vr_done
	exit 0
fi
[ "$mode" = enforce ] || { vr_result FAIL mode "unknown mode '$mode'"; vr_done; exit 0; }
errname=ekeyrejected
cn=$(cat "$dir/signer")

# --- the kernel's side of the stand-in ---
check sig-enforce-on expect_eq "$(cat /sys/module/module/parameters/sig_enforce)" Y
# Built in by build.sh (CONFIG_SYSTEM_TRUSTED_KEYS); a real host enrols it
# with mokutil and finds it in the .machine or .platform keyring.
check test-mok-in-trusted-keys grep -qF "asymmetri $cn: " /proc/keys
vr_info "keys: $(grep -F asymmetri /proc/keys | sed 's/.*asymmetri //' | tr '\n' '|')"

in_tree

# --- what the kernel refuses ---
rejected="Key was rejected by service"
refused unsigned "$dir/unsigned.ko" "$rejected" "Loading of unsigned module is rejected"
refused untrusted "$dir/untrusted.ko" "$rejected" "Loading of module with unavailable key is rejected"
# A signature by a trusted key that does not match the contents is refused
# whatever the enforcement, and not as a missing one: no "Loading of" line.
refused tampered "$dir/tampered.ko" "$rejected" ""
check tampered-is-bad-signature-not-missing-key lacks "Loading of" /tmp/klog.tampered

# --- the dkms-signed module loads and works ---
klog_mark
check signed-loads insmod "$dir/signed.ko"
klog_new >/tmp/klog.signed
vr_info "signed: kernel says: $(tr '\n' '|' </tmp/klog.signed)"
# No E (unsigned) taint: the kernel verified the signature. O is out of tree.
check signed-module-not-tainted-unsigned not_tainted_unsigned vfio_release
check signed-no-verification-failure signed_verified
vr_info "vfio_release taint: '$(cat /sys/module/vfio_release/taint 2>&1)'"

check bind-edu-vfio vr_bind_vfio "$dev"
check edu-free-at-load expect_eq "$(status_field "$dev" state)" free
mon_start
check open-close "$HOLD" -d "$dev" close-device close-group
mon_wait_for "$dev" free
check open-close-events expect_eq "$(mon_events "$dev")" "group-claimed claimed opened released group-released free"
mon_stop
check status-free expect_eq "$(status_field "$dev" state)" free
check signed-unloads vr_unload
vr_done
