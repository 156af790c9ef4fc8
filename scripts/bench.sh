#!/usr/bin/env bash
# Prints Cairn's speed figures against the raw limits, measured in one run.
# Optional argument: seconds per figure (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
swift build -c release --product cairn-bench
.build/release/cairn-bench "${1:-2}"
