import Foundation
import XCTest
import QuiverTestSupport
@testable import QuiverStore

/// BM25 full-text index against bm25s (method "lucene", k1 1.2, b 0.75) on the committed fixture
/// Tests/Fixtures/fulltext/bm25.json (scripts/fixtures/make_bm25_fixture.py).
final class FullTextTests: XCTestCase {
    struct Fixture: Decodable {
        var options: FullTextOptions
        var corpus: [String]
        var corpus_terms: [[String]]
        var queries: [String]
        var query_terms: [[String]]
        var scores: [[Double]]
        var deleted: [Int]
        var scores_after_delete: [[Double?]]
    }

    /// Scores within 1e-5 of the reference (absolute).
    static let tolerance = 1e-5

    func fixture() throws -> Fixture {
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("fulltext/bm25.json"))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    func schema() -> CollectionSchema {
        CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .int64),
                         vectorFields: [VectorField(name: "v", dimension: 2, metric: .l2)],
                         scalarFields: [ScalarField(name: "text", type: .string, nullable: true),
                                        ScalarField(name: "n", type: .int64)],
                         enableDynamicField: true)
    }

    func entities(_ f: Fixture, _ range: Range<Int>) -> [Entity] {
        range.map { Entity(id: .int(Int64($0)), vectors: ["v": [Float($0), 0]], fields: ["text": .string(f.corpus[$0]), "n": .int(Int64($0))]) }
    }

    /// Every query's hits equal the reference: the same documents (those with a positive score) and scores.
    func assertScores(_ c: Collection, _ f: Fixture, expected: [[Double?]], _ what: String, file: StaticString = #filePath, line: UInt = #line) async throws {
        for (qi, q) in f.queries.enumerated() {
            let hits = try await c.fullTextSearch(q, limit: 1000)
            var want: [Int64: Double] = [:]
            for (d, s) in expected[qi].enumerated() { if let s, s > 0 { want[Int64(d)] = s } }
            var got: [Int64: Double] = [:]
            for h in hits { if case let .int(i) = h.id { got[i] = Double(h.score) } }
            XCTAssertEqual(Set(got.keys), Set(want.keys), "\(what): query \(qi) '\(q)' documents", file: file, line: line)
            for (d, s) in want {
                XCTAssertEqual(got[d] ?? -1, s, accuracy: Self.tolerance, "\(what): query \(qi) '\(q)' document \(d)", file: file, line: line)
            }
            // Best first.
            XCTAssertEqual(hits.map(\.score), hits.map(\.score).sorted(by: >), file: file, line: line)
        }
    }

    func testAnalyzerMakesTheFixtureTokens() throws {
        let f = try fixture()
        let a = try TextAnalyzer(f.options)
        for (i, t) in f.corpus.enumerated() { XCTAssertEqual(a.terms(t), f.corpus_terms[i], "document \(i): \(t)") }
        for (i, q) in f.queries.enumerated() { XCTAssertEqual(a.terms(q), f.query_terms[i], "query \(i): \(q)") }
        XCTAssertEqual(TextAnalyzer.words("don't stop—it’s 2.5 a_b"), ["don't", "stop", "it's", "2", "5", "a_b"])
        // No stop words, no stemming.
        let plain = try TextAnalyzer(FullTextOptions(field: "text", language: nil, stopWords: []))
        XCTAssertEqual(plain.terms("The Runners RUN"), ["the", "runners", "run"])
        XCTAssertThrowsError(try TextAnalyzer(FullTextOptions(field: "text", language: "klingon"))) { e in
            XCTAssertTrue("\(e)".contains("no Snowball stemmer 'klingon'") && "\(e)".contains("english"), "\(e)")
        }
    }

    func testScoresMatchBM25sThroughWritesDeletesRecoveryAndCompaction() async throws {
        let f = try fixture()
        let dir = try makeTempDir(self)
        var store = try VectorStore(path: dir)
        var c = try await store.createCollection("docs", schema: schema())
        // Half the rows before the index is created (built from the stored text), half after (added as written).
        try await c.insert(entities(f, 0..<40))
        try await c.createFullTextIndex(f.options)
        try await c.flush()
        try await c.insert(entities(f, 40..<f.corpus.count))
        XCTAssertEqual(c.fullTextIndexes(), [f.options])
        XCTAssertEqual(c.fullTextStatistics(field: "text")?.documents, f.corpus.count)
        try await assertScores(c, f, expected: f.scores.map { $0.map { Optional($0) } }, "after insert")

        // Deletes leave the statistics (N, avgdl, df) at once.
        let removed = try await c.delete(ids: f.deleted.map { .int(Int64($0)) })
        XCTAssertEqual(removed, f.deleted.count)
        try await assertScores(c, f, expected: f.scores_after_delete, "after delete")

        // A crash (the WAL holds the last inserts and the deletes): rebuilt at open from the stored text.
        let image = NSTemporaryDirectory() + "quiverstore-ft-crash-\(UUID().uuidString.prefix(8))"
        try FileManager.default.copyItem(atPath: dir, toPath: image)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: image) }
        do {
            let crashed = try VectorStore(path: image)
            let c2 = try await crashed.collection("docs")
            XCTAssertEqual(c2.fullTextIndexes(), [f.options])
            try await assertScores(c2, f, expected: f.scores_after_delete, "after crash recovery")
            try await crashed.close()
        }

        // Compaction, close and reopen.
        try await c.compact()
        try await assertScores(c, f, expected: f.scores_after_delete, "after compaction")
        try await store.close()
        store = try VectorStore(path: dir)
        c = try await store.collection("docs")
        try await assertScores(c, f, expected: f.scores_after_delete, "after reopen")

        // Upsert replaces a document's terms; filters and offsets apply.
        try await c.upsert([Entity(id: .int(1), vectors: ["v": [1, 0]], fields: ["text": .string("qubits qubits qubits"), "n": .int(1)])])
        let q = try await c.fullTextSearch("qubits", limit: 5)
        XCTAssertEqual(q.first?.id, .int(1))
        XCTAssertEqual(q.count, 2)
        let filtered = try await c.fullTextSearch("qubits", limit: 5, filter: "n > 1")
        XCTAssertEqual(filtered.map(\.id), [q[1].id])
        let paged = try await c.fullTextSearch("qubits", limit: 5, offset: 1)
        XCTAssertEqual(paged.map(\.id), [q[1].id])
        let stops = try await c.fullTextSearch("the of and", limit: 5)
        XCTAssertEqual(stops.count, 0)

        // Dropped: gone after reopen too.
        let dropped = try await c.dropFullTextIndex(field: "text")
        XCTAssertTrue(dropped)
        await assertStoreError("has no full-text index") { _ = try await c.fullTextSearch("qubits") }
        try await store.close()
        store = try VectorStore(path: dir)
        c = try await store.collection("docs")
        XCTAssertEqual(c.fullTextIndexes(), [])
        try await store.close()
    }

    func testFullTextErrorsNameTheField() async throws {
        let store = try VectorStore(path: try makeTempDir(self))
        let c = try await store.createCollection("docs", schema: schema())
        await assertStoreError("field 'n' is Int64; a full-text index needs a string field") {
            try await c.createFullTextIndex(FullTextOptions(field: "n"))
        }
        await assertStoreError("BM25 b must be between 0 and 1") { try await c.createFullTextIndex(FullTextOptions(field: "text", b: 2)) }
        await assertStoreError("has no full-text index on 'text'") { _ = try await c.fullTextSearch("x", field: "text") }
        // A dynamic field can be indexed.
        try await c.insert([Entity(id: .int(1), vectors: ["v": [0, 0]], fields: ["n": .int(1), "title": .string("Routers and modems")])])
        try await c.createFullTextIndex(FullTextOptions(field: "title"))
        let modem = try await c.fullTextSearch("modem")
        XCTAssertEqual(modem.map(\.id), [.int(1)])
        try await store.close()
    }
}
