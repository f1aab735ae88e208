import XCTest
@testable import QuiverStore

/// The Index module's indexes driven through collections: build from stored vectors, stay in
/// step with inserts and deletes, persist and reload without a rebuild.
final class CollectionIndexTests: XCTestCase {
    func recall(_ got: [[SearchHit]], _ want: [[(Int64, Float)]]) -> Double {
        var hit = 0, total = 0
        for (g, w) in zip(got, want) {
            let ids = Set(g.map(\.id))
            hit += w.filter { ids.contains(.int($0.0)) }.count
            total += w.count
        }
        return Double(hit) / Double(total)
    }

    func testApproximateIndexesThroughACollection() async throws {
        let dir = try makeTempDir(self)
        let d = 16
        var items = (0..<1500).map { (Int64($0), testVector(Int64($0), dimension: d)) }
        let queries = (0..<20).map { testVector(90_000 + Int64($0), dimension: d) }
        for (kind, params, search) in [(IndexKind.hnsw, ["M": 12.0, "efConstruction": 100.0], ["ef": 128.0]),
                                       (.ivfFlat, ["nlist": 16], ["nprobe": 16]),
                                       (.ivfSQ8, ["nlist": 16, "rerank": 4], ["nprobe": 16])] {
            var store = try VectorStore(path: dir)
            let name = "c_\(kind.rawValue)"
            var c = try await store.createCollection(name, schema: docsSchema(metric: .l2, dimension: d))
            try await c.insert(items.prefix(1000).map { docsEntity($0.0, dimension: d) })
            try await c.createIndex(kind: kind, params: params)
            // Changes after the build go into the index too.
            try await c.insert(items.dropFirst(1000).map { docsEntity($0.0, dimension: d) })
            try await c.delete(ids: (0..<100).map { PrimaryKey.int($0 * 3) })
            let live = items.filter { !($0.0 < 300 && $0.0 % 3 == 0) }
            let want = queries.map { bruteForce($0, live, metric: .l2, k: 10) }
            let got = try await c.search(SearchRequest(vectors: queries, limit: 10, params: search))
            let r = recall(got, want)
            XCTAssertGreaterThanOrEqual(r, 0.9, "\(kind) recall@10 \(r)")
            for hits in got { for h in hits { if case let .int(i) = h.id { XCTAssertFalse(i < 300 && i % 3 == 0, "\(kind) returned deleted \(i)") } } }
            XCTAssertEqual(c.indexes(), [IndexInfo(field: "embedding", kind: kind, params: params)])
            await assertStoreError("invalid index parameter bogus") {
                _ = try await c.search(SearchRequest(vectors: [queries[0]], params: ["bogus": 1]))
            }
            try await store.close()
            // Reopened: the persisted index answers the same, without a rebuild.
            let files = try FileManager.default.contentsOfDirectory(atPath: c.directory).filter { $0.hasPrefix("idx-") }
            store = try VectorStore(path: dir)
            c = try await store.collection(name)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: c.directory).filter { $0.hasPrefix("idx-") }, files)
            let again = try await c.search(SearchRequest(vectors: queries, limit: 10, params: search))
            XCTAssertEqual(again.map { $0.map(\.id) }, got.map { $0.map(\.id) }, "\(kind) after reopen")
            try await store.close()
        }
        items.removeAll()
    }

    func testFilteredSearchWithHNSW() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema(metric: .cosine, dimension: 8))
        let items = (1...800).map { (Int64($0), testVector(Int64($0), dimension: 8)) }
        try await c.insert(items.map { docsEntity($0.0) })
        try await c.createIndex(kind: .hnsw)
        let q = testVector(4242, dimension: 8)
        let red: RowPredicate = { $0.value(of: "color") == .string("red") }
        let got = try await c.search(SearchRequest(vectors: [q], limit: 5, predicate: red, outputFields: ["color"]))[0]
        XCTAssertEqual(got.count, 5)
        XCTAssertTrue(got.allSatisfy { $0.fields["color"] == .string("red") })
        let want = bruteForce(q, items.filter { $0.0 % 2 == 0 }, metric: .cosine, k: 5)
        XCTAssertEqual(got.map(\.id), want.map { .int($0.0) })
        try await store.close()
    }
}
