"""A real node (`cairn up`, built binaries) for the JSON-RPC tests (a module of its own name: Tests/BrowserTests has the conftest.py).

It runs on its own data folder and a port offset of the RPCTests range of Tests/ports.json (the one
table of every suite's ranges), mining a block a second, so the chain moves while the tests run.
"""
import os
import sys
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "PySupport"))
from cairn_testing import BIN, CairnUp, eventually, port_offset  # noqa: E402,F401 - the tests import BIN, eventually and port_offset from here


class Node(CairnUp):
    def __init__(self):
        super().__init__("RPCTests", "cairn-rpc-", ["--block-interval", "1", "--no-wallet"],
                         binaries=("cairn", "cairn-edge", "cairn-chainstore", "cairn-mempool", "cairn-miner"))
        self.ready("the edge", lambda: requests.get(self.edge + "/api/chain", timeout=5).status_code == 200)
        self.cookie_path = os.path.join(self.data, ".cookie")
        eventually("the operator cookie", lambda: os.path.exists(self.cookie_path), timeout=30)
        # Mature coins for the faucet: the node key's coinbases need the regtest maturity.
        eventually("a few blocks", lambda: int(requests.get(self.edge + "/api/blocks/tip/height", timeout=5).text) >= 3)

    @property
    def cookie(self):
        with open(self.cookie_path) as f:
            return f.read().strip()

    def rpc(self, method, *params, auth=None, version="2.0"):
        """One call with requests, as any JSON-RPC client posts it; returns the parsed reply."""
        body = {"method": method, "params": list(params), "id": 1}
        if version:
            body["jsonrpc"] = version
        r = requests.post(self.edge + "/rpc", json=body, auth=auth, timeout=90)
        assert r.headers["Content-Type"].startswith("application/json"), r.text
        return r.json()

    def result(self, method, *params, auth=None):
        reply = self.rpc(method, *params, auth=auth)
        assert "error" not in reply, reply
        return reply["result"]

    def rest(self, path):
        r = requests.get(self.edge + path, timeout=10)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json() if r.headers["Content-Type"].startswith("application/json") else r.text
