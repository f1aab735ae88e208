#!/usr/bin/env bash
# Checks `quiver serve` with real clients over the network: the official OpenAI Python client
# (embeddings, errors, API key, clean shutdown) and requests shaped as Milvus' documentation writes
# them to the Milvus REST v2 routes, against the release binary that `make test` built. Run by
# `make test` after the Swift suite.
#
# The clients live in their own venv outside the repository (QUIVER_CLIENT_VENV, default
# ~/.cache/quiver/client-venv) with pinned versions; it is made once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-.build/release/quiver}"
VENV="${QUIVER_CLIENT_VENV:-$HOME/.cache/quiver/client-venv}"
PINS=(openai==3.57.0 numpy==2.4.6)
# pymilvus and Milvus Lite for scripts/server/pymilvus_check.py (Quiver's Milvus gRPC endpoint).
MILVUS_PINS=(pymilvus==3.0.2 milvus-lite==3.2.2)

[ -x "$BIN" ] || { echo "client checks: no $BIN (build it: swift build -c release --product quiver)" >&2; exit 1; }
if ! "$VENV/bin/python" -c 'import openai, numpy' 2>/dev/null; then
  echo "client checks: making $VENV (${PINS[*]})"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
fi
if ! "$VENV/bin/python" -c 'import pymilvus, milvus_lite' 2>/dev/null; then
  echo "client checks: adding ${MILVUS_PINS[*]} to $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${MILVUS_PINS[@]}"
fi
status=0
echo "== scripts/server/pymilvus_check.py (quiver serve's Milvus gRPC and Milvus Lite; starts its own servers)"
"$VENV/bin/python" scripts/server/pymilvus_check.py "$BIN" "$VENV/bin/milvus-lite" || status=1
echo "== scripts/server/openai_client_check.py (starts its own servers)"
"$VENV/bin/python" scripts/server/openai_client_check.py "$BIN" || status=1

# The Milvus REST check talks to a running server: one on a free loopback port over a new store.
echo "== scripts/server/milvus_rest_check.py"
DB="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$BIN" serve --db "$DB/milvus.db" --port "$PORT" --no-milvus 2>"$DB/serve.log" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$DB"' EXIT
for _ in $(seq 100); do
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
python3 scripts/server/milvus_rest_check.py "http://127.0.0.1:$PORT" || { status=1; cat "$DB/serve.log" >&2; }

# Hostile input and load (issue 14): schemathesis against /openapi.json (own venv, bounded
# examples), then the 60 s soak with a SIGKILL and restart. Each starts its own server.
echo "== scripts/server/schemathesis.sh (starts its own server)"
# Gating: any 5xx, undocumented status, schema mismatch or error without a JSON message fails `make test`.
bash scripts/server/schemathesis.sh "$BIN" || status=1
echo "== scripts/server/soak.py (32 clients, 60 s, SIGKILL and restart; starts its own server)"
python3 scripts/server/soak.py "$BIN" --seconds 60 --clients 32 || status=1
exit $status
