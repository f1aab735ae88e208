#!/usr/bin/env python3
"""pymilvus 3.0.2 against `quiver serve`'s Milvus gRPC endpoint, and the same against Milvus Lite.

Usage: pymilvus_check.py QUIVER_BINARY [MILVUS_LITE_BINARY]

Starts `quiver serve` (a new store, free ports) and, when given, `milvus-lite server` (a new data
dir, a free port), runs one scenario with MilvusClient against each, and compares what both
answered. The scenario is the Milvus documentation's MilvusClient quickstart, a custom schema
(Int32/Float/JSON/nullable fields, HNSW with L2, upsert, count(*), limit/offset, range search,
group_by_field, indexes, load state, flush), a TEXTEMBEDDING function (insert text only, search with
text) and errors (missing collection, wrong dimension, bad filter).

Embedding function: Quiver runs it with its own model (params model_name=all-MiniLM-L6-v2).
Milvus Lite only has the `openai` provider, so there the function points at `quiver serve`'s
OpenAI-compatible /v1/embeddings (base_url), which embeds with the same model: both stores then
hold the same vectors and must answer the same hits and scores (within 1e-4).
Exit status 0 when every check passes and the answers agree.
"""
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time

from pymilvus import DataType, Function, FunctionType, MilvusClient, MilvusException

MODEL = "all-MiniLM-L6-v2"
failures = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    if not ok:
        failures.append(name)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, proc, what, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not listen on {port} within {seconds} s")


def rounded(x):
    """JSON-able, floats rounded to 4 decimals, for comparison."""
    if isinstance(x, float):
        return round(x, 4)
    if isinstance(x, dict):
        return {str(k): rounded(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
    if isinstance(x, (list, tuple)):
        return [rounded(v) for v in x]
    if hasattr(x, "tolist"):
        return rounded(x.tolist())
    if isinstance(x, (str, int, bool)) or x is None:
        return x
    return str(x)


def hits(res, keys, pk="id"):
    """Search results as [[{id, distance, <requested keys>}]]."""
    out = []
    for q in res:
        row = []
        for h in q:
            e = h.get("entity", {})
            row.append({"id": h[pk], "distance": h["distance"], **{k: e.get(k) for k in keys if k in e}})
        out.append(row)
    return rounded(out)


def rows(res, keys=None):
    out = []
    for r in res:
        r = dict(r)
        if keys is not None:
            r = {k: r.get(k) for k in keys if k in r}
        out.append(r)
    return rounded(out)


def error_code(fn):
    """Whether the call failed (codes differ: Quiver answers Milvus' 1100, Milvus Lite 1 or 6)."""
    try:
        fn()
        return "no error"
    except MilvusException as e:
        print(f"     (error code {e.code}: {str(e.message)[:120]})")
        return "error"


def scenario(uri, function_params):
    """Runs everything; returns {step: answer} for comparison."""
    out = {}
    client = MilvusClient(uri)
    rnd = random.Random(7)

    # --- the quickstart (milvus.io/docs/quickstart.md), with seeded random 768-d vectors.
    if client.has_collection(collection_name="demo_collection"):
        client.drop_collection(collection_name="demo_collection")
    client.create_collection(collection_name="demo_collection", dimension=768)
    docs = [
        "Artificial intelligence was founded as an academic discipline in 1956.",
        "Alan Turing was the first person to conduct substantial research in AI.",
        "Born in Maida Vale, London, Turing was raised in southern England.",
    ]
    vectors = [[rnd.uniform(-1, 1) for _ in range(768)] for _ in docs]
    data = [{"id": i, "vector": vectors[i], "text": docs[i], "subject": "history"} for i in range(len(vectors))]
    out["quickstart.insert"] = rounded(client.insert(collection_name="demo_collection", data=data))
    query_vector = [rnd.uniform(-1, 1) for _ in range(768)]
    out["quickstart.search"] = hits(client.search(collection_name="demo_collection", data=[query_vector], limit=2,
                                                  output_fields=["text", "subject"]), ["text", "subject"])
    more = [{"id": 3 + i, "vector": [rnd.uniform(-1, 1) for _ in range(768)], "text": f"biology text {i}",
             "subject": "biology"} for i in range(3)]
    client.insert(collection_name="demo_collection", data=more)
    out["quickstart.search_filter"] = hits(client.search(
        collection_name="demo_collection", data=[query_vector], filter="subject == 'biology'", limit=2,
        output_fields=["text", "subject"]), ["text", "subject"])
    out["quickstart.query"] = rows(client.query(collection_name="demo_collection", filter="subject == 'history'",
                                                output_fields=["text", "subject"]))
    got = client.get(collection_name="demo_collection", ids=[0, 2], output_fields=["vector", "text", "subject"])
    out["quickstart.get"] = rows(got)
    check("get returns the inserted vectors", max(abs(a - b) for a, b in zip(got[0]["vector"], vectors[0])) < 1e-6)
    out["quickstart.delete_ids"] = rounded(client.delete(collection_name="demo_collection", ids=[0, 2]))
    out["quickstart.delete_filter"] = rounded(client.delete(collection_name="demo_collection", filter="subject == 'biology'"))
    out["quickstart.count"] = rows(client.query(collection_name="demo_collection", filter="", output_fields=["count(*)"]))
    client.drop_collection(collection_name="demo_collection")
    out["quickstart.has_after_drop"] = client.has_collection(collection_name="demo_collection")

    # --- a custom schema with HNSW / L2.
    name = "books"
    if client.has_collection(name):
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("book_id", DataType.INT64, is_primary=True)
    schema.add_field("title", DataType.VARCHAR, max_length=200)
    schema.add_field("year", DataType.INT32)
    schema.add_field("rating", DataType.FLOAT)
    schema.add_field("meta", DataType.JSON)
    schema.add_field("note", DataType.VARCHAR, max_length=100, nullable=True)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=4)
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="embedding", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 64})
    client.create_collection(name, schema=schema, index_params=index_params)
    out["books.list"] = sorted(client.list_collections())
    d = client.describe_collection(name)
    out["books.describe"] = rounded({"fields": [{k: f.get(k) for k in ("name", "type", "params", "is_primary", "auto_id", "nullable")}
                                                for f in d["fields"]],
                                     "enable_dynamic_field": d["enable_dynamic_field"], "auto_id": d["auto_id"]})
    books = [{"book_id": i, "title": f"Book {i}", "year": 1990 + i, "rating": i / 2, "meta": {"genre": "sf" if i % 2 else "crime", "n": i},
              "note": None if i % 3 else f"note {i}", "embedding": [float(i), float(i % 3), 1.0, -float(i) / 4], "shelf": f"s{i % 3}"}
             for i in range(12)]
    out["books.insert"] = rounded(client.insert(name, books))
    out["books.upsert"] = rounded(client.upsert(name, [{**books[5], "title": "Book five", "embedding": [5.0, 2.0, 1.0, -1.0]}]))
    out["books.count"] = rows(client.query(name, filter="", output_fields=["count(*)"]))
    out["books.count_filter"] = rows(client.query(name, filter="year >= 2000", output_fields=["count(*)"]))
    out["books.query_page"] = rows(client.query(name, filter="year > 1991", output_fields=["title", "year", "rating", "note", "shelf"],
                                                limit=3, offset=2))
    out["books.query_json"] = rows(client.query(name, filter='meta["genre"] == "sf" and rating > 2', output_fields=["title", "meta"]))
    out["books.query_star"] = rows(client.query(name, filter="book_id in [1, 3]", output_fields=["*"]))
    out["books.get_missing"] = rows(client.get(name, ids=[100]))
    q = [[3.0, 0.0, 1.0, -0.75]]
    keys = ["title", "year"]
    out["books.search"] = hits(client.search(name, data=q, limit=4, output_fields=keys,
                                             search_params={"metric_type": "L2", "params": {"ef": 32}}), keys, pk="book_id")
    out["books.search_filter"] = hits(client.search(name, data=q, limit=3, filter="year < 1996 and note is null", output_fields=keys), keys, pk="book_id")
    out["books.search_offset"] = hits(client.search(name, data=q, limit=2, offset=2, output_fields=keys), keys, pk="book_id")
    out["books.search_range"] = hits(client.search(name, data=q, limit=10, output_fields=keys,
                                                   search_params={"metric_type": "L2", "params": {"radius": 10.0, "range_filter": 1.0}}), keys, pk="book_id")
    out["books.search_two"] = hits(client.search(name, data=[q[0], [0.0, 0.0, 1.0, 0.0]], limit=2), [], pk="book_id")
    out["books.search_group"] = hits(client.search(name, data=q, limit=2, group_by_field="year", output_fields=["year"]), ["year"], pk="book_id")
    out["books.indexes"] = sorted(client.list_indexes(name))
    idx = client.describe_index(name, index_name="embedding")
    # Build parameters (M, efConstruction) are echoed by Milvus and Quiver, not by Milvus Lite: not compared.
    out["books.describe_index"] = rounded({k: idx.get(k) for k in ("index_type", "metric_type", "field_name", "index_name")})
    out["books.load_state"] = str(client.get_load_state(name)["state"])
    client.release_collection(name)
    out["books.load_state_released"] = str(client.get_load_state(name)["state"])
    client.load_collection(name)
    out["books.load_state_loaded"] = str(client.get_load_state(name)["state"])
    client.flush(name)
    out["books.delete_expr"] = rounded(client.delete(name, filter="year >= 2000"))
    out["books.count_after_delete"] = rows(client.query(name, filter="", output_fields=["count(*)"]))
    out["books.err_dim"] = error_code(lambda: client.search(name, data=[[1.0, 2.0]], limit=1))
    out["books.err_filter"] = error_code(lambda: client.query(name, filter="year >>> 3"))
    client.drop_collection(name)

    # --- errors on a missing collection.
    out["missing.has"] = client.has_collection("no_such_collection")
    out["missing.describe"] = error_code(lambda: client.describe_collection("no_such_collection"))
    out["missing.insert"] = error_code(lambda: client.insert("no_such_collection", [{"id": 1, "vector": [0.1]}]))

    # --- a TEXTEMBEDDING function: insert text only, search with text.
    name = "docs_fn"
    if client.has_collection(name):
        client.drop_collection(name)
    schema = MilvusClient.create_schema(auto_id=True, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True, auto_id=True)
    schema.add_field("document", DataType.VARCHAR, max_length=1000)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=384)
    schema.add_function(Function(name="embed_docs", function_type=FunctionType.TEXTEMBEDDING,
                                 input_field_names=["document"], output_field_names=["dense"], params=function_params))
    index_params = client.prepare_index_params()
    index_params.add_index(field_name="dense", index_type="AUTOINDEX", metric_type="COSINE")
    client.create_collection(name, schema=schema, index_params=index_params)
    d = client.describe_collection(name)
    out["fn.describe_functions"] = [{"name": f["name"], "type": str(f["type"]), "input": list(f["input_field_names"]),
                                     "output": list(f["output_field_names"])} for f in d["functions"]]
    texts = ["Milvus is a vector database built for scale.", "The cat sat on the warm mat.",
             "Quiver embeds text on the CPU.", "Paris is the capital of France."]
    res = client.insert(name, [{"document": t} for t in texts])
    out["fn.insert_count"] = res["insert_count"]
    check("insert with text only answers 4 ids", res["insert_count"] == 4 and len(res["ids"]) == 4, str(res))
    res = client.search(name, data=["Which database stores vectors?", "a kitten on a rug"], anns_field="dense", limit=2,
                        output_fields=["document"])
    found = [[h["entity"]["document"] for h in q] for q in res]
    out["fn.search_text"] = [[{"document": h["entity"]["document"], "distance": round(h["distance"], 3)} for h in q] for q in res]
    check("search with text finds the vector-database sentence first", found[0][0] == texts[0], str(found))
    check("search with text finds the cat sentence first", found[1][0] == texts[1], str(found))
    got = client.query(name, filter='document like "Paris%"', output_fields=["document", "dense"])
    check("the function filled a 384-d vector", len(got) == 1 and len(got[0]["dense"]) == 384, str(got)[:200])
    out["fn.err_vector_given"] = error_code(lambda: client.insert(name, [{"document": "x", "dense": [0.0] * 384}]))
    client.drop_collection(name)
    client.close()
    return out


def start_quiver(binary, workdir):
    http, grpc = free_port(), free_port()
    log = open(os.path.join(workdir, "quiver.log"), "w")
    proc = subprocess.Popen([binary, "serve", "--db", os.path.join(workdir, "quiver.db"), "--port", str(http),
                             "--milvus-port", str(grpc), "--quiet"], stderr=log)
    wait_port(http, proc, "quiver serve")
    wait_port(grpc, proc, "quiver serve (Milvus gRPC)")
    return proc, http, grpc


def main():
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    binary = sys.argv[1]
    lite = sys.argv[2] if len(sys.argv) > 2 else None
    work = tempfile.mkdtemp(prefix="pymilvus-check-")
    procs = []
    try:
        proc, http, grpc = start_quiver(binary, work)
        procs.append(proc)
        print(f"== pymilvus {__import__('pymilvus').__version__} against quiver serve (gRPC {grpc})")
        quiver = scenario(f"http://127.0.0.1:{grpc}", {"provider": "quiver", "model_name": MODEL})
        # Wrong token when the server has an API key.
        keyed_work = os.path.join(work, "keyed")
        os.makedirs(keyed_work)
        kp, kg = free_port(), free_port()
        keyed = subprocess.Popen([binary, "serve", "--db", os.path.join(keyed_work, "db"), "--port", str(kp), "--milvus-port", str(kg),
                                  "--api-key", "s3cret", "--quiet"], stderr=subprocess.DEVNULL)
        procs.append(keyed)
        wait_port(kg, keyed, "quiver serve --api-key")
        try:
            MilvusClient(f"http://127.0.0.1:{kg}", token="wrong").list_collections()
            check("a wrong token is refused", False, "no error")
        except Exception as e:  # pymilvus raises MilvusException or grpc.RpcError here
            # pymilvus reports the refused Connect as "illegal connection params", as with Milvus
            check("a wrong token is refused", "auth" in str(e).lower() or "illegal connection params" in str(e), str(e))
        ok = MilvusClient(f"http://127.0.0.1:{kg}", token="s3cret").list_collections()
        check("the API key as token is accepted", ok == [], str(ok))
        ok = MilvusClient(f"http://127.0.0.1:{kg}", user="root", password="s3cret").list_collections()
        check("user:API key is accepted", ok == [], str(ok))
        keyed.terminate()
        check("SIGTERM stops quiver serve", keyed.wait(timeout=30) == 0, f"exit {keyed.returncode}")

        if lite:
            port = free_port()
            lp = subprocess.Popen([lite, "server", "--data-dir", os.path.join(work, "lite"), "--host", "127.0.0.1", "--port", str(port)],
                                  stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "lite.log"), "w"))
            procs.append(lp)
            wait_port(port, lp, "milvus-lite server", seconds=120)
            print(f"== the same against Milvus Lite (gRPC {port})")
            reference = scenario(f"http://127.0.0.1:{port}", {"provider": "openai", "model_name": MODEL,
                                                              "base_url": f"http://127.0.0.1:{http}/v1", "api_key": "quiver-check"})
            for step in sorted(set(quiver) | set(reference)):
                a, b = quiver.get(step), reference.get(step)
                same = json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
                check(f"same answer: {step}", same, f"\n  quiver: {json.dumps(a)[:600]}\n  lite:   {json.dumps(b)[:600]}")
        proc.terminate()
        check("SIGTERM stops quiver serve (HTTP and gRPC)", proc.wait(timeout=30) == 0, f"exit {proc.returncode}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    if failures:
        print(f"{len(failures)} check(s) failed: " + ", ".join(failures))
        print(f"(logs in {work})")
        sys.exit(1)
    print("pymilvus check: all passed")


if __name__ == "__main__":
    main()
