import Foundation

/// A retrieval run: query id → document id → score (higher is better), as pytrec_eval takes it.
public typealias RetrievalRun = [String: [String: Double]]

/// Mean retrieval metrics over the evaluated queries, computed as trec_eval (and so pytrec_eval
/// and BEIR's `EvaluateRetrieval.evaluate`) does:
///
/// - each query's documents are ranked by score, highest first, ties by document id in
///   *descending* byte order (trec_eval's rule), whatever order the run lists them in;
/// - a document is relevant when its grade is ≥ 1; unjudged documents count as not relevant;
/// - `recall@k`: relevant documents in the first k ÷ all relevant documents of the query
///   (0 when it has none);
/// - `nDCG@k` (trec_eval `ndcg_cut`): Σ grade / log2(rank + 1) over the first k, divided by the
///   same sum for the judged documents ordered by grade (0 when that is 0) — linear gains;
/// - `MRR@k`: 1 / rank of the first relevant document within the first k (0 when none), i.e.
///   trec_eval's `recip_rank` on the run cut at k (BEIR's `mrr` up to its rounding to 5 places);
/// - queries are those of the run that have judgments (pytrec_eval's rule); the means are over them.
public struct RetrievalMetrics: Sendable, Hashable, Codable {
    /// nDCG at each cutoff.
    public var ndcg: [Int: Double]
    /// Recall at each cutoff.
    public var recall: [Int: Double]
    /// Mean reciprocal rank at each cutoff.
    public var mrr: [Int: Double]
    /// Number of queries the means are over.
    public var queries: Int

    /// The metrics of one query's ranking, or the means of several (see the type's description).
    public init(ndcg: [Int: Double], recall: [Int: Double], mrr: [Int: Double], queries: Int) {
        self.ndcg = ndcg; self.recall = recall; self.mrr = mrr; self.queries = queries
    }

    /// The ranking trec_eval evaluates: score descending, ties by document id descending.
    public static func ranked(_ scores: [String: Double]) -> [String] {
        scores.sorted { a, b in a.value != b.value ? a.value > b.value : b.key.utf8.lexicographicallyPrecedes(a.key.utf8) }
            .map(\.key)
    }

    /// The metrics of one query: `scores` of the retrieved documents against `judgments` (document → grade).
    public static func query(_ scores: [String: Double], judgments: [String: Int], ndcgAt: [Int], recallAt: [Int], mrrAt: [Int]) -> RetrievalMetrics {
        let ranking = ranked(scores)
        let grades = ranking.map { max(0, judgments[$0] ?? 0) }
        let relevantCount = judgments.values.filter { $0 >= 1 }.count
        var ndcg: [Int: Double] = [:], recall: [Int: Double] = [:], mrr: [Int: Double] = [:]
        let ideal = judgments.values.filter { $0 > 0 }.sorted(by: >)
        for k in ndcgAt {
            var dcg = 0.0, idcg = 0.0
            for (i, g) in grades.prefix(k).enumerated() where g > 0 { dcg += Double(g) / log2(Double(i + 2)) }
            for (i, g) in ideal.prefix(k).enumerated() { idcg += Double(g) / log2(Double(i + 2)) }
            ndcg[k] = idcg > 0 ? dcg / idcg : 0
        }
        for k in recallAt {
            let hit = grades.prefix(k).filter { $0 >= 1 }.count
            recall[k] = relevantCount > 0 ? Double(hit) / Double(relevantCount) : 0
        }
        for k in mrrAt {
            mrr[k] = grades.prefix(k).firstIndex { $0 >= 1 }.map { 1 / Double($0 + 1) } ?? 0
        }
        return RetrievalMetrics(ndcg: ndcg, recall: recall, mrr: mrr, queries: 1)
    }

    /// Per-query metrics of the queries of `run` that have judgments in `qrels`.
    public static func perQuery(run: RetrievalRun, qrels: [String: [String: Int]], ndcgAt: [Int] = [10], recallAt: [Int] = [1, 10, 100],
                                mrrAt: [Int] = [10]) -> [String: RetrievalMetrics] {
        var out: [String: RetrievalMetrics] = [:]
        for (q, scores) in run {
            guard let j = qrels[q] else { continue }
            out[q] = query(scores, judgments: j, ndcgAt: ndcgAt, recallAt: recallAt, mrrAt: mrrAt)
        }
        return out
    }

    /// Mean metrics of `run` against `qrels` (the queries of the run that have judgments).
    public static func evaluate(run: RetrievalRun, qrels: [String: [String: Int]], ndcgAt: [Int] = [10], recallAt: [Int] = [1, 10, 100],
                                mrrAt: [Int] = [10]) -> RetrievalMetrics {
        mean(Array(perQuery(run: run, qrels: qrels, ndcgAt: ndcgAt, recallAt: recallAt, mrrAt: mrrAt).values),
             ndcgAt: ndcgAt, recallAt: recallAt, mrrAt: mrrAt)
    }

    /// Means of per-query metrics (0 for every cutoff when there are none).
    static func mean(_ all: [RetrievalMetrics], ndcgAt: [Int], recallAt: [Int], mrrAt: [Int]) -> RetrievalMetrics {
        func avg(_ key: KeyPath<RetrievalMetrics, [Int: Double]>, _ k: Int) -> Double {
            all.isEmpty ? 0 : all.map { $0[keyPath: key][k] ?? 0 }.reduce(0, +) / Double(all.count)
        }
        return RetrievalMetrics(ndcg: Dictionary(uniqueKeysWithValues: ndcgAt.map { ($0, avg(\.ndcg, $0)) }),
                                recall: Dictionary(uniqueKeysWithValues: recallAt.map { ($0, avg(\.recall, $0)) }),
                                mrr: Dictionary(uniqueKeysWithValues: mrrAt.map { ($0, avg(\.mrr, $0)) }),
                                queries: all.count)
    }
}
