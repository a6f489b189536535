#!/bin/bash
# signing.sh [KVER]: the module under enforced module signatures.
#
# The stand-in for a Secure Boot host: the debug kernel (build.sh) trusts
# the test MOK's certificate (built into its keyring) and is booted with
# module.sig_enforce=1, so every module must carry a signature by a key it
# trusts. This script
#   on the host: builds and signs the module with dkms, as a Secure Boot
#     host does, but with the test MOK and a private dkms framework, tree
#     and source tree (the machine's own dkms configuration, keys and tree
#     are neither read nor written); makes an unsigned build (make module),
#     a build signed by a key the kernel does not know, and a signed module
#     altered after signing; checks each one's signature with modinfo;
#   in a VM (tests/debug-kernel/signing-guest.sh): the signed module loads
#     and works, the other three are refused with the kernel's reason, and
#     an in-tree module (vfio-pci) still loads;
#   in a second VM: a Debian kernel of the same series booted with
#     lockdown=integrity (what Debian's kernels turn on under UEFI Secure
#     Boot) refuses the unsigned and the unknown-key module with EPERM and
#     the lockdown message (docs/secure-boot.md quotes both).
# Every check prints PASS or FAIL; the last line is "N passed, N failed";
# the exit status is 0 only when nothing failed.
#
# KVER defaults to the debug kernel in the cache (build.sh).
# Environment:
#   VR_DEBUG_CACHE=DIR  the debug kernel's cache (default
#                       /var/cache/vfio-release/debug-kernel); the test MOK
#                       is DIR/mok/mok.key with its certificate mok.der
#   VR_SIGN_NO_VM=1     host checks only (no VM)
#   VR_SIGN_LOCKDOWN=0  no lockdown VM; VR_SIGN_LOCKDOWN_KVER=K boots K for it
#   VR_TIMEOUT, VR_LOG_DIR, VR_VERBOSE  passed on to tests/vm/run-vm.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
cache=${VR_DEBUG_CACHE:-/var/cache/vfio-release/debug-kernel}
mok=$cache/mok
kver=${1:-$("$here/release.sh")} || exit 1
version=$(sed -n 's/.*VFIO_RELEASE_VERSION "\(.*\)"/\1/p' "$top/kmod/version.h")
kdir=/lib/modules/$kver/build
arch=$(uname -m)
# The guest reads the modules from here: it mounts fresh tmpfs over /tmp.
work=$top/build/signing/$kver
scratch=$(mktemp -d /tmp/vr-signing.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

npass=0 nfail=0
result() {
	local status=$1 name=$2
	shift 2
	case $status in
	PASS) npass=$((npass + 1)); echo "PASS signing-$name" ;;
	*) nfail=$((nfail + 1)); echo "FAIL signing-$name: $*" ;;
	esac
}
info() { echo "INFO signing: $*"; }
finish() {
	echo "$npass passed, $nfail failed"
	[ "$nfail" -eq 0 ]
	exit
}

# What a signed .ko ends with (include/linux/module_signature.h).
has_marker() { tail -c 28 "$1" | cmp -s - <(printf '~Module signature appended~\n'); }
# An X.509 serial as modinfo prints a sig_key: hex bytes, no leading zeros.
hexid() { tr -d ':\n' | tr a-f A-F | sed 's/^0*//'; }

# --- prerequisites: what this test cannot run without ---
missing=()
command -v dkms >/dev/null || missing+=("dkms (apt-get install dkms)")
command -v unshare >/dev/null || missing+=("unshare (util-linux)")
command -v openssl >/dev/null || missing+=("openssl")
[ -e "$kdir/Makefile" ] || missing+=("the kernel build tree $kdir (make debug-kernel)")
[ -x "$kdir/scripts/sign-file" ] || missing+=("$kdir/scripts/sign-file")
grep -q '^CONFIG_MODULE_SIG=y' "$kdir/.config" 2>/dev/null ||
	missing+=("CONFIG_MODULE_SIG=y in $kdir/.config")
[ -s "$mok/mok.key" ] && [ -s "$mok/mok.der" ] || missing+=("the test MOK $mok/mok.key and mok.der (build.sh makes them)")
if [ ${#missing[@]} -gt 0 ]; then
	result FAIL prerequisites "missing: ${missing[*]}"
	finish
fi
result PASS prerequisites
cn=$(openssl x509 -inform DER -in "$mok/mok.der" -noout -subject -nameopt RFC2253 |
	sed -n 's/^subject=.*CN=\([^,]*\).*/\1/p')
serial=$(openssl x509 -inform DER -in "$mok/mok.der" -noout -serial | sed 's/^serial=//' | hexid)
sig_hash=$(sed -n 's/^CONFIG_MODULE_SIG_HASH="\(.*\)"/\1/p' "$kdir/.config")
info "kernel $kver, test MOK '$cn' serial $serial, hash $sig_hash, modules in $work"

rm -rf "$work" && mkdir -p "$work"

# --- dkms with a private framework, tree and source tree ---
# dkms 3.0.10 (bookworm) reads its framework only from /etc/dkms/
# framework.conf and framework.conf.d/*.conf (it has no --dkmsframework
# option), and takes the signing key from there alone. So dkms runs in a
# mount namespace of its own with a private directory bound over
# /etc/dkms: the machine's configuration is not read, and nothing written
# goes outside $work. Per-module /etc/dkms/<module>.conf files are hidden
# the same way.
fw=$work/etc-dkms
mkdir -p "$fw/framework.conf.d" "$work/src" "$work/dkms" "$work/install" "$work/tmp"
cat >"$fw/framework.conf" <<EOF
# Private dkms framework for tests/debug-kernel/signing.sh
source_tree="$work/src"
dkms_tree="$work/dkms"
install_tree="$work/install"
tmp_location="$work/tmp"
sign_file="$kdir/scripts/sign-file"
mok_signing_key="$mok/mok.key"
mok_certificate="$mok/mok.der"
EOF
src=$work/src/vfio-release-$version
mkdir -p "$src"
cp -a "$top/Kbuild" "$top/kmod" "$top/uapi" "$top/dkms.conf" "$src/"

# The machine's dkms state before: compared afterwards.
machine_state() {
	{
		find /etc/dkms -type f -exec sha256sum {} + 2>/dev/null | sort
		sha256sum /var/lib/dkms/mok.key /var/lib/dkms/mok.pub 2>&1
	}
}
machine_state >"$scratch/machine.before"

private_dkms() {
	# shellcheck disable=SC2016 # expanded by that sh
	unshare --mount --propagation private -- \
		sh -c 'mount --bind "$0" /etc/dkms && exec dkms "$@"' "$fw" "$@"
}
dkms_log=$work/dkms.log
{
	private_dkms add "vfio-release/$version" &&
		private_dkms build "vfio-release/$version" -k "$kver" -a "$arch"
} >"$dkms_log" 2>&1
dkms_rc=$?
# dkms compresses the module as the kernel's own are (CONFIG_MODULE_COMPRESS_*).
signed_src=
for f in "$work/dkms/vfio-release/$version/$kver/$arch/module/vfio_release.ko"{,.xz,.zst,.gz}; do
	[ -s "$f" ] && signed_src=$f
done
if [ "$dkms_rc" -eq 0 ] && [ -n "$signed_src" ]; then
	result PASS dkms-build
	case $signed_src in
	*.xz) xz -dc "$signed_src" >"$work/signed.ko" ;;
	*.zst) zstd -qdc "$signed_src" >"$work/signed.ko" ;;
	*.gz) gzip -dc "$signed_src" >"$work/signed.ko" ;;
	*) cp "$signed_src" "$work/signed.ko" ;;
	esac
else
	result FAIL dkms-build "dkms exited $dkms_rc, no module in $work/dkms: $(tail -n 5 "$dkms_log" | tr '\n' ' ')"
fi
if grep -q 'bad exit status' "$dkms_log"; then
	result FAIL dkms-log-clean "$(grep 'bad exit status' "$dkms_log" | head -n1)"
else
	result PASS dkms-log-clean
fi
grep -E '^(Sign command|Signing key|Public certificate)' "$dkms_log" | while IFS= read -r l; do info "dkms: $l"; done
if grep -qx "Signing key: $mok/mok.key" "$dkms_log" && grep -q "^Signing module " "$dkms_log"; then
	result PASS dkms-signs-with-test-mok
else
	result FAIL dkms-signs-with-test-mok "dkms did not say it signs with $mok/mok.key (see $dkms_log)"
fi
machine_state >"$scratch/machine.after"
if cmp -s "$scratch/machine.before" "$scratch/machine.after"; then
	result PASS machine-dkms-untouched
else
	result FAIL machine-dkms-untouched "$(diff "$scratch/machine.before" "$scratch/machine.after" | tr '\n' ' ')"
fi

# modinfo of a file: the signer, the key id (the certificate's serial) and
# the hash, as the module's PKCS#7 signature names them.
if [ -s "$work/signed.ko" ]; then
	signer=$(modinfo -F signer "$work/signed.ko")
	key=$(modinfo -F sig_key "$work/signed.ko" | hexid)
	hash=$(modinfo -F sig_hashalgo "$work/signed.ko")
	info "dkms-built module: signer '$signer', sig_key $key, sig_hashalgo $hash"
	if [ "$signer" = "$cn" ] && [ "$key" = "$serial" ] && has_marker "$work/signed.ko"; then
		result PASS dkms-module-signer-is-test-mok
	else
		result FAIL dkms-module-signer-is-test-mok "signer '$signer' key '$key', want '$cn' key '$serial'"
	fi
	if [ "$hash" = "$sig_hash" ]; then
		result PASS dkms-hash-is-kernels
	else
		result FAIL dkms-hash-is-kernels "sig_hashalgo '$hash', the kernel's CONFIG_MODULE_SIG_HASH is '$sig_hash'"
	fi
	if [ "$(modinfo -F vermagic "$work/signed.ko" | cut -d' ' -f1)" = "$kver" ]; then
		result PASS dkms-module-for-kernel
	else
		result FAIL dkms-module-for-kernel "vermagic '$(modinfo -F vermagic "$work/signed.ko")'"
	fi
fi

# --- the unsigned build: what `make module` gives ---
if make -s -C "$top" module KVER="$kver" >"$scratch/make.log" 2>&1 &&
	[ -s "$top/build/$kver/vfio_release.ko" ]; then
	cp "$top/build/$kver/vfio_release.ko" "$work/unsigned.ko"
	result PASS unsigned-build
else
	result FAIL unsigned-build "make module KVER=$kver: $(tail -n 5 "$scratch/make.log" | tr '\n' ' ')"
fi
if [ -s "$work/unsigned.ko" ]; then
	if [ -z "$(modinfo -F signer "$work/unsigned.ko")" ] && ! has_marker "$work/unsigned.ko"; then
		result PASS unsigned-build-has-no-signature
	else
		result FAIL unsigned-build-has-no-signature "signer '$(modinfo -F signer "$work/unsigned.ko")'"
	fi

	# Signed, but by a key the kernel does not trust.
	openssl req -new -x509 -nodes -days 1 -newkey rsa:2048 -sha256 \
		-subj "/CN=vfio-release untrusted test key/" -outform DER \
		-keyout "$scratch/other.key" -out "$scratch/other.der" 2>"$scratch/openssl.log"
	cp "$work/unsigned.ko" "$work/untrusted.ko"
	if "$kdir/scripts/sign-file" "$sig_hash" "$scratch/other.key" "$scratch/other.der" \
		"$work/untrusted.ko" >"$scratch/sign.log" 2>&1 &&
		[ "$(modinfo -F signer "$work/untrusted.ko")" = "vfio-release untrusted test key" ]; then
		result PASS untrusted-key-build
	else
		result FAIL untrusted-key-build "$(cat "$scratch/openssl.log" "$scratch/sign.log" | tail -n 3 | tr '\n' ' ')"
	fi
fi

# The dkms-signed module with one byte of its modinfo changed after signing.
if [ -s "$work/signed.ko" ]; then
	cp "$work/signed.ko" "$work/tampered.ko"
	off=$(grep -obUa 'description=' "$work/tampered.ko" | head -n1 | cut -d: -f1)
	if [ -n "$off" ]; then
		printf 'D' | dd of="$work/tampered.ko" bs=1 seek="$off" conv=notrunc status=none
	fi
	if [ -n "$off" ] && has_marker "$work/tampered.ko" && ! cmp -s "$work/signed.ko" "$work/tampered.ko" &&
		[ "$(modinfo -F signer "$work/tampered.ko")" = "$cn" ]; then
		result PASS tampered-build
	else
		result FAIL tampered-build "could not alter the signed module's description"
	fi
fi

# --- in the VM: the kernel's verdict on each ---
if [ "${VR_SIGN_NO_VM:-0}" = 1 ]; then
	info "VR_SIGN_NO_VM=1: the VM part is not run"
	finish
fi
for f in signed unsigned untrusted tampered; do
	[ -s "$work/$f.ko" ] || { result FAIL vm "no $f.ko to test: the VM is not started"; finish; }
done
printf '%s\n' "$cn" >"$work/signer"
if ! make -s -C "$top" userspace >"$scratch/make.log" 2>&1; then
	result FAIL vm "make userspace: $(tail -n 5 "$scratch/make.log" | tr '\n' ' ')"
	finish
fi
# run_vm KVER APPEND DIR MODE: signing-guest.sh in a VM; its result lines
# are counted here, and a harness failure (crash, hang, kernel warning)
# is one more FAIL.
run_vm() {
	local k=$1 append=$2 dir=$3 mode=$4 results=$scratch/vm-$4.results rc line
	: >"$results"
	VR_RESULTS_OUT=$results VR_APPEND="${VR_APPEND:-} $append" \
		"$top/tests/vm/run-vm.sh" "$k" "$here/signing-guest.sh" "$dir" "$mode" >"$scratch/vm-$mode.out" 2>&1
	rc=$?
	grep '^run-vm: console log' "$scratch/vm-$mode.out" | tail -n1
	while IFS= read -r line; do
		case $line in
		PASS*) npass=$((npass + 1)); echo "PASS signing-$mode-${line#* }" ;;
		FAIL*) nfail=$((nfail + 1)); echo "FAIL signing-$mode-${line#* }" ;;
		SKIP*) echo "SKIP signing-$mode-${line#* }" ;;
		INFO*) echo "INFO signing $mode: ${line#* }" ;;
		esac
	done <"$results"
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' "$results"; then
		result FAIL "vm-$mode" "run-vm.sh exited $rc: $(tail -n 3 "$scratch/vm-$mode.out" | tr '\n' ' ')"
	fi
}
run_vm "$kver" module.sig_enforce=1 "$work" enforce

# --- a Debian kernel under lockdown, as under UEFI Secure Boot ---
# Debian's kernels lock themselves down (integrity) when booted with
# Secure Boot on; lockdown=integrity does the same without UEFI. They trust
# no key of ours, so this shows the refusal a Secure Boot host gives.
[ "${VR_SIGN_LOCKDOWN:-1}" = 1 ] || finish
# The newest Debian kernel of the debug kernel's series (6.12: the same
# source), generic flavour; VR_SIGN_LOCKDOWN_KVER=K to choose.
series=$(echo "$kver" | cut -d. -f1-2)
lk=${VR_SIGN_LOCKDOWN_KVER:-}
if [ -z "$lk" ]; then
	for b in /lib/modules/"$series".*-amd64/build; do
		k=${b%/build}
		k=${k##*/}
		case $k in *-rt-amd64) continue ;; esac
		grep -q '^CONFIG_SECURITY_LOCKDOWN_LSM=y' "/boot/config-$k" 2>/dev/null &&
			[ -r "/boot/vmlinuz-$k" ] && echo "$k"
	done | sort -V | tail -n1 >"$scratch/lk"
	lk=$(cat "$scratch/lk")
fi
if [ -z "$lk" ]; then
	echo "SKIP signing-lockdown: no installed Debian $series kernel with headers and CONFIG_SECURITY_LOCKDOWN_LSM=y"
	finish
fi
lwork=$top/build/signing/lockdown-$lk
rm -rf "$lwork" && mkdir -p "$lwork"
if make -s -C "$top" module KVER="$lk" >"$scratch/make.log" 2>&1 &&
	cp "$top/build/$lk/vfio_release.ko" "$lwork/unsigned.ko" && cp "$lwork/unsigned.ko" "$lwork/untrusted.ko" &&
	"/lib/modules/$lk/build/scripts/sign-file" sha256 "$scratch/other.key" "$scratch/other.der" \
		"$lwork/untrusted.ko" >>"$scratch/make.log" 2>&1 &&
	! has_marker "$lwork/unsigned.ko" && has_marker "$lwork/untrusted.ko"; then
	result PASS "lockdown-builds-$lk"
	run_vm "$lk" lockdown=integrity "$lwork" lockdown
else
	result FAIL "lockdown-builds-$lk" "$(tail -n 5 "$scratch/make.log" | tr '\n' ' ')"
fi
finish
