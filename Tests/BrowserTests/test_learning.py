"""The learning mode in Chromium against a real node (issue 13): paste the operator token in the
explorer, pause the miners, send a transaction, see it wait in the mempool (not in a template),
mine exactly one block with the step button and see it mined, the flow view showing each step."""
import json
import os
import subprocess
import time
from pathlib import Path

from conftest import BIN, eventually, http_json


def height(stack):
    return int(http_json(stack.edge + "/api/blocks/tip/height")[1])


def fresh_address(tmp_path):
    out = subprocess.run([str(BIN / "cairn"), "wallet", "new", "--keystore", str(tmp_path / "learner.json"), "--network", "regtest"],
                         env={**os.environ, "CAIRN_WALLET_PASSWORD": "a learner's passphrase"},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    return next(w for w in out.stdout.split() if w.startswith("rcrn1"))


def test_learning_mode_pause_and_step(stack, browser, artifacts, tmp_path):
    token = (Path(stack.dir) / "data" / ".cookie").read_text().strip()  # the whole "__cookie__:<secret>" line, as a user pastes it
    eventually("faucet has mature coins", lambda: (lambda r: r[0] == 200 and r[1]["spendable"] >= r[1]["amount"])(
        http_json(stack.edge + "/api/faucet")), timeout=120)
    address = fresh_address(tmp_path)
    ctx = browser.new_context()
    page = ctx.new_page()
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(stack.wallet + "/explorer.html#/flow")
        panel = page.get_by_test_id("learn-panel")
        state = page.get_by_test_id("learn-state")
        message = page.get_by_test_id("learn-message")
        eventually("the learning panel", lambda: panel.is_visible() and "running" in state.inner_text(), timeout=30)
        assert page.get_by_test_id("mining-pace").is_hidden()

        # A wrong token: refused, said so, nothing changes.
        page.get_by_test_id("learn-token").fill("0" * 64)
        page.get_by_test_id("learn-pause").click()
        eventually("the refusal", lambda: "refused the token" in message.inner_text(), timeout=15)
        assert http_json(stack.edge + "/api/mining")[1]["state"] == "running"

        # The right one: kept for this tab only.
        page.get_by_test_id("learn-token").fill(token)
        page.get_by_test_id("learn-token-use").click()
        assert page.evaluate("sessionStorage.getItem('cairn.explorer.operatorToken')") == token
        assert token not in json.dumps(page.evaluate("Object.assign({}, localStorage)"))
        page.get_by_test_id("learn-pause").click()
        eventually("paused", lambda: state.get_attribute("data-state") == "paused", timeout=15)
        assert http_json(stack.edge + "/api/mining")[1]["state"] == "paused"
        eventually("the nav's badge", lambda: "paused" in page.get_by_test_id("mining-pace").inner_text(), timeout=15)
        time.sleep(1.5)   # a block already on its way when the pause came may still land
        before = height(stack)

        # Send a transaction: it waits in the mempool, never in a template, while mining is paused.
        status, paid, _ = http_json(stack.edge + "/api/faucet", data={"address": address})
        assert status == 200, paid
        txid = paid["txid"]
        waiting = page.get_by_test_id("learn-mempool").locator(f'[data-txid="{txid}"]')
        eventually("the transaction waits in the mempool", lambda: waiting.count() == 1, timeout=20)
        steps = page.get_by_test_id("learn-steps")
        step = lambda key: steps.locator(f'[data-step="{key}"]')
        eventually("the transaction followed", lambda: page.get_by_test_id("learn-watched").get_attribute("data-txid") == txid, timeout=15)
        assert step("accepted").get_attribute("data-done") == "true"
        assert step("waiting").get_attribute("data-done") == "true"
        time.sleep(3)     # a few block intervals (1 s on this node)
        assert height(stack) == before, "a paused node mined a block"
        assert step("template").get_attribute("data-done") == "false"
        assert step("mined").get_attribute("data-done") == "false"
        assert waiting.count() == 1
        page.screenshot(path=str(artifacts / "learning-paused.png"), full_page=True)

        # One step: picked into a template, mined in exactly one block, then paused again.
        page.get_by_test_id("learn-step").click()
        eventually("picked into a template", lambda: step("template").get_attribute("data-done") == "true", timeout=30)
        eventually("mined", lambda: step("mined").get_attribute("data-done") == "true", timeout=30)
        assert f"{before + 1}" in step("mined").inner_text()
        eventually("paused again", lambda: state.get_attribute("data-state") == "paused", timeout=15)
        eventually("the mempool list empties", lambda: waiting.count() == 0, timeout=15)
        log = page.get_by_test_id("flow-log")
        assert log.locator(f'[data-id="{txid}"][data-step="mempool:template"]').count() >= 1
        assert log.locator(f'[data-id="{txid}"][data-step="chainstore:connected"]').count() >= 1
        time.sleep(2)
        assert height(stack) == before + 1, "one step mined more than one block"
        tx_status = http_json(f"{stack.edge}/api/tx/{txid}/status")[1]
        assert tx_status["confirmed"] and tx_status["block_height"] == before + 1
        page.screenshot(path=str(artifacts / "learning-stepped.png"), full_page=True)

        # Resume from the page: blocks again.
        page.get_by_test_id("learn-resume").click()
        eventually("running", lambda: state.get_attribute("data-state") == "running", timeout=15)
        eventually("blocks again", lambda: height(stack) >= before + 3, timeout=60)
        assert not [e for e in errors if "learning" in e], errors
    finally:
        # Whatever happened, the shared node mines again for the other tests.
        req_status = http_json(stack.edge + "/api/operator/mining",
                               data={"state": "running", "minInterval": 0, "token": token})[0]
        assert req_status == 200
        ctx.close()
