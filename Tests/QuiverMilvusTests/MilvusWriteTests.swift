import Foundation
import XCTest
import QuiverStore
@testable import QuiverMilvus

/// Writes that depend on the server: batching under the 4 MiB message limit, automatic ids,
/// float16 vectors and nullable fields (newer servers only).
final class MilvusWriteTests: XCTestCase {
    func servers() async throws -> [(Backend, MilvusStore)] {
        var out: [(Backend, MilvusStore)] = []
        for b in Backend.servers { if let db = try await b.open() as? MilvusStore { out.append((b, db)) } }
        if out.isEmpty { throw XCTSkip("no Milvus server configured (QUIVER_MILVUS_LITE, QUIVER_MILVUS_STANDALONE)") }
        return out
    }

    func testBatchesStayUnderTheMessageLimit() {
        let rows = (0..<1000).map { i in CheckedEntity(id: .int(Int64(i)), vectors: [], scalars: [], dynamic: [:], bytes: 10_000 + i) }
        let batches = MilvusCollection.batches(rows)
        XCTAssertEqual(batches.map(\.count).reduce(0, +), 1000)
        XCTAssertEqual(batches.flatMap { $0.map(\.id) }, rows.map(\.id))  // order kept
        for b in batches { XCTAssertLessThanOrEqual(b.map(\.bytes).reduce(0, +), MilvusCollection.maxMessageBytes) }
        XCTAssertGreaterThan(batches.count, 2)
        // One row bigger than the limit still goes alone.
        XCTAssertEqual(MilvusCollection.batches([CheckedEntity(id: nil, vectors: [], scalars: [], dynamic: [:], bytes: 9_000_000)]).count, 1)
    }

    func testLargeInsertIsSplitAndComplete() async throws {
        for (b, db) in try await servers() {
            let name = uniqueName("large")
            let c = try await db.createCollection(name, schema: .quick(dimension: 768, metric: .innerProduct))
            let vs = vectors(2500, dim: 768, seed: 5)  // 7.7 MB of floats: at least 3 messages
            let ids = try await c.insert(vs.enumerated().map { Entity(id: .int(Int64($0.offset)), vector: $0.element, fields: ["p": .string("x\($0.offset)")]) }, models: [:])
            XCTAssertEqual(ids.count, 2500, b.rawValue)
            let n = try await c.count(filter: nil, where: nil)
            XCTAssertEqual(n, 2500, b.rawValue)
            let got = try await c.get(ids: [.int(0), .int(2499)], outputFields: ["vector", "p"])
            XCTAssertEqual(got.map { $0.vectors["vector"]! }, [vs[0], vs[2499]], b.rawValue)
            XCTAssertEqual(got.map { $0.fields["p"] }, [.string("x0"), .string("x2499")], b.rawValue)
            try await db.dropCollection(name)
            try await db.close()
        }
    }

    func testAutomaticIDs() async throws {
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "pk", type: .int64, autoID: true),
                                      vectorFields: [VectorField(name: "v", dimension: 4, metric: .l2)],
                                      scalarFields: [ScalarField(name: "n", type: .int64)])
        let entities = (0..<5).map { Entity(id: nil, vectors: ["v": [Float($0), 0, 0, 1]], fields: ["n": .int(Int64($0))]) }
        for (b, db) in try await servers() {
            let name = uniqueName("autoid")
            let c = try await db.createCollection(name, schema: schema)
            let ids = try await c.insert(entities, models: [:])
            XCTAssertEqual(Set(ids).count, 5, b.rawValue)
            let rows = try await c.get(ids: ids, outputFields: ["n"])
            XCTAssertEqual(rows.map(\.id), ids, b.rawValue)
            XCTAssertEqual(rows.map { $0.fields["n"] }, (0..<5).map { .int(Int64($0)) }, b.rawValue)
            let given = await BehaviourTests.error { try await c.insert([Entity(id: .int(1), vectors: ["v": [0, 0, 0, 0]], fields: ["n": .int(0)])], models: [:]) }
            XCTAssertTrue(given.contains("is automatic"), given)
            let hits = try await c.search(SearchRequest(vectors: [[2, 0, 0, 1]], limit: 1, outputFields: ["n"]))
            XCTAssertEqual(hits[0].first?.fields["n"], .int(2), b.rawValue)
            XCTAssertEqual(hits[0].first?.score ?? -1, 0, accuracy: 1e-6)  // squared L2 of an exact match
            try await db.dropCollection(name)
            try await db.close()
        }
    }

    /// Float16 vectors: where the server has them (Milvus 2.3.5) they read back as the embedded
    /// store rounds them and search alike; where it does not (Milvus Lite 3.2) the error names
    /// the collection and quotes the server's reason, and nothing is left behind.
    func testFloat16VectorsOrTheServersReason() async throws {
        let schema = CollectionSchema(vectorFields: [VectorField(name: "h", dimension: 4, metric: .cosine, storage: .float16)])
        let entities = [Entity(id: .int(1), vectors: ["h": [0.1, 0.2, 0.3, 1000.3]]), Entity(id: .int(2), vectors: ["h": [1, 0.0001, 0, -3.14159]])]
        let embedded = try await Backend.embedded.open()!
        let e = try await embedded.makeCollection("f16", schema: schema)
        _ = try await e.insert(entities, models: [:])
        let want = try await e.get(ids: [.int(1), .int(2)], outputFields: ["h"])
        let wantHits = summarize(try await e.search(SearchRequest(vectors: [[1, 0, 0, -3]], limit: 2)))
        XCTAssertNotEqual(want[0].vectors["h"], entities[0].vectors["h"])  // rounded to half precision
        try await embedded.close()
        for (b, db) in try await servers() {
            let name = uniqueName("f16")
            do {
                let c = try await db.createCollection(name, schema: schema)
                _ = try await c.insert(entities, models: [:])
                let got = try await c.get(ids: [.int(1), .int(2)], outputFields: ["h"])
                XCTAssertEqual(got, want, b.rawValue)
                let hits = summarize(try await c.search(SearchRequest(vectors: [[1, 0, 0, -3]], limit: 2)))
                // Milvus 2.3.5 scores float16 COSINE searches wrongly (pymilvus 3.0.2 gets the same
                // 0.316 for both hits), so scores are compared only on other servers; and on
                // 2026-12-03 (AMD EPYC) it answered some runs' float16 searches with no hits at
                // all, pymilvus 3.0.2 included: there only "no hits or both" is required.
                let v23 = try await db.serverVersion().hasPrefix("v2.3")
                XCTAssertTrue(hits[0].count == 2 || (v23 && hits[0].isEmpty), "\(b.rawValue): \(hits[0].count) hits")
                if !v23 {
                    XCTAssertEqual(hits.map { $0.map(\.id) }, wantHits.map { $0.map(\.id) }, b.rawValue)
                    for (h, w) in zip(hits[0], wantHits[0]) { XCTAssertEqual(h.score, w.score, accuracy: 2e-3, b.rawValue) }  // half-precision query
                }
                try await db.dropCollection(name)
            } catch let err as MilvusError {
                guard case let .server(_, coll, op, _, reason) = err else { return XCTFail("\(err)") }
                XCTAssertEqual(coll, name); XCTAssertEqual(op, "CreateCollection")
                XCTAssertFalse(reason.isEmpty)
                XCTAssertTrue(err.description.contains("\"" + reason + "\""), err.description)
                let left = try await db.hasCollection(name)
                XCTAssertFalse(left, b.rawValue)
            }
            try await db.close()
        }
    }

    /// Nullable fields: Milvus Lite stores nulls like the embedded store; Milvus 2.3 has no
    /// nullable fields, so an insert with a null fails with its reason (one without works).
    func testNullableFields() async throws {
        let schema = CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 2, metric: .l2)],
                                      scalarFields: [ScalarField(name: "note", type: .string, nullable: true, maxLength: 20),
                                                     ScalarField(name: "n", type: .int64, defaultValue: .int(7))])
        let full = [Entity(id: .int(1), vectors: ["v": [0, 1]], fields: ["note": .string("a"), "n": .int(1)])]
        let sparse = [Entity(id: .int(2), vectors: ["v": [1, 0]], fields: [:])]
        let embedded = try await Backend.embedded.open()!
        let e = try await embedded.makeCollection("nulls", schema: schema)
        _ = try await e.insert(full + sparse, models: [:])
        let want = try await e.get(ids: [.int(1), .int(2)], outputFields: ["*"])
        XCTAssertEqual(want.last?.fields, ["note": .null, "n": .int(7)])
        try await embedded.close()
        for (b, db) in try await servers() {
            let name = uniqueName("nulls")
            let c = try await db.createCollection(name, schema: schema)
            _ = try await c.insert(full, models: [:])
            do {
                _ = try await c.insert(sparse, models: [:])
                let got = try await c.get(ids: [.int(1), .int(2)], outputFields: ["*"])
                XCTAssertEqual(got, want, b.rawValue)
            } catch let err as MilvusError {
                XCTAssertEqual(b, .standalone, "\(b.rawValue): \(err)")
                let got = try await c.get(ids: [.int(1)], outputFields: ["*"])
                XCTAssertEqual(got, [want[0]], b.rawValue)
            }
            try await db.dropCollection(name)
            try await db.close()
        }
    }
}
