"""The wallet's receive panel in Chromium (issue 13). Payment requests: the receive panel's "Request a payment" turns the QR code into a
`cairn:` URI with the amount and the label, which a QR reader (pyzbar) reads back exactly; pasting that URI
into another wallet's address field fills the address and the amount and says it came from a request; a
request with a bad amount is refused at the field, and nothing is posted. The backup reminder: shown for an
account that has no backup (made before recovery phrases, never exported) until its keystore is saved."""
from urllib.parse import quote

from conftest import eventually
from test_wallet import new_wallet
from test_newcomer import read_qr, PASSWORD


def test_payment_request_qr_and_paste(stack, browser):
    ctx_a, page_a, a = new_wallet(browser, stack, [], "Payee", PASSWORD)
    ctx_b, page_b, b = new_wallet(browser, stack, [], "Payer", PASSWORD)
    try:
        qr = page_a.get_by_test_id("address-qr").locator("svg")
        eventually("the address QR code", lambda: qr.count() == 1 and qr.is_visible(), timeout=20)
        assert read_qr(qr) == a, "no request yet: the QR code is the bare address"

        page_a.get_by_test_id("request").locator("summary").click()
        page_a.get_by_test_id("request-amount").fill("1.25")
        page_a.get_by_test_id("request-label").fill("Coffee & cake")
        want = f"cairn:{a}?amount=1.25&label={quote('Coffee & cake', safe='')}"
        uri = page_a.get_by_test_id("request-uri")
        eventually("the request's URI", lambda: uri.inner_text().strip() == want, timeout=10)
        eventually("the QR code carries the request", lambda: qr.count() == 1 and read_qr(qr) == want, timeout=10)

        # A bad amount: said at the field, and the QR code goes back to the bare address.
        page_a.get_by_test_id("request-amount").fill("-3")
        eventually("the amount refused", lambda: page_a.locator("#request-error").is_visible(), timeout=10)
        eventually("the bare address again", lambda: qr.count() == 1 and read_qr(qr) == a, timeout=10)

        # The payer pastes the URI: the form is filled from it, nothing is posted before the review.
        posted = []
        page_b.on("request", lambda r: posted.append(r.url) if r.method == "POST" and "/api/tx" in r.url else None)
        page_b.get_by_test_id("send-to").fill(want)
        eventually("the address taken from the request", lambda: page_b.get_by_test_id("send-to").input_value() == a, timeout=10)
        assert page_b.get_by_test_id("send-amount").input_value() == "1.25"
        note = page_b.get_by_test_id("send-request")
        eventually("the request's note", lambda: note.is_visible() and "Coffee & cake" in note.inner_text(), timeout=10)
        # A request this wallet cannot honour is refused at the field.
        page_b.get_by_test_id("send-to").fill(f"cairn:{a}?amount=1&req-escrow=1")
        eventually("the unknown required parameter named", lambda: "req-escrow" in page_b.locator("#send-to-error").inner_text(), timeout=10)
        assert posted == []
    finally:
        ctx_a.close()
        ctx_b.close()


LEGACY = """async () => {
  // An account as the wallet stored it before recovery phrases: no phrase, never exported, not imported.
  const db = await new Promise((ok, no) => { const r = indexedDB.open("cairn-wallet"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  await new Promise((ok, no) => {
    const t = db.transaction("accounts", "readwrite"), s = t.objectStore("accounts"), all = s.getAll();
    all.onsuccess = () => { for (const r of all.result) { delete r.phrase; delete r.exportedAt; delete r.imported; s.put(r); } };
    t.oncomplete = ok; t.onerror = () => no(t.error);
  });
  db.close();
}"""


def test_backup_reminder_until_the_keystore_is_exported(stack, browser):
    ctx, page, me = new_wallet(browser, stack, [], "Old", PASSWORD)
    try:
        reminder = page.get_by_test_id("backup-reminder")
        assert not reminder.is_visible(), "an account made from a checked phrase is backed up"
        page.evaluate(LEGACY)
        page.reload()
        eventually("the old account's reminder", lambda: reminder.is_visible(), timeout=20)
        with page.expect_download():
            page.get_by_test_id("export-keystore").click()
        eventually("the reminder gone once the keystore is saved", lambda: not reminder.is_visible(), timeout=10)
        page.reload()
        eventually("the account again", lambda: page.get_by_test_id("address").inner_text().strip() == me, timeout=20)
        assert not reminder.is_visible(), "remembered across a reload"
    finally:
        ctx.close()
