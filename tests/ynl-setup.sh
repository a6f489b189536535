#!/bin/bash
# ynl-setup.sh: host side, run before the guest scenario tests/guest/ynl.sh.
#
# Extracts the kernel's own YNL tooling (tools/net/ynl: cli.py and its
# python library) and the netlink spec schemas (Documentation/netlink/*.yaml)
# from Debian's linux-source-6.12 into build/ynl, then validates
# uapi/vfio_release.yaml against its schema with YNL's own spec loader.
# The extraction is redone only when the source tarball is newer than it.
#
# Needs: linux-source-6.12, xz-utils, python3-yaml, python3-jsonschema.
# The guest runs the same /usr/bin/python3 from the shared host root.
#
# The cli is then used as (see tests/guest/ynl.sh):
#   /usr/bin/python3 build/ynl/tools/net/ynl/cli.py \
#       --spec uapi/vfio_release.yaml \
#       --schema build/ynl/Documentation/netlink/genetlink-c.yaml \
#       --dump get-device --output-json
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
src=${VR_LINUX_SOURCE:-/usr/src/linux-source-6.12.tar.xz}
dest=$top/build/ynl
stamp=$dest/.extracted
spec=$top/uapi/vfio_release.yaml
python=/usr/bin/python3

die() { echo "ynl-setup: $*" >&2; exit 1; }

[ -r "$src" ] || die "missing $src: apt-get install linux-source-6.12"
[ -x "$python" ] || die "missing $python: apt-get install python3"

if [ ! -f "$stamp" ] || [ "$src" -nt "$stamp" ]; then
	echo "ynl-setup: extracting tools/net/ynl from $src"
	rm -rf "$dest.tmp"
	mkdir -p "$dest.tmp"
	tar -xJf "$src" -C "$dest.tmp" --strip-components=1 \
		--wildcards --no-wildcards-match-slash \
		'*/tools/net/ynl' '*/Documentation/netlink/*.yaml' ||
		die "could not extract tools/net/ynl from $src"
	[ -f "$dest.tmp/tools/net/ynl/cli.py" ] || die "$src has no tools/net/ynl/cli.py"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	touch "$stamp"
fi

# YNL's spec loader with an explicit schema: the same check cli.py does
# with --schema (and ynl-gen-c.py with the schema beside its specs).
schema=$dest/Documentation/netlink/$(sed -n 's/^protocol: *//p' "$spec").yaml
[ -r "$schema" ] || die "no schema $schema for the protocol of $spec"
"$python" -c 'import yaml' 2>/dev/null || die "python3 lacks yaml: apt-get install python3-yaml"
"$python" -c 'import jsonschema' 2>/dev/null ||
	die "python3 lacks jsonschema: apt-get install python3-jsonschema"
(cd "$dest/tools/net/ynl" && "$python" - "$spec" "$schema") <<'EOF' || die "$spec does not validate against $schema"
import sys
from lib import SpecFamily

family = SpecFamily(sys.argv[1], sys.argv[2])
print(f"ynl-setup: {sys.argv[1]} is valid: family {family.name}, "
      f"{len(family.ops)} operation(s), {len(family.ntfs)} notification(s)")
EOF
