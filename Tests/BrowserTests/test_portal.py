"""The developer portal in Chromium against a real node (issue 10): sign up, create a key, call the
API with it from the page's own snippets (the fetch one run in the page, the curl one in a shell),
see the calls in the usage table and charts, revoke the key and see the same call get 401."""
import json
import secrets
import subprocess

from conftest import eventually, http_json

# The snippet is the body of an async function: its console.log is captured and returned.
RUN_FETCH = "async (snippet) => { const out = []; const console = { log: (...a) => out.push(a) }; %s; return out; }"


def run_fetch_snippet(page, text):
    return page.evaluate(RUN_FETCH % text, None)


def usage_of(page, method):
    row = page.locator(f'[data-testid="usage-method"][data-method="{method}"]')
    return int(row.get_attribute("data-requests")) if row.count() else 0


def test_portal_sign_up_key_call_usage_revoke(stack, browser, artifacts):
    name = "dev-" + secrets.token_hex(4)
    ctx = browser.new_context()
    page = ctx.new_page()
    errors = []
    # Chromium logs every answer >= 400 as "Failed to load resource": the 401s below are expected.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        # Reached from the wallet's nav.
        page.goto(stack.wallet + "/")
        page.get_by_role("link", name="Developers").click()
        page.wait_for_url("**/portal.html")
        # Filled in once the page has its configuration (it shows "…" until then).
        edge_url = page.get_by_test_id("edge-url")
        eventually("the edge's URL on the page", lambda: edge_url.inner_text() == stack.edge, timeout=15)
        eventually("the sign-up form (open on regtest)", lambda: page.get_by_test_id("signup-form").is_visible(), timeout=30)

        # Sign up.
        page.get_by_test_id("signup-name").fill(name)
        page.get_by_test_id("signup-password").fill("a developer's password")
        page.get_by_test_id("signup-submit").click()
        eventually("the account view", lambda: page.get_by_test_id("account-view").is_visible(), timeout=30)
        assert page.get_by_test_id("account-name").inner_text() == name
        token = page.evaluate("JSON.parse(sessionStorage.getItem('cairn.portal.session')).token")
        assert token.startswith("cs_")
        assert "a developer's password" not in json.dumps(page.evaluate("Object.assign({}, sessionStorage, localStorage)"))

        # Create a key: its secret shown once, and filled into its snippets.
        page.get_by_test_id("key-name").fill("my app")
        page.get_by_test_id("create-key").click()
        secret = page.get_by_test_id("new-secret-key")
        eventually("the new key", lambda: secret.inner_text().startswith("ck_"), timeout=30)
        key = secret.inner_text()
        card = page.locator('[data-testid="key"][data-name="my app"]')
        eventually("the key in the list", lambda: card.count() == 1, timeout=15)
        key_id = card.get_attribute("data-id")
        assert key.startswith(f"ck_{key_id}_")
        fetch_text = card.get_by_test_id("snippet-fetch").inner_text()
        curl_text = card.get_by_test_id("snippet-curl").inner_text()
        assert key in fetch_text and stack.edge in fetch_text
        assert key in curl_text and stack.edge in curl_text

        # The page's fetch snippet, run in the page: a JSON-RPC answer through the key.
        height = int(http_json(stack.edge + "/api/blocks/tip/height")[1])
        out = run_fetch_snippet(page, fetch_text)
        assert len(out) == 1 and out[0][0] == 200, out
        assert out[0][1]["result"] >= height and "error" not in out[0][1]
        # The curl snippet, run by a shell as a developer would.
        got = subprocess.run(["sh", "-c", curl_text], capture_output=True, text=True, timeout=30)
        assert got.returncode == 0 and int(got.stdout) >= height, got

        # Both calls appear in the usage (the edge reports every second; the page refreshes on demand).
        def counted():
            page.get_by_test_id("usage-refresh").click()
            page.wait_for_timeout(300)
            return usage_of(page, "getblockcount") >= 1 and usage_of(page, "GET /api/blocks/tip/height") >= 1
        eventually("the calls in the usage table", counted, timeout=45, interval=1)
        assert int(page.get_by_test_id("usage-totals").get_attribute("data-requests")) >= 2
        # Drawn as charts by Chart.js (served from Debian's libjs-chart.js).
        assert page.evaluate("typeof Chart") == "function"
        assert page.evaluate("Chart.getChart(document.getElementById('usage-hours')).data.datasets[0].data.reduce((a, b) => a + b, 0)") >= 2
        assert page.evaluate("Chart.getChart(document.getElementById('usage-methods')).data.labels").count("getblockcount") == 1
        page.screenshot(path=str(artifacts / "portal-usage.png"), full_page=True)

        # Revoke (a second click confirms): the same snippet now gets 401.
        card.get_by_test_id("revoke-key").click()
        card.get_by_test_id("revoke-confirm").click()
        eventually("the key shown revoked", lambda: card.get_attribute("data-state") == "revoked", timeout=15)
        out = eventually("401 for the revoked key", lambda: (lambda o: o if o[0][0] == 401 else None)(run_fetch_snippet(page, fetch_text)),
                         timeout=15)
        assert out[0][1]["error"]["code"] == "invalid-api-key", out
        got = subprocess.run(["sh", "-c", curl_text.replace("curl -s", "curl -s -o /dev/null -w '%{http_code}'", 1)],
                             capture_output=True, text=True, timeout=30)
        assert got.stdout == "401", got

        # Another account sees none of it (the session belongs to one account only).
        other = http_json(stack.edge + "/api/portal/signup", {"name": name + "-other", "password": "another password"})
        assert other[0] == 201, other
        auth = {"Authorization": "Bearer " + other[1]["token"]}
        assert http_json(stack.edge + "/api/portal/keys", headers=auth)[1] == []
        status, body, _ = http_json(stack.edge + f"/api/portal/keys/{key_id}/rotate", {}, headers=auth)
        assert status == 404 and body["error"]["code"] == "not-found"

        # Log out: the session no longer works.
        page.get_by_test_id("logout").click()
        eventually("the login form", lambda: page.get_by_test_id("auth-view").is_visible(), timeout=15)
        status, body, _ = http_json(stack.edge + "/api/portal/keys", headers={"Authorization": "Bearer " + token})
        assert status == 401, body
        assert errors == [], errors
    finally:
        ctx.close()


def test_portal_sign_up_closed_by_the_operator(browser):
    """`cairn up --portal-signup off`: the page offers login only, and the edge refuses sign-up with 403."""
    from conftest import Stack
    s = Stack(extra=("--portal-signup", "off", "--no-miner"))
    ctx = browser.new_context()
    try:
        assert http_json(s.edge + "/api/portal")[1]["signup"] is False
        status, body, _ = http_json(s.edge + "/api/portal/signup", {"name": "nobody", "password": "a long password"})
        assert status == 403 and body["error"]["code"] == "signup-closed", body
        page = ctx.new_page()
        page.goto(s.wallet + "/portal.html")
        eventually("the closed notice", lambda: page.get_by_test_id("signup-closed").is_visible(), timeout=30)
        assert page.get_by_test_id("signup-form").is_hidden()
        assert page.get_by_test_id("login-form").is_visible()
        # A wrong login: 401, said on the page.
        page.get_by_test_id("login-name").fill("nobody")
        page.get_by_test_id("login-password").fill("a long password")
        page.get_by_test_id("login-submit").click()
        eventually("the refusal", lambda: "wrong account name or password" in page.get_by_test_id("portal-error").inner_text(), timeout=15)
    finally:
        ctx.close()
        s.stop()
