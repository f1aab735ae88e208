import XCTest
import Quiver
import QuiverTestSupport

/// `RetrievalMetrics` against pytrec_eval (trec_eval 9) on the committed fixture
/// Tests/Fixtures/eval/metrics.json (made by scripts/fixtures/make_eval_fixture.py): every
/// per-query value and every mean within 1e-6 (the tolerance of this parity test; the arithmetic
/// is the same, so the differences seen are rounding, ~1e-16).
final class EvaluationMetricsTests: XCTestCase {
    struct Case: Decodable {
        var qrels: [String: [String: Int]]
        var run: [String: [String: Double]]
        var per_query: [String: [String: Double]]
        var mean: [String: Double]
        var queries: Int
    }
    struct Fixture: Decodable { var beir: Case; var synthetic: Case }

    static let tolerance = 1e-6

    private func fixture() throws -> Fixture {
        let data = try Data(contentsOf: TestPaths.fixtures.appendingPathComponent("eval/metrics.json"))
        return try JSONDecoder().decode(Fixture.self, from: data)
    }

    private func check(_ c: Case, _ name: String) {
        let per = RetrievalMetrics.perQuery(run: c.run, qrels: c.qrels, ndcgAt: [10], recallAt: [1, 10, 100], mrrAt: [10])
        XCTAssertEqual(Set(per.keys), Set(c.per_query.keys), "\(name): the evaluated queries are pytrec_eval's")
        for (q, expected) in c.per_query {
            guard let m = per[q] else { continue }
            XCTAssertEqual(m.ndcg[10]!, expected["ndcg@10"]!, accuracy: Self.tolerance, "\(name) \(q) nDCG@10")
            XCTAssertEqual(m.mrr[10]!, expected["mrr@10"]!, accuracy: Self.tolerance, "\(name) \(q) MRR@10")
            for k in [1, 10, 100] {
                XCTAssertEqual(m.recall[k]!, expected["recall@\(k)"]!, accuracy: Self.tolerance, "\(name) \(q) recall@\(k)")
            }
        }
        let mean = RetrievalMetrics.evaluate(run: c.run, qrels: c.qrels, ndcgAt: [10], recallAt: [1, 10, 100], mrrAt: [10])
        XCTAssertEqual(mean.queries, c.queries)
        XCTAssertEqual(mean.ndcg[10]!, c.mean["ndcg@10"]!, accuracy: Self.tolerance, "\(name) mean nDCG@10")
        XCTAssertEqual(mean.mrr[10]!, c.mean["mrr@10"]!, accuracy: Self.tolerance, "\(name) mean MRR@10")
        for k in [1, 10, 100] {
            XCTAssertEqual(mean.recall[k]!, c.mean["recall@\(k)"]!, accuracy: Self.tolerance, "\(name) mean recall@\(k)")
        }
    }

    /// Ties, an empty ranking (evaluated: zeros), a judged query missing from the run and an
    /// unjudged query of the run (both left out).
    func testHandwrittenRunMatchesPytrecEval() throws { check(try fixture().beir, "beir") }

    /// 30 random queries with graded judgments and many tied scores.
    func testRandomRunsMatchPytrecEval() throws { check(try fixture().synthetic, "synthetic") }

    /// trec_eval's order: score descending, equal scores by document id descending.
    func testTiesAreBrokenByDocumentIDDescending() {
        XCTAssertEqual(RetrievalMetrics.ranked(["d05": 0.6, "d06": 0.6, "d02": 0.6, "d10": 0.9]), ["d10", "d06", "d05", "d02"])
    }

    /// The BEIR loader reads the fixture folder; queries without judgments are dropped.
    func testBEIRFolderLoads() throws {
        let d = try RetrievalDataset.beir(folder: TestPaths.fixtures.appendingPathComponent("eval/beir"))
        XCTAssertEqual(d.documents.count, 16)
        XCTAssertEqual(d.queries.map(\.id), ["q1", "q2", "q3", "q4", "q5", "q6", "q7", "q8"])
        XCTAssertEqual(d.qrels["q1"], ["d01": 2, "d02": 1])
        XCTAssertEqual(d.documents[0].content, "Router To reset a home router, unplug it for ten seconds and plug it back in.")
        XCTAssertEqual(d.documents[6].content, "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen.")
    }

    /// A folder of files with TSV queries and TREC qrels; a judgment of a missing file is an
    /// error naming the query and the document.
    func testFolderOfFilesWithTRECQrels() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-eval-folder-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let docs = dir.appendingPathComponent("docs/sub")
        try FileManager.default.createDirectory(at: docs, withIntermediateDirectories: true)
        try "Unplug the router for ten seconds.".write(to: dir.appendingPathComponent("docs/router.txt"), atomically: true, encoding: .utf8)
        try "Bake the bread at 220 degrees.".write(to: docs.appendingPathComponent("bread.txt"), atomically: true, encoding: .utf8)
        let queries = dir.appendingPathComponent("queries.tsv"), qrels = dir.appendingPathComponent("qrels.txt")
        try "1\treset my router\n2\tbaking\n".write(to: queries, atomically: true, encoding: .utf8)
        try "1 0 router.txt 1\n2 0 sub/bread.txt 1\n".write(to: qrels, atomically: true, encoding: .utf8)
        let d = try RetrievalDataset.folder(dir.appendingPathComponent("docs"), queries: queries, qrels: qrels)
        XCTAssertEqual(d.documents.map(\.id), ["router.txt", "sub/bread.txt"])
        XCTAssertEqual(d.qrels["2"], ["sub/bread.txt": 1])

        try "1 0 router.txt 1\n2 0 bread.txt 1\n".write(to: qrels, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try RetrievalDataset.folder(dir.appendingPathComponent("docs"), queries: queries, qrels: qrels)) { e in
            XCTAssertTrue("\(e)".contains("query 2 judges document bread.txt, which is not in the corpus"), "\(e)")
        }
    }

    /// The chart is a real PNG (signature, IHDR size) and a real SVG document.
    func testChartWritesPNGAndSVG() throws {
        let m = RetrievalMetrics(ndcg: [10: 0.5], recall: [1: 0.25, 10: 0.75], mrr: [10: 0.6], queries: 4)
        let report = EvaluationReport(documents: 10, queries: 4, reranker: nil, results: [
            EvaluationResult(model: "a", mode: "dense", metrics: m, querySeconds: 0.1),
            EvaluationResult(model: nil, mode: "bm25", metrics: m, querySeconds: 0.1),
        ])
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-chart-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("c.png"), svg = dir.appendingPathComponent("c.svg")
        try EvaluationChart.write(report, to: png)
        try EvaluationChart.write(report, to: svg)
        let p = [UInt8](try Data(contentsOf: png))
        XCTAssertEqual(Array(p.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        let width = p[16..<20].reduce(0) { $0 << 8 | Int($1) }
        XCTAssertEqual(width, 640)
        let s = try String(contentsOf: svg, encoding: .utf8)
        XCTAssertTrue(s.contains("<svg"), String(s.prefix(200)))
        XCTAssertThrowsError(try EvaluationChart.write(report, to: dir.appendingPathComponent("c.jpg")))
    }
}
