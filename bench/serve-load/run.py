#!/usr/bin/env python3
"""`quiver serve` under load against infinity-emb, same model (all-MiniLM-L6-v2), same machine.

    python3 bench/serve-load/run.py BIN --out result.json [--duration 20] [--clients 1,8,32,128]
        [--infinity /path/to/venv/bin/infinity_emb] [--model-dir DIR] [--engines optimum,torch,torch-nobt]

BIN is the quiver binary (e.g. .build/release/quiver). The servers run one after the other, never
both at once, each on a free loopback port: first `quiver serve --db <tmp> --port P --no-milvus
--quiet` (its defaults otherwise: batching across requests, float32, all cores), then
`infinity_emb v2` once per engine in --engines (each with --served-model-name all-MiniLM-L6-v2,
so the same request body works on both; infinity's OpenAI route is /embeddings). Each server is
warmed up (one request, then --warmup seconds of load at 32 clients, not reported); then, for
each client count, wrk runs a closed loop (every connection sends its next request when the
previous answer arrived; -t1 for 1 client, -t2 otherwise) for --duration seconds with
embed.lua's seeded mix of 1-8 sentences per request (the mix bench/serve-batching/run.sh also uses).
Before the load, the script asks each server once for the embedding of one test sentence and
prints the cosine between Quiver's vector and each infinity engine's (>= 0.999: the same model).

The infinity engine with the most requests/s at 32 clients is reported as "infinity" in the
table (ratio = Quiver req/s / infinity req/s); every engine's rows are printed and written to
--out as JSON, with the errors wrk saw (connect/read/write/timeout and non-2xx status), the
server's CPU seconds per step and the load average at the start.

Requirements: wrk (Debian: apt-get install wrk); the Quiver model in the model home (make
models); a venv with infinity-emb (bench/serve-load/README.md gives the one measured); for the
optimum engine, a copy of the sentence-transformers model folder that also holds an ONNX export
(model.onnx) -- --model-dir, used for every infinity engine. Run it on a quiet machine: wrk and
the server share the cores.
"""
import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = "all-MiniLM-L6-v2"
TEST_SENTENCE = "A cheetah chases prey across a field."

# infinity settings per engine label, otherwise its defaults (batch size 32, dtype auto = float32
# on CPU, no torch.compile, no vector disk cache). --pooling-method mean: all-MiniLM-L6-v2
# mean-pools (its 1_Pooling); infinity 0.0.78's optimum engine takes "auto" as CLS pooling and
# returns other vectors (the torch engine reads 1_Pooling either way). "torch" is infinity's
# default torch setting (BetterTransformer on, when optimum < 2 provides it); "torch-nobt" turns
# BetterTransformer off.
ENGINES = {
    "optimum": ["--engine", "optimum", "--pooling-method", "mean"],
    "torch": ["--engine", "torch", "--pooling-method", "mean"],
    "torch-nobt": ["--engine", "torch", "--pooling-method", "mean", "--no-bettertransformer"],
}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read()


def embed(url, texts):
    status, raw = http("POST", url, {"model": MODEL, "input": texts})
    if status != 200:
        raise RuntimeError(f"{url}: HTTP {status}")
    return [d["embedding"] for d in json.loads(raw)["data"]]


def cosine(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def tree_cpu_seconds(pid):
    """utime + stime of pid and its descendants (threads are in the process's own counters)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (FileNotFoundError, ProcessLookupError):
            pass
    return total


class Server:
    def __init__(self, name, cmd, health_url, embed_url, cwd, env, log):
        self.name, self.cmd, self.health_url, self.embed_url = name, cmd, health_url, embed_url
        self.log_path = log
        self.log = open(log, "w")
        self.proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if http("GET", self.health_url, timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        self.stop()
        sys.stderr.write(Path(self.log_path).read_text()[-4000:])
        raise RuntimeError(f"{self.name} did not become ready (exit code {self.proc.returncode})")

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def run_wrk(url, clients, seconds, timeout_s):
    threads = 1 if clients == 1 else 2
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", f"--timeout", f"{timeout_s}s",
           "-s", str(HERE / "embed.lua"), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    line = next(l for l in out.splitlines() if l.startswith("RESULT "))
    r = json.loads(line[len("RESULT "):])
    secs = r["duration_us"] / 1e6
    return {
        "clients": clients, "wrk_threads": threads, "seconds": round(secs, 3), "requests": r["requests"],
        "req_per_s": round(r["requests"] / secs, 2), "texts_per_s": round(r["texts_sent"] / secs, 1),
        "p50_ms": r["p50_us"] / 1000, "p90_ms": r["p90_us"] / 1000, "p99_ms": r["p99_us"] / 1000,
        "max_ms": r["max_us"] / 1000, "mean_ms": round(r["mean_us"] / 1000, 3),
        "errors": r["errors"],  # "status": answers with a status >= 400
    }


def measure(server, args, clients_list):
    server.wait_ready(args.ready_timeout)
    embed(server.embed_url, ["warm up"])
    vector = embed(server.embed_url, [TEST_SENTENCE])[0]
    if args.warmup > 0:
        run_wrk(server.embed_url, 32, args.warmup, args.wrk_timeout)
    rows = []
    for c in clients_list:
        cpu0 = tree_cpu_seconds(server.proc.pid)
        row = run_wrk(server.embed_url, c, args.duration, args.wrk_timeout)
        row["server_cpu_s"] = round(tree_cpu_seconds(server.proc.pid) - cpu0, 2)
        rows.append(row)
        e = row["errors"]
        print(f"  {server.name:>16} {c:>4} clients: {row['req_per_s']:8.1f} req/s  p50 {row['p50_ms']:8.1f} ms"
              f"  p99 {row['p99_ms']:8.1f} ms  server CPU {row['server_cpu_s']:.1f} s"
              f"  errors {sum(e.values())} {e if sum(e.values()) else ''}", flush=True)
    server.stop()
    return vector, rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("quiver", help="quiver binary")
    ap.add_argument("--out", required=True, help="JSON result file")
    ap.add_argument("--duration", type=int, default=20, help="seconds per client count (default 20)")
    ap.add_argument("--warmup", type=int, default=5, help="seconds of unreported load at 32 clients first (default 5)")
    ap.add_argument("--clients", default="1,8,32,128")
    ap.add_argument("--infinity", default="/work/venv-infinity/bin/infinity_emb", help="infinity_emb executable")
    ap.add_argument("--model-dir", default="/work/infinity-model/all-MiniLM-L6-v2",
                    help="model folder for infinity (sentence-transformers layout + model.onnx)")
    ap.add_argument("--engines", default="optimum,torch,torch-nobt", help=f"infinity engines, of {','.join(ENGINES)}")
    ap.add_argument("--batch-size", type=int, default=32, help="infinity --batch-size (its default, 32)")
    ap.add_argument("--wrk-timeout", type=int, default=30, help="wrk per-request timeout in seconds")
    ap.add_argument("--ready-timeout", type=int, default=300)
    args = ap.parse_args()
    clients_list = [int(c) for c in args.clients.split(",")]
    engines = [e for e in args.engines.split(",") if e]
    for e in engines:
        if e not in ENGINES:
            ap.error(f"unknown engine {e}")

    result = {
        "started_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "loadavg_start": Path("/proc/loadavg").read_text().split()[:3],
        "cpus": os.cpu_count(), "duration_s": args.duration, "warmup_s": args.warmup,
        "test_sentence": TEST_SENTENCE, "servers": {},
    }
    print(f"load average at start: {' '.join(result['loadavg_start'])}", flush=True)
    vectors = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        cmd = [str(Path(args.quiver).resolve()), "serve", "--db", f"{tmp}/store", "--port", str(port),
               "--no-milvus", "--quiet"]
        base = f"http://127.0.0.1:{port}"
        quiver = Server("quiver", cmd, f"{base}/healthz", f"{base}/v1/embeddings", tmp, os.environ.copy(),
                        f"{tmp}/quiver.log")
        try:
            vectors["quiver"], rows = measure(quiver, args, clients_list)
        finally:
            quiver.stop()
        result["servers"]["quiver"] = {"command": " ".join(cmd), "rows": rows}

        env = dict(os.environ, DO_NOT_TRACK="1", INFINITY_ANONYMOUS_USAGE_STATS="0", HF_HUB_OFFLINE="1",
                   TRANSFORMERS_OFFLINE="1")
        for engine in engines:
            port = free_port()
            cmd = [args.infinity, "v2", "--model-id", args.model_dir, "--served-model-name", MODEL,
                   "--device", "cpu", "--batch-size", str(args.batch_size), *ENGINES[engine],
                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
            base = f"http://127.0.0.1:{port}"
            name = f"infinity-{engine}"
            server = Server(name, cmd, f"{base}/health", f"{base}/embeddings", tmp, env, f"{tmp}/{name}.log")
            try:
                vectors[name], rows = measure(server, args, clients_list)
            finally:
                server.stop()
            result["servers"][name] = {"command": " ".join(cmd), "rows": rows}

    ok = True
    result["cosine_to_quiver"] = {}
    for name, v in vectors.items():
        if name == "quiver":
            continue
        c = cosine(vectors["quiver"], v)
        result["cosine_to_quiver"][name] = c
        ok &= c >= 0.999
        print(f"cosine(quiver, {name}) on {TEST_SENTENCE!r}: {c:.6f} {'(same model)' if c >= 0.999 else '(DIFFERENT)'}")

    infinities = [n for n in result["servers"] if n != "quiver"]
    if infinities:
        def at32(n):
            rows = result["servers"][n]["rows"]
            row = next((r for r in rows if r["clients"] == 32), rows[-1])
            return row["req_per_s"]
        best = max(infinities, key=at32)
        result["infinity_reported"] = best
        q = {r["clients"]: r for r in result["servers"]["quiver"]["rows"]}
        table = []
        print(f"\n'infinity' = {best} (most req/s at 32 clients)")
        print(f"| clients | Quiver req/s | Quiver p50 ms | Quiver p99 ms | infinity req/s | infinity p50 ms "
              f"| infinity p99 ms | req/s ratio | errors Q / inf |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in result["servers"][best]["rows"]:
            qr = q[r["clients"]]
            ratio = qr["req_per_s"] / r["req_per_s"] if r["req_per_s"] else float("inf")
            table.append({"clients": r["clients"], "quiver_req_per_s": qr["req_per_s"], "quiver_p50_ms": qr["p50_ms"],
                          "quiver_p99_ms": qr["p99_ms"], "infinity_req_per_s": r["req_per_s"],
                          "infinity_p50_ms": r["p50_ms"], "infinity_p99_ms": r["p99_ms"], "ratio": round(ratio, 3)})
            print(f"| {r['clients']} | {qr['req_per_s']:.1f} | {qr['p50_ms']:.1f} | {qr['p99_ms']:.1f} | "
                  f"{r['req_per_s']:.1f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {ratio:.2f}x | "
                  f"{sum(qr['errors'].values())} / {sum(r['errors'].values())} |")
        result["table"] = table
        for other in infinities:
            if other == best:
                continue
            print(f"\n{other}: " + "; ".join(f"{r['clients']} clients {r['req_per_s']:.1f} req/s p50 {r['p50_ms']:.1f} "
                                             f"p99 {r['p99_ms']:.1f} ms" for r in result["servers"][other]["rows"]))
        t32 = next((t for t in table if t["clients"] == 32), None)
        if t32:
            met = t32["ratio"] >= 1.5 and t32["quiver_p99_ms"] < t32["infinity_p99_ms"]
            result["goal_met"] = met
            print(f"\ngoal (32 clients: Quiver >= 1.5x infinity req/s and lower p99): "
                  f"{'met' if met else 'NOT met'} ({t32['ratio']:.2f}x, p99 {t32['quiver_p99_ms']:.1f} vs "
                  f"{t32['infinity_p99_ms']:.1f} ms)")
    result["loadavg_end"] = Path("/proc/loadavg").read_text().split()[:3]
    result["same_model"] = ok
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"load average at end: {' '.join(result['loadavg_end'])}; wrote {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
