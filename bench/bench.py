"""mockchats against its peers and its floor, under the same load on the same machine.

Run it with ``make bench`` (full run, several minutes), ``make bench QUICK=1`` (smoke: a few
seconds per server, installs nothing) or ``make bench SERVERS=1`` (only the WSGI server
comparison). Directly: ``.venv/bin/python bench/bench.py [--quick] [--servers-only] ...``.

What runs, one after another on loopback, in one run:

- ``mockchats serve`` as a user runs it (the venv's ``mockchats`` command, default fixtures,
  seed 0, its access log going to a file), and a second one with ``--messages 100000``;
- the floor: a bare Flask app on the server `mockchats serve` runs (granian, through mockchats.serving.asgi)
  answering fixed copies of the same bodies (``bench/floor.py``);
- Stoplight Prism mocking a copy of ``openapi/chats.yaml`` whose examples are the real mockchats
  answers (so every server sends the same payload), as users run it and again with ``-v error``;
- WireMock standalone with stubs for the same two calls;
- the session hub of a third ``mockchats serve``: 1,000 WebSocket clients on the default session
  (``bench/hubs.py``, a child process; quick: 50), the delay from a REST change (a join, then
  its leave) to its event at every client, and GET/POST req/s with those clients connected and
  without, in interleaved rounds (``--hubs-only`` runs this part alone, ``--no-hubs`` skips it);
- the client-side cost of one ``listChats`` and one ``createChat`` with ``requests``: inside
  ``mockchats.intercept()``, over loopback against ``mockchats.Server``, and with a static
  ``responses`` stub (``bench/inprocess.py``, in this process; ``--no-inprocess`` skips it);
- what the journal's full entries cost: the app called in this process as ``mockchats serve``
  calls it, with and without the request's headers and the answer recorded (``bench/journal.py``;
  ``--no-journal`` skips it);
- with ``--against REF`` (``make bench AGAINST=REF``), the app as it was at git ref REF, taken
  with ``git archive`` into a temporary directory and run from there with this venv's Python
  and dependencies (``python -m mockchats serve``, PYTHONPATH pointing at it), in at least 5
  rounds: the output gives the median of the per-round ratios, this tree's over REF's.

The mockchats servers run with ``MOCKCHATS_GC_LOG=1``: their worker logs each garbage
collection and its pause, and the bench reports the longest pause of each run.

Peers are installed by the full run into ``bench/.peers/`` (git-ignored) with npm; wrk with
apt-get when it can. Load comes from ``wrk -t2 -c16 --latency`` (or, in the smoke mode without
wrk, ``bench/loadgen.py``), in rounds interleaved across the servers. Every figure is given as
min / median / max over the rounds. The figures go to stdout, to ``bench/results/*.json`` and,
as README text, to ``/tmp/readme-bench.md``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from importlib import metadata
from io import BytesIO
from pathlib import Path
from urllib.parse import urlsplit

import yaml

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PEERS = BENCH / ".peers"
RESULTS = BENCH / "results"
LUA = BENCH / "lua"
VENV_BIN = Path(sys.executable).parent
SPEC = ROOT / "openapi" / "chats.yaml"

WRK_THREADS, CONNECTIONS = 2, 16
LIST = "/chats?Take=20"
SORTED = "/chats?SortBy=:thumbs_up:&Take=20"
HOST_AUTH = {"Authorization": "Bearer host-token"}
PEER_PACKAGES = ["@stoplight/prism-cli", "wiremock"]
#: Rounds at least, with --against: the ratio is a median of per-round ratios.
AGAINST_ROUNDS = 5
#: What `mockchats serve` reads to log its garbage collections (mockchats/serving/asgi.py).
GC_LOG_ENV = {"MOCKCHATS_GC_LOG": "1"}
#: The serving stacks compared under the mockchats app; the first is what `mockchats serve` runs.
WSGI_SERVERS = ["granian asgi", "granian wsgi 1t", "granian wsgi 8t", "gunicorn"]
#: The session hub part: clients on one session (quick: fewer) and joins per round (each then left).
HUB_CLIENTS, HUB_CLIENTS_QUICK = 1000, 50
HUB_EVENTS, HUB_EVENTS_QUICK = 20, 3
#: Its goals: an event at every client within this p99; REST req/s with the clients open at
#: least this share of the same run's without them.
HUB_P99_MS, HUB_RPS_SHARE = 100.0, 0.9
#: The in-process part (bench/inprocess.py): interleaved rounds, timed calls of each kind per round, warm-up calls.
INPROCESS_FULL = {"rounds": 5, "calls": 1000, "warmup": 100}
INPROCESS_QUICK = {"rounds": 3, "calls": 100, "warmup": 10}
#: The journal part (bench/journal.py): many short interleaved rounds, calls of each kind per round,
#: warm-up calls, and the journal's size (the entries read and held).
JOURNAL_FULL = {"rounds": 20, "calls": 500, "warmup": 50, "entries": 1000}
JOURNAL_QUICK = {"rounds": 4, "calls": 100, "warmup": 10, "entries": 200}

SCENARIO_TITLES = {
    "get": "GET /v1/chats?Take=20",
    "post": "POST /v1/chats",
    "flow": "partner flow (create, react, list, list reactions, delete)",
    "sorted": "GET /v1/chats?SortBy=:thumbs_up:&Take=20",
}


def log(text: str = "") -> None:
    print(text, flush=True)


# -- small helpers -------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(method: str, url: str, *, headers: dict | None = None, body: str | bytes | None = None,
         timeout: float = 30) -> tuple[int, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def spread(values: list[float | None]) -> dict | None:
    """min / median / max of the rounds' values."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"min": min(values), "median": statistics.median(values), "max": max(values), "n": len(values)}


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {"p50": statistics.median(ordered), "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)],
            "max": ordered[-1], "n": len(ordered)}


def _process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (gunicorn, granian: a master and a worker)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo += children.get(current, [])
    return tree


def _tree_kib(pid: int, source: str, field: str) -> int:
    total = 0
    for member in _process_tree(pid):
        try:
            for line in Path(f"/proc/{member}/{source}").read_text().splitlines():
                if line.startswith(field):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def rss_kib(pid: int) -> int:
    """VmRSS of ``pid`` and its descendants, added up: pages they share count once each."""
    return _tree_kib(pid, "status", "VmRSS:")


def pss_kib(pid: int) -> int:
    """PSS of ``pid`` and its descendants: each shared page split among its sharers, so a
    forked worker's pages shared with its parent count once in the sum."""
    return _tree_kib(pid, "smaps_rollup", "Pss:")


def run_quiet(command: list[str], timeout: float = 30) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (done.stdout + done.stderr).strip()


# -- servers -------------------------------------------------------------------------------

class Served:
    """One server process: spawned, polled until its first 200, measured, stopped."""

    def __init__(self, name: str, command: list[str], *, port: int, base: str, ready_path: str,
                 logdir: Path, cwd: Path = ROOT, env: dict | None = None, stop_signal=signal.SIGINT,
                 timeout: float = 120):
        self.name, self.port, self.stop_signal = name, port, stop_signal
        self.root = f"http://127.0.0.1:{port}"
        self.base = self.root + base
        self.logfile = logdir / f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}-{port}.log"
        out = open(self.logfile, "wb")
        started = time.perf_counter()
        self.process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        out.close()
        deadline = started + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{name} exited ({self.process.returncode}): {self.tail()}")
            try:
                status, _ = fetch("GET", self.base + ready_path, headers=HOST_AUTH, timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if time.perf_counter() > deadline:
                self.stop()
                raise RuntimeError(f"{name} did not answer 200 within {timeout:.0f} s: {self.tail()}")
            time.sleep(0.005)
        #: Seconds from spawn to the first 200 on ``ready_path``.
        self.first_answer_s = time.perf_counter() - started

    @property
    def pid(self) -> int:
        return self.process.pid

    def rss_mib(self) -> float:
        return rss_kib(self.process.pid) / 1024

    def pss_mib(self) -> float:
        return pss_kib(self.process.pid) / 1024

    def log_size(self) -> int:
        try:
            return self.logfile.stat().st_size
        except OSError:
            return 0

    def gc_figures(self, since: int) -> dict:
        """The worker's garbage collections logged since byte ``since`` of its log
        (``MOCKCHATS_GC_LOG``): how many, how many full, the longest pause."""
        with open(self.logfile, "rb") as log_:
            log_.seek(since)
            text = log_.read().decode("utf-8", "replace")
        pauses = [(int(generation), float(ms)) for pid, generation, ms
                  in re.findall(r"^gc: pid (\d+) generation (\d) paused ([\d.]+) ms", text, re.M)
                  if int(pid) != self.pid]  # the worker's, not its idle parent's
        return {"gc_collections": len(pauses), "gc_full": sum(1 for g, _ in pauses if g == 2),
                "gc_longest_ms": max((ms for _, ms in pauses), default=0.0)}

    def tail(self, lines: int = 8) -> str:
        try:
            return " | ".join(self.logfile.read_text(errors="replace").strip().splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.kill(self.process.pid, self.stop_signal)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)  # the group it leads: this bench's own child
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass


def mockchats_command(port: int, *extra: str) -> list[str]:
    return [str(VENV_BIN / "mockchats"), "serve", "--port", str(port), "--seed", "0", *extra]


def start_mockchats(name: str, logdir: Path, *extra: str) -> Served:
    port = free_port()
    env = dict(os.environ, PYTHONUNBUFFERED="1", **GC_LOG_ENV)
    return Served(name, mockchats_command(port, *extra), port=port, base="/v1", ready_path=LIST,
                  logdir=logdir, env=env)


class AgainstError(RuntimeError):
    """The app at the --against ref could not be taken or started."""


def checkout_ref(ref: str, directory: Path) -> str:
    """The tree at git ref ``ref`` of this repository, written into ``directory`` (``git
    archive``: no worktree to register, nothing in the repository changes); its commit."""
    found = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                           capture_output=True, text=True)
    if found.returncode != 0:
        raise AgainstError(f"{ref!r} is not a commit of this repository")
    commit = found.stdout.strip()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", commit], capture_output=True)
    if archive.returncode != 0:
        raise AgainstError(f"git archive {commit} failed: {archive.stderr.decode(errors='replace')[-300:]}")
    directory.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=BytesIO(archive.stdout)) as tar:
        # the "data" filter (no links out, no devices) where this Python has it (3.11.4 on)
        tar.extractall(directory, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    if not (directory / "mockchats" / "__init__.py").exists():
        raise AgainstError(f"{ref} ({commit[:12]}) has no mockchats package")
    _install_missing_dependencies(directory)
    return commit


def _install_missing_dependencies(tree: Path) -> None:
    """What the ref's pyproject.toml depends on and this venv no longer has (a server since
    dropped, say), installed into ``tree/.deps`` for the ref alone; the rest is this venv's."""
    import tomllib

    from packaging.requirements import Requirement

    declared = tomllib.loads((tree / "pyproject.toml").read_text())["project"].get("dependencies", [])
    missing = []
    for line in declared:
        try:
            metadata.version(Requirement(line).name)
        except metadata.PackageNotFoundError:
            missing.append(line)
    if missing:
        log(f"--against: installing {', '.join(missing)} for the ref alone")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(tree / ".deps"),
                               *missing], capture_output=True, text=True)
        if done.returncode != 0:
            raise AgainstError(f"installing {', '.join(missing)} failed: {done.stderr[-300:]}")


def ref_environment(tree: Path) -> dict:
    """The environment that runs the app from ``tree`` with this venv's Python and packages:
    its directory first on the path (before the editable install of this tree)."""
    path = os.pathsep.join(str(p) for p in (tree, tree / ".deps") if p.exists())
    return dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=path, **GC_LOG_ENV)


def ref_module_file(tree: Path) -> str:
    """Where ``import mockchats`` lands in the environment ``ref_environment`` makes: the
    proof that the app measured as REF is REF's."""
    done = subprocess.run([sys.executable, "-c", "import mockchats; print(mockchats.__file__)"], cwd=tree,
                          env=ref_environment(tree), capture_output=True, text=True, timeout=60)
    found = done.stdout.strip()
    if done.returncode != 0 or not Path(found).resolve().is_relative_to(tree.resolve()):
        raise AgainstError(f"the app at the ref does not import from {tree}: {(done.stderr or found)[-300:]}")
    return found


def start_ref(name: str, tree: Path, logdir: Path) -> Served:
    """``mockchats serve`` as the ref has it, run from its tree (cwd too: ``python -m`` puts
    the working directory first on the path)."""
    port = free_port()
    command = [sys.executable, "-m", "mockchats", "serve", "--port", str(port), "--seed", "0"]
    try:
        return Served(name, command, port=port, base="/v1", ready_path=LIST, logdir=logdir, cwd=tree,
                      env=ref_environment(tree))
    except RuntimeError as exc:
        raise AgainstError(str(exc)) from None


# -- load ----------------------------------------------------------------------------------

_WRK_TIME = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _wrk_ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text).groups()
    return float(number) * _WRK_TIME[unit]


def parse_wrk(output: str) -> dict:
    found = {"rps": None, "p50_ms": None, "p99_ms": None, "requests": None, "non2xx": 0, "errors": 0}
    for line in output.splitlines():
        line = line.strip()
        if m := re.match(r"Requests/sec:\s+([\d.]+)", line):
            found["rps"] = float(m.group(1))
        elif m := re.match(r"50%\s+(\S+)", line):
            found["p50_ms"] = _wrk_ms(m.group(1))
        elif m := re.match(r"99%\s+(\S+)", line):
            found["p99_ms"] = _wrk_ms(m.group(1))
        elif m := re.match(r"(\d+) requests in", line):
            found["requests"] = int(m.group(1))
        elif m := re.match(r"Non-2xx or 3xx responses:\s+(\d+)", line):
            found["non2xx"] = int(m.group(1))
        elif line.startswith("Socket errors:"):
            found["errors"] = sum(int(n) for n in re.findall(r"\d+", line))
    if found["rps"] is None:
        raise RuntimeError(f"wrk printed no figures: {output.strip()[-500:]}")
    return found


class Load:
    """Runs one scenario against one base URL with wrk (or the built-in generator)."""

    def __init__(self, wrk: str | None, duration: float):
        self.wrk, self.duration = wrk, duration

    @property
    def name(self) -> str:
        return f"wrk -t{WRK_THREADS} -c{CONNECTIONS}" if self.wrk else f"bench/loadgen.py ({CONNECTIONS} threads)"

    def run(self, base: str, scenario: str, duration: float | None = None) -> dict:
        duration = duration or self.duration
        path = SORTED if scenario == "sorted" else LIST if scenario == "get" else "/chats"
        if self.wrk:
            command = [self.wrk, f"-t{WRK_THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(duration))}s",
                       "--latency", "--timeout", "10s"]
            if scenario in ("get", "sorted"):
                command += ["-H", "Authorization: Bearer host-token", base + path]
            elif scenario == "post":
                command += ["-s", str(LUA / "post.lua"), base + path]
            else:
                command += ["-s", str(LUA / "flow.lua"), base]
            done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
            return parse_wrk(done.stdout + done.stderr)
        command = [sys.executable, str(BENCH / "loadgen.py"), base, "--scenario",
                   "get" if scenario == "sorted" else scenario, "--path", path,
                   "--connections", str(CONNECTIONS), "--duration", str(duration)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
        if done.returncode != 0:
            raise RuntimeError(f"loadgen failed: {done.stderr.strip()[-500:]}")
        return json.loads(done.stdout)


# -- tools and peers -----------------------------------------------------------------------

def find_wrk(install: bool) -> tuple[str | None, str]:
    found = shutil.which("wrk")
    if found or not install:
        return found, "present" if found else "absent"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None, "absent: install it with `sudo apt-get install wrk` (Debian/Ubuntu)"
    log("installing wrk: apt-get update && apt-get install -y wrk")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "wrk"]):
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            return None, f"apt-get failed: {(done.stderr or done.stdout).strip()[-300:]}"
    found = shutil.which("wrk")
    return found, "installed with apt-get" if found else "apt-get installed nothing"


def prism_bin() -> Path | None:
    path = PEERS / "node_modules" / ".bin" / "prism"
    return path if path.exists() else None


def wiremock_jar() -> Path | None:
    jars = sorted((PEERS / "node_modules" / "wiremock").glob("**/wiremock-standalone-*.jar"))
    return jars[-1] if jars else None


def install_peers() -> str:
    if prism_bin() and wiremock_jar():
        return "present"
    npm = shutil.which("npm")
    if not npm:
        return "npm not found: install Node.js (npm) to measure Prism and WireMock"
    PEERS.mkdir(exist_ok=True)
    package = PEERS / "package.json"
    if not package.exists():
        package.write_text(json.dumps({"name": "mockchats-bench-peers", "private": True}) + "\n")
    log(f"installing peers into {PEERS.relative_to(ROOT)}: npm install {' '.join(PEER_PACKAGES)}")
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund", *PEER_PACKAGES], cwd=PEERS,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return f"npm install failed: {(done.stderr or done.stdout).strip()[-400:]}"
    return "installed with npm"


def prism_spec(payloads: dict, directory: Path) -> Path:
    """A copy of the spec whose 200 examples are real mockchats answers."""
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    chats = spec["paths"]["/chats"]
    chats["get"]["responses"]["200"]["content"]["application/json"]["example"] = payloads["list"]
    chats["post"]["responses"]["200"]["content"]["application/json"]["example"] = payloads["create"]
    path = directory / "chats-with-examples.json"
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def wiremock_root(payloads: dict, directory: Path) -> Path:
    root = directory / "wiremock"
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    (root / "__files").mkdir(exist_ok=True)
    headers = {"Content-Type": "application/json; charset=utf-8"}
    stubs = {
        "list": {"request": {"method": "GET", "urlPath": "/v1/chats",
                             "queryParameters": {"Take": {"equalTo": "20"}}},
                 "response": {"status": 200, "headers": headers,
                              "body": json.dumps(payloads["list"], separators=(",", ":"))}},
        "create": {"request": {"method": "POST", "urlPath": "/v1/chats"},
                   "response": {"status": 200, "headers": headers,
                                "body": json.dumps(payloads["create"], separators=(",", ":"))}},
    }
    for name, stub in stubs.items():
        (root / "mappings" / f"{name}.json").write_text(json.dumps(stub), encoding="utf-8")
    return root


# -- the measurements ----------------------------------------------------------------------

def capture_payloads(mock: Served) -> dict:
    """The bodies every server answers with: taken from a real mockchats."""
    def call(method, path, token, body=None):
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        status, data = fetch(method, mock.base + path, headers=headers,
                            body=json.dumps(body) if body is not None else None)
        assert status == 200, (method, path, status, data)
        return json.loads(data)

    payloads = {"list": call("GET", LIST, "host-token")}
    payloads["create"] = call("POST", "/chats", "alice-token", {"message": "Hello from the bench"})
    chat_id = payloads["create"]["chatId"]
    payloads["react"] = call("POST", f"/chats/{chat_id}/reactions", "bob-token", {"reaction": ":thumbs_up:"})
    payloads["reactions"] = call("GET", f"/chats/reactions?chatIds={chat_id}", "bob-token")
    fetch("POST", mock.root + "/_mock/reset")
    return payloads


def time_to_first_answer(samples: int, logdir: Path) -> list[float]:
    """``mockchats serve``: spawn, poll GET /v1/chats every 5 ms until the first 200."""
    times = []
    for _ in range(samples):
        served = start_mockchats("mockchats-startup", logdir)
        times.append(served.first_answer_s)
        served.stop()
    return times


def reset_latency(root: str, count: int) -> dict:
    """POST /_mock/reset over one keep-alive connection, timed from the client (HTTP included)."""
    parts = urlsplit(root)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    samples = []
    try:
        for _ in range(count):
            started = time.perf_counter()
            conn.request("POST", "/_mock/reset")
            response = conn.getresponse()
            response.read()
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status == 200, response.status
    finally:
        conn.close()
    return percentiles(samples)


def server_side_durations(mock: Served, operation: str = "listChats") -> dict | None:
    """The journal's ``durationMs`` of the latest listings (up to the journal's size)."""
    status, data = fetch("GET", mock.root + f"/_mock/requests?operationId={operation}&limit=1000")
    if status != 200:
        return None
    durations = [e["durationMs"] for e in json.loads(data) if e.get("durationMs") is not None]
    return percentiles(durations) if durations else None


PLUGIN_CONFTEST = """
import json, os, time
import pytest

TIMES = {"mockchats_server": [], "mockchats": []}

@pytest.hookimpl(hookwrapper=True)
def pytest_fixture_setup(fixturedef, request):
    started = time.perf_counter()
    yield
    if fixturedef.argname in TIMES:
        TIMES[fixturedef.argname].append((time.perf_counter() - started) * 1000)

def pytest_sessionfinish(session):
    with open(os.environ["BENCH_PLUGIN_OUT"], "w") as f:
        json.dump(TIMES, f)
"""

PLUGIN_TESTS = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_uses_the_mock(mockchats, n):
    assert mockchats.url.endswith("/v1")
"""


def plugin_fixture_times(tests: int) -> dict:
    """Run a throwaway test suite of ``tests`` tests on the plugin's ``mockchats`` fixture and time
    the fixtures' setup: ``mockchats_server`` once (the server start), ``mockchats`` per test (the reset)."""
    with tempfile.TemporaryDirectory(prefix="mockchats-plugin-") as tmp:
        tmp = Path(tmp)
        (tmp / "conftest.py").write_text(PLUGIN_CONFTEST)
        (tmp / "test_plugin_bench.py").write_text(PLUGIN_TESTS.replace("{count}", str(tests)))
        (tmp / "pytest.ini").write_text("[pytest]\n")
        out = tmp / "times.json"
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                               str(tmp)], cwd=tmp, capture_output=True, text=True, timeout=300,
                              env=dict(os.environ, BENCH_PLUGIN_OUT=str(out)))
        if done.returncode != 0 or not out.exists():
            raise RuntimeError((done.stdout + done.stderr).strip()[-300:])
        times = json.loads(out.read_text())
    if not times["mockchats_server"] or not times["mockchats"]:
        raise RuntimeError("the plugin's fixtures did not run")
    return {"server_start_ms": times["mockchats_server"][0], "per_test_reset_ms": percentiles(times["mockchats"])}


def plugin_figures(starts: int, resets: int) -> dict:
    """The pytest plugin: its fixtures timed when it has them; and what it does, measured directly
    (build + Server(port=0).start() once, Control.reset() per test)."""
    import mockchats
    from mockchats import Control

    try:
        import mockchats.pytest_plugin as plugin
        available = hasattr(plugin, "mockchats_server") and hasattr(plugin, "mockchats")
    except Exception:  # noqa: BLE001 - being written by someone else: whatever state it is in
        available = False
    fixtures = None
    status = "not available yet"
    if available:
        try:
            fixtures = plugin_fixture_times(resets)
            status = "available"
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            status = f"present but its fixtures failed: {exc}"
    start_ms, servers = [], []
    for _ in range(starts):
        started = time.perf_counter()
        mock = mockchats.build()
        server = mockchats.Server(mock.app, port=0).start()
        while True:
            try:
                if fetch("GET", server.base_url + LIST, headers=HOST_AUTH)[0] == 200:
                    break
            except OSError:
                time.sleep(0.001)
        start_ms.append((time.perf_counter() - started) * 1000)
        servers.append((mock, server))
    mock, server = servers[-1]
    control = Control(server.root_url)
    samples = []
    for _ in range(resets):
        started = time.perf_counter()
        control.reset()
        samples.append((time.perf_counter() - started) * 1000)
    in_process = []
    for _ in range(resets):
        started = time.perf_counter()
        mock.reset()
        in_process.append((time.perf_counter() - started) * 1000)
    for _, s in servers:
        s.stop()
    return {
        "plugin": status,
        "fixtures": fixtures,
        "measured": "mockchats.build() + mockchats.Server(mock.app, port=0).start() until the first 200; "
                    "mockchats.Control(root).reset(); in-process Mock.reset()",
        "start_ms": spread(start_ms),
        "control_reset_ms": percentiles(samples),
        "in_process_reset_ms": percentiles(in_process),
    }


def same_payload(served_base: str, path: str, expected: dict) -> bool | None:
    try:
        status, data = fetch("GET", served_base + path, headers=HOST_AUTH)
        return status == 200 and json.loads(data) == expected
    except (OSError, ValueError):
        return None


# -- machine facts -------------------------------------------------------------------------

def machine_facts(wrk: str | None) -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass

    java = run_quiet(["java", "-version"]).splitlines()
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "os": f"{platform.system()} {platform.release()}",
        "loadavg_at_start": list(os.getloadavg()),
        "python": platform.python_version(),
        "node": run_quiet(["node", "--version"]) or None,
        "java": java[0] if java else None,
        "wrk": (run_quiet([wrk, "-v"]).splitlines() or [""])[0].split(" Copyright")[0] or None if wrk else None,
        "packages": package_versions(),
    }


def package_versions() -> dict:
    """The versions of what was measured; None for what is not installed (yet: the bench
    installs peers and servers as it goes, so it asks again at the end)."""
    def version(package: str) -> str | None:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return None

    prism_pkg = PEERS / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    jar = wiremock_jar()
    return {
        **{p: version(p) for p in ("mockchats", "flask", "werkzeug",
                                   "gunicorn", "granian")},
        "@stoplight/prism-cli": json.loads(prism_pkg.read_text())["version"] if prism_pkg.exists() else None,
        "wiremock": jar.stem.replace("wiremock-standalone-", "") if jar else None,
    }


# -- the runs ------------------------------------------------------------------------------

class Target:
    def __init__(self, name: str, served: Served, scenarios: list[str], reset=None, gc_logged: bool = False):
        self.name, self.served, self.scenarios, self.reset = name, served, scenarios, reset
        #: Whether its worker logs its garbage collections (this tree's `mockchats serve`).
        self.gc_logged = gc_logged


def mockchats_reset(served: Served):
    return lambda: fetch("POST", served.root + "/_mock/reset")


def wiremock_reset(served: Served):
    return lambda: fetch("DELETE", served.root + "/__admin/requests")  # its request journal


def run_rounds(targets: list[Target], load: Load, rounds: int, warmup: float, extra=None) -> dict:
    """``rounds`` rounds; in each, every target runs each of its scenarios once, in turn."""
    runs: dict[str, dict[str, list[dict]]] = {t.name: {s: [] for s in t.scenarios} for t in targets}
    if warmup:
        log(f"warm-up: {warmup:.0f} s per server and scenario")
        for t in targets:
            for scenario in t.scenarios:
                load.run(t.served.base, scenario, warmup)
                if t.reset:
                    t.reset()
    for r in range(1, rounds + 1):
        for t in targets:
            for scenario in t.scenarios:
                if t.reset:
                    t.reset()
                mark = t.served.log_size()
                figures = load.run(t.served.base, scenario)
                if t.gc_logged:
                    figures.update(t.served.gc_figures(mark))
                if extra:
                    figures.update(extra(t, scenario) or {})
                runs[t.name][scenario].append(figures)
                log(f"  round {r}/{rounds}  {t.name:<22} {scenario:<6} {figures['rps']:>9.0f} req/s"
                    f"  p50 {fmt(figures['p50_ms'])} ms  p99 {fmt(figures['p99_ms'])} ms"
                    f"  non-2xx {figures['non2xx']}  errors {figures['errors']}"
                    + (f"  gc: longest {fmt(figures['gc_longest_ms'])} ms of {figures['gc_collections']}, "
                       f"{figures['gc_full']} full" if "gc_longest_ms" in figures else ""))
            if t.reset:
                t.reset()
    return runs


def summarize(runs: dict) -> dict:
    out = {}
    for name, scenarios in runs.items():
        out[name] = {}
        for scenario, rounds in scenarios.items():
            keys = [k for k in rounds[0] if isinstance(rounds[0][k], (int, float))] if rounds else []
            out[name][scenario] = {k: spread([r.get(k) for r in rounds]) for k in keys}
            out[name][scenario]["rounds"] = rounds
    return out


def ratios(runs: dict, subject: str, others: list[str], scenarios: list[str]) -> dict:
    """mockchats / other, round by round (req/s and p99), then min / median / max."""
    out = {}
    for other in others:
        if other not in runs:
            continue
        for scenario in scenarios:
            mine, theirs = runs[subject].get(scenario), runs[other].get(scenario)
            if not mine or not theirs:
                continue
            pairs = list(zip(mine, theirs))
            out[f"{scenario} vs {other}"] = {
                "rps": spread([a["rps"] / b["rps"] if b["rps"] else None for a, b in pairs]),
                "p99": spread([a["p99_ms"] / b["p99_ms"] if a["p99_ms"] and b["p99_ms"] else None
                               for a, b in pairs]),
            }
    return out


def fmt(value, digits: int | None = None) -> str:
    if value is None:
        return "-"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
    return f"{value:,.{digits}f}"


def mmm(s: dict | None, digits: int | None = None) -> str:
    if not s:
        return "-"
    if s["n"] == 1:
        return fmt(s["median"], digits)
    return f"{fmt(s['min'], digits)} / {fmt(s['median'], digits)} / {fmt(s['max'], digits)}"


def servers_section(load: Load, rounds: int, logdir: Path, install: bool) -> dict:
    """The serving stacks for the mockchats app, one process holding the state in each.

    ``granian asgi``: ``mockchats serve`` as shipped (granian's ASGI mode, mockchats.serving.asgi);
    ``granian wsgi``: granian's
    own WSGI mode with 1 and 8 blocking threads (fast with one, but it hands the app a decoded
    path and no client port); ``gunicorn``: the gthread worker (1 worker, 8 threads).
    """
    log("\n== servers serving the mockchats app (one process holds the state) ==")
    status = {}
    missing = [p for p in ("gunicorn",) if not (VENV_BIN / p).exists()]
    if missing and install:
        log(f"installing into the venv: pip install {' '.join(missing)}")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", *missing],
                              capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            log(f"  pip install failed: {done.stderr.strip()[-400:]}")
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONPATH=str(BENCH))
    def granian_wsgi(threads: int):
        return lambda port: [str(VENV_BIN / "granian"), "--interface", "wsgi", "--workers", "1",
                             "--blocking-threads", str(threads), "--host", "127.0.0.1", "--port", str(port),
                             "wsgi_app:app"]

    commands = {
        "granian asgi": lambda port: mockchats_command(port),
        "granian wsgi 1t": granian_wsgi(1),
        "granian wsgi 8t": granian_wsgi(8),
        "gunicorn": lambda port: [str(VENV_BIN / "gunicorn"), "--workers", "1", "--worker-class", "gthread",
                                  "--threads", "8", "--bind", f"127.0.0.1:{port}", "wsgi_app:app"],
    }
    targets = []
    for name in WSGI_SERVERS:
        if name == "gunicorn" and not (VENV_BIN / name).exists():
            status[name] = "not installed" + ("" if install else " (pass --servers or run the full bench to install it)")
            log(f"  {name}: {status[name]}")
            continue
        port = free_port()
        try:
            served = Served(name, commands[name](port), port=port, base="/v1", ready_path=LIST,
                            logdir=logdir, env=env, cwd=BENCH, stop_signal=signal.SIGTERM)
        except RuntimeError as exc:
            status[name] = f"failed to start: {exc}"
            log(f"  {name}: {status[name]}")
            continue
        status[name] = "ok"
        targets.append(Target(name, served, ["get", "post"], mockchats_reset(served)))
    try:
        runs = run_rounds(targets, load, rounds, warmup=0)
        rss = {t.name: t.served.rss_mib() for t in targets}
    finally:
        for t in targets:
            t.served.stop()
    return {"status": status, "versions": {n: _version(n.split()[0]) for n in WSGI_SERVERS},
            "results": summarize(runs), "rss_after_load_mib": rss}


def hubs_section(load: Load, rounds: int, warmup: float, clients: int, events: int, logdir: Path) -> dict:
    """The session hub: ``clients`` WebSocket clients on the default session (bench/hubs.py, a
    child process), the delay from a REST change to its event at each, and GET/POST req/s with
    them connected and without, on the same server, in interleaved rounds.

    A reset closes every hub connection, so each state starts with one (then the fleet connects)
    and none comes between its GET and POST runs; the order of the two states alternates.
    """
    sys.path.insert(0, str(BENCH))
    import hubs  # its WebSocket client libraries, only when this part runs

    soft, hard = hubs.raise_open_files(clients)  # the server, a child, inherits it
    log(f"\n== session hub: {clients:,} WebSocket clients on one session (open files: {soft}, hard {hard}) ==")
    mock = start_mockchats("mockchats hubs", logdir)
    with_name, without_name = f"{clients:,} hub clients", "no hub clients"
    runs: dict[str, dict[str, list[dict]]] = {without_name: {"get": [], "post": []}, with_name: {"get": [], "post": []}}
    samples: dict[str, list] = {"added_ms": [], "removed_ms": [], "spread_ms": [], "rest_ms": [], "fleet_cpu_ms": [],
                                "connect_s": [],
                                "missing": [], "still_open": [], "closed_early": [], "server_saw": [], "pings_heard": []}
    try:
        if warmup:
            for scenario in ("get", "post"):
                load.run(mock.base, scenario, warmup)
        for r in range(1, rounds + 1):
            states = [without_name, with_name] if r % 2 else [with_name, without_name]
            for state in states:
                fetch("POST", mock.root + "/_mock/reset")
                fleet = None
                if state == with_name:
                    fleet = hubs.FleetProcess(mock.root, clients, events, logdir / f"hub-fleet-{r}.log")
                    ready = fleet.ready
                    for key in ("added_ms", "removed_ms", "spread_ms", "rest_ms", "fleet_cpu_ms"):
                        samples[key] += ready[key]
                    samples["connect_s"].append(ready["connect_s"])
                    samples["missing"].append(ready["missing"])
                    added = hubs.percentiles(ready["added_ms"]) or {}
                    log(f"  round {r}/{rounds}  {clients:,} clients connected in {ready['connect_s']:.1f} s; "
                        f"{events} joins: event at every client p50 {fmt(added.get('p50'))} ms, "
                        f"p99 {fmt(added.get('p99'))} ms; missing {ready['missing']}")
                try:
                    for scenario in ("get", "post"):
                        figures = load.run(mock.base, scenario)
                        runs[state][scenario].append(figures)
                        log(f"  round {r}/{rounds}  {state:<22} {scenario:<6} {figures['rps']:>9.0f} req/s"
                            f"  p50 {fmt(figures['p50_ms'])} ms  p99 {fmt(figures['p99_ms'])} ms"
                            f"  non-2xx {figures['non2xx']}  errors {figures['errors']}")
                    if fleet:
                        status, body = fetch("GET", mock.root + "/_mock/hubs/connections")
                        samples["server_saw"].append(len(json.loads(body)) if status == 200 else None)
                        done = fleet.stop()
                        samples["still_open"].append(done["still_open"])
                        samples["closed_early"].append(done["closed_early"])
                        samples["pings_heard"].append(done["pings_heard"])
                finally:
                    if fleet:
                        fleet.kill()
    finally:
        mock.stop()
    summary = summarize(runs)
    return {
        "clients": clients, "events_per_round": events, "rounds": rounds, "open_files": [soft, hard],
        "fleet": "bench/hubs.py: plain WebSocket clients on asyncio protocols (uvloop), one process, negotiate then WebSocket with "
                 "the Host's token, the JSON handshake, a ping every 15 s",
        "latency_ms": {"UserAdded": hubs.percentiles(samples["added_ms"]),
                       "UserRemoved": hubs.percentiles(samples["removed_ms"]),
                       "all": hubs.percentiles(samples["added_ms"] + samples["removed_ms"])},
        "first_to_last_ms": hubs.percentiles(samples["spread_ms"]),
        "rest_call_ms": hubs.percentiles(samples["rest_ms"]),
        #: CPU the fleet spent per event (reading it at every client): its share of the delays.
        "fleet_cpu_ms": hubs.percentiles(samples["fleet_cpu_ms"]),
        "connect_s": spread(samples["connect_s"]),
        "missing": sum(samples["missing"]),
        "still_open_at_end": samples["still_open"], "closed_early": samples["closed_early"],
        "server_saw_during_load": samples["server_saw"], "pings_heard": samples["pings_heard"],
        "runs": summary,
        "ratios": ratios(runs, with_name, [without_name], ["get", "post"]),
    }


def hub_goals(result: dict) -> list[dict]:
    h = result.get("hubs")
    if not h:
        return []
    out = []
    full = h["clients"] >= HUB_CLIENTS  # the goals speak of 1,000: a smaller fleet is a smoke run
    judged = "" if full else f" (quick: {h['clients']} clients, not judged)"
    every = h["latency_ms"]["all"]
    out.append({"goal": f"session hub: event at every one of {HUB_CLIENTS:,} clients within {HUB_P99_MS:g} ms p99 "
                        f"of the REST change",
                "measured": (f"p50 {fmt(every['p50'])} ms, p99 {fmt(every['p99'])} ms over {every['n']:,} "
                             f"client-event pairs (joins and leaves), {h['missing']} missing{judged}")
                if every else "not measured",
                "met": (every["p99"] < HUB_P99_MS and h["missing"] == 0) if every and full else None})
    for scenario in ("get", "post"):
        r = h["ratios"].get(f"{scenario} vs no hub clients")
        out.append({"goal": f"{scenario.upper()} req/s with {HUB_CLIENTS:,} hub clients connected at least "
                            f"{HUB_RPS_SHARE:g}x the same run's without",
                    "measured": (f"x{mmm(r['rps'], 2)} (min / median / max of {r['rps']['n']} per-round ratios)"
                                 f"{judged}") if r else "not measured",
                    "met": r["rps"]["median"] >= HUB_RPS_SHARE if r and full else None})
    return out


def inprocess_goals(result: dict) -> list[dict]:
    if "inprocess" not in result:
        return []
    import inprocess

    return inprocess.goals(result["inprocess"])


def render_hubs(h: dict) -> list[str]:
    lines = ["", f"session hub, {h['clients']:,} WebSocket clients on one session ({h['fleet']}):"]
    for kind, title in (("UserAdded", "join -> UserAdded"), ("UserRemoved", "leave -> UserRemoved"),
                        ("all", "both")):
        p = h["latency_ms"][kind]
        if p:
            lines.append(f"  REST change to its event at each client, {title:<21} p50 {fmt(p['p50']):>6} ms  "
                         f"p99 {fmt(p['p99']):>6} ms  max {fmt(p['max']):>6} ms  (n={p['n']:,})")
    spread_, rest, cpu = h["first_to_last_ms"], h["rest_call_ms"], h["fleet_cpu_ms"]
    if spread_ and rest and cpu:
        lines.append(f"  per event, first client to last: p50 {fmt(spread_['p50'])} ms, max {fmt(spread_['max'])} ms;"
                     f" the REST call itself p50 {fmt(rest['p50'])} ms, max {fmt(rest['max'])} ms;"
                     f" the fleet's CPU time p50 {fmt(cpu['p50'])} ms, max {fmt(cpu['max'])} ms")
    lines.append(f"  connecting them: {mmm(h['connect_s'])} s; missing events {h['missing']}; "
                 f"open at the end {h['still_open_at_end']}, closed early {h['closed_early']}; "
                 f"the server listed {h['server_saw_during_load']} connections after the load")
    head = f"| {'scenario':<22} | {'with':<18} | {'req/s':<26} | {'p50 ms':<20} | {'p99 ms':<20} | non-2xx (all rounds) |"
    lines += ["", head, "|" + "|".join("-" * len(c) for c in head.split("|")[1:-1]) + "|"]
    for scenario in ("get", "post"):
        for name, scenarios in h["runs"].items():
            s = scenarios[scenario]
            lines.append(f"| {SCENARIO_TITLES[scenario]:<22} | {name:<18} | {mmm(s.get('rps')):<26} "
                         f"| {mmm(s.get('p50_ms')):<20} | {mmm(s.get('p99_ms')):<20} "
                         f"| {sum(r['non2xx'] for r in s['rounds']):>20} |")
    for key, r in h["ratios"].items():
        lines.append(f"  with / without hub clients, {key.split()[0]:<4} req/s x{mmm(r['rps'], 2):<20} "
                     f"p99 x{mmm(r['p99'], 2)}")
    return lines


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke mode: 1 round of a few seconds, installs nothing, skips absent peers")
    parser.add_argument("--servers", action="store_true", help="run the serving-stack comparison too")
    parser.add_argument("--servers-only", action="store_true", help="run only the serving-stack comparison")
    parser.add_argument("--no-peers", action="store_true", help="measure mockchats and the floor only")
    parser.add_argument("--no-hubs", action="store_true", help="leave out the session hub part")
    parser.add_argument("--hubs-only", action="store_true", help="run only the session hub part")
    parser.add_argument("--no-inprocess", action="store_true",
                        help="leave out the in-process / loopback / static stub comparison of one call")
    parser.add_argument("--no-journal", action="store_true",
                        help="leave out the cost of the journal's full entries (headers and answers)")
    parser.add_argument("--hub-clients", type=int,
                        help=f"WebSocket clients on the session hub (default {HUB_CLIENTS}; quick {HUB_CLIENTS_QUICK})")
    parser.add_argument("--hub-events", type=int,
                        help=f"joins (each then left) per round (default {HUB_EVENTS}; quick {HUB_EVENTS_QUICK})")
    parser.add_argument("--rounds", type=int, help="rounds (default 3; quick 1)")
    parser.add_argument("--duration", type=float, help="seconds per load run (default 10; quick 1)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds per server and scenario (default 2; quick 0)")
    parser.add_argument("--messages", type=int, help="messages of the big session (default 100000; quick 10000)")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--against", metavar="REF",
                        help=f"also run the app as it was at git ref REF, in at least {AGAINST_ROUNDS} rounds, "
                             "and give this tree's req/s over REF's round by round")
    parser.add_argument("--out", type=Path, help="JSON file to write (default bench/results/bench-<time>.json)")
    parser.add_argument("--readme", type=Path,
                        help="where to write the README text (default /tmp/readme-bench.md; quick: none)")
    args = parser.parse_args(argv)

    quick = args.quick
    rounds = round_count(args)
    duration = args.duration or (1.0 if quick else 10.0)
    warmup = args.warmup if args.warmup is not None else (0.0 if quick else 2.0)
    big = args.messages or (10_000 if quick else 100_000)
    install = not quick
    run_main = not args.servers_only and not args.hubs_only
    run_servers = (args.servers or args.servers_only or not quick) and not args.hubs_only
    run_hubs = not args.no_hubs and not args.servers_only
    run_inprocess = not args.no_inprocess and not args.servers_only and not args.hubs_only
    run_journal = not args.no_journal and not args.servers_only and not args.hubs_only
    hub_clients = args.hub_clients or (HUB_CLIENTS_QUICK if quick else HUB_CLIENTS)
    hub_events = args.hub_events or (HUB_EVENTS_QUICK if quick else HUB_EVENTS)
    readme = args.readme or (None if quick or args.hubs_only else Path("/tmp/readme-bench.md"))
    started_at = datetime.now(UTC)
    command = ("make bench" + (" QUICK=1" if quick else "") + (" SERVERS=1" if args.servers_only else "")
               + (" BENCH_ARGS=--hubs-only" if args.hubs_only else "")
               + (f" AGAINST={args.against}" if args.against else ""))
    if argv is None and len(sys.argv) > 1:
        command += f"  ({Path(sys.argv[0]).name} {' '.join(sys.argv[1:])})"

    notes: list[str] = []
    wrk, wrk_status = (None, "not used (--loadgen python)") if args.loadgen == "python" else find_wrk(install)
    if args.loadgen == "wrk" and not wrk:
        log(f"wrk: {wrk_status}")
        return 2
    if args.against and args.servers_only:
        log("--against measures the main run: it does not go with --servers-only")
        return 2
    if args.against and args.rounds and args.rounds < AGAINST_ROUNDS:
        notes.append(f"--rounds {args.rounds} raised to {AGAINST_ROUNDS}: --against takes the median of "
                     f"per-round ratios")
    if not wrk and args.loadgen != "python":
        notes.append(f"wrk {wrk_status}; load came from bench/loadgen.py (figures not comparable to wrk's)")
    load = Load(wrk, duration)
    facts = machine_facts(wrk)
    log(f"mockchats bench{' (quick)' if quick else ''}: {facts['cores']} cores, {facts['cpu']}, "
        f"load average {facts['loadavg_at_start'][0]:.2f}")
    log(f"load: {load.name}, {duration:g} s per run, {rounds} round(s) interleaved, warm-up {warmup:g} s")

    logdir = Path(tempfile.mkdtemp(prefix="mockchats-bench-"))
    result: dict = {"date": started_at.isoformat(timespec="seconds"), "command": command, "quick": quick,
                    "machine": facts, "load": {"generator": load.name, "wrk": wrk_status, "duration_s": duration,
                                               "rounds": rounds, "warmup_s": warmup,
                                               "connections": CONNECTIONS, "threads": WRK_THREADS},
                    "notes": notes}
    processes: list[Served] = []
    try:
        if run_main:
            try:
                main_run(result, load, rounds, warmup, big, quick, install, args.no_peers, logdir, processes, notes,
                         against=args.against)
            except AgainstError as exc:
                log(f"--against {args.against}: {exc}")
                return 2
        if run_servers:
            result["wsgi_servers"] = servers_section(load, rounds, logdir, install or args.servers
                                                     or args.servers_only)
        if run_hubs:
            result["hubs"] = hubs_section(load, rounds, warmup, hub_clients, hub_events, logdir)
        if run_inprocess:
            import inprocess  # the interception libraries, only when this part runs

            log("in-process, loopback HTTP and static stub, one call at a time")
            result["inprocess"] = inprocess.measure(**(INPROCESS_QUICK if quick else INPROCESS_FULL))
        if run_journal:
            import journal

            log("journal entries with and without the request's headers and the answer")
            result["journal"] = journal.measure(**(JOURNAL_QUICK if quick else JOURNAL_FULL))
    finally:
        for p in processes:
            p.stop()
    facts["packages"] = package_versions()  # what this run installed is known now
    result["goals"] = (goals(result) if run_main else []) + hub_goals(result) + inprocess_goals(result)
    table = render(result)
    log("\n" + table)
    RESULTS.mkdir(exist_ok=True)
    out = args.out or RESULTS / f"bench-{started_at.strftime('%Y%m%d-%H%M%S')}{'-quick' if quick else ''}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    log(f"figures written to {out}")
    if readme:
        readme.write_text(readme_text(result, table), encoding="utf-8")
        log(f"README text written to {readme}")
    shutil.rmtree(logdir, ignore_errors=True)
    return 0


def round_count(args: argparse.Namespace) -> int:
    """Rounds to run: --rounds, else 3 (quick: 1); with --against, at least AGAINST_ROUNDS."""
    rounds = args.rounds or (1 if args.quick else 3)
    return max(rounds, AGAINST_ROUNDS) if args.against else rounds


def against_name(ref: str, commit: str) -> str:
    return f"mockchats@{ref if len(ref) <= 12 else commit[:10]}"


def main_run(result: dict, load: Load, rounds: int, warmup: float, big: int, quick: bool, install: bool,
             no_peers: bool, logdir: Path, processes: list, notes: list, against: str | None = None) -> None:
    log("\n== mockchats serve: time to first answer ==")
    startup = time_to_first_answer(1 if quick else 5, logdir)
    log("  " + ", ".join(f"{s * 1000:.0f} ms" for s in startup))

    log("\n== starting the servers ==")
    mock = start_mockchats("mockchats", logdir)
    processes.append(mock)
    startup.append(mock.first_answer_s)
    result["startup_s"] = spread(startup)
    payloads = capture_payloads(mock)
    payload_file = logdir / "payloads.json"
    payload_file.write_text(json.dumps(payloads), encoding="utf-8")
    log(f"  mockchats serve         pid {mock.pid}, first answer after {mock.first_answer_s * 1000:.0f} ms")

    port = free_port()
    floor = Served("floor", [sys.executable, str(BENCH / "floor.py"), str(port), str(payload_file)], port=port,
                   base="/v1", ready_path=LIST, logdir=logdir)
    processes.append(floor)
    log(f"  floor (Flask+granian)   pid {floor.pid}")
    targets = [Target("mockchats", mock, ["get", "post", "flow"], mockchats_reset(mock), gc_logged=True),
               Target("floor", floor, ["get", "post", "flow"])]
    if against:
        tree = logdir / "against"
        commit = checkout_ref(against, tree)
        name = against_name(against, commit)
        module = ref_module_file(tree)
        ref_mock = start_ref(name, tree, logdir)
        processes.append(ref_mock)
        result["against"] = {"ref": against, "commit": commit, "name": name, "module": module}
        log(f"  {name:<23} pid {ref_mock.pid}, first answer after {ref_mock.first_answer_s * 1000:.0f} ms "
            f"(commit {commit[:12]}, run from {module})")
        targets.insert(1, Target(name, ref_mock, ["get", "post", "flow"], mockchats_reset(ref_mock)))

    peers_status = "skipped (--no-peers)" if no_peers else install_peers() if install else (
        "present" if prism_bin() and wiremock_jar() else "not installed (the smoke mode installs nothing)")
    result["peers"] = {"install": peers_status}
    if not no_peers:
        prism = prism_bin()
        if prism and shutil.which("node"):
            spec = prism_spec(payloads, logdir)
            for name, verbosity in (("prism", []), ("prism -v error", ["-v", "error"])):
                port = free_port()
                try:
                    served = Served(name, [str(prism), "mock", "-h", "127.0.0.1", "-p", str(port), *verbosity,
                                           str(spec)], port=port, base="", ready_path=LIST, logdir=logdir)
                except RuntimeError as exc:
                    result["peers"][name] = f"failed to start: {exc}"
                    log(f"  {name}: {result['peers'][name]}")
                    continue
                processes.append(served)
                result["peers"][name] = "ok"
                log(f"  {name:<23} pid {served.pid}, first answer after {served.first_answer_s * 1000:.0f} ms")
                targets.append(Target(name, served, ["get", "post"]))
        else:
            result["peers"]["prism"] = result["peers"]["prism -v error"] = "skipped: not installed"
            log("  prism: skipped, not installed (npm install @stoplight/prism-cli into bench/.peers)")
        jar = wiremock_jar()
        if jar and shutil.which("java"):
            port = free_port()
            root = wiremock_root(payloads, logdir)
            try:
                served = Served("wiremock", ["java", "-jar", str(jar), "--port", str(port), "--bind-address",
                                             "127.0.0.1", "--root-dir", str(root), "--disable-banner"],
                                port=port, base="/v1", ready_path=LIST, logdir=logdir, stop_signal=signal.SIGTERM)
                processes.append(served)
                result["peers"]["wiremock"] = "ok"
                log(f"  wiremock                pid {served.pid}, first answer after {served.first_answer_s * 1000:.0f} ms")
                targets.append(Target("wiremock", served, ["get", "post"], wiremock_reset(served)))
            except RuntimeError as exc:
                result["peers"]["wiremock"] = f"failed to start: {exc}"
                log(f"  wiremock: {result['peers']['wiremock']}")
        else:
            result["peers"]["wiremock"] = "skipped: " + ("not installed" if not jar else "java not found")
            log(f"  wiremock: {result['peers']['wiremock']}")
    if any(t.name.startswith(("prism", "wiremock")) for t in targets):
        notes.append("the partner flow runs on the mockchats servers and the floor only: Prism and WireMock (as "
                     "configured here) keep no state, so a created message cannot be reacted to or deleted")
    result["same_payload"] = {t.name: same_payload(t.served.base, LIST, payloads["list"]) for t in targets}

    big_mock = start_mockchats(f"mockchats {big // 1000}k", logdir, "--messages", str(big))
    processes.append(big_mock)
    result["big"] = {"messages": big + 24, "first_answer_s": big_mock.first_answer_s,
                     "rss_at_start_mib": big_mock.rss_mib()}
    log(f"  mockchats --messages {big}  pid {big_mock.pid}, first answer after {big_mock.first_answer_s:.2f} s, "
        f"RSS {result['big']['rss_at_start_mib']:.0f} MiB")
    big_target = Target(f"mockchats {big // 1000}k", big_mock, ["sorted"], mockchats_reset(big_mock), gc_logged=True)

    def journal_figures(target: Target, scenario: str):
        if scenario != "sorted":
            return None
        server_side = server_side_durations(target.served)
        return {"server_p50_ms": server_side and server_side["p50"], "server_p99_ms": server_side and server_side["p99"]}

    log(f"\n== load: {load.name}, {rounds} round(s) ==")
    runs = run_rounds(targets + [big_target], load, rounds, warmup, extra=journal_figures)
    result["runs"] = summarize(runs)
    peers = [t.name for t in targets if t.name not in ("mockchats", "floor")]  # the --against app too
    result["ratios"] = ratios(runs, "mockchats", ["floor", *peers], ["get", "post", "flow"])
    result["rss_after_load_mib"] = {t.name: t.served.rss_mib() for t in targets + [big_target]}
    result["big"]["rss_after_load_mib"] = big_mock.rss_mib()
    result["big"]["pss_after_load_mib"] = big_mock.pss_mib()
    # The listing's own cost, without the queueing that 16 connections on 8 threads add to it.
    fetch("POST", big_mock.root + "/_mock/reset")
    for _ in range(10 if quick else 50):
        fetch("GET", big_mock.base + SORTED, headers=HOST_AUTH)
    result["big"]["sorted_one_at_a_time_server_ms"] = server_side_durations(big_mock)

    log("\n== POST /_mock/reset latency (client side, keep-alive) ==")
    result["reset_http_ms"] = {"default": reset_latency(mock.root, 50 if quick else 500),
                               f"{big // 1000}k": reset_latency(big_mock.root, 5 if quick else 30)}
    for name, r in result["reset_http_ms"].items():
        log(f"  {name:<8} p50 {fmt(r['p50'])} ms  p99 {fmt(r['p99'])} ms  (n={r['n']})")
    log("\n== pytest plugin ==")
    result["plugin"] = plugin_figures(1 if quick else 5, 50 if quick else 300)
    log(f"  plugin: {result['plugin']['plugin']}; start {mmm(result['plugin']['start_ms'])} ms, "
        f"Control.reset() p50 {fmt(result['plugin']['control_reset_ms']['p50'])} ms")


# -- goals, table, README ------------------------------------------------------------------

def goals(result: dict) -> list[dict]:
    out = []
    ratios_ = result.get("ratios", {})
    runs = result.get("runs", {})

    def add(goal: str, measured: str, met):
        out.append({"goal": goal, "measured": measured, "met": met})

    for scenario in ("get", "post"):
        title = SCENARIO_TITLES[scenario].split(" ", 1)[0]
        r = ratios_.get(f"{scenario} vs prism")
        add(f"{title} req/s at least 2x Prism (as users run it)",
            f"x{mmm(r['rps'], 2)} (min / median / max over rounds)" if r else "Prism not measured",
            r["rps"]["median"] >= 2 if r else None)
        r = ratios_.get(f"{scenario} vs prism -v error")
        add(f"{title} req/s more than Prism -v error",
            f"x{mmm(r['rps'], 2)}" if r else "Prism not measured",
            r["rps"]["median"] > 1 if r else None)
        mine = runs.get("mockchats", {}).get(scenario, {}).get("p99_ms")
        theirs = runs.get("prism", {}).get(scenario, {}).get("p99_ms")
        add(f"{title} p99 no higher than Prism's",
            f"{fmt(mine['median'])} ms vs {fmt(theirs['median'])} ms (medians)" if mine and theirs else "Prism not measured",
            mine["median"] <= theirs["median"] if mine and theirs else None)
    mine = runs.get("mockchats", {}).get("post", {})
    theirs = runs.get("prism -v error", {}).get("post", {}).get("p99_ms")
    if mine.get("p99_ms") and theirs:
        created = mine["requests"]["median"] if mine.get("requests") else None
        pauses = (f"; the worker's longest GC pause {mmm(mine['gc_longest_ms'])} ms, "
                  f"{int(mine['gc_full']['max'])} full collection(s) in a run" if mine.get("gc_longest_ms") else "")
        add("POST p99 under sustained creation no higher than Prism -v error's",
            f"{fmt(mine['p99_ms']['median'])} ms vs {fmt(theirs['median'])} ms (medians; "
            f"{result['load']['duration_s']:g} s of creates, {fmt(created)} messages a run){pauses}",
            mine["p99_ms"]["median"] <= theirs["median"])
    else:
        add("POST p99 under sustained creation no higher than Prism -v error's", "Prism not measured", None)
    against = result.get("against")
    if against:
        for scenario in ("get", "post", "flow"):
            r = ratios_.get(f"{scenario} vs {against['name']}")
            title = {"get": "GET", "post": "POST", "flow": "partner flow"}[scenario]
            add(f"{title} req/s at least 0.95x the app at {against['ref']} ({against['commit'][:10]})",
                f"x{mmm(r['rps'], 2)} (min / median / max of {r['rps']['n']} per-round ratios)" if r else "not measured",
                r["rps"]["median"] >= 0.95 if r else None)
    big = result.get("big", {})
    label = f"{big.get('messages', 0) // 1000}k"
    sorted_runs = next((v["sorted"] for k, v in runs.items() if "sorted" in v), {})
    loaded = sorted_runs.get("server_p50_ms")
    alone = big.get("sorted_one_at_a_time_server_ms")
    add(f"sorted listing on {label} messages under 5 ms p50, server side",
        (f"{fmt(alone['p50'])} ms one request at a time (journal durationMs); under load "
         f"{fmt(loaded['median']) if loaded else '-'} ms") if alone else "not measured",
        alone["p50"] < 5 if alone else None)
    reset = result.get("reset_http_ms", {}).get("default")
    add("POST /_mock/reset of the default fixtures under 1 ms p50",
        f"{fmt(reset['p50'])} ms (client side, HTTP included)" if reset else "not measured",
        reset["p50"] < 1 if reset else None)
    startup = result.get("startup_s")
    add("`mockchats serve` answering within 0.5 s of start",
        f"{fmt(startup['median'] * 1000)} ms median ({fmt(startup['min'] * 1000)}-{fmt(startup['max'] * 1000)})"
        if startup else "not measured",
        startup["median"] <= 0.5 if startup else None)
    rss, pss = big.get("rss_after_load_mib"), big.get("pss_after_load_mib")
    add(f"RSS under 300 MiB at {label} messages",
        f"{fmt(rss)} MiB after load (serve's parent and worker added up; PSS {fmt(pss)} MiB, "
        f"their shared pages counted once)" if rss else "not measured",
        rss < 300 if rss else None)
    return out


def render(result: dict) -> str:
    lines = []
    facts = result["machine"]
    lines.append(f"mockchats bench, {result['date']}: {facts['cores']} cores ({facts['cpu']}), "
                 f"Python {facts['python']}, load: {result['load']['generator']}, "
                 f"{result['load']['duration_s']:g} s x {result['load']['rounds']} round(s)")
    lines.append("figures: min / median / max over the rounds")
    if "runs" in result:
        width = max(16, *(len(name) for name in result["runs"]))
        head = (f"| {'scenario':<46} | {'server':<{width}} | {'req/s':<26} | {'p50 ms':<20} | {'p99 ms':<20} "
                f"| non-2xx (all rounds) |")
        lines += ["", head, "|" + "|".join("-" * (len(c) + 0) for c in head.split("|")[1:-1]) + "|"]
        for scenario in ("get", "post", "flow", "sorted"):
            for name, scenarios in result["runs"].items():
                s = scenarios.get(scenario)
                if not s:
                    continue
                title = SCENARIO_TITLES[scenario]
                if scenario == "sorted":
                    title = f"GET ?SortBy=:thumbs_up:&Take=20, {result['big']['messages']:,} msgs"
                if scenario == "flow":
                    title = "partner flow (5 calls)"
                lines.append(f"| {title:<46} | {name:<{width}} | {mmm(s.get('rps')):<26} | {mmm(s.get('p50_ms')):<20} "
                             f"| {mmm(s.get('p99_ms')):<20} | {sum(r['non2xx'] for r in s['rounds']):>20} |")
        if result.get("ratios"):
            lines += ["", "mockchats / other, round by round (req/s ratio; p99 ratio, lower is better):"]
            for key, r in result["ratios"].items():
                lines.append(f"  {key:<28} req/s x{mmm(r['rps'], 2):<20} p99 x{mmm(r['p99'], 2)}")
        lines.append("")
        for name, scenarios in result["runs"].items():
            logged = {k: v for k, v in scenarios.items() if v.get("gc_longest_ms")}
            if logged:
                lines.append(f"GC in the {name} worker, per run: longest pause (ms) "
                             + ", ".join(f"{k} {mmm(v['gc_longest_ms'])}" for k, v in logged.items())
                             + "; collections " + ", ".join(f"{k} {mmm(v['gc_collections'], 0)}" for k, v in logged.items())
                             + f"; full ones {sum(r.get('gc_full', 0) for v in logged.values() for r in v['rounds'])}")
        if result.get("against"):
            a = result["against"]
            lines.append(f"{a['name']}: the app at {a['ref']} (commit {a['commit'][:12]}), run from a `git archive` "
                         f"of it with this venv's Python and packages")
        sorted_runs = next((v["sorted"] for v in result["runs"].values() if "sorted" in v), {})
        alone = result["big"].get("sorted_one_at_a_time_server_ms") or {}
        lines.append(f"sorted listing, server side (journal durationMs): under load p50 "
                     f"{mmm(sorted_runs.get('server_p50_ms'))} ms, p99 {mmm(sorted_runs.get('server_p99_ms'))} ms;"
                     f" one request at a time p50 {fmt(alone.get('p50'))} ms, p99 {fmt(alone.get('p99'))} ms")
        st = result["startup_s"]
        lines.append(f"`mockchats serve` time to first answer: {mmm({k: v * 1000 if k != 'n' else v for k, v in st.items()})} ms"
                     f" (n={st['n']}); with {result['big']['messages']:,} messages: {result['big']['first_answer_s']:.2f} s")
        for name, r in result["reset_http_ms"].items():
            lines.append(f"POST /_mock/reset ({name}): p50 {fmt(r['p50'])} ms, p99 {fmt(r['p99'])} ms (n={r['n']})")
        p = result["plugin"]
        if p.get("fixtures"):
            f = p["fixtures"]
            lines.append(f"pytest plugin fixtures: mockchats_server start {fmt(f['server_start_ms'])} ms; "
                         f"per-test reset (mockchats fixture) p50 {fmt(f['per_test_reset_ms']['p50'])} / "
                         f"p99 {fmt(f['per_test_reset_ms']['p99'])} ms (n={f['per_test_reset_ms']['n']})")
        lines.append(f"plugin: {p['plugin']}; build()+Server().start() {mmm(p['start_ms'])} ms; "
                     f"Control.reset() p50 {fmt(p['control_reset_ms']['p50'])} / p99 {fmt(p['control_reset_ms']['p99'])} ms; "
                     f"Mock.reset() in process p50 {fmt(p['in_process_reset_ms']['p50'])} ms")
        rss = ", ".join(f"{k} {v:.0f}" for k, v in result["rss_after_load_mib"].items())
        lines.append(f"RSS after load (MiB): {rss}")
        lines.append(f"RSS at {result['big']['messages']:,} messages: {result['big']['rss_at_start_mib']:.0f} MiB at start,"
                     f" {result['big']['rss_after_load_mib']:.0f} MiB after load"
                     f" (PSS {result['big'].get('pss_after_load_mib', 0):.0f} MiB)")
        lines.append("same 20-message payload: " + ", ".join(f"{k} {'yes' if v else 'NO' if v is False else '?'}"
                                                            for k, v in result["same_payload"].items()))
        lines.append("peers: " + "; ".join(f"{k}: {v}" for k, v in result["peers"].items()))
    if "wsgi_servers" in result:
        w = result["wsgi_servers"]
        lines += ["", "servers serving the mockchats app (1 process holds the state; req/s, p99 ms):"]
        for name in WSGI_SERVERS:
            s = w["results"].get(name)
            if not s:
                lines.append(f"  {name:<15} {w['status'].get(name)}")
                continue
            lines.append(f"  {name:<15} {w['versions'].get(name) or '':<8} GET req/s {mmm(s['get']['rps']):<24} "
                         f"p99 {mmm(s['get']['p99_ms']):<20} POST req/s {mmm(s['post']['rps']):<24} "
                         f"p99 {mmm(s['post']['p99_ms'])}")
    if "hubs" in result:
        lines += render_hubs(result["hubs"])
    if "inprocess" in result:
        import inprocess

        lines += inprocess.render(result["inprocess"])
    if "journal" in result:
        import journal

        lines += journal.render(result["journal"])
    if result.get("goals"):
        lines += ["", "goals:"]
        for g in result["goals"]:
            mark = {True: "met", False: "NOT met", None: "not measured"}[g["met"]]
            if g["met"] is None and "not judged" in g["measured"]:
                mark = "not judged"
            lines.append(f"  [{mark}] {g['goal']}: {g['measured']}")
    for note in result["notes"]:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def readme_text(result: dict, table: str) -> str:
    facts = result["machine"]
    pk = facts["packages"]
    versions = ", ".join(f"{k} {v}" for k, v in pk.items() if v)
    goals_md = "\n".join(f"- {'✅' if g['met'] else '❌' if g['met'] is False else '➖'} {g['goal']}: {g['measured']}"
                         for g in result.get("goals", []))
    return f"""## Performance

`make bench` starts, one after another on loopback, `mockchats serve` (default fixtures, seed 0),
a bare Flask app on the same server (granian, through `mockchats.serving.asgi`) answering a fixed copy of the same
listing (the floor any Python mock pays), Stoplight Prism mocking `openapi/chats.yaml` with the same
20-message page as its example (as users run it, and with `-v error`), and WireMock with stubs for
the same calls; and loads each in turn with `{result['load']['generator']}` (keep-alive,
{result['load']['duration_s']:g} s per run, {result['load']['rounds']} rounds interleaved across the servers). Peers are
installed into `bench/.peers/` (git-ignored); figures go to `bench/results/`. `make bench QUICK=1`
is the smoke run the test suite uses; `make bench SERVERS=1` compares the serving stacks only.
`make bench AGAINST=<git ref>` adds the app as it was at that ref (a `git archive` of it, run with
this venv's packages) to the same run, in at least {AGAINST_ROUNDS} interleaved rounds, and gives this
tree's req/s over the ref's, round by round. The mockchats servers run with `MOCKCHATS_GC_LOG=1`
(their worker writes each garbage collection and its pause on stderr), so the output gives the
longest pause of each run. Last, 1,000 WebSocket clients (`bench/hubs.py`, one process) join the
default session's hub on one more `mockchats serve`; the bench times the event of each join and
leave at every client, from just before the REST call, and loads GET and POST with the clients
connected and without, in interleaved rounds (`make bench BENCH_ARGS=--hubs-only`: that part alone).
In the bench's own process, `bench/inprocess.py` times one call in-process, over loopback and with a
static stub, and `bench/journal.py` what the journal's full entries (the request's headers and the
answer) cost: the app called as `mockchats serve` calls it, with them and without, in many short
interleaved rounds.

Latest run: {result['date'][:10]}, `{result['command']}`, on {facts['cores']} cores ({facts['cpu']}),
{facts['os']}, a shared machine (load average {facts['loadavg_at_start'][0]:.2f} at start: figures are noisy,
the ratios taken round by round mean more than the raw numbers). Python {facts['python']},
Node {facts['node']}, {facts['java']}, {facts['wrk']}; {versions}.

```
{table}
```

Goals:

{goals_md}
"""


if __name__ == "__main__":
    sys.exit(main())
