#!/usr/bin/env python3
"""Soak of `quiver serve` (issue 14, item 6): loopback only, bounded in time (default 60 s).

    python3 scripts/server/soak.py BIN [--seconds 60] [--clients 32]

Starts BIN serve on a free loopback port over a new store, creates a Milvus REST collection, then
runs CLIENTS threads that mix /v1/embeddings, entities/search and entities/query, entities/insert
and entities/delete, while a reader thread checks that every acknowledged insert can be got by id
and found by searching with its own vector. Most of the time in, the server is SIGKILLed while the
clients are still writing, started again on the same store, and every acknowledged insert is
checked again (and every acknowledged delete must stay deleted). Prints requests, errors and
p99 latency per kind of request; exits 1 on any error (a non-2xx answer, a Milvus code != 0, a
malformed body, a timeout) or lost write. Requests cut off by the kill itself are not errors:
their writes are "unknown" and may or may not be there after the restart.
Standard library only.
"""
import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

DIM = 16
COLLECTION = "soak"
MODEL = "all-MiniLM-L6-v2"
WORDS = "vector store search query insert delete quiver model embed text index filter shard replay".split()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary, db, port, log):
        self.binary, self.db, self.port, self.log = binary, db, port, log
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "serve", "--db", self.db, "--port", str(self.port), "--no-milvus"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"))
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"soak: the server exited with {self.proc.returncode}; see {self.log}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                c.request("GET", "/healthz")
                if c.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit("soak: the server did not answer /healthz within 30 s")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency = {}
        self.errors = []
        self.cut = 0

    def record(self, kind, seconds):
        with self.lock:
            self.latency.setdefault(kind, []).append(seconds)

    def error(self, message):
        with self.lock:
            self.errors.append(message)


class Client:
    """One keep-alive connection; `call` returns the parsed JSON body, or raises."""

    def __init__(self, port, stats):
        self.port, self.stats = port, stats
        self.conn = None

    def call(self, kind, path, body):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        data = json.dumps(body).encode()
        start = time.perf_counter()
        try:
            self.conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
            r = self.conn.getresponse()
            raw = r.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            raise
        self.stats.record(kind, time.perf_counter() - start)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise AnswerError(f"{path}: HTTP {r.status}, body is not JSON: {raw[:200]!r}")
        if r.status != 200:
            raise AnswerError(f"{path}: HTTP {r.status}: {raw[:300]!r}")
        if path.startswith("/v2/") and answer.get("code") != 0:
            raise AnswerError(f"{path}: Milvus code {answer.get('code')}: {answer.get('message')}")
        return answer


class AnswerError(Exception):
    pass


class Ledger:
    """What the server acknowledged: id -> vector of live rows, ids whose delete was acknowledged,
    and ids whose insert or delete was cut off by the kill."""

    def __init__(self):
        self.lock = threading.Lock()
        self.acked = {}
        self.deleted = set()
        self.unknown = set()
        self.deleting = set()


def vector(rng):
    return [rng.uniform(-1, 1) for _ in range(DIM)]


def worker(index, port, stats, ledger, stop, killed):
    rng = random.Random(index)
    client = Client(port, stats)
    own = []
    serial = 0
    while not stop.is_set():
        op = rng.random()
        pending = None
        try:
            if op < 0.2:
                texts = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 12))) for _ in range(rng.randint(1, 4))]
                a = client.call("embeddings", "/v1/embeddings", {"model": MODEL, "input": texts})
                if len(a.get("data", [])) != len(texts) or len(a["data"][0].get("embedding", [])) != 384:
                    raise AnswerError(f"/v1/embeddings: {len(texts)} texts gave {len(a.get('data', []))} vectors")
            elif op < 0.55:
                rows = []
                for _ in range(rng.randint(1, 8)):
                    serial += 1
                    rows.append({"id": index * 10_000_000 + serial, "vector": vector(rng), "worker": index})
                pending = [r["id"] for r in rows]
                a = client.call("insert", "/v2/vectordb/entities/insert", {"collectionName": COLLECTION, "data": rows})
                if a["data"].get("insertCount") != len(rows):
                    raise AnswerError(f"insert of {len(rows)} rows answered {a['data']}")
                with ledger.lock:
                    for r in rows:
                        ledger.acked[r["id"]] = r["vector"]
                own += pending
                pending = None
            elif op < 0.65 and len(own) > 10:
                victims = [own.pop(rng.randrange(len(own))) for _ in range(rng.randint(1, 3))]
                with ledger.lock:
                    for v in victims:
                        ledger.acked.pop(v, None)
                        ledger.deleting.add(v)
                pending = victims
                client.call("delete", "/v2/vectordb/entities/delete",
                            {"collectionName": COLLECTION, "filter": f"id in [{', '.join(map(str, victims))}]"})
                with ledger.lock:
                    ledger.deleted.update(victims)
                    ledger.deleting.difference_update(victims)
                pending = None
            elif op < 0.85:
                a = client.call("search", "/v2/vectordb/entities/search",
                                {"collectionName": COLLECTION, "data": [vector(rng)], "limit": 5, "outputFields": ["worker"]})
                if len(a.get("data", [])) > 5:
                    raise AnswerError(f"search with limit 5 gave {len(a['data'])} hits")
            else:
                a = client.call("query", "/v2/vectordb/entities/query",
                                {"collectionName": COLLECTION, "filter": f"worker == {index}", "limit": 5, "outputFields": ["worker"]})
                if any(row.get("worker") != index for row in a["data"]):
                    raise AnswerError(f"query worker == {index} gave {a['data']}")
        except (OSError, http.client.HTTPException, AnswerError, ValueError, KeyError, TypeError) as e:
            if killed.is_set():
                with stats.lock:
                    stats.cut += 1
            else:
                stats.error(f"client {index}: {type(e).__name__}: {e}")
            if pending is not None:
                with ledger.lock:
                    ledger.unknown.update(pending)
                    ledger.deleting.difference_update(pending)
            if killed.is_set():
                time.sleep(0.05)


def check_rows(client, ids, vectors, search_sample):
    """Every id of `ids` (acknowledged, not deleted) can be got by id, and each of `search_sample`
    is found by searching with its own vector (`vectors`: id -> vector). Returns the ids missing."""
    lost = []
    for start in range(0, len(ids), 200):
        batch = ids[start:start + 200]
        a = client.call("verify-get", "/v2/vectordb/entities/get",
                        {"collectionName": COLLECTION, "id": batch, "outputFields": ["id"]})
        found = {row["id"] for row in a["data"]}
        lost += [i for i in batch if i not in found]
    for i in search_sample:
        a = client.call("verify-search", "/v2/vectordb/entities/search",
                        {"collectionName": COLLECTION, "data": [vectors[i]], "limit": 3})
        if i not in [h["id"] for h in a["data"]]:
            lost.append(i)
    return lost


def reader(port, stats, ledger, stop, killed):
    rng = random.Random(1234)
    client = Client(port, stats)
    checked = 0
    while not stop.is_set():
        with ledger.lock:
            ids = list(ledger.acked)
            sample = rng.sample(ids, min(20, len(ids)))
            vectors = {i: ledger.acked[i] for i in sample}
        if not sample:
            time.sleep(0.05)
            continue
        try:
            lost = check_rows(client, sample, vectors, sample[:3])
        except (OSError, http.client.HTTPException, AnswerError, ValueError, KeyError) as e:
            if not killed.is_set():
                stats.error(f"reader: {type(e).__name__}: {e}")
            time.sleep(0.05)
            continue
        with ledger.lock:
            lost = [i for i in lost if i in ledger.acked]  # not deleted meanwhile
        for i in lost:
            stats.error(f"reader: acknowledged insert {i} is not found")
        checked += len(sample)
    return checked


def p99(values):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * 0.99))]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("binary")
    ap.add_argument("--seconds", type=float, default=60, help="total time budget (load, kill, restart, verify)")
    ap.add_argument("--clients", type=int, default=32)
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="quiver-soak-")
    db, log = os.path.join(work, "soak.db"), os.path.join(work, "serve.log")
    server = Server(args.binary, db, free_port(), log)
    began = time.time()
    server.start()
    stats, ledger = Stats(), Ledger()
    setup = Client(server.port, stats)
    setup.call("setup", "/v2/vectordb/collections/create",
               {"collectionName": COLLECTION, "dimension": DIM, "metricType": "COSINE"})
    # Load the embedding model before the clock of the load starts (first use loads it).
    setup.call("embeddings", "/v1/embeddings", {"model": MODEL, "input": "warm up"})

    load_seconds = max(5.0, args.seconds * 0.6)
    stop, killed = threading.Event(), threading.Event()
    threads = [threading.Thread(target=worker, args=(i + 1, server.port, stats, ledger, stop, killed)) for i in range(args.clients)]
    checked = [0]
    rt = threading.Thread(target=lambda: checked.__setitem__(0, reader(server.port, stats, ledger, stop, killed)))
    for t in threads + [rt]:
        t.start()
    time.sleep(load_seconds)
    # SIGKILL while the clients still write: what was acknowledged must survive.
    killed.set()
    server.kill()
    killed_at = time.time()
    stop.set()
    for t in threads + [rt]:
        t.join()
    live_requests = sum(len(v) for v in stats.latency.values())

    server.start()
    restart_seconds = time.time() - killed_at
    verify = Client(server.port, stats)
    with ledger.lock:
        acked = dict(ledger.acked)
        deleted, unknown = set(ledger.deleted), set(ledger.unknown)
    ids = sorted(acked)
    rng = random.Random(99)
    lost = check_rows(verify, ids, acked, rng.sample(ids, min(50, len(ids))))
    for i in lost:
        stats.error(f"after restart: acknowledged insert {i} is lost")
    back = []
    dl = sorted(deleted - unknown)
    for start in range(0, len(dl), 200):
        a = verify.call("verify-get", "/v2/vectordb/entities/get", {"collectionName": COLLECTION, "id": dl[start:start + 200]})
        back += [row["id"] for row in a["data"]]
    for i in back:
        stats.error(f"after restart: acknowledged delete of {i} came back")
    count = verify.call("verify-count", "/v2/vectordb/entities/query",
                        {"collectionName": COLLECTION, "filter": "", "outputFields": ["count(*)"]})["data"][0]["count(*)"]
    if not len(acked) <= count <= len(acked) + len(unknown):
        stats.error(f"after restart: {count} rows, expected {len(acked)} acknowledged (+ up to {len(unknown)} cut off by the kill)")
    # The restarted server serves writes again.
    verify.call("insert", "/v2/vectordb/entities/insert",
                {"collectionName": COLLECTION, "data": [{"id": 1, "vector": [1.0] * DIM, "worker": 0}]})
    server.proc.send_signal(signal.SIGTERM)
    server.proc.wait(timeout=30)
    total = time.time() - began

    all_latencies = [x for k, v in stats.latency.items() if not k.startswith("verify") for x in v]
    print(f"soak: {args.clients} clients for {load_seconds:.0f} s, then SIGKILL, restart in {restart_seconds:.1f} s; {total:.1f} s in all")
    print(f"soak: {live_requests} requests under load ({live_requests / load_seconds:.0f}/s), p99 {p99(all_latencies) * 1000:.0f} ms, "
          f"{len(stats.errors)} errors, {stats.cut} cut off by the kill")
    for kind in sorted(stats.latency):
        v = stats.latency[kind]
        print(f"soak:   {kind:14s} {len(v):6d} requests  p50 {sorted(v)[len(v) // 2] * 1000:7.1f} ms  p99 {p99(v) * 1000:7.1f} ms")
    print(f"soak: {len(acked)} acknowledged inserts live, {len(deleted)} acknowledged deletes, {len(unknown)} writes cut off; "
          f"reader checked {checked[0]} rows live; after restart {count} rows, {len(lost)} lost, {len(back)} deletes undone")
    for e in stats.errors[:20]:
        print("soak: ERROR " + e, file=sys.stderr)
    if stats.errors:
        print(f"soak: FAILED ({len(stats.errors)} errors; server log {log})", file=sys.stderr)
        sys.exit(1)
    subprocess.run(["rm", "-rf", work])
    print("soak: ok")


if __name__ == "__main__":
    main()
