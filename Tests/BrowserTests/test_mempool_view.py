"""The explorer's mempool view under a burst, in Chromium against a real node: the miner is
paused (SIGSTOP: it keeps its process, the supervisor sees nothing wrong), a burst of transactions
signed here with the node's key (PROTOCOL.md §2 and §5) arrives, the view's count, projected
blocks and fee-rate histogram show them live, a pending transaction's page says when it should
confirm and its parent's outputs say who spends them; the miner resumes, a block takes them, and
the view empties by itself while "spent by" now names the block; the charts draw the blocks and
the mempool's own samples."""
import hashlib
import os
import secrets
import signal
import struct
import subprocess
from pathlib import Path

from conftest import eventually, http_json
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

REGTEST_MAGIC = bytes.fromhex("c41e724e")
MATURITY = 10
COIN = 100_000_000


def sha256d(b):
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def compact(n):
    assert n < 0xFD
    return bytes([n])


def encode(tx, payloads):
    out = struct.pack("<I", 1) + compact(len(tx["inputs"]))
    for (txid, index), payload in zip(tx["inputs"], payloads):
        out += bytes.fromhex(txid)[::-1] + struct.pack("<I", index) + compact(len(payload)) + payload
    out += compact(len(tx["outputs"]))
    for value, key in tx["outputs"]:
        out += struct.pack("<Q", value) + key
    return out


def sign(tx, spent, key, genesis):
    """Every input signs the same message (PROTOCOL.md §5); returns (hex, display txid)."""
    message = b"CAIRN/sighash/v1" + REGTEST_MAGIC + bytes.fromhex(genesis)[::-1] + encode(tx, [b""] * len(tx["inputs"]))
    for value, pub in spent:
        message += struct.pack("<Q", value) + pub
    signature = key.sign(sha256d(message))
    raw = encode(tx, [signature] * len(tx["inputs"]))
    return raw.hex(), sha256d(raw)[::-1].hex()


def size_of(inputs, outputs):
    return 4 + 1 + inputs * (36 + 1 + 64) + 1 + outputs * 40


def miner_pid(stack):
    out = subprocess.run(["pgrep", "-f", f"cairn-miner .*{stack.dir}"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def stat(page, testid):
    return int(page.get_by_test_id(testid).get_attribute("data-value") or -1)


def test_mempool_view_under_a_burst_and_spent_by(stack, browser, artifacts):
    key = Ed25519PrivateKey.from_private_bytes(Path(stack.dir, "data", "node-key").read_bytes())
    pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    genesis = http_json(f"{stack.edge}/api/block-height/0")[1].strip()
    eventually("mature coins", lambda: int(http_json(f"{stack.edge}/api/blocks/tip/height")[1]) >= MATURITY + 3, timeout=120)
    tip_hash = http_json(f"{stack.edge}/api/blocks/tip/hash")[1].strip()
    coinbase = http_json(f"{stack.edge}/api/tx/{http_json(f'{stack.edge}/api/block/{tip_hash}/txids')[1][0]}")[1]
    assert coinbase["vout"][0]["pubkey"] == pub.hex(), "the miner pays the node key"
    address = coinbase["vout"][0]["address"]

    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})
    page = ctx.new_page()
    page.on("console", lambda m: print(f"[console] {m.type}: {m.text}") if m.type == "error" else None)
    page.goto(stack.wallet + "/explorer.html#/mempool")
    eventually("the mempool view", lambda: stat(page, "mempool-count") >= 0, timeout=60)

    pid = eventually("the miner's pid", lambda: miner_pid(stack))
    os.kill(pid, signal.SIGSTOP)
    try:
        tip = int(http_json(f"{stack.edge}/api/blocks/tip/height")[1])
        utxos = http_json(f"{stack.edge}/api/address/{address}/utxo")[1]
        coin = next(u for u in sorted(utxos, key=lambda u: u["status"].get("block_height", 1 << 30))
                    if u["coinbase"] and u["status"]["confirmed"] and tip + 1 - u["status"]["block_height"] >= MATURITY)
        # The burst: a fan-out of 30 one-CRN outputs, then 30 children paying 1 to 64 units/byte.
        n = 30
        fee = size_of(1, n + 1) * 2
        outputs = [(COIN, pub)] * n + [(coin["value"] - n * COIN - fee, pub)]
        fan_hex, fan_txid = sign({"inputs": [(coin["txid"], coin["vout"])], "outputs": outputs}, [(coin["value"], pub)], key, genesis)
        status, body, _ = http_json(f"{stack.edge}/api/tx", data=fan_hex.encode())
        assert status == 200, body
        children = []
        for i in range(n):
            rate = [1, 2, 4, 8, 16, 32, 64][i % 7]
            to = secrets.token_bytes(32)
            # A random 32-byte string is a valid output key for the chain (it only has to be 32 bytes to be paid).
            child_hex, child_txid = sign({"inputs": [(fan_txid, i)], "outputs": [(COIN - size_of(1, 1) * rate, to)]},
                                         [(COIN, pub)], key, genesis)
            status, body, _ = http_json(f"{stack.edge}/api/tx", data=child_hex.encode())
            assert status == 200, body
            children.append(child_txid)

        eventually("the burst counted live", lambda: stat(page, "mempool-count") >= n + 1, timeout=30)
        blocks = page.get_by_test_id("projected-block")
        eventually("projected blocks holding them", lambda: blocks.count() >= 1
                   and sum(int(blocks.nth(i).get_attribute("data-ntx")) for i in range(blocks.count())) >= n + 1, timeout=30)
        bars = page.get_by_test_id("fee-histogram").locator("svg rect")
        eventually("a histogram with the fee rates of the burst", lambda: bars.count() >= 5, timeout=30)
        assert float(page.get_by_test_id("fee-1").get_attribute("data-value")) >= 1
        page.screenshot(path=str(artifacts / "explorer-mempool-burst.png"), full_page=True)

        # A pending child: its expected confirmation, and its parent's output names it as the spender.
        page.goto(stack.wallet + f"/explorer.html#/tx/{children[5]}")
        expected = page.get_by_test_id("tx-expected")
        eventually("the expected confirmation", lambda: expected.is_visible() and "block" in expected.inner_text(), timeout=30)
        assert expected.get_attribute("data-block") == "0"
        page.goto(stack.wallet + f"/explorer.html#/tx/{fan_txid}")
        spent = page.get_by_test_id("tx-outputs").get_by_test_id("spent-by")
        eventually("spent by on every output", lambda: spent.count() == n + 1, timeout=30)
        assert spent.nth(5).get_attribute("data-txid") == children[5]
        assert spent.nth(5).get_attribute("data-vin") == "0"
        assert "pending" in spent.nth(5).inner_text()
        assert spent.nth(n).get_attribute("data-spent") == "false" and spent.nth(n).inner_text() == "unspent"
        page.goto(stack.wallet + "/explorer.html#/mempool")
        eventually("the mempool view again", lambda: stat(page, "mempool-count") >= n + 1, timeout=30)
    finally:
        os.kill(pid, signal.SIGCONT)

    # The miner resumes: a block (or two) takes the burst and the view follows without a reload.
    eventually("the burst mined, shown live", lambda: stat(page, "mempool-count") == 0, timeout=90)
    assert page.get_by_test_id("projected-block").count() == 0
    page.screenshot(path=str(artifacts / "explorer-mempool-after.png"), full_page=True)
    page.goto(stack.wallet + f"/explorer.html#/tx/{fan_txid}")
    spent = page.get_by_test_id("tx-outputs").get_by_test_id("spent-by")
    eventually("spent by now names a block", lambda: spent.count() == n + 1 and "in block" in spent.nth(5).inner_text(), timeout=30)
    assert spent.nth(5).get_attribute("data-txid") == children[5]
    status, outspend, _ = http_json(f"{stack.edge}/api/tx/{fan_txid}/outspend/5")
    assert status == 200 and outspend["spent"] and outspend["txid"] == children[5] and outspend["status"]["confirmed"]

    # The charts: the node's blocks, and the mempool's own samples (the burst among them).
    page.goto(stack.wallet + "/explorer.html#/charts")
    for testid in ("chart-block-size", "chart-block-fees", "chart-difficulty", "chart-hashrate"):
        chart = page.get_by_test_id(testid)
        eventually(f"{testid} drawn", lambda: int(chart.get_attribute("data-points") or 0) > 1 and chart.locator("svg polyline").count() == 1)
    pool = page.get_by_test_id("chart-mempool-size")
    eventually("the mempool's samples drawn", lambda: int(pool.get_attribute("data-points") or 0) >= 1, timeout=30)
    page.get_by_test_id("blocks-range").get_by_label("last 1,000 blocks").check()
    eventually("the longer range", lambda: int(page.get_by_test_id("chart-block-size").get_attribute("data-points")) > 1)
    page.screenshot(path=str(artifacts / "explorer-charts.png"), full_page=True)
    ctx.close()
