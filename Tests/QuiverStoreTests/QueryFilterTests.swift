import XCTest
@testable import QuiverStore

/// Filter expressions (the Filter module's Milvus syntax) through collection operations.
final class QueryFilterTests: XCTestCase {
    func makeDocs() async throws -> (VectorStore, Collection) {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: docsSchema())
        try await c.insert((1...40).map { docsEntity($0) })
        try await c.flush()
        try await c.insert((41...60).map { docsEntity($0) })  // some sealed, some growing
        return (store, c)
    }

    func testQueryCountAndSearchWithFilters() async throws {
        let (store, c) = try await makeDocs()
        // Scalar fields, the primary key, dynamic fields (by name and through $meta), JSON paths.
        var rows = try await c.query(filter: "age >= 45 and id < 50", outputFields: ["age"])
        XCTAssertEqual(rows.map(\.id), (45...49).map { PrimaryKey.int($0) })
        var n = try await c.count(filter: #"color == "red""#)
        XCTAssertEqual(n, 30)
        n = try await c.count(filter: #"$meta["color"] == "blue" and score > 20.0"#)
        XCTAssertEqual(n, (41...60).filter { $0 % 2 == 1 }.count)
        n = try await c.count(filter: #"tags[0] == "t1""#)
        XCTAssertEqual(n, (1...60).filter { $0 % 3 == 1 }.count)
        n = try await c.count(filter: #"name like "doc1%""#)
        XCTAssertEqual(n, 11)  // doc1, doc10...doc19
        rows = try await c.query(filter: "id in [3, 7, 99]", outputFields: [])
        XCTAssertEqual(rows.map(\.id), [.int(3), .int(7)])
        rows = try await c.query(filter: "id > 10", limit: 2, offset: 3)
        XCTAssertEqual(rows.map(\.id), [.int(14), .int(15)])

        let q = testVector(12, dimension: 8)
        let hits = try await c.search(SearchRequest(vectors: [q], limit: 5, filter: "age % 2 == 0 and id != 12", outputFields: ["age"]))[0]
        XCTAssertEqual(hits.count, 5)
        XCTAssertFalse(hits.contains { $0.id == .int(12) })
        for h in hits { if case let .int(a)? = h.fields["age"] { XCTAssertEqual(a % 2, 0) } else { XCTFail("no age") } }
        // age = id % 50 has the parity of id, so the filter keeps the even ids other than 12.
        let allowed: [Int64] = (1...60).filter { $0 % 2 == 0 && $0 != 12 }
        let items: [(Int64, [Float])] = allowed.map { ($0, testVector($0, dimension: 8)) }
        let want = bruteForce(q, items, metric: .cosine, k: 5)
        XCTAssertEqual(hits.map(\.id), want.map { .int($0.0) })
        try await store.close()
    }

    func testDeleteByFilterAndErrors() async throws {
        let (store, c) = try await makeDocs()
        let deleted = try await c.delete(filter: #"color == "blue" or age < 5"#)
        let expected = (1...60).filter { $0 % 2 == 1 || $0 % 50 < 5 }.count  // blue = odd ids; age = id % 50
        XCTAssertEqual(deleted, expected)
        var n = try await c.count()
        XCTAssertEqual(n, 60 - deleted)
        n = try await c.count(filter: #"color == "blue""#)
        XCTAssertEqual(n, 0)

        await assertStoreError("invalid filter \"age >\": filter error at column") { _ = try await c.count(filter: "age >") }
        await assertStoreError("filter error at column 1: unknown field 'nope'") {
            let strict = try await store.createCollection("strict", schema: CollectionSchema(vectorFields: [VectorField(name: "v", dimension: 2)], enableDynamicField: false))
            _ = try await strict.query(filter: "nope == 1")
        }
        await assertStoreError("filter error") { _ = try await c.search(SearchRequest(vectors: [testVector(1, dimension: 8)], filter: #"name > 3"#)) }
        try await store.close()
    }

    func testCLISearchWithFilter() async throws {
        let dir = try makeTempDir(self, "cli")
        try NPY.write(NPYMatrix(rows: 6, columns: 2, values: [1, 0, 0.9, 0.1, 0.8, 0.2, 0, 1, 0.1, 0.9, -1, 0]), to: dir + "/b.npy")
        try (0..<6).map { "{\"group\": \($0 < 3 ? "\"a\"" : "\"b\"")}" }.joined(separator: "\n").write(toFile: dir + "/m.jsonl", atomically: true, encoding: .utf8)
        try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "c", vectorsPath: dir + "/b.npy", metric: .cosine, metadataPath: dir + "/m.jsonl"))
        try NPY.write(NPYMatrix(rows: 1, columns: 2, values: [1, 0]), to: dir + "/q.npy")
        let hits = try await RawVectorTools.search(database: dir + "/db", collection: "c", queriesPath: dir + "/q.npy", limit: 2, filter: #"group == "b""#)
        XCTAssertEqual(hits[0].map(\.id), [.int(4), .int(3)])
    }
}

extension QueryFilterTests {
    /// `id in [...]` and `id == v` are answered by key lookup (same results as a scan would give,
    /// including upserted and deleted keys).
    func testPrimaryKeyFiltersUseLookup() async throws {
        let (store, c) = try await makeDocs()
        XCTAssertEqual(c.candidateKeys("id in [5, 3, 99]"), [.int(5), .int(3), .int(99)])
        XCTAssertEqual(c.candidateKeys("id == 7 and age > 1"), [.int(7)])
        XCTAssertNil(c.candidateKeys("age == 7"))
        try await c.delete(ids: [.int(3)])
        try await c.upsert([docsEntity(5)])
        var rows = try await c.query(filter: "id in [5, 3, 99, 50]", outputFields: ["age"])
        XCTAssertEqual(rows.map(\.id), [.int(50), .int(5)], "row order: 50 was inserted before 5's upsert")
        rows = try await c.query(filter: "id in [5, 50] and age > 10", outputFields: [])
        XCTAssertEqual(rows.map(\.id), [])
        let n = try await c.count(filter: "id == 50 or id == 7")
        XCTAssertEqual(n, 2)
        let d = try await c.delete(filter: "id in [7, 8, 1000]")
        XCTAssertEqual(d, 2)
        let left = try await c.count()
        XCTAssertEqual(left, 57)
        try await store.close()
    }
}
