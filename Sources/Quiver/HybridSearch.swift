import Foundation
import QuiverStore

/// Which retrieval a text query uses on the text collection.
public enum SearchMode: String, Sendable, CaseIterable, Hashable {
    /// Embedding similarity (the collection's model).
    case dense
    /// BM25 on the collection's full-text index (exact words, after stemming).
    case bm25
    /// Both, fused (see `Fusion`).
    case hybrid
}

/// How the ranked lists of a hybrid search are combined.
public enum Fusion: Sendable, Hashable {
    /// Reciprocal rank fusion: `Σ 1 / (k + rank)` over the lists a hit is in (rank 1 = best;
    /// Cormack et al. 2009, k = 60 as in Milvus, Elasticsearch and OpenSearch).
    case reciprocalRank(k: Double = 60)
    /// Weighted sum of normalized scores, one weight per list (dense first, then BM25). Scores
    /// are normalized per list as `normalization` says; a hit missing from a list adds 0.
    case weighted([Double], normalization: ScoreNormalization = .minMax)

    /// Reciprocal rank fusion with k = 60.
    public static let rrf = Fusion.reciprocalRank(k: 60)
}

/// How a list's scores are brought to 0...1 before a weighted fusion.
public enum ScoreNormalization: Sendable, Hashable {
    /// `(s − min) / (max − min)` within the list (1 for every hit when all scores are equal).
    case minMax
    /// Milvus' `norm_score`: arctan mapping by metric (COSINE/IP: `0.5 + atan(s)/π`, L2:
    /// `1 − 2·atan(s)/π`, BM25: `2·atan(s)/π`).
    case arctan([Metric?])
    /// Scores used as they are.
    case none
}

/// Fuses ranked lists of keys (each best first).
public enum RankFusion {
    /// Fuses `lists` of `(key, score)` (each best first) into one list, best first; ties keep
    /// the order of first appearance. Scores of the result are the fused scores.
    public static func fuse<Key: Hashable>(_ lists: [[(key: Key, score: Float)]], _ fusion: Fusion) -> [(key: Key, score: Double)] {
        var total: [Key: Double] = [:]
        var order: [Key] = []
        func add(_ k: Key, _ v: Double) {
            if total[k] == nil { order.append(k) }
            total[k, default: 0] += v
        }
        switch fusion {
        case let .reciprocalRank(k):
            for list in lists { for (i, h) in list.enumerated() { add(h.key, 1 / (k + Double(i + 1))) } }
        case let .weighted(weights, normalization):
            for (li, list) in lists.enumerated() {
                let w = li < weights.count ? weights[li] : 0
                let scores = list.map { Double($0.score) }
                let lo = scores.min() ?? 0, hi = scores.max() ?? 0
                for (i, h) in list.enumerated() {
                    let s = scores[i]
                    let n: Double
                    switch normalization {
                    case .minMax: n = hi > lo ? (s - lo) / (hi - lo) : 1
                    case .none: n = s
                    case let .arctan(metrics):
                        switch li < metrics.count ? metrics[li] : nil {
                        case .l2?: n = 1 - 2 * atan(s) / .pi
                        case nil: n = 2 * atan(s) / .pi   // BM25
                        default: n = 0.5 + atan(s) / .pi
                        }
                    }
                    add(h.key, w * n)
                }
            }
        }
        let position = Dictionary(uniqueKeysWithValues: order.enumerated().map { ($1, $0) })
        return order.map { (key: $0, score: total[$0]!) }
            .sorted { $0.score != $1.score ? $0.score > $1.score : position[$0.key]! < position[$1.key]! }
    }
}

extension IngestOptions {
    /// The BM25 index `Ingestor` puts on the `text` field of the text collection (when
    /// `fullText` is on): Lucene's BM25 (k1 1.2, b 0.75), English stop words and stemming.
    public static let defaultFullText = FullTextOptions(field: "text")
}

extension Ingestor {
    /// Creates the text collection's BM25 index when it has none (built from the stored text).
    /// Only the embedded store has BM25 indexes; on other backends this does nothing.
    static func ensureFullTextIndex(_ c: any VectorCollection, enabled: Bool) async throws {
        guard enabled, let c = c as? Collection, !c.fullTextIndexes().contains(where: { $0.field == "text" }) else { return }
        try await c.createFullTextIndex(IngestOptions.defaultFullText)
    }
}

extension Searcher {
    /// True when `<collection>_text` exists and has a BM25 index on its `text` field (only the
    /// embedded store has BM25 indexes; on Milvus this is false and searches are dense).
    public func hasFullTextIndex() async throws -> Bool {
        let name = Ingestor.collectionName(collection, .text)
        guard let store = store as? VectorStore, store.hasCollection(name) else { return false }
        return try await store.collection(name).fullTextIndexes().contains { $0.field == "text" }
    }

    /// Searches with a text query in `mode`: dense (embeddings, as `search(text:)`), bm25 (the
    /// text collection's full-text index) or hybrid (both lists of the text collection fused;
    /// hits of CLIP image collections are then merged by rank as in `search(text:)`).
    /// - Parameters:
    ///   - mode: nil: hybrid when the text collection has a BM25 index and `modalities` lets text
    ///     rows in, else dense. Hybrid with `modalities` that leave text out is dense (with a note).
    ///   - fusion: how hybrid combines the dense and BM25 lists (default RRF, k = 60).
    ///   - depth: hits taken from each list before fusion (default `max(limit, 50)`).
    /// - Returns: hits with the fused score (hybrid), the BM25 score (bm25) or the cosine (dense).
    /// - Throws: `QuiverError.noCompatibleCollection` for bm25 or hybrid without a BM25 index
    ///   (the message says how to make one), and the errors of `search(text:)`.
    public func search(text query: String, limit: Int = 10, filter: String? = nil, modalities: Set<ContentModality>? = nil,
                       mode: SearchMode?, fusion: Fusion = .rrf, depth: Int? = nil) async throws -> SearchOutcome {
        let hasIndex = try await hasFullTextIndex()
        let textScoped = Self.scoped(filter, collection: .text, modalities: modalities)
        // Automatic: hybrid where text rows are searched and have a BM25 index.
        let mode = mode ?? (hasIndex && textScoped != nil ? .hybrid : .dense)
        if mode == .dense || (mode == .hybrid && textScoped == nil) {
            var outcome = try await search(text: query, limit: limit, filter: filter, modalities: modalities)
            if mode == .hybrid { outcome.notes.append("hybrid search fuses BM25 with the text rows, which --modality leaves out: the other rows were searched by embeddings only") }
            return outcome
        }
        let textName = Ingestor.collectionName(collection, .text)
        guard hasIndex else {
            let why = !(store is VectorStore)
                ? "BM25 indexes exist in the embedded store only; on \(store.location) use --mode dense"
                : try await store.hasCollection(textName)
                ? "\(textName) has no BM25 index (ingest again with `quiver ingest` to make one, or use --mode dense)"
                : "the store has no collection \(textName) (run `quiver ingest` first)"
            throw QuiverError.noCompatibleCollection(query: "a \(mode.rawValue) query", reason: why)
        }
        guard let rowFilter = textScoped else {
            throw QuiverError.noCompatibleCollection(query: "a \(mode.rawValue) query", reason: "BM25 searches the text rows only; add --modality text")
        }
        guard let c = try await store.openCollection(textName) as? Collection else {
            throw QuiverError.noCompatibleCollection(query: "a \(mode.rawValue) query", reason: "BM25 indexes exist in the embedded store only")
        }
        let depth = max(depth ?? max(limit, 50), limit)
        let bm25Hits = try await c.fullTextSearch(query, field: "text", limit: mode == .bm25 ? limit : depth, filter: rowFilter)
        let bm25 = bm25Hits.enumerated().map { i, h in
            SearchResult(score: h.score, collection: c.name, fields: h.fields, id: h.id.description, rank: i + 1)
        }
        if mode == .bm25 {
            return SearchOutcome(results: bm25, searched: [c.name], notes: [])
        }
        var outcome = try await search(text: query, limit: depth, filter: filter, modalities: modalities)
        // The dense hits, per collection (each list best first).
        var lists: [String: [SearchResult]] = [:]
        for r in outcome.results { lists[r.collection, default: []].append(r) }
        let dense = lists.removeValue(forKey: c.name) ?? []
        let metric = c.schema.vectorFields.first?.metric
        var byID: [String: SearchResult] = [:]
        for r in bm25 + dense { byID[r.id] = byID[r.id] ?? r }
        let fusionUsed: Fusion
        if case let .weighted(w, .arctan(_)) = fusion { fusionUsed = .weighted(w, normalization: .arctan([metric, nil])) } else { fusionUsed = fusion }
        let fused = RankFusion.fuse([dense.map { (key: $0.id, score: $0.score) }, bm25.map { (key: $0.id, score: $0.score) }], fusionUsed)
        let text = fused.prefix(limit).enumerated().map { i, f -> SearchResult in
            var r = byID[f.key]!
            r.score = Float(f.score); r.rank = i + 1
            return r
        }
        if !outcome.searched.contains(c.name) { outcome.searched.append(c.name) }
        let others = lists.values.map { Array($0.prefix(limit)) }.sorted { ($0.first?.collection ?? "") < ($1.first?.collection ?? "") }
        outcome.results = Self.merge([text] + others, limit: limit)
        return outcome
    }
}
