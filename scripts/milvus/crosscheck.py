#!/usr/bin/env python3
"""Cross-check Quiver's Milvus backend with pymilvus (the reference client).

  crosscheck.py write --uri U [--token T] --name N   pymilvus makes collection N (no Quiver binding)
  crosscheck.py read  --uri U [--token T] --name N   pymilvus checks collection N that Quiver wrote

Both sides compute the same rows from a formula (row i of N_ROWS):
  id i, vector[j] = ((i*31 + j*17) % 101 - 50) / 50  (DIM values, float32),
  title "row i", year 2000 + i % 7, dynamic field tag "t{i % 3}".
Quiver's side is Tests/QuiverMilvusTests/CrossCheckTests.swift (it reads what `write` made and
writes the collection `read` checks). Exit status 0 when everything matches, 1 with a message
naming the row and field otherwise. Run with the venv of scripts/milvus-servers.sh.
"""
import argparse
import json
import math
import sys

from pymilvus import DataType, MilvusClient

N_ROWS = 50
DIM = 8


def vector(i):
    return [((i * 31 + j * 17) % 101 - 50) / 50 for j in range(DIM)]


def row(i):
    return {"id": i, "vector": vector(i), "title": f"row {i}", "year": 2000 + i % 7, "tag": f"t{i % 3}"}


def fail(msg):
    print(f"crosscheck: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def cosine(a, b):
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(x * x for x in b))
    return sum(x * y for x, y in zip(a, b)) / (na * nb)


def write(c, name):
    if c.has_collection(name):
        c.drop_collection(name)
    s = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=True)
    s.add_field("id", DataType.INT64, is_primary=True)
    s.add_field("vector", DataType.FLOAT_VECTOR, dim=DIM)
    s.add_field("title", DataType.VARCHAR, max_length=100)
    s.add_field("year", DataType.INT64)
    ip = c.prepare_index_params()
    ip.add_index(field_name="vector", index_type="FLAT", metric_type="COSINE")
    c.create_collection(name, schema=s, index_params=ip, consistency_level="Strong")
    c.insert(name, [row(i) for i in range(N_ROWS)])
    c.load_collection(name)
    n = c.query(name, filter="", output_fields=["count(*)"], consistency_level="Strong")[0]["count(*)"]
    if n != N_ROWS:
        fail(f"pymilvus wrote {N_ROWS} rows into {name} but counts {n}")
    print(f"crosscheck: pymilvus wrote {N_ROWS} rows into {name}")


def read(c, name):
    if not c.has_collection(name):
        fail(f"collection {name} (written by Quiver) does not exist")
    d = c.describe_collection(name)
    props = d.get("properties", {})
    if "quiver.schema" not in props:
        fail(f"{name} has no quiver.schema property (properties: {props})")
    schema = json.loads(props["quiver.schema"])
    model = schema["vectorFields"][0]["model"]
    if model["id"] != "crosscheck-model" or model["dimension"] != DIM:
        fail(f"{name}: binding {model} is not crosscheck-model ({DIM}-d)")
    fields = {f["name"]: f for f in d["fields"]}
    if fields["vector"]["params"].get("dim") != DIM:
        fail(f"{name}: vector field dim {fields['vector']['params']} != {DIM}")
    if not d.get("enable_dynamic_field"):
        fail(f"{name}: dynamic field is off")
    c.load_collection(name)
    rows = c.query(name, filter="id >= 0", output_fields=["*", "vector"], consistency_level="Strong")
    if len(rows) != N_ROWS:
        fail(f"{name}: pymilvus reads {len(rows)} rows, Quiver wrote {N_ROWS}")
    for r in sorted(rows, key=lambda r: r["id"]):
        i = r["id"]
        want = row(i)
        for k in ("title", "year", "tag"):
            if r.get(k) != want[k]:
                fail(f"{name} row {i} field {k}: pymilvus reads {r.get(k)!r}, expected {want[k]!r}")
        got = [float(x) for x in r["vector"]]
        if any(abs(a - b) > 1e-6 for a, b in zip(got, want["vector"])):
            fail(f"{name} row {i} vector: {got} != {want['vector']}")
    q = vector(7)
    hits = c.search(name, data=[q], limit=3, anns_field="vector", search_params={"metric_type": "COSINE"},
                    output_fields=["title"], consistency_level="Strong")[0]
    if hits[0]["id"] != 7 or abs(hits[0]["distance"] - 1.0) > 1e-4:
        fail(f"{name}: searching row 7's vector finds {hits[0]} first")
    expected = sorted(range(N_ROWS), key=lambda i: -cosine(q, vector(i)))[:3]
    if [h["id"] for h in hits] != expected:
        fail(f"{name}: top 3 {[h['id'] for h in hits]} != exact {expected}")
    print(f"crosscheck: pymilvus read {N_ROWS} rows, the binding and a search from {name} as Quiver wrote them")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["write", "read"])
    p.add_argument("--uri", required=True, help="e.g. http://127.0.0.1:19530")
    p.add_argument("--token", default="")
    p.add_argument("--name", required=True)
    a = p.parse_args()
    c = MilvusClient(uri=a.uri, token=a.token, timeout=30)
    (write if a.mode == "write" else read)(c, a.name)


if __name__ == "__main__":
    main()
