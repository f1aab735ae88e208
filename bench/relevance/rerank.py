"""Cross-encoder reranking throughput: Quiver.CrossEncoder vs sentence-transformers CrossEncoder.

Model: real cross-encoder weights are on no registry reachable here (PyPI was searched for
packages carrying cross-encoder/ms-marco-MiniLM-L6-v2 or other rerankers: names with marco,
cross-encoder, rerank, minilm, and flashrank's wheel, which downloads its models at run time;
none carries weights). So the benchmark builds a cross-encoder of exactly the shape of
cross-encoder/ms-marco-MiniLM-L6-v2 — BertForSequenceClassification, 6 layers, hidden 384, 12
heads, intermediate 1536, vocabulary 30,522 (bert-base-uncased), 512 positions, one label — from
the all-MiniLM-L6-v2 encoder weights (the same architecture and vocabulary, installed in the
model home) with a classification head drawn by torch.manual_seed(0), written with
transformers' `BertForSequenceClassification.save_pretrained` (cached in
~/.cache/quiver/bench-data/relevance/minilm-l6-cross-encoder). Speed does not depend on the
weights' values; the scores are compared between the two engines (they must agree).

Pairs: the first --queries (default 50) of the benchmark's WordNet example sentences, each with
--docs (default 10) glosses drawn with numpy default_rng(7) from the 117,659 WordNet glosses
(bench/relevance/common.py): 500 (query, document) pairs.
- sentence-transformers: `CrossEncoder(folder).predict(pairs, batch_size=32)` (tokenization,
  padding per batch, model, sigmoid), torch.set_num_threads(--threads).
- Quiver: `quiver-bench rerank` (Sources/quiver-bench/RerankBench.swift): `CrossEncoder.scores`
  on the same pairs and threads (QUIVER_THREADS and OPENBLAS_NUM_THREADS set to --threads).
Each: one warm-up run, then the best of --repeat runs; pairs/s and process CPU seconds.

Run: bash bench/run.sh rerank   (or: python bench/relevance/rerank.py [--threads 2,1] [--repeat 2])
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HOME, best_of, corpus_and_queries, load_average, quiver_bench  # noqa: E402

CACHE = os.path.join(os.environ.get("QUIVER_BENCH_DATA", os.path.join(HOME, "bench-data")), "relevance")


def make_model(out):
    """A BertForSequenceClassification of ms-marco-MiniLM-L6-v2's shape (see the docstring)."""
    if os.path.exists(os.path.join(out, "model.safetensors")):
        return out
    import torch
    from transformers import BertForSequenceClassification
    src = os.path.join(HOME, "models", "all-MiniLM-L6-v2")
    torch.manual_seed(0)
    model = BertForSequenceClassification.from_pretrained(src, num_labels=1)
    c = model.config
    assert (c.num_hidden_layers, c.hidden_size, c.num_attention_heads, c.intermediate_size, c.vocab_size,
            c.max_position_embeddings) == (6, 384, 12, 1536, 30522, 512), c
    tmp = out + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp, safe_serialization=True)
    for f in ["tokenizer.json", "vocab.txt", "special_tokens_map.json", "tokenizer_config.json"]:
        if os.path.exists(os.path.join(src, f)):
            shutil.copy(os.path.join(src, f), tmp)
    # all-MiniLM-L6-v2's tokenizer.json pads every text to 128 tokens and truncates there; a
    # cross-encoder's file has neither (both engines pad per batch and truncate at 512).
    tj = json.load(open(os.path.join(tmp, "tokenizer.json"), encoding="utf-8"))
    tj["truncation"], tj["padding"] = None, None
    json.dump(tj, open(os.path.join(tmp, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    cfg_path = os.path.join(tmp, "tokenizer_config.json")
    cfg = json.load(open(cfg_path)) if os.path.exists(cfg_path) else {}
    cfg["model_max_length"] = 512  # ms-marco-MiniLM-L6-v2's
    json.dump(cfg, open(cfg_path, "w"), indent=1)
    os.replace(tmp, out)
    return out


def pairs(queries, glosses, docs):
    rng = np.random.default_rng(7)
    out = []
    for q in queries:
        for i in rng.choice(len(glosses), docs, replace=False):
            out.append((q, glosses[int(i)]))
    return out


def python_path(folder, ps, threads, repeats):
    import torch
    from sentence_transformers import CrossEncoder
    torch.set_num_threads(threads)
    ce = CrossEncoder(folder, device="cpu", max_length=512)
    scores, s, cpu, runs = best_of(lambda: ce.predict(ps, batch_size=32, show_progress_bar=False), repeats)
    return {"seconds": s, "cpu_seconds": cpu, "runs": runs, "scores": np.asarray(scores, dtype=np.float64)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--docs", type=int, default=10)
    ap.add_argument("--threads", default="2,1")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()

    folder = make_model(os.path.join(CACHE, "minilm-l6-cross-encoder"))
    glosses, queries = corpus_and_queries(1000)
    ps = pairs(queries[:a.queries], glosses, a.docs)
    work = tempfile.mkdtemp(prefix="quiver-bench-rerank-")
    pfile = os.path.join(work, "pairs.json")
    json.dump({"pairs": [list(p) for p in ps]}, open(pfile, "w"))
    import sentence_transformers
    import torch
    print(f"rerank: {len(ps)} pairs ({a.queries} WordNet example sentences x {a.docs} glosses), model {folder} "
          f"(ms-marco-MiniLM-L6-v2 shape, all-MiniLM-L6-v2 encoder, seeded random head); sentence-transformers "
          f"{sentence_transformers.__version__}, torch {torch.__version__}; load average {load_average()}")
    for threads in [int(t) for t in a.threads.split(",") if t]:
        # OpenBLAS would otherwise use every core inside each matrix product.
        env = dict(os.environ, QUIVER_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
        qv = quiver_bench("rerank", "--model", folder, "--pairs", pfile, "--threads", str(threads), "--repeat", str(a.repeat), env=env)
        py = python_path(folder, ps, threads, a.repeat)
        diff = float(np.max(np.abs(np.asarray(qv["scores"]) - py["scores"])))
        n = len(ps)
        print(f"\n  {threads} thread(s), {qv['tokens']} tokens in all:")
        print(f"  {'engine':<32}{'seconds':>9}{'pairs/s':>10}{'CPU s':>8}{'pairs per CPU s':>17}")
        for label, s, c in (("sentence-transformers", py["seconds"], py["cpu_seconds"]), ("quiver", qv["seconds"], qv["cpu_seconds"])):
            print(f"  {label:<32}{s:>9.3f}{n / s:>10.1f}{c:>8.2f}{n / c:>17.1f}")
        print(f"  ratio quiver / sentence-transformers: {py['seconds'] / qv['seconds']:.2f}x pairs/s, "
              f"{py['cpu_seconds'] / qv['cpu_seconds']:.2f}x per CPU second; largest score difference {diff:.1e}")


if __name__ == "__main__":
    sys.exit(main())
