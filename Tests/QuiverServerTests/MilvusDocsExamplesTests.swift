import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import QuiverServer

/// Requests written the way Milvus' documentation writes them for the RESTful API v2 (same field
/// names, nesting and typical values: `quick_setup`, 5-d vectors, a dynamic `color` field), checked
/// against the response shapes and error codes of Milvus' v2 handler (milvus-io/milvus
/// internal/distributed/proxy/httpserver, master / 2.6 line: `handler_v2.go`, `request_v2.go`,
/// `constant.go`, `pkg/util/merr`). Each test names the documentation page its requests mirror.
/// Expected hits are computed here by brute force over the inserted vectors.
final class MilvusDocsExamplesTests: MilvusTestCase {
    // MARK: data like the docs' quick start: ids 0..9, 5-d vectors, a dynamic "color" and "likes"

    static let colors = ["pink_8682", "red_7025", "orange_6781", "pink_9298", "red_4794", "yellow_4222", "red_9392", "grey_8510", "white_9381", "purple_4976"]
    static let likes = [12, 75, 40, 3, 88, 51, 64, 9, 27, 90]
    static let vectors: [[Double]] = (0..<10).map { i in (0..<5).map { j in cos(Double(i * 7 + j * 3) * 0.61 + 0.2) } }

    static func rows() -> [[String: Any]] {
        (0..<10).map { ["id": $0, "vector": vectors[$0], "color": colors[$0], "likes": likes[$0]] }
    }

    static func l2(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }

    /// Ids by descending cosine to `q`, restricted to `among`.
    static func ranked(_ q: [Double], among: [Int] = Array(0..<10)) -> [Int] {
        among.sorted { cosine(q, vectors[$0]) > cosine(q, vectors[$1]) }
    }

    static func post(_ client: some TestClientProtocol, _ route: String, _ body: [String: Any], headers: HTTPFields = [:],
                     line: UInt = #line) async throws -> [String: Any] {
        let r = try await client.post("/v2/vectordb/\(route)", json: body, headers: headers)
        XCTAssertEqual(r.status, .ok, "Milvus answers every v2 request with HTTP 200", line: line)
        return try ServerTest.decode(r)
    }

    /// A successful response: `code` 0; returns the whole body.
    static func ok(_ client: some TestClientProtocol, _ route: String, _ body: [String: Any], headers: HTTPFields = [:],
                   line: UInt = #line) async throws -> [String: Any] {
        let r = try await post(client, route, body, headers: headers, line: line)
        XCTAssertEqual(r["code"] as? Int, 0, "\(route): \(r)", line: line)
        XCTAssertNil(r["message"].flatMap { ($0 as? String).flatMap { $0.isEmpty ? nil : $0 } }, "\(route): \(r)", line: line)
        return r
    }

    /// The `data` of a successful response, as `T`.
    static func data<T>(_ type: T.Type, _ client: some TestClientProtocol, _ route: String, _ body: [String: Any],
                        line: UInt = #line) async throws -> T {
        let r = try await ok(client, route, body, line: line)
        return try XCTUnwrap(r["data"] as? T, "\(route): data is not \(T.self): \(r)", line: line)
    }

    static func failure(_ client: some TestClientProtocol, _ route: String, _ body: [String: Any], code: Int, contains: [String],
                        line: UInt = #line) async throws {
        let r = try await post(client, route, body, line: line)
        XCTAssertEqual(r["code"] as? Int, code, "\(route): \(r)", line: line)
        XCTAssertNil(r["data"], "an error carries no data: \(r)", line: line)
        let message = r["message"] as? String ?? ""
        for c in contains { XCTAssertTrue(message.contains(c), "message lacks '\(c)': \(message)", line: line) }
    }

    static func insertQuickSetup(_ client: some TestClientProtocol) async throws {
        _ = try await ok(client, "collections/create", ["collectionName": "quick_setup", "dimension": 5])
        _ = try await ok(client, "entities/insert", ["collectionName": "quick_setup", "data": rows()])
    }

    // MARK: collections

    /// https://milvus.io/docs/create-collection-instantly.md
    /// https://milvus.io/api-reference/restful/v2.5.x/v2/Collection%20(v2)/Describe.md
    /// https://milvus.io/api-reference/restful/v2.5.x/v2/Collection%20(v2)/List.md
    /// https://milvus.io/api-reference/restful/v2.5.x/v2/Collection%20(v2)/Has.md
    /// https://milvus.io/docs/drop-collection.md
    func testQuickSetupCreateDescribeListHasDrop() async throws {
        try await withClient { client in
            let created = try await Self.ok(client, "collections/create", ["collectionName": "quick_setup", "dimension": 5])
            XCTAssertEqual((created["data"] as? [String: Any])?.count, 0, "create answers \"data\": {}")

            let described = try await Self.ok(client, "collections/describe", ["collectionName": "quick_setup"])
            let d = try XCTUnwrap(described["data"] as? [String: Any])
            XCTAssertEqual(d["collectionName"] as? String, "quick_setup")
            XCTAssertNotNil(d["collectionID"] as? Int)
            XCTAssertEqual(d["autoId"] as? Bool, false)
            XCTAssertEqual(d["enableDynamicField"] as? Bool, true, "quick setup turns the dynamic field on")
            XCTAssertEqual(d["load"] as? String, "LoadStateLoaded")
            XCTAssertEqual(d["shardsNum"] as? Int, 1)
            XCTAssertEqual(d["partitionsNum"] as? Int, 1)
            XCTAssertNotNil(d["consistencyLevel"] as? String)
            XCTAssertEqual(d["description"] as? String, "")
            XCTAssertEqual((d["aliases"] as? [Any])?.count, 0)
            XCTAssertEqual((d["properties"] as? [Any])?.count, 0)
            let fields = try XCTUnwrap(d["fields"] as? [[String: Any]])
            XCTAssertEqual(fields.map { $0["name"] as? String }, ["id", "vector"])
            XCTAssertEqual(fields.map { $0["type"] as? String }, ["Int64", "FloatVector"])
            XCTAssertEqual(fields.map { $0["id"] as? Int }, [100, 101], "user fields are numbered from 100")
            XCTAssertEqual(fields.map { $0["primaryKey"] as? Bool }, [true, false])
            for f in fields {
                for key in ["autoId", "clusteringKey", "partitionKey", "nullable"] { XCTAssertNotNil(f[key] as? Bool, "\(key) in \(f)") }
            }
            XCTAssertEqual(fields[1]["params"] as? [[String: String]], [["key": "dim", "value": "5"]])
            let indexes = try XCTUnwrap(d["indexes"] as? [[String: String]])
            XCTAssertEqual(indexes, [["fieldName": "vector", "indexName": "vector", "metricType": "COSINE"]],
                           "quick setup indexes the vector field with COSINE")

            let listed = try await Self.ok(client, "collections/list", [:])
            XCTAssertEqual(listed["data"] as? [String], ["quick_setup"])
            let has = try await Self.ok(client, "collections/has", ["collectionName": "quick_setup"])
            XCTAssertEqual((has["data"] as? [String: Any])?["has"] as? Bool, true)

            let dropped = try await Self.ok(client, "collections/drop", ["collectionName": "quick_setup"])
            XCTAssertEqual((dropped["data"] as? [String: Any])?.count, 0)
            let hasNot = try await Self.ok(client, "collections/has", ["collectionName": "quick_setup"])
            XCTAssertEqual((hasNot["data"] as? [String: Any])?["has"] as? Bool, false)
            // Dropping again succeeds, as Milvus' drop is idempotent.
            _ = try await Self.ok(client, "collections/drop", ["collectionName": "quick_setup"])
            let empty = try await Self.ok(client, "collections/list", [:])
            XCTAssertEqual(empty["data"] as? [String], [])
        }
    }

    /// Quick setup with every option the docs list: metricType, idType, autoID, primaryFieldName,
    /// vectorFieldName, params.enableDynamicField.
    /// https://milvus.io/docs/create-collection-instantly.md
    /// https://milvus.io/api-reference/restful/v2.5.x/v2/Collection%20(v2)/Create.md
    func testQuickSetupOptions() async throws {
        try await withClient { client in
            _ = try await Self.ok(client, "collections/create", [
                "collectionName": "custom_quick_setup", "dimension": 5, "metricType": "L2", "idType": "VarChar",
                "autoID": false, "primaryFieldName": "my_id", "vectorFieldName": "my_vector",
                "params": ["max_length": "512", "enableDynamicField": false],
            ])
            let d = try await Self.data([String: Any].self, client, "collections/describe", ["collectionName": "custom_quick_setup"])
            let fields = try XCTUnwrap(d["fields"] as? [[String: Any]])
            XCTAssertEqual(fields.map { $0["name"] as? String }, ["my_id", "my_vector"])
            XCTAssertEqual(fields.first?["type"] as? String, "VarChar")
            XCTAssertEqual(d["enableDynamicField"] as? Bool, false)
            XCTAssertEqual((d["indexes"] as? [[String: String]])?.first?["metricType"], "L2")

            let rows: [[String: Any]] = (0..<4).map { ["my_id": "doc_\($0)", "my_vector": Self.vectors[$0]] }
            let ins = try await Self.ok(client, "entities/insert", ["collectionName": "custom_quick_setup", "data": rows])
            XCTAssertEqual((ins["data"] as? [String: Any])?["insertIds"] as? [String], ["doc_0", "doc_1", "doc_2", "doc_3"])
            // L2 distances are squared Euclidean distances, closest first.
            let q = Self.vectors[1]
            let hits = try await Self.data([[String: Any]].self, client, "entities/search", [
                "collectionName": "custom_quick_setup", "data": [q], "annsField": "my_vector", "limit": 4,
            ])
            let expected = (0..<4).sorted { Self.l2(q, Self.vectors[$0]) < Self.l2(q, Self.vectors[$1]) }
            XCTAssertEqual(hits.map { $0["my_id"] as? String }, expected.map { "doc_\($0)" })
            for h in hits {
                let i = try XCTUnwrap((h["my_id"] as? String).flatMap { Int($0.dropFirst(4)) })
                XCTAssertEqual(try XCTUnwrap(h["distance"] as? Double), Self.l2(q, Self.vectors[i]), accuracy: 1e-5)
            }

            // autoID: ids are assigned and returned.
            _ = try await Self.ok(client, "collections/create", ["collectionName": "auto", "dimension": 5, "autoID": true])
            let auto = try await Self.ok(client, "entities/insert", ["collectionName": "auto",
                                                                     "data": [["vector": Self.vectors[0]], ["vector": Self.vectors[1]]]])
            let autoData = try XCTUnwrap(auto["data"] as? [String: Any])
            XCTAssertEqual(autoData["insertCount"] as? Int, 2)
            let autoIDs = try XCTUnwrap(autoData["insertIds"] as? [Int])
            XCTAssertEqual(Set(autoIDs).count, 2)
        }
    }

    /// The customized setup of the docs: schema with `fields` (fieldName, dataType, isPrimary,
    /// elementTypeParams dim / max_length), `autoId`, `enabledDynamicField` (a key Milvus' request
    /// struct does not have, so the dynamic field stays off), and `indexParams` with AUTOINDEX and
    /// STL_SORT; then an HNSW index given as indexType + params {M, efConstruction}.
    /// https://milvus.io/docs/create-collection.md
    /// https://milvus.io/docs/hnsw.md
    func testCustomSchemaAndIndexParams() async throws {
        try await withClient { client in
            let schema = Self.docsCustomSchema
            let indexParams: [[String: Any]] = [
                ["fieldName": "my_vector", "metricType": "COSINE", "indexName": "my_vector", "indexType": "AUTOINDEX"],
                ["fieldName": "my_id", "indexName": "my_id", "indexType": "STL_SORT"],
            ]
            _ = try await Self.ok(client, "collections/create", ["collectionName": "customized_setup_1", "schema": schema, "indexParams": indexParams])
            let d = try await Self.data([String: Any].self, client, "collections/describe", ["collectionName": "customized_setup_1"])
            XCTAssertEqual(d["enableDynamicField"] as? Bool, false)
            let fields = try XCTUnwrap(d["fields"] as? [[String: Any]])
            XCTAssertEqual(fields.map { $0["name"] as? String }, ["my_id", "my_vector", "my_varchar"])
            XCTAssertEqual(fields.map { $0["type"] as? String }, ["Int64", "FloatVector", "VarChar"])
            XCTAssertEqual(fields[2]["params"] as? [[String: String]], [["key": "max_length", "value": "512"]])

            // An undeclared field is refused (no dynamic field) with the row and field named.
            let rows: [[String: Any]] = (0..<6).map { ["my_id": $0, "my_vector": Self.vectors[$0], "my_varchar": "text_\($0)"] }
            try await Self.failure(client, "entities/insert", ["collectionName": "customized_setup_1",
                                                               "data": [rows[0].merging(["color": "red"]) { a, _ in a }]],
                                   code: 1804, contains: ["data[0]", "'color'"])
            _ = try await Self.ok(client, "entities/insert", ["collectionName": "customized_setup_1", "data": rows])

            // HNSW with the docs' build parameters; search with params.ef.
            var hnswSchema = schema
            hnswSchema["enableDynamicField"] = true
            _ = try await Self.ok(client, "collections/create", [
                "collectionName": "hnsw_setup", "schema": hnswSchema,
                "indexParams": [["fieldName": "my_vector", "metricType": "L2", "indexName": "vector_index", "indexType": "HNSW",
                                 "params": ["M": 64, "efConstruction": 100]]],
            ])
            let dh = try await Self.data([String: Any].self, client, "collections/describe", ["collectionName": "hnsw_setup"])
            XCTAssertEqual(dh["enableDynamicField"] as? Bool, true, "schema.enableDynamicField turns it on")
            XCTAssertEqual((dh["indexes"] as? [[String: String]])?.first?["metricType"], "L2")
            _ = try await Self.ok(client, "entities/insert", ["collectionName": "hnsw_setup", "data": rows])
            let q = Self.vectors[3]
            let hits = try await Self.data([[String: Any]].self, client, "entities/search", [
                "collectionName": "hnsw_setup", "data": [q], "annsField": "my_vector", "limit": 3,
                "searchParams": ["params": ["ef": 10]], "outputFields": ["my_varchar"],
            ])
            let expected = (0..<6).sorted { Self.l2(q, Self.vectors[$0]) < Self.l2(q, Self.vectors[$1]) }.prefix(3)
            XCTAssertEqual(hits.map { $0["my_id"] as? Int }, expected.map { $0 })
            XCTAssertEqual(hits.first?["my_varchar"] as? String, "text_3")
            // nprobe is an IVF parameter: an HNSW field ignores it, as Milvus does.
            _ = try await Self.ok(client, "entities/search", ["collectionName": "hnsw_setup", "data": [q], "limit": 1,
                                                              "searchParams": ["metricType": "L2", "params": ["nprobe": 10]]])
        }
    }

    // MARK: entities

    /// https://milvus.io/docs/insert-update-delete.md
    /// https://milvus.io/docs/upsert-entities.md
    /// https://milvus.io/docs/delete-entities.md
    func testInsertUpsertDelete() async throws {
        try await withClient { client in
            _ = try await Self.ok(client, "collections/create", ["collectionName": "quick_setup", "dimension": 5])
            let ins = try await Self.ok(client, "entities/insert", ["collectionName": "quick_setup", "data": Self.rows()])
            XCTAssertEqual(ins["cost"] as? Int, 0)
            let data = try XCTUnwrap(ins["data"] as? [String: Any])
            XCTAssertEqual(data["insertCount"] as? Int, 10)
            XCTAssertEqual(data["insertIds"] as? [Int], Array(0..<10))

            let up = try await Self.ok(client, "entities/upsert", ["collectionName": "quick_setup", "data": [
                ["id": 0, "vector": Self.vectors[0], "color": "black_9898", "likes": 1],
                ["id": 1, "vector": Self.vectors[1], "color": "red_7319", "likes": 2],
            ]])
            let upData = try XCTUnwrap(up["data"] as? [String: Any])
            XCTAssertEqual(upData["upsertCount"] as? Int, 2)
            XCTAssertEqual(upData["upsertIds"] as? [Int], [0, 1])
            let got = try await Self.data([[String: Any]].self, client, "entities/get", ["collectionName": "quick_setup", "id": [0, 1],
                                                                              "outputFields": ["color"]])
            XCTAssertEqual(got.map { $0["color"] as? String }, ["black_9898", "red_7319"])

            // Delete by a filter on the dynamic field, then by primary keys.
            let del = try await Self.ok(client, "entities/delete", ["collectionName": "quick_setup",
                                                                    "filter": "color in ['red_7319', 'purple_4976']"])
            XCTAssertEqual((del["data"] as? [String: Any])?["deleteCount"] as? Int, 2)
            let del2 = try await Self.ok(client, "entities/delete", ["collectionName": "quick_setup", "filter": "id in [8, 7]"])
            XCTAssertEqual((del2["data"] as? [String: Any])?["deleteCount"] as? Int, 2)
            let count = try await Self.ok(client, "entities/query", ["collectionName": "quick_setup", "filter": "",
                                                                     "outputFields": ["count(*)"]])
            XCTAssertEqual((count["data"] as? [[String: Any]])?.first?["count(*)"] as? Int, 6)

            // A client that cannot hold int64 asks for string ids.
            let asText = try await Self.ok(client, "entities/insert", ["collectionName": "quick_setup",
                                                                       "data": [["id": 9_007_199_254_740_993, "vector": Self.vectors[2]]]],
                                           headers: [HTTPFields.Element.Name("Accept-Type-Allow-Int64")!: "false"])
            XCTAssertEqual((asText["data"] as? [String: Any])?["insertIds"] as? [String], ["9007199254740993"])
        }
    }

    /// https://milvus.io/docs/get-and-scalar-query.md
    func testGetAndQuery() async throws {
        try await withClient { client in
            try await Self.insertQuickSetup(client)
            // get: id as an array, outputFields with the vector.
            let got = try await Self.ok(client, "entities/get", ["collectionName": "quick_setup", "id": [0, 1, 2],
                                                                 "outputFields": ["vector", "color"]])
            XCTAssertEqual(got["cost"] as? Int, 0)
            let rows = try XCTUnwrap(got["data"] as? [[String: Any]])
            XCTAssertEqual(rows.map { $0["id"] as? Int }, [0, 1, 2])
            XCTAssertEqual(rows.map { $0["color"] as? String }, Array(Self.colors.prefix(3)))
            let v1 = try XCTUnwrap(rows[1]["vector"] as? [Double])
            for j in 0..<5 { XCTAssertEqual(v1[j], Double(Float(Self.vectors[1][j])), accuracy: 1e-7) }
            XCTAssertNil(rows[0]["likes"], "only the requested fields come back")

            // get without outputFields returns every field, vectors included (`*`).
            let all = try await Self.data([[String: Any]].self, client, "entities/get", ["collectionName": "quick_setup", "id": 4])
            XCTAssertEqual(all.first?["likes"] as? Int, Self.likes[4])
            XCTAssertEqual((all.first?["vector"] as? [Double])?.count, 5)

            // query: a filter on two dynamic fields, limit 3.
            let queried = try await Self.data([[String: Any]].self, client, "entities/query", [
                "collectionName": "quick_setup", "filter": "color like \"red%\" and likes > 50", "limit": 3,
                "outputFields": ["color", "likes"],
            ])
            let expected = (0..<10).filter { Self.colors[$0].hasPrefix("red") && Self.likes[$0] > 50 }
            XCTAssertEqual(queried.map { $0["id"] as? Int }, Array(expected.prefix(3)))
            for r in queried { XCTAssertEqual(Set(r.keys), ["id", "color", "likes"]) }

            // query with offset and the default limit of 100.
            let paged = try await Self.data([[String: Any]].self, client, "entities/query", ["collectionName": "quick_setup", "filter": "id >= 0",
                                                                                  "offset": 7, "outputFields": ["color"]])
            XCTAssertEqual(paged.map { $0["id"] as? Int }, [7, 8, 9])
        }
    }

    /// https://milvus.io/docs/single-vector-search.md
    /// https://milvus.io/docs/filtered-search.md
    /// https://milvus.io/docs/range-search.md
    /// https://milvus.io/docs/grouping-search.md
    func testSearch() async throws {
        try await withClient { client in
            try await Self.insertQuickSetup(client)
            let q0 = Self.vectors[0], q1 = Self.vectors[5]

            // Single-vector search: hits carry the id and `distance`; `topks` counts hits per query.
            let single = try await Self.ok(client, "entities/search", ["collectionName": "quick_setup", "data": [q0],
                                                                       "annsField": "vector", "limit": 3])
            XCTAssertEqual(single["cost"] as? Int, 0)
            XCTAssertEqual(single["topks"] as? [Int], [3])
            let hits = try XCTUnwrap(single["data"] as? [[String: Any]])
            XCTAssertEqual(hits.map { $0["id"] as? Int }, Array(Self.ranked(q0).prefix(3)))
            for h in hits {
                XCTAssertEqual(Set(h.keys), ["id", "distance"], "no outputFields: id and distance only")
                let id = try XCTUnwrap(h["id"] as? Int)
                XCTAssertEqual(try XCTUnwrap(h["distance"] as? Double), Self.cosine(q0, Self.vectors[id]), accuracy: 1e-5)
            }

            // Bulk search: every query's hits in one `data` array, in query order.
            let bulk = try await Self.ok(client, "entities/search", ["collectionName": "quick_setup", "data": [q0, q1],
                                                                     "annsField": "vector", "limit": 3, "outputFields": ["color"]])
            XCTAssertEqual(bulk["topks"] as? [Int], [3, 3])
            let bulkHits = try XCTUnwrap(bulk["data"] as? [[String: Any]])
            XCTAssertEqual(bulkHits.map { $0["id"] as? Int }, Array(Self.ranked(q0).prefix(3)) + Array(Self.ranked(q1).prefix(3)))
            for h in bulkHits { XCTAssertEqual(h["color"] as? String, Self.colors[h["id"] as! Int]) }

            // Paging with offset, and a filter with searchParams as the docs write them.
            let paged = try await Self.data([[String: Any]].self, client, "entities/search", ["collectionName": "quick_setup", "data": [q0],
                                                                                   "limit": 3, "offset": 2])
            XCTAssertEqual(paged.map { $0["id"] as? Int }, Array(Self.ranked(q0)[2..<5]))
            let filtered = try await Self.data([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q0], "annsField": "vector", "filter": "color like \"red%\" and likes > 50",
                "limit": 5, "outputFields": ["color", "likes"], "searchParams": ["metricType": "COSINE", "params": [String: Any]()],
            ])
            let reds = (0..<10).filter { Self.colors[$0].hasPrefix("red") && Self.likes[$0] > 50 }
            XCTAssertEqual(filtered.map { $0["id"] as? Int }, Self.ranked(q0, among: reds))

            // Range search: radius < distance <= range_filter for COSINE.
            let ranged = try await Self.data([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q0], "annsField": "vector", "limit": 10,
                "searchParams": ["params": ["radius": 0.2, "range_filter": 0.9]],
            ])
            let inRange = (0..<10).filter { Self.cosine(q0, Self.vectors[$0]) > 0.2 && Self.cosine(q0, Self.vectors[$0]) <= 0.9 }
            XCTAssertEqual(ranged.map { $0["id"] as? Int }, Self.ranked(q0, among: inRange))
            // The same keys directly under searchParams (Milvus ≥ 2.5.2 reads both).
            let flat = try await Self.data([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q0], "limit": 10, "searchParams": ["radius": 0.2, "range_filter": 0.9],
            ])
            XCTAssertEqual(flat.map { $0["id"] as? Int }, ranged.map { $0["id"] as? Int })

            // Grouping search: the best hit of each color family ("docId"-like dynamic field).
            _ = try await Self.ok(client, "entities/upsert", ["collectionName": "quick_setup", "data": (0..<10).map {
                ["id": $0, "vector": Self.vectors[$0], "color": Self.colors[$0], "docId": $0 % 3]
            }])
            let grouped = try await Self.data([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q0], "annsField": "vector", "limit": 2, "groupingField": "docId",
                "outputFields": ["docId"],
            ])
            var bestPerDoc: [Int] = []
            for id in Self.ranked(q0) where !bestPerDoc.contains(where: { $0 % 3 == id % 3 }) { bestPerDoc.append(id) }
            XCTAssertEqual(grouped.map { $0["id"] as? Int }, Array(bestPerDoc.prefix(2)))
            XCTAssertEqual(grouped.map { $0["docId"] as? Int }, bestPerDoc.prefix(2).map { $0 % 3 })

            // Nothing matches: empty data and no topks, as Milvus answers a zero top-k.
            let none = try await Self.ok(client, "entities/search", ["collectionName": "quick_setup", "data": [q0],
                                                                     "filter": "color == \"blue_0000\""])
            XCTAssertEqual((none["data"] as? [Any])?.count, 0)
            XCTAssertNil(none["topks"])
        }
    }

    // MARK: errors

    /// Milvus' codes for the documented failure classes (merr): 100 collection not found, 1100
    /// invalid parameter, 1801 bad format (incl. a search vector of the wrong dimension), 1802
    /// missing parameter, 1804 bad insert data (incl. a vector of the wrong dimension), 1806 bad
    /// primary key, 800 unknown database.
    /// https://milvus.io/docs/error_code.md
    /// https://milvus.io/api-reference/restful/v2.5.x/About.md
    func testErrorCodes() async throws {
        try await withClient { client in
            try await Self.failure(client, "collections/describe", ["collectionName": "not_a_collection"], code: 100,
                                   contains: ["collection not found[collection=not_a_collection]"])
            try await Self.failure(client, "entities/insert", ["collectionName": "not_a_collection", "data": Self.rows()], code: 100,
                                   contains: ["not_a_collection"])
            try await Self.failure(client, "collections/describe", [:], code: 1802, contains: ["missing required parameters", "collectionName"])
            try await Self.failure(client, "collections/create", ["collectionName": "quick_setup"], code: 1100,
                                   contains: ["invalid parameter", "dimension is required"])
            try await Self.failure(client, "collections/create", ["collectionName": "quick_setup", "dimension": 5, "idType": "Int32"],
                                   code: 1100, contains: ["idType can only be [Int64, VarChar]"])
            try await Self.failure(client, "collections/create", ["collectionName": "quick_setup", "dimension": "5"], code: 1801,
                                   contains: ["'dimension' must be an integer"])
            try await Self.failure(client, "collections/create", [
                "collectionName": "bad_type", "schema": ["fields": [["fieldName": "id", "dataType": "int64", "isPrimary": true]]],
            ], code: 1100, contains: ["data type int64 is invalid(case sensitive)"])
            try await Self.failure(client, "collections/create", [
                "collectionName": "bad_index", "schema": ["fields": [["fieldName": "id", "dataType": "Int64", "isPrimary": true],
                                                                     ["fieldName": "v", "dataType": "FloatVector", "elementTypeParams": ["dim": 5]]]],
                "indexParams": [["fieldName": "vector", "metricType": "COSINE"]],
            ], code: 1802, contains: ["`vector` hasn't defined in schema"])
            try await Self.failure(client, "collections/list", ["dbName": "other_db"], code: 800, contains: ["database not found[database=other_db]"])

            try await Self.insertQuickSetup(client)
            // Dimension mismatch: search 1801, insert 1804; both name the field and its dimension.
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup", "data": [[0.1, 0.2, 0.3]], "limit": 3],
                                   code: 1801, contains: ["dimension: 5, but length of []float: 3", "data[0]", "'vector'"])
            try await Self.failure(client, "entities/insert", ["collectionName": "quick_setup", "data": [["id": 10, "vector": [0.1, 0.2]]]],
                                   code: 1804, contains: ["data[0].vector has 2 values", "dim 5"])
            try await Self.failure(client, "entities/insert", ["collectionName": "quick_setup", "data": [["id": 11, "color": "x"]]],
                                   code: 1804, contains: ["row 0 does not has field vector"])
            try await Self.failure(client, "entities/insert", ["collectionName": "quick_setup"], code: 1802, contains: ["'data'"])
            try await Self.failure(client, "entities/insert", ["collectionName": "quick_setup", "data": ["id": 1, "vector": Self.vectors[0]]],
                                   code: 1801, contains: ["'data' must be an array"])
            // Other bad parameters.
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup", "data": [Self.vectors[0]], "annsField": "embedding"],
                                   code: 1801, contains: ["cannot find a vector field named: embedding"])
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup", "data": [Self.vectors[0]],
                                                               "searchParams": ["metricType": "L2"]],
                                   code: 1100, contains: ["metric type not match", "[expected=COSINE][actual=L2]"])
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup", "data": [Self.vectors[0]],
                                                               "searchParams": ["radius": 0.1, "params": ["radius": 0.5]]],
                                   code: 1100, contains: ["ambiguous parameter: radius"])
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup"], code: 1802, contains: ["'data'"])
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup", "data": [Self.vectors[0]], "limit": 16385],
                                   code: 1100, contains: ["topk [16385] is invalid, it should be in range [1, 16384]"])
            try await Self.failure(client, "entities/query", ["collectionName": "quick_setup", "filter": "id > 0", "offset": 16000, "limit": 1000],
                                   code: 1100, contains: ["(offset+limit) should be in range [1, 16384]"])
            try await Self.failure(client, "entities/search", ["collectionName": "quick_setup", "data": [Self.vectors[0]], "limit": "3"],
                                   code: 1801, contains: ["'limit' must be an integer"])
            try await Self.failure(client, "entities/query", ["collectionName": "quick_setup", "filter": "color like"], code: 1100,
                                   contains: ["invalid filter"])
            try await Self.failure(client, "entities/delete", ["collectionName": "quick_setup"], code: 1802, contains: ["'filter'"])
            try await Self.failure(client, "entities/get", ["collectionName": "quick_setup"], code: 1802, contains: ["'id'"])
            try await Self.failure(client, "entities/get", ["collectionName": "quick_setup", "id": ["a"]], code: 1806,
                                   contains: ["id[0] must be an Int64 primary key"])
            // Int64 keys may come as decimal strings, as Milvus casts them.
            let byText = try await Self.data([[String: Any]].self, client, "entities/get", ["collectionName": "quick_setup", "id": ["3"]])
            XCTAssertEqual(byText.map { $0["id"] as? Int }, [3])

            // A body that is not JSON.
            let raw = try await client.post("/v2/vectordb/entities/query", raw: "{\"collectionName\": ")
            XCTAssertEqual(raw.status, .ok)
            let body = try ServerTest.decode(raw)
            XCTAssertEqual(body["code"] as? Int, 1801)
            XCTAssertTrue((body["message"] as? String ?? "").hasPrefix("can only accept json format request"), "\(body)")
        }
    }
}
