import Foundation
import Quiver
import QuiverStore

/// The text search of `POST /api/search` with its query embedding batched with concurrent
/// requests (`TextEmbeddings`), for the searches that reach only the text collection.
///
/// `Searcher.search(text:mode:)` embeds the query itself, with its own model, and runs one search
/// of a base name at a time (`SearchLane`). When the text query reaches nothing but
/// `<base>_text` (no image or video collection it would search with a CLIP text tower or note as
/// unsearchable, no audio note), this runs the same dense or hybrid search here: the query
/// embedded through the server's batcher (query prompt, as `Searcher`), the text collection
/// searched with the collection's model, BM25 fused by reciprocal rank (k = 60, depth
/// `max(limit, 50)`), as `Searcher` does, without waiting for the lane. Everything else (BM25-only
/// searches, image and video collections in reach, a model the server cannot load) returns nil
/// and the caller runs `Searcher` as before. A test compares both paths' answers.
extension WebController {
    func batchedTextSearch(_ text: String, _ o: Options) async throws -> SearchOutcome? {
        guard configuration.batching.enabled else { return nil }
        if let m = o.modalities, !m.contains(.text) { return nil }
        let store = try await stores.get()
        let searcher = Searcher(store: store, collection: try await chosenBase(o.base), home: configuration.modelHome)
        let all = try await searcher.collections()
        guard let c = all.first(where: { $0.0 == .text })?.1, let field = c.schema.vectorFields.first else { return nil }
        for (m, _) in all where m != .text && Self.textQueryReaches(m, modalities: o.modalities) { return nil }
        let hasIndex = try await searcher.hasFullTextIndex()
        let mode = o.mode ?? (hasIndex ? .hybrid : .dense)
        if mode == .bm25 || (mode == .hybrid && !hasIndex) { return nil }
        let embedder: TextEmbedder
        do { embedder = try await embeddings.models.embedder(for: field.model.id) } catch { return nil }
        guard embedder.dimension == field.dimension else { return nil }
        let query = try await embeddings.embed([text], with: embedder, inputType: .query).vectors[0]

        let depth = mode == .hybrid ? max(o.limit, 50) : o.limit
        let hits = try await c.search(SearchRequest(vectors: [query], model: field.model, limit: depth, filter: o.filter,
                                                    outputFields: ["*"]))[0]
        let dense = hits.enumerated().map { i, h in
            SearchResult(id: h.id.description, collection: c.name, score: h.score, rank: i + 1, fields: h.fields)
        }
        guard mode == .hybrid else {
            return SearchOutcome(searched: [c.name], results: Array(dense.prefix(o.limit)), notes: [])
        }
        guard let embedded = c as? Collection else { return nil }
        let bm25 = try await embedded.fullTextSearch(text, field: "text", limit: depth, filter: o.filter).enumerated().map { i, h in
            SearchResult(id: h.id.description, collection: c.name, score: h.score, rank: i + 1, fields: h.fields)
        }
        var byID: [String: SearchResult] = [:]
        for r in bm25 + dense { byID[r.id] = byID[r.id] ?? r }
        let fused = RankFusion.fuse([dense.map { (key: $0.id, score: $0.score) }, bm25.map { (key: $0.id, score: $0.score) }], .rrf)
        let results = fused.prefix(o.limit).enumerated().map { i, f -> SearchResult in
            var r = byID[f.key]!
            r.score = Float(f.score)
            r.rank = i + 1
            return r
        }
        return SearchOutcome(searched: [c.name], results: results, notes: [])
    }

    /// True when `Searcher`'s text search would do something with a collection of modality `m`
    /// (search it with a CLIP text tower, or write a note why it cannot): images and video frames
    /// unless `modalities` leaves both out, video unless it leaves video out, audio only when it
    /// asks for audio (the note that audio has no text encoder).
    static func textQueryReaches(_ m: ContentModality, modalities: Set<ContentModality>?) -> Bool {
        switch m {
        case .text: return true
        case .audio: return modalities?.contains(.audio) == true
        case .image: return modalities.map { $0.contains(.image) || $0.contains(.video) } ?? true
        case .video: return modalities.map { $0.contains(.video) } ?? true
        }
    }
}
