#!/usr/bin/env python3
"""Checks a running `quiver serve` against the Milvus RESTful API v2 shapes, by hand.

Sends requests written as Milvus' documentation writes them (quick setup `quick_setup`, 5-d
vectors, a dynamic `color` field; custom schema with `indexParams`) and checks the response shapes
and error codes of Milvus' v2 handler: `{"code": 0, "data": ...}`, `insertCount`/`insertIds`,
`upsertCount`/`upsertIds`, `deleteCount`, search hits with `distance` and `topks`, and codes 100
(collection not found), 1100 (invalid parameter), 1801 (bad format, incl. a search vector of the
wrong dimension), 1802 (missing parameter), 1804 (bad insert data). The same script can be pointed
at a real Milvus (standalone, port 19530) to compare.

Usage:
    quiver serve --db /tmp/milvus-check-db &        # or a Milvus server
    python3 scripts/server/milvus_rest_check.py [http://127.0.0.1:8080] [--token root:Milvus]

Uses only the standard library (urllib). Creates and drops collections named
`quiver_check_quick` and `quiver_check_custom`. Prints one line per check and "N passed, N failed";
exits non-zero on a failure.
"""
import json
import math
import sys
import urllib.error
import urllib.request

BASE = "http://127.0.0.1:8080"
TOKEN = None
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {name}")
    else:
        failed += 1
        print(f"FAIL  {name} {detail}")


def post(route, body):
    data = json.dumps(body).encode()
    req = urllib.request.Request(f"{BASE}/v2/vectordb/{route}", data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    if TOKEN:
        req.add_header("Authorization", f"Bearer {TOKEN}")
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, {"unparsed": text.decode(errors="replace")}


def ok(route, body):
    status, r = post(route, body)
    check(f"{route} answers code 0", status == 200 and r.get("code") == 0, f"HTTP {status} {r}")
    return r


def fails(route, body, code, fragment=None):
    status, r = post(route, body)
    good = status == 200 and r.get("code") == code and "data" not in r
    if fragment is not None:
        good = good and fragment in r.get("message", "")
    check(f"{route} fails with code {code}" + (f" ({fragment})" if fragment else ""), good, f"HTTP {status} {r}")


def cosine(a, b):
    d = sum(x * y for x, y in zip(a, b))
    return d / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def main():
    global BASE, TOKEN
    args = sys.argv[1:]
    if "--token" in args:
        i = args.index("--token")
        TOKEN = args[i + 1]
        del args[i:i + 2]
    if args:
        BASE = args[0].rstrip("/")

    quick, custom = "quiver_check_quick", "quiver_check_custom"
    post("collections/drop", {"collectionName": quick})
    post("collections/drop", {"collectionName": custom})

    colors = ["pink_8682", "red_7025", "orange_6781", "pink_9298", "red_4794",
              "yellow_4222", "red_9392", "grey_8510", "white_9381", "purple_4976"]
    vectors = [[math.cos((i * 7 + j * 3) * 0.61 + 0.2) for j in range(5)] for i in range(10)]
    rows = [{"id": i, "vector": vectors[i], "color": colors[i]} for i in range(10)]

    # Collections (https://milvus.io/docs/create-collection-instantly.md)
    r = ok("collections/create", {"collectionName": quick, "dimension": 5})
    check("create data is {}", r.get("data") == {}, str(r))
    r = ok("collections/has", {"collectionName": quick})
    check("has -> {has: true}", r.get("data") == {"has": True}, str(r))
    r = ok("collections/list", {})
    check("list holds the collection", quick in (r.get("data") or []), str(r))
    r = ok("collections/describe", {"collectionName": quick})
    d = r.get("data") or {}
    for key in ["collectionName", "collectionID", "fields", "indexes", "load", "shardsNum", "enableDynamicField",
                "autoId", "consistencyLevel", "partitionsNum", "properties", "aliases"]:
        check(f"describe has {key}", key in d, str(sorted(d)))
    fields = d.get("fields") or []
    check("describe fields id + vector", [f.get("name") for f in fields] == ["id", "vector"], str(fields))
    vec = next((f for f in fields if f.get("name") == "vector"), {})
    check("vector field type FloatVector, params dim 5",
          vec.get("type") == "FloatVector" and {"key": "dim", "value": "5"} in (vec.get("params") or []), str(vec))
    idx = d.get("indexes") or []
    check("quick setup index metric COSINE", bool(idx) and idx[0].get("metricType") == "COSINE", str(idx))

    # Entities (https://milvus.io/docs/insert-update-delete.md, get-and-scalar-query.md, single-vector-search.md)
    r = ok("entities/insert", {"collectionName": quick, "data": rows})
    data = r.get("data") or {}
    check("insertCount 10", data.get("insertCount") == 10, str(data))
    check("insertIds 0..9", [int(x) for x in data.get("insertIds", [])] == list(range(10)), str(data))
    r = ok("entities/upsert", {"collectionName": quick, "data": [{"id": 1, "vector": vectors[1], "color": "red_7319"}]})
    check("upsertCount 1", (r.get("data") or {}).get("upsertCount") == 1, str(r))
    r = ok("entities/get", {"collectionName": quick, "id": [0, 1], "outputFields": ["color"]})
    got = r.get("data") or []
    check("get returns rows by id", [g.get("color") for g in got] == ["pink_8682", "red_7319"], str(got))
    r = ok("entities/query", {"collectionName": quick, "filter": "color like \"red%\"", "limit": 3,
                              "outputFields": ["color"]})
    check("query filter on the dynamic field", sorted(int(g["id"]) for g in r.get("data", [])) == [1, 4, 6], str(r))

    q = vectors[0]
    expected = sorted(range(10), key=lambda i: -cosine(q, vectors[i]))[:3]
    r = ok("entities/search", {"collectionName": quick, "data": [q], "annsField": "vector", "limit": 3,
                               "outputFields": ["color"]})
    hits = r.get("data") or []
    check("search top-3 ids", [int(h["id"]) for h in hits] == expected, f"{hits} vs {expected}")
    check("search hits carry distance", all("distance" in h for h in hits), str(hits))
    check("search distance is cosine", all(abs(h["distance"] - cosine(q, vectors[int(h["id"])])) < 1e-4 for h in hits),
          str(hits))
    r = ok("entities/search", {"collectionName": quick, "data": [q, vectors[5]], "limit": 2})
    check("bulk search: 4 hits", len(r.get("data") or []) == 4, str(r))
    if "topks" in r:
        check("topks [2, 2]", r["topks"] == [2, 2], str(r))
    r = ok("entities/search", {"collectionName": quick, "data": [q], "limit": 10,
                               "searchParams": {"params": {"radius": 0.2, "range_filter": 0.9}}})
    in_range = {i for i in range(10) if 0.2 < cosine(q, vectors[i]) <= 0.9}
    check("range search", {int(h["id"]) for h in r.get("data", [])} == in_range, str(r))
    r = ok("entities/delete", {"collectionName": quick, "filter": "id in [0, 1, 2]"})
    check("delete data", isinstance(r.get("data"), dict), str(r))

    # Custom schema (https://milvus.io/docs/create-collection.md)
    ok("collections/create", {
        "collectionName": custom,
        "schema": {"autoId": False, "enabledDynamicField": False, "fields": [
            {"fieldName": "my_id", "dataType": "Int64", "isPrimary": True},
            {"fieldName": "my_vector", "dataType": "FloatVector", "elementTypeParams": {"dim": "5"}},
            {"fieldName": "my_varchar", "dataType": "VarChar", "isClusteringKey": True,
             "elementTypeParams": {"max_length": 512}}]},
        "indexParams": [{"fieldName": "my_vector", "metricType": "COSINE", "indexName": "my_vector", "indexType": "AUTOINDEX"},
                        {"fieldName": "my_id", "indexName": "my_id", "indexType": "STL_SORT"}]})
    r = ok("collections/describe", {"collectionName": custom})
    check("custom: enableDynamicField false", (r.get("data") or {}).get("enableDynamicField") is False, str(r))

    # Errors (https://milvus.io/docs/error_code.md)
    fails("collections/describe", {"collectionName": "quiver_check_missing"}, 100)
    fails("collections/describe", {}, 1802)
    fails("collections/create", {"collectionName": "quiver_check_nodim"}, 1100)
    fails("entities/search", {"collectionName": quick, "data": [[0.1, 0.2, 0.3]]}, 1801)
    fails("entities/insert", {"collectionName": quick, "data": [{"id": 10, "vector": [0.1, 0.2]}]}, 1804)
    fails("entities/delete", {"collectionName": quick}, 1802)

    ok("collections/drop", {"collectionName": quick})
    ok("collections/drop", {"collectionName": custom})
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
