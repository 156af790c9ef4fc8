"""JSON-RPC on a real node: stock bitcoind-style clients, unchanged, against POST /rpc.

Shapes are checked against the REST API's answers for the same objects. The clients are Python
`requests` posting JSON (2.0 and bitcoind's 1.0 shape) and python-bitcoinrpc's AuthServiceProxy
(PyPI `python-bitcoinrpc`), authenticated with the cookie as bitcoin-cli would be.
"""
import json
import os
import stat
import subprocess
import time
from decimal import Decimal

import pytest
import requests
from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException

from rpcnode import BIN, Node, eventually

COIN = 100_000_000


# Here rather than in a conftest.py: Tests/BrowserTests imports its own conftest by that module name,
# and a second conftest.py would shadow it when both folders run in one pytest session.
@pytest.fixture(scope="session")
def node():
    n = Node()
    yield n
    n.stop()
    n.remove()


def proxy(node, user="__cookie__", password=None):
    if password is None:
        password = node.cookie.split(":", 1)[1]
    host = node.edge.removeprefix("http://")
    return AuthServiceProxy(f"http://{user}:{password}@{host}/rpc", timeout=90)


def test_requests_client_both_shapes(node):
    # 2.0
    r = node.rpc("getblockcount")
    assert set(r) == {"jsonrpc", "result", "id"} and r["jsonrpc"] == "2.0" and r["id"] == 1
    before = int(node.rest("/api/blocks/tip/height"))
    count = node.result("getblockcount")
    after = int(node.rest("/api/blocks/tip/height"))
    assert before <= count <= after
    # bitcoind's 1.0 shape: no "jsonrpc", answered with result, error and id.
    legacy = node.rpc("getblockcount", version=None)
    assert set(legacy) == {"result", "error", "id"} and legacy["error"] is None and isinstance(legacy["result"], int)
    # An unknown method: 404 in 1.0 (as bitcoind), 200 in 2.0.
    r = requests.post(node.edge + "/rpc", json={"method": "nosuch", "params": [], "id": 5}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["code"] == -32601 and r.json()["id"] == 5
    r = requests.post(node.edge + "/rpc", json={"jsonrpc": "2.0", "method": "nosuch", "id": 5}, timeout=10)
    assert r.status_code == 200 and r.json()["error"]["code"] == -32601
    # A notification: 204, no body.
    r = requests.post(node.edge + "/rpc", json={"jsonrpc": "2.0", "method": "getblockcount"}, timeout=10)
    assert r.status_code == 204 and r.content == b""
    # Not JSON: -32700.
    r = requests.post(node.edge + "/rpc", data="{nope", timeout=10)
    assert r.json()["error"]["code"] == -32700


def test_batches(node):
    hashes = [node.rest(f"/api/block-height/{h}") for h in range(3)]
    for item in ({"jsonrpc": "2.0"}, {}):
        body = [{**item, "method": "getblockhash", "params": [h], "id": h} for h in range(3)]
        body.insert(1, {"jsonrpc": "2.0", "method": "getblockcount"})  # a notification: no answer
        r = requests.post(node.edge + "/rpc", json=body, timeout=30)
        assert r.status_code == 200
        answers = r.json()
        assert [a["id"] for a in answers] == [0, 1, 2]
        assert [a["result"] for a in answers] == hashes
    big = [{"jsonrpc": "2.0", "method": "getblockhash", "params": [0], "id": i} for i in range(1000)]
    answers = requests.post(node.edge + "/rpc", json=big, timeout=60).json()
    assert [a["id"] for a in answers] == list(range(1000)) and all(a["result"] == hashes[0] for a in answers)
    r = requests.post(node.edge + "/rpc", json=big + [big[0]], timeout=60)
    assert r.status_code == 400 and r.json()["error"]["code"] == -32600


def test_blocks_match_the_rest_api(node):
    height = node.result("getblockcount")
    for h in (0, 1, height):
        block_hash = node.result("getblockhash", h)
        assert block_hash == node.rest(f"/api/block-height/{h}")
        rest = node.rest(f"/api/block/{block_hash}")
        header = node.result("getblockheader", block_hash)
        assert header["hash"] == rest["id"] and header["height"] == rest["height"] == h
        assert header["merkleroot"] == rest["merkle_root"]
        assert header["time"] == rest["timestamp"] and header["nonce"] == rest["nonce"]
        assert header["bits"] == f"{rest['bits']:08x}" and header["chainwork"] == rest["chainwork"]
        assert header["nTx"] == rest["tx_count"] and header["difficulty"] == rest["difficulty"]
        assert header.get("previousblockhash") == rest["previousblockhash"]
        assert header["confirmations"] >= 1
        raw = node.result("getblock", block_hash, 0)
        assert raw == node.rest(f"/api/block/{block_hash}/raw")
        assert node.result("getblockheader", block_hash, False) == raw[:160]
        v1 = node.result("getblock", block_hash)
        assert v1["tx"] == node.rest(f"/api/block/{block_hash}/txids")
        assert v1["size"] == rest["size"]
        v2 = node.result("getblock", block_hash, 2)
        assert [t["txid"] for t in v2["tx"]] == v1["tx"]
        rest_txs = node.rest(f"/api/block/{block_hash}/txs")
        for mine, theirs in zip(v2["tx"], rest_txs):
            assert [round(o["value"] * COIN) for o in mine["vout"]] == [o["value"] for o in theirs["vout"]]
            assert [o["scriptPubKey"]["address"] for o in mine["vout"]] == [o["address"] for o in theirs["vout"]]
            assert [o["scriptPubKey"]["hex"] for o in mine["vout"]] == [o["pubkey"] for o in theirs["vout"]]
    # The tip: getbestblockhash as /api/blocks/tip/hash (the miner moves it: retried until they agree).
    eventually("the same tip", lambda: node.result("getbestblockhash") == node.rest("/api/blocks/tip/hash"), timeout=20)
    info = node.result("getblockchaininfo")
    chain = node.rest("/api/chain")
    assert info["chain"] == chain["network"] == "regtest"
    assert abs(info["blocks"] - chain["height"]) <= 2
    assert info["pruned"] is False and info["initialblockdownload"] is False
    errors = node.rpc("getblockheader", "00" * 32)["error"]
    assert errors["code"] == -5


def test_transactions_and_mempool_match_the_rest_api(node):
    eventually("mature coins for the faucet", lambda: node.result("getblockcount") >= 13, timeout=90)
    # A fresh address of our own (the faucet does not pay itself, and the miner pays the node key).
    keystore = os.path.join(node.dir, "alice.json")
    made = subprocess.run([str(BIN / "cairn"), "wallet", "new", "--keystore", keystore], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "CAIRN_WALLET_PASSWORD": "correct horse battery"})
    assert made.returncode == 0, made.stderr
    address = made.stdout.strip().splitlines()[-1]
    v = node.result("validateaddress", address)
    assert v["isvalid"] is True and v["address"] == address
    assert node.result("validateaddress", "rcrn1nope")["isvalid"] is False
    r = requests.post(node.edge + "/api/faucet", json={"address": address}, timeout=30)
    assert r.status_code == 200, r.text
    txid = r.json()["txid"]
    # In the mempool (unless a block took it already: then it is confirmed, checked below either way).
    pool = node.result("getrawmempool")
    seq = node.result("getrawmempool", False, True)
    assert set(seq) == {"txids", "mempool_sequence"} and isinstance(seq["mempool_sequence"], int)
    if txid in pool:
        entry = node.result("getmempoolentry", txid)
        assert round(entry["fees"]["base"] * COIN) == node.rest(f"/api/tx/{txid}")["fee"]
        info = node.result("getmempoolinfo")
        assert info["loaded"] is True and info["size"] >= 1
    raw = node.result("getrawtransaction", txid)
    assert raw == node.rest(f"/api/tx/{txid}/hex")
    verbose = node.result("getrawtransaction", txid, True)
    rest = node.rest(f"/api/tx/{txid}")
    assert verbose["txid"] == rest["txid"] and verbose["size"] == rest["size"]
    assert [(i["txid"], i["vout"]) for i in verbose["vin"]] == [(i["txid"], i["vout"]) for i in rest["vin"]]
    assert [round(o["value"] * COIN) for o in verbose["vout"]] == [o["value"] for o in rest["vout"]]
    # Sending it again: its txid while it is in the pool (as bitcoind), -27 once it is in a block.
    again = node.rpc("sendrawtransaction", raw)
    assert again.get("result") == txid or again["error"]["code"] == -27, again
    tested = node.result("testmempoolaccept", [raw])
    assert tested[0]["txid"] == txid and tested[0]["allowed"] is False
    # Confirmed: the transaction index answers, with the block.
    eventually("the faucet payment confirmed", lambda: node.rest(f"/api/tx/{txid}/status")["confirmed"], timeout=60)
    confirmed = node.result("getrawtransaction", txid, 1)
    status = node.rest(f"/api/tx/{txid}/status")
    assert confirmed["blockhash"] == status["block_hash"] and confirmed["blocktime"] == status["block_time"]
    assert node.rpc("sendrawtransaction", raw)["error"]["code"] == -27
    out = node.result("gettxout", txid, 0)
    assert out is None or round(out["value"] * COIN) == rest["vout"][0]["value"]
    # Errors from the mempool's rules: a coinbase (-26), garbage (-22).
    coinbase = node.result("getblock", node.result("getblockhash", 1))["tx"][0]
    assert node.rpc("sendrawtransaction", node.result("getrawtransaction", coinbase))["error"]["code"] == -26
    assert node.rpc("sendrawtransaction", "zz")["error"]["code"] == -22
    fee = node.result("estimatesmartfee", 6)
    assert fee["blocks"] == 6 and fee["feerate"] == pytest.approx(node.rest("/api/fee-estimates")["6"] * 1000 / COIN)


def test_mining_and_network(node):
    t = node.result("getblocktemplate", {"rules": ["segwit"]})
    tip = node.rest("/api/blocks/tip/hash")
    assert t["height"] >= 1 and len(t["target"]) == 64 and t["longpollid"].startswith(t["previousblockhash"])
    # A long poll answers when the miner finds the next block.
    t2 = node.result("getblocktemplate", {"longpollid": t["longpollid"]})
    assert t2["longpollid"] != t["longpollid"]
    mining = node.result("getmininginfo")
    assert mining["chain"] == "regtest" and mining["networkhashps"] > 0 and mining["blocks"] >= t["height"] - 1
    peers = node.rest("/api/peers")
    assert node.result("getconnectioncount") == len(peers["peers"])
    assert [p["addr"] for p in node.result("getpeerinfo")] == [p["address"] for p in peers["peers"]]
    net = node.result("getnetworkinfo")
    assert net["connections"] == len(peers["peers"]) and net["subversion"].startswith("/Cairn:")
    assert node.result("uptime") >= 0
    assert "== Blockchain ==" in node.result("help")
    names = [m["name"] for m in node.result("rpc.discover")["methods"]]
    assert "getblocktemplate" in names and "rpc.discover" in names
    del tip


def test_auth_service_proxy_unchanged(node):
    rpc = proxy(node)
    count = rpc.getblockcount()
    assert isinstance(count, int) and count >= 1
    info = rpc.getblockchaininfo()
    assert info["chain"] == "regtest" and info["difficulty"] > 0
    best = rpc.getblockhash(count)
    block = rpc.getblock(best)
    assert block["height"] == count and block["hash"] == best
    v2 = rpc.getblock(best, 2)
    # Amounts with bitcoind's 8 decimals: python-bitcoinrpc reads them as Decimal, exactly.
    value = v2["tx"][0]["vout"][0]["value"]
    assert isinstance(value, Decimal) and value.as_tuple().exponent == -8
    assert int(value * COIN) == node.rest(f"/api/block/{best}/txs")[0]["vout"][0]["value"]
    # (Its batch_ sends 2.0 items but reads an "error" member from each answer, which JSON-RPC 2.0
    # forbids on success and Bitcoin Core 28 leaves out too: batches are checked with requests below.)
    with pytest.raises(JSONRPCException) as e:
        rpc.getblockheader("00" * 32)
    assert e.value.error["code"] == -5
    with pytest.raises(JSONRPCException) as e:
        rpc.getblockhash(10**9)
    assert e.value.error["code"] == -8
    # An operator method with the cookie: submitting a block the node has.
    raw = rpc.getblock(rpc.getblockhash(1), 0)
    assert rpc.submitblock(raw) == "duplicate"


def test_operator_credentials(node):
    mode = stat.S_IMODE(os.stat(node.cookie_path).st_mode)
    assert mode == 0o600
    user, secret = node.cookie.split(":", 1)
    assert user == "__cookie__" and len(secret) == 64
    raw = node.result("getblock", node.result("getblockhash", 1), 0)
    body = {"jsonrpc": "2.0", "id": 1, "method": "submitblock", "params": [raw]}
    # No credentials: 401 in the edge's JSON error shape.
    r = requests.post(node.edge + "/rpc", json=body, timeout=10)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    assert r.headers["WWW-Authenticate"].startswith("Basic")
    # Wrong: 401 too, after a wait (not asserted as a time: the machine may be slow either way).
    r = requests.post(node.edge + "/rpc", json=body, auth=("__cookie__", "0" * 64), timeout=10)
    assert r.status_code == 401
    with pytest.raises(JSONRPCException):
        proxy(node, password="wrong").getblockcount()
    # Right: the operator method runs.
    r = requests.post(node.edge + "/rpc", json=body, auth=("__cookie__", secret), timeout=10)
    assert r.status_code == 200 and r.json()["result"] == "duplicate"


def cli(node, *args):
    return subprocess.run([str(BIN / "cairn"), "rpc", "--edge", node.edge, "--data", node.data, *args],
                          capture_output=True, text=True, timeout=120)


def test_cairn_rpc_cli(node):
    r = cli(node, "getblockcount")
    assert r.returncode == 0, r.stderr
    assert abs(int(r.stdout) - node.result("getblockcount")) <= 2
    h = node.result("getblockhash", 2)
    r = cli(node, "getblock", h, "2")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["hash"] == h
    r = cli(node, "--named", "getblockhash", "height=2")
    assert r.stdout.strip() == h
    # An error: bitcoin-cli's lines on stderr, the code's absolute value as exit status.
    r = cli(node, "getblockheader", "00")
    assert r.returncode == 8 and "error code: -8" in r.stderr
    # An operator method with the cookie read from the data folder.
    r = cli(node, "submitblock", node.result("getblock", h, 0))
    assert r.returncode == 0 and r.stdout.strip() == "duplicate", r.stderr
    r = subprocess.run([str(BIN / "cairn"), "rpc", "--edge", node.edge, "--data", "/nonexistent", "submitblock", "00"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Authorization failed" in r.stderr
    # A stale cookie (another run's) fails operator methods only, never public calls.
    stale = os.path.join(node.dir, "stale")
    os.makedirs(stale, exist_ok=True)
    with open(os.path.join(stale, ".cookie"), "w") as f:
        f.write("__cookie__:" + "0" * 64)
    r = subprocess.run([str(BIN / "cairn"), "rpc", "--edge", node.edge, "--data", stale, "getblockcount"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and int(r.stdout) >= 0, r.stderr
    r = subprocess.run([str(BIN / "cairn"), "rpc", "--edge", node.edge, "--data", stale, "submitblock", "00"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "Authorization failed" in r.stderr


def test_zz_cookie_removed_at_clean_exit(node):
    assert os.path.exists(node.cookie_path)
    node.stop()
    assert node.proc.returncode == 0, node.logs()
    assert not os.path.exists(node.cookie_path)
