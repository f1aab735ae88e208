#!/usr/bin/env bash
# Coverage-guided fuzzing of the QuiverWeights readers with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz/run-weights-fuzzer.sh [seconds=60] [extra libFuzzer flags...]
# Builds .build/fuzz/weights-fuzzer (swiftc -sanitize=fuzzer,address; the package build is
# untouched), seeds .build/fuzz/corpus from Tests/Fixtures/weights and the headers of the
# installed models, and runs. Crashing inputs land in .build/fuzz/crash-*; replay one with
#   .build/fuzz/weights-fuzzer .build/fuzz/crash-<hash>
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"; shift || true
out=.build/fuzz
mkdir -p "$out/corpus"
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name QuiverWeightsFuzz \
    -I Sources/CZlib -lz Sources/QuiverWeights/*.swift scripts/fuzz/weights_fuzzer.swift -o "$out/weights-fuzzer" 2>&1 \
    | grep -v "Cannot export local symbol" || true
cp Tests/Fixtures/weights/*.pth "$out/corpus/"
home="${QUIVER_HOME:-$HOME/.cache/quiver}"
for f in models/faster-whisper-tiny.en/model.bin models/efficientnet-lite0/efficientnet-lite0-57934424.pth \
         models/all-MiniLM-L6-v2/model.safetensors; do
    [ -f "$home/$f" ] && head -c 16384 "$home/$f" > "$out/corpus/head-$(basename "$(dirname "$f")")"
done
exec "$out/weights-fuzzer" "$out/corpus" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 \
    -timeout=10 -artifact_prefix="$out/" "$@"
