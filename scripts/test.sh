#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
swift build --build-tests
swift test --skip-build
# The browser wallet's JavaScript on its own (BIP-350 vectors, encodings, keystore, coin selection).
node --test Tests/WalletFrontTests/js/
# In Chromium against a real node started from the binaries just built (screenshots: .build/test-artifacts/browser/).
python3 -m pytest -q Tests/BrowserTests
# JSON-RPC against a real node with stock clients (requests, python-bitcoinrpc's AuthServiceProxy).
python3 -m pytest -q Tests/RPCTests
# On a real Docker engine (started here when none answers, and stopped again): docker/compose.yaml,
# docker/stack.yaml on a one-node swarm, and scripts/up.sh on a fresh Debian machine in a container
# (Tests/ContainerTests/conftest.py says how; logs in .build/test-artifacts/containers/).
python3 -m pytest -q -s -p no:cacheprovider Tests/ContainerTests
