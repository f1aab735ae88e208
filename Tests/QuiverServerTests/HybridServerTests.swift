import Foundation
import Hummingbird
import HummingbirdTesting
import Quiver
import QuiverStore
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// Prompts on /v1/embeddings, search modes on /api/search, and Milvus' entities/hybrid_search.
final class HybridServerTests: MilvusTestCase {
    struct PromptReference: Decodable {
        var texts: [String]
        var embeddings: [String: [[Float]]]
    }

    /// The MiniLM folder with the prompts config of Tests/Fixtures/reference/prompts (symlinked files).
    func promptedFolder() throws -> URL {
        let src = try TestPaths.model("all-MiniLM-L6-v2")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-prompts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        for name in try FileManager.default.contentsOfDirectory(atPath: src.path) where name != "config_sentence_transformers.json" {
            try FileManager.default.createSymbolicLink(at: dir.appendingPathComponent(name), withDestinationURL: src.appendingPathComponent(name))
        }
        try FileManager.default.copyItem(at: TestPaths.reference.appendingPathComponent("prompts/config_sentence_transformers.json"),
                                         to: dir.appendingPathComponent("config_sentence_transformers.json"))
        return dir
    }

    func testEmbeddingsInputTypeAndPromptNameMatchSentenceTransformers() async throws {
        let folder = try promptedFolder()
        let ref: PromptReference = try TestPaths.referenceJSON("prompts/all-MiniLM-L6-v2-prompts.json")
        let texts = Array(ref.texts.prefix(3))
        let server = try ServerTest.server()
        try await ServerTest.application(server).test(.router) { client in
            // Cohere/TEI-style fields; expected: sentence-transformers encode(prompt_name=...), within 1e-5.
            for (fields, key) in [(["input_type": "query"], "query"), (["input_type": "search_document"], "passage"),
                                  (["prompt_name": "classify"], "classify"), ([:], "default")] {
                var body: [String: Any] = ["model": folder.path, "input": texts]
                for (k, v) in fields { body[k] = v }
                let r = try await client.post("/v1/embeddings", json: body)
                XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                let data = try XCTUnwrap(try ServerTest.decode(r)["data"] as? [[String: Any]])
                for (i, item) in data.enumerated() {
                    let v = try ServerTest.floats(item["embedding"])
                    let worst = zip(v, ref.embeddings[key]![i]).map { abs($0 - $1) }.max()!
                    XCTAssertLessThanOrEqual(worst, 1e-5, "\(key) text \(i)")
                }
            }
            let bad = try await client.post("/v1/embeddings", json: ["model": folder.path, "input": ["x"], "prompt_name": "nope"])
            XCTAssertEqual(bad.status, .badRequest)
            XCTAssertTrue(String(buffer: bad.body).contains("no prompt named 'nope'"), String(buffer: bad.body))
            let badType = try await client.post("/v1/embeddings", json: ["model": folder.path, "input": ["x"], "input_type": "summary"])
            XCTAssertEqual(badType.status, .badRequest)
            XCTAssertTrue(String(buffer: badType.body).contains("'input_type' must be"), String(buffer: badType.body))
        }
    }

    func testAPISearchModes() async throws {
        let fixture = try await WebFixture.prepared()
        try await WebFixture.withServer(fixture) { server in
            try await ServerTest.application(server).test(.router) { client in
                for mode in ["bm25", "hybrid", "dense"] {
                    let r = try await client.post("/api/search", json: ["text": "espresso beans", "limit": 3, "mode": mode])
                    XCTAssertEqual(r.status, .ok, String(buffer: r.body))
                    let results = try r.results()
                    XCTAssertEqual(results.first?["name"] as? String, "coffee.txt", mode)
                    if mode == "bm25" { XCTAssertEqual(results.count, 1, "only coffee.txt has the words") }
                }
                let bad = try await client.post("/api/search", json: ["text": "x", "mode": "sparse"])
                XCTAssertEqual(bad.status, .badRequest)
                XCTAssertTrue(String(buffer: bad.body).contains("'mode' must be"), String(buffer: bad.body))
                let page = try await client.get("/")
                XCTAssertTrue(String(buffer: page.body).contains("<select id=\"mode\""))
            }
        }
    }

    static let texts = [
        "the router needs a reset after the firmware update",
        "bake the cake for forty minutes",
        "unplug the router and the modem",
        "a cat sleeps on the warm router",
        "stock prices fell after the rate rise",
        "reset the password from the settings page",
    ]
    static let vectors: [[Double]] = (0..<6).map { i in (0..<4).map { j in cos(Double(i * 4 + j) * 0.9 + 0.2) } }

    /// A collection with a 4-d cosine vector field and a BM25-indexed text field, made in the store before the server opens it.
    func makeCollection() async throws -> [String] {
        let store = try VectorStore(path: dbPath)
        let c = try await store.createCollection("docs", schema: CollectionSchema(
            primaryKey: PrimaryKeyField(name: "id", type: .int64),
            vectorFields: [VectorField(name: "vector", dimension: 4, metric: .cosine)],
            scalarFields: [ScalarField(name: "text", type: .string)]))
        try await c.insert((0..<6).map { Entity(id: .int(Int64($0)), vectors: ["vector": Self.vectors[$0].map(Float.init)], fields: ["text": .string(Self.texts[$0])]) })
        try await c.createFullTextIndex(FullTextOptions(field: "text"))
        let bm25 = try await c.fullTextSearch("router reset", limit: 6)
        try await store.close()
        return bm25.map { $0.id.description }
    }

    func testMilvusHybridSearchFusesVectorAndTextSubSearches() async throws {
        let bm25Order = try await makeCollection()
        XCTAssertEqual(bm25Order.count, 4)
        let q = Self.vectors[4].enumerated().map { $0.element + 0.3 * Self.vectors[1][$0.offset] }
        let dense = (0..<6).sorted { Self.cosine(q, Self.vectors[$0]) > Self.cosine(q, Self.vectors[$1]) }.map(String.init)
        try await withClient { client in
            let rrf = try await MilvusRESTTests.okAs([[String: Any]].self, client, "entities/hybrid_search", [
                "collectionName": "docs",
                "search": [["data": [q], "annsField": "vector", "limit": 6], ["data": ["router reset"], "annsField": "text", "limit": 6]],
                "rerank": ["strategy": "rrf", "params": ["k": 60]],
                "limit": 3, "outputFields": ["text"],
            ])
            var want: [String: Double] = [:]
            for (i, id) in dense.enumerated() { want[id, default: 0] += 1 / (60 + Double(i + 1)) }
            for (i, id) in bm25Order.enumerated() { want[id, default: 0] += 1 / (60 + Double(i + 1)) }
            let best = want.sorted { $0.value != $1.value ? $0.value > $1.value : false }.prefix(3)
            XCTAssertEqual(rrf.count, 3)
            XCTAssertEqual(Set(rrf.compactMap { ($0["id"] as? Int).map(String.init) }), Set(best.map(\.key)))
            for h in rrf {
                let id = String(h["id"] as! Int)
                XCTAssertEqual((h["distance"] as? NSNumber)?.doubleValue ?? -1, want[id]!, accuracy: 1e-6)
                XCTAssertEqual(h["text"] as? String, Self.texts[Int(id)!])
            }
            // Weighted with Milvus' arctan normalization: w0·(0.5 + atan(cos)/π) + w1·(2·atan(bm25)/π).
            let weighted = try await MilvusRESTTests.okAs([[String: Any]].self, client, "entities/hybrid_search", [
                "collectionName": "docs",
                "search": [["data": [q], "annsField": "vector", "limit": 6], ["data": ["router reset"], "limit": 6]],
                "rerank": ["strategy": "weighted", "params": ["weights": [0.8, 0.2]]],
                "limit": 6,
            ])
            XCTAssertEqual(weighted.count, 6)
            let distances = weighted.compactMap { ($0["distance"] as? NSNumber)?.doubleValue }
            XCTAssertEqual(distances, distances.sorted(by: >))
            for h in weighted where !bm25Order.contains(String(h["id"] as! Int)) {
                let id = h["id"] as! Int
                XCTAssertEqual(distances[weighted.firstIndex { ($0["id"] as! Int) == id }!], 0.8 * (0.5 + atan(Self.cosine(q, Self.vectors[id])) / .pi), accuracy: 1e-5)
            }
            // Errors in Milvus' envelope.
            let mismatch = try await MilvusRESTTests.call(client, "entities/hybrid_search", [
                "collectionName": "docs", "search": [["data": [q], "annsField": "vector"], ["data": ["router"]]],
                "rerank": ["strategy": "weighted", "params": ["weights": [1]]],
            ])
            XCTAssertEqual(mismatch["code"] as? Int, 1100)
            XCTAssertTrue((mismatch["message"] as? String ?? "").contains("the length of weights param mismatch"), "\(mismatch)")
            let noIndex = try await MilvusRESTTests.call(client, "entities/hybrid_search", [
                "collectionName": "docs", "search": [["data": ["router"], "annsField": "vector"]],
            ])
            XCTAssertTrue((noIndex["message"] as? String ?? "").contains("field 'vector' has no full-text (BM25) index"), "\(noIndex)")
            let strategy = try await MilvusRESTTests.call(client, "entities/hybrid_search", [
                "collectionName": "docs", "search": [["data": [q]]], "rerank": ["strategy": "max"],
            ])
            XCTAssertTrue((strategy["message"] as? String ?? "").contains("unsupported rerank strategy 'max'"), "\(strategy)")
        }
    }
}
