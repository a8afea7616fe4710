"""Shared process and emulator plumbing for bench/run.py and chaos/soak.py.

Everything runs on loopback. Every process started here is registered and killed by pid on
every exit path (normal return, exception, SIGINT/SIGTERM): never by name.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECT_ID = "6e3f2b8a-1c4d-4e5f-9a7b-8c9d0e1f2a3b"
SEED_CONNECTION = "seed-connection"
SEED_TABLE_PREFIX = "seed-table-"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# scripts/with-postgres.sh exports WARDEN_TEST_POSTGRES_HOST/PORT/DATABASE/USER/PASSWORD/CTL.
POSTGRES_ENV_PREFIX = "WARDEN_TEST_POSTGRES_"

_children: dict[int, subprocess.Popen] = {}
_children_lock = threading.Lock()


def _cleanup() -> None:
    with _children_lock:
        procs = list(_children.values())
        _children.clear()
    for proc in procs:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=5)
            except Exception:
                pass


def _on_signal(signum, _frame):
    _cleanup()
    sys.exit(128 + signum)


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, _on_signal)
signal.signal(signal.SIGINT, _on_signal)


def register(proc: subprocess.Popen) -> subprocess.Popen:
    with _children_lock:
        _children[proc.pid] = proc
    return proc


def forget(proc: subprocess.Popen) -> None:
    with _children_lock:
        _children.pop(proc.pid, None)


def kill_pid(proc: subprocess.Popen, sig=signal.SIGKILL, timeout=10) -> None:
    if proc.poll() is None:
        try:
            os.kill(proc.pid, sig)
        except ProcessLookupError:
            pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    forget(proc)


# ---------------------------------------------------------------------------------------------
# Binaries


def bin_dir() -> str:
    """The release bin directory shared with the packaging build (same flags, one build)."""
    override = os.environ.get("WARDEN_BIN_DIR")
    if override:
        return override
    out = subprocess.run(
        ["swift", "build", "-c", "release", "--static-swift-stdlib", "--scratch-path", ".build-release",
         "--show-bin-path"],
        cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def binaries() -> tuple[str, str]:
    directory = bin_dir()
    warden = os.path.join(directory, "polaris-warden")
    emulator = os.path.join(directory, "polaris-emulator")
    for path in (warden, emulator):
        if not os.access(path, os.X_OK):
            sys.exit(f"missing {path}: run `swift build -c release --static-swift-stdlib --scratch-path .build-release`")
    return warden, emulator


# ---------------------------------------------------------------------------------------------
# Timestamps


def parse_ts(text: str) -> float:
    """A Polaris timestamp (RFC 3339, up to nanoseconds, Z) to Unix seconds as a float."""
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1]
    if "." in text:
        base, frac = text.split(".", 1)
    else:
        base, frac = text, "0"
    seconds = _dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=_dt.timezone.utc).timestamp()
    return seconds + float("0." + (frac or "0"))


def wait_for(predicate, timeout, period=0.2, what="condition"):
    """The first truthy value of `predicate()`, polled every `period` s; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(period)
    raise TimeoutError(f"timed out waiting for {what}")


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (p / 100) * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


# ---------------------------------------------------------------------------------------------
# Emulator


class Emulator:
    def __init__(self, binary: str, workdir: str, api_key: str, seed_jobs: int = 0, start_delay: float = 1.0):
        self.workdir = workdir
        self.api_key = api_key
        key_file = os.path.join(workdir, "emulator-api-key")
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.write(fd, (api_key + "\n").encode())
        os.close(fd)
        self.log_path = os.path.join(workdir, "emulator.out")
        self.log = open(self.log_path, "wb")
        args = [binary, "--host", "127.0.0.1", "--port", "0", "--project-id", PROJECT_ID,
                "--api-key-file", key_file, "--start-delay", str(start_delay), "--seed-jobs", str(seed_jobs)]
        env = {k: v for k, v in os.environ.items()
               if k != "POLARIS_EMULATOR_API_KEY" and not k.startswith(POSTGRES_ENV_PREFIX)}
        self.proc = register(subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                              stdin=subprocess.DEVNULL))
        self.port = self._wait_for_port()
        self.base = f"http://127.0.0.1:{self.port}"

    def _wait_for_port(self) -> int:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited: {open(self.log_path).read()[-2000:]}")
            with open(self.log_path, "rb") as f:
                for line in f.read().decode(errors="replace").splitlines():
                    if "listening on http://" in line:
                        return int(line.rsplit(":", 1)[1].strip().rstrip("/"))
            time.sleep(0.05)
        raise RuntimeError("emulator did not start")

    def admin(self, method: str, path: str, body=None, timeout=60):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as error:
            raw = error.read()
            raise RuntimeError(f"{method} {path}: HTTP {error.code} {raw[:300]!r}") from None
        return json.loads(raw) if raw else {}

    def state(self):
        return self.admin("GET", "/_emulator/state")

    def requests(self):
        return self.admin("GET", "/_emulator/requests")["values"]

    def counters(self):
        return self.admin("GET", "/_emulator/counters")

    def clear_requests(self):
        self.admin("DELETE", "/_emulator/requests")

    def stop(self):
        kill_pid(self.proc, signal.SIGTERM)
        self.log.close()


# ---------------------------------------------------------------------------------------------
# Warden


def seed_connection_fields(name: str = SEED_CONNECTION) -> dict:
    """Exactly what the emulator's seed creates, so the warden finds no drift to PATCH."""
    return {"type": "kinesis", "name": name, "stream": name, "awsEndpoint": "kinesis.us-east-1.amazonaws.com",
            "awsAssumedRoleArn": "arn:aws:iam::123456789012:role/polaris-emulator"}


def seed_job_spec(table: str, connection: str = SEED_CONNECTION) -> dict:
    """Exactly the spec the emulator's seed gives a job, so adoption finds no spec drift."""
    return {"type": "streaming",
            "source": {"type": "connection", "connectionName": connection, "formatSettings": {"format": "nd-json"}},
            "target": {"type": "table", "tableName": table},
            "createTableIfNotExists": True,
            "mappings": [{"columnName": "__time", "expression": "TIME_PARSE(\"ts\")"}]}


def warden_config(port: int, tables: list[str], poll: float, rate: float = 1000, supervisor_extra=None,
                  timeout: float = 5) -> dict:
    supervisor = {"pollIntervalSeconds": poll,
                  "recreate": {"maxAttempts": 1000, "windowSeconds": 3600, "backoffInitialSeconds": 0.5,
                               "backoffMaxSeconds": 2}}
    supervisor.update(supervisor_extra or {})
    return {"polaris": {"url": f"http://127.0.0.1:{port}", "projectId": PROJECT_ID,
                        "auth": {"type": "apiKey", "env": "POLARIS_API_KEY"},
                        "requestTimeoutSeconds": timeout, "maxRequestsPerSecond": rate},
            "supervisor": supervisor,
            "connections": [seed_connection_fields()],
            "jobs": [{"name": f"job-{table}", "spec": seed_job_spec(table)} for table in tables]}


class NotifySocket:
    """A test NOTIFY_SOCKET: an AF_UNIX datagram socket that records (time, message)."""

    def __init__(self, path: str):
        self.path = path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages: list[tuple[float, str]] = []
        self.wall: list[float] = []  # time.time() of each message, same order
        self._stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self.messages.append((time.monotonic(), data.decode(errors="replace")))
            self.wall.append(time.time())

    def cycle_ends(self) -> list[float]:
        """Wall-clock times of the cycle ends: the warden sends STATUS= after every cycle (with
        READY=1 after the first, which also sent its own STATUS=)."""
        ends = []
        for (_, message), wall in zip(list(self.messages), list(self.wall)):
            lines = message.split("\n")
            if any(l.startswith("STATUS=") for l in lines) and "READY=1" not in lines \
                    and not any(l.startswith("STOPPING=") or l.startswith("RELOADING=") for l in lines):
                ends.append(wall)
        return ends

    def first(self, key: str):
        for stamp, message in list(self.messages):
            if key in message.split("\n"):
                return stamp
        return None

    def close(self):
        self._stop = True
        self.thread.join(timeout=1)
        self.sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


class Warden:
    def __init__(self, binary: str, workdir: str, config: dict, api_key: str, notify: NotifySocket | None = None,
                 tag: str = "warden", log_level: str = "info", extra_env: dict | None = None):
        self.workdir = workdir
        self.config_path = os.path.join(workdir, "config.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=1)
        self.state_dir = os.path.join(workdir, "state")
        os.makedirs(self.state_dir, exist_ok=True)
        self.state_path = os.path.join(self.state_dir, "state.json")
        self.binary = binary
        self.api_key = api_key
        self.notify = notify
        self.tag = tag
        self.log_level = log_level
        # e.g. WATCHDOG_USEC: set only when asked (a stray one from the caller is dropped)
        self.extra_env = dict(extra_env or {})
        self.proc = None
        self.starts = 0
        self.out_paths: list[str] = []

    def start(self):
        # the test database's settings (scripts/with-postgres.sh) reach a warden only as its
        # config asks (extra_env), never the whole set
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_") and k != "WATCHDOG_USEC"
               and not k.startswith(POSTGRES_ENV_PREFIX)}
        env["POLARIS_API_KEY"] = self.api_key
        env["SWIFT_BACKTRACE"] = "enable=no"
        if self.notify:
            env["NOTIFY_SOCKET"] = self.notify.path
        env.update(self.extra_env)
        self.starts += 1
        out_path = os.path.join(self.workdir, f"{self.tag}-{self.starts}.out")
        self.out_paths.append(out_path)
        self.out = open(out_path, "wb")
        self.started_at = time.monotonic()
        self.proc = register(subprocess.Popen(
            [self.binary, "run", "--config", self.config_path, "--state-directory", self.state_dir,
             "--log", "console", "--log-level", self.log_level],
            stdout=self.out, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL))
        return self.proc

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self):
        if self.proc is not None:
            kill_pid(self.proc, signal.SIGKILL)
            self.out.close()
            self.frozen = False

    def freeze(self):
        """SIGSTOP: the process stays, silent (a paused VM); `thaw` continues it."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        os.kill(self.proc.pid, signal.SIGCONT)
        self.frozen = False

    def stop(self):
        if self.proc is not None and self.proc.poll() is None and getattr(self, "frozen", False):
            self.thaw()  # a stopped process would not see the SIGTERM
        if self.proc is not None and self.proc.poll() is None:
            kill_pid(self.proc, signal.SIGTERM, timeout=15)
        if self.proc is not None:
            forget(self.proc)
            self.out.close()

    # /proc readings
    def cpu_seconds(self) -> float:
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is state (field 3); utime is field 14, stime field 15.
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def memory_kib(self) -> dict[str, int]:
        values = {}
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmHWM", "VmRSS"):
                    values[key] = int(rest.split()[0])
        return values

    def output(self) -> str:
        text = []
        for path in self.out_paths:
            try:
                with open(path, "rb") as f:
                    text.append(f.read().decode(errors="replace"))
            except FileNotFoundError:
                pass
        return "".join(text)


def new_api_key() -> str:
    return "pwk-" + secrets.token_hex(20)


def callgrind_wrapper(warden_bin: str, workdir: str, out: str, options: str) -> str:
    """A script in `workdir` that runs `warden_bin` under `valgrind --tool=callgrind OPTIONS`,
    writing to `out`. valgrind 3.19 cannot read the DWARF 5 the toolchain emits: it runs a copy
    without debug info (symbols stay, so functions are still named)."""
    profiled = os.path.join(workdir, "polaris-warden")
    subprocess.run(["objcopy", "--strip-debug", warden_bin, profiled], check=True)
    wrapper = os.path.join(workdir, "valgrind-warden")
    with open(wrapper, "w") as f:
        f.write(f"#!/bin/sh\nexec valgrind --tool=callgrind {options} --callgrind-out-file={out} {profiled} \"$@\"\n")
    os.chmod(wrapper, 0o755)
    return wrapper


def workdir(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix)


def is_cycle_start(record: dict) -> bool:
    """One `GET /jobs` with paginationOffset=0 starts a cycle."""
    if record.get("method") != "GET" or record.get("route") != "GET /jobs":
        return False
    query = record.get("query") or ""
    return "paginationOffset=0" in query.split("&")


# ---------------------------------------------------------------------------------------------
# High availability (docs/high-availability.md): PostgreSQL from scripts/with-postgres.sh, a
# loopback TCP proxy to cut one warden off it, the wardens' role events from their output, and
# the check that only the lease holder writes.

HA_EVENTS = ("leader-acquired", "leader-lost", "standby", "coordination-unreachable")
_EVENT_LINE = re.compile(r"^(\S+) (\w+) (" + "|".join(HA_EVENTS) + r") (.*)$")


def postgres_from_env() -> dict:
    """host, port, database, user, password, ctl from scripts/with-postgres.sh's environment."""
    names = ("HOST", "PORT", "DATABASE", "USER", "PASSWORD", "CTL")
    missing = [POSTGRES_ENV_PREFIX + n for n in names if not os.environ.get(POSTGRES_ENV_PREFIX + n)]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: run under scripts/with-postgres.sh")
    return {n.lower(): os.environ[POSTGRES_ENV_PREFIX + n] for n in names}


def postgres_ctl(pg: dict, *args: str, timeout: float = 60) -> str:
    """`$WARDEN_TEST_POSTGRES_CTL ARGS...` (stop, start, restart, psql -c ...); its output."""
    out = subprocess.run([pg["ctl"], *args], capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL)
    if out.returncode != 0:
        raise RuntimeError(f"{os.path.basename(pg['ctl'])} {args[0]}: exit {out.returncode}: "
                           f"{(out.stderr or out.stdout).strip()[-500:]}")
    return out.stdout


def ha_settings(host: str, port: int, database: str, user: str, instance: str, lease: float,
                password_env: str = "PG_PASSWORD") -> dict:
    """The `highAvailability` block: plain TCP, the password from the environment (never inline)."""
    return {"postgres": {"host": host, "port": int(port), "database": database, "user": user,
                         "password": {"env": password_env}, "tls": "disable"},
            "leaseSeconds": lease, "instance": instance}


def user_agent(instance: str) -> str:
    """What a warden with `highAvailability` sends as User-Agent (the emulator logs it)."""
    return f"polaris-warden ({instance})"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def metric(port: int, name: str, timeout: float = 2):
    """One unlabelled sample from http://127.0.0.1:PORT/metrics; None when absent or unreachable."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as response:
            text = response.read().decode()
    except (OSError, urllib.error.URLError):
        return None
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


class TcpProxy:
    """A loopback TCP proxy (one thread, select) in front of `target`. `sever("blackhole")` closes
    every connection and then accepts new ones without ever forwarding a byte (a silent network);
    `sever("refuse")` closes them and the listener (connections refused); `restore()` forwards
    again on the same port."""

    def __init__(self, target_host: str, target_port: int, name: str = "proxy"):
        self.target = (target_host, int(target_port))
        self.name = name
        self.mode = "forward"
        self.lock = threading.Lock()
        self.pairs: dict[socket.socket, socket.socket] = {}  # both directions
        self.held: list[socket.socket] = []                  # blackholed clients
        self.accepted = 0
        self.listener = self._listen(0)
        self.port = self.listener.getsockname()[1]
        self._stop = False
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        return sock

    def _close(self, sock):
        try:
            sock.close()
        except OSError:
            pass

    def _drop_all(self):
        for sock in list(self.pairs) + self.held:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._close(sock)
        self.pairs.clear()
        self.held.clear()

    def sever(self, mode: str = "blackhole"):
        assert mode in ("blackhole", "refuse")
        with self.lock:
            self.mode = mode
            self._drop_all()
            if mode == "refuse" and self.listener is not None:
                self._close(self.listener)
                self.listener = None

    def restore(self):
        with self.lock:
            self.mode = "forward"
            for sock in self.held:
                self._close(sock)
            self.held.clear()
            if self.listener is None:
                self.listener = self._listen(self.port)

    def close(self):
        self._stop = True
        self.thread.join(timeout=2)
        with self.lock:
            self._drop_all()
            if self.listener is not None:
                self._close(self.listener)
                self.listener = None

    def _run(self):
        import select
        while not self._stop:
            with self.lock:
                listener = self.listener
                watched = ([listener] if listener is not None else []) + list(self.pairs) + list(self.held)
            try:
                readable, _, _ = select.select(watched, [], [], 0.05)
            except (OSError, ValueError):
                continue  # a socket closed by sever(): take the new set
            with self.lock:
                for sock in readable:
                    if sock is self.listener and sock is not None:
                        try:
                            client, _ = sock.accept()
                        except OSError:
                            continue
                        self.accepted += 1
                        if self.mode == "blackhole":
                            self.held.append(client)
                            continue
                        try:
                            upstream = socket.create_connection(self.target, timeout=2)
                        except OSError:
                            self._close(client)
                            continue
                        client.settimeout(5)
                        upstream.settimeout(5)
                        self.pairs[client] = upstream
                        self.pairs[upstream] = client
                    elif sock in self.held:
                        try:
                            data = sock.recv(65536)  # discarded: nothing ever answers
                        except OSError:
                            data = b""
                        if not data:
                            self.held.remove(sock)
                            self._close(sock)
                    elif sock in self.pairs:
                        peer = self.pairs[sock]
                        try:
                            data = sock.recv(65536)
                            if data:
                                peer.sendall(data)
                        except OSError:
                            data = b""
                        if not data:
                            for s in (sock, peer):
                                self.pairs.pop(s, None)
                                self._close(s)


class OutputTail:
    """Follows a Warden's output files (every incarnation) and stamps each new line with the wall
    time it was seen (the console log has whole seconds only); `events()` are the HA role events."""

    def __init__(self, warden: "Warden", period: float = 0.02):
        self.warden = warden
        self.period = period
        self.lines: list[tuple[float, int, str]] = []  # (seen, incarnation (1-based), line)
        self._offsets: dict[str, int] = {}
        self._partial: dict[str, bytes] = {}
        self._stop = False
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read(self):
        now = time.time()
        for index, path in enumerate(list(self.warden.out_paths), start=1):
            try:
                with open(path, "rb") as f:
                    f.seek(self._offsets.get(path, 0))
                    data = f.read()
            except FileNotFoundError:
                continue
            if not data:
                continue
            self._offsets[path] = self._offsets.get(path, 0) + len(data)
            data = self._partial.pop(path, b"") + data
            *complete, rest = data.split(b"\n")
            if rest:
                self._partial[path] = rest
            with self.lock:
                for raw in complete:
                    self.lines.append((now, index, raw.decode(errors="replace")))

    def _run(self):
        while not self._stop:
            try:
                self._read()
            except Exception as error:  # keep following: a test reads what was seen
                print(f"tail: {error}", flush=True)
            time.sleep(self.period)

    def flush(self):
        self._read()

    def close(self):
        self._stop = True
        self.thread.join(timeout=1)
        self._read()

    def events(self, kinds=HA_EVENTS) -> list[tuple[float, str, str]]:
        """(seen, event, line) for every role event line, in order."""
        with self.lock:
            lines = list(self.lines)
        found = []
        for seen, _, line in lines:
            match = _EVENT_LINE.match(line)
            if match and match.group(3) in kinds:
                found.append((seen, match.group(3), line))
        return found

    def first(self, kind: str, after: float = 0.0):
        """(seen, line) of the first `kind` event seen at or after `after`, else None."""
        for seen, event, line in self.events((kind,)):
            if seen >= after:
                return seen, line
        return None


def writes_of(records: list[dict], instance: str) -> list[tuple[float, dict]]:
    """(completion time, record) of `instance`'s non-GET Polaris requests (admin calls excluded)."""
    agent = user_agent(instance)
    return sorted(((parse_ts(r["timestamp"]), r) for r in records
                   if r.get("userAgent") == agent and r["method"] != "GET"
                   and not r["path"].startswith("/_emulator/")), key=lambda w: w[0])


def leadership_intervals(events: dict[str, list[tuple[float, str]]], ends: dict[str, list[float]],
                         until: float) -> dict[str, list[list[float]]]:
    """Each instance's leadership intervals [start, end]: from a `leader-acquired` to its
    `leader-lost`, or to the moment the process was killed or frozen (`ends`: a frozen warden
    must not write after it wakes until it acquires again), or `until`."""
    intervals: dict[str, list[list[float]]] = {}
    for instance, evs in events.items():
        marks = sorted([(t, kind) for t, kind in evs if kind in ("leader-acquired", "leader-lost")]
                       + [(t, "end") for t in ends.get(instance, [])])
        spans, start = [], None
        for t, kind in marks:
            if kind == "leader-acquired":
                if start is None:
                    start = t
            elif start is not None:
                spans.append([start, t])
                start = None
        if start is not None:
            spans.append([start, until])
        intervals[instance] = spans
    return intervals


def check_leader_writes(records: list[dict], intervals: dict[str, list[list[float]]], acquire_slack: float,
                        end_slack) -> list[str]:
    """Writes only from the lease holder: each write of an instance (completion time `t` in the
    emulator's log) must fall inside one of its leadership intervals, from `acquire_slack` before
    the acquisition was seen (the log line is seen a little after the warden acts) to
    `end_slack(t)` after the end (a request sent before the end completes after it), and no other
    instance may have acquired the lease between that interval's start and `t`. Returns the
    violations as text."""
    problems = []
    acquisitions = sorted((start, instance) for instance, spans in intervals.items() for start, _ in spans)
    for instance, spans in intervals.items():
        for t, record in writes_of(records, instance):
            slack = end_slack(t) if callable(end_slack) else end_slack
            inside = [s for s in spans if s[0] - acquire_slack <= t <= s[1] + slack]
            if not inside:
                problems.append(f"{instance} wrote {record['method']} {record['route']} at {t:.3f} outside its "
                                f"leadership ({_spans_text(spans)})")
                continue
            start = inside[-1][0]
            others = [(a, who) for a, who in acquisitions if who != instance and start < a <= t - slack]
            if others:
                problems.append(f"{instance} wrote {record['method']} {record['route']} at {t:.3f} after "
                                f"{others[-1][1]} acquired the lease at {others[-1][0]:.3f}")
    return problems


def _spans_text(spans) -> str:
    return ", ".join(f"{s:.3f}-{e:.3f}" for s, e in spans) or "never the leader"
