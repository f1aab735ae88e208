import ArgumentParser
import Foundation
import Quiver

/// `quiver eval`: compares text models and search modes on a retrieval test set.
struct EvalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Measure which model and search mode retrieve best on your own judged queries.",
        discussion: """
        DATASET is a BEIR folder: corpus.jsonl ({"_id", "title", "text"}), queries.jsonl \
        ({"_id", "text"}) and qrels/test.tsv (query-id, corpus-id, score; --split picks another \
        qrels file). Or give --docs FOLDER (each file one document, its id the path relative to \
        the folder; PDF/DOCX/ODT/EPUB/HTML as their text), --queries FILE (queries.jsonl, or TSV \
        `id<TAB>text`) and --qrels FILE (BEIR TSV or TREC `qid 0 docid rel`).

        The corpus is embedded with each --model into a temporary embedded store (passage prompt, \
        documents truncated at the model's limit as sentence-transformers does; progress on \
        stderr) with a BM25 index, and every query is run in each --mode: dense, bm25 (once: it \
        uses no model) and hybrid (RRF, k = 60). --rerank MODEL adds `MODE+rerank` runs: the \
        cross-encoder rescores the first --rerank-depth hits of each.

        Metrics are trec_eval's (as pytrec_eval and BEIR compute them): nDCG@10 with linear \
        gains, MRR@10 (reciprocal rank of the first relevant hit in the first 10), recall@k \
        (--recall-at, default 1,10,100); a document is relevant with a grade of 1 or more; ties \
        in score are broken by document id, descending, as trec_eval does.

        Examples:
          quiver eval --model all-MiniLM-L6-v2 --model all-mpnet-base-v2 ~/beir/scifact
          quiver eval --mode dense --mode hybrid --rerank cross-encoder/ms-marco-MiniLM-L6-v2 ~/beir/scifact
          quiver eval --docs notes/ --queries queries.tsv --qrels qrels.tsv --chart eval.svg
        """)

    enum Format: String, ExpressibleByArgument { case table, json }

    @Argument(help: "A BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv).") var dataset: String?
    @Option(help: "BEIR qrels split (qrels/SPLIT.tsv).") var split: String = "test"
    @Option(help: "A folder of files as the corpus (with --queries and --qrels).") var docs: String?
    @Option(help: "With --docs: queries.jsonl or TSV lines `id<TAB>text`.") var queries: String?
    @Option(help: "With --docs: judgments, BEIR TSV or TREC qrels.") var qrels: String?
    @Option(help: "A text model to evaluate (catalog name, hub id or folder); repeatable.") var model: [String] = []
    @Option(help: "A search mode: dense, bm25 or hybrid; repeatable (default: all three).") var mode: [SearchModeArgument] = []
    @Option(help: "A cross-encoder that reranks each mode's hits (adds MODE+rerank runs).") var rerank: String?
    @Option(help: "With --rerank: hits rescored per query.") var rerankDepth: Int = 50
    @Option(help: "Recall cutoffs, comma-separated.") var recallAt: String = "1,10,100"
    @Option(help: "Output: table (default) or json.") var format: Format = .table
    @Option(help: "Also draw a bar chart of the metrics to this .png or .svg file (cairo).") var chart: String?
    @Flag(help: "No progress messages on stderr.") var quiet = false

    func validate() throws {
        if dataset == nil {
            guard docs != nil, queries != nil, qrels != nil else {
                throw ValidationError("give a BEIR folder, or --docs FOLDER with --queries FILE and --qrels FILE")
            }
        } else if docs != nil || queries != nil || qrels != nil {
            throw ValidationError("give either a BEIR folder or --docs/--queries/--qrels, not both")
        }
        _ = try cutoffs()
        guard rerankDepth >= 1 else { throw ValidationError("--rerank-depth must be at least 1") }
        if let chart, EvaluationChart.format(for: URL(fileURLWithPath: chart)) == nil {
            throw ValidationError("--chart \(chart): the file must end in .png or .svg")
        }
    }

    func cutoffs() throws -> [Int] {
        let ks = recallAt.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ks.isEmpty, ks.allSatisfy({ ($0 ?? 0) >= 1 }) else { throw ValidationError("--recall-at \(recallAt): expected positive integers, e.g. 1,10,100") }
        return ks.map { $0! }
    }

    func run() async throws {
        let data: RetrievalDataset
        if let dataset {
            data = try RetrievalDataset.beir(folder: URL(fileURLWithPath: dataset), split: split)
        } else {
            data = try RetrievalDataset.folder(URL(fileURLWithPath: docs!), queries: URL(fileURLWithPath: queries!), qrels: URL(fileURLWithPath: qrels!))
        }
        var options = EvaluationOptions(models: model.isEmpty ? ["all-MiniLM-L6-v2"] : model)
        if !mode.isEmpty { options.modes = mode.map(\.mode) }
        options.rerank = rerank
        options.rerankDepth = rerankDepth
        options.recallAt = try cutoffs()
        let quiet = self.quiet
        if !quiet { FileHandle.standardError.write(Data("\(data.documents.count) documents, \(data.queries.count) judged queries\n".utf8)) }
        var progress: (@Sendable (String) -> Void)? = nil
        if !quiet {
            progress = { @Sendable (line: String) in FileHandle.standardError.write(Data((line + "\n").utf8)) }
        }
        let evaluator = RetrievalEvaluator(progress: progress)
        let report = try await evaluator.evaluate(data, options: options)
        if let chart {
            try EvaluationChart.write(report, to: URL(fileURLWithPath: chart))
            if !quiet { FileHandle.standardError.write(Data("chart written to \(chart)\n".utf8)) }
        }
        switch format {
        case .table: print(Self.table(report), terminator: "")
        case .json: print(Self.json(report))
        }
    }

    /// A fixed-width table: model, mode, each metric to 4 decimals, query time.
    static func table(_ report: EvaluationReport) -> String {
        let cols = EvaluationChart.columns(report)
        let header = ["model", "mode"] + cols.map(\.name) + ["query s"]
        let rows = report.results.map { r in
            [r.model ?? "-", r.mode] + cols.map { String(format: "%.4f", $0.value(r.metrics)) } + [String(format: "%.2f", r.querySeconds)]
        }
        let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return i < 2 ? c + pad : pad + c
            }.joined(separator: "  ") + "\n"
        }
        return line(header) + line(widths.map { String(repeating: "-", count: $0) }) + rows.map(line).joined()
    }

    /// `{"documents", "queries", "reranker", "results": [{"model", "mode", "ndcg@10", "mrr@10", "recall@k", "queries", "query_seconds"}]}`.
    static func json(_ report: EvaluationReport) -> String {
        let results: [[String: Any]] = report.results.map { r in
            var o: [String: Any] = ["model": r.model ?? NSNull(), "mode": r.mode, "queries": r.metrics.queries, "query_seconds": r.querySeconds]
            for (k, v) in r.metrics.ndcg { o["ndcg@\(k)"] = v }
            for (k, v) in r.metrics.mrr { o["mrr@\(k)"] = v }
            for (k, v) in r.metrics.recall { o["recall@\(k)"] = v }
            return o
        }
        let top: [String: Any] = ["documents": report.documents, "queries": report.queries, "reranker": report.reranker ?? NSNull(), "results": results]
        let data = try! JSONSerialization.data(withJSONObject: top, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
