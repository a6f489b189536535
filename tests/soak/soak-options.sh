# soak-options.sh: the soak's options and their defaults, sourced by
# soak.sh on the host (from its command line) and by guest-soak.sh in the
# guest (from VR_ARGS, the same words), so that the two cannot disagree.
# shellcheck shell=bash disable=SC2034 # the variables are the callers'

cycles=1000 procs=4 core_every=10 time_limit=0 max_failures=20 pause_ms=10 sample_every=100
settle_timeout=60

# soak_option --NAME VALUE: sets NAME (dashes as underscores) to VALUE.
# Returns 1 for an option the soak does not have, 2 for a VALUE that is
# not a number; the caller says so in its own way.
soak_option() {
	case $1 in
	--cycles | --procs | --core-every | --time-limit | --max-failures | --pause-ms | --sample-every | --settle-timeout) ;;
	*) return 1 ;;
	esac
	case ${2-} in '' | *[!0-9]*) return 2 ;; esac
	local name=${1#--}
	printf -v "${name//-/_}" '%s' "$2"
}
