import Foundation
import QuiverStore

/// What `RetrievalEvaluator` runs.
public struct EvaluationOptions: Sendable {
    /// Text models to compare (catalog names, hub ids or folders); each embeds the whole corpus.
    public var models: [String]
    /// First-stage retrievals: dense (each model), bm25 (once: it uses no model), hybrid (each model).
    public var modes: [SearchMode] = [.dense, .bm25, .hybrid]
    /// A cross-encoder that rescores the first `rerankDepth` hits of every first-stage run (adding
    /// runs named `<mode>+rerank`); nil: no reranking.
    public var rerank: String? = nil
    /// Hits of a first-stage run the cross-encoder rescores; the hits below keep their order after them.
    public var rerankDepth: Int = 50
    /// How hybrid fuses the dense and BM25 lists (RRF k = 60 by default, as `quiver search`).
    public var fusion: Fusion = .rrf
    /// Cutoffs of nDCG, recall and MRR.
    public var ndcgAt: [Int] = [10]
    /// Recall cutoffs.
    public var recallAt: [Int] = [1, 10, 100]
    /// MRR cutoffs.
    public var mrrAt: [Int] = [10]
    /// Texts per embedding batch.
    public var batchSize: Int = 64
    /// Worker threads (default: all cores).
    public var threads: Int? = nil
    /// Options comparing `models` in dense, bm25 and hybrid search.
    public init(models: [String]) { self.models = models }

    /// Hits retrieved per query: the largest cutoff (and at least 50 per list for hybrid, as `quiver search`).
    public var depth: Int { max(1, (ndcgAt + recallAt + mrrAt).max() ?? 10) }
}

/// One evaluated run: a model (nil for bm25) in a mode, and its metrics.
public struct EvaluationResult: Sendable, Codable, Hashable {
    /// The embedding model (nil for BM25, which uses none).
    public var model: String?
    /// `dense`, `bm25`, `hybrid`, or one of them followed by `+rerank`.
    public var mode: String
    /// Mean metrics over the queries.
    public var metrics: RetrievalMetrics
    /// Wall time of the queries of this run (embedding the queries, searching, reranking), in seconds.
    public var querySeconds: Double
    /// A short label: `model mode` (or the mode alone for bm25).
    public var label: String { model.map { "\($0) \(mode)" } ?? mode }

    /// A result; see the properties.
    public init(model: String?, mode: String, metrics: RetrievalMetrics, querySeconds: Double) {
        self.model = model; self.mode = mode; self.metrics = metrics; self.querySeconds = querySeconds
    }
}

/// What `RetrievalEvaluator.evaluate` measured.
public struct EvaluationReport: Sendable, Codable, Hashable {
    /// Documents in the corpus.
    public var documents: Int
    /// Queries evaluated.
    public var queries: Int
    /// The cross-encoder used for `+rerank` runs, if any.
    public var reranker: String?
    /// One result per (model, mode), in the order run.
    public var results: [EvaluationResult]

    /// A report; see the properties.
    public init(documents: Int, queries: Int, reranker: String?, results: [EvaluationResult]) {
        self.documents = documents; self.queries = queries; self.reranker = reranker; self.results = results
    }
}

/// Measures retrieval quality on a test set (`RetrievalDataset`): builds a temporary embedded
/// store with one collection per model (the corpus embedded with the model's passage prompt and
/// a BM25 index on the text), runs every query in every mode (queries with the query prompt), and
/// scores the rankings with `RetrievalMetrics` (trec_eval's definitions).
///
/// Each document is embedded whole, truncated at the model's token limit as sentence-transformers
/// (and BEIR) do; documents longer than that are judged on their beginning.
public final class RetrievalEvaluator: Sendable {
    let home: ModelHome
    let progress: (@Sendable (String) -> Void)?

    /// An evaluator loading models from `home`; `progress` receives one-line status messages.
    public init(home: ModelHome = .fromEnvironment(), progress: (@Sendable (String) -> Void)? = nil) {
        self.home = home; self.progress = progress
    }

    /// Runs `options` on `dataset`.
    /// - Throws: `QuiverError.invalidEvaluation` without a model for dense or hybrid; model loading
    ///   errors; store errors (the temporary store is removed in any case).
    public func evaluate(_ dataset: RetrievalDataset, options: EvaluationOptions) async throws -> EvaluationReport {
        let runs = try await self.runs(dataset, options: options)
        let results = runs.map { r in
            EvaluationResult(model: r.model, mode: r.mode,
                             metrics: RetrievalMetrics.evaluate(run: r.run, qrels: dataset.qrels, ndcgAt: options.ndcgAt,
                                                                recallAt: options.recallAt, mrrAt: options.mrrAt),
                             querySeconds: r.seconds)
        }
        return EvaluationReport(documents: dataset.documents.count, queries: dataset.queries.count, reranker: options.rerank, results: results)
    }

    /// One run's rankings: query id → document id → score.
    public struct Run: Sendable {
        /// The embedding model (nil for bm25).
        public var model: String?
        /// The mode (`dense`, `bm25`, `hybrid`, `…+rerank`).
        public var mode: String
        /// The scores of the retrieved documents per query.
        public var run: RetrievalRun
        /// Query wall time, seconds.
        public var seconds: Double
    }

    /// The rankings of every (model, mode) of `options` on `dataset`, before scoring.
    public func runs(_ dataset: RetrievalDataset, options: EvaluationOptions) async throws -> [Run] {
        guard !options.modes.isEmpty else { throw QuiverError.invalidEvaluation(reason: "no search mode to run") }
        guard !options.models.isEmpty else {
            throw QuiverError.invalidEvaluation(reason: "give at least one text model (--model); BM25 alone also needs one to build the index collection")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("quiver-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let store = try VectorStore(path: dir.path)
        let reranker = try options.rerank.map { try CrossEncoder(model: $0, home: home) }
        let depth = options.depth
        let listDepth = options.modes.contains(.hybrid) ? max(depth, 50) : depth
        let queries = dataset.queries
        let wantsBM25 = options.modes.contains(.bm25) || options.modes.contains(.hybrid)
        var out: [Run] = []
        var bm25Lists: [[(key: String, score: Float)]] = []
        var bm25Seconds = 0.0
        do {
            for (mi, name) in options.models.enumerated() {
                let embedder = try TextEmbedder(model: name, home: home)
                let collection = try await build(store: store, name: "eval_\(mi)", embedder: embedder, dataset: dataset, options: options,
                                                 fullText: mi == 0 && wantsBM25)
                if mi == 0 && wantsBM25 {
                    // BM25 uses no model: its lists are made once, on the first collection.
                    let started = Date()
                    progress?("bm25: \(queries.count) queries")
                    for q in queries {
                        bm25Lists.append(try await collection.fullTextSearch(q.text, field: "text", limit: listDepth, outputFields: [])
                            .map { (key: $0.id.description, score: $0.score) })
                    }
                    bm25Seconds = Date().timeIntervalSince(started)
                    if options.modes.contains(.bm25) {
                        let lists = bm25Lists.map { Array($0.prefix(depth)).map { (key: $0.key, score: Double($0.score)) } }
                        out += try finish(model: nil, mode: .bm25, lists: lists, started: started, queries: queries, dataset: dataset,
                                          reranker: reranker, options: options)
                    }
                }
                var denseLists: [[(key: String, score: Double)]]? = nil
                var denseSeconds = 0.0
                for mode in options.modes where mode != .bm25 {
                    // Query time: the dense lists (made once per model) and, for hybrid, the BM25 lists.
                    var started = Date().addingTimeInterval(-(denseSeconds + (mode == .hybrid ? bm25Seconds : 0)))
                    if denseLists == nil {
                        progress?("\(embedder.modelName): embedding \(queries.count) queries and searching")
                        denseLists = try await dense(embedder, collection, queries, limit: listDepth, options: options)
                        denseSeconds = Date().timeIntervalSince(started)
                        started = Date().addingTimeInterval(-(denseSeconds + (mode == .hybrid ? bm25Seconds : 0)))
                    }
                    let lists: [[(key: String, score: Double)]]
                    if mode == .dense {
                        lists = denseLists!.map { Array($0.prefix(depth)) }
                    } else {
                        lists = zip(denseLists!, bm25Lists).map { d, b in
                            RankFusion.fuse([d.map { (key: $0.key, score: Float($0.score)) }, b], options.fusion).prefix(depth).map { $0 }
                        }
                    }
                    out += try finish(model: embedder.modelName, mode: mode, lists: lists, started: started, queries: queries,
                                      dataset: dataset, reranker: reranker, options: options)
                }
                try await store.dropCollection("eval_\(mi)")
            }
        } catch {
            try? await store.close()
            throw error
        }
        try await store.close()
        return out
    }

    /// The run of `lists` and, with a reranker, its reranked run.
    private func finish(model: String?, mode: SearchMode, lists: [[(key: String, score: Double)]], started: Date,
                        queries: [RetrievalDataset.Query], dataset: RetrievalDataset, reranker: CrossEncoder?,
                        options: EvaluationOptions) throws -> [Run] {
        var runs = [Run(model: model, mode: mode.rawValue, run: Self.run(queries, lists), seconds: Date().timeIntervalSince(started))]
        if let reranker {
            let t = Date()
            progress?("\(model.map { "\($0) " } ?? "")\(mode.rawValue)+rerank: \(queries.count) queries × \(options.rerankDepth) hits, \(reranker.modelName)")
            let reranked = try rerank(lists, queries: queries, dataset: dataset, with: reranker, depth: options.rerankDepth, threads: options.threads)
            runs.append(Run(model: model, mode: mode.rawValue + "+rerank", run: Self.run(queries, reranked),
                            seconds: runs[0].seconds + Date().timeIntervalSince(t)))
        }
        return runs
    }

    /// Query id → document → score from ranked lists (one per query, in query order).
    static func run(_ queries: [RetrievalDataset.Query], _ lists: [[(key: String, score: Double)]]) -> RetrievalRun {
        var run: RetrievalRun = [:]
        for (q, list) in zip(queries, lists) {
            var scores: [String: Double] = [:]
            for h in list where scores[h.key] == nil { scores[h.key] = h.score }
            run[q.id] = scores
        }
        return run
    }

    /// Embeds the corpus into a new collection of `store` (passage prompt), with a BM25 index when `fullText`.
    private func build(store: VectorStore, name: String, embedder: TextEmbedder, dataset: RetrievalDataset,
                       options: EvaluationOptions, fullText: Bool) async throws -> Collection {
        let model = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: true)
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .string),
                                      vectorFields: [VectorField(name: "vector", dimension: model.dimension, metric: .cosine, model: model)],
                                      scalarFields: [ScalarField(name: "text", type: .string)],
                                      description: "quiver eval: \(model.id)")
        let c = try await store.createCollection(name, schema: schema)
        let docs = dataset.documents
        let batch = max(1, options.batchSize)
        var done = 0
        let started = Date()
        while done < docs.count {
            let part = docs[done..<min(done + batch, docs.count)]
            let vectors = try embedder.embed(part.map(\.content), normalize: true, threads: options.threads, inputType: .passage).vectors
            _ = try await c.insert(zip(part, vectors).map { d, v in
                Entity(id: .string(d.id), vector: v, fields: ["text": .string(d.content)])
            }, models: ["vector": model])
            done += part.count
            let rate = Double(done) / max(Date().timeIntervalSince(started), 1e-9)
            progress?("\(embedder.modelName): embedded \(done)/\(docs.count) documents (\(Int(rate.rounded()))/s)")
        }
        try await c.flush()
        if fullText { try await c.createFullTextIndex(IngestOptions.defaultFullText) }
        return c
    }

    /// Dense hits of every query (query prompt), best first.
    private func dense(_ embedder: TextEmbedder, _ c: Collection, _ queries: [RetrievalDataset.Query], limit: Int,
                       options: EvaluationOptions) async throws -> [[(key: String, score: Double)]] {
        var out: [[(key: String, score: Double)]] = []
        let model = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: true)
        var i = 0
        while i < queries.count {
            let part = Array(queries[i..<min(i + options.batchSize, queries.count)])
            let vectors = try embedder.embed(part.map(\.text), normalize: true, threads: options.threads, inputType: .query).vectors
            let hits = try await c.search(SearchRequest(vectors: vectors, model: model, limit: limit, outputFields: []))
            out += hits.map { $0.map { (key: $0.id.description, score: Double($0.score)) } }
            i += part.count
        }
        return out
    }

    /// Rescores the first `depth` hits of each list with the cross-encoder (query, document
    /// content); the hits below follow in their order, scored under the lowest rescored one.
    private func rerank(_ lists: [[(key: String, score: Double)]], queries: [RetrievalDataset.Query], dataset: RetrievalDataset,
                        with reranker: CrossEncoder, depth: Int, threads: Int?) throws -> [[(key: String, score: Double)]] {
        let content = Dictionary(uniqueKeysWithValues: dataset.documents.map { ($0.id, $0.content) })
        return try zip(queries, lists).map { q, list in
            let head = Array(list.prefix(depth)), tail = list.dropFirst(depth)
            let scores = try reranker.scores(head.map { (query: q.text, document: content[$0.key] ?? "") }, threads: threads).map(Double.init)
            let floor = (scores.min() ?? 0) - 1
            return zip(head, scores).map { (key: $0.key, score: $1) }
                + tail.enumerated().map { (key: $1.key, score: floor - Double($0)) }
        }
    }
}
