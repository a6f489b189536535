#!/bin/bash
# uapi/vfio_release.yaml renders to the same names and values as the
# hand-written header: ynl-gen-c.py --mode uapi (from build/ynl, unpacked by
# tests/ynl-setup.sh) writes a header from the spec, and every name either
# header defines is printed with its value under both; the lists must match.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
ynl=$top/build/ynl
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ ! -f "$ynl/tools/net/ynl/ynl-gen-c.py" ]; then
	echo "SKIP ynl-uapi-names: no $ynl/tools/net/ynl (run tests/ynl-setup.sh)"
	exit 0
fi

# ynl-gen-c.py looks for the schema beside the spec (../*.yaml) and for
# the kernel tree root (a MAINTAINERS file) above it.
mkdir -p "$work/tree/Documentation/netlink/specs"
cp "$ynl"/Documentation/netlink/*.yaml "$work/tree/Documentation/netlink/"
cp "$top/uapi/vfio_release.yaml" "$work/tree/Documentation/netlink/specs/"
touch "$work/tree/MAINTAINERS"
mkdir -p "$work/gen/linux"
if ! (cd "$ynl/tools/net/ynl" && timeout 120 /usr/bin/python3 ynl-gen-c.py --mode uapi --header \
	--spec "$work/tree/Documentation/netlink/specs/vfio_release.yaml" \
	-o "$work/gen/linux/vfio_release.h") >"$work/gen.log" 2>&1; then
	echo "FAIL ynl-uapi-render: $(tail -n 3 "$work/gen.log" | tr '\n' ' ')"
	exit 0
fi
echo "PASS ynl-uapi-render"

# Every VFIO_RELEASE_* name of either header, but the include guard.
names=$(cat "$work/gen/linux/vfio_release.h" "$top/uapi/linux/vfio_release.h" |
	sed 's,/\*.*\*/,,; /^ *\*/d' | grep -oE '\b_*VFIO_RELEASE_[A-Z0-9_]+\b' |
	grep -v '_H$' | sort -u)

# values INCLUDE_DIR: NAME=VALUE for every name, compiled against that
# header (an enumerator is no macro: the compiler, not the preprocessor,
# resolves them). A name the header lacks does not compile.
values() {
	{
		echo '#include <stdio.h>'
		echo '#include <linux/vfio_release.h>'
		echo 'int main(void) {'
		for n in $names; do
			case $n in
			VFIO_RELEASE_GENL_NAME | VFIO_RELEASE_MCGRP_EVENTS)
				echo "	printf(\"$n=%s\\n\", $n);" ;;
			*)
				echo "	printf(\"$n=%lld\\n\", (long long)($n));" ;;
			esac
		done
		echo '	return 0;'
		echo '}'
	} >"$work/values.c"
	gcc -Wall -I"$1" -o "$work/values" "$work/values.c" 2>"$work/cc.log" && "$work/values"
}

# A name missing from one header fails to compile: report it as such.
if ! values "$work/gen" >"$work/from-yaml" || ! values "$top/uapi" >"$work/from-header"; then
	missing=$(grep -oE '_*VFIO_RELEASE_[A-Z0-9_]+[^A-Z0-9_ ]* undeclared' "$work/cc.log" |
		grep -oE '_*VFIO_RELEASE_[A-Z0-9_]+' | sort -u | tr '\n' ' ')
	echo "FAIL ynl-uapi-names: a name only one header has: ${missing:-$(head -n 3 "$work/cc.log" | tr '\n' ' ')}"
	exit 0
fi
if diff -u "$work/from-header" "$work/from-yaml" >"$work/diff"; then
	echo "PASS ynl-uapi-names: $(wc -l <"$work/from-header") names with the same values"
else
	echo "FAIL ynl-uapi-names: $(grep '^[-+]V' "$work/diff" | head -n 6 | tr '\n' ' ')"
fi
