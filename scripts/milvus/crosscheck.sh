#!/usr/bin/env bash
# Cross-checks Quiver's Milvus backend with pymilvus on every server of an env file made by
# scripts/milvus-servers.sh: pymilvus writes a collection that Quiver reads (CrossCheckTests),
# Quiver writes one that pymilvus reads (crosscheck.py read).
# Usage: scripts/milvus/crosscheck.sh DIR/env
set -euo pipefail
cd "$(dirname "$0")/../.."
[ $# -eq 1 ] && [ -f "$1" ] || { echo "usage: $0 DIR/env (from scripts/milvus-servers.sh start DIR)" >&2; exit 2; }
set -a; . "$1"; set +a
PY="${QUIVER_MILVUS_PYTHON:?the env file names the venv python}"
for which in LITE STANDALONE; do
  hp_var="QUIVER_MILVUS_$which"; tok_var="QUIVER_MILVUS_${which}_TOKEN"
  hp="${!hp_var:-}"; tok="${!tok_var:-}"
  [ -n "$hp" ] || continue
  suffix=$(echo "$which" | tr 'A-Z' 'a-z')
  from_py="qv_crosscheck_py_$suffix"; from_quiver="qv_crosscheck_quiver_$suffix"
  "$PY" scripts/milvus/crosscheck.py write --uri "http://$hp" --token "$tok" --name "$from_py"
  QUIVER_MILVUS_CROSSCHECK_ADDRESS="milvus://$hp" QUIVER_MILVUS_CROSSCHECK_TOKEN="$tok" \
  QUIVER_MILVUS_CROSSCHECK_READ="$from_py" QUIVER_MILVUS_CROSSCHECK_WRITE="$from_quiver" \
    "${SWIFT:-swift}" test -c release -Xswiftc -enable-testing --skip-build --filter 'QuiverMilvusTests.CrossCheckTests'
  "$PY" scripts/milvus/crosscheck.py read --uri "http://$hp" --token "$tok" --name "$from_quiver"
  echo "crosscheck: $which OK"
done
