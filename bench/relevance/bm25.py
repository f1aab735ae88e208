"""BM25 indexing and query speed: Quiver's full-text index vs bm25s, one thread.

Data (bench/relevance/common.py): the 117,659 WordNet glosses as documents, 1,000 WordNet example
sentences as queries, top 10 per query, Lucene's BM25 (k1 1.2, b 0.75) on both sides.

- Quiver: `quiver-bench bm25` (Sources/quiver-bench/BM25Bench.swift): the glosses stored in a
  collection of the embedded store (untimed), then `createFullTextIndex` timed (analysis of every
  row + postings), then `fullTextSearch` per query, one after the other (analysis, scoring,
  top-k, ids). Its analyzer: Unicode word split (letters, marks, numbers, connector punctuation,
  inner apostrophes), lowercase, Lucene's 33 English stop words, Snowball English (libstemmer).
- bm25s (method "lucene", same k1/b), in two set-ups, each with its numpy backend (its default)
  and its numba backend:
  "bm25s": its own analyzer as its README shows it: `bm25s.tokenize(texts, stopwords=<the same
      33 words>, stemmer=PyStemmer english)` (regex `(?u)\\b\\w\\w+\\b`: 1-character words dropped,
      apostrophes split words) — index time = tokenize + index; query time = tokenize the 1,000
      queries + `retrieve(k=10, n_threads=1)` in one call (its batch API; its fastest use), and also
      one `retrieve` call per query (as Quiver is used).
  "bm25s-same-tokens": indexes the terms Quiver's analyzer makes (the same analyzer in Python,
      libstemmer through ctypes: bench/relevance/common.py), so both rank the same tokens: used to
      check that Quiver's top 10 equal bm25s' (ids and order), and timed retrieve-only (queries
      given as tokens, the Python analysis left out).
Each timing: one warm-up run, then the best of --repeat runs; wall seconds and process CPU seconds
(CPU seconds are the steadier measure on a loaded machine). Single thread: Quiver's BM25 code is
single-threaded; bm25s gets n_threads=1 and NUMBA_NUM_THREADS=1 / OMP_NUM_THREADS=1.

Run: bash bench/run.sh bm25   (or: python bench/relevance/bm25.py [--repeat 3] [--queries 1000])
"""
import os

os.environ.setdefault("NUMBA_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import json
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import STOP, QuiverAnalyzer, best_of, corpus_and_queries, load_average, quiver_bench, write_inputs  # noqa: E402


def run_bm25s(corpus, queries, backend, repeats, k):
    import bm25s
    import Stemmer

    stemmer = Stemmer.Stemmer("english")

    def build():
        tokens = bm25s.tokenize(corpus, stopwords=STOP, stemmer=stemmer, show_progress=False)
        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75, backend=backend)
        model.index(tokens, show_progress=False)
        return model
    model, index_s, index_cpu, _ = best_of(build, 1)

    def batch():
        qt = bm25s.tokenize(queries, stopwords=STOP, stemmer=stemmer, show_progress=False)
        return model.retrieve(qt, k=k, n_threads=1, show_progress=False)
    _, batch_s, batch_cpu, batch_runs = best_of(batch, repeats)

    def one_by_one():
        for q in queries:
            qt = bm25s.tokenize([q], stopwords=STOP, stemmer=stemmer, show_progress=False)
            model.retrieve(qt, k=k, n_threads=1, show_progress=False)
    _, single_s, single_cpu, _ = best_of(one_by_one, repeats)
    return {"index_seconds": index_s, "index_cpu_seconds": index_cpu,
            "batch_seconds": batch_s, "batch_cpu_seconds": batch_cpu, "batch_runs": batch_runs,
            "single_seconds": single_s, "single_cpu_seconds": single_cpu}


def run_bm25s_same_tokens(corpus_terms, query_terms, backend, repeats, k):
    import bm25s

    def build():
        model = bm25s.BM25(method="lucene", k1=1.2, b=0.75, backend=backend)
        model.index(corpus_terms, show_progress=False)
        return model
    model, index_s, index_cpu, _ = best_of(build, 1)
    # Queries as token lists; terms absent from the corpus vocabulary are dropped first
    # (bm25s would fail on them), which does not change any score.
    vocab = model.vocab_dict
    qt = [[t for t in q if t in vocab] or [next(iter(vocab))] for q in query_terms]
    empty = [i for i, q in enumerate(query_terms) if not any(t in vocab for t in q)]

    def batch():
        return model.retrieve(qt, k=k, n_threads=1, show_progress=False)
    _, batch_s, batch_cpu, _ = best_of(batch, repeats)
    # The reference lists, with 100 more hits to tell ties at the cut.
    docs, scores = model.retrieve(qt, k=k + 100, n_threads=1, show_progress=False)
    return {"index_seconds": index_s, "index_cpu_seconds": index_cpu, "batch_seconds": batch_s,
            "batch_cpu_seconds": batch_cpu, "docs": docs, "scores": scores, "empty": empty}


def agreement(quiver_top, quiver_scores, docs, scores, empty, k, tol=1e-4):
    """(queries whose top k agree up to ties, queries with the same first hit up to ties, largest
    score difference). `docs`/`scores` are bm25s' top k + 100. The lists agree when the scores
    match position by position within `tol` (relative; bm25s keeps float32) and every Quiver hit
    is bm25s' hit at that position or one of bm25s' hits with the same score (equal scores may
    come in any order and be cut at k differently)."""
    same = first = 0
    worst = 0.0
    differing = []
    for i, (q, qs) in enumerate(zip(quiver_top, quiver_scores)):
        ext = [(int(d), float(x)) for d, x in zip(docs[i], scores[i]) if x > 0] if i not in empty else []
        ref = ext[:k]
        close = lambda a, b: abs(a - b) <= tol * max(1.0, abs(b))
        ok = len(ref) == len(q)
        for p in range(min(len(q), len(ref))):
            worst = max(worst, abs(qs[p] - ref[p][1]) / max(1.0, abs(ref[p][1])))
            tie = any(d == q[p] and close(qs[p], x) for d, x in ext)
            good = close(qs[p], ref[p][1]) and (q[p] == ref[p][0] or tie)
            ok = ok and good
            if p == 0:
                first += good
        if not q and not ref:
            first += 1
        same += ok
        if not ok:
            differing.append((i, list(zip(q, qs)), ref))
    return same, first, worst, differing


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--backends", default="numpy,numba")
    a = ap.parse_args()

    corpus, queries = corpus_and_queries(a.queries)
    work = tempfile.mkdtemp(prefix="quiver-bench-bm25-")
    cpath, qpath = write_inputs(work, corpus, queries)
    import bm25s
    import Stemmer
    print(f"bm25: {len(corpus)} WordNet glosses, {len(queries)} queries, k = {a.k}, one thread; "
          f"bm25s {bm25s.__version__}, PyStemmer {Stemmer.version()}; load average {load_average()}")

    qv = quiver_bench("bm25", "--corpus", cpath, "--queries", qpath, "--limit", str(a.k), "--repeat", str(a.repeat),
                      env=dict(os.environ, QUIVER_THREADS="1"))
    n = len(queries)
    print(f"\n  {'engine':<34}{'index s':>9}{'(CPU s)':>9}{'queries/s':>11}{'per CPU s':>11}")
    print(f"  {'quiver (one query per call)':<34}{qv['index_seconds']:>9.2f}{qv['index_cpu_seconds']:>9.2f}"
          f"{qv['queries_per_second']:>11.0f}{qv['queries_per_cpu_second']:>11.0f}")
    print(f"  {'':<34}p50 {qv['query_ms_p50']:.3f} ms, p99 {qv['query_ms_p99']:.3f} ms; "
          f"{qv['indexed']} documents indexed, {qv['terms']} terms, mean length {qv['average_length']:.2f}")

    analyzer = QuiverAnalyzer()
    t0 = time.perf_counter()
    corpus_terms = [analyzer.terms(t) for t in corpus]
    query_terms = [analyzer.terms(q) for q in queries]
    analysis_s = time.perf_counter() - t0
    results = {"quiver": qv}
    best_batch = best_single = best_batch_cpu = None
    for backend in [b for b in a.backends.split(",") if b]:
        r = run_bm25s(corpus, queries, backend, a.repeat, a.k)
        results[f"bm25s-{backend}"] = {k: v for k, v in r.items()}
        for label, s, c in ((f"bm25s {backend}, batch of {n}", r["batch_seconds"], r["batch_cpu_seconds"]),
                            (f"bm25s {backend}, one query per call", r["single_seconds"], r["single_cpu_seconds"])):
            print(f"  {label:<34}{r['index_seconds']:>9.2f}{r['index_cpu_seconds']:>9.2f}{n / s:>11.0f}{n / c:>11.0f}")
        best_batch = max(best_batch or 0, n / r["batch_seconds"])
        best_single = max(best_single or 0, n / r["single_seconds"])
        best_batch_cpu = max(best_batch_cpu or 0, n / r["batch_cpu_seconds"])
        same = run_bm25s_same_tokens(corpus_terms, query_terms, backend, a.repeat, a.k)
        label = f"bm25s {backend}, Quiver's tokens"
        print(f"  {label:<34}{same['index_seconds']:>9.2f}{same['index_cpu_seconds']:>9.2f}"
              f"{n / same['batch_seconds']:>11.0f}{n / same['batch_cpu_seconds']:>11.0f}   (retrieve only, batch)")
        sl, sf, worst, differing = agreement(qv["top"], qv["top_scores"], same["docs"], same["scores"], same["empty"], a.k)
        print(f"  {'':<34}same tokens: top-{a.k} equal up to ties for {sl}/{n} queries, same first hit "
              f"{sf}/{n}, largest score difference {worst:.1e} (relative)")
        for i, mine, ref in differing[:3]:
            print(f"  {'':<34}differs: query {i} {queries[i]!r} terms {query_terms[i]}\n{'':<38}quiver {mine}\n{'':<38}bm25s  {ref}")
    print(f"\n  (Python analysis of the corpus with Quiver's analyzer, for the same-tokens runs: {analysis_s:.1f} s, not timed above)")
    if best_batch:
        print(f"  ratio quiver / bm25s queries/s: {qv['queries_per_second'] / best_batch:.2f}x its best batch run, "
              f"{qv['queries_per_second'] / best_single:.2f}x its best one-query-per-call run; per CPU second "
              f"{qv['queries_per_cpu_second'] / best_batch_cpu:.2f}x its best batch run")


if __name__ == "__main__":
    sys.exit(main())
