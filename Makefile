# SPDX-License-Identifier: GPL-2.0
#
# make                  module for every installed kernel with headers,
#                       plus the userspace library and CLI
# make module KVER=...  module for one kernel (default: the running one)
# make demo             the slow-release race and its fix, in a QEMU guest
#                       (under a minute; needs make first)
# make test             the whole test suite (host and QEMU guests)
# make debug-kernel     build the debug kernel (RT, KASAN, lockdep, kmemleak,
#                       IOMMUFD; cached in /var/cache/vfio-release)
# make test-debug       every guest group on it, plus its own checks
# make style / check    checkpatch / sparse on the module
# make install / dkms-install

# The debug kernel (make debug-kernel) is built for only when named.
KVERS ?= $(filter-out %-vrdebug,$(notdir $(patsubst %/build,%,$(wildcard /lib/modules/*/build))))
KVER ?= $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
BUILD := $(CURDIR)/build/$(KVER)
VERSION := $(shell sed -n 's/.*VFIO_RELEASE_VERSION "\(.*\)"/\1/p' kmod/version.h)
DKMS_SRC := /usr/src/vfio-release-$(VERSION)
KMOD_SRC := Kbuild kmod uapi

all: modules userspace

modules:
	@test -n "$(KVERS)" || { echo "no kernel headers under /lib/modules/*/build: apt-get install linux-headers-amd64" >&2; exit 1; }
	@set -e; for k in $(KVERS); do $(MAKE) --no-print-directory module KVER=$$k; done

# Each kernel builds in its own copy so that several can coexist.
module:
	@test -d $(KDIR) || { echo "no headers for kernel $(KVER) at $(KDIR): apt-get install linux-headers-$(KVER)" >&2; exit 1; }
	@mkdir -p $(BUILD) && cp -a $(KMOD_SRC) $(BUILD)/
	$(MAKE) -C $(KDIR) M=$(BUILD) modules

module-debug:
	$(MAKE) module VR_DEBUG=y

module-install: module
	$(MAKE) -C $(KDIR) M=$(BUILD) modules_install
	depmod -a $(KVER)

userspace:
	$(MAKE) -C userspace

install: userspace
	$(MAKE) -C userspace install

dkms.conf-check:
	@grep -q '^PACKAGE_VERSION="$(VERSION)"$$' dkms.conf || { echo "dkms.conf PACKAGE_VERSION differs from kmod/version.h ($(VERSION))" >&2; exit 1; }

dkms-install: dkms.conf-check
	rm -rf $(DKMS_SRC) && mkdir -p $(DKMS_SRC)
	cp -a $(KMOD_SRC) dkms.conf $(DKMS_SRC)/
	dkms add vfio-release/$(VERSION)
	dkms install vfio-release/$(VERSION) -k $(KVER)

dkms-uninstall:
	dkms remove vfio-release/$(VERSION) --all || true
	rm -rf $(DKMS_SRC)

# checkpatch.pl is not in the headers packages; take it from linux-source.
CHECKPATCH := build/checkpatch/scripts/checkpatch.pl
$(CHECKPATCH):
	@src=$$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n1); \
	test -n "$$src" || { echo "checkpatch.pl needs a kernel source: apt-get install linux-source-6.12" >&2; exit 1; }; \
	mkdir -p build/checkpatch && tar -xJf $$src -C build/checkpatch --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'

style: $(CHECKPATCH)
	$(CHECKPATCH) --no-tree --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f kmod/*.[ch] uapi/linux/*.h

check:
	@mkdir -p $(BUILD) && cp -a $(KMOD_SRC) $(BUILD)/
	$(MAKE) -C $(KDIR) M=$(BUILD) C=2 CF="-D__CHECK_ENDIAN__" modules

# The demo builds what it needs beyond `make` itself (the test helpers, the
# slow test driver for the kernel it boots) and says what is missing.
demo:
	@$(MAKE) -s -C userspace
	@tests/demo/demo.sh

test:
	tests/run.sh

debug-kernel:
	tests/debug-kernel/build.sh

test-debug:
	tests/debug-kernel/test.sh

clean:
	rm -rf build
	$(MAKE) -C userspace clean

.PHONY: all modules module module-debug module-install userspace install \
	dkms.conf-check dkms-install dkms-uninstall style check demo test debug-kernel test-debug clean
