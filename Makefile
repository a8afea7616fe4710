# polaris-warden: every target does its own set-up, so a fresh Debian machine needs only `make`.
# `deps` (build, demo) needs no Python; `test-deps` adds what the tests need, from Debian's
# packages where Debian has them and otherwise into a virtual environment under .build/venv.
# Nothing is ever installed into the system Python (PEP 668).
SHELL := /bin/bash
SWIFT ?= swift
export PATH := /opt/swift/usr/bin:$(PATH)

# procps: /bin/kill, which `systemd-analyze verify` looks for (the unit's ExecReload=).
# libpq-dev: PostgreSQL's C client, for `highAvailability` (the CLibPQ module; runtime libpq5).
DEB_PACKAGES := libsystemd-dev libpq-dev pkg-config systemd util-linux procps
# The tests' Python: Debian's interpreter and modules; the venv adds only what Debian lacks.
# postgresql-15: the HA tests' private server (scripts/with-postgres.sh).
TEST_DEB_PACKAGES := python3 python3-venv python3-jsonschema postgresql-15
# The interpreter the venv is made from: Debian's, whatever else is first on PATH.
SYSTEM_PYTHON ?= /usr/bin/python3
VENV ?= $(CURDIR)/.build/venv
VENV_REQUIREMENTS := scripts/test-requirements.txt
# promtool (`promtool test rules`) from Debian's prometheus package, unpacked, not installed:
# installing it would start a Prometheus server (and pull in ten JavaScript libraries).
TOOLS_DIR := $(CURDIR)/.build/tools
PROMTOOL ?= $(TOOLS_DIR)/prometheus/usr/bin/promtool
DEMO_ARGS ?=

.PHONY: deps test-deps build release test unit-test lint unit-check rules-test python-test demo emulator clean

# Installs the Debian packages in $(1) that are missing; `apt-get update` only when needed.
# (Also used by mk/*.mk.)
define apt_ensure
	@missing=""; for p in $(1); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

## Installs the Debian packages the build and the demo need, only when one is missing. No Python.
deps:
	$(call apt_ensure,$(DEB_PACKAGES))

## What the tests need on top: Debian's python3 + python3-jsonschema, a venv (made from
## $(SYSTEM_PYTHON), seeing Debian's modules) with what Debian does not package, and promtool.
test-deps: deps $(VENV)/.requirements-ok $(PROMTOOL)
	$(call apt_ensure,$(TEST_DEB_PACKAGES))

$(VENV)/.requirements-ok: $(VENV_REQUIREMENTS)
	$(call apt_ensure,$(TEST_DEB_PACKAGES))
	rm -rf $(VENV)
	$(SYSTEM_PYTHON) -m venv --system-site-packages $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(VENV_REQUIREMENTS)
	$(VENV)/bin/python -c 'import jsonschema, openapi_schema_validator'
	touch $@

$(PROMTOOL):
	@command -v apt-get >/dev/null || { echo "promtool: needs apt-get (Debian's prometheus package)" >&2; exit 1; }
	rm -rf $(TOOLS_DIR)/prometheus $(TOOLS_DIR)/download && mkdir -p $(TOOLS_DIR)/download
	cd $(TOOLS_DIR)/download && { apt-get download -qq prometheus 2>/dev/null || \
		{ if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO=sudo; fi; $$SUDO apt-get update -qq && apt-get download -qq prometheus; }; }
	dpkg-deb -x $(TOOLS_DIR)/download/prometheus_*.deb $(TOOLS_DIR)/prometheus
	rm -rf $(TOOLS_DIR)/download
	$(PROMTOOL) --version >/dev/null

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

## The whole gate: format lint, unit-file checks, alert-rule tests, then every test (journal tests
## under a private journald).
test: test-deps lint unit-check rules-test unit-test

## swift format, and every import of every target declared in Package.swift (scripts/check-imports.py).
lint:
	$(SWIFT) format lint --strict --recursive Package.swift Sources Tests
	python3 scripts/check-imports.py --swift $(SWIFT)

## The static gates (verify clean, exposure <= 1.5) of the plain unit and the template.
unit-check: deps
	scripts/check-unit.sh systemd/polaris-warden.service
	scripts/check-unit.sh systemd/polaris-warden@.service

## promtool's unit tests of the Prometheus alert rules (alerting/prometheus/, docs/alerting.md).
rules-test: test-deps
	$(PROMTOOL) check rules alerting/prometheus/polaris-warden.rules.yml
	$(PROMTOOL) test rules alerting/prometheus/polaris-warden.rules.test.yml

# The Swift tests that run python3 (`/usr/bin/env python3`) find the venv's first.
unit-test python-test: export PATH := $(VENV)/bin:$(PATH)

unit-test: test-deps
	$(SWIFT) build --build-tests
	scripts/with-test-journald.sh scripts/with-postgres.sh $(SWIFT) test --skip-build

## Only the tests that use Python (config schema, OpenAPI conformance): the stock-Debian check.
python-test: test-deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --filter 'ConfigSchemaTests|OpenAPIConformanceTests'

## The scripted demo (polaris-warden-demo, a development executable the .deb does not ship):
## `make demo DEMO_ARGS="--duration 120 --jobs 20 --poll-interval 1"`.
demo: deps
	$(SWIFT) run polaris-warden-demo $(DEMO_ARGS)

emulator: deps
	$(SWIFT) run polaris-emulator

clean:
	rm -rf .build

# Packaging, benchmarks, chaos, fuzzing, completions: one fragment each.
-include mk/*.mk
