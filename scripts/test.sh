#!/usr/bin/env bash
# `make test`: the whole Swift suite in release mode — against the embedded store and against real
# Milvus servers (Milvus Lite 3.2.2 and Milvus 2.3.5 standalone from PyPI, started here on free
# loopback ports by scripts/milvus-servers.sh and stopped at the end) — then the checks of
# `quiver serve` with real clients (scripts/client-checks.sh), the Milvus cross-checks and a bounded
# libFuzzer run over the server's request decoders.
#
# QUIVER_SKIP_MILVUS=1 runs without the servers (their tests are then skipped, not failed).
set -euo pipefail
cd "$(dirname "$0")/.."
SWIFT="${SWIFT:-swift}"
FLAGS=(-c release -Xswiftc -enable-testing)
started=$(date +%s)

if [ "${QUIVER_SKIP_MILVUS:-0}" != "1" ]; then
  MILVUS_DIR="$(mktemp -d /tmp/quiver-milvus.XXXXXX)"
  trap 'bash scripts/milvus-servers.sh stop "$MILVUS_DIR" || true; rm -rf "$MILVUS_DIR"' EXIT
  # The servers take 10-45 s to become healthy: start them while the suite builds.
  bash scripts/milvus-servers.sh start "$MILVUS_DIR" > "$MILVUS_DIR/start.log" 2>&1 &
  STARTER=$!
fi

"$SWIFT" build "${FLAGS[@]}" --build-tests
"$SWIFT" build "${FLAGS[@]}" --product quiver

if [ "${QUIVER_SKIP_MILVUS:-0}" != "1" ]; then
  if ! wait "$STARTER"; then cat "$MILVUS_DIR/start.log" >&2; echo "test: the Milvus servers did not start" >&2; exit 1; fi
  cat "$MILVUS_DIR/start.log"
  set -a; . "$MILVUS_DIR/env"; set +a
  export QUIVER_REQUIRE_MILVUS=1
fi

QUIVER_REQUIRE_MODELS=1 "$SWIFT" test "${FLAGS[@]}" --skip-build
if [ "${QUIVER_SKIP_MILVUS:-0}" != "1" ]; then
  SWIFT="$SWIFT" bash scripts/milvus/crosscheck.sh "$MILVUS_DIR/env"
fi
bash scripts/client-checks.sh .build/release/quiver
# libFuzzer + AddressSanitizer over the server's JSON request decoders, bounded to 60 s (issue 14):
# a crash, a sanitizer report or a leak fails the run.
bash scripts/fuzz/run-server-fuzzer.sh 60
echo "test: everything passed in $(( $(date +%s) - started )) s"
