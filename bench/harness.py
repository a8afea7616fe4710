"""Shared process and emulator plumbing for bench/run.py and chaos/soak.py.

Everything runs on loopback. Every process started here is registered and killed by pid on
every exit path (normal return, exception, SIGINT/SIGTERM): never by name.
"""

from __future__ import annotations

import atexit
import datetime as _dt
import json
import os
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
        env = {k: v for k, v in os.environ.items() if k != "POLARIS_EMULATOR_API_KEY"}
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
        env = {k: v for k, v in os.environ.items() if not k.startswith("NOTIFY_") and k != "WATCHDOG_USEC"}
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

    def stop(self):
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


def workdir(prefix: str) -> str:
    return tempfile.mkdtemp(prefix=prefix)


def is_cycle_start(record: dict) -> bool:
    """One `GET /jobs` with paginationOffset=0 starts a cycle."""
    if record.get("method") != "GET" or record.get("route") != "GET /jobs":
        return False
    query = record.get("query") or ""
    return "paginationOffset=0" in query.split("&")
