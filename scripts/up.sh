#!/usr/bin/env bash
# The README's first command: installs what is missing, builds Cairn in release
# mode, and brings the whole stack up with `cairn up` on embedded defaults
# (regtest, SQLite files under ./cairn-data, loopback endpoints).
# Extra arguments go to `cairn up`, e.g. `bash scripts/up.sh --http-port 9000`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release
exec .build/release/cairn up "$@"
