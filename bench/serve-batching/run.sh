#!/bin/bash
# Batching across requests in `quiver serve`, measured: 32 wrk clients (keep-alive) POST
# /v1/embeddings of 1-8 sentences (bench/serve-load/embed.lua) to all-MiniLM-L6-v2 for SECONDS.
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
# The request mix is bench/serve-load/embed.lua's (its RESULT line is printed as one summary line).
wrk -t2 -c32 -d"${secs}s" --timeout 10s -s "$here/../serve-load/embed.lua" "http://127.0.0.1:$port/v1/embeddings" | python3 -c '
import json, sys
for line in sys.stdin:
    if not line.startswith("RESULT "):
        sys.stdout.write(line); continue
    r = json.loads(line[7:]); s = r["duration_us"] / 1e6; e = r["errors"]
    print("requests %d in %.1f s: %.1f req/s; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms; errors: connect %d read %d write %d timeout %d status %d"
          % (r["requests"], s, r["requests"] / s, r["p50_us"] / 1e3, r["p90_us"] / 1e3, r["p99_us"] / 1e3,
             e["connect"], e["read"], e["write"], e["timeout"], e["status"]))
'
curl -s "localhost:$port/metrics" | grep -E '^quiver_batch_(texts|tokens)_(sum|count)|^quiver_batch_rejected_total' || true
