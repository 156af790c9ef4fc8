"""What a newcomer tripped over (issue 13), in Chromium against a real node: the review step before
anything is signed (nothing is posted before confirm), wrong amounts that say what is wrong, messages
that do not outlive their moment (faucet pending → confirmed, a countdown for "too soon", an old
result next to a new error), a hung edge marked stale within a few block intervals on both pages,
the explorer's summary height in step with its block list, and a mistyped address refused at the
search box; QR codes of addresses (Debian's qrcode-generator) that a QR reader (pyzbar, libzbar0)
decodes back to the address."""
import csv
import io
import os
import re
import signal
import time
from pathlib import Path

from PIL import Image
from pyzbar.pyzbar import decode as zbar_decode

from conftest import eventually, http_json
from test_wallet import new_wallet, crn
from test_explorer import edge_pid, latest_height, search, here

PASSWORD = "a newcomer's long passphrase"


def read_qr(locator):
    """The text of the QR code drawn in `locator` (a screenshot of it, decoded by zbar)."""
    image = Image.open(io.BytesIO(locator.screenshot()))
    found = zbar_decode(image)
    assert len(found) == 1, f"expected one QR code, zbar found {len(found)}"
    return found[0].data.decode()


def posts_to_tx(log):
    return [r for r in log if r[0] == "POST" and r[1].endswith("/api/tx")]


def test_review_step_amounts_and_messages(stack, browser, artifacts):
    eventually("faucet has mature coins", lambda: (lambda r: r[0] == 200 and r[1]["spendable"] >= r[1]["amount"])(
        http_json(stack.edge + "/api/faucet")), timeout=120)
    faucet_address = http_json(stack.edge + "/api/faucet")[1]["address"]
    ctx, page, me = new_wallet(browser, stack, [], "N", PASSWORD)
    sent = []
    page.on("request", lambda r: sent.append((r.method, r.url)))
    # The receive address as a QR code that reads back as the address.
    qr = page.get_by_test_id("address-qr").locator("svg")
    eventually("the address QR code", lambda: qr.count() == 1 and qr.is_visible(), timeout=20)
    assert read_qr(qr) == me

    # The faucet's message follows its payment: pending, then confirmed (it said "pending" forever).
    page.get_by_test_id("faucet").click()
    status = page.locator("#faucet-status")
    eventually("faucet paid", lambda: "Faucet sent" in status.inner_text(), timeout=30)
    eventually("faucet confirmed", lambda: "confirmed in block" in status.inner_text(), timeout=60)
    assert status.get_attribute("data-paid") == "confirmed"
    assert "pending" not in status.inner_text()
    # Too soon: the wait counts down (it said "try again in 60 s" and stayed so).
    page.get_by_test_id("faucet").click()
    first = int(eventually("the countdown", lambda: (re.search(r"Try again in (\d+) s", status.inner_text()) or [None, None])[1], timeout=20))
    eventually("the countdown moves", lambda: int((re.search(r"Try again in (\d+) s", status.inner_text()) or [0, 10**6])[1]) < first, timeout=10)
    eventually("funds confirmed", lambda: crn(page.get_by_test_id("balance-confirmed").inner_text()) >= 10, timeout=60)
    # Amounts without trailing zeros.
    assert "00000" not in page.get_by_test_id("balance-confirmed").inner_text()
    # The explorer shows the same balance the same way (one formatter: it said "10.00000000 CRN" where the wallet said "10").
    explorer = ctx.new_page()
    explorer.goto(f"{stack.wallet}/explorer.html#/address/{me}")
    shown = explorer.get_by_test_id("address-confirmed").locator(".amount")
    eventually("the explorer's balance", lambda: shown.count() == 1 and int(shown.get_attribute("data-value") or 0) >= 10 * 10**8, timeout=30)
    eventually("the wallet and the explorer agree", lambda: shown.get_attribute("data-value") == page.get_by_test_id("balance-confirmed").get_attribute("data-units"), timeout=30)
    assert shown.inner_text().strip() == page.get_by_test_id("balance-confirmed").inner_text().strip() + " CRN"
    explorer.close()

    error = page.get_by_test_id("send-error")
    review = page.get_by_test_id("send-review")
    # The address book: a mistyped address is refused; a saved one fills the send form.
    typo_addr = faucet_address[:-1] + ("q" if faucet_address[-1] != "q" else "p")
    page.get_by_test_id("contact-name").fill("Faucet")
    page.get_by_test_id("contact-address").fill(typo_addr)
    page.get_by_test_id("contact-add").click()
    eventually("the contact's checksum error", lambda: "checksum" in page.get_by_test_id("contact-error").inner_text(), timeout=10)
    page.get_by_test_id("contact-address").fill(faucet_address)
    page.get_by_test_id("contact-add").click()
    entry = page.get_by_test_id("contacts").locator(f'[data-address="{faucet_address}"]')
    eventually("the saved contact", lambda: entry.count() == 1 and "Faucet" in entry.inner_text(), timeout=10)
    assert faucet_address in page.evaluate("localStorage.getItem('cairn.wallet.contacts.regtest')")
    entry.get_by_test_id("contact-pay").click()
    assert page.get_by_test_id("send-to").input_value() == faucet_address
    # Wrong amounts, each with its own reason (both were "not a number").
    for amount, words in (("21000000000", "can ever exist"), ("-1", "positive"), ("0.123456789", "8 decimals")):
        page.get_by_test_id("send-amount").fill(amount)
        page.get_by_test_id("send-submit").click()
        eventually(f"the message for {amount}", lambda: words in error.inner_text(), timeout=10)
        assert not review.is_visible()

    # ".5" is 0.5; the review shows everything before anything is signed, and nothing is posted.
    page.get_by_test_id("send-amount").fill(".5")
    page.get_by_test_id("send-submit").click()
    eventually("the review", lambda: review.is_visible(), timeout=20)
    assert page.get_by_test_id("review-to").inner_text().strip() == faucet_address
    assert page.get_by_test_id("review-to-name").inner_text().strip() == "Faucet"
    assert page.get_by_test_id("review-amount").inner_text().strip() == "0.5"
    fee = float(page.get_by_test_id("review-fee").inner_text())
    total = float(page.get_by_test_id("review-total").inner_text())
    change = float(page.get_by_test_id("review-change").inner_text())
    assert fee > 0 and abs(total - (0.5 + fee)) < 1e-9 and change > 0
    assert not page.get_by_test_id("review-warning").is_visible()
    page.screenshot(path=str(artifacts / "wallet-review.png"), full_page=True)
    time.sleep(1.5)
    assert posts_to_tx(sent) == [], "a transaction was posted before confirm"
    page.get_by_test_id("send-back").click()
    assert not review.is_visible()
    assert posts_to_tx(sent) == []

    # Sending to one of your own addresses: a warning in the review.
    page.get_by_test_id("send-to").fill(me)
    page.get_by_test_id("send-submit").click()
    eventually("the own-address warning", lambda: page.get_by_test_id("review-warning").is_visible(), timeout=20)
    assert "own address" in page.get_by_test_id("review-warning").inner_text()
    # Editing the form drops the review: what is confirmed is what was shown.
    page.get_by_test_id("send-to").fill(faucet_address)
    assert not review.is_visible()
    assert posts_to_tx(sent) == []

    page.get_by_test_id("send-submit").click()
    eventually("the review again", lambda: review.is_visible(), timeout=20)
    page.get_by_test_id("send-confirm").click()
    result = page.get_by_test_id("send-result")
    txid = eventually("the txid", lambda: (re.search(r"[0-9a-f]{64}", result.inner_text()) or [None])[0], timeout=60)
    assert len(posts_to_tx(sent)) == 1
    assert "0.5 CRN" in result.inner_text()
    eventually("sent and confirmed", lambda: result.get_attribute("data-status") == "confirmed", timeout=60)

    # A new attempt that fails: the old green result goes, so the error can't read as if it was sent.
    page.get_by_test_id("send-amount").fill("100000")
    page.get_by_test_id("send-submit").click()
    eventually("insufficient funds", lambda: "insufficient" in error.inner_text().lower(), timeout=20)
    assert not result.is_visible()
    assert txid not in page.locator("#send-form").inner_text()
    assert len(posts_to_tx(sent)) == 1

    # The history as CSV: the payment with its exact amount and fee.
    with page.expect_download() as dl:
        page.get_by_test_id("history-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(dl.value.path()).read_text())))
    mine = [r for r in rows if r["txid"] == txid]
    assert len(mine) == 1 and mine[0]["status"] == "confirmed" and mine[0]["counterparty"] == faucet_address
    assert abs(float(mine[0]["amount_crn"]) + 0.5 + fee) < 1e-9 and abs(float(mine[0]["fee_crn"]) - fee) < 1e-9
    assert any(r["counterparty"] == faucet_address and float(r["amount_crn"]) == 10 for r in rows), rows

    # The explorer shows the transaction's raw hex, as the edge serves it.
    ex = ctx.new_page()
    ex.goto(f"{stack.wallet}/explorer.html#/tx/{txid}")
    raw = ex.get_by_test_id("tx-raw")
    eventually("the raw panel", lambda: raw.is_visible(), timeout=30)
    raw.locator("summary").click()
    expected = http_json(f"{stack.edge}/api/tx/{txid}/hex")[1].strip()
    eventually("the raw hex", lambda: ex.get_by_test_id("tx-hex").inner_text().strip() == expected, timeout=20)
    ctx.close()


def test_hung_edge_is_stale_within_a_few_blocks_on_both_pages(stack, browser, artifacts):
    """SIGSTOP keeps the edge's sockets open and silent (a hung process): both pages must say so
    within a few of the chain's 1-second block intervals (they looked live for about 31 s)."""
    ctx = browser.new_context()
    wallet = ctx.new_page()
    wallet.goto(stack.wallet + "/")
    explorer = ctx.new_page()
    explorer.goto(stack.wallet + "/explorer.html#/")
    eventually("explorer live", lambda: latest_height(explorer) >= 0, timeout=60)
    eventually("wallet live", lambda: wallet.get_by_test_id("connection-status").get_attribute("data-state") == "online", timeout=60)
    pid = eventually("the edge's pid", lambda: edge_pid(stack))
    os.kill(pid, signal.SIGSTOP)
    try:
        stopped = time.monotonic()
        for page in (explorer, wallet):
            banner = page.get_by_test_id("offline-banner")
            eventually("the stale banner", lambda: banner.is_visible() and "stale" in banner.inner_text().lower(), timeout=40)
        took = time.monotonic() - stopped
        explorer.screenshot(path=str(artifacts / "explorer-stale.png"), full_page=True)
        # The feed's own check takes 20 s of silence and a 6 s probe: well before that.
        assert took < 15, f"stale only after {took:.1f} s"
        assert "live" not in explorer.locator("#conn-state").inner_text()
        assert wallet.get_by_test_id("connection-status").get_attribute("data-state") == "stale"
    finally:
        os.kill(pid, signal.SIGCONT)
    for page in (explorer, wallet):
        eventually("the banner gone", lambda: not page.get_by_test_id("offline-banner").is_visible(), timeout=60)
    ctx.close()


def test_explorer_summary_height_and_search_box(stack, browser):
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(stack.wallet + "/explorer.html#/")
    eventually("summary", lambda: page.get_by_test_id("summary-height").count() > 0 and latest_height(page) >= 1, timeout=60)
    # Each time the block list changes, the summary's height already says the same (it was one behind).
    page.evaluate("""() => {
      window.__heights = [];
      const list = document.querySelector('[data-testid="latest-blocks"]');
      new MutationObserver(() => {
        const rows = [...list.querySelectorAll('[data-height]')].map((r) => Number(r.dataset.height));
        const s = document.querySelector('[data-testid="summary-height"]');
        if (rows.length && s) window.__heights.push([Math.max(...rows), Number(s.textContent)]);
      }).observe(list, { childList: true, subtree: true });
    }""")
    eventually("three new blocks", lambda: len(page.evaluate("window.__heights")) >= 3, timeout=60)
    pairs = page.evaluate("window.__heights")
    assert all(summary >= listed for listed, summary in pairs), pairs

    # A txid found in one question: no 404 in the console (the block was tried first).
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    tip = http_json(stack.edge + "/api/blocks/tip/hash")[1].strip()
    coinbase = http_json(f"{stack.edge}/api/block/{tip}/txids")[1][0]
    search(page, coinbase)
    eventually("the tx page", lambda: here(page).endswith("/tx/" + coinbase) and page.get_by_test_id("tx-outputs").is_visible(), timeout=20)
    search(page, tip)
    eventually("the block page", lambda: here(page).endswith("/block/" + tip), timeout=20)
    assert not [e for e in errors if "404" in e], errors

    # A mistyped address is refused at the box, with the reason, and nothing navigates.
    address = http_json(stack.edge + "/api/faucet")[1]["address"]
    typo = address[:-1] + ("q" if address[-1] != "q" else "p")
    before = here(page)
    search(page, typo)
    err = page.locator("#search-error")
    eventually("the checksum message", lambda: err.is_visible() and "checksum" in err.inner_text(), timeout=10)
    assert here(page) == before

    # The explorer's address page has the address's QR code too.
    page.goto(f"{stack.wallet}/explorer.html#/address/{address}")
    qr = page.get_by_test_id("address-qr").locator("svg")
    eventually("the explorer's QR code", lambda: qr.count() == 1 and qr.is_visible(), timeout=30)
    assert read_qr(qr) == address
    ctx.close()
