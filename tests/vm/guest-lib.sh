# guest-lib.sh: sourced by guest scripts that tests/vm/run-vm.sh runs in
# the test VM (bash, chrooted into the read-only host root; scratch space
# is /tmp). The environment carries VR_EDU, VR_NIC, VR_PAIR_A and
# VR_PAIR_B, the PCI addresses of the test devices (see run-vm.sh).
#
# Results go to the result channel, one line each; the host decides the
# run from them. A script must end with vr_done, or the run fails.

# The second serial port, backed by a file on the host.
VR_RESULT_DEV=${VR_RESULT_DEV:-/dev/ttyS1}
# The test helpers built on the host (tests/helpers).
# shellcheck disable=SC2034 # used by the guest scripts
VR_HELPERS=$(cd "$(dirname "${BASH_SOURCE[0]}")/../helpers" && pwd)

# One line to the result channel, and a copy to the console for context.
vr__emit() {
	local uptime _
	read -r uptime _ </proc/uptime
	printf '%s\n' "$1" >"$VR_RESULT_DEV"
	printf 'vr: [%s] %s\n' "$uptime" "$1"
}

# vr_result PASS|FAIL|SKIP NAME [REASON...]
vr_result() {
	local status=$1 name=${2// /_} reason
	shift 2
	reason=$(printf '%s' "${*:-no reason given}" | tr '\n' ' ')
	case $status in
	PASS) vr__emit "PASS $name" ;;
	FAIL | SKIP) vr__emit "$status $name: $reason" ;;
	*) vr__emit "FAIL $name: vr_result called with status '$status'" ;;
	esac
}

vr_info() { vr__emit "INFO $(printf '%s' "$*" | tr '\n' ' ')"; }
vr_done() { vr__emit DONE; }

# vr_wait SECONDS CMD...: poll CMD until it succeeds; fail after SECONDS.
vr_wait() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.05
	done
}

vr_group_of() { basename "$(readlink "/sys/bus/pci/devices/$1/iommu_group")"; }

# Prints the bound driver's name, or nothing when unbound.
vr_driver_of() {
	local d=/sys/bus/pci/devices/$1/driver
	if [ -e "$d" ]; then basename "$(readlink "$d")"; fi
}

# vr_unbind ADDR: detach ADDR from its driver, if it has one.
vr_unbind() {
	local d=/sys/bus/pci/devices/$1/driver
	if [ -e "$d" ]; then echo "$1" >"$d/unbind"; fi
}

vr__bound_to() { [ "$(vr_driver_of "$1")" = "$2" ]; }

# vr_bind_vfio ADDR: bind ADDR to vfio-pci and wait for /dev/vfio/<group>.
vr_bind_vfio() {
	local group
	group=$(vr_group_of "$1") || return 1
	echo vfio-pci >"/sys/bus/pci/devices/$1/driver_override" || return 1
	if ! vr__bound_to "$1" vfio-pci; then
		vr_unbind "$1" || return 1
		echo "$1" >/sys/bus/pci/drivers_probe || return 1
	fi
	vr_wait 10 vr__bound_to "$1" vfio-pci && vr_wait 10 test -e "/dev/vfio/$group"
}

# vr_bind_host ADDR DRIVER: clear the override, unbind, and let the kernel
# pick the device's own driver again; wait until DRIVER has it.
vr_bind_host() {
	echo >"/sys/bus/pci/devices/$1/driver_override" || return 1
	vr_unbind "$1" || return 1
	echo "$1" >/sys/bus/pci/drivers_probe || return 1
	vr_wait 10 vr__bound_to "$1" "$2"
}
