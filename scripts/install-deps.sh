#!/usr/bin/env bash
# Installs what Cairn needs on a Debian machine that already has Swift, and
# nothing that is already there. Safe to run again.
set -euo pipefail

need_apt=()
# chromium: the browser tests (Debian's, driven by Playwright); nodejs: the wallet's JavaScript tests.
for pkg in libzmq3-dev libssl-dev pkg-config python3 python3-pip docker-compose chromium nodejs openssl; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# python3/pip may come from elsewhere (pyenv): only ask apt when the command is missing.
if command -v python3 >/dev/null; then need_apt=("${need_apt[@]/python3}"); fi
if command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1; then need_apt=("${need_apt[@]/python3-pip}"); fi
# node may come from elsewhere too.
if command -v node >/dev/null; then need_apt=("${need_apt[@]/nodejs}"); fi
read -r -a need_apt <<<"${need_apt[*]}"

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing with apt-get: ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# Python packages the tests use: pyzmq (bus interop), pytest + playwright (browser tests, with
# Debian's chromium, so no browser download), cryptography (the tests decrypt an exported keystore).
need_pip=()
python3 -c "import zmq" 2>/dev/null || need_pip+=(pyzmq)
python3 -c "import pytest" 2>/dev/null || need_pip+=(pytest)
python3 -c "import playwright" 2>/dev/null || need_pip+=(playwright)
python3 -c "import cryptography" 2>/dev/null || need_pip+=(cryptography)
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "installing with pip: ${need_pip[*]}"
    python3 -m pip install -q "${need_pip[@]}" 2>/dev/null || python3 -m pip install -q --break-system-packages "${need_pip[@]}"
fi

command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 first (https://swift.org/install)"; exit 1; }
pkg-config --exists libzmq || { echo "libzmq's pkg-config file is missing after install"; exit 1; }
