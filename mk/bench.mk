# Benchmarks, the chaos soak and fuzzing (bench/, chaos/, fuzz/; results in BENCHMARKS.md).
# Included by the top-level Makefile (`-include mk/*.mk`). Everything runs on loopback.
#
#   make bench [BENCH_ARGS="--jobs 100,1000"]       scale, RSS, READY=1 and recovery figures, then bench-incident
#   make bench-incident [INCIDENT_ARGS="--jobs 1000"]   1,000 jobs failing at once: time to heal all, watchdog pings
#   make bench-config [CONFIG_BENCH_ARGS="--jobs 1000,10000"]   config load + validate, minified and indented
#   make bench-stall [STALL_BENCH_ARGS="--jobs 100,1000"]   stall detection: metrics reads/s, stall to job-stalled
#   make chaos [CHAOS_SECONDS=600] [CHAOS_SEED=n]   fault-injection soak; non-zero on a violation
#   make fuzz  [FUZZ_SECONDS=300] [FUZZ_TARGETS=config]   libFuzzer on the config loader and models
#   make binary-size                                the release polaris-warden's bytes per module

# python3: bench/ and chaos/ use only its standard library.
BENCH_DEB_PACKAGES := libsystemd-dev libpq-dev pkg-config python3
# The same flags as the .deb build (mk/packaging.mk), so both share one release build.
BENCH_RELEASE_FLAGS := -c release --static-swift-stdlib --scratch-path .build-release
BENCH_ARGS ?=
INCIDENT_ARGS ?=
CONFIG_BENCH_ARGS ?=
STALL_BENCH_ARGS ?=
CHAOS_SECONDS ?= 90
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: bench bench-incident bench-config bench-stall chaos fuzz bench-deps bench-release binary-size link-order

bench-deps:
	$(call apt_ensure,$(BENCH_DEB_PACKAGES))

bench-release: bench-deps
	$(SWIFT) build $(BENCH_RELEASE_FLAGS) --product polaris-warden
	$(SWIFT) build $(BENCH_RELEASE_FLAGS) --product polaris-emulator

bench: bench-release
	python3 bench/run.py $(BENCH_ARGS)
	python3 bench/incident.py $(INCIDENT_ARGS)
	python3 bench/config_load.py $(CONFIG_BENCH_ARGS)
	python3 bench/stall.py $(STALL_BENCH_ARGS)

## The release warden with WATCHDOG_USEC and a NOTIFY_SOCKET, 1,000 jobs at 10 requests/s, all
## failed at once: time to heal all, every WATCHDOG=1 gap, STATUS progress; non-zero on a miss.
bench-incident: bench-release
	python3 bench/incident.py $(INCIDENT_ARGS)

## The release `polaris-warden check-config` on 1,000 and 10,000 jobs, minified (one line) and indented.
bench-config: bench-deps
	$(SWIFT) build $(BENCH_RELEASE_FLAGS) --product polaris-warden
	python3 bench/config_load.py $(CONFIG_BENCH_ARGS)

## The release warden with stall detection on 100 and 1,000 jobs (every job read every 2 s poll):
## metrics requests per second, and stall to job-stalled against afterSeconds + 2 polls.
bench-stall: bench-release
	python3 bench/stall.py $(STALL_BENCH_ARGS)

# HA=1: two wardens with `highAvailability` on a private PostgreSQL (scripts/with-postgres.sh,
# ha-deps in mk/ha.mk), random leader kills and freezes (chaos/soak.py, CHAOS_HA=1).
chaos: bench-release $(if $(filter 1,$(HA)),ha-deps)
	CHAOS_SECONDS=$(CHAOS_SECONDS) $(if $(filter 1,$(HA)),CHAOS_HA=1 scripts/with-postgres.sh) python3 chaos/soak.py

fuzz: bench-deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh all $(FUZZ_TARGETS)
	@if ls fuzz/artifacts/*/crash-* fuzz/artifacts/*/timeout-* fuzz/artifacts/*/oom-* >/dev/null 2>&1; then \
		echo "fuzz: findings in fuzz/artifacts/ (add a regression test, fix, delete the artifact)"; exit 1; fi

## The functions a warden runs, placed side by side by the release link (bench/link-order.py;
## BENCHMARKS.md, "Code placement"): run it again when the code moved, and commit the file.
link-order: bench-release
	$(call apt_ensure,valgrind binutils)
	python3 bench/link-order.py --jobs 100
	@# SwiftPM does not track the order file: remove the binary so the build links it again.
	rm -f "$$($(SWIFT) build $(BENCH_RELEASE_FLAGS) --show-bin-path)/polaris-warden"
	$(SWIFT) build $(BENCH_RELEASE_FLAGS) --product polaris-warden

## What each module costs in the release polaris-warden (issue 14; BENCHMARKS.md): relinks it with
## a link map and groups the map's sections by module (scripts/binary-size.py), then prints the
## stripped size the .deb would ship.
binary-size: bench-deps
	$(SWIFT) build $(BENCH_RELEASE_FLAGS) --product polaris-warden -Xlinker -Map=.build-release/polaris-warden.map
	python3 scripts/binary-size.py .build-release/polaris-warden.map --sections
	@bin="$$($(SWIFT) build $(BENCH_RELEASE_FLAGS) --show-bin-path)/polaris-warden"; \
	strip -o .build-release/polaris-warden.stripped "$$bin" && \
	stat -c '%s' .build-release/polaris-warden.stripped | awk '{ printf "stripped polaris-warden: %.1f MiB (%d bytes)\n", $$1 / 1048576, $$1 }'
