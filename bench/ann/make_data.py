"""Builds the ANN benchmark data once into a cache directory (default ~/.cache/quiver/bench-data/ann (QUIVER_BENCH_DATA)).

Base: all-MiniLM-L6-v2 embeddings (normalized, 384-d float32) of the 117,659 WordNet 3.0 glosses
(Debian package wordnet-base, /usr/share/wordnet/data.*). Queries: 1,000 WordNet example
sentences (the quoted parts of glosses), drawn with a fixed seed. Ground truth: exact top-100 by
inner product (= cosine), computed in float64.

    python bench/ann/make_data.py [--out DIR] [--synthetic]

--synthetic writes a stand-in of the same shape (random clustered, normalized) instead.
Needs the Python reference stack in /work/venv; the product never does.
"""
import argparse
import os, re, sys, time
import numpy as np

def wordnet_glosses(root="/usr/share/wordnet"):
    glosses, examples = [], []
    for pos in ("noun", "verb", "adj", "adv"):
        with open(os.path.join(root, f"data.{pos}"), encoding="latin-1") as f:
            for line in f:
                if line.startswith("  "):
                    continue  # license header
                gloss = line.split(" | ", 1)[1].strip()
                glosses.append(gloss)
                examples.extend(m for m in re.findall(r'"([^"]+)"', gloss) if len(m.split()) >= 3)
    return glosses, examples

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.environ.get("QUIVER_BENCH_DATA", os.path.expanduser("~/.cache/quiver/bench-data")), "ann"))
    ap.add_argument("--synthetic", action="store_true")
    ap.add_argument("--partial", action="store_true",
                    help="use only the gloss chunks already embedded (set 'wordnet-partial')")
    ap.add_argument("--model", default=os.path.expanduser("~/.cache/quiver/models/all-MiniLM-L6-v2"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.synthetic:
        rng = np.random.default_rng(1)
        centres = rng.normal(size=(2000, 384))
        def draw(n):
            x = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, 384))
            return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
        base, queries = draw(117659), draw(1000)
    else:
        glosses, examples = wordnet_glosses()
        assert len(glosses) == 117659, len(glosses)
        rng = np.random.default_rng(2024)
        picked = [examples[i] for i in sorted(rng.choice(len(examples), 1000, replace=False))]
        from sentence_transformers import SentenceTransformer
        model = SentenceTransformer(a.model, device="cpu")
        t = time.time()
        # Chunks are cached so an interrupted run resumes where it stopped.
        parts = []
        for start in range(0, len(glosses), 8192):
            part = os.path.join(a.out, f"wordnet-part-{start:06d}.npy")
            if not os.path.exists(part):
                if a.partial:
                    break
                emb = model.encode(glosses[start:start + 8192], batch_size=128, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)
                np.save(part + ".tmp.npy", emb); os.replace(part + ".tmp.npy", part)
                print(f"  {start + len(emb)} / {len(glosses)} glosses, {time.time() - t:.0f}s", file=sys.stderr, flush=True)
            parts.append(np.load(part))
        base = np.concatenate(parts)
        queries = model.encode(picked, batch_size=128, normalize_embeddings=True, convert_to_numpy=True)
        print(f"embedded {len(base)} glosses + {len(picked)} queries in {time.time() - t:.0f}s", file=sys.stderr)
        with open(os.path.join(a.out, "queries.txt"), "w") as f:
            f.write("\n".join(picked) + "\n")
    base = np.ascontiguousarray(base, dtype=np.float32)
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    sims = queries.astype(np.float64) @ base.astype(np.float64).T
    gt = np.argsort(-sims, axis=1, kind="stable")[:, :100].astype(np.int32)
    tag = "synthetic" if a.synthetic else ("wordnet-partial" if a.partial else "wordnet")
    np.save(os.path.join(a.out, f"{tag}-base.npy"), base)
    np.save(os.path.join(a.out, f"{tag}-queries.npy"), queries)
    np.save(os.path.join(a.out, f"{tag}-gt.npy"), gt)
    print(f"wrote {tag}: base {base.shape}, queries {queries.shape}, gt {gt.shape} to {a.out}", file=sys.stderr)

if __name__ == "__main__":
    main()
