#!/bin/bash
# Batching across requests in `quiver serve`, measured: 32 wrk clients (keep-alive) POST
# /v1/embeddings of 1-8 sentences (embed.lua) to all-MiniLM-L6-v2 for SECONDS.
#
#   bash bench/serve-batching/run.sh BIN [SECONDS] [serve options...]
#   bash bench/serve-batching/run.sh .build/release/quiver 30                  # batching (default)
#   bash bench/serve-batching/run.sh .build/release/quiver 30 --no-batching    # each request alone
#
# Needs wrk (Debian: apt-get install wrk) and the model in the model home (make models).
# Starts the server on a free loopback port over a new store, warms the model with one request,
# runs wrk (2 threads, 32 connections), prints wrk's summary with p50/p90/p99 and the batcher's
# counters from /metrics, then stops the server. Run it on a quiet machine: wrk and the server
# share the cores.
set -euo pipefail
bin=$1; secs=${2:-30}; shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
db=$(mktemp -d)
"$bin" serve --db "$db/store" --port "$port" --no-milvus --quiet "$@" 2>"$db/serve.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$db"' EXIT
for _ in $(seq 100); do curl -sf "localhost:$port/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "localhost:$port/v1/embeddings" -H 'Content-Type: application/json' \
  -d '{"model": "all-MiniLM-L6-v2", "input": ["warm up"]}' >/dev/null || { cat "$db/serve.log" >&2; exit 1; }
wrk -t2 -c32 -d"${secs}s" --timeout 10s -s "$here/embed.lua" "http://127.0.0.1:$port/v1/embeddings"
curl -s "localhost:$port/metrics" | grep -E '^quiver_batch_(texts|tokens)_(sum|count)|^quiver_batch_rejected_total' || true
