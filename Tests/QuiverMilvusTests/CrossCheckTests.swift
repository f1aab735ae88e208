import Foundation
import XCTest
import QuiverStore
@testable import QuiverMilvus

/// Quiver's half of scripts/milvus/crosscheck.py (run by scripts/milvus/crosscheck.sh): reads
/// the collection pymilvus wrote (QUIVER_MILVUS_CROSSCHECK_READ) and writes the one pymilvus
/// then checks (QUIVER_MILVUS_CROSSCHECK_WRITE), on the server QUIVER_MILVUS_CROSSCHECK_ADDRESS
/// (token QUIVER_MILVUS_CROSSCHECK_TOKEN). Skipped when the script did not set them.
final class CrossCheckTests: XCTestCase {
    static let rows = 50, dim = 8
    static func vector(_ i: Int) -> [Float] { (0..<dim).map { j in Float(Double((i * 31 + j * 17) % 101 - 50) / 50) } }

    var env: [String: String] { ProcessInfo.processInfo.environment }

    func store() async throws -> MilvusStore {
        guard let a = env["QUIVER_MILVUS_CROSSCHECK_ADDRESS"] else { throw XCTSkip("run by scripts/milvus/crosscheck.sh") }
        return try await MilvusStore(address: a, token: env["QUIVER_MILVUS_CROSSCHECK_TOKEN"], timeout: 20)
    }

    func testReadsWhatPymilvusWrote() async throws {
        guard let name = env["QUIVER_MILVUS_CROSSCHECK_READ"] else { throw XCTSkip("run by scripts/milvus/crosscheck.sh") }
        let db = try await store()
        let c = try await db.collection(name)
        XCTAssertFalse(c.isBound)
        XCTAssertEqual(c.schema.vectorFields.map(\.model.id), ["none"])
        XCTAssertEqual(c.schema.vectorFields.first?.metric, .cosine)  // from pymilvus' index
        XCTAssertTrue(c.schema.description.contains("no model binding"), c.schema.description)
        XCTAssertEqual(c.schema.scalarFields.map(\.name).sorted(), ["title", "year"])
        let count = try await c.count(filter: nil, where: nil)
        XCTAssertEqual(count, Self.rows)
        let rows = try await c.query(filter: nil, where: nil, limit: nil, offset: 0, outputFields: ["*", "vector"])
        XCTAssertEqual(rows.map(\.id), (0..<Self.rows).map { .int(Int64($0)) })
        for r in rows {
            guard case let .int(i) = r.id else { return XCTFail("\(r.id)") }
            XCTAssertEqual(r.fields["title"], .string("row \(i)"))
            XCTAssertEqual(r.fields["year"], .int(2000 + i % 7))
            XCTAssertEqual(r.fields["tag"], .string("t\(i % 3)"))
            XCTAssertEqual(r.vectors["vector"], Self.vector(Int(i)))
        }
        // Raw vectors (model none) may be searched and written; a named model may not.
        let hits = try await c.search(SearchRequest(vectors: [Self.vector(7)], model: .raw(dimension: Self.dim), limit: 1))
        XCTAssertEqual(hits.first?.first?.id, .int(7))
        XCTAssertEqual(hits.first?.first?.score ?? 0, 1, accuracy: 1e-4)
        do {
            _ = try await c.search(SearchRequest(vectors: [Self.vector(7)], model: EmbeddingModel(id: "m", dimension: Self.dim)))
            XCTFail("a named model was accepted on an unbound collection")
        } catch let e as StoreError {
            XCTAssertTrue(e.description.contains("raw"), e.description)
        }
        try await db.close()
    }

    func testWritesWhatPymilvusReads() async throws {
        guard let name = env["QUIVER_MILVUS_CROSSCHECK_WRITE"] else { throw XCTSkip("run by scripts/milvus/crosscheck.sh") }
        let db = try await store()
        if try await db.hasCollection(name) { try await db.dropCollection(name) }
        let model = EmbeddingModel(id: "crosscheck-model", dimension: Self.dim, normalized: false)
        let schema = CollectionSchema(vectorFields: [VectorField(name: "vector", dimension: Self.dim, metric: .cosine, model: model)],
                                      scalarFields: [ScalarField(name: "title", type: .string, maxLength: 100), ScalarField(name: "year", type: .int64)])
        let c = try await db.createCollection(name, schema: schema)
        let entities = (0..<Self.rows).map { i in
            Entity(id: .int(Int64(i)), vector: Self.vector(i), fields: ["title": .string("row \(i)"), "year": .int(Int64(2000 + i % 7)), "tag": .string("t\(i % 3)")])
        }
        _ = try await c.insert(entities, models: ["vector": model])
        try await c.flush()
        let count = try await c.count(filter: nil, where: nil)
        XCTAssertEqual(count, Self.rows)
        try await db.close()
    }
}
