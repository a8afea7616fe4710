# High availability: two real wardens on one emulator and one real PostgreSQL (chaos/ha.py).
# Included by the top-level Makefile (`-include mk/*.mk`). Everything runs on loopback.
#
#   make ha-test [HA_ARGS="kill sigstop"]    the HA scenarios (all four by default)
#   make chaos HA=1 [CHAOS_SECONDS=60]       the chaos soak with two wardens (mk/bench.mk)

# Debian's PostgreSQL 15 for scripts/with-postgres.sh (a private server, removed afterwards).
HA_DEB_PACKAGES := postgresql-15
HA_ARGS ?=

.PHONY: ha-test ha-deps

ha-deps:
	$(call apt_ensure,$(HA_DEB_PACKAGES))

## The HA scenarios against the release builds, under a private PostgreSQL 15: kill -9 of the
## leader, SIGSTOP beyond the lease then SIGCONT, PostgreSQL stopped and restarted, one warden
## cut off through a proxy; each checks the takeover bound, 0 duplicates, every fault healed
## and writes only from the lease holder. Non-zero on a violation.
ha-test: bench-release ha-deps
	scripts/with-postgres.sh python3 chaos/ha.py $(HA_ARGS)
