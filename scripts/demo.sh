#!/usr/bin/env bash
# The main job, run by `make demo` after setup and a release build: shows what Quiver does
# with the models installed in the model home.
set -euo pipefail
cd "$(dirname "$0")/.."
Q=.build/release/quiver

echo "== Installed models"
$Q models list

echo
echo "== Text embeddings (all-MiniLM-L6-v2, 384-d, same vectors as sentence-transformers)"
$Q embed --model all-MiniLM-L6-v2 --format table \
  "A man is eating food." "A man is eating a piece of bread." "The new movie is awesome." "A cheetah chases prey across a field."

echo
echo "== The same sentence with all-mpnet-base-v2 (768-d), as JSON lines (first values)"
$Q embed --model all-mpnet-base-v2 "A man is eating food." | cut -c1-120
