"""The explorer in Chromium against a real node: search by each kind of key, the interval and
difficulty chart, phone width, and the edge going away and coming back (offline banner, then
recovery with fresh data and live updates)."""
import os
import re
import signal
import subprocess
import time

from conftest import eventually, http_json


def latest_height(page):
    rows = page.get_by_test_id("latest-blocks").locator("[data-height]")
    return max(int(rows.nth(i).get_attribute("data-height")) for i in range(rows.count())) if rows.count() else -1


def here(page):
    """The page's own location (hash routes included)."""
    return page.evaluate("location.href")


def search(page, text):
    page.get_by_test_id("search-input").fill(text)
    page.get_by_test_id("search-input").press("Enter")   # a real form: Enter submits, no mouse needed


def test_search_chart_and_phone_width(stack, browser, artifacts):
    ctx = browser.new_context(viewport={"width": 360, "height": 780})
    page = ctx.new_page()
    page.goto(stack.wallet + "/explorer.html#/")
    eventually("latest blocks", lambda: latest_height(page) >= 3, timeout=60)
    # No horizontal scrolling at phone width.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360 + 1
    page.screenshot(path=str(artifacts / "explorer-home-phone.png"), full_page=True)

    _, block, _ = http_json(f"{stack.edge}/api/block-height/2")
    block_hash = block if isinstance(block, str) else block["id"]
    search(page, "2")
    eventually("block page by height", lambda: "/block/" in here(page) and page.get_by_test_id("block-header").is_visible()
               and block_hash in page.locator("body").inner_text())
    coinbase = http_json(f"{stack.edge}/api/block/{block_hash}/txids")[1][0]
    search(page, coinbase)
    eventually("tx page by txid", lambda: "/tx/" in here(page) and page.get_by_test_id("tx-outputs").is_visible())
    address = re.search(r"rcrn1[0-9a-z]+", page.get_by_test_id("tx-outputs").inner_text()).group(0)
    search(page, block_hash)
    eventually("block page by hash", lambda: here(page).endswith("/block/" + block_hash) and page.get_by_test_id("block-txs").is_visible())
    search(page, address)
    eventually("address page", lambda: "/address/" in here(page) and page.get_by_test_id("address-balance").is_visible())
    search(page, "definitely not a key")
    error = page.locator("#search-error")
    eventually("a clear answer for an unknown search", lambda: error.is_visible() and len(error.inner_text().strip()) > 10)
    assert "/address/" in here(page)      # nothing navigated

    page.goto(stack.wallet + "/explorer.html#/")
    chart = page.get_by_test_id("interval-chart")
    eventually("the interval chart draws points", lambda: chart.locator("svg").count() > 0
               and chart.locator("svg circle, svg path, svg polyline, svg rect").count() > 1, timeout=30)
    ctx.close()


def edge_pid(stack):
    out = subprocess.run(["pgrep", "-f", f"cairn-edge .*{stack.dir}"], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else None


def test_offline_banner_then_recovery(stack, browser, artifacts):
    """The supervisor is paused so it cannot restart the edge at once; the edge is killed; the page
    says it is offline; the supervisor resumes and restarts the edge; the page recovers by itself."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(stack.wallet + "/explorer.html#/")
    eventually("live", lambda: latest_height(page) >= 0, timeout=60)
    banner = page.get_by_test_id("offline-banner")
    assert not banner.is_visible()
    pid = eventually("the edge's pid", lambda: edge_pid(stack))
    os.kill(stack.proc.pid, signal.SIGSTOP)
    try:
        os.kill(pid, signal.SIGKILL)
        eventually("the offline banner", lambda: banner.is_visible(), timeout=30)
        assert "offline" in banner.inner_text().lower() or "not reachable" in banner.inner_text().lower()
        page.screenshot(path=str(artifacts / "explorer-offline.png"), full_page=True)
        before = latest_height(page)
        time.sleep(2)                       # the node keeps mining meanwhile
    finally:
        os.kill(stack.proc.pid, signal.SIGCONT)
    eventually("the edge back", lambda: http_json(stack.edge + "/api/blocks/tip/height")[0] == 200, timeout=60)
    eventually("the banner gone", lambda: not banner.is_visible(), timeout=60)
    eventually("new blocks shown again", lambda: latest_height(page) > before, timeout=60)
    ctx.close()
