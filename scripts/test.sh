#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --test
swift build --build-tests
# The process tests start many nodes at once, each on its service ports + an offset from its suite's
# range of Tests/ports.json (100-9990): the bus ports 28330-28339 + offset lie in Linux's ephemeral
# range (32768-60999), where an outgoing connection of another test can take one first. Reserve them for the run where we may (root; the setting is this network namespace's).
if [ -w /proc/sys/net/ipv4/ip_local_reserved_ports ]; then
    before=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports)
    trap 'echo "${before:-}" > /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true' EXIT
    echo "${before:+$before,}32768-38400" > /proc/sys/net/ipv4/ip_local_reserved_ports
fi
# The CLI's tests in a test process of their own: they run `cairn up`'s Supervisor in-process, which
# starts children with Foundation's Process (spawned from one fixed thread, which `setpriv --pdeathsig`
# ties the children's parent-death signal to); on Linux its run() reads past its /proc/self/fd buffer
# once ~1,350 descriptors are open, as in a test process running the bus tests in parallel (a SIGSEGV).
swift test --skip-build --skip CairnCLITests
swift test --skip-build --filter CairnCLITests
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
