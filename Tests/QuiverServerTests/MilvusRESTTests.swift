import Foundation
import Hummingbird
import HummingbirdTesting
import XCTest
@testable import QuiverServer

/// The Milvus RESTful API v2 subset, with requests written the way Milvus' documentation writes
/// them (quick setup, custom schema with indexParams, rows with dynamic fields, search with data /
/// annsField / limit / filter / outputFields / searchParams). Expected results are computed here
/// by brute force over the inserted vectors.
final class MilvusRESTTests: MilvusTestCase {
    /// Ten 5-d rows as in Milvus' quick-start: id, vector, and a dynamic `color` field.
    static let colors = ["pink_8682", "red_7025", "orange_6781", "pink_9298", "red_4794", "yellow_4222", "red_9392", "grey_8510", "white_9381", "purple_4976"]
    static let vectors: [[Double]] = (0..<10).map { i in (0..<5).map { j in sin(Double(i * 5 + j) * 0.7 + 0.3) } }

    static func rows() -> [[String: Any]] {
        (0..<10).map { ["id": $0, "vector": vectors[$0], "color": colors[$0]] }
    }

    static func call(_ client: some TestClientProtocol, _ route: String, _ body: [String: Any], line: UInt = #line) async throws -> [String: Any] {
        let r = try await client.post("/v2/vectordb/\(route)", json: body)
        XCTAssertEqual(r.status, .ok, line: line)
        return try ServerTest.decode(r)
    }

    static func ok(_ client: some TestClientProtocol, _ route: String, _ body: [String: Any], line: UInt = #line) async throws -> Any? {
        let r = try await Self.call(client, route, body, line: line)
        XCTAssertEqual(r["code"] as? Int, 0, "\(route): \(r)", line: line)
        return r["data"]
    }

    static func okAs<T>(_ type: T.Type, _ client: some TestClientProtocol, _ route: String, _ body: [String: Any], line: UInt = #line) async throws -> T {
        let data = try await Self.ok(client, route, body, line: line)
        return try XCTUnwrap(data as? T, "\(route): data is not \(T.self): \(String(describing: data))", line: line)
    }

    func testQuickSetupInsertSearchQueryGetDeleteDrop() async throws {
        let server = makeServer()
        try await ServerTest.application(server).test(.router) { client in
            _ = try await Self.ok(client, "collections/create", ["collectionName": "quick_setup", "dimension": 5])
            let has = try await Self.okAs([String: Any].self, client, "collections/has", ["collectionName": "quick_setup"])
            XCTAssertEqual(has["has"] as? Bool, true)
            let names = try await Self.okAs([String].self, client, "collections/list", [:])
            XCTAssertEqual(names, ["quick_setup"])

            let ins = try await Self.okAs([String: Any].self, client, "entities/insert", ["collectionName": "quick_setup", "data": Self.rows()])
            XCTAssertEqual(ins["insertCount"] as? Int, 10)
            XCTAssertEqual(ins["insertIds"] as? [Int], Array(0..<10))

            // Search as the docs write it; expected order by brute-force cosine.
            let q = Self.vectors[0]
            let expected = (0..<10).sorted { Self.cosine(q, Self.vectors[$0]) > Self.cosine(q, Self.vectors[$1]) }
            let hits = try await Self.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q], "annsField": "vector", "limit": 3, "outputFields": ["color"],
            ])
            XCTAssertEqual(hits.map { $0["id"] as? Int }, expected.prefix(3).map { $0 })
            for h in hits {
                let id = try XCTUnwrap(h["id"] as? Int)
                XCTAssertEqual(h["color"] as? String, Self.colors[id])
                // float32 storage: cosine within 1e-5 of the double-precision value.
                XCTAssertEqual(try XCTUnwrap(h["distance"] as? Double), Self.cosine(q, Self.vectors[id]), accuracy: 1e-5)
            }

            // Filtered search on the dynamic field.
            let red = try await Self.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q], "annsField": "vector", "limit": 5,
                "filter": "color like \"red%\"", "outputFields": ["color"],
                "searchParams": ["metricType": "COSINE", "params": [String: Any]()],
            ])
            let redIDs = (0..<10).filter { Self.colors[$0].hasPrefix("red") }
                .sorted { Self.cosine(q, Self.vectors[$0]) > Self.cosine(q, Self.vectors[$1]) }
            XCTAssertEqual(red.map { $0["id"] as? Int }, redIDs.map { $0 })

            // Range search: only hits with radius < score <= range_filter.
            let ranged = try await Self.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": "quick_setup", "data": [q], "annsField": "vector", "limit": 10,
                "searchParams": ["params": ["radius": 0.0, "range_filter": 0.99]],
            ])
            let inRange = (0..<10).filter { Self.cosine(q, Self.vectors[$0]) > 0.0 && Self.cosine(q, Self.vectors[$0]) <= 0.99 }
            XCTAssertEqual(Set(ranged.compactMap { $0["id"] as? Int }), Set(inRange))

            // Query and get.
            let queried = try await Self.okAs([[String: Any]].self, client, "entities/query", [
                "collectionName": "quick_setup", "filter": "color like \"red%\"", "outputFields": ["color"], "limit": 3,
            ])
            XCTAssertEqual(queried.map { $0["id"] as? Int }, [1, 4, 6])
            let got = try await Self.okAs([[String: Any]].self, client, "entities/get", [
                "collectionName": "quick_setup", "id": [0, 2], "outputFields": ["vector", "color"],
            ])
            XCTAssertEqual(got.map { $0["id"] as? Int }, [0, 2])
            let v0 = try XCTUnwrap(got.first?["vector"] as? [Double])
            for j in 0..<5 { XCTAssertEqual(v0[j], Double(Float(Self.vectors[0][j])), accuracy: 1e-7) }

            // Upsert replaces, delete by filter removes.
            let up = try await Self.okAs([String: Any].self, client, "entities/upsert", [
                "collectionName": "quick_setup", "data": [["id": 1, "vector": Self.vectors[1], "color": "blue_0001"]],
            ])
            XCTAssertEqual(up["upsertCount"] as? Int, 1)
            let one = try await Self.okAs([[String: Any]].self, client, "entities/get", ["collectionName": "quick_setup", "id": 1, "outputFields": ["color"]])
            XCTAssertEqual(one.first?["color"] as? String, "blue_0001")
            let del = try await Self.okAs([String: Any].self, client, "entities/delete", ["collectionName": "quick_setup", "filter": "id in [0, 1, 2]"])
            XCTAssertEqual(del["deleteCount"] as? Int, 3)
            let left = try await Self.okAs([[String: Any]].self, client, "entities/query", ["collectionName": "quick_setup", "filter": "id >= 0", "limit": 100])
            XCTAssertEqual(left.count, 7)

            _ = try await Self.ok(client, "collections/drop", ["collectionName": "quick_setup"])
            let hasNot = try await Self.okAs([String: Any].self, client, "collections/has", ["collectionName": "quick_setup"])
            XCTAssertEqual(hasNot["has"] as? Bool, false)
        }
        try await server.closeStore()
    }

    func testCustomSchemaWithIndexParamsAndDescribe() async throws {
        let server = makeServer()
        try await ServerTest.application(server).test(.router) { client in
            let schema = Self.docsCustomSchema
            let indexParams: [[String: Any]] = [
                ["fieldName": "my_vector", "metricType": "L2", "indexName": "my_vector", "indexType": "AUTOINDEX"],
                ["fieldName": "my_id", "indexName": "my_id", "indexType": "STL_SORT"],
            ]
            _ = try await Self.ok(client, "collections/create", ["collectionName": "customized_setup_1", "schema": schema, "indexParams": indexParams])
            let d = try await Self.okAs([String: Any].self, client, "collections/describe", ["collectionName": "customized_setup_1"])
            XCTAssertEqual(d["collectionName"] as? String, "customized_setup_1")
            XCTAssertEqual(d["enableDynamicField"] as? Bool, false)
            let fields = try XCTUnwrap(d["fields"] as? [[String: Any]])
            XCTAssertEqual(fields.map { $0["name"] as? String }, ["my_id", "my_vector", "my_varchar"])
            XCTAssertEqual(fields[0]["primaryKey"] as? Bool, true)
            XCTAssertEqual(fields[1]["type"] as? String, "FloatVector")
            XCTAssertEqual((fields[1]["params"] as? [[String: String]])?.first, ["key": "dim", "value": "5"])
            XCTAssertEqual((d["indexes"] as? [[String: Any]])?.first?["metricType"] as? String, "L2")

            let rows: [[String: Any]] = (0..<4).map { ["my_id": $0 + 100, "my_vector": Self.vectors[$0], "my_varchar": "text \($0)"] }
            _ = try await Self.ok(client, "entities/insert", ["collectionName": "customized_setup_1", "data": rows])
            // L2: distance is the squared Euclidean distance, closest first.
            let q = Self.vectors[2]
            let hits = try await Self.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": "customized_setup_1", "data": [q], "annsField": "my_vector", "limit": 2, "outputFields": ["my_varchar"],
            ])
            XCTAssertEqual(hits.first?["my_id"] as? Int, 102)
            XCTAssertEqual(hits.first?["my_varchar"] as? String, "text 2")
            XCTAssertEqual(try XCTUnwrap(hits.first?["distance"] as? Double), 0, accuracy: 1e-6)

            // No dynamic field: an undeclared field is refused with the row and field named.
            let bad = try await Self.call(client, "entities/insert", ["collectionName": "customized_setup_1",
                                                                  "data": [["my_id": 1, "my_vector": Self.vectors[0], "my_varchar": "x", "color": "red"]]])
            XCTAssertEqual(bad["code"] as? Int, 1804)
            XCTAssertTrue((bad["message"] as? String ?? "").contains("'color'"), "\(bad)")
        }
        try await server.closeStore()
    }

    func testErrorsUseMilvusEnvelope() async throws {
        let server = makeServer()
        try await ServerTest.application(server).test(.router) { client in
            func expect(_ route: String, _ body: [String: Any], code: Int, contains: String, line: UInt = #line) async throws {
                let r = try await Self.call(client, route, body, line: line)
                XCTAssertEqual(r["code"] as? Int, code, "\(r)", line: line)
                XCTAssertTrue((r["message"] as? String ?? "").contains(contains), "\(r)", line: line)
            }
            try await expect("collections/describe", ["collectionName": "nope"], code: 100, contains: "nope")
            try await expect("entities/search", ["collectionName": "nope", "data": [[1.0]]], code: 100, contains: "nope")
            try await expect("collections/create", ["dimension": 5], code: 1802, contains: "collectionName")
            try await expect("collections/create", ["collectionName": "c"], code: 1100, contains: "dimension")
            try await expect("collections/create", ["collectionName": "c", "dimension": 5, "metricType": "HAMMING"], code: 1100, contains: "metricType")
            _ = try await Self.ok(client, "collections/create", ["collectionName": "c", "dimension": 3])
            try await expect("collections/create", ["collectionName": "c", "dimension": 3], code: 1100, contains: "already exists")
            try await expect("entities/insert", ["collectionName": "c", "data": [["id": 1, "vector": [1, 2]]]], code: 1804, contains: "data[0].vector has 2 values")
            try await expect("entities/insert", ["collectionName": "c", "data": [["id": 1, "vector": [1, "x", 3]]]], code: 1804, contains: "data[0].vector[1]")
            try await expect("entities/insert", ["collectionName": "c", "data": [["id": "a", "vector": [1, 2, 3]]]], code: 1804, contains: "Int64 primary key")
            try await expect("entities/query", ["collectionName": "c", "filter": "id >>> 3"], code: 1100, contains: "invalid filter")
            try await expect("entities/delete", ["collectionName": "c"], code: 1802, contains: "filter")
            try await expect("entities/search", ["collectionName": "c", "data": [[1, 0, 0]], "searchParams": ["metricType": "L2"]], code: 1100, contains: "COSINE")
            // Malformed JSON, and an unknown route under /v2, keep the Milvus envelope.
            let raw = try await client.post("/v2/vectordb/collections/list", raw: "{\"x\": ")
            XCTAssertEqual(try ServerTest.decode(raw)["code"] as? Int, 1801)
            let missing = try await client.post("/v2/vectordb/collections/rename", json: [:])
            XCTAssertEqual(missing.status, .notFound)
            XCTAssertNotNil(try ServerTest.decode(missing)["code"] as? Int)
        }
        try await server.closeStore()
    }
}
