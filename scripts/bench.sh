#!/usr/bin/env bash
# Prints Cairn's speed figures against the raw limits, measured in one run on
# this machine (figures, not tests; nothing fails on a slow machine):
# - micro: hashing vs OpenSSL's SHA256_Transform midstate loop (1 and 2 threads),
#   Ed25519 vs swift-crypto's raw rate, block connection vs cores × verify rate,
#   bus throughput and latencies;
# - the payment flood (issue 11) on a real node started with `cairn up`:
#   POST /api/tx accepted/s sustained (60 s; CAIRN_BENCH_TX_SECONDS; over 192 kept-alive
#   connections, CAIRN_BENCH_CONNECTIONS) and JSON-RPC
#   sendrawtransaction batches of 100 on /rpc, both as a fraction of cores ×
#   Ed25519 verify rate; acknowledgement latency p50/p99 at 80% of the rate of a
#   short closed loop run right before it (10 s; the node's tables have grown and the
#   machine's speed may have drifted since the 60 s window) (an
#   open-loop paced load, signed before its window and sent on a fixed schedule over
#   kept-alive connections, latency from each request's scheduled time;
#   CAIRN_BENCH_PACED_RATE a fixed rate instead, CAIRN_BENCH_PACED_CONNECTIONS the
#   connections, 128); for both windows each node process's and the generator's CPU
#   µs per accepted transaction (/proc/<pid>/stat) against the cores' budget;
#   the tip route and /api/mempool p50/p99 during the flood against the same routes
#   idle (CAIRN_BENCH_SKIP_RPC=1 skips the /rpc part, CAIRN_BENCH_TX_ONLY=1 stops
#   after the POST /api/tx figure);
# - the edge (wrk): GET /api/blocks/tip/height (keyless and /v1/<key>/…), POST /rpc
#   getblockcount and a batch of 1,000, each vs a trivial route;
# - how cost grows with work: acceptance rate and getblocktemplate time at mempool
#   sizes 1k, 10k, 50k, 100k (the filling stops after CAIRN_BENCH_POOL_BUDGET s,
#   300 by default, and says what it reached: acceptance slows as the pool grows);
#   bytes per mempool transaction and the mempool service's VmRSS there (and its
#   size cap); a block of 5,000 transactions connected (vs cores × verify) and
#   getcoins latency at UTXO sets of 10k, 100k, 1M coins (the building stops after
#   CAIRN_BENCH_UTXO_BUDGET s, 420 by default, and says what it reached). The table also goes to bench-out/growth.txt and is
#   drawn in bench-out/growth.svg; the whole output to bench-out/bench.txt;
# - several nodes: sync rate vs connecting the same blocks locally, block
#   propagation along a line of 5.
# Optional first argument: seconds per micro figure (2); or one part alone:
# --edge-only (the wrk figures), --flood-only (the flood), --growth-only (growth).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
command -v wrk >/dev/null || { [ "$(id -u)" -eq 0 ] && apt-get install -y -qq wrk >/dev/null || sudo apt-get install -y -qq wrk >/dev/null; } || true
swift build -c release
mkdir -p bench-out
common=(--tx-seconds "${CAIRN_BENCH_TX_SECONDS:-60}" --pool-budget "${CAIRN_BENCH_POOL_BUDGET:-300}"
        --utxo-budget "${CAIRN_BENCH_UTXO_BUDGET:-420}" --out bench-out)
# Line-buffered, so progress lines show as they come through tee.
run() { if command -v stdbuf >/dev/null; then stdbuf -oL "$@"; else "$@"; fi; }
case "${1:-}" in
    --edge-only) exec .build/release/cairn-bench --edge-only ;;
    --flood-only|--growth-only) run .build/release/cairn-bench "$1" "${common[@]}" | tee bench-out/bench.txt; exit "${PIPESTATUS[0]}" ;;
esac
run .build/release/cairn-bench "${1:-2}" --node --net "${common[@]}" | tee bench-out/bench.txt
exit "${PIPESTATUS[0]}"
