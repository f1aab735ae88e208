#!/usr/bin/env python3
"""Cost as data grows (issue 15, item 5): wall time and peak memory of each `quiver` step vs rows.

    /work/venv-growth/bin/python bench/growth/run.py --quiver .build/release/quiver \\
        --data /work/growth-data --phase all
    # what made bench/growth/results.json (2026-12-07, in this order):
    #   run.py --phase store --force          # 10k, 100k, 1M; HNSW at 100k and 1M
    #   run.py --phase ingest                 # 10k, 100k text rows; HNSW on the real 100k
    #   run.py --phase store --store-sizes 2000000 --index-sizes ""   # 2M: import, exact only
    # phases one at a time (each is restartable: a measurement already in results.json is kept):
    #   --phase ingest   quiver ingest --split lines of WordNet glosses (10k, 100k rows), then on the
    #                    largest ingest's real vectors: exact search, HNSW build, HNSW search
    #   --phase synth    embed 10k glosses once (quiver embed), fit mean/covariance, write the
    #                    synthetic base and query .npy files (not timed as a step of the table)
    #   --phase store    quiver import (10k, 100k, 1M), exact search, quiver index --type HNSW
    #                    (100k, 1M), HNSW search
    #   --phase big      the same at 2M rows (import, exact search, HNSW build, HNSW search)
    #   --phase plot     bench/growth/growth.png from results.json only
    # --ingest-sizes 10000,100000  --store-sizes 10000,100000,1000000  --index-sizes 100000,1000000

Requirements: Python 3 with numpy and matplotlib (measured: a venv /work/venv-growth with numpy
2.4.6, matplotlib 3.11.2); GNU time at /usr/bin/time (Debian package `time`: its -v report gives
"Maximum resident set size"); WordNet at /usr/share/wordnet (Debian `wordnet-base`); the
all-MiniLM-L6-v2 model installed in QUIVER_HOME (`make models` or `make test`'s setup); a built
release `quiver` (--quiver). Disk: about 7 GB under --data at 2M rows (npy files and stores).

Every measured command runs alone under `/usr/bin/time -v`; wall time, user+sys CPU seconds and
maximum RSS come from its report. The script waits while /work/BENCH_RUNNING exists (another job's
timed run) and holds it (created with O_EXCL) for each phase, removing it at the end; before each
measured command it also waits until the cores are idle (under 15 % busy over 2 s, twice), since
not every job on a shared machine honours that file.

What each step is:
- ingest: `quiver ingest --db D --split lines --no-progress --collection g --precision P FILE`,
  FILE = the first N lines of all WordNet glosses ("lemma: gloss", the format of scripts/demo.sh,
  from data.noun, data.verb, data.adj, data.adv: 117,659 lines), shuffled once with seed 0 so every
  prefix has the same mix of parts of speech; past 117,659 rows (1M) the corpus repeats, reshuffled
  per pass (seed = pass number), so texts and token counts keep the real distribution (the BM25
  vocabulary stops growing). With --precision int8 the rows are named "ingest (...), int8". Embedding (all-MiniLM-L6-v2), the store and the BM25
  index are all inside the time.
- real-vector HNSW (after the largest ingest, on its collection g_text): exact search, `quiver index
  --type HNSW`, HNSW search, as below, with queries = `quiver embed` vectors of the glosses that
  follow the ingested ones (held out); a check of how far the synthetic set is from real data.
- synthetic vectors: the 10k ingest texts are embedded once with `quiver embed --format npy`
  (all-MiniLM-L6-v2, L2-normalized); their mean and covariance are fitted (float64) and base and
  query vectors are drawn from that Gaussian (seed 1 for the base, seed 2 for the queries) and
  L2-normalized; the N-row base is the first N rows of one 2M-row draw. The script prints and stores
  the statistics of real and synthetic sets side by side (norm of the mean, mean pairwise cosine,
  mean top-1 cosine of 200 rows against the other rows of their set).
- import: `quiver import --db D --collection v --vectors base_N.npy` (COSINE, batches of 5000).
- exact search: `quiver search --db D --collection v --vectors Q.npy --limit 10` before any index
  (brute force), with 1 query and with --exact-queries queries; the per-query cost is the
  difference divided by the extra queries, so opening the store is not counted in the QPS
  (that time is reported separately as the 1-query run). Queries run in parallel on both cores.
- index: `quiver index --db D --collection v --type HNSW` (M=16, efConstruction=200, the defaults).
- HNSW search: as exact search with --hnsw-queries queries, at ef=64 (the default) and ef=256;
  recall@10 is the overlap of its ids with the exact run's on the same queries. Search runs are
  the best of 3 while one takes under 10 s (wall time from a monotonic clock around the process).
"""
import argparse
import atexit
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = Path("/work/BENCH_RUNNING")
WORDNET = [f"/usr/share/wordnet/data.{p}" for p in ("noun", "verb", "adj", "adv")]
DIM = 384


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- lock

_held = False


def acquire_lock(what):
    global _held
    while True:
        try:
            fd = os.open(LOCK, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = LOCK.read_text().strip()
            except OSError:
                owner = "?"
            log(f"waiting: {LOCK} exists ({owner[:100]})")
            time.sleep(20)
            continue
        os.write(fd, f"held by growth helper: bench/growth/run.py {what} (pid {os.getpid()})\n".encode())
        os.close(fd)
        _held = True
        return


def release_lock():
    global _held
    if _held:
        try:
            if f"pid {os.getpid()}" in LOCK.read_text():
                LOCK.unlink()
        except OSError:
            pass
        _held = False


atexit.register(release_lock)


# ---------------------------------------------------------------- results

class Results:
    def __init__(self, path):
        self.path = Path(path)
        self.data = json.loads(self.path.read_text()) if self.path.exists() else {"runs": [], "stats": {}, "machine": {}}

    def find(self, step, rows):
        for r in self.data["runs"]:
            if r["step"] == step and r["rows"] == rows:
                return r
        return None

    def put(self, rec):
        self.data["runs"] = [r for r in self.data["runs"] if not (r["step"] == rec["step"] and r["rows"] == rec["rows"])]
        self.data["runs"].append(rec)
        self.save()

    def save(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.data, indent=1) + "\n")
        tmp.replace(self.path)


def loadavg():
    return [round(x, 2) for x in os.getloadavg()]


def busy_fraction(seconds=2.0):
    """Fraction of all cores busy over `seconds` (from /proc/stat)."""
    def read():
        f = [int(x) for x in open("/proc/stat").readline().split()[1:]]
        return sum(f), f[3] + f[4]
    t0, i0 = read()
    time.sleep(seconds)
    t1, i1 = read()
    return 1 - (i1 - i0) / max(t1 - t0, 1)


def wait_quiet(limit=0.15, max_wait=1800):
    """Waits (up to max_wait s) until the cores are idle (< limit busy over 2 s, twice in a row):
    other jobs on this shared machine do not all honour BENCH_RUNNING. Returns seconds waited."""
    t0 = time.monotonic()
    ok = 0
    while ok < 2 and time.monotonic() - t0 < max_wait:
        b = busy_fraction()
        ok = ok + 1 if b < limit else 0
        if ok == 0 and int(time.monotonic() - t0) % 60 < 2:
            log(f"waiting for idle cores ({b:.0%} busy)")
    return round(time.monotonic() - t0, 1)


def timed(cmd, stdin=None, stdout=None):
    """Runs cmd under /usr/bin/time -v; returns wall s, cpu s, max RSS MB, stderr text, rc."""
    waited = wait_quiet()
    la = loadavg()
    t0 = time.monotonic()
    p = subprocess.Popen(["/usr/bin/time", "-v"] + [str(c) for c in cmd], stdin=stdin,
                         stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"RssAnon": 0, "RssFile": 0}
    stop = threading.Event()

    def sample():  # peak anonymous vs file-backed (mmap'd files) resident memory of the quiver process
        child = None
        while not stop.is_set():
            try:
                if child is None:
                    kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
                    child = kids[0] if kids else None
                if child:
                    for line in open(f"/proc/{child}/status"):
                        k = line.split(":")[0]
                        if k in peak:
                            peak[k] = max(peak[k], int(line.split()[1]))
            except (OSError, IndexError, ValueError):
                pass
            stop.wait(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out_text, err = p.communicate()
    wall_outer = time.monotonic() - t0
    stop.set()
    th.join()
    def field(name):
        m = re.search(re.escape(name) + r":\s*(.+)", err)
        return m.group(1).strip() if m else None
    el = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(x) for x in el.split(":")]
    wall = parts[-1] + 60 * parts[-2] + (3600 * parts[-3] if len(parts) == 3 else 0)
    rec = {
        "wall_s": round(wall_outer, 3),  # monotonic clock around /usr/bin/time (its report has 10 ms steps)
        "wall_time_v_s": round(wall, 2),
        "cpu_s": round(float(field("User time (seconds)")) + float(field("System time (seconds)")), 2),
        "max_rss_mb": round(int(field("Maximum resident set size (kbytes)")) / 1024, 1),
        "peak_rss_anon_mb": round(peak["RssAnon"] / 1024, 1),  # sampled every 0.1 s
        "peak_rss_file_mb": round(peak["RssFile"] / 1024, 1),
        "loadavg_before": la,
        "waited_for_idle_s": waited,
        "cmd": " ".join(str(c) for c in cmd),
    }
    if p.returncode != 0:
        log(err[-3000:])
        raise SystemExit(f"command failed ({p.returncode}): {rec['cmd']}")
    return rec, err, (out_text if stdout is None else None)


def du_mb(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return round(total / 2**20, 1)


# ---------------------------------------------------------------- data

def glosses(data):
    """All WordNet glosses as "lemma: gloss", shuffled with seed 0 (cached in data/glosses.txt)."""
    import numpy as np
    out = data / "glosses.txt"
    if out.exists():
        return out.read_text().splitlines()
    lines = []
    for f in WORDNET:
        for line in open(f, encoding="utf-8", errors="replace"):
            if line.startswith("  "):
                continue  # license header
            head, sep, gloss = line.partition(" | ")
            if not sep:
                continue
            w = head.split(" ")[4].replace("_", " ")
            lines.append(f"{w}: {gloss.strip()}")
    perm = np.random.default_rng(0).permutation(len(lines))
    lines = [lines[i] for i in perm]
    out.write_text("\n".join(lines) + "\n")
    return lines


def gloss_file(data, n):
    """The first n glosses; past the 117,659 of WordNet, the corpus again, reshuffled per pass
    (pass r with seed r): the same texts and lengths, so the model's cost per row is unchanged."""
    import numpy as np
    lines = glosses(data)
    p = data / f"glosses_{n}.txt"
    if not p.exists():
        out, r = list(lines[:n]), 1
        while len(out) < n:
            perm = np.random.default_rng(r).permutation(len(lines))
            out += [lines[i] for i in perm[:n - len(out)]]
            r += 1
        p.write_text("\n".join(out) + "\n")
    return p


def stats(x, q):
    """Norm of the mean, mean pairwise cosine (2,000 random pairs), mean top-1 cosine of q in x."""
    import numpy as np
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, len(x), 2000), rng.integers(0, len(x), 2000)
    keep = i != j
    pair = float(np.mean(np.sum(x[i[keep]] * x[j[keep]], axis=1)))
    top1 = float(np.mean(np.max(q @ x.T, axis=1)))
    return {"mean_norm": round(float(np.linalg.norm(x.mean(0))), 4), "mean_pair_cos": round(pair, 4),
            "mean_top1_cos_200_rows_vs_rest": round(top1, 4)}


def synth(args, res):
    import numpy as np
    data = args.data
    nr = args.real_rows
    real = data / f"real_{nr}.npy"
    if not real.exists():
        src = gloss_file(data, nr)
        with open(src) as fin:
            rec, _, _ = timed([args.quiver, "embed", "--model", "all-MiniLM-L6-v2", "--format", "npy",
                               "--output", real, "--precision", args.precision, "-"], stdin=fin)
        rec.update(step="embed (model only, no store)", rows=nr, precision=args.precision)
        res.put(rec)
        log("embed:", rec)
    x = np.load(real).astype(np.float64)
    assert x.shape == (nr, DIM), x.shape
    mu = x.mean(0)
    cov = np.cov(x, rowvar=False)
    L = np.linalg.cholesky(cov + 1e-9 * np.eye(DIM))
    nmax = max(args.all_sizes)
    base = data / f"base_{nmax}.npy"

    def draw(rng, n):
        z = rng.standard_normal((n, DIM)) @ L.T + mu
        z /= np.linalg.norm(z, axis=1, keepdims=True)
        return z.astype(np.float32)

    if not base.exists():
        mm = np.lib.format.open_memmap(str(base) + ".part", mode="w+", dtype=np.float32, shape=(nmax, DIM))
        rng = np.random.default_rng(1)
        for s in range(0, nmax, 100000):
            mm[s:s + 100000] = draw(rng, min(100000, nmax - s))
        mm.flush()
        del mm
        os.replace(str(base) + ".part", base)
    qpath = data / "queries.npy"
    if not qpath.exists():
        np.save(qpath, draw(np.random.default_rng(2), max(args.hnsw_queries, args.exact_queries)))
    q = np.load(qpath)
    for n in args.all_sizes:
        p = data / f"base_{n}.npy"
        if not p.exists():
            b = np.load(base, mmap_mode="r")
            np.save(str(p) + ".tmp.npy", np.ascontiguousarray(b[:n]))
            os.replace(str(p) + ".tmp.npy", p)
    for k in (1, args.exact_queries, args.hnsw_queries):
        p = data / f"q_{k}.npy"
        if not p.exists():
            np.save(p, q[:k])
    xs = np.load(base, mmap_mode="r")[:nr].astype(np.float64)
    # top-1 cosine: 200 rows of the set against the other rows of the same set (real and synthetic).
    def top1_excl(base_, qi):
        m = base_[qi] @ base_.T
        m[np.arange(len(qi)), qi] = -2
        return round(float(np.mean(m.max(1))), 4)
    qi = np.random.default_rng(4).choice(nr, 200, replace=False)
    sr, ss = stats(x, x[qi]), stats(xs, xs[qi])
    sr["mean_top1_cos_200_rows_vs_rest"] = top1_excl(x, qi)
    ss["mean_top1_cos_200_rows_vs_rest"] = top1_excl(xs, qi)
    res.data["stats"] = {
        "method": f"Gaussian with the mean and full covariance of {nr:,} real all-MiniLM-L6-v2 gloss "
                  "embeddings (quiver embed), each draw L2-normalized; base seed 1, queries seed 2",
        "real": sr, "synthetic": ss, "rows_compared": nr,
        "eigen_top5_share": [round(float(v), 4) for v in (np.linalg.eigvalsh(cov)[::-1][:5] / np.trace(cov))],
    }
    res.save()
    log("stats:", json.dumps(res.data["stats"]))


# ---------------------------------------------------------------- steps

def ingest(args, res, n):
    step = "ingest (embed+store+BM25)" + ("" if args.precision == "fp32" else f", {args.precision}")
    if res.find(step, n) and not args.force:
        return
    src = gloss_file(args.data, n)
    db = args.data / f"ingest_{n}.db"
    shutil.rmtree(db, ignore_errors=True)
    rec, err, out = timed([args.quiver, "ingest", "--db", db, "--split", "lines", "--no-progress",
                           "--collection", "g", "--precision", args.precision, src])
    rec.update(step=step, rows=n, precision=args.precision, store_mb=du_mb(db), tail=(out or "")[-400:] + err.split("\tCommand being timed")[0][-400:])
    res.put(rec)
    log(step, n, {k: rec[k] for k in ("wall_s", "cpu_s", "max_rss_mb")})
    # a dense text search on it: opening a text store (rebuilds BM25 at open) + one query
    step2 = "text search, 1 query (open store + embed query)" + ("" if args.precision == "fp32" else f", {args.precision}")
    rec2, _, _ = timed([args.quiver, "search", "--db", db, "--collection", "g", "--mode", "dense",
                        "--format", "json", "--limit", "10", "a small rodent"])
    rec2.update(step=step2, rows=n)
    res.put(rec2)
    log(step2, n, {k: rec2[k] for k in ("wall_s", "cpu_s", "max_rss_mb")})
    if n == max(args.ingest_sizes) and args.real_index:
        real_index(args, res, db, n)
    if not args.keep:
        shutil.rmtree(db, ignore_errors=True)


def real_index(args, res, db, n):
    """HNSW on the ingest's real vectors (collection g_text), queries = embeddings of held-out glosses."""
    lines = glosses(args.data)
    nq = min(args.hnsw_queries, len(lines) - n)
    qfile = args.data / f"realq_{n}_{nq}.npy"
    if not qfile.exists():
        held = args.data / f"glosses_heldout_{n}.txt"
        held.write_text("\n".join(lines[n:n + nq]) + "\n")
        with open(held) as fin:
            subprocess.run([args.quiver, "embed", "--model", "all-MiniLM-L6-v2", "--format", "npy", "--output", qfile,
                            "--precision", args.precision, "-"], stdin=fin, check=True)
    import numpy as np
    q = np.load(qfile)
    for k in (1, args.exact_queries, nq):
        np.save(args.data / f"realq_{k}.npy", q[:k])

    def pair(kind, k, params):
        base = [args.quiver, "search", "--db", db, "--collection", "g_text", "--limit", "10"] + params
        r1, _, _ = best_of(base + ["--vectors", args.data / "realq_1.npy"])
        rn, _, out = best_of(base + ["--vectors", args.data / f"realq_{k}.npy"])
        ids = [json.loads(l)["ids"] for l in out.splitlines() if l.strip()]
        extra, extra_cpu = rn["wall_s"] - r1["wall_s"], rn["cpu_s"] - r1["cpu_s"]
        rec = dict(rn)
        rec.update(step=f"{kind} search (real vectors)", rows=n, queries=k, open_1query_wall_s=r1["wall_s"],
                   open_1query_rss_mb=r1["max_rss_mb"], qps=round((k - 1) / extra, 1) if extra > 0 else None,
                   qps_per_cpu_s=round((k - 1) / extra_cpu, 1) if extra_cpu > 0 else None)
        return rec, ids

    rec, exact_ids = pair("exact", args.exact_queries, [])
    res.put(rec)
    log(rec["step"], n, {k: rec[k] for k in ("qps", "open_1query_wall_s", "max_rss_mb")})
    rec, _, _ = timed([args.quiver, "index", "--db", db, "--collection", "g_text", "--type", "HNSW"])
    rec.update(step="HNSW build (real vectors)", rows=n, params="M=16 efConstruction=200 (defaults)")
    res.put(rec)
    log(rec["step"], n, {k: rec[k] for k in ("wall_s", "cpu_s", "max_rss_mb")})
    for ef in (64, 256):
        rec, ids = pair("HNSW", nq, [] if ef == 64 else ["--param", f"ef={ef}"])
        kk = len(exact_ids)
        rec["recall_at_10"] = round(sum(len(set(a) & set(b)) for a, b in zip(ids[:kk], exact_ids)) / (10 * kk), 4)
        rec["ef"] = ef
        if ef != 64:
            rec["step"] += f" ef={ef}"
        res.put(rec)
        log(rec["step"], n, {k: rec[k] for k in ("qps", "recall_at_10", "max_rss_mb")})


def best_of(cmd, reps=3):
    """The fastest of up to reps runs (runs after the first only while a run takes under 10 s)."""
    best = None
    for i in range(reps):
        rec, err, out = timed(cmd)
        if best is None or rec["wall_s"] < best[0]["wall_s"]:
            best = (rec, err, out)
        if rec["wall_s"] >= 10:
            break
    best[0]["runs_taken_best_of"] = i + 1
    return best


def search_pair(args, res, db, n, kind, nq, params):
    """1-query and nq-query runs; records open time, QPS from the difference; returns the hit ids."""
    base = [args.quiver, "search", "--db", db, "--collection", "v", "--limit", "10"] + params
    r1, _, _ = best_of(base + ["--vectors", args.data / "q_1.npy"])
    rn, _, out = best_of(base + ["--vectors", args.data / f"q_{nq}.npy"])
    ids = [json.loads(l)["ids"] for l in out.splitlines() if l.strip()]
    assert len(ids) == nq, (len(ids), nq)
    extra = rn["wall_s"] - r1["wall_s"]
    extra_cpu = rn["cpu_s"] - r1["cpu_s"]
    rec = dict(rn)
    rec.update(step=f"{kind} search", rows=n, queries=nq, open_1query_wall_s=r1["wall_s"],
               open_1query_rss_mb=r1["max_rss_mb"],
               qps=round((nq - 1) / extra, 1) if extra > 0 else None,
               qps_per_cpu_s=round((nq - 1) / extra_cpu, 1) if extra_cpu > 0 else None)
    return rec, ids


def store(args, res, n, index):
    db = args.data / f"store_{n}.db"
    exact_ids = None
    if not (res.find("import", n) and (res.find("exact search", n) or not args.exact_queries) and not args.force):
        shutil.rmtree(db, ignore_errors=True)
        rec, _, _ = timed([args.quiver, "import", "--db", db, "--collection", "v", "--vectors", args.data / f"base_{n}.npy"])
        rec.update(step="import", rows=n, store_mb=du_mb(db))
        res.put(rec)
        log("import", n, {k: rec[k] for k in ("wall_s", "cpu_s", "max_rss_mb")})
        rec, exact_ids = search_pair(args, res, db, n, "exact", args.exact_queries, [])
        res.put(rec)
        (args.data / f"exact_{n}.json").write_text(json.dumps(exact_ids))
        log("exact search", n, {k: rec[k] for k in ("qps", "open_1query_wall_s", "max_rss_mb")})
    if not index:
        if not args.keep:
            shutil.rmtree(db, ignore_errors=True)
        return
    if res.find("HNSW build", n) and res.find("HNSW search", n) and not args.force:
        return
    if exact_ids is None:
        exact_ids = json.loads((args.data / f"exact_{n}.json").read_text())
    rec, _, _ = timed([args.quiver, "index", "--db", db, "--collection", "v", "--type", "HNSW"])
    rec.update(step="HNSW build", rows=n, store_mb=du_mb(db), params="M=16 efConstruction=200 (defaults)")
    res.put(rec)
    log("HNSW build", n, {k: rec[k] for k in ("wall_s", "cpu_s", "max_rss_mb")})
    for ef in (64, 256):  # 64: the default; 256 shows what more recall costs on this data
        rec, ids = search_pair(args, res, db, n, "HNSW", args.hnsw_queries, [] if ef == 64 else ["--param", f"ef={ef}"])
        k = len(exact_ids)
        rec["recall_at_10"] = round(sum(len(set(a) & set(b)) for a, b in zip(ids[:k], exact_ids)) / (10 * k), 4)
        rec["ef"] = ef
        if ef != 64:
            rec["step"] = f"HNSW search ef={ef}"
        res.put(rec)
        log(rec["step"], n, {k_: rec[k_] for k_ in ("qps", "recall_at_10", "open_1query_wall_s", "max_rss_mb")})
    if not args.keep:
        shutil.rmtree(db, ignore_errors=True)


# ---------------------------------------------------------------- plot

def plot(res):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    runs = res.data["runs"]

    def series(step):
        return sorted((r["rows"], r) for r in runs if r["step"] == step)

    fig, ax = plt.subplots(1, 3, figsize=(16, 5))
    colors = {"ingest (embed+store+BM25)": "C0", "ingest (embed+store+BM25), int8": "C6", "import": "C1", "HNSW build": "C2",
              "exact search": "C3", "HNSW search": "C4", "HNSW search ef=256": "C5"}
    for s in ("ingest (embed+store+BM25)", "ingest (embed+store+BM25), int8", "import", "HNSW build"):
        pts = series(s)
        if pts:
            xs = [p[0] for p in pts]
            label = s + (" (real text, fp32)" if s == "ingest (embed+store+BM25)" else
                         " (real text)" if s.startswith("ingest") else " (synthetic vectors)")
            ax[0].plot(xs, [p[1]["wall_s"] for p in pts], "o-", color=colors[s], label=label)
            ax[1].plot(xs, [p[1]["max_rss_mb"] for p in pts], "o-", color=colors[s], label=s + ": max RSS")
            if all(p[1].get("peak_rss_anon_mb") for p in pts):
                ax[1].plot(xs, [p[1]["peak_rss_anon_mb"] for p in pts], "x--", color=colors[s], label=s + ": anonymous")
    for s in ("exact search", "HNSW search", "HNSW search ef=256"):
        pts = [p for p in series(s) if p[1].get("qps")]
        if pts:
            lab = s + (" ef=64" if s == "HNSW search" else "")
            ax[2].plot([p[0] for p in pts], [p[1]["qps"] for p in pts], "o-", color=colors[s], label=lab + " (synthetic)")
            for n, r in pts:
                if "recall_at_10" in r:
                    ax[2].annotate(f"R@10 {r['recall_at_10']:.2f}", (n, r["qps"]), fontsize=7, xytext=(4, -10), textcoords="offset points")
    # the same steps on the real vectors of the largest ingest (markers only)
    for s, c, m in (("HNSW build (real vectors)", "C2", "*"),):
        for n, r in series(s):
            ax[0].plot([n], [r["wall_s"]], m, color=c, markersize=13, label=s)
            ax[1].plot([n], [r["max_rss_mb"]], m, color=c, markersize=13, label=s + ": max RSS")
    for s, c in (("exact search (real vectors)", "C3"), ("HNSW search (real vectors)", "C4"),
                 ("HNSW search (real vectors) ef=256", "C5")):
        for n, r in series(s):
            if r.get("qps"):
                ax[2].plot([n], [r["qps"]], "*", color=c, markersize=13, label=s)
                if "recall_at_10" in r:
                    ax[2].annotate(f"R@10 {r['recall_at_10']:.2f}", (n, r["qps"]), fontsize=7, xytext=(6, 2), textcoords="offset points")
    imp = series("import")
    if imp:
        n0, t0 = imp[-1][0], imp[-1][1]["wall_s"]
        lo = min(r["rows"] for r in runs)
        hi = max(r["rows"] for r in runs)
        ax[0].plot([lo, hi], [t0 * lo / n0, t0 * hi / n0], ":", color="grey", label="slope 1 (linear)")
    for a, t, y in ((ax[0], "wall time", "seconds"), (ax[1], "peak memory of the process", "MB"),
                    (ax[2], "search throughput (2 cores, store open excluded)", "queries/s")):
        a.set_xscale("log"); a.set_yscale("log"); a.set_title(t); a.set_xlabel("rows (384-d vectors)"); a.set_ylabel(y)
        a.grid(True, which="both", alpha=0.3); a.legend(fontsize=7)
    fig.suptitle("quiver: cost as data grows (all-MiniLM-L6-v2 space, 384-d; 2 cores)", fontsize=11)
    fig.tight_layout()
    fig.savefig(HERE / "growth.png", dpi=100)
    log("wrote", HERE / "growth.png")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quiver", type=Path, default=Path("/work/cc/.build/release/quiver"))
    ap.add_argument("--data", type=Path, default=Path("/work/growth-data"))
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--phase", choices=["all", "ingest", "synth", "store", "big", "plot"], default="all")
    ap.add_argument("--ingest-sizes", default="10000,100000")
    ap.add_argument("--store-sizes", default="10000,100000,1000000")
    ap.add_argument("--index-sizes", default="100000,1000000")
    ap.add_argument("--big-sizes", default="2000000")
    ap.add_argument("--exact-queries", type=int, default=300)
    ap.add_argument("--hnsw-queries", type=int, default=2000)
    ap.add_argument("--real-rows", type=int, default=10000, help="glosses embedded for the statistics")
    ap.add_argument("--no-lock", action="store_true", help="smoke tests only: do not wait for / hold BENCH_RUNNING")
    ap.add_argument("--precision", choices=["fp32", "int8"], default="fp32")
    ap.add_argument("--no-real-index", dest="real_index", action="store_false",
                    help="skip the HNSW build and searches on the largest ingest's real vectors")
    ap.add_argument("--keep", action="store_true", help="keep the stores under --data")
    ap.add_argument("--force", action="store_true", help="measure again what results.json has")
    args = ap.parse_args()
    ints = lambda s: [int(x) for x in s.split(",") if x]
    args.ingest_sizes, args.store_sizes, args.index_sizes, args.big_sizes = map(ints, (args.ingest_sizes, args.store_sizes, args.index_sizes, args.big_sizes))
    args.all_sizes = sorted(set(args.store_sizes + args.big_sizes))
    args.quiver = args.quiver.resolve()
    args.data.mkdir(parents=True, exist_ok=True)
    res = Results(args.out)
    if args.phase == "plot":
        plot(res)
        return
    res.data["machine"] = {
        "cores": os.cpu_count(), "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?"),
        "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "quiver": subprocess.run([args.quiver, "--version"], capture_output=True, text=True).stdout.strip(),
        "quiver_binary": str(args.quiver),
        "quiver_mtime": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(args.quiver.stat().st_mtime)),
    }
    res.save()
    ph = args.phase
    if not args.no_lock:
        acquire_lock(ph)
    res.data.setdefault("phases", {})[ph] = {"start": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "loadavg_start": loadavg()}
    res.save()
    if ph in ("all", "synth", "store", "big"):
        synth(args, res)
    if ph in ("all", "store"):
        for n in args.store_sizes:
            store(args, res, n, n in args.index_sizes)
    if ph in ("all", "big"):
        for n in args.big_sizes:
            store(args, res, n, True)
    if ph in ("all", "ingest"):
        for n in args.ingest_sizes:
            ingest(args, res, n)
    res.data["phases"][ph]["end"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    res.data["phases"][ph]["loadavg_end"] = loadavg()
    res.save()
    release_lock()
    plot(res)


if __name__ == "__main__":
    main()
