#!/usr/bin/env bash
# Installs what Cairn needs on a Debian machine that already has Swift, and
# nothing that is already there. Safe to run again.
set -euo pipefail

need_apt=()
for pkg in libzmq3-dev libssl-dev pkg-config python3 python3-pip docker-compose; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
# python3/pip may come from elsewhere (pyenv): only ask apt when the command is missing.
if command -v python3 >/dev/null; then need_apt=("${need_apt[@]/python3}"); fi
if command -v pip3 >/dev/null || python3 -m pip --version >/dev/null 2>&1; then need_apt=("${need_apt[@]/python3-pip}"); fi
read -r -a need_apt <<<"${need_apt[*]}"

if [ ${#need_apt[@]} -gt 0 ]; then
    echo "installing with apt-get: ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c "import zmq" 2>/dev/null; then
    echo "installing pyzmq with pip"
    python3 -m pip install -q pyzmq 2>/dev/null || python3 -m pip install -q --break-system-packages pyzmq
fi

command -v swift >/dev/null || { echo "swift is not on PATH: install Swift 6.3 first (https://swift.org/install)"; exit 1; }
pkg-config --exists libzmq || { echo "libzmq's pkg-config file is missing after install"; exit 1; }
