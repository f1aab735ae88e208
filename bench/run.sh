#!/usr/bin/env bash
# Runs every benchmark: Quiver and its peers on the same input in one run, printing ratios.
# The peers (PyTorch, sentence-transformers, ONNX Runtime, hnswlib, FAISS, usearch, bm25s, Milvus Lite) live in a
# Python venv outside the repository (QUIVER_BENCH_VENV, default ~/.cache/quiver/bench-venv),
# created here on first use. Benchmarks are not tests: run them on an otherwise idle machine.
#
#   bash bench/run.sh                 # text, ann, image, audio
#   bash bench/run.sh text ann        # a subset
#   bash bench/run.sh milvus          # Quiver vs sentence-transformers + pymilvus on Milvus 2.3.5
#   bash bench/run.sh bm25 hybrid rerank   # BM25 vs bm25s, hybrid search vs Milvus Lite, cross-encoder vs sentence-transformers
#   bash bench/run.sh perceiver       # multimodal Perceiver, one 16-frame clip, vs transformers on PyTorch
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${QUIVER_BENCH_VENV:-$HOME/.cache/quiver/bench-venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "bench: creating the peers' venv in $VENV"
  python3 -m venv "$VENV"
fi
if ! cmp -s bench/requirements.txt "$VENV/.requirements"; then   # new venv or changed pins
  "$VENV/bin/pip" install --quiet -r bench/requirements.txt
  cp bench/requirements.txt "$VENV/.requirements"
fi
PY="$VENV/bin/python"
suites=("$@"); [ ${#suites[@]} -gt 0 ] || suites=(text ann image audio)
echo "bench: load average $(cut -d' ' -f1-3 /proc/loadavg) (results are only meaningful on an idle machine)"
for s in "${suites[@]}"; do
  case "$s" in
    text)  swift build -c release --product quiver-bench >/dev/null && "$PY" bench/text/run.py ;;
    int8)  swift build -c release --product quiver-bench >/dev/null && "$PY" bench/text/int8.py ;;
    ann)   "$PY" bench/ann/make_data.py && "$PY" bench/ann/run.py --set wordnet ;;
    image) swift build -c release --product quiver-image-bench >/dev/null && "$PY" bench/image/run.py ;;
    audio) [ -f bench/audio/run.py ] && "$PY" bench/audio/run.py || echo "bench: no audio benchmark yet" ;;
    milvus) swift build -c release --product quiver-bench >/dev/null && "$PY" bench/milvus/run.py ;;
    bm25)   swift build -c release --product quiver-bench >/dev/null && "$PY" bench/relevance/bm25.py ;;
    hybrid) swift build -c release --product quiver-bench >/dev/null && swift build -c release --product quiver >/dev/null &&
            "$PY" bench/relevance/hybrid.py ;;
    rerank) swift build -c release --product quiver-bench >/dev/null && "$PY" bench/relevance/rerank.py ;;
    perceiver) swift build -c release --product quiver-bench >/dev/null && "$PY" bench/perceiver/run.py ;;
    *) echo "bench: unknown suite '$s' (text, int8, ann, image, audio, milvus, bm25, hybrid, rerank, perceiver)" >&2; exit 2 ;;
  esac
done
