"""What the Python test suites share (Tests/BrowserTests, Tests/RPCTests, Tests/ContainerTests):
one polling helper, one HTTP helper, the port table and the `cairn up` harness. Each suite puts
this folder on sys.path first."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CAIRN_BIN", REPO / ".build" / "debug"))
PORTS_FILE = REPO / "Tests" / "ports.json"


_next_slot = {}


def port_offset(suite):
    """A port offset (`cairn up --port-offset`) from `suite`'s range of Tests/ports.json, the one
    table the Swift suites read too: ranges never share a port. As Tests/TestSupport/Ports.swift
    does, a random first slot per test process, then one after the other, so two nodes of one run
    never draw the same offset (a node whose ports were taken would leave its harness talking to
    the other node)."""
    table = json.loads(PORTS_FILE.read_text())
    r = table["ranges"][suite]
    slots = (r["last"] - r["first"]) // table["step"] + 1
    slot = _next_slot.get(suite, random.randrange(0, slots))
    _next_slot[suite] = (slot + 1) % slots
    return r["first"] + table["step"] * slot


def port_block(suite, tries=50):
    """An offset of `suite`'s range of Tests/ports.json whose ports (offset + each of the range's
    `ports`) are free on 127.0.0.1 right now: for the suites whose ports another program publishes
    (the Docker engine), where a port taken by something outside the table fails the run."""
    table = json.loads(PORTS_FILE.read_text())
    r = table["ranges"][suite]
    for _ in range(tries):
        offset = port_offset(suite)
        ports = [offset + p for p in r.get("ports", table["servicePorts"])]
        if all(_free(p) for p in ports):
            return offset
    raise RuntimeError(f"no free block of ports in {suite}'s range of {PORTS_FILE}")


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def stop_process(proc, timeout=30, sig=signal.SIGTERM):
    """`sig` (SIGTERM), then SIGKILL if it has not exited after `timeout` seconds; reaped either way."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class CairnUp:
    """`cairn up` from the built binaries on a fresh folder (`data` inside `dir`, its output in
    `dir`/cairn-up.log) and an offset of `suite`'s range of Tests/ports.json."""

    def __init__(self, suite, prefix, args=(), binaries=("cairn",)):
        for name in binaries:
            if not (BIN / name).exists():
                pytest.fail(f"{BIN / name} is missing: build first (swift build --build-tests)")
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.data = os.path.join(self.dir, "data")
        self.offset = port_block(suite)
        self.edge = f"http://127.0.0.1:{8340 + self.offset}"
        self.wallet = f"http://127.0.0.1:{8341 + self.offset}"
        self.log = open(os.path.join(self.dir, "cairn-up.log"), "w")
        self.proc = subprocess.Popen(
            [str(BIN / "cairn"), "up", "--data", self.data, "--port-offset", str(self.offset), *args],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def ready(self, what, check, timeout=120):
        """Polls `check` as `eventually` does, once `cairn up` has said its own edge answers ("…
        node is up": it checks the edge's node id, as another node may answer on these ports), and
        fails at once if `cairn up` has exited (its ports taken, say)."""
        def mine():
            said = Path(self.dir, "cairn-up.log").read_text(errors="replace")
            if self.proc.poll() is not None:
                pytest.fail(f"cairn up exited ({self.proc.returncode}) before {what}:\n{said[-2000:]}\n{self.logs()}")
            return " node is up\n" in said and check()
        return eventually(what, mine, timeout=timeout)

    def logs(self):
        """The last 3,000 characters of each service's log."""
        out = []
        logdir = Path(self.data) / "logs"
        for f in sorted(logdir.glob("*.log")) if logdir.exists() else []:
            out.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def stop(self):
        """SIGTERM, then SIGKILL after 30 s; the folder stays (`remove`)."""
        stop_process(self.proc)
        self.log.close()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def eventually(what, check, timeout=60, interval=0.25):
    """Polls `check` until it returns a truthy value (returned) or the deadline passes (fails)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - a poll that fails is retried
            last = e
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def http_json(url, data=None, headers=None, timeout=5, method=None):
    """GET (or POST `data`: JSON for a dict or list, as is for bytes) and return (status, body, headers):
    the body parsed when it is a JSON object or array, else text; headers with a case-insensitive
    `get`. Never raises on an HTTP error status."""
    body = None
    if data is not None:
        body = data if isinstance(data, bytes) else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    if data is not None and not isinstance(data, bytes):
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, _parse(r.read()), r.headers
    except urllib.error.HTTPError as e:
        return e.code, _parse(e.read()), e.headers


def _parse(raw):
    if raw[:1] in (b"{", b"["):
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return raw.decode(errors="replace")
