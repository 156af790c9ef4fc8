"""The recovery phrase in Chromium against a real node (`cairn up`): a new account's phrase is shown,
a wrong word typed back is refused (no account made), the right ones make the account; restoring
the phrase in a second browser context gives the same addresses, which are also the addresses
`cairn wallet restore` derives; a bad-checksum phrase and an unknown word are refused with the
word named. The phrase itself is never stored by the page.
"""
import json
import os
import subprocess
import tempfile

from conftest import BIN, eventually
from test_wallet import STORAGE_DUMP, phrase_words

PASSWORD = "a long password for the phrase test"
BAD_CHECKSUM = "legal winner thank year wave sausage worth useful legal winner yellow thank"


def cli_address(words, account):
    """`cairn wallet restore --account N` from the phrase: the address it prints."""
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, CAIRN_WALLET_PASSWORD="pw", CAIRN_WALLET_PHRASE=" ".join(words))
        r = subprocess.run([str(BIN / "cairn"), "wallet", "restore", "--network", "regtest", "--edge", "http://127.0.0.1:9",
                            "--account", str(account), "--keystore", os.path.join(d, "w.json")],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        lines = [l.split(None, 1) for l in r.stdout.splitlines() if l.strip()]
        return dict((k, v.strip()) for k, v in lines)["address"]


def stored(page):
    dump = page.evaluate(STORAGE_DUMP)
    return json.loads(dump["idb"]), dump["idb"] + dump["ls"]


def test_phrase_check_and_restore_in_another_context(stack, browser, artifacts):
    # A: create with a 24-word phrase.
    ctx_a = browser.new_context(viewport={"width": 1280, "height": 900})
    a = ctx_a.new_page()
    a.goto(stack.wallet + "/")
    a.get_by_test_id("password").fill(PASSWORD)
    a.get_by_test_id("password-confirm").fill(PASSWORD)
    a.get_by_test_id("phrase-words").select_option("24")
    a.get_by_test_id("create-account").click()
    words = phrase_words(a)
    assert len(words) == 24
    a.screenshot(path=str(artifacts / "phrase-shown.png"))
    a.get_by_test_id("phrase-written").click()
    # The words leave the screen while three of them are asked back.
    asked = a.locator("#phrase-asked input")
    eventually("the words asked back", lambda: asked.count() == 3, timeout=10)
    assert not a.get_by_test_id("phrase-list").is_visible()
    positions = [int(asked.nth(i).get_attribute("data-position")) for i in range(3)]
    assert len(set(positions)) == 3 and all(1 <= p <= 24 for p in positions)

    # A wrong word is refused, naming its position; no account exists yet.
    wrong = "zoo" if words[positions[0] - 1] != "zoo" else "abandon"
    asked.nth(0).fill(wrong)
    asked.nth(1).fill(words[positions[1] - 1])
    asked.nth(2).fill(words[positions[2] - 1])
    a.get_by_test_id("phrase-confirm").click()
    error = a.get_by_test_id("phrase-error")
    eventually("the wrong word refused", lambda: error.is_visible() and f"Word {positions[0]}" in error.inner_text(), timeout=10)
    assert "does not match" in error.inner_text()
    assert not a.get_by_test_id("address").is_visible()
    records, _ = stored(a)
    assert records == []
    a.screenshot(path=str(artifacts / "phrase-wrong-word.png"))

    # The right word makes the account (account 0 of the phrase).
    asked.nth(0).fill(" " + words[positions[0] - 1].upper() + " ")
    a.get_by_test_id("phrase-confirm").click()
    address = a.get_by_test_id("address")
    eventually("account made", lambda: address.is_visible() and address.inner_text().strip().startswith("rcrn1"), timeout=60)
    first = address.inner_text().strip()
    records, everything = stored(a)
    assert [r["address"] for r in records] == [first]
    assert records[0]["phrase"]["path"] == "m/44'/7369'/0'/0'/0'"
    # The keystore is stored; the phrase is not (not even a few of its words in a row).
    assert "ciphertext" in json.dumps(records[0]["keystore"])
    assert " ".join(words[:3]) not in everything and json.dumps(words[:3])[1:-1] not in everything

    # B: another browser context (another profile's storage) restores from the phrase.
    ctx_b = browser.new_context(viewport={"width": 1280, "height": 900})
    b = ctx_b.new_page()
    b.goto(stack.wallet + "/")
    b.get_by_test_id("show-restore").click()
    restore_error = b.get_by_test_id("restore-error")

    def try_restore(phrase, count="1"):
        b.get_by_test_id("restore-phrase").fill(phrase)
        b.get_by_test_id("restore-count").fill(count)
        b.get_by_test_id("restore-password").fill(PASSWORD)
        b.get_by_test_id("restore-password-confirm").fill(PASSWORD)
        b.get_by_test_id("restore-submit").click()

    # A bad checksum: refused with the last word named; nothing stored.
    try_restore(BAD_CHECKSUM)
    eventually("bad checksum refused", lambda: restore_error.is_visible() and "checksum" in restore_error.inner_text(), timeout=20)
    assert "'thank'" in restore_error.inner_text() and "Nothing was restored" in restore_error.inner_text()
    b.screenshot(path=str(artifacts / "phrase-bad-checksum.png"))
    # A mistyped word: refused by its position, with the word it probably was.
    typo = list(words)
    typo[4] = typo[4][:-1] + ("q" if typo[4][-1] != "q" else "x")
    try_restore(" ".join(typo))
    eventually("unknown word refused", lambda: f"Word 5 '{typo[4]}' is not in the BIP-39 English list" in restore_error.inner_text(), timeout=20)
    assert stored(b)[0] == []

    # The real phrase, two accounts: the first is A's address.
    try_restore("\n".join(words), count="2")
    eventually("restored", lambda: b.get_by_test_id("address").is_visible(), timeout=60)
    options = b.get_by_test_id("account-select").locator("option")
    eventually("two accounts", lambda: options.count() == 2, timeout=20)
    restored = [options.nth(i).get_attribute("value") for i in range(2)]
    assert restored[0] == first
    assert restored[1] != first
    assert b.get_by_test_id("address").inner_text().strip() == first
    b.screenshot(path=str(artifacts / "phrase-restored.png"))

    # The command line derives the same addresses from the same phrase.
    assert cli_address(words, 0) == first
    assert cli_address(words, 1) == restored[1]

    # Several accounts from one phrase: restoring it again with a larger count keeps the two accounts
    # already here and adds the third (account 2, as the command line derives it).
    b.get_by_test_id("show-restore").click()
    try_restore(" ".join(words), count="3")
    eventually("three accounts", lambda: options.count() == 3, timeout=60)
    after = [options.nth(i).get_attribute("value") for i in range(3)]
    assert after[:2] == restored
    assert after[2] == cli_address(words, 2)

    ctx_a.close()
    ctx_b.close()
