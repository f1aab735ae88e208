"""Hybrid (dense + BM25, reciprocal rank fusion) query latency: Quiver vs Milvus Lite 3.2.2.

Data: the first --count (default all 117,659) WordNet glosses as documents and the first
--queries (default 100) of the benchmark's 1,000 WordNet example sentences as queries
(bench/relevance/common.py); all-MiniLM-L6-v2 embeddings; top 10, each list 50 deep, RRF k = 60.

- Quiver: `quiver-bench hybrid` (Sources/quiver-bench/HybridBench.swift) on an embedded store in
  a temporary folder: `Ingestor` (--split lines, so one row per gloss; BM25 index on the text,
  the default analyzer: Unicode words, lowercase, 33 English stop words, Snowball English
  stemming) as untimed setup, then per query `Searcher.search(text:, mode: .hybrid)`: embed the
  query, exact dense search (no ANN index) and BM25 50 deep each, RRF. Also per mode dense and
  bm25, and the query embedding alone.
- Milvus Lite 3.2.2 (pymilvus 3.0.2, local file database), which supports full-text search:
  a collection with `text` (VARCHAR, analyzer: standard tokenizer, lowercase filter, a stop
  filter with the same 33 words), a BM25 Function from `text` into a SPARSE_FLOAT_VECTOR field
  (SPARSE_INVERTED_INDEX, metric BM25, bm25_k1 1.2, bm25_b 0.75), and a 384-d FLOAT_VECTOR field
  (FLAT index, COSINE: exact, like Quiver's). Milvus Lite 3.2.2 accepts a `stemmer` filter but
  does not apply it (checked: "run" finds neither "running" nor "runs", and language "klingon"
  is accepted), so its BM25 side runs without stemming; Quiver's with it.
  Corpus vectors: Quiver's (`quiver embed`, identical to sentence-transformers within cosine
  0.99999; cached in ~/.cache/quiver/bench-data/relevance), inserted in batches of 2,000, then
  flush (sealed, indexed segments; a growing segment searched ~30x slower) and load (untimed
  setup). Reads at consistency level Session. Per query (timed): sentence-transformers `encode([q])` (2 threads) +
  `MilvusClient.hybrid_search([dense 50, BM25 50], RRFRanker(60), limit=10,
  output_fields=["text"])`; also hybrid_search alone (vector given), and dense-only and
  BM25-only `search`.
Latency: one warm-up query, then every query once (--repeat passes: best pass), one at a time;
mean, p50, p99 in ms. Both sides return the gloss text of the 10 hits; the top hits are compared.

Run: bash bench/run.sh hybrid   (or: python bench/relevance/hybrid.py [--count 117659] [--queries 100])
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import HOME, ROOT, STOP, corpus_and_queries, load_average, pct, quiver_bench, write_inputs  # noqa: E402

CACHE = os.path.join(os.environ.get("QUIVER_BENCH_DATA", os.path.join(HOME, "bench-data")), "relevance")
QUIVER = os.path.join(ROOT, ".build", "release", "quiver")
# Reads see every write made before them (Quiver's embedded store always does); after the flush,
# Milvus Lite's Session and Strong levels measured the same.
LEVEL = "Session"


def corpus_vectors(corpus):
    """all-MiniLM-L6-v2 vectors of the corpus by `quiver embed` (cached)."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"wordnet-glosses-{len(corpus)}-minilm.npy")
    if not os.path.exists(path):
        t = time.time()
        subprocess.run([QUIVER, "embed", "--model", "all-MiniLM-L6-v2", "-", "--format", "npy", "--output", path + ".tmp.npy"],
                       input="\n".join(corpus) + "\n", text=True, check=True)
        os.replace(path + ".tmp.npy", path)
        print(f"  (embedded {len(corpus)} glosses with quiver embed in {time.time() - t:.0f} s, cached in {path})")
    v = np.load(path)
    assert v.shape == (len(corpus), 384), v.shape
    return v


def summary(ms):
    return {"mean": sum(ms) / len(ms), "p50": pct(ms, 0.5), "p99": pct(ms, 0.99)}


def timed(fn, queries, repeats):
    fn(queries[0])
    best = None
    for _ in range(repeats):
        ms = []
        for q in queries:
            s = time.perf_counter()
            fn(q)
            ms.append((time.perf_counter() - s) * 1000)
        if best is None or sum(ms) < sum(best):
            best = ms
    return summary(best)


def milvus_path(corpus, vectors, queries, depth, limit, threads, repeats, work):
    import torch
    from pymilvus import AnnSearchRequest, DataType, Function, FunctionType, MilvusClient, RRFRanker
    from sentence_transformers import SentenceTransformer
    torch.set_num_threads(threads)
    model = SentenceTransformer(os.path.join(HOME, "models", "all-MiniLM-L6-v2"), device="cpu")
    model.encode(["warm-up"])
    client = MilvusClient(os.path.join(work, "milvus.db"))
    version = client.get_server_version()
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("text", DataType.VARCHAR, max_length=8192, enable_analyzer=True,
                     analyzer_params={"tokenizer": "standard", "filter": ["lowercase", {"type": "stop", "stop_words": STOP}]})
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=384)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]))
    index = client.prepare_index_params()
    index.add_index(field_name="sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.2, "bm25_b": 0.75})
    index.add_index(field_name="dense", index_type="FLAT", metric_type="COSINE")
    client.create_collection("bench", schema=schema, index_params=index)
    t0 = time.perf_counter()
    for start in range(0, len(corpus), 2000):
        client.insert("bench", [{"id": start + i, "text": t, "dense": v.tolist()}
                                for i, (t, v) in enumerate(zip(corpus[start:start + 2000], vectors[start:start + 2000]))])
    client.flush("bench")  # seal the segments: searches of a growing segment are ~30x slower
    client.load_collection("bench")
    insert_s = time.perf_counter() - t0

    def dense_req(v):
        return AnnSearchRequest(data=[v], anns_field="dense", param={"metric_type": "COSINE"}, limit=depth)

    def sparse_req(q):
        return AnnSearchRequest(data=[q], anns_field="sparse", param={"metric_type": "BM25"}, limit=depth)

    top = []

    def hybrid(q):
        v = model.encode([q], normalize_embeddings=True)[0].tolist()
        return client.hybrid_search("bench", [dense_req(v), sparse_req(q)], RRFRanker(60), limit=limit, output_fields=["text"],
                                    consistency_level=LEVEL)[0]

    qvec = {q: model.encode([q], normalize_embeddings=True)[0].tolist() for q in queries}
    out = {
        "version": version, "insert_seconds": insert_s,
        "hybrid_ms": timed(hybrid, queries, repeats),
        "hybrid_search_only_ms": timed(lambda q: client.hybrid_search("bench", [dense_req(qvec[q]), sparse_req(q)], RRFRanker(60),
                                                                      limit=limit, output_fields=["text"], consistency_level=LEVEL),
                                       queries, repeats),
        "dense_ms": timed(lambda q: client.search("bench", data=[model.encode([q], normalize_embeddings=True)[0].tolist()],
                                                  anns_field="dense", limit=limit, output_fields=["text"],
                                                  search_params={"metric_type": "COSINE"}, consistency_level=LEVEL), queries, repeats),
        "bm25_ms": timed(lambda q: client.search("bench", data=[q], anns_field="sparse", limit=limit, output_fields=["text"],
                                                 search_params={"metric_type": "BM25"}, consistency_level=LEVEL), queries, repeats),
        "embed_ms": timed(lambda q: model.encode([q], normalize_embeddings=True), queries, repeats),
    }
    for q in queries:
        hits = hybrid(q)
        top.append(hits[0]["entity"]["text"] if hits else "")
    out["top"] = top
    client.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=117659)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--depth", type=int, default=50)
    a = ap.parse_args()

    glosses, queries = corpus_and_queries(1000)
    corpus, queries = glosses[:a.count], queries[:a.queries]
    work = tempfile.mkdtemp(prefix="quiver-bench-hybrid-")
    try:
        cpath, qpath = write_inputs(work, corpus, queries)
        print(f"hybrid: {len(corpus)} WordNet glosses, {len(queries)} queries, top 10, lists {a.depth} deep, RRF k = 60, "
              f"{a.threads} threads; load average {load_average()}")
        vectors = corpus_vectors(corpus)
        env = dict(os.environ, QUIVER_THREADS=str(a.threads))
        qv = quiver_bench("hybrid", "--corpus", cpath, "--queries", qpath, "--store", os.path.join(work, "quiver"),
                          "--depth", str(a.depth), "--repeat", str(a.repeat), env=env)
        ml = milvus_path(corpus, vectors, queries, a.depth, 10, a.threads, a.repeat, work)
        print(f"  setup (untimed in the latencies): Quiver ingest (embed + store + BM25 index) {qv['ingest_seconds']:.1f} s, "
              f"{qv['rows']} rows; Milvus Lite ({ml['version']}) insert of precomputed vectors + load {ml['insert_seconds']:.1f} s")
        print(f"\n  {'query latency, ms':<52}{'mean':>8}{'p50':>8}{'p99':>8}")
        rows = [("quiver hybrid (embed + dense + BM25 + RRF)", qv["hybrid_ms"]),
                ("milvus lite: encode + hybrid_search", ml["hybrid_ms"]),
                ("milvus lite: hybrid_search alone (vector given)", ml["hybrid_search_only_ms"]),
                ("quiver dense (embed + search)", qv["dense_ms"]),
                ("milvus lite: encode + dense search", ml["dense_ms"]),
                ("quiver bm25", qv["bm25_ms"]),
                ("milvus lite: BM25 search", ml["bm25_ms"]),
                ("quiver query embedding alone", qv["embed_ms"]),
                ("sentence-transformers query embedding alone", ml["embed_ms"])]
        for label, r in rows:
            print(f"  {label:<52}{r['mean']:>8.2f}{r['p50']:>8.2f}{r['p99']:>8.2f}")
        same = sum(1 for x, y in zip(qv["top"], ml["top"]) if x.strip() == y.strip())
        print(f"\n  ratio milvus lite / quiver, hybrid end to end: mean {ml['hybrid_ms']['mean'] / qv['hybrid_ms']['mean']:.2f}x, "
              f"p99 {ml['hybrid_ms']['p99'] / qv['hybrid_ms']['p99']:.2f}x; BM25 alone: mean {ml['bm25_ms']['mean'] / qv['bm25_ms']['mean']:.2f}x")
        print(f"  same top hit: {same}/{len(queries)} (the BM25 analyzers differ: Quiver stems, Milvus Lite does not)")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
