"""ANN benchmark: Quiver vs hnswlib 0.8, FAISS IndexHNSWFlat, usearch (HNSW, M=16,
efConstruction=200, inner product on normalized vectors) and exact FLAT vs FAISS IndexFlatIP.

    python bench/ann/run.py [--data DIR] [--set wordnet|synthetic] [--repeats 3]

Each library runs in its own subprocess (memory = RSS growth while building). Build uses both
cores; queries run single-threaded, the whole query set per ef, best of --repeats. The Swift side
is bench/ann/swift (built here in release mode). Data: bench/ann/make_data.py.
"""
import argparse
import json, os, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
EFS = [10, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512]

PEER = r'''
import json, os, sys, time
import numpy as np
lib, base_p, q_p, gt_p, efs, repeats = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], [int(x) for x in sys.argv[5].split(",")], int(sys.argv[6])
def rss():
    with open("/proc/self/statm") as f: return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
base = np.load(base_p); q = np.load(q_p); gt = np.load(gt_p)[:, :10]
n, d = base.shape
def recall(labels): return float(np.mean([len(set(a[:10]) & set(b)) / 10 for a, b in zip(labels, gt)]))
def emit(o): print(json.dumps(o, sort_keys=True), flush=True)
r0 = rss()
if lib == "hnswlib":
    import hnswlib
    idx = hnswlib.Index(space="ip", dim=d); idx.init_index(max_elements=n, M=16, ef_construction=200, random_seed=1)
    t = time.perf_counter(); c = time.process_time(); idx.add_items(base, np.arange(n), num_threads=2); build = time.perf_counter() - t; build_cpu = time.process_time() - c
    def search(ef):
        idx.set_ef(ef); return idx.knn_query(q, k=10, num_threads=1)[0]
elif lib == "faiss-hnsw" or lib == "faiss-flat":
    import faiss
    faiss.omp_set_num_threads(2)
    if lib == "faiss-flat":
        idx = faiss.IndexFlatIP(d); idx.add(base)
        best = 1e9
        for _ in range(repeats):
            t = time.perf_counter(); D, I = idx.search(q, 10); best = min(best, time.perf_counter() - t)
        emit({"lib": "faiss", "kind": "flat-batch", "threads": 2, "seconds": best, "qps": len(q) / best, "recall10": recall(I)})
        faiss.omp_set_num_threads(1)
        best = 1e9
        for _ in range(repeats):
            t = time.perf_counter()
            for i in range(200): idx.search(q[i:i + 1], 10)
            best = min(best, time.perf_counter() - t)
        emit({"lib": "faiss", "kind": "flat-single", "queries": 200, "threads": 1, "seconds": best, "qps": 200 / best})
        sys.exit(0)
    idx = faiss.IndexHNSWFlat(d, 16, faiss.METRIC_INNER_PRODUCT); idx.hnsw.efConstruction = 200
    t = time.perf_counter(); c = time.process_time(); idx.add(base); build = time.perf_counter() - t; build_cpu = time.process_time() - c
    faiss.omp_set_num_threads(1)
    def search(ef):
        idx.hnsw.efSearch = ef; return idx.search(q, 10)[1]
elif lib == "usearch":
    from usearch.index import Index
    idx = Index(ndim=d, metric="ip", dtype="f32", connectivity=16, expansion_add=200)
    t = time.perf_counter(); c = time.process_time(); idx.add(np.arange(n), base, threads=2); build = time.perf_counter() - t; build_cpu = time.process_time() - c
    def search(ef):
        idx.expansion_search = ef; return idx.search(q, 10, threads=1).keys
emit({"lib": lib, "kind": "hnsw", "n": n, "dim": d, "build_s": build, "build_cpu_s": build_cpu, "rss_delta_mb": (rss() - r0) / 2**20})
for ef in efs:
    best = best_cpu = 1e9
    for _ in range(repeats):
        t = time.perf_counter(); c = time.process_time(); labels = search(ef)
        best = min(best, time.perf_counter() - t); best_cpu = min(best_cpu, time.process_time() - c)
    emit({"lib": lib, "kind": "hnsw", "ef": ef, "qps": len(q) / best, "cpu_qps": len(q) / best_cpu, "recall10": recall(labels)})
'''

def run(cmd, env=None):
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    rows = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    for r in rows: print(json.dumps(r, sort_keys=True), flush=True)
    return rows

def at_recall(rows, target, key):
    ok = [r for r in rows if "ef" in r and r["recall10"] >= target]
    return max(ok, key=lambda r: r[key]) if ok else None

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.path.join(os.environ.get("QUIVER_BENCH_DATA", os.path.expanduser("~/.cache/quiver/bench-data")), "ann"))
    ap.add_argument("--set", default="wordnet")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", default="quiver,hnswlib,faiss-hnsw,usearch,flat")
    a = ap.parse_args()
    files = [os.path.join(a.data, f"{a.set}-{x}.npy") for x in ("base", "queries", "gt")]
    swift_dir = os.path.join(HERE, "swift")
    subprocess.run(["swift", "build", "-c", "release"], cwd=swift_dir, check=True, capture_output=True)
    exe = os.path.join(swift_dir, ".build", "release", "quiver-ann-bench")
    env = dict(os.environ); env.pop("OPENBLAS_CORETYPE", None); env.pop("OPENBLAS_L2_SIZE", None)
    print(f"# {time.strftime('%Y-%m-%d %H:%M:%S')} set={a.set} load={os.getloadavg()}", flush=True)
    only = a.only.split(",")
    results = {}
    efs = ",".join(map(str, EFS))
    for lib in ["quiver", "hnswlib", "faiss-hnsw", "usearch"]:
        if lib not in only: continue
        if lib == "quiver":
            results[lib] = run([exe, "hnsw", *files, "16", "200", efs, str(a.repeats)])
        else:
            results[lib] = run([sys.executable, "-c", PEER, lib, *files, efs, str(a.repeats)], env=env)
    if "flat" in only:
        results["flat-quiver"] = run([exe, "flat", *files, str(a.repeats)])
        results["flat-faiss"] = run([sys.executable, "-c", PEER, "faiss-flat", *files, "0", str(a.repeats)], env=env)
    print("\nQPS = single-thread queries per second of CPU time (wall-clock QPS in brackets); best ef meeting the recall.")
    print("| library | build wall s (CPU s) | RSS MB | QPS @R>=0.95 | QPS @R>=0.99 |")
    print("|---|---|---|---|---|")
    for lib in ["quiver", "hnswlib", "faiss-hnsw", "usearch"]:
        if lib not in results: continue
        rows = results[lib]; head = rows[0]
        cells = []
        for tgt in (0.95, 0.99):
            r = at_recall(rows, tgt, "cpu_qps")
            cells.append(f"{r['cpu_qps']:.0f} [{r['qps']:.0f}] (ef={r['ef']}, R={r['recall10']:.4f})" if r else "not reached")
        print(f"| {lib} | {head['build_s']:.1f} ({head['build_cpu_s']:.1f}) | {head['rss_delta_mb']:.0f} | {cells[0]} | {cells[1]} |")
    if "flat-quiver" in results:
        for key in ("flat-quiver", "flat-faiss"):
            for r in results[key]:
                print(f"| {key} {r['kind']} | | | {r['qps']:.1f} QPS ({r['seconds']:.3f} s) | recall {r.get('recall10', '')} |")

if __name__ == "__main__":
    main()
