#!/usr/bin/env bash
# Checks `quiver serve` with real clients: the official OpenAI Python client (embeddings, errors,
# API key, clean shutdown) and plain HTTP requests to the Milvus REST v2 routes, against the
# release binary that `make test` built. Run by `make test` after the Swift suite.
#
# The clients live in their own venv outside the repository (QUIVER_CLIENT_VENV, default
# ~/.cache/quiver/client-venv) with pinned versions; it is made once and reused.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${1:-.build/release/quiver}"
VENV="${QUIVER_CLIENT_VENV:-$HOME/.cache/quiver/client-venv}"
PINS=(openai==3.57.0 numpy==2.4.6)

[ -x "$BIN" ] || { echo "client checks: no $BIN (build it: swift build -c release --product quiver)" >&2; exit 1; }
if ! "$VENV/bin/python" -c 'import openai, numpy' 2>/dev/null; then
  echo "client checks: making $VENV (${PINS[*]})"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "${PINS[@]}"
fi
status=0
for check in scripts/server/*_check.py; do
  echo "== $check"
  "$VENV/bin/python" "$check" "$BIN" || status=1
done
exit $status
