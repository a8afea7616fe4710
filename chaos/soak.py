#!/usr/bin/env python3
"""Chaos soak (`make chaos`): the release-built warden against the release-built emulator, both
real processes on loopback, while this driver injects every fault the emulator has at random
and kills the warden with SIGKILL at random moments. An independent checker reads the emulator
(admin state and request log) and the state file and asserts the invariants below,
continuously and at the end. Exits non-zero on any violation and prints the seed to replay.

Besides faults on single jobs and requests, two incidents (docs/operations.md, "Incidents"), at
a low rate and one at a time (the next only once the last one's jobs run again): the project
paused for 2-5 poll intervals, then resumed (every job fails at once and every new job fails
until the resume), and one of the two connections the jobs use broken for 3-10 s, then
restored (its jobs fail with could_not_connect_to_source, its test fails). A job-level fault on
an affected table waits with the incident: its recovery is timed from the resume or restore,
as are the incident's own recoveries.

Stall detection is on (`supervisor.stall`: afterSeconds 3 polls, action replace, half the rate
limit for metrics reads, so each job is read every ceil(jobs / reads per poll) polls). A "stall"
fault freezes a running job's counters (it stays running with health ok); the driver unstalls
some after a while, the rest wait for the warden to report and replace them (no other job
fault picks a stalled job; an incident may still stop it). A stalled job does not count as
recovered. A stall is only injected while its detection bound (afterSeconds +
2 sample intervals) ends before the faults stop; one still in effect when they stop extends the
settle window by that bound. Detection times are printed, with the warden restarts that
delayed any past the bound (a restarted warden starts its round robin of reads afresh), not
judged: kills and API faults stretch the sample interval.

  CHAOS_SECONDS (default 90)  total run time, fault phase + settle phase
  CHAOS_SEED                  replay a run (the seed is printed at start and at the end)
  CHAOS_HA=1                  high availability (`make chaos HA=1`, under scripts/with-postgres.sh):
                              two wardens (warden-a, warden-b: separate state directories, the
                              same config with `highAvailability`, lease 6 s, on the database of
                              WARDEN_TEST_POSTGRES_*). The kills hit the current leader (kill -9,
                              restarted after 0.1-2 s) and a "freeze" fault stops it (SIGSTOP)
                              for 1.2-1.8 leases, then continues it (SIGCONT); one leader
                              disruption at a time, only while a leader is established

Invariants (a violation each):
  duplicate    two non-terminal streaming jobs on one table (live snapshots and, afterwards,
               the jobs' lifetimes from the emulator's timestamps)
  adoptable    a job the warden created (201) while another non-terminal job held the table and
               was not replaced by that create (i.e. the warden should have adopted it)
  unrecovered  after the faults stop, a desired job (not gave-up) not running with health ok
               within 3 poll intervals (+ the poll jitter, the emulator's start delay and 1 s).
               requestTimeoutSeconds is 2 so that the settle window after an unanswered create
               (2 request timeouts, during which the warden must not create again) fits in it.
               When the warden still holds a connection at that point (its last test in the
               request log failed), the window grows by the documented retest backoff (the
               next retest is due one doubled gap after the last one) and the heal at the rate
               limit; after a pause, by the project re-check (every 2 polls) and that heal;
               and by the backlog when the faults stop: a write and a read at the rate limit
               for each table not yet running + ok (one poll more if one has to be re-tested
               for lost_connection_to_source first)
  incident-writes  more creates on the affected tables during a pause or a broken connection
               than there are affected tables: the warden must hold them, not recreate in a loop
  false-stall  a job-stalled event (stall detection's, with WARDEN_STALL_SEC) about a job the
               driver never stalled: its rows were growing (or it was not running + ok)
  stall-unreported  a stalled job the warden replaced (it ended while still frozen, no other fault
               touched it) without a job-stalled event about it
  gave-up      any job in gave-up: the budget (1000 attempts/hour) is far above what the fault
               rate can consume, so no fault pattern here justifies giving up
  state-file   the state file did not parse as JSON when read
  reset        any POST .../reset (autoResetOffsets is off)
  unmanaged    any request naming an unmanaged job or connection other than the listing, or an
               unmanaged job whose status/lastModifiedBy changed
  rate         more than maxRequestsPerSecond + burst (= rate) requests in a sliding 1 s window
               (per warden process; the log records completion time, see --help of the code).
               Requests a killed warden had in flight complete after its successor started: a
               kill allows maxConcurrentActions more for a request timeout + 1 s after it
  secret       the API key (raw or base64 in a Basic header) in warden output, the state file,
               the emulator's request log or its output (with CHAOS_HA=1: also the database
               password, in either warden's output or state files)

With CHAOS_HA=1, per warden where the invariant is about "the warden" (crash, state-file, gave-up,
rate by User-Agent and process, stall events in either output), and besides:
  leader-writes  a write (non-GET with the warden's User-Agent) outside its leadership: from its
               `leader-acquired` to its `leader-lost`, kill or SIGSTOP (a warden continued after
               a freeze must not write until it acquires again), or after the other warden
               acquired; a request held by a delay fault may complete that much later
  takeover     no warden acquired the lease within leaseSeconds + 2 polls (+ 2 s) of a leader's
               kill or freeze
  leaders      not exactly one leader at the end
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import shutil
import signal
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import harness  # noqa: E402

POLL = 2.0
RATE = 5.0
START_DELAY = 0.5
REQUEST_TIMEOUT = 2
MAX_CONCURRENT = 4   # maxConcurrentActions
SEEDED = 12          # desired jobs that exist at start (adopted), on SEED_CONNECTION
SECOND = 4           # desired jobs that exist at start, on SECOND_CONNECTION
FRESH = 3            # desired jobs the warden must create (the last one on SECOND_CONNECTION)
SECOND_CONNECTION = "second-connection"
CONNECTIONS = [harness.SEED_CONNECTION, SECOND_CONNECTION]
# docs/operations.md "Incidents": a held project is asked again after one poll, then every two;
# a broken connection is retested after one poll, doubling, at most every 5 minutes.
PROJECT_RECHECK_POLLS = 2
CONNECTION_RECHECK_MAX = 300.0
UNMANAGED = 4        # jobs on other tables/connection the warden must never touch
TERMINAL = {"failed", "canceled", "completed"}
# Stall detection (docs/configuration.md "Stall detection"): the shortest afterSeconds, replace,
# half the rate limit for metrics reads (5 reads per 2 s poll at 5/s).
STALL_AFTER = 3 * POLL
STALL_SHARE = 0.5
STALL_READS_PER_POLL = max(1, int(STALL_SHARE * RATE * POLL))
# CHAOS_HA=1 (docs/high-availability.md): two wardens, a lease of 6 s.
HA = os.environ.get("CHAOS_HA") == "1"
HA_INSTANCES = ("warden-a", "warden-b")
HA_LEASE = 6.0
HA_TAKEOVER = HA_LEASE + 2 * POLL   # a standby takes over within leaseSeconds + 2 poll intervals
HA_ALLOWANCE = 2.0                  # measured from outside, on a loaded 2-core machine
HA_SLACK = 0.5                      # a role event is seen by the tail a little after the warden acts
HEALTH_CODES = ["internal_error", "out_of_memory", "unable_to_proceed", "lost_connection_to_source",
                "invalid_input", "task_failure", "unknown_error"]


def stall_interval(jobs: int = SEEDED + SECOND + FRESH) -> float:
    """How often each running job's metrics are read: ceil(jobs / reads per poll) polls (+ jitter)."""
    return -(-jobs // STALL_READS_PER_POLL) * POLL * 1.1


def stall_bound() -> float:
    """The documented detection bound: afterSeconds + 2 sample intervals."""
    return STALL_AFTER + 2 * stall_interval()


class Violations:
    def __init__(self):
        self.items: list[str] = []
        self.lock = threading.Lock()
        self.kinds: dict[str, int] = {}

    def add(self, kind: str, text: str):
        with self.lock:
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if self.kinds[kind] <= 5:
                self.items.append(f"{kind}: {text}")
                print(f"chaos: VIOLATION {kind}: {text}", flush=True)


def table_of(job):
    return (job.get("target") or {}).get("tableName") or ((job.get("spec") or {}).get("target") or {}).get("tableName")


def user_of(job, key):
    return ((job.get(key) or {}).get("username")) or ""


def stalled(job):
    """The emulator froze this job's counters (POST /_emulator/jobs/{id}/stall)."""
    return bool((job.get("_emulator") or {}).get("stalled"))


STALL_EVENT = re.compile(r" job-stalled .*\[(?=[^\]]*WARDEN_STALL_SEC=)[^\]]*POLARIS_JOB_ID=\"?([0-9A-Za-z-]+)")


class Soak:
    def __init__(self, seconds: float, seed: int, keep: bool, ha: bool = False):
        self.ha = ha
        self.pg = harness.postgres_from_env() if ha else None
        self.seconds = seconds
        self.seed = seed
        self.rng = random.Random(seed)
        self.keep = keep
        self.violations = Violations()
        self.work = harness.workdir("warden-chaos-")
        self.key = harness.new_api_key()
        self.key_b64 = base64.b64encode((self.key + ":").encode()).decode()
        self.faults = 0
        self.fault_kinds: dict[str, int] = {}
        self.kills = 0
        self.incarnations: list[float] = []  # wall-clock start of each warden process
        self.records: dict[str, dict] = {}   # request log, deduplicated by (unique) timestamp
        self.snapshots = 0
        self.state_reads = 0
        self.lock = threading.Lock()
        self.stop_checker = threading.Event()
        self.held: dict[str, float] = {}     # job id -> release time
        self.conn_failure_until = None
        # Waits for a table to run again: {"table", "since" (wall time; None while an incident
        # holds the table: set when it ends), "kind"}.
        self.recovery_waits: list[dict] = []
        self.recoveries: list[tuple[float, str, str]] = []  # (seconds, table, fault kind)
        # The incident in progress (at most one): {"kind": "pause"|"break", "connection",
        # "tables", "started", "ends"}; finished ones also get "ended".
        self.incident = None
        self.incidents: list[dict] = []
        self.fault_end = float("inf")
        # A pause fails the unmanaged jobs too: the driver changes their baseline under this
        # lock, and the checker compares a snapshot with the baseline under it.
        self.unmanaged_lock = threading.Lock()
        self.final_recovery = None
        # Delay faults make the request log (completion times) bunch up requests that were sent
        # apart: [start, end, extra requests allowed] per delay fault, end set once disarmed.
        self.delay_taints: list[list] = []
        # Stall faults: {"id", "table", "started", "unstall_at" (None: left to the warden),
        # "unstalled", "reported" (wall time the job-stalled line was seen), "touched" (other
        # faults on the same job)}.
        self.stalls: list[dict] = []
        self.stall_reports: dict[str, float] = {}  # job id -> first time its job-stalled was seen
        self.output_seen = 0
        self.wardens: list = []
        self.starts: dict[str, list[float]] = {}  # per warden tag: wall-clock start of each process
        # CHAOS_HA=1: each warden's output tail, the moments its leadership ended from outside
        # (kill -9, SIGSTOP), the freeze in progress, and every leader disruption
        self.tails: dict[str, harness.OutputTail] = {}
        self.ends: dict[str, list[float]] = {}
        self.frozen = None  # {"warden", "started", "until"}
        self.disruptions: list[dict] = []  # {"kind", "instance", "at", "continued"}

    # ---------------------------------------------------------------------------------------
    def setup(self):
        warden_bin, emulator_bin = harness.binaries()
        self.emulator = harness.Emulator(emulator_bin, self.work, self.key, seed_jobs=SEEDED, start_delay=START_DELAY)
        self.emulator.admin("POST", "/_emulator/seed",
                            {"connection": SECOND_CONNECTION, "jobs": SECOND, "tablePrefix": "second-table-"})
        self.emulator.admin("POST", "/_emulator/seed",
                            {"connection": "unmanaged-connection", "jobs": UNMANAGED, "tablePrefix": "unmanaged-"})
        state = self.emulator.state()
        self.unmanaged = {j["id"]: j for j in state["jobs"]
                          if (j.get("source") or {}).get("connectionName") == "unmanaged-connection"}
        self.unmanaged_tables = {table_of(j) for j in self.unmanaged.values()}
        second = sorted((table_of(j) for j in state["jobs"]
                         if (j.get("source") or {}).get("connectionName") == SECOND_CONNECTION),
                        key=lambda t: int(t.rsplit("-", 1)[1]))
        self.connection_of = {f"{harness.SEED_TABLE_PREFIX}{i}": harness.SEED_CONNECTION for i in range(SEEDED)}
        self.connection_of.update({table: SECOND_CONNECTION for table in second})
        for i in range(FRESH):
            self.connection_of[f"fresh-table-{i}"] = SECOND_CONNECTION if i == FRESH - 1 else harness.SEED_CONNECTION
        self.tables = list(self.connection_of)
        config = harness.warden_config(
            self.emulator.port, self.tables, POLL, rate=RATE, timeout=REQUEST_TIMEOUT,
            supervisor_extra={"unhealthyThreshold": 1, "healthyThreshold": 2, "lostConnectionThreshold": 1,
                              "pendingTimeoutSeconds": 6, "unknownTimeoutSeconds": 6,
                              "maxConcurrentActions": MAX_CONCURRENT,
                              "stall": {"afterSeconds": STALL_AFTER, "action": "replace",
                                        "metricsShare": STALL_SHARE}})
        config["connections"] = [harness.seed_connection_fields(name) for name in CONNECTIONS]
        config["jobs"] = [{"name": f"job-{table}", "spec": harness.seed_job_spec(table, self.connection_of[table])}
                          for table in self.tables]
        self.config = config
        if not self.ha:
            self.warden = harness.Warden(warden_bin, self.work, config, self.key, tag="warden")
            self.wardens = [self.warden]
            self.start_warden()
            return
        for instance in HA_INSTANCES:
            directory = os.path.join(self.work, instance)
            os.makedirs(directory)
            own = json.loads(json.dumps(config))
            own["highAvailability"] = harness.ha_settings(self.pg["host"], self.pg["port"], self.pg["database"],
                                                          self.pg["user"], instance, HA_LEASE)
            warden = harness.Warden(warden_bin, directory, own, self.key, tag=instance,
                                    extra_env={"PG_PASSWORD": self.pg["password"]})
            self.wardens.append(warden)
            self.tails[instance] = harness.OutputTail(warden)
            self.ends[instance] = []
        self.warden = self.wardens[0]
        # warden-a takes the lease, then warden-b stands by
        self.start_warden(self.wardens[0])
        harness.wait_for(lambda: self.tails["warden-a"].first("leader-acquired"), 30, what="warden-a to lead")
        self.start_warden(self.wardens[1])
        harness.wait_for(lambda: self.tails["warden-b"].first("standby"), 30, what="warden-b to stand by")

    def start_warden(self, warden=None):
        warden = warden or self.warden
        self.incarnations.append(time.time())
        self.starts.setdefault(warden.tag, []).append(self.incarnations[-1])
        warden.start()

    # ---------------------------------------------------------------------------------------
    # Checker
    def poll_requests(self):
        values = self.emulator.requests()
        raw = json.dumps(values)
        if self.key in raw or self.key_b64 in raw:
            self.violations.add("secret", "the API key appears in the emulator's request log")
        with self.lock:
            for r in values:
                self.records.setdefault(r["timestamp"], r)

    def check_snapshot(self):
        with self.unmanaged_lock:
            state = self.emulator.state()
            unmanaged = dict(self.unmanaged)
        self.snapshots += 1
        live: dict[str, list] = {}
        for job in state["jobs"]:
            if job.get("type") == "streaming" and job["executionStatus"] not in TERMINAL:
                live.setdefault(table_of(job), []).append(job["id"])
        for table, ids in live.items():
            if len(ids) > 1:
                self.violations.add("duplicate", f"{len(ids)} non-terminal jobs on {table}: {ids}")
        now = time.time()
        # Recovered from a job-level fault: a running job on the table whose health is not
        # error (a warn the driver set, which the warden leaves alone by design, does not count
        # against recovery).
        good = {t for t in self.tables if any(
            j["executionStatus"] == "running" and (j.get("health") or {}).get("status") != "error"
            and not stalled(j) and table_of(j) == t for j in state["jobs"])}
        with self.lock:
            still = []
            for wait in self.recovery_waits:
                # since is None while an incident holds the table: not recoverable until it ends
                if wait["since"] is not None and wait["table"] in good:
                    self.recoveries.append((now - wait["since"], wait["table"], wait["kind"]))
                    if wait.get("incident") is not None:
                        wait["incident"]["healed"].append(now - wait["since"])
                else:
                    still.append(wait)
            self.recovery_waits = still
        for jid, original in unmanaged.items():
            current = next((j for j in state["jobs"] if j["id"] == jid), None)
            if current is None or current["executionStatus"] != original["executionStatus"] or \
                    user_of(current, "lastModifiedBy") != user_of(original, "lastModifiedBy"):
                self.violations.add("unmanaged", f"unmanaged job {jid} changed")
        return state

    def read_state_file(self, warden=None):
        warden = warden or self.warden
        try:
            with open(warden.state_path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        self.state_reads += 1
        text = data.decode(errors="replace")
        if self.key in text or self.key_b64 in text:
            self.violations.add("secret", "the API key appears in the state file")
        if self.pg and self.pg["password"] in text:
            self.violations.add("secret", f"the database password appears in {warden.tag}'s state file")
        try:
            return json.loads(data)
        except ValueError as error:
            self.violations.add("state-file", (f"{warden.tag}'s " if self.ha else "") + f"state file does not parse: {error}")
            return None

    def checker(self):
        while not self.stop_checker.is_set():
            try:
                self.check_snapshot()
                for warden in self.wardens:
                    self.read_state_file(warden)
                self.poll_requests()
                self.update_taints()
                self.scan_stall_events()
            except Exception as error:  # the emulator is up for the whole run: report, go on
                print(f"chaos: checker error: {error}", flush=True)
            self.stop_checker.wait(0.25)

    # ---------------------------------------------------------------------------------------
    # Driver
    def note(self, kind):
        self.faults += 1
        self.fault_kinds[kind] = self.fault_kinds.get(kind, 0) + 1

    def managed_live_jobs(self):
        state = self.emulator.state()["jobs"]
        return [j for j in state if table_of(j) in self.tables and j["executionStatus"] not in TERMINAL]

    def inject_one(self):
        rng = self.rng
        kinds = ["fail", "cancel", "suspend", "health-error", "health-warn", "hold", "5xx", "429", "delay", "drop",
                 "conn-test", "kill", "kill-after-fail", "kill-mid-create", "pause", "break", "stall"]
        weights = [10, 5, 5, 6, 4, 4, 6, 4, 4, 4, 1, 2, 2, 2, 1, 1, 8]
        if self.ha:
            kinds, weights = kinds + ["freeze"], weights + [2]
        kind = rng.choices(kinds, weights=weights)[0]
        admin = self.emulator.admin
        # a stalled job is left to the warden (or the driver's unstall): only incidents also hit it
        jobs = [j for j in self.managed_live_jobs() if not stalled(j)]
        job = rng.choice(jobs) if jobs else None
        if job and kind in ("fail", "cancel", "suspend", "health-error", "health-warn", "hold", "kill-after-fail",
                            "kill-mid-create"):
            self.touch(job["id"], kind)
        try:
            if kind in ("fail", "kill-after-fail", "kill-mid-create") and job:
                if kind == "kill-mid-create":
                    # the next create is held up at the emulator; kill while it is in flight
                    self.taint(1, 2500)
                    admin("POST", "/_emulator/faults", {"count": 1, "method": "POST", "pathPrefix": "/jobs",
                                                        "pathPattern": "/jobs$", "delayMilliseconds": rng.randint(1500, 2500)})
                admin("POST", f"/_emulator/jobs/{job['id']}/fail", {"code": rng.choice(HEALTH_CODES)})
                self.wait_recovery(job, kind)
                self.note("fail")
                if kind != "fail":
                    time.sleep(rng.uniform(0, POLL * 1.2) if kind == "kill-after-fail" else POLL * 1.1 + rng.uniform(0, 0.8))
                    self.kill_and_restart(kind)
            elif kind == "cancel" and job:
                admin("POST", f"/_emulator/jobs/{job['id']}/cancel")
                self.wait_recovery(job, kind)
                self.note(kind)
            elif kind == "suspend" and job and job["executionStatus"] in ("running", "pending", "idle"):
                admin("POST", f"/_emulator/jobs/{job['id']}/suspend")
                self.wait_recovery(job, kind)
                self.note(kind)
            elif kind == "health-error" and job:
                admin("POST", f"/_emulator/jobs/{job['id']}/health",
                      {"status": "error", "code": rng.choice(HEALTH_CODES), "message": "chaos"})
                self.wait_recovery(job, kind)
                self.note(kind)
            elif kind == "health-warn" and job:
                code = rng.choice(["lost_connection_to_source", "lost_connection_to_source", "unable_to_proceed",
                                   "parse_exceptions"])
                admin("POST", f"/_emulator/jobs/{job['id']}/health",
                      {"status": rng.choice(["warn", "warning"]), "code": code, "message": "chaos"})
                self.note(kind)
            elif kind == "hold" and job and not job.get("_emulator", {}).get("held"):
                admin("POST", f"/_emulator/jobs/{job['id']}/hold", {"status": rng.choice(["pending", "unknown"])})
                self.held[job["id"]] = time.time() + rng.uniform(1, 10)
                self.note(kind)
            elif kind == "5xx":
                admin("POST", "/_emulator/faults", {"count": rng.randint(1, 5), "status": rng.choice([500, 502, 503, 504]),
                                                    **self.random_match()})
                self.note(kind)
            elif kind == "429":
                admin("POST", "/_emulator/faults", {"count": rng.randint(1, 4), "status": 429,
                                                    "retryAfterSeconds": rng.randint(1, 2), **self.random_match()})
                self.note(kind)
            elif kind == "delay":
                count, delay = rng.randint(1, 3), rng.randint(200, 3500)
                self.taint(count, delay)
                admin("POST", "/_emulator/faults", {"count": count, "delayMilliseconds": delay, **self.random_match()})
                self.note(kind)
            elif kind == "drop":
                admin("POST", "/_emulator/faults", {"count": rng.randint(1, 3), "drop": True, **self.random_match()})
                self.note(kind)
            elif kind == "conn-test" and not self.broken(harness.SEED_CONNECTION):
                admin("PUT", f"/_emulator/connections/{harness.SEED_CONNECTION}/test-failure",
                      {"code": "ConnectionTestFailed", "message": "chaos: AccessDenied"})
                self.conn_failure_until = time.time() + rng.uniform(2, 8)
                self.note(kind)
            elif kind == "pause" and self.incident_done():
                # a few poll intervals, ending early enough to watch the heal before the faults stop
                duration = rng.uniform(2, 5) * POLL
                if time.time() + duration + 4 * POLL < self.fault_end:
                    self.start_incident("pause", None, duration)
            elif kind == "break" and self.incident_done():
                duration = rng.uniform(3, 10)
                if time.time() + duration + 4 * POLL < self.fault_end:
                    self.start_incident("break", rng.choice(CONNECTIONS), duration)
            elif kind == "stall" and job and job["executionStatus"] == "running" and \
                    (job.get("health") or {}).get("status") == "ok" and not stalled(job) and \
                    not (job.get("_emulator") or {}).get("held") and \
                    not (self.incident is not None and table_of(job) in self.incident["tables"]) and \
                    time.time() + stall_bound() + 2 * POLL < self.fault_end:
                admin("POST", f"/_emulator/jobs/{job['id']}/stall")
                now = time.time()
                # some the source gets going again by itself, before or after the warden sees it
                unstall_at = now + rng.uniform(2, stall_bound()) if rng.random() < 0.4 else None
                with self.lock:
                    self.stalls.append({"id": job["id"], "table": table_of(job), "started": now,
                                        "unstall_at": unstall_at, "unstalled": None, "touched": []})
                self.wait_recovery(job, kind)
                self.note(kind)
            elif kind == "kill":
                self.kill_and_restart(kind)
            elif kind == "freeze":
                self.freeze_leader(rng.uniform(1.2, 1.8) * HA_LEASE)
        except RuntimeError as error:
            # e.g. the job went terminal between the listing and the fault: not a fault injected
            if "HTTP 4" not in str(error):
                raise

    def touch(self, job_id, kind):
        """Another fault hit a job the driver stalled: whatever ends it is not only the stall."""
        for stall in self.stalls:
            if stall["id"] == job_id:
                stall["touched"].append(kind)

    def scan_stall_events(self):
        """Stall detection's job-stalled lines in the warden's output: first time seen per job."""
        now = time.time()
        if now - self.output_seen < 1.0:
            return
        self.output_seen = now
        frozen = {stall["id"] for stall in self.stalls}
        for match in STALL_EVENT.finditer("".join(w.output() for w in self.wardens)):
            job_id = match.group(1)
            if job_id in self.stall_reports:
                continue
            self.stall_reports[job_id] = now
            if job_id not in frozen:
                self.violations.add("false-stall", f"job-stalled about {job_id}, which the driver never stalled")

    def taint(self, count, delay_ms):
        with self.lock:
            self.delay_taints.append([time.time(), None, count, delay_ms / 1000])

    def update_taints(self):
        armed = self.emulator.admin("GET", "/_emulator/faults")["values"]
        if any("delayMilliseconds" in f for f in armed):
            return
        now = time.time()
        with self.lock:
            for taint in self.delay_taints:
                if taint[1] is None:
                    taint[1] = now + taint[3] + 0.5

    def wait_recovery(self, job, kind):
        table = table_of(job)
        held = self.incident is not None and table in self.incident["tables"]
        with self.lock:
            self.recovery_waits.append({"table": table, "since": None if held else time.time(),
                                        "kind": f"{kind} held by {self.incident['kind']}" if held else kind})

    # Incidents ------------------------------------------------------------------------------
    def incident_done(self):
        """No incident in progress and every job the last one stopped is running again."""
        with self.lock:
            healing = any(w.get("incident") is not None for w in self.recovery_waits)
        return self.incident is None and not healing

    def broken(self, connection):
        return self.incident is not None and self.incident["connection"] == connection

    def start_incident(self, kind, connection, duration):
        """Pauses the project or breaks `connection`. Every affected table waits for the end:
        its pending recoveries and one new one of this kind are timed from the resume/restore."""
        admin = self.emulator.admin
        tables = list(self.tables) if kind == "pause" else \
            [t for t in self.tables if self.connection_of[t] == connection]
        incident = {"kind": kind, "connection": connection, "tables": set(tables), "started": time.time(),
                    "ends": time.time() + duration, "healed": [], "interrupted": 0}
        if kind == "pause":
            with self.unmanaged_lock:
                admin("POST", "/_emulator/project/pause")
                # the pause fails the unmanaged jobs too: that is the driver's doing, not the warden's
                self.unmanaged = {j["id"]: j for j in self.emulator.state()["jobs"] if j["id"] in self.unmanaged}
        else:
            if connection == harness.SEED_CONNECTION:
                self.conn_failure_until = None  # the break fails the test until the restore
            admin("POST", f"/_emulator/connections/{connection}/break",
                  {"message": f"chaos: AccessDenied on {connection}"})
        self.incident = incident
        for stall in self.stalls:
            if stall["table"] in incident["tables"]:
                self.touch(stall["id"], kind)
        with self.lock:
            kept = []
            for wait in self.recovery_waits:
                if wait["table"] in incident["tables"]:
                    if wait.get("incident") is not None:
                        # an earlier incident's job not healed yet: this one's wait replaces it
                        wait["incident"]["interrupted"] += 1
                        continue
                    if wait["since"] is not None:
                        wait["since"] = None
                        wait["kind"] += f" held by {kind}"
                kept.append(wait)
            self.recovery_waits = kept + [{"table": t, "since": None, "kind": kind, "incident": incident}
                                          for t in tables]
        self.note(kind)
        print(f"chaos: {kind}{' ' + connection if connection else ''} for {duration:.1f}s "
              f"({len(tables)} jobs)", flush=True)

    def end_incident(self):
        incident, self.incident = self.incident, None
        if incident is None:
            return
        if incident["kind"] == "pause":
            self.emulator.admin("POST", "/_emulator/project/resume")
        else:
            self.emulator.admin("POST", f"/_emulator/connections/{incident['connection']}/restore")
        incident["ended"] = time.time()
        self.incidents.append(incident)
        with self.lock:
            for wait in self.recovery_waits:
                if wait["since"] is None:
                    wait["since"] = incident["ended"]

    def random_match(self):
        return self.rng.choice([{}, {"method": "GET"}, {"method": "POST"}, {"pathPrefix": "/jobs"},
                                {"pathPrefix": "/connections"}])

    def kill_and_restart(self, kind):
        if self.ha:
            return self.kill_leader(kind)
        if self.warden.alive():
            self.warden.kill9()
            # its writes in flight still complete at the emulator, logged after the next start
            now = time.time()
            with self.lock:
                self.delay_taints.append([now, now + REQUEST_TIMEOUT + 1.0, MAX_CONCURRENT, 0.0])
            self.kills += 1
            self.fault_kinds[kind] = self.fault_kinds.get(kind, 0) + 1
            self.faults += 1
        time.sleep(self.rng.uniform(0.1, 2.0))
        self.start_warden()

    def housekeeping(self):
        now = time.time()
        for jid, until in list(self.held.items()):
            if now >= until:
                try:
                    self.emulator.admin("POST", f"/_emulator/jobs/{jid}/release")
                except RuntimeError:
                    pass
                del self.held[jid]
        if self.incident is not None and now >= self.incident["ends"]:
            self.end_incident()
        for stall in self.stalls:
            if stall["unstall_at"] is not None and stall["unstalled"] is None and now >= stall["unstall_at"]:
                try:
                    self.emulator.admin("POST", f"/_emulator/jobs/{stall['id']}/unstall")
                except RuntimeError:
                    pass
                stall["unstalled"] = now
        if self.conn_failure_until and now >= self.conn_failure_until:
            self.emulator.admin("DELETE", f"/_emulator/connections/{harness.SEED_CONNECTION}/test-failure")
            self.conn_failure_until = None
        if self.frozen is not None and now >= self.frozen["until"]:
            self.continue_frozen()
        for warden in self.wardens:
            if not warden.alive():
                name = "the warden" if not self.ha else warden.tag
                self.violations.add("crash", f"{name} exited by itself (exit {warden.proc.returncode})")
                self.start_warden(warden)

    def stop_faults(self):
        """The faults stop: armed request faults disarmed, holds released, the connection test
        passes again, and warn health the warden is designed to leave alone (a code it does not
        act on; stale offsets with autoResetOffsets off) cleared, as the source recovering would;
        a paused project resumed, a broken connection restored (both defensively: an incident
        is only started when it ends before the faults stop)."""
        admin = self.emulator.admin
        self.end_incident()
        admin("POST", "/_emulator/project/resume")
        for connection in CONNECTIONS:
            admin("POST", f"/_emulator/connections/{connection}/restore")
        admin("DELETE", "/_emulator/faults")
        for jid in list(self.held):
            try:
                admin("POST", f"/_emulator/jobs/{jid}/release")
            except RuntimeError:
                pass
        self.held.clear()
        admin("DELETE", f"/_emulator/connections/{harness.SEED_CONNECTION}/test-failure")
        for job in self.managed_live_jobs():
            health = job.get("health") or {}
            if health.get("status") in ("warn", "warning") and health.get("code") != "lost_connection_to_source":
                admin("POST", f"/_emulator/jobs/{job['id']}/health", {"status": "ok"})
        if self.frozen is not None:
            self.continue_frozen()
        for warden in self.wardens:
            if not warden.alive():
                self.start_warden(warden)

    # ---------------------------------------------------------------------------------------
    # High availability (CHAOS_HA=1)
    def ha_leader(self, established=True):
        """The warden whose last role mark is `leader-acquired` (a kill or a SIGSTOP ends it), if
        exactly one; with `established`, only while both run (none frozen) and no takeover is
        pending, so one leader disruption happens at a time."""
        leaders = []
        for warden in self.wardens:
            marks = [(t, kind) for t, kind, _ in self.tails[warden.tag].events(("leader-acquired", "leader-lost"))]
            marks += [(t, "end") for t in self.ends[warden.tag]]
            if marks and max(marks)[1] == "leader-acquired":
                leaders.append(warden)
        if len(leaders) != 1:
            return None
        if established and (self.frozen is not None or not all(w.alive() for w in self.wardens)):
            return None
        return leaders[0]

    def kill_leader(self, kind):
        """kill -9 of the current leader, restarted after 0.1-2 s; nothing while none is established."""
        leader = self.ha_leader()
        if leader is None:
            return
        now = time.time()
        leader.kill9()
        self.ends[leader.tag].append(now)
        self.disruptions.append({"kind": kind, "instance": leader.tag, "at": now, "continued": None})
        with self.lock:
            self.delay_taints.append([now, now + REQUEST_TIMEOUT + 1.0, MAX_CONCURRENT, 0.0])
        self.kills += 1
        self.fault_kinds[kind] = self.fault_kinds.get(kind, 0) + 1
        self.faults += 1
        time.sleep(self.rng.uniform(0.1, 2.0))
        self.start_warden(leader)

    def freeze_leader(self, duration):
        """SIGSTOP of the current leader for `duration` (beyond its lease), SIGCONT by housekeeping."""
        leader = self.ha_leader()
        if leader is None or time.time() + duration + 2 * POLL >= self.fault_end:
            return
        now = time.time()
        leader.freeze()
        self.ends[leader.tag].append(now)
        self.frozen = {"warden": leader, "started": now, "until": now + duration}
        self.disruptions.append({"kind": "freeze", "instance": leader.tag, "at": now, "continued": None})
        self.note("freeze")
        print(f"chaos: freeze {leader.tag} (the leader) for {duration:.1f}s", flush=True)

    def continue_frozen(self):
        frozen, self.frozen = self.frozen, None
        self.disruptions[-1]["continued"] = time.time()  # before the signal: it may send at once
        frozen["warden"].thaw()

    def ha_allowance(self, stopped):
        """Settle time while a takeover may still be pending when the faults stop: the rest of
        its bound, then every table healed at the rate limit by the new leader."""
        pending = [d for d in self.disruptions if not any(
            t > d["at"] for w in self.wardens for t, _, _ in self.tails[w.tag].events(("leader-acquired",)))]
        if not pending:
            return 0.0, None
        due = pending[-1]["at"] + HA_TAKEOVER + HA_ALLOWANCE
        allowance = max(0.0, due - stopped) + 2 * len(self.tables) / RATE + POLL * 1.1
        return allowance, (f"no leader since the {pending[-1]['kind']} of {pending[-1]['instance']} "
                           f"{stopped - pending[-1]['at']:.1f}s before: +{allowance:.1f}s")

    def ha_end_slack(self, t):
        """How long after its warden's leadership ended a write may complete: a request held by a
        delay fault (or by the emulator's answer to a killed warden) completes that much later."""
        held = [taint[3] for taint in self.delay_taints
                if taint[0] <= t and (taint[1] is None or t <= taint[1] + taint[3])]
        return HA_SLACK + max(held, default=0.0)

    def ha_checks(self):
        for tail in self.tails.values():
            tail.flush()
        now = time.time()
        events = {w.tag: [(t, kind) for t, kind, _ in self.tails[w.tag].events()] for w in self.wardens}
        intervals = harness.leadership_intervals(events, self.ends, now)
        with self.lock:
            records = list(self.records.values())
        for problem in harness.check_leader_writes(records, intervals, HA_SLACK, self.ha_end_slack):
            self.violations.add("leader-writes", problem)
        # the takeover after each leader disruption: the first acquisition by either warden
        acquisitions = sorted(t for w in self.wardens for t, kind in events[w.tag] if kind == "leader-acquired")
        self.takeovers = []
        for d in self.disruptions:
            after = [t for t in acquisitions if t > d["at"]]
            took = after[0] - d["at"] if after else None
            self.takeovers.append(took)
            if took is None or took > HA_TAKEOVER + HA_ALLOWANCE:
                self.violations.add("takeover", f"{d['kind']} of {d['instance']} at +{d['at'] - self.incarnations[0]:.0f}s:"
                                                f" no leader within {HA_TAKEOVER:g} + {HA_ALLOWANCE:g}s"
                                                + (f" ({took:.1f}s)" if took is not None else ""))
        # after SIGCONT, until it acquires again, a continued warden writes nothing
        late_writes = 0
        for d in self.disruptions:
            if d["kind"] == "freeze" and d["continued"] is not None:
                again = [s for s, _ in intervals[d["instance"]] if s > d["continued"]]
                until = again[0] - HA_SLACK if again else now
                late_writes += sum(1 for t, _ in harness.writes_of(records, d["instance"])
                                   if d["continued"] + self.ha_end_slack(t) < t < until)
        leader = self.ha_leader(established=False)
        if leader is None:
            self.violations.add("leaders", "not exactly one leader at the end: "
                                + "; ".join(f"{w.tag}: {self.tails[w.tag].events()[-1][2] if self.tails[w.tag].events() else 'no role event'}"
                                            for w in self.wardens))
        writes = {w.tag: len(harness.writes_of(records, w.tag)) for w in self.wardens}
        took = [t for t in self.takeovers if t is not None]
        self.ha_lines = [
            f"{len(self.disruptions)} leader disruptions ("
            + ", ".join(f"{k} {sum(1 for d in self.disruptions if d['kind'] == k)}"
                        for k in sorted({d["kind"] for d in self.disruptions}))
            + "); takeover " + (f"{min(took):.1f}-{max(took):.1f}s after each" if took else "-")
            + f" (bound {HA_TAKEOVER:g}s + {HA_ALLOWANCE:g}s)",
            "writes by " + ", ".join(f"{tag} {n}" for tag, n in writes.items())
            + f"; {late_writes} by a continued warden before it led again; leader at the end: "
            + (leader.tag if leader else "none"),
            "leadership " + "; ".join(f"{tag} " + (", ".join(f"+{a - self.incarnations[0]:.0f}..+{b - self.incarnations[0]:.0f}s"
                                                            for a, b in spans) or "never")
                                      for tag, spans in intervals.items()),
        ]

    # ---------------------------------------------------------------------------------------
    # Final checks
    def hold_allowance(self, stopped):
        """Extra settle time while the warden may still hold jobs after the faults stopped, from
        its documented re-check schedule: (seconds, reasons).

        A connection is held if the warden's last test of it (in the request log, since its
        last start) failed: the next retest is due one doubled gap after the last (one poll
        after the first failure), at most 5 minutes, at the first cycle after that; then its
        jobs are recreated at the rate limit. A project paused until `stopped` - or less than
        two polls before it - is asked again within two polls of the resume, then every job is
        recreated at the rate limit."""
        self.poll_requests()
        with self.lock:
            records = sorted(self.records.values(), key=lambda r: harness.parse_ts(r["timestamp"]))
        since = self.incarnations[-1]
        if self.ha:
            # the connection tests of the current leader's term (it starts from the fleet's state)
            leader = self.ha_leader(established=False)
            acquired = [t for t, _, _ in self.tails[leader.tag].events(("leader-acquired",))] if leader else []
            since = acquired[-1] if acquired else self.incarnations[0]
        extra, reasons = 0.0, []
        for connection in CONNECTIONS:
            tests = [(harness.parse_ts(r["timestamp"]), r.get("status")) for r in records
                     if r["method"] == "POST" and r["path"].endswith(f"/connections/{connection}/test")
                     and harness.parse_ts(r["timestamp"]) >= since]
            if not tests or tests[-1][1] != 400:
                continue
            failing = []
            for stamp, status in reversed(tests):
                if status != 400:
                    break
                failing.append(stamp)
            gap = POLL if len(failing) < 2 else min(2 * (failing[0] - failing[1]), CONNECTION_RECHECK_MAX)
            due = failing[0] + gap + POLL * 1.1
            jobs = sum(1 for t in self.tables if self.connection_of[t] == connection)
            allowance = max(0.0, due - stopped) + jobs / RATE
            extra = max(extra, allowance)
            reasons.append(f"{connection} held by the warden (last test failed, next due in "
                           f"{max(0.0, due - POLL * 1.1 - stopped):.1f}s): +{allowance:.1f}s")
        jobs_now = self.emulator.state()["jobs"]
        backlog = [t for t in self.tables if not any(
            j["executionStatus"] == "running" and (j.get("health") or {}).get("status") == "ok"
            and table_of(j) == t for j in jobs_now)]
        if backlog:
            # Each table still to heal costs the warden a write and a read at the rate limit (a
            # warden restarted late in the fault phase heals them all in its first cycles, and
            # the next cycle starts a poll after that one ends); a lost-connection warn needs
            # one cycle more (the connection test, then the replace).
            probing = any(table_of(j) in backlog and j["executionStatus"] not in TERMINAL
                          and (j.get("health") or {}).get("code") == "lost_connection_to_source" for j in jobs_now)
            allowance = 2 * len(backlog) / RATE + (POLL * 1.1 if probing else 0.0)
            extra = max(extra, allowance)
            reasons.append(f"{len(backlog)} tables still to heal{' (a connection test first)' if probing else ''}: "
                           f"+{allowance:.1f}s")
        frozen = {j["id"] for j in jobs_now
                  if stalled(j) and j["executionStatus"] not in TERMINAL and table_of(j) in self.tables}
        if frozen:
            # from the stop: a resumed or released job starts its clock again at its first sample
            allowance = stall_bound() + 2 * POLL * 1.1 + START_DELAY + 1.0
            extra = max(extra, allowance)
            reasons.append(f"{len(frozen)} jobs still stalled (detection bound {stall_bound():.1f}s): "
                           f"+{allowance:.1f}s")
        if self.ha:
            allowance, reason = self.ha_allowance(stopped)
            if reason:
                extra = max(extra, allowance)
                reasons.append(reason)
        paused = [i for i in self.incidents if i["kind"] == "pause"
                  and i["ended"] > stopped - PROJECT_RECHECK_POLLS * POLL * 1.1]
        if paused:
            allowance = PROJECT_RECHECK_POLLS * POLL * 1.1 + len(self.tables) / RATE
            extra = max(extra, allowance)
            reasons.append(f"project resumed {stopped - paused[-1]['ended']:.1f}s before: +{allowance:.1f}s")
        return extra, reasons

    def check_incidents(self, state):
        """Each incident: how many creates its affected tables saw while it lasted (the warden
        must hold them: at most one per affected table, e.g. a create in flight when it began or
        after a project read that failed) and how long after its end the last table ran again."""
        self.incident_lines = []
        for incident in self.incidents:
            start, end = incident["started"], incident["ended"]
            creates = sum(1 for j in state["jobs"] if table_of(j) in incident["tables"]
                          and start <= harness.parse_ts(j["createdTimestamp"]) <= end)
            incident["creates"] = creates
            what = incident["kind"] + (f" {incident['connection']}" if incident["connection"] else "")
            if creates > len(incident["tables"]):
                self.violations.add("incident-writes", f"{what}: {creates} creates on its {len(incident['tables'])} "
                                                       f"tables during {end - start:.1f}s")
            healed = incident["healed"]
            self.incident_lines.append(
                f"{what} {end - start:.1f}s at +{start - self.incarnations[0]:.0f}s: {creates} creates on its "
                f"{len(incident['tables'])} jobs while it lasted; {len(healed)} healed, the last "
                + (f"{max(healed):.1f}s after the {'resume' if incident['kind'] == 'pause' else 'restore'}"
                   if healed else "never")
                + (f"; {incident['interrupted']} still held when the next incident began"
                   if incident["interrupted"] else ""))

    def final_checks(self, settle_deadline_s):
        # Recovery: every desired table running + ok within the deadline (longer while the
        # warden may still hold a connection or the project, by its documented schedule).
        extra, reasons = self.hold_allowance(time.time())
        if reasons:
            print("chaos: settle window " + "; ".join(reasons), flush=True)
        settle_deadline_s += extra
        self.settle_deadline = settle_deadline_s
        started = time.time()
        state = None
        while True:
            state = self.check_snapshot()
            good = {t for t in self.tables if any(
                j["executionStatus"] == "running" and (j.get("health") or {}).get("status") == "ok"
                and not stalled(j) and table_of(j) == t for j in state["jobs"])}
            if len(good) == len(self.tables):
                self.final_recovery = time.time() - started
                break
            if time.time() - started > settle_deadline_s:
                missing = sorted(set(self.tables) - good)
                self.unrecovered = missing
                for table in missing:
                    jobs = [(j["id"][:8], j["executionStatus"], (j.get("health") or {}).get("status"),
                             (j.get("health") or {}).get("code")) for j in state["jobs"] if table_of(j) == table]
                    self.violations.add("unrecovered", f"{table} not running+ok after {settle_deadline_s:.1f}s: {jobs[-3:]}")
                break
            time.sleep(0.2)
        self.unrecovered = getattr(self, "unrecovered", [])
        # Give the warden a couple more cycles to persist, then read everything once more.
        time.sleep(POLL * 1.2)
        self.poll_requests()
        state = self.check_snapshot()
        for warden in self.wardens:
            warden_state = self.read_state_file(warden)
            if warden_state:
                # the budget encodes gaveUpSince only while a job is in gave-up
                gave_up = [name for name, rec in (warden_state.get("jobs") or {}).items()
                           if '"gaveUpSince"' in json.dumps(rec)]
                for name in gave_up:
                    self.violations.add("gave-up", f"{name} is in gave-up"
                                        + (f" ({warden.tag}'s state file)" if self.ha else ""))
        self.check_lifetimes(state)
        self.check_incidents(state)
        self.output_seen = 0
        self.scan_stall_events()
        self.check_stalls(state)
        self.check_requests()
        text = "".join(w.output() for w in self.wardens) + open(self.emulator.log_path, errors="replace").read()
        if self.key in text or self.key_b64 in text:
            self.violations.add("secret", "the API key appears in warden or emulator output")
        if self.ha:
            if self.pg["password"] in text or self.pg["password"] in json.dumps(list(self.records.values())):
                self.violations.add("secret", "the database password appears in warden or emulator output or the "
                                              "request log")
            self.ha_checks()

    def check_stalls(self, state):
        """How each stall ended: reported by the warden (and the job replaced), unstalled by the
        driver first, or ended by another fault. A frozen job that ended untouched by any other
        fault was replaced by the warden for the stall, which it must have reported."""
        by_id = {j["id"]: j for j in state["jobs"]}
        self.stall_outcomes: dict[str, int] = {}
        self.stall_detections: list[float] = []
        self.stall_late: list[str] = []
        for stall in self.stalls:
            job = by_id.get(stall["id"]) or {}
            ended = job.get("executionStatus") in TERMINAL
            reported = self.stall_reports.get(stall["id"])
            if reported is not None and (stall["unstalled"] is None or reported < stall["unstalled"]):
                outcome = "reported, replaced" if ended else "reported"
                self.stall_detections.append(reported - stall["started"])
                if reported - stall["started"] > stall_bound():
                    # a restarted warden starts its round robin of metrics reads afresh
                    restarts = sum(1 for t in self.incarnations if stall["started"] < t < reported)
                    self.stall_late.append(f"{stall['table']} {reported - stall['started']:.1f}s "
                                           f"({restarts} warden restarts meanwhile)")
            elif stall["unstalled"] is not None:
                outcome = "unstalled first"
            elif ended and stall["touched"]:
                outcome = "ended by " + stall["touched"][0]
            elif ended:
                outcome = "replaced unreported"
                self.violations.add("stall-unreported", f"{stall['table']}: job {stall['id']} stalled at "
                                                        f"+{stall['started'] - self.incarnations[0]:.0f}s ended "
                                                        f"without a job-stalled event")
            else:
                outcome = "still stalled"  # the final recovery check reports the table
            self.stall_outcomes[outcome] = self.stall_outcomes.get(outcome, 0) + 1

    def check_lifetimes(self, state):
        """From the emulator's timestamps: no two jobs on a table alive at once, and no job
        created by the warden while another non-terminal job held the table and survived it."""
        by_table: dict[str, list] = {}
        for job in state["jobs"]:
            if job.get("type") == "streaming" and table_of(job) in self.tables:
                by_table.setdefault(table_of(job), []).append(job)
        for table, jobs in by_table.items():
            spans = []
            for job in jobs:
                start = harness.parse_ts(job["createdTimestamp"])
                if job["executionStatus"] in TERMINAL:
                    end_text = job.get("completedTimestamp") or job.get("lastUpdatedTimestamp")
                    end = harness.parse_ts(end_text) if end_text else float("inf")
                else:
                    end = float("inf")
                spans.append((start, end, job))
            spans.sort(key=lambda s: s[0])
            for i in range(1, len(spans)):
                start, _, job = spans[i]
                for prev_start, prev_end, prev in spans[:i]:
                    if prev_end > start + 0.001:
                        self.violations.add(
                            "adoptable", f"job {job['id']} created on {table} while {prev['id']} "
                            f"({prev['executionStatus']}) was alive and stayed alive "
                            f"{prev_end - start if prev_end != float('inf') else 'forever'}s after")

    def check_requests(self):
        records = sorted(self.records.values(), key=lambda r: harness.parse_ts(r["timestamp"]))
        with open(os.path.join(self.work, "requests.json"), "w") as f:
            json.dump({"incarnations": self.incarnations, "starts": self.starts, "delayTaints": self.delay_taints,
                       "disruptions": [{k: v for k, v in d.items() if k != "warden"} for d in self.disruptions],
                       "requests": records}, f, indent=0)
        self.refused_creates = 0
        unmanaged_ids = set(self.unmanaged)
        for r in records:
            path = r["path"]
            if r["method"] == "POST" and path.endswith("/reset"):
                self.violations.add("reset", f"offset reset sent: {path}")
            if any(jid in path for jid in unmanaged_ids) or "unmanaged-connection" in path:
                self.violations.add("unmanaged", f"{r['method']} {path}")
            if r["route"] == "POST /jobs" and r.get("status") == 409:
                self.refused_creates += 1
        # Rate: per warden process, sliding 1 s windows, limit = rate + burst (burst = rate).
        limit = RATE + max(1, int(RATE))
        self.max_window = 0
        for warden in self.wardens:
            # with CHAOS_HA=1 each warden's requests (by User-Agent), per process of that warden
            own = records if not self.ha else [r for r in records if r.get("userAgent") == harness.user_agent(warden.tag)]
            continued = [d["continued"] for d in self.disruptions if d["instance"] == warden.tag and d["continued"]]
            self.check_rate(own, self.starts[warden.tag], limit, f"{warden.tag}: " if self.ha else "", continued)

    def check_rate(self, records, incarnations, limit, who="", continued=()):
        bounds = incarnations + [float("inf")]
        for index in range(len(incarnations)):
            stamps = [harness.parse_ts(r["timestamp"]) for r in records
                      if bounds[index] <= harness.parse_ts(r["timestamp"]) < bounds[index + 1]
                      and not r["path"].startswith("/_emulator/")]
            low = 0
            for high in range(len(stamps)):
                while stamps[high] - stamps[low] >= 1.0:
                    low += 1
                count = high - low + 1
                extra = sum(t[2] for t in self.delay_taints
                            if t[0] <= stamps[high] and (t[1] is None or t[1] >= stamps[low]))
                self.max_window = max(self.max_window, count - extra)
                if count > limit + extra:
                    woke = [c for c in continued if c - 0.1 <= stamps[low] <= c + 1.0]
                    self.violations.add("rate", f"{who}{count} requests within 1 s (limit {limit:g} + {extra} delayed) "
                                                f"at {stamps[low]:.3f}"
                                        + (f", {stamps[low] - woke[0]:.2f}s after its SIGCONT (what waited in its "
                                           f"rate limiter while it was stopped went at once, with a full burst)"
                                           if woke else ""))
                    break

    # ---------------------------------------------------------------------------------------
    def run(self):
        print(f"chaos: seed {self.seed}, {self.seconds:g}s, poll {POLL:g}s, rate {RATE:g}/s, work {self.work}", flush=True)
        self.setup()
        settle = 3 * POLL * 1.1 + START_DELAY + 1.0
        fault_phase = max(10.0, self.seconds - settle - POLL * 3)
        checker = threading.Thread(target=self.checker, daemon=True)
        checker.start()
        time.sleep(POLL * 1.5)  # let it adopt and create first
        end = time.time() + fault_phase
        self.fault_end = end
        while time.time() < end:
            self.inject_one()
            self.housekeeping()
            time.sleep(self.rng.uniform(0.1, 1.0))
        self.stop_faults()
        self.final_checks(settle)
        self.stop_checker.set()
        checker.join(timeout=5)
        for warden in self.wardens:
            warden.stop()
        duplicates = self.violations.kinds.get("duplicate", 0) + self.violations.kinds.get("adoptable", 0)
        max_recovery = max([r[0] for r in self.recoveries] + ([self.final_recovery] if self.final_recovery else []),
                           default=0)
        slowest = sorted(self.recoveries, reverse=True)[:3]
        if slowest:
            print("chaos: slowest recoveries: " + ", ".join(f"{t} after {k} {s:.1f}s" for s, t, k in slowest),
                  flush=True)
        for line in self.incident_lines:
            print(f"chaos: incident {line}", flush=True)
        if self.stalls:
            detections = self.stall_detections
            print(f"chaos: stalls {len(self.stalls)}: {json.dumps(dict(sorted(self.stall_outcomes.items())))}; "
                  + (f"job-stalled seen {min(detections):.1f}-{max(detections):.1f}s after the freeze "
                     if detections else "none reported ")
                  + f"(bound {stall_bound():.1f}s at the nominal poll, no restart: afterSeconds {STALL_AFTER:g} + 2 sample "
                  f"intervals; "
                  f"{STALL_READS_PER_POLL} metrics reads per poll for {len(self.tables)} jobs)"
                  + (f"; past the bound: {', '.join(self.stall_late)}" if self.stall_late else ""), flush=True)
        print(f"chaos: fault kinds {json.dumps(dict(sorted(self.fault_kinds.items())))}; {len(self.records)} API requests, "
              f"max {self.max_window} in 1 s (limit {RATE + max(1, int(RATE)):g}); {self.refused_creates} creates refused with 409; "
              f"{self.snapshots} snapshots, {self.state_reads} state-file reads; settled in "
              f"{self.final_recovery if self.final_recovery is not None else float('nan'):.1f}s", flush=True)
        if self.ha:
            for line in self.ha_lines:
                print(f"chaos: ha: {line}", flush=True)
        if self.violations.items:
            print("chaos: violations:\n  " + "\n  ".join(self.violations.items), flush=True)
        print(f"chaos: {'HA (2 wardens), ' if self.ha else ''}{self.faults} faults, {self.kills} kills, "
              + (f"{sum(1 for d in self.disruptions if d['kind'] == 'freeze')} freezes, " if self.ha else "")
              + f"{duplicates} duplicates, "
              f"{len(self.unrecovered)} unrecovered, {self.violations.kinds.get('gave-up', 0)} gave-up, "
              f"{len(self.incidents)} incidents, max recovery {max_recovery:.1f}s, seed {self.seed}"
              + ("" if not self.violations.items else
                 f" -- {sum(self.violations.kinds.values())} violations; replay: CHAOS_SEED={self.seed} make chaos"
                 + (" HA=1" if self.ha else "")),
              flush=True)
        return 1 if self.violations.items else 0

    def cleanup(self):
        for warden in self.wardens:
            try:
                warden.stop()
            except Exception:
                pass
        for tail in self.tails.values():
            tail.close()
        try:
            self.emulator.stop()
        except Exception:
            pass
        if not self.keep:
            shutil.rmtree(self.work, ignore_errors=True)


def main():
    seconds = float(os.environ.get("CHAOS_SECONDS", "90"))
    seed = int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 100000))
    keep = os.environ.get("CHAOS_KEEP") == "1"
    soak = Soak(seconds, seed, keep, ha=HA)
    code = 1
    try:
        code = soak.run()
    except Exception:
        traceback.print_exc()
        print(f"chaos: aborted by an error in the driver, seed {seed}", flush=True)
        code = 2
    finally:
        if code != 0:
            soak.keep = True
            print(f"chaos: work directory kept: {soak.work}", flush=True)
            if HA:
                print("chaos: (the database goes with scripts/with-postgres.sh; the wardens' output is kept)",
                      flush=True)
        soak.cleanup()
    sys.exit(code)


if __name__ == "__main__":
    main()
