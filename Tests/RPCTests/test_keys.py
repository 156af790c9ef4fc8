"""Hosted access across real processes: one `cairn-accounts` and two `cairn-edge` replicas sharing it.

- a key's limit holds across the two edges: the combined admitted rate, counted over a measured
  window, is within 10% of the key's limit (admissions are counted; nothing else is timed);
- a revocation reaches both edges at once (well before their 30 s cache would expire);
- a kill -9 of the accounts service loses no usage and counts none twice: once it is back, the
  usage it reports equals the requests the edges admitted.

The edges run without a chain store or mempool behind them (`/api/ping` needs neither). Offsets
from the KeyTests range of Tests/ports.json (the other suites use other ranges).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from rpcnode import BIN, eventually, port_offset

TOKEN = "keys-test-operator-token"
OP = {"Authorization": f"Bearer {TOKEN}"}


class KeyedEdges:
    def __init__(self):
        for name in ("cairn-accounts", "cairn-edge"):
            if not (BIN / name).exists():
                pytest.fail(f"{BIN / name} is missing: build first (swift build --build-tests)")
        self.dir = tempfile.mkdtemp(prefix="cairn-keys-")
        off = port_offset("KeyTests")
        self.accounts_args = ["--data", os.path.join(self.dir, "accounts"),
                              "--accounts-rpc", f"tcp://127.0.0.1:{28338 + off}", "--accounts-pub", f"tcp://127.0.0.1:{28330 + off}"]
        self.bus = ["--chain-rpc", f"tcp://127.0.0.1:{28331 + off}", "--chain-pub", f"tcp://127.0.0.1:{28332 + off}",
                    "--mempool-rpc", f"tcp://127.0.0.1:{28333 + off}", "--mempool-pub", f"tcp://127.0.0.1:{28334 + off}",
                    "--peer-rpc", f"tcp://127.0.0.1:{28335 + off}", "--peer-pub", f"tcp://127.0.0.1:{28337 + off}",
                    "--accounts-rpc", f"tcp://127.0.0.1:{28338 + off}", "--accounts-pub", f"tcp://127.0.0.1:{28330 + off}"]
        self.procs = {}
        self.start_accounts()
        self.edges = []
        for i, port in enumerate((8340 + off, 8341 + off)):
            self.spawn(f"edge{i}", [str(BIN / "cairn-edge"), "--data", os.path.join(self.dir, f"edge{i}"), "--http-port", str(port),
                                    "--rpc-token", TOKEN, "--no-rpc-cookie"] + self.bus)
            self.edges.append(f"http://127.0.0.1:{port}")
        for e in self.edges:
            eventually(f"the edge {e}", lambda e=e: requests.get(e + "/api/ping", timeout=5).status_code == 200, timeout=120)

    def spawn(self, name, argv):
        log = open(os.path.join(self.dir, f"{name}.log"), "a")
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def start_accounts(self):
        self.spawn("accounts", [str(BIN / "cairn-accounts")] + self.accounts_args)

    def kill_accounts(self):
        p = self.procs["accounts"]
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)

    def create_key(self, **limits):
        r = requests.post(self.edges[0] + "/api/operator/keys", json={"name": "test", **limits}, headers=OP, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()

    def usage(self, key_id):
        r = requests.get(self.edges[1] + "/api/operator/usage?since=0", headers=OP, timeout=30)
        assert r.status_code == 200, r.text
        rows = [h for h in r.json()["hours"] if h["key"] == key_id]
        return sum(h["requests"] for h in rows), sum(h["refused"] for h in rows)

    def logs(self):
        out = []
        for name in sorted(self.procs):
            with open(os.path.join(self.dir, f"{name}.log"), errors="replace") as f:
                out.append(f"--- {name}\n" + f.read()[-3000:])
        return "\n".join(out)

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def edges():
    e = KeyedEdges()
    yield e
    e.stop()


def load(urls, seconds, threads_per_url=4):
    """Requests as fast as the threads can send them; returns [(completion time, url index, status)]."""
    results, lock = [], threading.Lock()
    stop = time.monotonic() + seconds

    def worker(i):
        s = requests.Session()
        local = []
        while time.monotonic() < stop:
            try:
                r = s.get(urls[i], timeout=30)
                local.append((time.monotonic(), i, r.status_code))
            except requests.RequestException:
                local.append((time.monotonic(), i, 0))
        with lock:
            results.extend(local)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(urls)) for _ in range(threads_per_url)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_a_keys_limit_holds_across_two_edges(edges):
    limit = 20
    created = edges.create_key(rps=limit)
    key = created["key"]
    urls = [e + f"/v1/{key}/api/ping" for e in edges.edges]
    start = time.monotonic()
    results = load(urls, 16)
    # The first seconds spend the bucket's burst (one second's worth); measure after them.
    window = (start + 4, start + 14)
    admitted = [r for r in results if window[0] <= r[0] < window[1] and r[2] == 200]
    refused = [r for r in results if window[0] <= r[0] < window[1] and r[2] == 429]
    rate = len(admitted) / (window[1] - window[0])
    per_edge = [sum(1 for r in admitted if r[1] == i) for i in (0, 1)]
    print(f"\nlimit {limit}/s: admitted {rate:.1f}/s over {window[1] - window[0]:.0f} s (edges {per_edge}), refused {len(refused)}")
    assert refused, "the load must exceed the limit for the test to mean anything"
    assert abs(rate - limit) <= 0.10 * limit, (rate, per_edge, edges.logs())
    assert all(n > 0 for n in per_edge), per_edge
    assert not [r for r in results if r[2] not in (200, 429)], [r for r in results if r[2] not in (200, 429)][:5]


def test_revocation_reaches_both_edges_at_once(edges):
    created = edges.create_key()
    key, key_id = created["key"], created["info"]["id"]
    for e in edges.edges:
        assert requests.get(e + f"/v1/{key}/api/ping", timeout=10).status_code == 200
    r = requests.post(edges.edges[0] + f"/api/operator/keys/{key_id}/revoke", headers=OP, timeout=30)
    assert r.status_code == 200, r.text
    # Each edge cached the key for 30 s: refusing it within 5 s means the notice dropped it.
    for e in edges.edges:
        eventually(f"{e} refuses the revoked key",
                   lambda e=e: requests.get(e + f"/v1/{key}/api/ping", timeout=10).status_code == 401, timeout=5, interval=0.05)
        body = requests.get(e + f"/v1/{key}/api/ping", timeout=10).json()
        assert body["error"]["code"] == "invalid-api-key"


def test_a_kill_of_the_accounts_service_loses_and_doubles_no_usage(edges):
    created = edges.create_key(rps=1000)
    key, key_id = created["key"], created["info"]["id"]
    urls = [e + f"/v1/{key}/api/ping" for e in edges.edges]
    statuses = []

    def run(seconds):
        statuses.extend(r[2] for r in load(urls, seconds, threads_per_url=2))

    run(2)
    edges.kill_accounts()
    run(2)            # leases run out, reports wait: refused with 503, or admitted from tokens already leased
    edges.start_accounts()
    run(3)
    admitted = sum(1 for s in statuses if s == 200)
    refused = sum(1 for s in statuses if s in (429, 503))
    assert admitted > 0
    # Counted late (the edges report every second and resend what was not acknowledged), never twice.
    eventually("the usage of every admitted request", lambda: edges.usage(key_id)[0] >= admitted, timeout=30)
    time.sleep(3)     # any duplicate would arrive with the next reports
    requests_counted, refused_counted = edges.usage(key_id)
    print(f"\nadmitted {admitted}, refused {refused}; counted {requests_counted} requests, {refused_counted} refused")
    assert requests_counted == admitted, edges.logs()
    assert refused_counted <= refused


def test_the_cli_creates_lists_rotates_and_revokes_keys(edges):
    cli = [str(BIN / "cairn"), "keys"]
    common = ["--edge", edges.edges[0], "--rpc-token", TOKEN]
    made = subprocess.run(cli + ["create"] + common + ["--name", "cli app", "--rps", "5", "--daily", "1000",
                                                      "--origin", "https://app.example", "--method", "getblockcount"],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert key.startswith("ck_") and len(key) == 3 + 16 + 1 + 43, key
    key_id = key[3:19]
    listed = subprocess.run(cli + ["list"] + common, capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    line = next(l for l in listed.stdout.splitlines() if l.startswith(key_id))
    assert "cli app" in line and "5/s" in line and "1000/day" in line and "active" in line
    assert key[20:] not in listed.stdout, "the secret is never listed"
    # The key works on the other edge, within its allowlists.
    ok = requests.post(edges.edges[1] + f"/v1/{key}/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "getblockcount"},
                       headers={"Origin": "https://app.example"}, timeout=30)
    assert ok.status_code != 401 and ok.status_code != 403, ok.text
    assert ok.headers["RateLimit-Policy"] == '"burst";q=5;w=1, "daily";q=1000;w=86400'
    rotated = subprocess.run(cli + ["rotate"] + common + [key_id], capture_output=True, text=True, timeout=60)
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip()
    assert new_key[3:19] == key_id and new_key != key
    eventually("the old secret refused", lambda: requests.get(edges.edges[1] + f"/v1/{key}/api/ping", timeout=10).status_code == 401,
               timeout=5, interval=0.05)
    revoked = subprocess.run(cli + ["revoke"] + common + [new_key], capture_output=True, text=True, timeout=60)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in revoked.stdout
    # Without credentials: refused, with the edge's message.
    denied = subprocess.run(cli + ["list", "--edge", edges.edges[0], "--rpc-token", "wrong"], capture_output=True, text=True, timeout=60)
    assert denied.returncode != 0 and "401" in denied.stderr, denied.stderr
