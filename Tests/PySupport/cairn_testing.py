"""What the Python test suites share (Tests/BrowserTests, Tests/RPCTests, Tests/ContainerTests):
one polling helper, one HTTP helper and the port table. Each suite puts this folder on sys.path first."""
import json
import random
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


PORTS_FILE = Path(__file__).resolve().parents[1] / "ports.json"


def port_offset(suite):
    """A port offset (`cairn up --port-offset`) from `suite`'s range of Tests/ports.json, the one
    table the Swift suites read too: ranges never share a port."""
    table = json.loads(PORTS_FILE.read_text())
    r = table["ranges"][suite]
    return r["first"] + table["step"] * random.randrange(0, (r["last"] - r["first"]) // table["step"] + 1)


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
