"""docker/compose.yaml on a real engine, as a user runs it (README "With docker compose").

One stack for the module, its steps in order: up with every service healthy; three miners then a
fourth attached with `run`; the wallet front in Chromium talking to the edge; a CLI payment through
the published edge; the chain store and mempool SIGKILLed and brought back by the restart policy
with nothing acknowledged lost; `down` and `up` keeping chain and mempool; the bus refusing a
process without the keys; bad configuration stopping a container with one clear line.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import (ARTIFACTS, COMPOSE, REPO, eventually, port_block, http, log, make_wallet, wallet_send)

PROJECT = "cairntest"
COMPOSE_FILE = str(REPO / "docker" / "compose.yaml")


class ComposeStack:
    def __init__(self, engine, image):
        self.engine = engine
        self.dir = tempfile.mkdtemp(prefix="cairn-compose-")
        self.keystore, self.address = make_wallet(self.dir)
        _, self.other = make_wallet(tempfile.mkdtemp(dir=self.dir))
        base = port_block("ContainerCompose")
        self.http_port, self.wallet_port, self.peer_port = base, base + 1, base + 2
        self.edge = f"http://127.0.0.1:{self.http_port}"
        self.wallet = f"http://127.0.0.1:{self.wallet_port}"
        self.env = dict(engine.env, CAIRN_MINER_ADDRESS=self.address, CAIRN_HTTP_PORT=str(self.http_port),
                        CAIRN_WALLET_PORT=str(self.wallet_port), CAIRN_PEER_PORT=str(self.peer_port))

    def compose(self, *args, check=True, timeout=600, env=None):
        cmd = [COMPOSE, "-p", PROJECT, "-f", COMPOSE_FILE, *args]
        r = subprocess.run(cmd, env=dict(self.env, **(env or {})), capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        return r

    def containers(self, service):
        out = self.engine.out("ps", "-a", "--filter", f"label=com.docker.compose.project={PROJECT}",
                              "--filter", f"label=com.docker.compose.service={service}", "--format", "{{.ID}}")
        return [c for c in out.split() if c]

    def state(self, container):
        return self.engine.out("inspect", "-f", "{{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}",
                               container)

    def all_healthy(self):
        for service in ("chainstore", "mempool", "edge", "miner", "walletfront", "peerbridge"):
            ids = self.containers(service)
            if not ids or not all(self.state(c) == "running healthy" for c in ids):
                return False
        return True

    def height(self):
        status, body, _ = http(self.edge + "/api/blocks/tip/height")
        return int(body) if status == 200 else -1

    def host_pid(self, service):
        return int(self.engine.out("inspect", "-f", "{{.State.Pid}}", self.containers(service)[0]))

    def save_logs(self, name):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"compose-{name}.log").write_text(self.compose("logs", "--no-color", check=False).stdout)

    def down(self):
        self.save_logs("final")
        self.compose("down", "-v", "--remove-orphans", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def stack(engine, cairn_image):
    s = ComposeStack(engine, cairn_image)
    s.compose("down", "-v", "--remove-orphans", check=False)   # a stack left by an interrupted run
    started = time.monotonic()
    s.compose("up", "-d")
    yield s
    log(f"compose scenario took {time.monotonic() - started:.0f} s")
    s.down()


def test_up_every_service_healthy_and_the_chain_grows(stack):
    eventually("every service healthy", stack.all_healthy, timeout=180)
    keygen = stack.containers("keygen")
    assert keygen and stack.state(keygen[0]).startswith("exited"), "the keygen one-shot ran and exited"
    status, chain, headers = http(stack.edge + "/api/chain")
    assert status == 200 and chain["network"] == "regtest", chain
    start = stack.height()
    eventually("the height grows", lambda: stack.height() >= start + 3, timeout=120)


def test_scale_to_three_miners_then_attach_a_fourth(stack):
    stack.compose("up", "-d", "--scale", "miner=3")
    stack.compose("run", "-d", "--rm", "miner")
    eventually("four miner containers running",
               lambda: sum(stack.state(c).startswith("running") for c in stack.containers("miner")) == 4, timeout=120)
    ids = eventually("four miners listed by the edge",
                     lambda: (lambda m: {x["id"] for x in m} if len(m) >= 4 else None)(http(stack.edge + "/api/miners")[1]),
                     timeout=120)

    def coinbase_miners():
        found = set()
        tip = stack.height()
        for h in range(max(1, tip - 60), tip + 1):
            status, block_hash, _ = http(f"{stack.edge}/api/block-height/{h}")
            if status != 200:
                continue
            _, txs, _ = http(f"{stack.edge}/api/block/{block_hash}/txs/0")
            payload = txs[0]["vin"][0]["coinbase"]
            found.add(payload[8:24])   # height (4 bytes), then the miner's 8-byte id
        return ids <= found and found

    eventually("a coinbase from each of the four miners", coinbase_miners, timeout=240, interval=3)


def test_the_wallet_page_talks_to_the_edge(stack):
    status, config, _ = http(stack.wallet + "/config.json")
    assert status == 200 and config["edge"] == stack.edge, config
    # CORS: the published wallet origin is allowed, another origin is not.
    _, _, allowed = http(stack.edge + "/api/chain", headers={"Origin": stack.wallet})
    assert allowed.get("Access-Control-Allow-Origin") == stack.wallet, allowed
    _, _, other = http(stack.edge + "/api/chain", headers={"Origin": "http://evil.example"})
    assert other.get("Access-Control-Allow-Origin") in (None, ""), other
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                                    args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(stack.wallet + "/explorer.html")
        # The page's own code reads the edge from /config.json; fetch from the page's origin too.
        height = page.evaluate("async (edge) => (await (await fetch(edge + '/api/blocks/tip/height')).json())", stack.edge)
        assert int(height) > 0
        page.wait_for_function("document.body.innerText.includes('Latest blocks') || document.body.innerText.includes('Blocks')",
                               timeout=30_000)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "compose-explorer.png"))
        browser.close()
        assert not errors, errors


def confirmed(stack, txid):
    status, body, _ = http(f"{stack.edge}/api/tx/{txid}/status")
    return status == 200 and body.get("confirmed")


def known(stack, txid):
    return http(f"{stack.edge}/api/tx/{txid}")[0] == 200


def test_a_cli_payment_through_the_published_edge_is_confirmed(stack):
    # Coinbases mature after the network's maturity; the CLI skips immature ones.
    def sent():
        rc, text, txid = wallet_send(stack.keystore, stack.other, "1.25", stack.edge)
        return txid if rc == 0 else None
    txid = eventually("a mature coin to spend and the payment acknowledged", sent, timeout=180, interval=3)
    eventually("the payment confirmed", lambda: confirmed(stack, txid), timeout=120)
    status, body, _ = http(f"{stack.edge}/api/address/{stack.other}")
    assert status == 200 and body["chain_stats"]["funded_txo_sum"] >= 125_000_000, body


def test_killed_chain_store_and_mempool_come_back_and_nothing_acknowledged_is_lost(stack):
    acknowledged = []
    for _ in range(3):
        rc, text, txid = wallet_send(stack.keystore, stack.other, "0.5", stack.edge)
        assert rc == 0 and txid, text
        acknowledged.append(txid)
    for service in ("chainstore", "mempool"):
        container = stack.containers(service)[0]
        restarts = int(stack.engine.out("inspect", "-f", "{{.RestartCount}}", container))
        pid = stack.host_pid(service)
        log(f"SIGKILL {service} (host pid {pid})")
        os.kill(pid, signal.SIGKILL)
        eventually(f"{service} restarted by its restart policy",
                   lambda: int(stack.engine.out("inspect", "-f", "{{.RestartCount}}", container)) > restarts
                   and stack.state(container).startswith("running"), timeout=120)
        eventually(f"{service} healthy again", lambda: stack.state(container) == "running healthy", timeout=120)
    before = stack.height()
    eventually("the chain continues", lambda: stack.height() > before + 2, timeout=120)
    for txid in acknowledged:
        eventually(f"acknowledged {txid[:12]} confirmed after the kills", lambda: confirmed(stack, txid), timeout=120)


def test_down_then_up_keeps_the_chain_and_the_mempool(stack):
    # No miner, so a payment stays in the mempool across down/up.
    stack.compose("up", "-d", "--scale", "miner=0")
    for c in stack.containers("miner"):   # the attached `run` miner is not part of the scale
        stack.engine.run("rm", "-f", c, check=False)
    eventually("no miner left", lambda: not stack.containers("miner"), timeout=60)
    rc, text, txid = wallet_send(stack.keystore, stack.other, "0.75", stack.edge)
    assert rc == 0 and txid, text
    height, tip = stack.height(), http(stack.edge + "/api/blocks/tip/hash")[1]
    stack.compose("down")   # without -v: the volumes stay
    stack.compose("up", "-d", "--scale", "miner=0")
    eventually("the edge answers after up", lambda: stack.height() >= 0, timeout=180)
    assert stack.height() == height
    assert http(f"{stack.edge}/api/block-height/{height}")[1] == tip
    eventually("the payment still in the mempool", lambda: txid in (http(stack.edge + "/api/mempool/txids")[1] or []),
               timeout=60)
    stack.compose("up", "-d", "--scale", "miner=1")
    eventually("the payment confirmed once a miner is back", lambda: confirmed(stack, txid), timeout=180)


def test_a_process_without_the_bus_keys_is_refused(stack):
    network = f"{PROJECT}_default"
    # With the node's keys (the edge's certificate from the bus-keys volume): admitted.
    ok = stack.compose("run", "--rm", "--no-deps", "edge", "cairn", "bus-check", "--as", "edge", check=False, timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "ok, height" in ok.stdout and "ok, subscribed" in ok.stdout, ok.stdout
    endpoints = ["--chain-rpc", "tcp://chainstore:28331", "--chain-pub", "tcp://chainstore:28332", "--timeout", "2"]
    # No keys at all: the CURVE server never completes a handshake.
    plain = stack.engine.run("run", "--rm", "--network", network, "cairn:latest", "cairn", "bus-check", *endpoints,
                             check=False, timeout=120)
    assert plain.returncode == 1, plain.stdout + plain.stderr
    assert plain.stdout.count("refused or unreachable") == 2, plain.stdout
    # Keys of its own, the chain store's public key known: refused by the ZAP handler.
    stranger = stack.engine.run(
        "run", "--rm", "--network", network, "-v", f"{PROJECT}_bus-keys:/node-keys:ro", "--entrypoint", "bash",
        "cairn:latest", "-c",
        "mkdir -p /tmp/k && cairn keygen --out /tmp/k --name edge >/dev/null && cp /node-keys/chainstore.pub /tmp/k/ && "
        "cairn bus-check --bus-keys /tmp/k --as edge " + " ".join(endpoints), check=False, timeout=120)
    assert stranger.returncode == 1, stranger.stdout + stranger.stderr
    assert stranger.stdout.count("refused or unreachable") == 2, stranger.stdout
    logs = stack.compose("logs", "--no-color", "chainstore").stdout
    assert "bus client refused" in logs, logs[-2000:]


def test_bad_configuration_stops_with_one_clear_line(stack):
    # A missing variable: compose itself refuses, naming it.
    r = stack.compose("config", check=False, env={"CAIRN_MINER_ADDRESS": ""})
    assert r.returncode != 0 and "CAIRN_MINER_ADDRESS" in r.stderr, r.stderr
    # A malformed address: the miner container stops (no restart loop) with one line saying why.
    stack.compose("up", "-d", "--no-deps", "--scale", "miner=1", "miner", env={"CAIRN_MINER_ADDRESS": "rcrn1notanaddress"})
    container = eventually("the miner container", lambda: stack.containers("miner")[0] if stack.containers("miner") else None)
    eventually("the misconfigured miner stopped", lambda: stack.state(container).startswith("exited"), timeout=60)
    time.sleep(3)
    assert stack.state(container).startswith("exited"), "it must stay stopped"
    assert int(stack.engine.out("inspect", "-f", "{{.RestartCount}}", container)) == 0
    logs = stack.compose("logs", "--no-color", "miner").stdout
    errors = [line for line in logs.splitlines() if "configuration error" in line]
    assert len(errors) == 1 and "--address" in errors[0], logs[-2000:]
    # A required variable missing inside the container (run without compose's check).
    r = stack.engine.run("run", "--rm", "cairn:latest", "cairn-miner", check=False, timeout=60)
    assert r.returncode == 0, "a configuration error exits 0 in the image so on-failure does not loop"
    assert r.stderr.strip().splitlines() == [
        "cairn-miner: configuration error: give --address (or CAIRN_MINER_ADDRESS): the address the coinbase pays"], r.stderr
    # Back to a good miner.
    stack.compose("up", "-d", "--no-deps", "miner")
    eventually("the good miner running", lambda: any(stack.state(c).startswith("running") for c in stack.containers("miner")),
               timeout=60)
