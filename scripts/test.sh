#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build --build-tests
swift test --skip-build
# The browser wallet's JavaScript on its own (BIP-350 vectors, encodings, keystore, coin selection).
node --test Tests/WalletFrontTests/js/
# In Chromium against a real node started from the binaries just built (screenshots: .build/test-artifacts/browser/).
python3 -m pytest -q Tests/BrowserTests
