import XCTest
@testable import QuiverStore

final class OperationTests: XCTestCase {
    func testInsertGetQueryCountDelete() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        let ids = try await c.insert((1...20).map { docsEntity($0) })
        XCTAssertEqual(ids, (1...20).map { .int($0) })
        var n = try await c.count()
        XCTAssertEqual(n, 20)

        let got = try await c.get(ids: [.int(3), .int(99), .int(1)], outputFields: ["*", "embedding"])
        XCTAssertEqual(got.map(\.id), [.int(3), .int(1)])
        XCTAssertEqual(got[0].fields["age"], .int(3))
        XCTAssertEqual(got[0].fields["score"], .double(1.5))
        XCTAssertEqual(got[0].fields["name"], .string("doc3"))
        XCTAssertEqual(got[0].fields["color"], .string("blue"), "dynamic field")
        XCTAssertEqual(got[0].vectors["embedding"], testVector(3, dimension: 8))

        let onlyAge = try await c.get(ids: [.int(4)], outputFields: ["age"])
        XCTAssertEqual(onlyAge[0].fields, ["age": .int(4)])

        let red = try await c.query(where: { $0.value(of: "color") == .string("red") }, limit: 3, offset: 2, outputFields: ["name"])
        XCTAssertEqual(red.map(\.id), [.int(6), .int(8), .int(10)])
        XCTAssertEqual(red[0].fields, ["name": .string("doc6")])
        n = try await c.count(where: { if case let .int(a)? = $0.value(of: "age") { return a >= 15 }; return false })
        XCTAssertEqual(n, 6)

        var deleted = try await c.delete(ids: [.int(1), .int(2), .int(1000)])
        XCTAssertEqual(deleted, 2)
        deleted = try await c.delete(where: { $0.value(of: "color") == .string("red") })
        XCTAssertEqual(deleted, 9)  // 4...20 even
        n = try await c.count()
        XCTAssertEqual(n, 9)
        let rest = try await c.query(outputFields: [])
        XCTAssertEqual(rest.map(\.id), [3, 5, 7, 9, 11, 13, 15, 17, 19].map { PrimaryKey.int($0) })
        // A deleted id can be inserted again.
        try await c.insert([docsEntity(2)])
        n = try await c.count()
        XCTAssertEqual(n, 10)
        try await store.close()
    }

    func testDefaultsAndNullables() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert([Entity(id: .int(1), vectors: ["embedding": testVector(1, dimension: 8)], fields: ["age": .int(7)])])
        let r = try await c.get(ids: [.int(1)])
        XCTAssertEqual(r[0].fields["name"], .string("anon"))
        XCTAssertEqual(r[0].fields["score"], .null)
        try await store.close()
    }

    func testUpsertReplacesAndInserts() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert([docsEntity(1), docsEntity(2)])
        var e = docsEntity(2)
        e.fields["age"] = .int(99)
        e.vectors["embedding"] = testVector(500, dimension: 8)
        try await c.upsert([e, docsEntity(3)])
        let n = try await c.count()
        XCTAssertEqual(n, 3)
        let rows = try await c.get(ids: [.int(2)], outputFields: ["age", "embedding"])
        XCTAssertEqual(rows.count, 1)
        XCTAssertEqual(rows[0].fields["age"], .int(99))
        XCTAssertEqual(rows[0].vectors["embedding"], testVector(500, dimension: 8))
        // The old version of 2 no longer shows up in search.
        let hits = try await c.search(SearchRequest(vectors: [testVector(2, dimension: 8)], limit: 3))
        XCTAssertEqual(Set(hits[0].map(\.id)), [.int(1), .int(2), .int(3)])
        let all = try await c.query(where: { $0.value(of: "id") == .int(2) })
        XCTAssertEqual(all.count, 1)
        // Upsert survives a flush and reopen.
        try await c.flush()
        try await c.upsert([docsEntity(2)])
        try await store.close()
        let s2 = try VectorStore(path: store.path)
        let c2 = try await s2.collection("docs")
        let again = try await c2.get(ids: [.int(2)], outputFields: ["age"])
        XCTAssertEqual(again.map(\.fields), [["age": .int(2)]])
        let n2 = try await c2.count()
        XCTAssertEqual(n2, 3)
        try await s2.close()
    }

    func testSearchMatchesBruteForceForEachMetric() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        for metric in Metric.allCases {
            let c = try await store.createCollection("c_\(metric.rawValue)", schema: docsSchema(metric: metric, dimension: 16))
            let items = (1...300).map { (Int64($0), testVector(Int64($0), dimension: 16)) }
            try await c.insert(items.prefix(150).map { docsEntity($0.0, dimension: 16) })
            try await c.flush()  // half sealed, half growing
            try await c.insert(items.dropFirst(150).map { docsEntity($0.0, dimension: 16) })
            let queries = (0..<5).map { testVector(10_000 + Int64($0), dimension: 16) }
            for withIndex in [false, true] {
                if withIndex { try await c.createIndex(kind: .flat) }
                let res = try await c.search(SearchRequest(vectors: queries, limit: 7, outputFields: ["name"]))
                XCTAssertEqual(res.count, 5)
                for (qi, q) in queries.enumerated() {
                    let want = bruteForce(q, items, metric: metric, k: 7)
                    XCTAssertEqual(res[qi].map(\.id), want.map { .int($0.0) }, "\(metric) index=\(withIndex)")
                    for (h, w) in zip(res[qi], want) { XCTAssertEqual(h.score, w.1, accuracy: 1e-4) }
                    XCTAssertEqual(res[qi][0].fields["name"], .string("doc\(want[0].0)"))
                }
                // Filtered search: only even ids.
                let even = try await c.search(SearchRequest(vectors: [queries[0]], limit: 5, predicate: { if case let .int(i)? = $0.value(of: "id") { return i % 2 == 0 }; return false }))
                let wantEven = bruteForce(queries[0], items.filter { $0.0 % 2 == 0 }, metric: metric, k: 5)
                XCTAssertEqual(even[0].map(\.id), wantEven.map { .int($0.0) })
                // Offset pages through the same ranking.
                let page = try await c.search(SearchRequest(vectors: [queries[1]], limit: 3, offset: 2))
                XCTAssertEqual(page[0].map(\.id), Array(res[1].map(\.id)[2..<5]))
            }
        }
        try await store.close()
    }

    func testRangeSearch() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("r", schema: docsSchema(metric: .l2, dimension: 8))
        let items = (1...200).map { (Int64($0), testVector(Int64($0), dimension: 8)) }
        try await c.insert(items.map { docsEntity($0.0) })
        let q = testVector(7, dimension: 8)
        let all = bruteForce(q, items, metric: .l2, k: 200)
        let radius = (all[30].1 + all[31].1) / 2, rangeFilter = (all[5].1 + all[6].1) / 2  // between neighbours: no ties at the bounds
        for withIndex in [false, true] {
            if withIndex { try await c.createIndex(kind: .flat) }
            let hits = try await c.search(SearchRequest(vectors: [q], limit: 100, radius: radius, rangeFilter: rangeFilter))[0]
            let want = all.filter { $0.1 < radius && $0.1 >= rangeFilter }
            XCTAssertEqual(hits.map(\.id), want.map { .int($0.0) })
            XCTAssertEqual(hits.count, 25)
        }
        try await store.close()
    }

    func testStringKeysAndMultipleVectorFields() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "doc", type: .string),
                                      vectorFields: [VectorField(name: "text", dimension: 4, metric: .innerProduct),
                                                     VectorField(name: "image", dimension: 3, metric: .l2)])
        let c = try await store.createCollection("multi", schema: schema)
        try await c.insert([Entity(id: .string("a"), vectors: ["text": [1, 0, 0, 0], "image": [0, 0, 1]]),
                            Entity(id: .string("b"), vectors: ["text": [0, 1, 0, 0], "image": [0, 0, 0]])])
        try await c.flush()
        let t = try await c.search(SearchRequest(field: "text", vectors: [[0.1, 0.9, 0, 0]], limit: 1))
        XCTAssertEqual(t[0].map(\.id), [.string("b")])
        let i = try await c.search(SearchRequest(field: "image", vectors: [[0, 0, 0.9]], limit: 2, outputFields: ["text"]))
        XCTAssertEqual(i[0].map(\.id), [.string("a"), .string("b")])
        XCTAssertEqual(i[0][0].score, 0.01, accuracy: 1e-6)
        XCTAssertEqual(i[0][0].vectors["text"], [1, 0, 0, 0])
        await assertStoreError("has 2 vector fields; name one") { _ = try await c.search(SearchRequest(vectors: [[1, 0, 0, 0]])) }
        await assertStoreError("has no vector field 'audio'") { _ = try await c.search(SearchRequest(field: "audio", vectors: [[1]])) }
        let got = try await c.get(ids: [.string("b")])
        XCTAssertEqual(got.map(\.id), [.string("b")])
        try await store.close()
    }

    func testCollectionManagementAndIndexes() async throws {
        let dir = try makeTempDir(self)
        let store = try VectorStore(path: dir)
        try await store.createCollection("a", schema: docsSchema())
        let b = try await store.createCollection("b", schema: docsSchema())
        try await b.insert((1...5).map { docsEntity($0) })
        var names = try await store.listCollections()
        XCTAssertEqual(names, ["a", "b"])
        try await b.createIndex(field: "embedding", kind: .flat)
        await assertStoreError("HNSW index: unknown build parameter 'nlist'; expected M, efConstruction") { try await b.createIndex(kind: .hnsw, params: ["nlist": 16]) }
        await assertStoreError("IVF_FLAT with nlist=16 trains on the stored vectors and needs at least 16; field 'embedding' holds 5") {
            try await b.createIndex(kind: .ivfFlat, params: ["nlist": 16])
        }
        var info = try await store.describeCollection("b")
        XCTAssertEqual(info.count, 5)
        XCTAssertEqual(info.indexes, [IndexInfo(field: "embedding", kind: .flat)])
        XCTAssertEqual(info.schema, docsSchema())
        try await b.dropIndex()
        await assertStoreError("has no index") { try await b.dropIndex() }
        info = try await store.describeCollection("b")
        XCTAssertEqual(info.indexes, [])
        try await store.dropCollection("a")
        names = try await store.listCollections()
        XCTAssertEqual(names, ["b"])
        await assertStoreError("collection 'a' does not exist") { try await store.dropCollection("a") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/collections/a"))
        // A dropped name can be created again, empty.
        let a2 = try await store.createCollection("a", schema: docsSchema())
        let n = try await a2.count()
        XCTAssertEqual(n, 0)
        try await store.close()
    }

    func testCompactionDropsDeletedRows() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.createIndex(kind: .flat)
        for chunk in 0..<4 {
            try await c.insert((1...25).map { docsEntity(Int64(chunk * 25 + $0)) })
            try await c.flush()
        }
        try await c.delete(where: { if case let .int(i)? = $0.value(of: "id") { return i % 4 != 0 }; return false })
        var info = c.describe()
        XCTAssertEqual(info.segments, 4)
        try await c.compact()
        info = c.describe()
        XCTAssertEqual(info.segments, 1)
        XCTAssertEqual(info.count, 25)
        let segFiles = try FileManager.default.contentsOfDirectory(atPath: c.directory).filter { $0.hasPrefix("seg-") }
        XCTAssertEqual(segFiles.count, 1)
        XCTAssertTrue(c.snapshot.tombstones.isEmpty)
        XCTAssertEqual(c.snapshot.segments[0].count, 25)
        let hits = try await c.search(SearchRequest(vectors: [testVector(40, dimension: 8)], limit: 1))
        XCTAssertEqual(hits[0].first?.id, .int(40))
        try await store.close()
    }
}
