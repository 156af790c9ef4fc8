"""docker/stack.yaml on a one-node Docker Swarm (docs/DEPLOY.md): deploy, two edge replicas behind
the stack's HAProxy, miners scaled 1 -> 3 -> 1, a rolling update of the edge under a client loop
with zero failed requests and zero lost acknowledged transactions, and a killed edge task rescheduled.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import ARTIFACTS, REPO, cairn_bin, eventually, port_block, http, log, make_wallet, wallet_send

STACK = "cairnswarm"


class SwarmStack:
    def __init__(self, engine):
        self.engine = engine
        self.dir = tempfile.mkdtemp(prefix="cairn-swarm-")
        self.keys = os.path.join(self.dir, "bus-keys")
        r = subprocess.run([cairn_bin(), "keygen", "--out", self.keys], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        self.keystore, self.address = make_wallet(self.dir)
        _, self.other = make_wallet(tempfile.mkdtemp(dir=self.dir))
        base = port_block("ContainerSwarm")
        self.edge = f"http://127.0.0.1:{base}"
        self.env = dict(CAIRN_MINER_ADDRESS=self.address, CAIRN_BUS_KEYS_DIR=self.keys, CAIRN_HTTP_PORT=str(base),
                        CAIRN_WALLET_PORT=str(base + 1), CAIRN_PEER_PORT=str(base + 2), CAIRN_EDGE_URL=self.edge)

    def replicas(self):
        out = self.engine.out("service", "ls", "--filter", f"label=com.docker.stack.namespace={STACK}",
                              "--format", "{{.Name}} {{.Replicas}}")
        return dict(line.split(" ", 1) for line in out.splitlines() if line)

    def converged(self, service=None, want=None):
        reps = self.replicas()
        if service:
            return reps.get(f"{STACK}_{service}") == f"{want}/{want}"
        return reps and all(v.split("/")[0] == v.split("/")[1] and v.split("/")[1] != "0" for v in reps.values())

    def tasks(self, service):
        out = self.engine.out("ps", "--filter", f"label=com.docker.swarm.service.name={STACK}_{service}", "--format", "{{.ID}}")
        return [c for c in out.split() if c]

    def height(self):
        status, body, _ = http(self.edge + "/api/blocks/tip/height", timeout=3)
        return int(body) if status == 200 else -1


@pytest.fixture(scope="module")
def swarm(engine, cairn_image, base_image):
    started = time.monotonic()
    engine.run("build", "-f", str(REPO / "docker/lb/Dockerfile"), "-t", "cairn-lb:latest", str(REPO / "docker/lb"), timeout=900)
    if engine.out("info", "--format", "{{.Swarm.LocalNodeState}}") != "active":
        engine.run("swarm", "init", "--advertise-addr", "127.0.0.1")
        engine.swarm_started = True
    node = engine.out("info", "--format", "{{.Swarm.NodeID}}")
    engine.run("node", "update", "--label-add", "cairn.chain=true", node)
    s = SwarmStack(engine)
    engine.run("stack", "deploy", "-c", str(REPO / "docker/stack.yaml"), "--resolve-image", "never", STACK, env=s.env)
    yield s
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for service in ("chainstore", "mempool", "edge", "lb", "miner"):
        r = engine.run("service", "logs", "--no-task-ids", f"{STACK}_{service}", check=False, timeout=60)
        (ARTIFACTS / f"swarm-{service}.log").write_text(r.stdout + r.stderr)
    engine.run("stack", "rm", STACK, check=False)
    eventually("the stack's containers gone", lambda: not engine.out(
        "ps", "-a", "--filter", f"label=com.docker.stack.namespace={STACK}", "-q"), timeout=120)
    for volume in ("chain-data", "mempool-data", "peer-data"):
        engine.run("volume", "rm", f"{STACK}_{volume}", check=False)
    shutil.rmtree(s.dir, ignore_errors=True)
    log(f"swarm scenario took {time.monotonic() - started:.0f} s")


def test_deploy_converges_and_the_chain_grows(swarm):
    eventually("every service converged", swarm.converged, timeout=240, interval=2)
    assert swarm.replicas()[f"{STACK}_edge"] == "2/2"
    start = eventually("the load balancer answers", lambda: swarm.height() if swarm.height() >= 0 else None, timeout=120)
    eventually("the height grows", lambda: swarm.height() >= start + 3, timeout=120)


def test_both_edge_replicas_answer_through_the_load_balancer(swarm):
    def replicas_seen():
        seen = set()
        for _ in range(20):
            status, body, headers = http(swarm.edge + "/healthz", timeout=3)
            if status == 200:
                seen.add(headers.get("X-Cairn-Edge"))
        return seen if len(seen) >= 2 else None
    seen = eventually("two distinct replicas named by X-Cairn-Edge", replicas_seen, timeout=60)
    log("edge replicas answering:", sorted(seen))


def test_scale_miners_one_three_one(swarm):
    engine = swarm.engine
    engine.run("service", "scale", "--detach", f"{STACK}_miner=3")
    eventually("three miners running", lambda: swarm.converged("miner", 3), timeout=120, interval=1)
    eventually("three miners known to the node",
               lambda: len(http(swarm.edge + "/api/miners")[1] or []) >= 3, timeout=120, interval=1)
    engine.run("service", "scale", "--detach", f"{STACK}_miner=1")
    eventually("one miner running", lambda: swarm.converged("miner", 1), timeout=120, interval=1)
    assert len(swarm.tasks("miner")) == 1


def confirmed(swarm, txid):
    status, body, _ = http(f"{swarm.edge}/api/tx/{txid}/status", timeout=3)
    return status == 200 and body.get("confirmed")


def test_rolling_update_of_the_edge_fails_no_request_and_loses_no_transaction(swarm):
    # A mature coin first (coinbases mature after the network's maturity).
    def first():
        rc, text, txid = wallet_send(swarm.keystore, swarm.other, "0.1", swarm.edge)
        return txid if rc == 0 else None
    acknowledged = [eventually("a first acknowledged payment", first, timeout=240, interval=3)]
    reads, read_failures, send_failures = [0], [], []
    stop = threading.Event()

    def reader():
        while not stop.is_set():
            try:
                status, body, _ = http(swarm.edge + "/api/blocks/tip/height", timeout=5)
                if status != 200:
                    read_failures.append((status, body))
            except Exception as e:  # noqa: BLE001 - a transport failure is a failed request
                read_failures.append(repr(e))
            reads[0] += 1
            time.sleep(0.02)

    def sender():
        while not stop.is_set():
            rc, text, txid = wallet_send(swarm.keystore, swarm.other, "0.01", swarm.edge)
            if rc == 0 and txid:
                acknowledged.append(txid)
            else:
                send_failures.append(text[-500:])
            time.sleep(0.2)

    threads = [threading.Thread(target=reader), threading.Thread(target=sender)]
    for t in threads:
        t.start()
    time.sleep(3)
    before = set(swarm.tasks("edge"))
    started = time.monotonic()
    swarm.engine.run("service", "update", "--force", "--detach=false", f"{STACK}_edge", timeout=600)
    took = time.monotonic() - started
    time.sleep(3)
    stop.set()
    for t in threads:
        t.join()
    after = set(swarm.tasks("edge"))
    log(f"rolling update: {took:.0f} s, {reads[0]} reads ({len(read_failures)} failed), "
        f"{len(acknowledged)} payments acknowledged ({len(send_failures)} failed)")
    assert not (before & after), "every edge replica was replaced"
    assert not read_failures, read_failures[:5]
    assert not send_failures, send_failures[:3]
    for txid in acknowledged:
        eventually(f"acknowledged {txid[:12]} confirmed", lambda: confirmed(swarm, txid), timeout=120)


def test_a_killed_edge_task_is_rescheduled(swarm):
    victim = swarm.tasks("edge")[0]
    pid = int(swarm.engine.out("inspect", "-f", "{{.State.Pid}}", victim))
    log("SIGKILL edge task", victim, "host pid", pid)
    os.kill(pid, signal.SIGKILL)
    eventually("two edge replicas again, the killed one replaced",
               lambda: victim not in swarm.tasks("edge") and swarm.converged("edge", 2), timeout=120, interval=1)
    eventually("the load balancer answers", lambda: swarm.height() >= 0, timeout=60)
