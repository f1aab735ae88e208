"""Milvus end to end: Quiver vs the source document's Python path, on the same Milvus server.

Server: a real Milvus 2.3.5 standalone from PyPI (scripts/milvus-servers.sh starts it, with
authorization on; or pass --address/--token of a running one).
Corpus: the 8,200-gloss demo corpus (every 10th noun synset of /usr/share/wordnet/data.noun as
"word: gloss", exactly as scripts/demo.sh builds it), one row per line.
Queries: the first --queries (default 100) WordNet example sentences (the quoted text inside a
gloss) of synsets that are not in the corpus.

Both paths embed with all-MiniLM-L6-v2 (the same folder, ~/.cache/quiver/models) on --threads
threads (default 2), load their model before the clock starts, and write into a fresh collection:
- Python: sentence-transformers `encode(batch, batch_size=64, normalize_embeddings=True)` and
  pymilvus `MilvusClient.insert` per batch of 64 rows (id, vector, text) into a collection with a
  FLAT COSINE index, loaded; then per query `encode([q])` + `MilvusClient.search(limit=10,
  output_fields=["text"])`.
- Quiver: `quiver-bench milvus` (Sources/quiver-bench/MilvusBench.swift): the library's
  `Ingestor` (--split lines; embeds in batches of 64, inserts, creates the collection with its
  model binding, FLAT index, load) and `Searcher.search(text:)` per query.
Reads use the same consistency level on both sides (--consistency strong|session|both; Strong is
Quiver's default; Milvus 2.3.5 makes a Strong read wait for its ~200 ms time tick).
Prints rows/s, query latency mean/p50/p99 and the Quiver/Python ratios, and how often both put
the same gloss first.

Run: bash bench/run.sh milvus      (or: python bench/milvus/run.py [--consistency both])
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HOME = os.environ.get("QUIVER_HOME", os.path.expanduser("~/.cache/quiver"))
DATA = "/usr/share/wordnet/data.noun"


def corpus_and_queries(every=10, count=100):
    """The demo corpus (scripts/demo.sh's awk, line for line) and held-out example sentences."""
    rows, queries, n = [], [], 0
    with open(DATA, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("  "):
                continue
            n += 1
            parts = line.rstrip("\n").split(" | ")
            if len(parts) < 2:
                continue
            gloss = parts[1].rstrip(" ")
            if n % every == 0:
                word = parts[0].split(" ")[4].replace("_", " ")
                rows.append(f"{word}: {gloss}")
            elif len(queries) < count and n % every == 5 and '"' in gloss:
                q = gloss.split('"')[1].strip()
                if len(q.split()) >= 4:
                    queries.append(q)
    return rows, queries


def pct(values, p):
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(-(-p * len(s) // 1)) - 1))
    return s[k]


def python_path(address, token, rows, queries, threads, consistency):
    import torch
    from pymilvus import DataType, MilvusClient
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(threads)
    model = SentenceTransformer(os.path.join(HOME, "models", "all-MiniLM-L6-v2"), device="cpu")
    model.encode(["warm-up"])
    client = MilvusClient(uri=f"http://{address}", token=token or "")
    name = "bench_python"
    if client.has_collection(name):
        client.drop_collection(name)
    level = consistency.capitalize()

    t0 = time.perf_counter()
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=384)
    schema.add_field("text", DataType.VARCHAR, max_length=65535)
    index = client.prepare_index_params()
    index.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
    client.create_collection(name, schema=schema, index_params=index, consistency_level=level)
    for start in range(0, len(rows), 64):
        batch = rows[start:start + 64]
        vectors = model.encode(batch, batch_size=64, normalize_embeddings=True)
        client.insert(name, [{"id": start + i, "vector": v.tolist(), "text": t}
                             for i, (v, t) in enumerate(zip(vectors, batch))])
    ingest = time.perf_counter() - t0

    def search(q):
        v = model.encode([q], normalize_embeddings=True)[0]
        return client.search(name, data=[v.tolist()], limit=10, output_fields=["text"],
                             consistency_level=level)[0]
    search(queries[0])  # warm-up
    latencies, top = [], []
    for q in queries:
        s = time.perf_counter()
        hits = search(q)
        latencies.append((time.perf_counter() - s) * 1000)
        top.append(hits[0]["entity"]["text"] if hits else "")
    client.drop_collection(name)
    client.close()
    return {"rows": len(rows), "ingest_seconds": ingest, "rows_per_second": len(rows) / ingest,
            "query_ms_mean": sum(latencies) / len(latencies), "query_ms_p50": pct(latencies, 0.5),
            "query_ms_p99": pct(latencies, 0.99), "top": top}


def quiver_path(address, token, corpus_file, queries_file, threads, consistency):
    exe = os.path.join(ROOT, ".build", "release", "quiver-bench")
    env = dict(os.environ, QUIVER_THREADS=str(threads))
    cmd = [exe, "milvus", "--db", f"milvus://{address}", "--corpus", corpus_file, "--queries", queries_file,
           "--consistency", consistency, "--collection", "bench_quiver"]
    if token:
        cmd += ["--token", token]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--address", help="host:port of a running Milvus (default: start 2.3.5 here)")
    ap.add_argument("--token", default=None, help="user:password (default root:Milvus for the started server)")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--consistency", choices=["strong", "session", "both"], default="both")
    a = ap.parse_args()

    rows, queries = corpus_and_queries(count=a.queries)
    work = tempfile.mkdtemp(prefix="quiver-bench-milvus-")
    corpus_file = os.path.join(work, "nouns.txt")
    with open(corpus_file, "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
    queries_file = os.path.join(work, "queries.json")
    with open(queries_file, "w", encoding="utf-8") as f:
        json.dump({"queries": queries}, f)

    started = None
    address, token = a.address, a.token
    if address is None:
        started = os.path.join(work, "servers")
        subprocess.run(["bash", os.path.join(ROOT, "scripts", "milvus-servers.sh"), "start", started], check=True)
        env = dict(line.strip().split("=", 1) for line in open(os.path.join(started, "env")) if "=" in line)
        address = env["QUIVER_MILVUS_STANDALONE"]
        token = token or env.get("QUIVER_MILVUS_STANDALONE_TOKEN", "root:Milvus")
    try:
        from pymilvus import MilvusClient
        version = MilvusClient(uri=f"http://{address}", token=token or "").get_server_version()
        print(f"milvus: server {version} at {address}; {len(rows)} rows, {len(queries)} queries, "
              f"{a.threads} threads, load average {open('/proc/loadavg').read().split()[0]}")
        levels = ["strong", "session"] if a.consistency == "both" else [a.consistency]
        for level in levels:
            py = python_path(address, token, rows, queries, a.threads, level)
            qv = quiver_path(address, token, corpus_file, queries_file, a.threads, level)
            same = sum(1 for x, y in zip(py["top"], qv["top"]) if x.strip() == y.strip())
            print(f"\nconsistency {level}:")
            print(f"  {'path':<28}{'rows':>6}{'ingest s':>10}{'rows/s':>9}{'query mean ms':>15}{'p50 ms':>9}{'p99 ms':>9}")
            for label, r in (("sentence-transformers+pymilvus", py), ("quiver", qv)):
                print(f"  {label:<28}{r['rows']:>6}{r['ingest_seconds']:>10.2f}{r['rows_per_second']:>9.1f}"
                      f"{r['query_ms_mean']:>15.1f}{r['query_ms_p50']:>9.1f}{r['query_ms_p99']:>9.1f}")
            end_py = py["ingest_seconds"] + sum([py["query_ms_mean"] * len(queries) / 1000])
            end_qv = qv["ingest_seconds"] + sum([qv["query_ms_mean"] * len(queries) / 1000])
            print(f"  ratios quiver/python: ingest {py['ingest_seconds'] / qv['ingest_seconds']:.2f}x, "
                  f"query mean {py['query_ms_mean'] / qv['query_ms_mean']:.2f}x, p99 {py['query_ms_p99'] / qv['query_ms_p99']:.2f}x, "
                  f"end to end (ingest + {len(queries)} queries) {end_py / end_qv:.2f}x")
            print(f"  same top hit: {same}/{len(queries)}")
    finally:
        if started:
            subprocess.run(["bash", os.path.join(ROOT, "scripts", "milvus-servers.sh"), "stop", started], check=False)


if __name__ == "__main__":
    sys.exit(main())
