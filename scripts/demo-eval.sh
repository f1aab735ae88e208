#!/usr/bin/env bash
# `make demo`'s evaluation: a retrieval test set built from Debian's WordNet (wordnet-base) and
# `quiver eval` comparing all-MiniLM-L6-v2 and all-mpnet-base-v2 in dense, bm25 and hybrid search.
#
# Every noun synset of /usr/share/wordnet/data.noun whose gloss has a quoted example sentence
# gives one document, its definition (the gloss without the examples); every QUIVER_EVAL_EVERY-th
# of them (default 8) also gives one query, its first example sentence, whose one relevant
# document is that definition. E.g. query "the American shopkeeper differs from his European
# congener" → "a whole (a thing or person) of the same kind or category as another".
# The set is written in BEIR layout to .build/demo-eval/wordnet-nouns; the chart to
# .build/demo-eval/wordnet-eval.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
Q="$PWD/.build/release/quiver"
OUT="$PWD/.build/demo-eval"
EVERY="${QUIVER_EVAL_EVERY:-8}"
SET="$OUT/wordnet-nouns"
if [ ! -r /usr/share/wordnet/data.noun ]; then
  echo "WordNet data not found (/usr/share/wordnet/data.noun); run scripts/install-system-deps.sh"; exit 1
fi
rm -rf "$SET"; mkdir -p "$SET/qrels"
python3 - "$SET" "$EVERY" <<'PY'
import json, re, sys
out, every = sys.argv[1], int(sys.argv[2])
docs = queries = 0
with open("/usr/share/wordnet/data.noun", encoding="utf-8") as f, \
     open(f"{out}/corpus.jsonl", "w") as corpus, open(f"{out}/queries.jsonl", "w") as qs, \
     open(f"{out}/qrels/test.tsv", "w") as qrels:
    qrels.write("query-id\tcorpus-id\tscore\n")
    for line in f:
        if line.startswith("  ") or " | " not in line: continue
        offset, gloss = line.split(" ", 1)[0], line.split(" | ", 1)[1].strip()
        examples = re.findall(r'"([^"]+)"', gloss)
        definition = gloss.split('; "', 1)[0].strip().rstrip(";").strip()
        if not examples or not definition or definition.startswith('"'): continue
        corpus.write(json.dumps({"_id": offset, "title": "", "text": definition}) + "\n")
        if docs % every == 0:
            qs.write(json.dumps({"_id": "q" + offset, "text": examples[0].strip()}) + "\n")
            qrels.write(f"q{offset}\t{offset}\t1\n")
            queries += 1
        docs += 1
print(f"WordNet retrieval set: {docs} definitions, {queries} example-sentence queries -> {out}")
PY
echo "== quiver eval: which model and mode find a WordNet example sentence's definition"
$Q eval --model all-MiniLM-L6-v2 --model all-mpnet-base-v2 --mode dense --mode bm25 --mode hybrid \
  --chart "$OUT/wordnet-eval.svg" "$SET"
echo "Chart: $OUT/wordnet-eval.svg"
