"""Fee bump in Chromium against a real node: a payment stuck in the mempool (the node runs no
miner) is bumped from the wallet's history, through the review step (old fee, new fee, new fee
rate); the replacement takes its place, and once a miner attaches (`cairn miner`) it confirms while
the original never does.

Its own stack (`cairn up --no-miner`), so the session's mining stack is not slowed down.
Screenshots go to .build/test-artifacts/browser/.
"""
import re
import subprocess

import test_wallet as tw
from conftest import BIN, Stack, eventually, http_json
from cairn_testing import stop_process

PASSWORD = "fee bump passphrase, long enough"


def attach_miner(stack, address):
    return subprocess.Popen([str(BIN / "cairn"), "miner", "--address", address, "--edge", stack.edge,
                             "--threads", "1", "--block-interval", "0.3"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)


def stop(miner):
    stop_process(miner)


def mempool(stack):
    status, txids, _ = http_json(stack.edge + "/api/mempool/txids")
    assert status == 200
    return txids


def test_a_stuck_payment_is_bumped_from_the_wallet_and_the_replacement_confirms(browser, artifacts):
    stack = Stack(extra=["--no-miner"])
    miner = None
    context = None
    try:
        faucet = http_json(stack.edge + "/api/faucet")[1]
        # Mine the faucet's coins to maturity with an attached miner.
        miner = attach_miner(stack, faucet["address"])
        eventually("faucet has mature coins", lambda: (lambda r: r[0] == 200 and r[1]["spendable"] >= r[1]["amount"])(
            http_json(stack.edge + "/api/faucet")), timeout=180)
        context, page, address = tw.new_wallet(browser, stack, [], "bump", PASSWORD)
        page.get_by_test_id("faucet").click()
        eventually("the faucet's coins confirmed", lambda: tw.crn(page.get_by_test_id("balance-confirmed").inner_text()) >= 10, timeout=120)
        # No miner from here on: what is sent stays in the mempool.
        stop(miner)
        miner = None

        # A payment at the lowest fee rate.
        page.get_by_test_id("send-to").fill(faucet["address"])
        page.get_by_test_id("send-amount").fill("2")
        page.get_by_test_id("send-fee").fill("1")
        page.get_by_test_id("send-submit").click()
        eventually("the review", lambda: page.get_by_test_id("send-review").is_visible(), timeout=30)
        page.get_by_test_id("send-confirm").click()
        result = page.get_by_test_id("send-result")
        original = eventually("the payment's txid", lambda: result.get_attribute("data-txid"), timeout=60)
        assert original in mempool(stack)
        status, tx, _ = http_json(f"{stack.edge}/api/tx/{original}")
        old_fee, old_rate = tx["fee"], tx["fee"] / tx["size"]
        old_coins = [(i["txid"], i["vout"]) for i in tx["vin"]]

        # "Bump fee" on the pending row of the history, at the form's rate of 3 units/byte.
        page.get_by_test_id("send-fee").fill("3")
        bump = page.get_by_test_id(f"bump-{original}")
        eventually("the bump button on the pending payment", lambda: bump.count() == 1 and bump.is_visible(), timeout=30)
        # A cancel is offered next to it.
        assert page.get_by_test_id(f"cancel-{original}").is_visible()
        bump.click()
        review = page.get_by_test_id("send-review")
        eventually("the bump's review", lambda: review.is_visible() and page.get_by_test_id("review-replaces").inner_text() == original, timeout=30)
        assert "fee bump" in page.locator("#review-title").inner_text().lower()
        assert tw.crn(page.get_by_test_id("review-old-fee").inner_text()) * 1e8 == round(old_fee)
        new_fee = round(tw.crn(page.get_by_test_id("review-new-fee").inner_text()) * 1e8)
        new_rate = tw.crn(page.get_by_test_id("review-new-rate").inner_text())
        assert new_fee > old_fee and new_rate > old_rate and new_rate >= 3, (old_fee, new_fee, old_rate, new_rate)
        assert tw.crn(page.get_by_test_id("review-amount").inner_text()) == 2
        # Nothing was sent yet: the original is still the one in the mempool.
        assert mempool(stack) == [original]
        page.screenshot(path=str(artifacts / "wallet-fee-bump-review.png"), full_page=True)
        page.get_by_test_id("send-confirm").click()

        replacement = eventually("the replacement's txid", lambda: (lambda t: t if t and t != original else None)(result.get_attribute("data-txid")), timeout=60)
        assert re.fullmatch(r"[0-9a-f]{64}", replacement)
        assert "replaces" in result.inner_text().lower()
        eventually("the mempool holds the replacement only", lambda: mempool(stack) == [replacement], timeout=30)
        assert http_json(f"{stack.edge}/api/tx/{original}")[0] == 404
        status, tx, _ = http_json(f"{stack.edge}/api/tx/{replacement}")
        assert status == 200 and tx["fee"] == new_fee
        # the same coins (no new unconfirmed input), the same payment
        assert [(i["txid"], i["vout"]) for i in tx["vin"]] == old_coins
        assert any(o["address"] == faucet["address"] and o["value"] == 200_000_000 for o in tx["vout"])
        history = page.get_by_test_id("history")
        eventually("the original leaves the history", lambda: history.locator(f'.history-row[data-txid="{original}"]').count() == 0
                   and history.locator(f'.history-row[data-txid="{replacement}"]').count() == 1, timeout=30)
        # the original's trace says it was replaced, and by what
        status, trace, _ = http_json(f"{stack.edge}/api/tx/{original}/trace")
        assert any(e["stage"] == "replaced" and replacement in (e.get("detail") or "") for e in trace["events"]), trace

        # A miner attaches: the replacement confirms, the original never appears.
        miner = attach_miner(stack, faucet["address"])
        eventually("the replacement confirmed", lambda: result.get_attribute("data-status") == "confirmed", timeout=120)
        assert http_json(f"{stack.edge}/api/tx/{original}")[0] == 404
        status, utxos, _ = http_json(f"{stack.edge}/api/address/{address}/utxo")
        assert status == 200 and all(u["txid"] != original for u in utxos)
        page.screenshot(path=str(artifacts / "wallet-fee-bump-confirmed.png"), full_page=True)
    finally:
        if miner is not None:
            stop(miner)
        if context is not None:
            context.close()
        stack.stop()
