"""Fixtures for the browser tests: a real node stack (`cairn up`, built binaries) and Chromium.

The stack runs on its own data folder and a port offset of the BrowserTests range of
Tests/ports.json (the other suites use other ranges), so it can't clash with a node the developer runs. Chromium is Debian's, driven
by Playwright. Screenshots go to .build/test-artifacts/browser/.
"""
import os
import shutil
import signal
import sys
import subprocess
import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "PySupport"))
from cairn_testing import eventually, http_json, port_offset  # noqa: E402,F401 - the tests import the first two from here

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("CAIRN_BIN", REPO / ".build" / "debug"))
ARTIFACTS = REPO / ".build" / "test-artifacts" / "browser"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


class Stack:
    def __init__(self, extra=()):
        for name in ("cairn", "cairn-edge", "cairn-walletfront"):
            if not (BIN / name).exists():
                pytest.fail(f"{BIN / name} is missing: build first (swift build --build-tests)")
        self.dir = tempfile.mkdtemp(prefix="cairn-browser-")
        self.offset = port_offset("BrowserTests")
        self.edge = f"http://127.0.0.1:{8340 + self.offset}"
        self.wallet = f"http://127.0.0.1:{8341 + self.offset}"
        self.log = open(os.path.join(self.dir, "cairn-up.log"), "w")
        self.proc = subprocess.Popen(
            [str(BIN / "cairn"), "up", "--data", os.path.join(self.dir, "data"), "--port-offset", str(self.offset),
             "--block-interval", "1", *extra],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        eventually("the edge", lambda: http_json(self.edge + "/api/chain")[0] == 200, timeout=120)
        eventually("the wallet front", lambda: http_json(self.wallet + "/config.json")[0] == 200, timeout=60)

    def logs(self):
        out = []
        logdir = Path(self.dir) / "data" / "logs"
        for f in sorted(logdir.glob("*.log")) if logdir.exists() else []:
            out.append(f"--- {f.name}\n" + f.read_text(errors="replace")[-3000:])
        return "\n".join(out)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


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
