#!/usr/bin/env bash
# Prints Cairn's speed figures against the raw limits, measured in one run on
# this machine: hashing vs OpenSSL's SHA256_Transform midstate loop (1 and 2
# threads), Ed25519 vs swift-crypto's raw rate, block connection vs cores ×
# verify rate, bus throughput and latencies, then on a real node started with
# `cairn up`: POST /api/tx sustained (60 s), GET /api/blocks/tip/height (keyless and with an API
# key in the path, /v1/<key>/…), POST /rpc getblockcount and a batch of 1,000 vs a
# trivial route (wrk); then several nodes: sync rate vs connecting the same blocks
# locally, block propagation along a line of 5. Figures, not tests. Optional:
# seconds per micro figure; or `--edge-only` for the edge's wrk figures alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v wrk >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; } || true
swift build -c release
if [ "${1:-}" = "--edge-only" ]; then exec .build/release/cairn-bench --edge-only; fi
.build/release/cairn-bench "${1:-2}" --node --tx-seconds "${CAIRN_BENCH_TX_SECONDS:-60}" --net
