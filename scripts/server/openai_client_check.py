#!/usr/bin/env python3
"""Checks `quiver serve` with the official OpenAI Python client.

Starts the built server on a free loopback port (with an API key), calls
client.embeddings.create(...) with encoding_format float, base64 and the client's default
(which asks for base64 and decodes it), compares every vector with `quiver embed --format jsonl`
for the same texts, checks OpenAI-style errors (unknown model -> NotFoundError naming close names,
wrong key -> AuthenticationError), then stops the server with SIGTERM and checks it exits cleanly.
Then the Milvus REST v2 routes over the network with --db in a temporary folder: create (quick
setup), insert rows with a dynamic field, search with a filter, restart the server (SIGTERM closes
the store) and query the rows back.

Usage: /work/venv/bin/python scripts/server/openai_client_check.py [path/to/quiver]
(default .build/release/quiver, else .build/debug/quiver). Needs `pip install openai numpy`.
Prints one line per check and "N passed, N failed"; exits non-zero on a failure.
"""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

import numpy as np
import openai

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "all-MiniLM-L6-v2"
TEXTS = ["A man is eating food.", "A cheetah is running behind its prey.", "", "héllo wörld — 你好",
         "word " * 300]
KEY = "test-key-123"

passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
    print(("PASS " if ok else "FAIL ") + name + ((": " + detail) if detail else ""), flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quiver_binary():
    if len(sys.argv) > 1:
        return sys.argv[1]
    for kind in ("release", "debug"):
        p = os.path.join(ROOT, ".build", kind, "quiver")
        if os.path.exists(p):
            return p
    sys.exit("no built quiver binary; run `swift build --product quiver` first")


def reference_vectors(binary):
    out = subprocess.run([binary, "embed", "--model", MODEL, "--format", "jsonl", *TEXTS],
                         check=True, capture_output=True, text=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    return np.array([r["embedding"] for r in rows], dtype=np.float32)


def start(binary, *args):
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--no-milvus", *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1):
                return server, base
        except OSError:
            time.sleep(0.05)
    sys.exit("server did not start: " + server.stderr.read())


def stop(server):
    server.send_signal(signal.SIGTERM)
    try:
        return server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        return None


def milvus(base, route, body):
    req = urllib.request.Request(f"{base}/v2/vectordb/{route}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def milvus_phase(binary):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((10, 5)).astype(np.float32)
    colors = ["pink_8682", "red_7025", "orange_6781", "pink_9298", "red_4794",
              "yellow_4222", "red_9392", "grey_8510", "white_9381", "purple_4976"]
    with tempfile.TemporaryDirectory() as db:
        server, base = start(binary, "--db", db, "--quiet")
        r = milvus(base, "collections/create", {"collectionName": "quick_setup", "dimension": 5})
        check("milvus: create quick_setup", r == {"code": 0, "data": {}}, str(r))
        rows = [{"id": i, "vector": vectors[i].tolist(), "color": colors[i]} for i in range(10)]
        r = milvus(base, "entities/insert", {"collectionName": "quick_setup", "data": rows})
        check("milvus: insert 10 rows", r.get("data", {}).get("insertCount") == 10, str(r)[:200])
        q = vectors[0]
        cos = vectors @ q / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(q))
        red = [i for i in np.argsort(-cos) if colors[i].startswith("red")]
        r = milvus(base, "entities/search", {"collectionName": "quick_setup", "data": [q.tolist()], "annsField": "vector",
                                             "limit": 3, "filter": "color like \"red%\"", "outputFields": ["color"]})
        got = [h["id"] for h in r.get("data", [])]
        check("milvus: filtered search = brute force", got == [int(i) for i in red[:3]], f"{got} vs {red[:3]}")
        check("milvus: SIGTERM closes the store", stop(server) == 0)
        server, base = start(binary, "--db", db, "--quiet")
        r = milvus(base, "entities/query", {"collectionName": "quick_setup", "filter": "id >= 0", "limit": 100,
                                            "outputFields": ["color"]})
        check("milvus: rows persist across a restart", [h.get("color") for h in r.get("data", [])] == colors, str(r)[:200])
        stop(server)


def main():
    binary = quiver_binary()
    ref = reference_vectors(binary)
    port = free_port()
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--api-key", KEY],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1) as r:
                    health = json.load(r)
                break
            except OSError:
                time.sleep(0.05)
        else:
            sys.exit("server did not start: " + server.stderr.read())
        check("healthz without key", health.get("status") == "ok", json.dumps(health))

        client = openai.OpenAI(base_url=base + "/v1", api_key=KEY)
        t0 = time.perf_counter()
        r = client.embeddings.create(model=MODEL, input=TEXTS, encoding_format="float")
        first_ms = (time.perf_counter() - t0) * 1000
        got = np.array([d.embedding for d in r.data], dtype=np.float32)
        check("float: shape", got.shape == ref.shape, f"{got.shape} vs {ref.shape}")
        check("float: equals quiver embed bit for bit", np.array_equal(got, ref),
              f"max |diff| {np.abs(got - ref).max():.3g}")
        check("float: indexes and usage", [d.index for d in r.data] == list(range(len(TEXTS)))
              and r.usage.prompt_tokens == r.usage.total_tokens > 0 and r.model == MODEL,
              f"usage {r.usage}")

        r = client.embeddings.create(model=MODEL, input=TEXTS, encoding_format="base64")
        b64 = np.array([np.frombuffer(base64.b64decode(d.embedding), dtype="<f4") for d in r.data])
        check("base64: little-endian float32 equals quiver embed", np.array_equal(b64, ref),
              f"max |diff| {np.abs(b64 - ref).max():.3g}")

        t0 = time.perf_counter()
        r = client.embeddings.create(model=MODEL, input="A man is eating food.")
        warm_ms = (time.perf_counter() - t0) * 1000
        default = np.array(r.data[0].embedding, dtype=np.float32)
        # One text alone vs the same text in a batch of five: equal up to float rounding (BLAS may
        # block a 1-row GEMM differently from a 5-row one; OpenBLAS' SkylakeX kernels do).
        check("client default (base64 decoded by the client), single string",
              np.allclose(default, ref[0], rtol=0, atol=1e-6), f"max |diff| {np.abs(default - ref[0]).max():.2e}")

        try:
            client.embeddings.create(model="all-MiniLM-L6", input="x")
            check("unknown model -> NotFoundError", False, "no error")
        except openai.NotFoundError as e:
            body = e.body if isinstance(e.body, dict) else {}
            check("unknown model -> NotFoundError naming close names",
                  body.get("code") == "model_not_found" and MODEL in body.get("message", ""), str(body))

        try:
            openai.OpenAI(base_url=base + "/v1", api_key="wrong").embeddings.create(model=MODEL, input="x")
            check("wrong key -> AuthenticationError", False, "no error")
        except openai.AuthenticationError as e:
            check("wrong key -> AuthenticationError", True, str(e.body))

        try:
            client.embeddings.create(model=MODEL, input="x", dimensions=128)
            check("dimensions 128 -> BadRequestError", False, "no error")
        except openai.BadRequestError as e:
            check("dimensions 128 -> BadRequestError", (e.body or {}).get("param") == "dimensions", str(e.body))

        print(f"first request (loads the model) {first_ms:.0f} ms; one short text warm {warm_ms:.1f} ms")
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            code = None
        err = server.stderr.read()
        check("SIGTERM: clean exit", code == 0 and "stopped" in err, f"exit {code}")
        check("one log line per request", err.count("POST /v1/embeddings") >= 6, f"{err.count('POST /v1/embeddings')} lines")
    milvus_phase(binary)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
