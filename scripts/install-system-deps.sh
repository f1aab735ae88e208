#!/usr/bin/env bash
# Installs the Debian packages Quiver builds against and its tests use.
# Idempotent: installs only what is missing. Needs root (or sudo) on Debian 12.
set -euo pipefail

PKGS=(
  pkg-config unzip ca-certificates
  libopenblas-dev                                   # BLAS (matmul)
  zlib1g-dev                                        # gzip (CLIP vocabulary bpe_simple_vocab_16e6.txt.gz)
  libavcodec-dev libavformat-dev libavutil-dev      # FFmpeg decoding
  libswresample-dev libswscale-dev
  libjpeg62-turbo-dev libpng-dev libwebp-dev libgif-dev   # image codecs
  espeak-ng sox ffmpeg                              # speech clips for audio tests; the demo's narrated video
  wordnet-base                                      # a real text corpus for tests, demo and benchmarks
  libstemmer-dev                                    # Snowball stemmers for the BM25 full-text index
  chromium                                          # headless browser test of the `quiver serve` web page
  libpoppler-glib-dev libxml2-dev                   # documents: PDF text (poppler), DOCX/ODT/EPUB/HTML (libxml2)
  groff                                             # the demo typesets a text on the machine to a PDF (gropdf)
  libcairo2-dev                                     # `quiver eval` bar charts (PNG/SVG)
)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system packages: all present"
  exit 0
fi
echo "system packages: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
