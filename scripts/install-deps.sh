#!/usr/bin/env bash
# Installs what Cairn needs on a Debian machine that already has Swift, and
# nothing that is already there. Safe to run again.
#
#   bash scripts/install-deps.sh          what building and running a node needs (scripts/up.sh)
#   bash scripts/install-deps.sh --test   that, plus what the test suite needs (scripts/test.sh)
set -euo pipefail

with_tests=0
[ "${1:-}" = "--test" ] && with_tests=1

# Building and running: libzmq (the bus), libcrypto (the miner's SHA-256 midstate),
# SQLite's headers (GRDB links the system SQLite), pkg-config (SwiftPM reads libzmq.pc),
# node-qrcode-generator (the QR code library the wallet front serves from where Debian installs it),
# python3-mnemonic (the BIP-39 English word list of the recovery phrase, read by cairn and served to the wallet),
# libjs-chart.js (Chart.js, the developer portal's usage charts, served by the wallet front from where Debian installs it).
wanted=(libzmq3-dev libssl-dev libsqlite3-dev pkg-config node-qrcode-generator python3-mnemonic libjs-chart.js)
if [ "$with_tests" -eq 1 ]; then
    # chromium: the browser tests (Debian's, driven by Playwright); nodejs: the wallet's JavaScript
    # tests; openssl: test certificates; docker.io (dockerd, containerd, runc) and docker-compose
    # (v1): the container and swarm tests, which make their base images with mmdebstrap;
    # python3, python3-pip: the Python tests; libzbar0: the browser tests read the QR codes back (pyzbar).
    wanted+=(python3 python3-pip docker.io docker-compose mmdebstrap chromium nodejs openssl libzbar0)
fi

need_apt=()
for pkg in "${wanted[@]}"; do
    # python3/pip and node may come from elsewhere (pyenv, nodesource): ask apt only when the
    # command is missing. Each name is compared whole (python3-pip is not python3).
    case "$pkg" in
        python3) command -v python3 >/dev/null && continue ;;
        python3-pip) { command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1; } && continue ;;
        nodejs) command -v node >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing with apt-get: ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if [ "$with_tests" -eq 1 ]; then
    # Python packages the tests use: pyzmq (bus interop), pytest + playwright (browser tests, with
    # Debian's chromium, so no browser download), cryptography (the tests decrypt an exported
    # keystore), pyzbar + pillow (decode the wallet's QR codes), requests + python-bitcoinrpc (a
    # stock bitcoind-style JSON-RPC client against /rpc).
    need_pip=()
    python3 -c "import zmq" 2>/dev/null || need_pip+=(pyzmq)
    python3 -c "import pytest" 2>/dev/null || need_pip+=(pytest)
    python3 -c "import playwright" 2>/dev/null || need_pip+=(playwright)
    python3 -c "import cryptography" 2>/dev/null || need_pip+=(cryptography)
    python3 -c "import pyzbar.pyzbar" 2>/dev/null || need_pip+=(pyzbar)
    python3 -c "import PIL" 2>/dev/null || need_pip+=(pillow)
    python3 -c "import requests" 2>/dev/null || need_pip+=(requests)
    python3 -c "import bitcoinrpc.authproxy" 2>/dev/null || need_pip+=(python-bitcoinrpc)
    if [ ${#need_pip[@]} -gt 0 ]; then
        echo "installing with pip: ${need_pip[*]}"
        python3 -m pip install -q "${need_pip[@]}" 2>/dev/null || python3 -m pip install -q --break-system-packages "${need_pip[@]}"
    fi
fi

command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 first (https://swift.org/install)"; exit 1; }
pkg-config --exists libzmq || { echo "libzmq's pkg-config file is missing after install"; exit 1; }
pkg-config --exists sqlite3 || { echo "SQLite's pkg-config file is missing after install (libsqlite3-dev)"; exit 1; }
