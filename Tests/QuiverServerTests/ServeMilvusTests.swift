import Foundation
import Hummingbird
import HummingbirdTesting
import Quiver
import QuiverStore
import QuiverTestSupport
import XCTest
@testable import QuiverServer

/// The Milvus Lite server the tests serve over: `QUIVER_MILVUS_LITE` (`host:port`, written by
/// `scripts/milvus-servers.sh start DIR` into DIR/env). Without it the tests are skipped, unless
/// `QUIVER_REQUIRE_MILVUS=1` (then they fail), as in QuiverMilvusTests.
enum LiteServer {
    static func address(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let env = ProcessInfo.processInfo.environment
        guard let hostPort = env["QUIVER_MILVUS_LITE"], !hostPort.isEmpty else {
            if env["QUIVER_REQUIRE_MILVUS"] == "1" {
                XCTFail("QUIVER_REQUIRE_MILVUS=1 but QUIVER_MILVUS_LITE is not set", file: file, line: line)
            }
            throw XCTSkip("QUIVER_MILVUS_LITE is not set (bash scripts/milvus-servers.sh start DIR; source DIR/env)")
        }
        return hostPort.contains("://") ? hostPort : "milvus://" + hostPort
    }

    /// A server whose database is the Milvus Lite server (no gRPC endpoint: it is off over Milvus).
    static func server(_ address: String) throws -> QuiverServer {
        try ServerTest.server { config in
            config.database = DatabaseConnection(location: address, timeout: 20)
        }
    }

    /// A collection or base name unique to this run.
    static func unique(_ prefix: String) -> String { "\(prefix)_\(UInt32.random(in: 0...UInt32.max))" }
}

/// Four text files ingested once per run into Milvus Lite through the library (`Ingestor` over
/// `DatabaseConnection`), under a base name of their own: `<base>_text`.
enum MilvusIngestFixture {
    struct Prepared: Sendable {
        var address: String
        var base: String
        var files: [String: URL]
    }

    static func prepared(file: StaticString = #filePath, line: UInt = #line) async throws -> Prepared {
        _ = try LiteServer.address(file: file, line: line)
        _ = try TestPaths.model(ServerTest.model, file: file, line: line)
        return try await ingest.value
    }

    private static let ingest = Task<Prepared, Error> {
        let address = try LiteServer.address()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-serve-milvus-\(getpid())")
        try? FileManager.default.removeItem(at: folder)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var files: [String: URL] = [:]
        for (name, text) in WebFixture.texts {
            let url = folder.appendingPathComponent(name)
            try Data(text.utf8).write(to: url)
            files[name] = url
        }
        let base = LiteServer.unique("qv_serve")
        let store = try await DatabaseConnection(location: address, timeout: 20).open()
        let report = try await Ingestor(store: store, options: IngestOptions(collection: base, textModel: ServerTest.model),
                                        home: ModelHome(root: TestPaths.modelHome)).ingest([folder.path])
        try await store.close()
        guard report.failures.isEmpty, report.added == files.count else {
            throw WebFixture.FixtureError(message: "Milvus ingest added \(report.added) of \(files.count) files; failures: \(report.failures)")
        }
        return Prepared(address: address, base: base, files: files)
    }
}

/// `quiver serve` over a Milvus server (Milvus Lite 3.2.2): the Milvus REST v2 routes, the web
/// page's search and media routes and /v1/embeddings over `any VectorDatabase`, the embedding-space
/// guard read back from Milvus, and the clear errors of what needs the embedded store (BM25).
final class ServeMilvusTests: XCTestCase {
    typealias REST = MilvusRESTTests

    /// Create, insert, search (plain, filtered, range), query, get, count, upsert, delete, drop
    /// through the REST routes, answered by Milvus Lite. Expected results are brute force over the
    /// inserted vectors; distances within 1e-4 of double precision (Milvus scores in float32).
    func testMilvusRESTRoundTripOverMilvusLite() async throws {
        let address = try LiteServer.address()
        let server = try LiteServer.server(address)
        let name = LiteServer.unique("qv_rest")
        try await ServerTest.application(server).test(.router) { client in
            _ = try await REST.ok(client, "collections/create", ["collectionName": name, "dimension": 5])
            let has = try await REST.okAs([String: Any].self, client, "collections/has", ["collectionName": name])
            XCTAssertEqual(has["has"] as? Bool, true)
            let names = try await REST.okAs([String].self, client, "collections/list", [:])
            XCTAssertTrue(names.contains(name), "\(names)")
            let described = try await REST.okAs([String: Any].self, client, "collections/describe", ["collectionName": name])
            XCTAssertEqual(described["collectionName"] as? String, name)

            let ins = try await REST.okAs([String: Any].self, client, "entities/insert", ["collectionName": name, "data": REST.rows()])
            XCTAssertEqual(ins["insertCount"] as? Int, 10)
            XCTAssertEqual(ins["insertIds"] as? [Int], Array(0..<10))

            let q = REST.vectors[0]
            let byCosine = { (ids: [Int]) in ids.sorted { MilvusTestCase.cosine(q, REST.vectors[$0]) > MilvusTestCase.cosine(q, REST.vectors[$1]) } }
            let hits = try await REST.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": name, "data": [q], "annsField": "vector", "limit": 3, "outputFields": ["color"],
            ])
            XCTAssertEqual(hits.map { $0["id"] as? Int }, byCosine(Array(0..<10)).prefix(3).map { $0 })
            for h in hits {
                let id = try XCTUnwrap(h["id"] as? Int)
                XCTAssertEqual(h["color"] as? String, REST.colors[id])
                XCTAssertEqual(try XCTUnwrap(h["distance"] as? Double), MilvusTestCase.cosine(q, REST.vectors[id]), accuracy: 1e-4)
            }
            let red = try await REST.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": name, "data": [q], "limit": 5, "filter": "color like \"red%\"", "outputFields": ["color"],
                "searchParams": ["metricType": "COSINE"],
            ])
            XCTAssertEqual(red.map { $0["id"] as? Int }, byCosine((0..<10).filter { REST.colors[$0].hasPrefix("red") }).map { $0 })
            let ranged = try await REST.okAs([[String: Any]].self, client, "entities/search", [
                "collectionName": name, "data": [q], "limit": 10, "searchParams": ["params": ["radius": 0.0, "range_filter": 0.99]],
            ])
            let inRange = (0..<10).filter { MilvusTestCase.cosine(q, REST.vectors[$0]) > 0.0 && MilvusTestCase.cosine(q, REST.vectors[$0]) <= 0.99 }
            XCTAssertEqual(Set(ranged.compactMap { $0["id"] as? Int }), Set(inRange))

            let queried = try await REST.okAs([[String: Any]].self, client, "entities/query", [
                "collectionName": name, "filter": "color like \"red%\"", "outputFields": ["color"], "limit": 3,
            ])
            XCTAssertEqual(queried.map { $0["id"] as? Int }, [1, 4, 6])
            XCTAssertEqual(queried.map { $0["color"] as? String }, ["red_7025", "red_4794", "red_9392"])
            let got = try await REST.okAs([[String: Any]].self, client, "entities/get", [
                "collectionName": name, "id": [0, 2], "outputFields": ["vector", "color"],
            ])
            XCTAssertEqual(got.map { $0["id"] as? Int }, [0, 2])
            let v0 = try XCTUnwrap(got.first?["vector"] as? [Double])
            for j in 0..<5 { XCTAssertEqual(v0[j], Double(Float(REST.vectors[0][j])), accuracy: 1e-7) }

            let up = try await REST.okAs([String: Any].self, client, "entities/upsert", [
                "collectionName": name, "data": [["id": 1, "vector": REST.vectors[1], "color": "blue_0001"]],
            ])
            XCTAssertEqual(up["upsertCount"] as? Int, 1)
            let one = try await REST.okAs([[String: Any]].self, client, "entities/get", ["collectionName": name, "id": 1, "outputFields": ["color"]])
            XCTAssertEqual(one.first?["color"] as? String, "blue_0001")
            let del = try await REST.okAs([String: Any].self, client, "entities/delete", ["collectionName": name, "filter": "id in [0, 1, 2]"])
            XCTAssertEqual(del["deleteCount"] as? Int, 3)
            let left = try await REST.okAs([[String: Any]].self, client, "entities/query", ["collectionName": name, "filter": "id >= 0", "limit": 100])
            XCTAssertEqual(left.compactMap { $0["id"] as? Int }, Array(3..<10))
            let count = try await REST.okAs([[String: Any]].self, client, "entities/query", ["collectionName": name, "outputFields": ["count(*)"]])
            XCTAssertEqual(count.first?["count(*)"] as? Int, 7)

            // Vector-only hybrid search is fused here over Milvus' answers: two equal sub-searches
            // fused by RRF rank as the plain search does.
            let fused = try await REST.okAs([[String: Any]].self, client, "entities/hybrid_search", [
                "collectionName": name, "limit": 4,
                "search": [["data": [q], "annsField": "vector", "limit": 7], ["data": [q], "annsField": "vector", "limit": 7]],
            ])
            XCTAssertEqual(fused.map { $0["id"] as? Int }, byCosine(Array(3..<10)).prefix(4).map { $0 })

            let missing = try await REST.call(client, "entities/query", ["collectionName": name + "_nope", "filter": "id > 0"])
            XCTAssertEqual(missing["code"] as? Int, 100, "\(missing)")

            _ = try await REST.ok(client, "collections/drop", ["collectionName": name])
            let hasNot = try await REST.okAs([String: Any].self, client, "collections/has", ["collectionName": name])
            XCTAssertEqual(hasNot["has"] as? Bool, false)
        }
        try await server.closeStore()
    }

    /// /api/search, /api/collections, /api/media and /v1/embeddings over a Milvus collection that
    /// the library ingested: the best hit of a text query is the file about it, and its score is
    /// the cosine of the query's and the hit text's embeddings from /v1/embeddings (within 1e-4).
    func testWebSearchMediaAndEmbeddingsOverIngestedMilvusCollection() async throws {
        let fixture = try await MilvusIngestFixture.prepared()
        let server = try LiteServer.server(fixture.address)
        let textCollection = fixture.base + "_text"
        try await ServerTest.application(server).test(.router) { client in
            let listed = try await client.get("/api/collections").json()
            XCTAssertEqual(listed["store"] as? String, fixture.address)
            let entry = try XCTUnwrap((listed["collections"] as? [[String: Any]])?.first { $0["name"] as? String == textCollection },
                                      "\(textCollection) not listed: \(listed)")
            XCTAssertEqual(entry["model"] as? String, ServerTest.model)
            XCTAssertEqual(entry["dimension"] as? Int, 384)
            XCTAssertEqual(entry["count"] as? Int, WebFixture.texts.count)

            let query = "how long should an espresso shot extract?"
            let r = try await client.post("/api/search", json: ["text": query, "limit": 2, "collection": fixture.base])
            XCTAssertEqual(r.status, .ok, String(buffer: r.body))
            let body = try r.json()
            XCTAssertEqual(body["searched"] as? [String], [textCollection])
            let results = try r.results()
            XCTAssertEqual(results.count, 2)
            let best = try XCTUnwrap(results.first)
            XCTAssertEqual(best["name"] as? String, "coffee.txt")
            XCTAssertEqual(best["collection"] as? String, textCollection)

            let text = try XCTUnwrap(best["text"] as? String)
            let e = try await client.post("/v1/embeddings", json: ["model": ServerTest.model, "input": [query, text]])
            XCTAssertEqual(e.status, .ok, String(buffer: e.body))
            let data = try XCTUnwrap(try ServerTest.decode(e)["data"] as? [[String: Any]])
            let cos = ServerTest.cosine(try ServerTest.floats(data[0]["embedding"]), try ServerTest.floats(data[1]["embedding"]))
            XCTAssertEqual(try XCTUnwrap(best["score"] as? Double), cos, accuracy: 1e-4)

            // The media route finds the row in Milvus and serves the ingested file.
            let media = try await client.get(try XCTUnwrap(best["media"] as? String))
            XCTAssertEqual(media.status, .ok, String(buffer: media.body))
            XCTAssertEqual(String(buffer: media.body), WebFixture.texts["coffee.txt"])
            let unknown = try await client.get(WebJSON.mediaURL(id: "1", collection: textCollection))
            XCTAssertEqual(unknown.status, .notFound, String(buffer: unknown.body))
        }
        try await server.closeStore()
    }

    /// The model binding Quiver stores with a Milvus collection reaches the server: a REST insert
    /// or search of another dimension into the ingested collection is refused naming the model and
    /// its dimension, and /api/search on a collection whose binding does not fit the model's
    /// vectors gets the store's guard error as a 400 (not a crash, not an empty answer).
    func testEmbeddingSpaceGuardThroughTheServer() async throws {
        let fixture = try await MilvusIngestFixture.prepared()
        let textCollection = fixture.base + "_text"
        // A text collection bound to MiniLM but 8-d: the 384-d query vectors cannot be searched in it.
        let skewed = LiteServer.unique("qv_skew")
        let store = try await DatabaseConnection(location: fixture.address, timeout: 20).open()
        _ = try await store.makeCollection(skewed + "_text", schema: .quick(dimension: 8, model: EmbeddingModel(id: ServerTest.model, dimension: 8)))
        try await store.close()

        let server = try LiteServer.server(fixture.address)
        try await ServerTest.application(server).test(.router) { client in
            let insert = try await REST.call(client, "entities/insert", [
                "collectionName": textCollection, "data": [["vector": [0.1, 0.2, 0.3, 0.4, 0.5]]],
            ])
            XCTAssertEqual(insert["code"] as? Int, 1804, "\(insert)")
            let insertMessage = try XCTUnwrap(insert["message"] as? String)
            XCTAssertTrue(insertMessage.contains("\(ServerTest.model) vectors of dim 384"), insertMessage)

            let search = try await REST.call(client, "entities/search", ["collectionName": textCollection, "data": [[0.1, 0.2, 0.3]]])
            XCTAssertEqual(search["code"] as? Int, 1801, "\(search)")
            XCTAssertTrue((search["message"] as? String ?? "").contains("\(ServerTest.model) vectors of dim 384"), "\(search)")

            let r = try await client.post("/api/search", json: ["text": "espresso", "collection": skewed])
            XCTAssertEqual(r.status, .badRequest, String(buffer: r.body))
            let message = try r.errorMessage()
            XCTAssertTrue(message.contains("'\(skewed)_text'") && message.contains("(8-d)") && message.contains("384"), message)
        }
        try await server.closeStore()
        let cleanup = try await DatabaseConnection(location: fixture.address, timeout: 20).open()
        try await cleanup.dropCollection(skewed + "_text")
        try await cleanup.close()
    }

    /// BM25 and hybrid text search need the embedded store: over Milvus they are refused with a
    /// JSON error naming the collection (the default mode stays dense and answers).
    func testBM25AndHybridNeedTheEmbeddedStore() async throws {
        let fixture = try await MilvusIngestFixture.prepared()
        let server = try LiteServer.server(fixture.address)
        let textCollection = fixture.base + "_text"
        try await ServerTest.application(server).test(.router) { client in
            for mode in ["bm25", "hybrid"] {
                let r = try await client.post("/api/search", json: ["text": "espresso beans", "collection": fixture.base, "mode": mode])
                XCTAssertEqual(r.status, .badRequest, String(buffer: r.body))
                let error = try XCTUnwrap(try r.json()["error"] as? [String: Any])
                XCTAssertEqual(error["code"] as? String, "needs_embedded_store")
                XCTAssertEqual(error["param"] as? String, "mode")
                let message = try XCTUnwrap(error["message"] as? String)
                XCTAssertTrue(message.contains("'\(textCollection)'") && message.contains("embedded store") && message.contains(fixture.address), message)
            }
            let dense = try await client.post("/api/search", json: ["text": "espresso beans", "collection": fixture.base, "mode": "dense", "limit": 1])
            XCTAssertEqual(try dense.results().first?["name"] as? String, "coffee.txt")

            let hybrid = try await REST.call(client, "entities/hybrid_search", [
                "collectionName": textCollection, "limit": 3,
                "search": [["data": [Array(repeating: 0.05, count: 384)], "annsField": "vector", "limit": 5],
                           ["data": ["espresso beans"], "annsField": "text", "limit": 5]],
            ])
            XCTAssertEqual(hybrid["code"] as? Int, 1100, "\(hybrid)")
            let message = try XCTUnwrap(hybrid["message"] as? String)
            XCTAssertTrue(message.contains("'\(textCollection)'") && message.contains("needs the embedded store"), message)
        }
        try await server.closeStore()
    }

    /// A Milvus server that cannot be reached: opening at start throws the backend's error, and a
    /// request gets a JSON error saying so (the server keeps running).
    func testUnreachableMilvusIsAClearError() async throws {
        let server = try ServerTest.server { config in
            config.database = DatabaseConnection(location: "milvus://127.0.0.1:1", timeout: 5)
        }
        XCTAssertFalse(server.configuration.servesMilvusGRPC, "the gRPC endpoint serves store folders only")
        do {
            try await server.openStore()
            XCTFail("opening milvus://127.0.0.1:1 succeeded")
        } catch {
            XCTAssertTrue("\(error)".contains("cannot be reached"), "\(error)")
        }
        try await ServerTest.application(server).test(.router) { client in
            let r = try await REST.call(client, "collections/list", [:])
            XCTAssertNotEqual(r["code"] as? Int, 0)
            XCTAssertTrue((r["message"] as? String ?? "").contains("milvus://127.0.0.1:1"), "\(r)")
            let api = try await client.get("/api/collections")
            XCTAssertNotEqual(api.status, .ok)
            XCTAssertTrue(String(buffer: api.body).contains("cannot be reached"), String(buffer: api.body))
            let health = try await client.get("/healthz")
            XCTAssertEqual(health.status, .ok)
        }
    }
}
