"""Fixtures for the browser tests: a real node stack (`cairn up`, built binaries) and Chromium.

The stack runs on its own data folder and a port offset of the BrowserTests range of
Tests/ports.json (the other suites use other ranges), so it can't clash with a node the developer runs. Chromium is Debian's, driven
by Playwright. Screenshots go to .build/test-artifacts/browser/.
"""
import os
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "PySupport"))
from cairn_testing import BIN, REPO, CairnUp, eventually, http_json  # noqa: E402,F401 - the tests import BIN, eventually and http_json from here

ARTIFACTS = REPO / ".build" / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class Stack(CairnUp):
    def __init__(self, extra=()):
        super().__init__("BrowserTests", "cairn-browser-", ["--block-interval", "1", *extra],
                         binaries=("cairn", "cairn-edge", "cairn-walletfront"))
        self.ready("the edge", lambda: http_json(self.edge + "/api/chain")[0] == 200)
        self.ready("the wallet front", lambda: http_json(self.wallet + "/config.json")[0] == 200, timeout=60)

    def stop(self):
        super().stop()
        self.remove()


@pytest.fixture(scope="session")
def stack():
    s = Stack()
    yield s
    s.stop()


CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-dev-shm-usage"]


@pytest.fixture(scope="session")
def playwright():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run scripts/install-deps.sh (Debian package chromium)")
    with sync_playwright() as p:
        yield p


def launch(playwright, extra_args=()):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS + list(extra_args))


@pytest.fixture(scope="session")
def browser(playwright):
    b = launch(playwright)
    yield b
    b.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
