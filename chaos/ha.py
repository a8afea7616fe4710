#!/usr/bin/env python3
"""High-availability system scenarios (`make ha-test`): two real warden processes (`warden-a`,
`warden-b`: separate state directories, the same config except `instance`) on one emulator and
one real PostgreSQL (scripts/with-postgres.sh's WARDEN_TEST_POSTGRES_*), each warden reaching
the database through its own loopback TCP proxy (bench/harness.py TcpProxy) so one can be cut
off. Poll 2 s, lease 6 s, tls disable, the database password from the environment (PG_PASSWORD).

  python3 chaos/ha.py [kill] [sigstop] [postgres] [cutoff]      (default: all four)
  HA_KEEP=1 keeps the work directories; HA_SEED replays the random choices.

Scenarios (each on a fresh emulator and a fresh database; warden-a starts first and leads):
  kill      kill -9 of the leader while jobs are failing (a create held in flight at the
            emulator when it dies): the standby takes over within leaseSeconds + 2 polls (+ the
            allowance below) of the kill, measured to its `leader-acquired` and to its first
            write; every fault before and after healed; no write from the killed warden after the
            kill (but the create it had in flight); restarted, it stands by
  sigstop   SIGSTOP of the leader beyond its lease (in the middle of a heal), then SIGCONT: the
            standby takes over; the old leader writes nothing after SIGCONT, logs `leader-lost`
            and ends as standby; faults injected while it was stopped healed by the new leader.
            Then the same for the new leader stopped while a create of its heal waits for its
            retry (answered 429, Retry-After 3 s): after SIGCONT it must not send it
  postgres  PostgreSQL stopped for longer than the lease, then started; then a quick restart:
            both wardens stay up (same processes), log `coordination-unreachable`; no write later
            than 2/3 lease + a request timeout after the stop; leadership resumes once the
            database is back and the faults injected meanwhile are healed
  cutoff    the standby cut off (connections refused) for a lease: nothing changes; then the
            leader cut off (a silent network) in the middle of a heal: it stops writing at its
            self-fence deadline (2/3 lease after the cut), the other takes over within the
            bound; restored, the cut-off warden ends as standby (the other holds and renews the
            lease, so the lease cannot come back to it). Then the new leader cut off while a
            create waits for its retry (429, Retry-After 8 s): it must not send it past its
            deadline

Every scenario checks, continuously and at the end: never two non-terminal streaming jobs on
one table (snapshots every 0.25 s, then the jobs' lifetimes), every injected fault healed,
writes only from the lease holder (each warden's `leader-acquired`/`leader-lost` lines, its kill
and SIGSTOP make its leadership intervals; every non-GET request with its User-Agent must fall
in one), no warden crashed, exactly one leader at the end (STATUS= and polaris_warden_leader),
and neither the API key nor the database password in any output, state file or request log.
Exits non-zero on any violation; the work directory of a failed scenario is kept and printed.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import shutil
import sys
import threading
import time
import traceback

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))
import harness  # noqa: E402

POLL = 2.0
LEASE = 6.0
FENCE = LEASE * 2 / 3              # a leader stops writing this long after its last renewal was sent
RATE = 10.0
REQUEST_TIMEOUT = 2.0
START_DELAY = 0.5
JOBS = 12
# Two writes at a time: with each create held HOLD s at the emulator, a heal of 8 jobs is a batch
# of ~8 s that the kill, the SIGSTOP, the cut or the database stop interrupts in the middle.
MAX_CONCURRENT = 2
HOLD = 1.9                         # below the request timeout: a held create is not ambiguous
# docs/high-availability.md: a standby takes over within leaseSeconds + 2 poll intervals.
TAKEOVER_BOUND = LEASE + 2 * POLL
# Allowance on top of the bound, measured from outside: the event line is seen by a tail that
# reads every 20 ms, the database answers on a busy 2-core machine, and the poll has 10 % jitter.
ALLOWANCE = 1.5
# The event lines are seen shortly after the warden acts; a request's log time is its completion.
ACQUIRE_SLACK = 0.5
END_SLACK = 0.5
# A fault is healed within this long once a leader acts: the failure seen at the next poll (with
# jitter), the recreate written, the new job's start delay, the next poll to see it running.
HEAL = 3 * POLL * 1.1 + START_DELAY + 2.0
TERMINAL = {"failed", "canceled", "completed"}
BINARIES: tuple[str, str] = ("", "")  # private copies (main): a rebuild meanwhile cannot pull them away
INSTANCES = ("warden-a", "warden-b")


class Violation(Exception):
    pass


def table_of(job):
    return (job.get("target") or {}).get("tableName") or ((job.get("spec") or {}).get("target") or {}).get("tableName")


def healthy(job) -> bool:
    return job["executionStatus"] == "running" and (job.get("health") or {}).get("status") == "ok" \
        and not (job.get("_emulator") or {}).get("stalled")


class Node:
    """One warden of the pair, with its proxy to PostgreSQL, notify socket and output tail."""

    def __init__(self, cluster: "Cluster", instance: str):
        self.instance = instance
        self.dir = os.path.join(cluster.work, instance)
        os.makedirs(self.dir)
        pg = cluster.pg
        self.proxy = harness.TcpProxy(pg["host"], int(pg["port"]), name=f"proxy-{instance}")
        self.metrics_port = harness.free_port()
        config = json.loads(json.dumps(cluster.config))
        config["highAvailability"] = harness.ha_settings("127.0.0.1", self.proxy.port, cluster.database,
                                                         pg["user"], instance, LEASE)
        config["metrics"] = {"address": f"127.0.0.1:{self.metrics_port}"}
        self.notify = harness.NotifySocket(os.path.join(self.dir, "notify.sock"))
        self.warden = harness.Warden(cluster.warden_bin, self.dir, config, cluster.key, notify=self.notify,
                                     tag=instance, extra_env={"PG_PASSWORD": pg["password"]})
        self.tail = harness.OutputTail(self.warden)
        self.ends: list[float] = []   # wall times it was killed or frozen (its leadership ends)
        self.expect_alive = False
        self.pids: list[int] = []

    def start(self):
        self.warden.start()
        self.pids.append(self.warden.proc.pid)
        self.expect_alive = True

    def kill9(self) -> float:
        self.expect_alive = False
        at = time.time()
        self.warden.kill9()
        self.ends.append(at)
        return at

    def freeze(self) -> float:
        at = time.time()
        self.warden.freeze()
        self.ends.append(at)
        return at

    def status(self) -> str:
        for _, message in reversed(list(self.notify.messages)):
            for line in message.split("\n"):
                if line.startswith("STATUS="):
                    return line[len("STATUS="):]
        return ""

    def close(self):
        self.warden.stop()
        self.tail.close()
        self.notify.close()
        self.proxy.close()


class Cluster:
    """One scenario's world: an emulator, a fresh database, two wardens, a checker thread."""

    def __init__(self, name: str, pg: dict, rng: random.Random):
        self.name = name
        self.pg = pg
        self.rng = rng
        self.work = harness.workdir(f"warden-ha-{name}-")
        self.key = harness.new_api_key()
        self.violations: list[str] = []
        self.nodes: dict[str, Node] = {}
        self.emulator = None
        self.checker = None
        self.stop_checker = threading.Event()
        self.records: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.t0 = time.time()

    def start(self):
        """Everything but the wardens' processes (close() undoes what was done of it)."""
        pg, name = self.pg, self.name
        self.warden_bin, emulator_bin = BINARIES
        # each scenario its own database: a fresh lease (epoch 1) and no fleet state from the last
        self.database = f"ha_{name}_{secrets.token_hex(3)}"
        self.database_made = False
        harness.postgres_ctl(pg, "psql", "-c", f'CREATE DATABASE "{self.database}" OWNER "{pg["user"]}"')
        self.database_made = True
        self.emulator = harness.Emulator(emulator_bin, self.work, self.key, seed_jobs=JOBS, start_delay=START_DELAY)
        self.tables = [f"{harness.SEED_TABLE_PREFIX}{i}" for i in range(JOBS)]
        self.config = harness.warden_config(
            self.emulator.port, self.tables, POLL, rate=RATE, timeout=REQUEST_TIMEOUT,
            supervisor_extra={"unhealthyThreshold": 1, "healthyThreshold": 2, "maxConcurrentActions": MAX_CONCURRENT})
        self.faults: list[dict] = []
        for instance in INSTANCES:
            self.nodes[instance] = Node(self, instance)
        self.snapshots = 0
        # (from, to, seconds): writes completing in [from, to] may end that long after their
        # warden's leadership (a request held at the emulator when its warden died)
        self.in_flight: list[tuple[float, float, float]] = []
        self.checker = threading.Thread(target=self._check_loop, daemon=True)
        self.checker.start()
        self.t0 = time.time()

    # -- reporting -------------------------------------------------------------------------
    def say(self, text: str):
        print(f"ha: [{self.name}] +{time.time() - self.t0:5.1f}s {text}", flush=True)

    def violation(self, text: str):
        with self.lock:
            self.violations.append(text)
        print(f"ha: [{self.name}] VIOLATION {text}", flush=True)

    def wait_for(self, predicate, timeout, what, period=0.05):
        try:
            return harness.wait_for(predicate, timeout, period=period, what=what)
        except TimeoutError:
            raise Violation(f"timed out after {timeout:.1f}s waiting for {what}") from None

    # -- the checker -----------------------------------------------------------------------
    def _check_loop(self):
        while not self.stop_checker.is_set():
            try:
                self.check_once()
            except Exception as error:  # the emulator stays up for the whole scenario: report, go on
                print(f"ha: [{self.name}] checker error: {error}", flush=True)
            self.stop_checker.wait(0.25)

    def check_once(self):
        asked = time.time()
        state = self.emulator.state()
        self.snapshots += 1
        live: dict[str, list] = {}
        for job in state["jobs"]:
            if job.get("type") == "streaming" and job["executionStatus"] not in TERMINAL:
                live.setdefault(table_of(job), []).append(job["id"])
        for table, ids in live.items():
            if len(ids) > 1:
                self.violation(f"duplicate: {len(ids)} non-terminal jobs on {table}: {ids}")
        good = {table_of(j) for j in state["jobs"] if healthy(j)}
        with self.lock:
            for fault in self.faults:
                # only a snapshot asked for after the fault can show it healed
                if fault["healed"] is None and fault["at"] < asked and fault["table"] in good:
                    fault["healed"] = asked
        for node in self.nodes.values():
            if node.expect_alive and not node.warden.alive():
                node.expect_alive = False
                self.violation(f"{node.instance} exited by itself (exit {node.warden.proc.returncode})")
        self.poll_requests()
        return state

    def poll_requests(self):
        values = self.emulator.requests()
        with self.lock:
            for r in values:
                self.records.setdefault(r["timestamp"], r)

    def writes(self, instance: str, after: float = 0.0, before: float = float("inf")):
        self.poll_requests()
        with self.lock:
            records = list(self.records.values())
        return [(t, r) for t, r in harness.writes_of(records, instance) if after <= t <= before]

    # -- wardens and events ----------------------------------------------------------------
    def event(self, instance: str, kind: str, after: float, timeout: float, what: str = ""):
        """The wall time `instance` was seen logging `kind` at or after `after`."""
        node = self.nodes[instance]
        found = self.wait_for(lambda: node.tail.first(kind, after), timeout,
                              what or f"{instance} to log {kind}", period=0.02)
        return found[0]

    def events_since(self, instance: str, kind: str, after: float):
        return [e for e in self.nodes[instance].tail.events((kind,)) if e[0] >= after]

    def start_pair(self):
        """warden-a first (it takes the lease), then warden-b (it stands by); every job adopted."""
        a, b = self.nodes["warden-a"], self.nodes["warden-b"]
        a.start()
        self.event("warden-a", "leader-acquired", 0, 20)
        b.start()
        self.event("warden-b", "standby", 0, 20)
        for node in (a, b):
            cmdline = open(f"/proc/{node.warden.proc.pid}/cmdline", "rb").read().decode(errors="replace")
            if self.pg["password"] in cmdline or self.key in cmdline:
                self.violation(f"a secret on {node.instance}'s command line")
        self.wait_for(lambda: self.all_good(), 3 * POLL * 1.1 + 5, "every table running + ok at the start")
        self.say("warden-a leads, warden-b stands by, every job running")

    def all_good(self) -> bool:
        state = self.emulator.state()
        return {table_of(j) for j in state["jobs"] if healthy(j)} >= set(self.tables)

    # -- faults ----------------------------------------------------------------------------
    def inject(self, count: int = 1, kinds=("fail", "fail", "cancel", "suspend")) -> list[dict]:
        """Fails, cancels or suspends `count` running jobs on tables with no fault pending."""
        state = self.emulator.state()
        with self.lock:
            pending = {f["table"] for f in self.faults if f["healed"] is None}
        candidates = [j for j in state["jobs"] if healthy(j) and table_of(j) in self.tables
                      and table_of(j) not in pending]
        chosen = self.rng.sample(candidates, min(count, len(candidates)))
        if len(chosen) < count:
            raise Violation(f"only {len(chosen)} healthy jobs to inject {count} faults into")
        made = []
        for job in chosen:
            kind = self.rng.choice(kinds)
            if kind == "fail":
                self.emulator.admin("POST", f"/_emulator/jobs/{job['id']}/fail", {"code": "internal_error"})
            else:
                self.emulator.admin("POST", f"/_emulator/jobs/{job['id']}/{kind}")
            fault = {"table": table_of(job), "kind": kind, "at": time.time(), "healed": None}
            with self.lock:
                self.faults.append(fault)
            made.append(fault)
        return made

    def held_batch(self, count: int) -> list[dict]:
        """Fails `count` jobs with their creates held HOLD s each at the emulator (a delay fault
        for the next `count` POST /jobs), and returns once the leader's first creates of the heal
        are in flight: the batch is recorded (fenced) and being sent, MAX_CONCURRENT at a time."""
        self.emulator.admin("POST", "/_emulator/faults", {"count": count, "method": "POST", "pathPrefix": "/jobs",
                                                          "pathPattern": "/jobs$",
                                                          "delayMilliseconds": int(HOLD * 1000)})
        faults = self.inject(count, kinds=("fail",))

        def sent():
            armed = self.emulator.admin("GET", "/_emulator/faults")["values"]
            return sum(f.get("count", 0) for f in armed) <= count - MAX_CONCURRENT
        self.wait_for(sent, 2 * POLL * 1.1 + 3, "the leader's first creates to reach the emulator", period=0.02)
        return faults

    def create_in_retry(self, instance: str, retry_after: int) -> float:
        """Fails one job with its recreate answered 429 + Retry-After `retry_after` s (a create is
        retried after 429: it was not processed) and returns when `instance`'s 429 was logged:
        the write passed its `mayWrite` check and waits to be sent again."""
        self.emulator.admin("POST", "/_emulator/faults", {"count": 1, "status": 429, "retryAfterSeconds": retry_after,
                                                          "method": "POST", "pathPrefix": "/jobs",
                                                          "pathPattern": "/jobs$"})
        mark = time.time()
        self.inject(1, kinds=("fail",))
        found = self.wait_for(lambda: [t for t, r in self.writes(instance, after=mark) if r.get("status") == 429],
                              2 * POLL * 1.1 + 3, f"{instance}'s create to be answered 429", period=0.02)
        return found[0]

    def wait_healed(self, faults, timeout, what="the faults healed"):
        self.wait_for(lambda: all(f["healed"] is not None for f in faults), timeout, what, period=0.1)

    def settle(self, timeout: float = HEAL):
        """Every fault healed and every table running + ok, within `timeout`."""
        try:
            self.wait_for(lambda: all(f["healed"] is not None for f in self.faults) and self.all_good(),
                          timeout, "every fault healed", period=0.1)
        except Violation:
            with self.lock:
                open_faults = [f"{f['kind']} {f['table']} at +{f['at'] - self.t0:.1f}s" for f in self.faults
                               if f["healed"] is None]
            self.violation(f"unhealed after {timeout:.1f}s: {', '.join(open_faults) or 'a table not running + ok'}")

    # -- end of scenario -------------------------------------------------------------------
    def final_checks(self, expected_leader: str | None = None):
        self.check_once()
        with self.lock:
            faults = list(self.faults)
        heals = [f["healed"] - f["at"] for f in faults if f["healed"] is not None]
        unhealed = [f for f in faults if f["healed"] is None]
        for f in unhealed:
            self.violation(f"fault never healed: {f['kind']} {f['table']} at +{f['at'] - self.t0:.1f}s")
        self.say(f"{len(faults)} faults injected, {len(heals)} healed"
                 + (f" ({min(heals):.1f}-{max(heals):.1f}s after injection)" if heals else ""))
        # exactly one leader at the end, as STATUS= and polaris_warden_leader say
        live = [n for n in self.nodes.values() if n.warden.alive()]

        def roles():
            statuses = {n.instance: n.status() for n in live}
            leaders = [i for i, s in statuses.items() if s.startswith("leader (epoch")]
            standbys = [i for i, s in statuses.items() if s.startswith("standby (leader ")]
            gauges = {n.instance: harness.metric(n.metrics_port, "polaris_warden_leader") for n in live}
            ok = len(leaders) == 1 and len(standbys) == len(live) - 1 \
                and sum(v or 0 for v in gauges.values()) == 1 and gauges[leaders[0]] == 1 \
                and (expected_leader is None or leaders[0] == expected_leader)
            return (leaders, statuses, gauges) if ok else None

        try:
            leaders, statuses, gauges = self.wait_for(roles, 3 * POLL * 1.1 + 2, "one leader (STATUS=, metric)",
                                                      period=0.2)
            self.say("end: " + "; ".join(f"{i}: {statuses[i].split(';')[0]}, polaris_warden_leader {gauges[i]:g}"
                                         for i in sorted(statuses)))
        except Violation as error:
            self.violation(f"{error}" + (f" (expected {expected_leader})" if expected_leader else "") + ": "
                           + "; ".join(f"{n.instance}: {n.status()!r} metric "
                                       f"{harness.metric(n.metrics_port, 'polaris_warden_leader')}" for n in live))
        self.check_lifetimes()
        self.check_leader_writes()
        self.check_secrets()

    def check_lifetimes(self):
        """From the emulator's timestamps: no two jobs alive on one table at once."""
        by_table: dict[str, list] = {}
        for job in self.emulator.state()["jobs"]:
            if job.get("type") == "streaming" and table_of(job) in self.tables:
                start = harness.parse_ts(job["createdTimestamp"])
                end = float("inf")
                if job["executionStatus"] in TERMINAL:
                    text = job.get("completedTimestamp") or job.get("lastUpdatedTimestamp")
                    end = harness.parse_ts(text) if text else float("inf")
                by_table.setdefault(table_of(job), []).append((start, end, job["id"]))
        jobs = 0
        for table, spans in by_table.items():
            spans.sort()
            jobs += len(spans)
            for i in range(1, len(spans)):
                for prev in spans[:i]:
                    if prev[1] > spans[i][0] + 0.001:
                        self.violation(f"duplicate: {spans[i][2]} created on {table} while {prev[2]} was alive")
        self.say(f"{jobs} jobs over the run on {len(by_table)} tables, no two alive at once on a table"
                 if not any("duplicate" in v for v in self.violations) else "duplicates found")

    def intervals(self, until=None):
        events = {i: [(t, kind) for t, kind, _ in n.tail.events()] for i, n in self.nodes.items()}
        ends = {i: list(n.ends) for i, n in self.nodes.items()}
        return harness.leadership_intervals(events, ends, until if until is not None else time.time())

    def end_slack(self, t: float) -> float:
        return max([END_SLACK] + [slack for low, high, slack in self.in_flight if low <= t <= high])

    def check_leader_writes(self):
        for node in self.nodes.values():
            node.tail.flush()
        self.poll_requests()
        with self.lock:
            records = list(self.records.values())
        intervals = self.intervals()
        problems = harness.check_leader_writes(records, intervals, ACQUIRE_SLACK, self.end_slack)
        for problem in problems[:10]:
            self.violation(f"write outside the lease: {problem}")
        counts = {i: len(harness.writes_of(records, i)) for i in INSTANCES}
        self.say("writes by " + ", ".join(f"{i} {counts[i]}" for i in INSTANCES) + "; leadership "
                 + "; ".join(f"{i} " + (", ".join(f"+{s - self.t0:.1f}..+{e - self.t0:.1f}s" for s, e in spans)
                                        or "never") for i, spans in intervals.items())
                 + ("" if problems else ": every write inside its warden's leadership"))
        with open(os.path.join(self.work, "requests.json"), "w") as f:
            json.dump(sorted(records, key=lambda r: r["timestamp"]), f, indent=0)

    def check_secrets(self):
        texts = {n.instance + " output": n.warden.output() for n in self.nodes.values()}
        for n in self.nodes.values():
            for root, _, files in os.walk(n.warden.state_dir):
                for name in files:
                    try:
                        texts[os.path.join(root, name)] = open(os.path.join(root, name), errors="replace").read()
                    except OSError:
                        pass
        texts["emulator output"] = open(self.emulator.log_path, errors="replace").read()
        texts["request log"] = json.dumps(list(self.records.values()))
        for where, text in texts.items():
            for what, secret in (("API key", self.key), ("PostgreSQL password", self.pg["password"])):
                if secret in text:
                    self.violation(f"the {what} appears in {where}")

    def close(self, keep: bool):
        self.stop_checker.set()
        if self.checker is not None:
            self.checker.join(timeout=5)
        for node in self.nodes.values():
            try:
                node.close()
            except Exception as error:
                print(f"ha: [{self.name}] closing {node.instance}: {error}", flush=True)
        if self.emulator is not None:
            try:
                self.emulator.stop()
            except Exception:
                pass
        if getattr(self, "database_made", False):
            try:
                harness.postgres_ctl(self.pg, "psql", "-c", f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            except Exception as error:
                print(f"ha: [{self.name}] dropping {self.database}: {error}", flush=True)
        if keep:
            print(f"ha: [{self.name}] work directory kept: {self.work}", flush=True)
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- helpers for the scenarios ---------------------------------------------------------
    def takeover(self, new: str, since: float, what: str):
        """Waits for `new`'s leader-acquired after `since`; prints and judges it against the bound."""
        bound = TAKEOVER_BOUND + ALLOWANCE
        acquired = self.event(new, "leader-acquired", since, bound + 10, f"{new} to take the lease after {what}")
        took = acquired - since
        self.say(f"{new} took the lease {took:.2f}s after {what} (bound: lease {LEASE:g} + 2 polls "
                 f"{2 * POLL:g} = {TAKEOVER_BOUND:g}s, + {ALLOWANCE:g}s allowance)")
        if took > bound:
            self.violation(f"takeover {took:.2f}s after {what}: over the bound {TAKEOVER_BOUND:g}s + {ALLOWANCE:g}s")
        return acquired

    def first_write(self, instance: str, since: float, timeout: float):
        found = self.wait_for(lambda: self.writes(instance, after=since), timeout,
                              f"{instance}'s first write", period=0.1)
        return found[0]


# ---------------------------------------------------------------------------------------------
# Scenarios


def scenario_kill(c: Cluster):
    c.start_pair()
    leader, standby = "warden-a", "warden-b"
    c.wait_healed(c.inject(2), HEAL, "the first faults healed by warden-a")
    c.say("2 faults healed by the leader")
    # jobs failing: the leader's heal is a batch of creates, the first two held in flight
    c.held_batch(4)
    killed = c.nodes[leader].kill9()
    c.emulator.admin("DELETE", "/_emulator/faults")
    c.in_flight.append((killed, killed + HOLD + END_SLACK, HOLD + END_SLACK))
    c.say(f"{leader} killed (kill -9) in the middle of a heal: {MAX_CONCURRENT} creates in flight, 4 jobs failing")
    after_kill = []
    time.sleep(1.0)
    after_kill += c.inject(1)
    acquired = c.takeover(standby, killed, "the kill")
    first, _ = c.first_write(standby, killed, HEAL)
    c.say(f"{standby}'s first write {first - killed:.2f}s after the kill ({first - acquired:.2f}s after it took the lease)")
    c.wait_healed(c.faults, HEAL, "every fault from before the kill healed by the new leader")
    c.wait_healed(c.inject(2), HEAL, "faults after the takeover healed")
    late = c.writes(leader, after=killed)
    in_flight = [w for w in late if w[0] <= killed + HOLD + END_SLACK and w[1]["route"] == "POST /jobs"]
    c.say(f"{leader}'s writes completed after the kill: {len(late)} "
          f"({len(in_flight)} of them creates held {HOLD:g}s at the emulator, sent before the kill)")
    for t, r in late:
        if (t, r) not in in_flight:
            c.violation(f"{leader} wrote after its kill: {r['method']} {r['route']} {t - killed:.2f}s after")
    # restarted, the old leader stands by and writes nothing
    restarted = time.time()
    c.nodes[leader].start()
    seen = c.event(leader, "standby", restarted, 15, f"the restarted {leader} to stand by")
    c.say(f"{leader} restarted: stands by {seen - restarted:.1f}s after its start")
    c.wait_healed(c.inject(1), HEAL, "a fault after the restart healed")
    if c.writes(leader, after=restarted):
        c.violation(f"the restarted {leader} wrote while {standby} leads")
    c.final_checks(expected_leader=standby)
    return f"takeover {acquired - killed:.2f}s, first write {first - killed:.2f}s after the kill"


def scenario_sigstop(c: Cluster):
    c.start_pair()
    leader, standby = "warden-a", "warden-b"
    c.wait_healed(c.inject(1), HEAL, "a first fault healed by warden-a")
    c.held_batch(6)
    stopped = c.nodes[leader].freeze()
    c.emulator.admin("DELETE", "/_emulator/faults")
    c.in_flight.append((stopped, stopped + HOLD + END_SLACK, HOLD + END_SLACK))
    c.say(f"{leader} stopped (SIGSTOP) in the middle of a heal: {MAX_CONCURRENT} creates in flight, 6 jobs failing")
    time.sleep(1.0)
    c.inject(1)
    acquired = c.takeover(standby, stopped, "the SIGSTOP")
    first, _ = c.first_write(standby, stopped, HEAL)
    c.say(f"{standby}'s first write {first - stopped:.2f}s after the SIGSTOP")
    c.inject(1)
    # beyond its lease: at least 1.5 leases, and a moment after the takeover
    c.wait_for(lambda: time.time() >= max(stopped + 1.5 * LEASE, acquired + 1.0), 3 * LEASE, "the stop to last")
    continued = time.time()  # before the signal: it sends at once when it continues
    c.nodes[leader].warden.thaw()
    c.say(f"{leader} continued (SIGCONT) after {continued - stopped:.1f}s stopped")
    lost = c.event(leader, "leader-lost", continued, LEASE + 2, f"{leader} to log leader-lost after SIGCONT")
    back = c.event(leader, "standby", continued, LEASE + 2, f"{leader} to stand by after SIGCONT")
    c.say(f"{leader} logged leader-lost {lost - continued:.2f}s and standby {back - continued:.2f}s after SIGCONT: "
          + next((line.split(" ", 3)[3] for t, k, line in c.nodes[leader].tail.events(("leader-lost",))
                  if t >= continued), ""))
    c.wait_healed(c.faults, HEAL, "the faults from while it was stopped healed by the new leader")
    c.wait_healed(c.inject(2), HEAL, "faults after SIGCONT healed")
    late = c.writes(leader, after=continued)
    c.say(f"{leader}'s writes after SIGCONT: {len(late)}; while stopped: "
          f"{len(c.writes(leader, after=stopped + END_SLACK, before=continued))}")
    for t, r in late:
        c.violation(f"{leader} wrote after SIGCONT: {r['method']} {r['route']} {t - continued:.2f}s after")
    # 2. the new leader stopped while a create of its heal waits to be sent again (answered 429
    # with Retry-After 3 s): when it continues, its deadline has passed and it must not send it
    leader, standby = standby, leader
    answered = c.create_in_retry(leader, 3)
    stopped2 = c.nodes[leader].freeze()
    c.say(f"{leader} stopped (SIGSTOP) {stopped2 - answered:.2f}s after its create was answered 429 "
          f"(Retry-After 3 s)")
    acquired2 = c.takeover(standby, stopped2, "the second SIGSTOP")
    c.wait_for(lambda: time.time() >= max(stopped2 + 1.5 * LEASE, acquired2 + 1.0), 3 * LEASE, "the stop to last")
    continued2 = time.time()
    c.nodes[leader].warden.thaw()
    c.say(f"{leader} continued (SIGCONT) after {continued2 - stopped2:.1f}s stopped")
    c.event(leader, "standby", continued2, LEASE + 2, f"{leader} to stand by after SIGCONT")
    c.wait_healed(c.faults, HEAL, "the fault healed by the new leader")
    late2 = c.writes(leader, after=continued2)
    c.say(f"{leader}'s writes after SIGCONT: {len(late2)}"
          + (" (" + ", ".join(f"{r['method']} {r['route']} {r.get('status')} at +{t - continued2:.2f}s"
                              for t, r in late2) + ")" if late2 else ""))
    for t, r in late2:
        c.violation(f"{leader} wrote after SIGCONT ({t - continued2:.2f}s after, {t - acquired2:.2f}s after "
                    f"{standby} took the lease): {r['method']} {r['route']} -> {r.get('status')}: a write that "
                    f"passed its lease check before the stop (waiting for its retry) was sent without asking again")
    c.final_checks(expected_leader=standby)
    return f"takeover {acquired - stopped:.2f}s, first write {first - stopped:.2f}s after the SIGSTOP; " \
           f"{len(late)} writes by the old leader after SIGCONT; stopped in a Retry-After wait: takeover " \
           f"{acquired2 - stopped2:.2f}s, {len(late2)} writes after SIGCONT"


def sent_at(t: float, record: dict, held: bool) -> float:
    """When a write was sent: its completion, less the hold for a create held at the emulator."""
    return t - HOLD if held and record["route"] == "POST /jobs" else t


def scenario_postgres(c: Cluster):
    c.start_pair()
    c.wait_healed(c.inject(1), HEAL, "a first fault healed")
    pids = {i: n.warden.proc.pid for i, n in c.nodes.items()}
    down_for = LEASE + 2.5
    # the leader in the middle of a heal (8 creates, 2 at a time, each held HOLD s) when the
    # database stops: the batch goes on until its self-fence deadline, then stops; the delay
    # fault covers the whole batch, so each of its creates was sent HOLD s before it completed
    c.held_batch(8)
    stop_begun = time.time()
    harness.postgres_ctl(c.pg, "stop")
    c.stopped_db = True
    c.in_flight.append((stop_begun, stop_begun + 60, HOLD + END_SLACK))
    c.say(f"PostgreSQL stopped (pg_ctl stop -m fast took {time.time() - stop_begun:.2f}s) in the middle of a heal "
          f"of 8 jobs")
    for instance in INSTANCES:
        seen = c.event(instance, "coordination-unreachable", stop_begun, LEASE + 2)
        c.say(f"{instance} logged coordination-unreachable {seen - stop_begun:.2f}s after the stop")
    lost = c.event("warden-a", "leader-lost", stop_begun, FENCE + 2 * LEASE / 3 + 2, "warden-a to log leader-lost")
    c.say(f"warden-a logged leader-lost {lost - stop_begun:.2f}s after the stop (self-fence at most {FENCE:g}s "
          f"after its last renewal)")
    c.inject(1)
    c.wait_for(lambda: time.time() >= stop_begun + down_for, down_for + 1, "the outage to last")
    started_begin = time.time()
    harness.postgres_ctl(c.pg, "start")
    c.stopped_db = False
    started = time.time()
    c.say(f"PostgreSQL started after {started - stop_begun:.1f}s down")
    writes_down = sorted((t, i, r) for i in INSTANCES for t, r in c.writes(i, after=stop_begun, before=started_begin))
    sent = [sent_at(t, r, True) - stop_begun for t, _, r in writes_down]
    c.say(f"writes completed while the database was down: {len(writes_down)}"
          + (f", the last completed {writes_down[-1][0] - stop_begun:.2f}s and sent {max(sent):.2f}s after the stop"
             if writes_down else "")
          + f" (bounds: completed within 2/3 lease + a request timeout = {FENCE + REQUEST_TIMEOUT:g}s, "
            f"sent within {FENCE:g}s)")
    for (t, instance, r), s_at in zip(writes_down, sent):
        if t > stop_begun + FENCE + REQUEST_TIMEOUT or s_at > FENCE + END_SLACK:
            c.violation(f"{instance} wrote {r['method']} {r['route']} while the database was down, sent "
                        f"{s_at:.2f}s and completed {t - stop_begun:.2f}s after the stop (self-fence: {FENCE:g}s)")

    def leader_after(since):
        for instance in INSTANCES:
            found = c.nodes[instance].tail.first("leader-acquired", since)
            if found:
                return instance, found[0]
        return None

    who, acquired = c.wait_for(lambda: leader_after(started_begin), TAKEOVER_BOUND + ALLOWANCE,
                               "a leader once the database is back")
    first, record = c.first_write(who, started_begin, HEAL)
    first = sent_at(first, record, True)  # the rest of the batch's delay fault is still armed
    c.say(f"{who} took the lease {acquired - started:.2f}s after the start, first write sent {first - started:.2f}s "
          f"after")
    c.wait_healed(c.faults, HEAL + 8 * HOLD / MAX_CONCURRENT, "the faults from the outage healed")
    # a quick restart (pg_ctl restart -m fast): leadership and healing go on
    c.emulator.admin("DELETE", "/_emulator/faults")
    restart_begun = time.time()
    harness.postgres_ctl(c.pg, "restart")
    c.say(f"PostgreSQL restarted (pg_ctl restart -m fast, {time.time() - restart_begun:.2f}s)")
    c.wait_healed(c.inject(2), TAKEOVER_BOUND + ALLOWANCE + HEAL, "the faults after the quick restart healed")
    c.wait_for(lambda: any(c.nodes[i].status().startswith("leader (epoch") for i in INSTANCES), 3 * POLL + 2,
               "a leader after the quick restart", period=0.2)
    for instance, node in c.nodes.items():
        if not node.warden.alive() or node.warden.proc.pid != pids[instance] or node.warden.starts != 1:
            c.violation(f"{instance} did not stay up: alive {node.warden.alive()}, starts {node.warden.starts}")
    c.say("both wardens stayed up (same processes, no restart)")
    c.final_checks()
    return f"leader again {acquired - started:.2f}s after the database came back (first write sent " \
           f"{first - started:.2f}s); {len(writes_down)} writes completed while it was down" \
           + (f", the last sent {max(sent):.2f}s after the stop" if writes_down else "")


def scenario_cutoff(c: Cluster):
    c.start_pair()
    leader, standby = "warden-a", "warden-b"
    # 1. the standby cut off (connections refused) for a lease: nothing changes
    cut = time.time()
    c.nodes[standby].proxy.sever("refuse")
    seen = c.event(standby, "coordination-unreachable", cut, LEASE)
    c.say(f"{standby} cut off (refused): coordination-unreachable {seen - cut:.2f}s later")
    c.wait_healed(c.inject(1), HEAL, "a fault healed by the leader while the standby is cut off")
    c.wait_for(lambda: time.time() >= cut + LEASE, LEASE + 1, "a lease to pass")
    restored = time.time()
    c.nodes[standby].proxy.restore()
    back = c.event(standby, "standby", restored, LEASE, f"{standby} to stand by again")
    c.say(f"{standby} restored: stands by again {back - restored:.2f}s later")
    if c.events_since(leader, "leader-lost", cut) or c.events_since(standby, "leader-acquired", cut):
        c.violation("the leadership changed while only the standby was cut off")
    if c.writes(standby):
        c.violation(f"{standby} wrote while standing by")
    # 2. the leader cut off (a silent network) in the middle of a heal of 8 jobs (2 creates at a
    # time, each held HOLD s: a batch of ~8 s): it goes on until its self-fence deadline, at most
    # 2/3 lease after the cut, then stops; the other takes over after the lease
    c.held_batch(8)
    cut = time.time()
    c.nodes[leader].proxy.sever("blackhole")
    c.in_flight.append((cut, cut + 60, HOLD + END_SLACK))
    c.say(f"{leader} cut off (silent) in the middle of a heal of 8 jobs")
    time.sleep(0.3)
    c.inject(1)
    lost = c.event(leader, "leader-lost", cut, FENCE + LEASE, f"{leader} to log leader-lost")
    c.say(f"{leader} logged leader-lost {lost - cut:.2f}s after the cut (self-fence deadline at most {FENCE:g}s): "
          + next((line.split(" ", 3)[3] for t, k, line in c.nodes[leader].tail.events(("leader-lost",)) if t >= cut),
                 ""))
    c.inject(1)
    acquired = c.takeover(standby, cut, "the cut")
    first, record = c.first_write(standby, cut, HEAL)
    first = sent_at(first, record, True)  # the rest of the batch's delay fault is still armed
    c.say(f"{standby}'s first write sent {first - cut:.2f}s after the cut")
    writes_cut = c.writes(leader, after=cut)
    sent = [sent_at(t, r, True) - cut for t, r in writes_cut]
    c.say(f"{leader}'s writes completed after the cut: {len(writes_cut)}, sent at "
          + (", ".join(f"{x:+.2f}s" for x in sent) or "-") + f" from the cut (deadline at most {FENCE:g}s)")
    for (t, r), s_at in zip(writes_cut, sent):
        if s_at > FENCE + END_SLACK:
            c.violation(f"{leader} sent {r['method']} {r['route']} {s_at:.2f}s after it was cut off, past its "
                        f"self-fence deadline (at most {FENCE:g}s)")
    if len(writes_cut) >= 8:
        c.violation(f"{leader} sent its whole heal of 8 jobs although it was cut off before the last could go")
    c.wait_for(lambda: time.time() >= acquired + POLL, 2 * POLL, "a poll of the new leader")
    restored = time.time()
    c.nodes[leader].proxy.restore()
    # expected: standby. The other warden holds the lease and renews it every third of it, so
    # the lease is never free for the restored warden to take back.
    back = c.event(leader, "standby", restored, LEASE + 2, f"the restored {leader} to stand by")
    c.say(f"{leader} restored: stands by {back - restored:.2f}s later (expected: {standby} keeps the lease)")
    c.wait_healed(c.faults, HEAL + 8 * HOLD / MAX_CONCURRENT, "every fault healed")
    c.emulator.admin("DELETE", "/_emulator/faults")
    c.wait_healed(c.inject(2), HEAL, "faults after the restore healed")
    if c.writes(leader, after=cut + FENCE + HOLD + END_SLACK):
        c.violation(f"the restored {leader} wrote")
    # 3. the new leader cut off while a create of its heal waits to be sent again (answered 429
    # with Retry-After 8 s): its self-fence deadline (at most 2/3 lease after the cut) and the
    # lease's expiry come first; it must not send it
    leader, standby = standby, leader
    answered = c.create_in_retry(leader, 8)
    cut3 = time.time()
    c.nodes[leader].proxy.sever("blackhole")
    c.say(f"{leader} cut off (silent) {cut3 - answered:.2f}s after its create was answered 429 (Retry-After 8 s)")
    acquired3 = c.takeover(standby, cut3, "the cut in a Retry-After wait")
    c.wait_for(lambda: time.time() >= answered + 8 + REQUEST_TIMEOUT + 1, 12, "the Retry-After to pass")
    late3 = c.writes(leader, after=cut3 + FENCE + END_SLACK)
    c.say(f"{leader}'s writes past its self-fence deadline: {len(late3)}"
          + (" (" + ", ".join(f"{r['method']} {r['route']} {r.get('status')} at +{t - cut3:.2f}s from the cut"
                              for t, r in late3) + ")" if late3 else ""))
    for t, r in late3:
        c.violation(f"{leader} wrote {t - cut3:.2f}s after it was cut off (self-fence deadline at most {FENCE:g}s; "
                    + (f"{t - acquired3:.2f}s after {standby} took the lease" if t > acquired3 else
                       "before the takeover") + f"): {r['method']} {r['route']} -> {r.get('status')}: a write that "
                    "passed its lease check before the deadline (waiting for its retry) was sent without asking again")
    restored3 = time.time()
    c.nodes[leader].proxy.restore()
    c.event(leader, "standby", restored3, LEASE + 2, f"the restored {leader} to stand by")
    c.wait_healed(c.faults, HEAL, "the fault healed by the new leader")
    c.final_checks(expected_leader=standby)
    return f"takeover {acquired - cut:.2f}s, first write sent {first - cut:.2f}s after the cut; the cut-off leader " \
           f"sent {len(writes_cut)} writes after the cut" + (f", the last at {max(sent):+.2f}s" if sent else "") + \
           f", leader-lost at {lost - cut:.2f}s; cut in a Retry-After wait: takeover {acquired3 - cut3:.2f}s, " \
           f"{len(late3)} writes past the deadline"


SCENARIOS = {"kill": scenario_kill, "sigstop": scenario_sigstop, "postgres": scenario_postgres,
             "cutoff": scenario_cutoff}


def main():
    names = sys.argv[1:] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        sys.exit(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    pg = harness.postgres_from_env()
    seed = int(os.environ.get("HA_SEED") or random.SystemRandom().randrange(1, 100000))
    keep_all = os.environ.get("HA_KEEP") == "1"
    global BINARIES
    bin_copy = harness.workdir("warden-ha-bin-")
    BINARIES = tuple(shutil.copy2(path, bin_copy) for path in harness.binaries())
    print(f"ha: seed {seed}; poll {POLL:g}s, lease {LEASE:g}s (self-fence {FENCE:g}s), takeover bound "
          f"{TAKEOVER_BOUND:g}s + {ALLOWANCE:g}s allowance; scenarios {', '.join(names)}", flush=True)
    started = time.time()
    results = {}
    for name in names:
        cluster = None
        began = time.time()
        try:
            cluster = Cluster(name, pg, random.Random(f"{seed}-{name}"))
            cluster.start()
            summary = SCENARIOS[name](cluster)
            failed = bool(cluster.violations)
            results[name] = ("FAIL" if failed else "ok", summary, cluster.violations)
        except Violation as error:
            if cluster is not None:
                cluster.violation(str(error))
            results[name] = ("FAIL", str(error), cluster.violations if cluster else [str(error)])
        except Exception:
            traceback.print_exc()
            results[name] = ("FAIL", "aborted by an error in the driver", [])
        finally:
            if cluster is not None:
                if getattr(cluster, "stopped_db", False):
                    try:
                        harness.postgres_ctl(pg, "start")
                    except Exception as error:
                        print(f"ha: [{name}] could not start PostgreSQL again: {error}", flush=True)
                cluster.close(keep=keep_all or results.get(name, ("FAIL",))[0] != "ok")
        print(f"ha: [{name}] {results[name][0]} in {time.time() - began:.0f}s: {results[name][1]}", flush=True)
    print(f"ha: {len(names)} scenarios in {time.time() - started:.0f}s, seed {seed}", flush=True)
    for name, (verdict, summary, violations) in results.items():
        print(f"ha:   {name:9} {verdict:4} {summary}", flush=True)
        for v in violations:
            print(f"ha:     - {v}", flush=True)
    shutil.rmtree(bin_copy, ignore_errors=True)
    sys.exit(0 if all(r[0] == "ok" for r in results.values()) else 1)


if __name__ == "__main__":
    main()
