# polaris-warden: every target does its own set-up (`deps`), so a fresh Debian machine needs only `make`.
SHELL := /bin/bash
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

DEB_PACKAGES := libsystemd-dev pkg-config systemd util-linux

.PHONY: deps build release test unit-test lint unit-check demo emulator clean

## Installs the Debian packages the build and tests need, only when one is missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@python3 -c 'import jsonschema, openapi_schema_validator' 2>/dev/null || \
		python3 -m pip install --quiet jsonschema openapi-schema-validator

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

## The whole gate: format lint, unit-file checks, then every test (journal tests under a private journald).
test: deps lint unit-check unit-test

lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests

unit-check: deps
	scripts/check-unit.sh systemd/polaris-warden.service

unit-test: deps
	$(SWIFT) build --build-tests
	scripts/with-test-journald.sh $(SWIFT) test --skip-build

demo: deps
	$(SWIFT) run polaris-warden demo

emulator: deps
	$(SWIFT) run polaris-emulator

clean:
	rm -rf .build

# Packaging, benchmarks, chaos, fuzzing, completions: one fragment each.
-include mk/*.mk
