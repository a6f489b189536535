#!/bin/bash
# cmocka unit tests of the library and CLI, as PASS/FAIL/SKIP lines; the
# library's suites run a second time under valgrind (leaks, bad reads).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
unit=$top/tests/unit
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if ! make -s -C "$top/userspace" all lib/libvfio-release-internal.a >"$log" 2>&1 || ! make -s -C "$unit" >>"$log" 2>&1; then
	echo "FAIL unit-build: $(tail -n 3 "$log" | tr '\n' ' ')"
	exit 0
fi

# tap SUITE CMD...: one result line per TAP line of CMD.
tap() {
	local suite=$1 rc=0 seen=0 line name
	shift
	CMOCKA_MESSAGE_OUTPUT=TAP "$@" >"$log" 2>&1 || rc=$?
	while read -r line; do
		case $line in
		"not ok "*) name=${line#not ok * - }; echo "FAIL unit-$suite-${name%% *}: $(grep -m1 'error:' "$log")"; seen=1 ;;
		"ok "*"# SKIP"*) name=${line#ok * - }; echo "SKIP unit-$suite-${name%% *}: the vfio_release module is loaded on this host"; seen=1 ;;
		"ok "*) name=${line#ok * - }; echo "PASS unit-$suite-${name%% *}"; seen=1 ;;
		esac
	done <"$log"
	if [ "$seen" = 0 ] || { [ "$rc" != 0 ] && ! grep -q '^not ok' "$log"; }; then
		echo "FAIL unit-$suite: exited $rc: $(tail -n 2 "$log" | tr '\n' ' ')"
	fi
}

for t in "$unit"/test-*.c; do
	t=${t%.c}
	tap "${t##*/test-}" "$t"
done
if command -v valgrind >/dev/null; then
	for s in wait-state event reply parse output qmp match; do
		tap "$s-valgrind" valgrind -q --error-exitcode=9 --leak-check=full \
			--errors-for-leak-kinds=definite "$unit/test-$s"
	done
else
	echo "SKIP unit-valgrind: valgrind is not installed"
fi
