#!/usr/bin/env bash
# Coverage-guided fuzzing of the server's JSON request decoders with libFuzzer + AddressSanitizer.
# Usage: scripts/fuzz/run-server-fuzzer.sh [seconds=60] [extra libFuzzer flags...]
# Builds .build/fuzz/server-fuzzer with swiftc -sanitize=fuzzer,address from
# scripts/fuzz/server_fuzzer.swift, the decoders (Sources/QuiverServer/{APIError,JSONBody,
# MilvusJSON,MilvusSchema}.swift) and Sources/QuiverStore (compiled into one module, C kernels
# with clang; swift-http-types from .build/checkouts, uninstrumented). The package build is
# untouched; run `swift package resolve` first for the checkout. Seeds .build/fuzz/server-corpus
# with request bodies shaped as the routes take them. Crashing inputs land in
# .build/fuzz/server-crash-*; replay one with
#   .build/fuzz/server-fuzzer .build/fuzz/server-crash-<hash>
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"; shift || true
out=.build/fuzz
obj="$out/server-obj"
mkdir -p "$out/server-corpus" "$obj/CQuiverKernels"
http=.build/checkouts/swift-http-types/Sources/HTTPTypes
[ -d "$http" ] || swift package resolve >/dev/null
decoders=(Sources/QuiverServer/APIError.swift Sources/QuiverServer/JSONBody.swift Sources/QuiverServer/MilvusJSON.swift
          Sources/QuiverServer/MilvusSchema.swift scripts/fuzz/server_fuzzer.swift)
if [ ! -f "$out/server-fuzzer" ] || [ -n "$(find Sources/QuiverStore Sources/CQuiverKernels "${decoders[@]}" -newer "$out/server-fuzzer" -type f | head -1)" ]; then
  echo "server fuzzer: building (a few minutes)"
  # swift-http-types: a plain static module (not fuzzed).
  macros=()
  for v in 1.0 1.1 1.2 1.3 1.6 1.7; do macros+=(-enable-experimental-feature "AvailabilityMacro=HTTPTypes $v: macOS 10.0"); done
  swiftc -O -parse-as-library -module-name HTTPTypes "${macros[@]}" -emit-module -emit-module-path "$obj/HTTPTypes.swiftmodule" \
      -emit-library -static -o "$obj/libHTTPTypes.a" "$http"/*.swift
  # The C kernels the store links, instrumented.
  cat > "$obj/CQuiverKernels/module.modulemap" <<MAP
module CQuiverKernels {
  umbrella "$PWD/Sources/CQuiverKernels/include"
  export *
}
MAP
  kernels=()
  for c in Sources/CQuiverKernels/*.c; do
    o="$obj/$(basename "$c" .c).o"
    clang -O1 -g -fPIC -fsanitize=address,fuzzer-no-link -I Sources/CQuiverKernels/include -c "$c" -o "$o"
    kernels+=("$o")
  done
  # Store + decoders + harness in one module (the decoders' `import QuiverStore` names it).
  swiftc -O -g -sanitize=fuzzer,address -parse-as-library -module-name QuiverStore -suppress-warnings \
      -I "$obj" -L "$obj" -lHTTPTypes -Xcc -fmodule-map-file="$obj/CQuiverKernels/module.modulemap" -I Sources/CStemmer -lstemmer \
      $(find Sources/QuiverStore -name '*.swift') "${decoders[@]}" "${kernels[@]}" -o "$out/server-fuzzer" 2>&1 \
      | grep -v "Cannot export local symbol" || true
  [ -x "$out/server-fuzzer" ] || { echo "server fuzzer: build failed" >&2; exit 1; }
fi
# Seeds: bodies as the routes take them.
seed() { printf '%s' "$2" > "$out/server-corpus/seed-$1.json"; }
seed quick '{"collectionName": "quick_setup", "dimension": 5, "metricType": "L2", "idType": "VarChar", "autoID": false, "params": {"enableDynamicField": "true", "consistencyLevel": "Strong"}}'
seed custom '{"collectionName": "c", "schema": {"autoID": false, "enableDynamicField": true, "fields": [{"fieldName": "id", "dataType": "Int64", "isPrimary": true}, {"fieldName": "v", "dataType": "FloatVector", "elementTypeParams": {"dim": "4"}}, {"fieldName": "h", "dataType": "Float16Vector", "elementTypeParams": {"dim": 2}}, {"fieldName": "t", "dataType": "VarChar", "elementTypeParams": {"max_length": 64}, "nullable": true, "defaultValue": "x"}, {"fieldName": "n", "dataType": "Int32", "defaultValue": 3}, {"fieldName": "j", "dataType": "JSON"}]}, "indexParams": [{"fieldName": "v", "metricType": "IP", "indexType": "HNSW", "params": {"M": 8, "efConstruction": "64"}}, {"fieldName": "t", "indexType": "INVERTED"}], "data": [{"id": 1, "v": [0.1, 2, -3, 1e30], "h": [1, 2], "t": "a\u00e9\ud83d\ude00", "n": 9007199254740993, "j": {"a": [1, null, true]}, "extra": [1.5e308]}]}'
seed insert '{"collectionName": "quick_setup", "dimension": 2, "data": [{"id": 9223372036854775807, "vector": [1, 2], "color": "red"}, {"id": "12", "vector": [0, 0]}]}'
seed search '{"collectionName": "c", "data": [[0.1, 0.2]], "annsField": "vector", "limit": 3, "offset": 0, "filter": "id in [1, 2]", "outputFields": ["*"], "searchParams": {"metricType": "COSINE", "params": {"ef": 64, "radius": 0.1}}}'
seed embeddings '{"model": "all-MiniLM-L6-v2", "input": ["a", "b"], "encoding_format": "base64", "dimensions": 384, "input_type": "query"}'
seed broken '{"collectionName": "c",
  "dimension": 3,, }'
exec "$out/server-fuzzer" "$out/server-corpus" -dict=scripts/fuzz/server_json.dict -max_total_time="$seconds" -max_len=4096 \
    -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$out/server-" -print_final_stats=1 "$@"
