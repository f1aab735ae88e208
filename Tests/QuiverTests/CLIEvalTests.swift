import XCTest
import Quiver
import QuiverTestSupport

/// `quiver eval` end to end on the tiny BEIR folder Tests/Fixtures/eval/beir with the installed
/// all-MiniLM-L6-v2: the JSON and table numbers are the library's (`RetrievalEvaluator`), and
/// the library's runs are what the metrics say.
final class CLIEvalTests: XCTestCase {
    static let beir = TestPaths.fixtures.appendingPathComponent("eval/beir")

    private func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let r = try QuiverCLI.run(args)
        return (r.status, r.out, r.err)
    }

    func testEvalJSONAndTableEqualTheLibrary() async throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let dataset = try RetrievalDataset.beir(folder: Self.beir)
        let library = try await RetrievalEvaluator(home: ModelHome(root: TestPaths.modelHome))
            .evaluate(dataset, options: EvaluationOptions(models: ["all-MiniLM-L6-v2"]))
        XCTAssertEqual(library.results.map(\.label), ["bm25", "all-MiniLM-L6-v2 dense", "all-MiniLM-L6-v2 hybrid"])

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-cli-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let chart = dir.appendingPathComponent("eval.svg")
        let json = try run(["eval", "--format", "json", "--model", "all-MiniLM-L6-v2", "--chart", chart.path, Self.beir.path])
        XCTAssertEqual(json.status, 0, json.err)
        XCTAssertTrue(json.err.contains("16 documents, 8 judged queries"), json.err)
        XCTAssertTrue(json.err.contains("embedded 16/16 documents"), "progress on stderr: \(json.err)")
        let object = try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as! [String: Any]
        XCTAssertEqual(object["documents"] as? Int, 16)
        XCTAssertEqual(object["queries"] as? Int, 8)
        let rows = object["results"] as! [[String: Any]]
        XCTAssertEqual(rows.count, library.results.count)
        for (row, lib) in zip(rows, library.results) {
            XCTAssertEqual(row["mode"] as? String, lib.mode)
            XCTAssertEqual(row["model"] as? String, lib.model)
            XCTAssertEqual(row["queries"] as? Int, 8)
            XCTAssertEqual(row["ndcg@10"] as! Double, lib.metrics.ndcg[10]!, accuracy: 1e-12, lib.label)
            XCTAssertEqual(row["mrr@10"] as! Double, lib.metrics.mrr[10]!, accuracy: 1e-12, lib.label)
            for k in [1, 10, 100] { XCTAssertEqual(row["recall@\(k)"] as! Double, lib.metrics.recall[k]!, accuracy: 1e-12, "\(lib.label) R@\(k)") }
        }
        XCTAssertTrue(try String(contentsOf: chart, encoding: .utf8).contains("<svg"))

        let table = try run(["eval", "--quiet", "--model", "all-MiniLM-L6-v2", Self.beir.path])
        XCTAssertEqual(table.status, 0, table.err)
        XCTAssertEqual(table.err, "", "--quiet")
        let lines = table.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2 + library.results.count, table.out)
        XCTAssertEqual(lines[0].split(separator: " ").map(String.init), ["model", "mode", "nDCG@10", "MRR@10", "R@1", "R@10", "R@100", "query", "s"])
        for (line, lib) in zip(lines.dropFirst(2), library.results) {
            let cells = line.split(separator: " ").map(String.init)
            XCTAssertEqual(Array(cells.prefix(2)), [lib.model ?? "-", lib.mode])
            let numbers = cells.dropFirst(2).prefix(5).map { Double($0)! }
            let expected = [lib.metrics.ndcg[10]!, lib.metrics.mrr[10]!, lib.metrics.recall[1]!, lib.metrics.recall[10]!, lib.metrics.recall[100]!]
            for (n, e) in zip(numbers, expected) { XCTAssertEqual(n, e, accuracy: 0.00005, line) }
        }
    }

    /// The library's metrics are those of its runs, and the runs are real retrievals: dense
    /// MiniLM finds the right document for these paraphrased queries, BM25 scores follow the
    /// full-text index, and every query of the set is in each run.
    func testLibraryRunsAreRetrievals() async throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let dataset = try RetrievalDataset.beir(folder: Self.beir)
        let evaluator = RetrievalEvaluator(home: ModelHome(root: TestPaths.modelHome))
        let options = EvaluationOptions(models: ["all-MiniLM-L6-v2"])
        let runs = try await evaluator.runs(dataset, options: options)
        for r in runs {
            XCTAssertEqual(Set(r.run.keys), Set(dataset.queries.map(\.id)), r.mode)
            let m = RetrievalMetrics.evaluate(run: r.run, qrels: dataset.qrels)
            XCTAssertEqual(m.queries, 8)
        }
        let dense = runs.first { $0.mode == "dense" }!
        // The best dense hit of "how do I restart my wifi router?" is the router-reset document.
        XCTAssertEqual(RetrievalMetrics.ranked(dense.run["q1"]!).first, "d01")
        XCTAssertGreaterThan(RetrievalMetrics.evaluate(run: dense.run, qrels: dataset.qrels).ndcg[10]!, 0.8)
        let bm25 = runs.first { $0.mode == "bm25" }!
        // "a query nobody judged" is not evaluated; "tallest mountains" shares only stems with d13/d14.
        XCTAssertNil(bm25.run["q9"])
        XCTAssertEqual(Set(RetrievalMetrics.ranked(bm25.run["q7"]!).prefix(2)), ["d13", "d14"])
    }

    /// `--rerank` adds MODE+rerank runs: the first `rerankDepth` hits of each first-stage run,
    /// reordered by the cross-encoder's scores (the tiny random BertForSequenceClassification fixture).
    func testRerankRunsReorderTheFirstStageByCrossEncoderScores() async throws {
        _ = try TestPaths.model("all-MiniLM-L6-v2")
        let ce = TestPaths.reference.appendingPathComponent("models/tiny-random-cross-encoder")
        let dataset = try RetrievalDataset.beir(folder: Self.beir)
        var options = EvaluationOptions(models: ["all-MiniLM-L6-v2"])
        options.modes = [.dense]
        options.rerank = ce.path
        options.rerankDepth = 5
        let runs = try await RetrievalEvaluator(home: ModelHome(root: TestPaths.modelHome)).runs(dataset, options: options)
        XCTAssertEqual(runs.map(\.mode), ["dense", "dense+rerank"])
        let encoder = try CrossEncoder(folder: ce)
        let content = Dictionary(uniqueKeysWithValues: dataset.documents.map { ($0.id, $0.content) })
        for q in dataset.queries {
            let first = Array(RetrievalMetrics.ranked(runs[0].run[q.id]!).prefix(5))
            let scores = try encoder.scores(first.map { (query: q.text, document: content[$0]!) })
            let expected = zip(first, scores).sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 > $1.0 }.map { $0.0 }
            XCTAssertEqual(Array(RetrievalMetrics.ranked(runs[1].run[q.id]!).prefix(5)), expected, q.id)
            XCTAssertEqual(runs[1].run[q.id]!.count, runs[0].run[q.id]!.count, "the hits below the depth stay")
        }
    }
}
