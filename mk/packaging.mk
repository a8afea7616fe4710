# Debian packages and system tests under a real systemd (docs/packaging.md).
# Included by the top-level Makefile (`-include mk/*.mk`).

PACKAGING_DEB_PACKAGES := debhelper dpkg-dev lintian fakeroot libsystemd-dev libpq-dev pkg-config
SYSTEM_TEST_DEB_PACKAGES := systemd-container debootstrap util-linux curl jq

DEB_VERSION := $(shell sed -n '1s/^[^(]*(\([^)]*\)).*/\1/p' packaging/debian/changelog)
DEB_ARCH := $(shell dpkg --print-architecture 2>/dev/null || echo amd64)
DEB_OUT := .build-deb
WARDEN_DEB := $(DEB_OUT)/polaris-warden_$(DEB_VERSION)_$(DEB_ARCH).deb
EMULATOR_DEB := $(DEB_OUT)/polaris-emulator_$(DEB_VERSION)_$(DEB_ARCH).deb
SYSTEM_TEST_ROOTFS ?= .build-rootfs/bookworm

.PHONY: deb lintian system-test packaging-deps system-test-deps

packaging-deps:
	$(call apt_ensure,$(PACKAGING_DEB_PACKAGES))

system-test-deps:
	$(call apt_ensure,$(SYSTEM_TEST_DEB_PACKAGES))

## Builds .build-deb/polaris-warden_<version>_<arch>.deb and polaris-emulator_... (release, static Swift stdlib).
deb: packaging-deps
	packaging/build-deb.sh

## Debian policy checks of the two .debs; fails on any lintian error. Infos are shown, except
## spelling-error-in-binary: it reports strings of the statically linked Swift dependencies.
lintian: deb
	lintian --fail-on error --display-info --suppress-tags spelling-error-in-binary \
		$(WARDEN_DEB) $(EMULATOR_DEB)

## Boots Debian bookworm under systemd-nspawn, installs the .deb, runs the system test cases.
system-test: deb system-test-deps
	Tests/System/run.sh --rootfs $(SYSTEM_TEST_ROOTFS) $(WARDEN_DEB) $(EMULATOR_DEB)
