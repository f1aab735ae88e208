#!/usr/bin/env python3
"""Latency of `quiver serve` /v1/embeddings through the OpenAI client, on loopback.

Usage: /work/venv/bin/python scripts/server/latency.py [path/to/quiver] [rounds]
Starts the server on a free port, warms the model, then times `rounds` requests of 1 short text
and of 32 short texts (median and p90, milliseconds), and 32 single-text requests sent by 4
client threads at once (requests/second). Stops the server with SIGTERM.
"""
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import openai

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, ".build", "release", "quiver")
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 30
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([binary, "serve", "--port", str(port), "--quiet"], stderr=subprocess.DEVNULL)
try:
    for _ in range(200):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.05)
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none")
    model = "all-MiniLM-L6-v2"
    texts = [f"The quick brown fox number {i} jumps over the lazy dog." for i in range(32)]
    client.embeddings.create(model=model, input=texts[:1])

    def timed(inp):
        t = time.perf_counter()
        client.embeddings.create(model=model, input=inp, encoding_format="float")
        return (time.perf_counter() - t) * 1000

    for label, inp in (("1 text", texts[:1]), ("32 texts", texts)):
        ms = sorted(timed(inp) for _ in range(rounds))
        print(f"{label}: median {statistics.median(ms):.1f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.1f} ms ({rounds} requests)")
    t = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: timed([texts[i % 32]]), range(32)))
    print(f"4 concurrent clients, 32 single-text requests: {32 / (time.perf_counter() - t):.1f} requests/s")
finally:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=20)
