import XCTest
@testable import QuiverStore

/// The library entry points behind `quiver import`, `quiver index` and `quiver search`.
final class RawVectorToolsTests: XCTestCase {
    func testImportIndexSearchRoundTrip() async throws {
        let dir = try makeTempDir(self, "cli")
        let n = 300, d = 12
        let base = (0..<n).flatMap { testVector(Int64($0), dimension: d) }
        try NPY.write(NPYMatrix(rows: n, columns: d, values: base), to: dir + "/base.npy")
        let queries = [3, 77, 250].flatMap { testVector(Int64($0), dimension: d) }
        try NPY.write(NPYMatrix(rows: 3, columns: d, values: queries), to: dir + "/q.npy")
        try (0..<n).map { "item-\($0)" }.joined(separator: "\n").write(toFile: dir + "/ids.txt", atomically: true, encoding: .utf8)
        try (0..<n).map { "{\"n\": \($0), \"color\": \"\($0 % 2 == 0 ? "red" : "blue")\"}" }.joined(separator: "\n")
            .write(toFile: dir + "/meta.jsonl", atomically: true, encoding: .utf8)
        var progress: [Int] = []
        let imported = try await RawVectorTools.importVectors(
            .init(database: dir + "/db", collection: "vecs", vectorsPath: dir + "/base.npy", metric: .l2,
                  idsPath: dir + "/ids.txt", metadataPath: dir + "/meta.jsonl", batchSize: 128)) { done, _ in progress.append(done) }
        XCTAssertEqual(imported, n)
        XCTAssertEqual(progress, [128, 256, 300])
        try await RawVectorTools.createIndex(database: dir + "/db", collection: "vecs", kind: .flat, params: [:])
        let hits = try await RawVectorTools.search(database: dir + "/db", collection: "vecs", queriesPath: dir + "/q.npy", limit: 2, outputFields: ["color", "n"])
        XCTAssertEqual(hits.map { $0.first?.id }, [.string("item-3"), .string("item-77"), .string("item-250")])
        XCTAssertEqual(hits[1][0].score, 0, accuracy: 1e-6)
        XCTAssertEqual(hits[1][0].fields["color"], .string("blue"))
        XCTAssertEqual(hits[1][0].fields["n"], .int(77))
        let line = RawVectorTools.jsonLine(query: 1, hits: hits[1])
        XCTAssertTrue(line.hasPrefix("{\"query\": 1, \"ids\": [\"item-77\", "), line)
        let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        XCTAssertEqual((parsed["scores"] as! [Double]).count, 2)

        // Importing the same ids again fails clearly; with upsert it replaces.
        await assertStoreError("primary key item-0 already exists; use upsert") {
            try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "vecs", vectorsPath: dir + "/base.npy", idsPath: dir + "/ids.txt"))
        }
        try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "vecs", vectorsPath: dir + "/base.npy", idsPath: dir + "/ids.txt", upsert: true))
        // Vectors from another model or width are refused.
        await assertStoreError("holds raw vectors (12-d); these come from foo (12-d)") {
            try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "vecs", vectorsPath: dir + "/base.npy", model: "foo"))
        }
        try NPY.write(NPYMatrix(rows: 1, columns: 5, values: [1, 2, 3, 4, 5]), to: dir + "/q5.npy")
        await assertStoreError("q5.npy holds 5-d queries; collection 'vecs' field 'vector' holds none vectors (12-d)") {
            _ = try await RawVectorTools.search(database: dir + "/db", collection: "vecs", queriesPath: dir + "/q5.npy", limit: 1)
        }
    }

    func testDefaultIdsAreRowNumbersAndInputErrors() async throws {
        let dir = try makeTempDir(self, "cli")
        try NPY.write(NPYMatrix(rows: 4, columns: 2, values: [1, 0, 0, 1, 2, 2, -1, 0]), to: dir + "/b.npy")
        try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "c", vectorsPath: dir + "/b.npy", metric: .innerProduct))
        let hits = try await RawVectorTools.search(database: dir + "/db", collection: "c", queriesPath: dir + "/b.npy", limit: 1)
        XCTAssertEqual(hits.map { $0[0].id }, [.int(2), .int(2), .int(2), .int(3)])  // IP favours the long [2, 2]
        try "1\n2\n".write(toFile: dir + "/ids.txt", atomically: true, encoding: .utf8)
        await assertStoreError("ids.txt has 2 ids, the vectors file has 4 rows") {
            try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "c", vectorsPath: dir + "/b.npy", idsPath: dir + "/ids.txt"))
        }
        try "{\"a\": 1}\n[1]\n".write(toFile: dir + "/m.jsonl", atomically: true, encoding: .utf8)
        await assertStoreError("m.jsonl line 2 is not a JSON object") {
            try await RawVectorTools.importVectors(.init(database: dir + "/db", collection: "c", vectorsPath: dir + "/b.npy", metadataPath: dir + "/m.jsonl"))
        }
        XCTAssertEqual(try RawVectorTools.parseParams(["M=16", "efConstruction=200"]), ["M": 16, "efConstruction": 200])
        XCTAssertThrowsError(try RawVectorTools.parseParams(["M:16"])) { e in
            XCTAssertEqual("\(e)", "parameter 'M:16' must look like NAME=NUMBER (for example M=16)")
        }
    }
}
