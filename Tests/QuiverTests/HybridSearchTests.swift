import XCTest
@testable import Quiver
import QuiverStore
import QuiverTestSupport

/// Search modes (dense, bm25, hybrid) and the fusions, over a small text folder ingested with
/// all-MiniLM-L6-v2.
final class HybridSearchTests: XCTestCase {
    func testReciprocalRankFusion() {
        let a: [(key: String, score: Float)] = [("a", 0.9), ("b", 0.8), ("c", 0.1)]
        let b: [(key: String, score: Float)] = [("c", 12), ("a", 3), ("d", 1)]
        let fused = RankFusion.fuse([a, b], .rrf)
        let want: [String: Double] = ["a": 1.0 / 61 + 1.0 / 62, "b": 1.0 / 62, "c": 1.0 / 63 + 1.0 / 61, "d": 1.0 / 63]
        XCTAssertEqual(fused.map(\.key), ["a", "c", "b", "d"])
        for f in fused { XCTAssertEqual(f.score, want[f.key]!, accuracy: 1e-12) }
        // k changes the weights of the ranks.
        let k1 = RankFusion.fuse([a, b], .reciprocalRank(k: 1))
        XCTAssertEqual(k1.first { $0.key == "c" }!.score, 1.0 / 4 + 1.0 / 2, accuracy: 1e-12)
    }

    func testWeightedFusionNormalizesEachList() {
        let a: [(key: String, score: Float)] = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
        let b: [(key: String, score: Float)] = [("c", 12), ("a", 2), ("d", 2)]
        let fused = Dictionary(uniqueKeysWithValues: RankFusion.fuse([a, b], .weighted([0.7, 0.3])).map { ($0.key, $0.score) })
        // min-max: a → 1 and 0, b → 0.5, c → 0 and 1, d → 0.
        XCTAssertEqual(fused["a"]!, 0.7, accuracy: 1e-6)
        XCTAssertEqual(fused["b"]!, 0.35, accuracy: 1e-6)
        XCTAssertEqual(fused["c"]!, 0.3, accuracy: 1e-6)
        XCTAssertEqual(fused["d"]!, 0, accuracy: 1e-6)
        // Milvus' arctan normalization: COSINE 0.5 + atan(s)/π, BM25 2·atan(s)/π.
        let m = Dictionary(uniqueKeysWithValues: RankFusion.fuse([a, b], .weighted([1, 1], normalization: .arctan([.cosine, nil]))).map { ($0.key, $0.score) })
        XCTAssertEqual(m["a"]!, 0.5 + atan(Double(Float(0.9))) / .pi + 2 * atan(2.0) / .pi, accuracy: 1e-6)
        XCTAssertEqual(m["d"]!, 2 * atan(2.0) / .pi, accuracy: 1e-6)
    }

    var dir: URL!
    var home: ModelHome!

    override func tearDownWithError() throws { if let dir { try? FileManager.default.removeItem(at: dir) } }

    func makeFolder() throws -> String {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        home = ModelHome(root: TestPaths.modelHome)
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-hybrid-\(UUID().uuidString)")
        let docs = dir.appendingPathComponent("docs")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        let texts = [
            "cat.txt": "The cat curled up on the warm windowsill and purred in the sun.",
            "weevil.txt": "Zyzzyva is a genus of tropical weevils found in South America.",
            "finance.txt": "Stock prices fell sharply after the central bank raised interest rates.",
            "recipe.txt": "Add the flour and sugar, then bake the cake for forty minutes.",
            "router.txt": "To reset the router, unplug it for ten seconds and plug it back in.",
        ]
        for (name, text) in texts { try text.write(to: docs.appendingPathComponent(name), atomically: true, encoding: .utf8) }
        return docs.path
    }

    func testModesOverAnIngestedFolder() async throws {
        let docs = try makeFolder()
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        _ = try await Ingestor(store: store, home: home).ingest([docs])
        let c = try await store.collection("quiver_text")
        XCTAssertEqual(c.fullTextIndexes(), [IngestOptions.defaultFullText], "ingest makes the BM25 index")
        let searcher = Searcher(store: store, home: home)
        let hasIndex = try await searcher.hasFullTextIndex()
        XCTAssertTrue(hasIndex)

        // bm25: exactly the collection's BM25 hits.
        let query = "zyzzyva weevils"
        let bm25 = try await searcher.search(text: query, limit: 5, mode: .bm25)
        let raw = try await c.fullTextSearch(query, field: "text", limit: 5)
        XCTAssertEqual(bm25.results.map(\.id), raw.map { $0.id.description })
        XCTAssertEqual(bm25.results.map(\.score), raw.map(\.score))
        XCTAssertTrue(bm25.results.first?.path.hasSuffix("weevil.txt") == true)

        // hybrid (the default with an index): RRF of the dense and BM25 lists.
        let dense = try await searcher.search(text: query, limit: 50)
        let bmDeep = try await c.fullTextSearch(query, field: "text", limit: 50)
        let hybrid = try await searcher.search(text: query, limit: 5, mode: nil)
        var want: [String: Double] = [:]
        for (i, r) in dense.results.enumerated() { want[r.id, default: 0] += 1 / (60 + Double(i + 1)) }
        for (i, h) in bmDeep.enumerated() { want[h.id.description, default: 0] += 1 / (60 + Double(i + 1)) }
        XCTAssertEqual(hybrid.results.count, 5)
        for r in hybrid.results { XCTAssertEqual(Double(r.score), want[r.id]!, accuracy: 1e-6, r.id) }
        XCTAssertEqual(hybrid.results.map(\.score), hybrid.results.map(\.score).sorted(by: >))
        XCTAssertTrue(hybrid.results.first?.path.hasSuffix("weevil.txt") == true)
        XCTAssertEqual(hybrid.results.map(\.rank), [1, 2, 3, 4, 5])
        // dense: as search(text:).
        let d = try await searcher.search(text: query, limit: 5, mode: .dense)
        XCTAssertEqual(d.results.map(\.id), Array(dense.results.prefix(5)).map(\.id))
        // A filter applies to both lists.
        let filtered = try await searcher.search(text: query, limit: 5, filter: "path like \"%router%\"", mode: .hybrid)
        XCTAssertEqual(filtered.results.map(\.path).map { URL(fileURLWithPath: $0).lastPathComponent }, ["router.txt"])
        // Modalities without text rows: the automatic mode is dense (no BM25 error).
        do {
            _ = try await searcher.search(text: query, modalities: [.image], mode: nil)
            XCTFail("no image collection")
        } catch let e as QuiverError {
            XCTAssertFalse(e.description.contains("BM25"), e.description)
        }
        let textOnly = try await searcher.search(text: query, limit: 5, modalities: [.text], mode: nil)
        XCTAssertEqual(textOnly.results.map(\.id), hybrid.results.map(\.id))
        try await store.close()
    }

    func testWithoutTheIndexDenseIsTheDefaultAndBM25SaysWhatToDo() async throws {
        let docs = try makeFolder()
        let store = try VectorStore(path: dir.appendingPathComponent("db").path)
        var options = IngestOptions(collection: "plain")
        options.fullText = false
        _ = try await Ingestor(store: store, options: options, home: home).ingest([docs])
        let searcher = Searcher(store: store, collection: "plain", home: home)
        let auto = try await searcher.search(text: "bake a cake", limit: 3, mode: nil)
        let dense = try await searcher.search(text: "bake a cake", limit: 3)
        XCTAssertEqual(auto.results.map(\.id), dense.results.map(\.id))
        XCTAssertEqual(auto.results.map(\.score), dense.results.map(\.score))
        do {
            _ = try await searcher.search(text: "bake", mode: .bm25)
            XCTFail("bm25 without an index")
        } catch let e as QuiverError {
            XCTAssertTrue(e.description.contains("plain_text has no BM25 index"), e.description)
        }
        try await store.close()
    }
}
