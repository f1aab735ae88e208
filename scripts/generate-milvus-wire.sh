#!/usr/bin/env bash
# Regenerates Sources/QuiverMilvusWire from proto/milvus_wire.proto (Quiver's own minimal
# description of Milvus' gRPC protocol). Run by hand after editing the .proto; the build never
# runs protoc. Needs protoc (Debian: protobuf-compiler) and the two Swift plugins, which this
# script builds once from the package mirror into $PLUGIN_DIR (default ~/.cache/quiver/protoc-plugins):
# protoc-gen-swift (swift-protobuf 1.39.0) and protoc-gen-grpc-swift-2 (grpc-swift-protobuf 2.4.1).
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGIN_DIR="${PLUGIN_DIR:-$HOME/.cache/quiver/protoc-plugins}"
command -v protoc >/dev/null || { echo "generate-milvus-wire: protoc not found (apt-get install protobuf-compiler)" >&2; exit 1; }
if [ ! -x "$PLUGIN_DIR/gsp/.build/release/protoc-gen-grpc-swift-2" ] || [ ! -x "$PLUGIN_DIR/gsp/.build/release/protoc-gen-swift" ]; then
  mkdir -p "$PLUGIN_DIR"
  [ -d "$PLUGIN_DIR/gsp" ] || git clone -q -b 2.4.1 https://github.com/grpc/grpc-swift-protobuf "$PLUGIN_DIR/gsp"
  (cd "$PLUGIN_DIR/gsp" && swift build -c release --product protoc-gen-grpc-swift-2 && swift build -c release --product protoc-gen-swift)
fi
BIN="$PLUGIN_DIR/gsp/.build/release"
OUT=Sources/QuiverMilvusWire
mkdir -p "$OUT"
protoc --proto_path=proto \
  --plugin=protoc-gen-swift="$BIN/protoc-gen-swift" --swift_out="$OUT" --swift_opt=Visibility=Public \
  --plugin=protoc-gen-grpc-swift="$BIN/protoc-gen-grpc-swift-2" --grpc-swift_out="$OUT" \
  --grpc-swift_opt=Visibility=Public,Client=true,Server=true \
  proto/milvus_wire.proto
echo "generate-milvus-wire: wrote $(ls "$OUT"/*.swift | tr '\n' ' ')"
