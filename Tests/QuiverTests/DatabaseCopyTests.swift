import XCTest
import Quiver
import QuiverStore
import QuiverTestSupport

/// `DatabaseCopy` (what `quiver copy` runs) between embedded stores, and — when a Milvus Lite
/// server is given by QUIVER_MILVUS_LITE (as `make test` does) — into Milvus and back.
final class DatabaseCopyTests: XCTestCase {
    private var folders: [URL] = []
    override func tearDown() {
        for f in folders { try? FileManager.default.removeItem(at: f) }
        folders = []
    }
    private func folder() -> String {
        let u = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-copy-\(UUID().uuidString)")
        folders.append(u)
        return u.path
    }

    static let model = EmbeddingModel(id: "test-model", dimension: 8, normalized: true)

    /// 300 entities with a text field, a dynamic field and seeded vectors; an HNSW index.
    private func fill(_ store: any VectorDatabase, name: String = "docs", count: Int = 300) async throws {
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .int64),
                                      vectorFields: [VectorField(name: "vector", dimension: 8, metric: .cosine, model: Self.model)],
                                      scalarFields: [ScalarField(name: "text", type: .string, maxLength: 200)])
        let c = try await store.makeCollection(name, schema: schema)
        var rng = SeededRandom(seed: 7)
        let entities = (0..<count).map { i in
            Entity(id: .int(Int64(i * 3)), vector: (0..<8).map { _ in rng.nextFloat() },
                   fields: ["text": .string("row \(i) \"quoted\" \\ path"), "page": .int(Int64(i % 7))])
        }
        _ = try await c.insert(entities, models: ["vector": Self.model])
        try await c.createIndex(field: nil, kind: .hnsw, params: ["M": 8])
        try await c.flush()
    }

    private func searchIDs(_ store: any VectorDatabase, _ name: String = "docs") async throws -> [[String]] {
        let c = try await store.openCollection(name)
        var rng = SeededRandom(seed: 99)
        let queries = (0..<5).map { _ in (0..<8).map { _ in rng.nextFloat() } }
        let hits = try await c.search(SearchRequest(vectors: queries, model: Self.model, limit: 5, filter: "page >= 2",
                                                    outputFields: ["text"], params: ["ef": 300]))
        return hits.map { $0.map { "\($0.id) \($0.fields["text"].map { "\($0)" } ?? "-")" } }
    }

    func testCopyKeepsIdsFieldsBindingsAndIndexes() async throws {
        let a = try VectorStore(path: folder()), b = try VectorStore(path: folder())
        try await fill(a)
        let report = try await DatabaseCopy(batchSize: 64).copy(from: a, to: b)
        XCTAssertEqual(report.entries.map(\.collection), ["docs"])
        XCTAssertEqual(report.entries[0].copied, 300)
        XCTAssertEqual(report.entries[0].total, 300)
        let info = try await b.describeCollection("docs")
        XCTAssertEqual(info.schema.vectorFields[0].model, Self.model)
        XCTAssertEqual(info.indexes.map(\.kind), [.hnsw])
        XCTAssertEqual(info.count, 300)
        let row = try await b.openCollection("docs").get(ids: [.int(297)], outputFields: ["*", "vector"])
        let orig = try await a.openCollection("docs").get(ids: [.int(297)], outputFields: ["*", "vector"])
        XCTAssertEqual(row, orig)
        let searchA = try await searchIDs(a), searchB = try await searchIDs(b)
        XCTAssertEqual(searchA, searchB)
        try await a.close(); try await b.close()
    }

    func testCopyResumesWithoutDuplicates() async throws {
        let a = try VectorStore(path: folder()), b = try VectorStore(path: folder())
        try await fill(a)
        // An interrupted earlier run: the destination already has the first 100 rows.
        let src = try await a.openCollection("docs")
        let first = try await src.query(filter: "id < 300", where: nil, limit: nil, offset: 0, outputFields: ["*", "vector"])
        let dst = try await b.makeCollection("docs", schema: src.schema)
        _ = try await dst.insert(first.map { Entity(id: $0.id, vectors: $0.vectors, fields: $0.fields) }, models: ["vector": Self.model])
        let report = try await DatabaseCopy(batchSize: 50).copy(from: a, to: b)
        XCTAssertEqual(report.entries[0].alreadyThere, 100)
        XCTAssertEqual(report.entries[0].copied, 200)
        let n = try await b.openCollection("docs").count(filter: nil, where: nil)
        XCTAssertEqual(n, 300)
        // A second run copies nothing.
        let again = try await DatabaseCopy().copy(from: a, to: b)
        XCTAssertEqual(again.entries[0].copied, 0)
        try await a.close(); try await b.close()
    }

    func testCopyRefusesAnotherSpace() async throws {
        let a = try VectorStore(path: folder()), b = try VectorStore(path: folder())
        try await fill(a)
        _ = try await b.makeCollection("docs", schema: .quick(dimension: 8, model: EmbeddingModel(id: "other", dimension: 8)))
        do {
            _ = try await DatabaseCopy().copy(from: a, to: b)
            XCTFail("copied into a collection of another model")
        } catch let e as QuiverError {
            XCTAssertTrue("\(e)".contains("docs") && "\(e)".contains("other"), "\(e)")
        }
        try await a.close(); try await b.close()
    }

    /// Embedded → Milvus Lite → embedded: identical search results and rows.
    func testRoundTripThroughMilvus() async throws {
        guard let lite = ProcessInfo.processInfo.environment["QUIVER_MILVUS_LITE"], !lite.isEmpty else {
            let m = "QUIVER_MILVUS_LITE is not set (make test starts Milvus Lite and sets it)"
            if ProcessInfo.processInfo.environment["QUIVER_REQUIRE_MILVUS"] == "1" { XCTFail(m) }
            throw XCTSkip(m)
        }
        let name = "copytest_\(UInt32.random(in: 0...UInt32.max))"
        let a = try VectorStore(path: folder()), back = try VectorStore(path: folder())
        try await fill(a, name: name)
        let milvus = try await DatabaseConnection(location: "milvus://\(lite)").open()
        do {
            _ = try await DatabaseCopy(batchSize: 128).copy(from: a, to: milvus, collections: [name])
            _ = try await DatabaseCopy(batchSize: 128).copy(from: milvus, to: back, collections: [name])
            let viaMilvus = try await searchIDs(milvus, name), original = try await searchIDs(a, name), returned = try await searchIDs(back, name)
            XCTAssertEqual(viaMilvus, original)
            XCTAssertEqual(returned, original)
            let info = try await back.describeCollection(name)
            XCTAssertEqual(info.count, 300)
            XCTAssertEqual(info.schema.vectorFields[0].model, Self.model)
            let r1 = try await a.openCollection(name).get(ids: [.int(3), .int(600)], outputFields: ["*", "vector"])
            let r2 = try await back.openCollection(name).get(ids: [.int(3), .int(600)], outputFields: ["*", "vector"])
            XCTAssertEqual(r1.map(\.id), r2.map(\.id))
            XCTAssertEqual(r1.map(\.fields), r2.map(\.fields))
            for (x, y) in zip(r1, r2) { for (u, v) in zip(x.vectors["vector"]!, y.vectors["vector"]!) { XCTAssertEqual(u, v, accuracy: 1e-6) } }
        } catch {
            try? await milvus.dropCollection(name)
            throw error
        }
        try await milvus.dropCollection(name)
        try await milvus.close(); try await a.close(); try await back.close()
    }
}
