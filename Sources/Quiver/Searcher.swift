import Foundation
import QuiverStore

/// One hit of a `Searcher` query.
public struct SearchResult: Sendable {
    /// Cosine similarity to the query (higher is closer).
    public var score: Float
    /// The collection it comes from.
    public var collection: String
    /// The row's fields: `path`, `modality`, `chunk`, `start`/`end` (character offsets of a text
    /// chunk), `size`, `sha256`, `text`.
    public var fields: [String: FieldValue]
    /// The row id (`path#chunk`).
    public var id: String

    /// The file the hit comes from.
    public var path: String { if case let .string(p)? = fields["path"] { return p }; return id }
    /// Its modality (`text`, `image`, `audio`, `video`).
    public var modality: String { if case let .string(m)? = fields["modality"] { return m }; return "" }
    /// The matched text chunk, if the hit is text.
    public var text: String? { if case let .string(t)? = fields["text"] { return t }; return nil }
    /// Integer field `name`, if present.
    public func int(_ name: String) -> Int? { if case let .int(v)? = fields[name] { return Int(v) }; return nil }
}

/// What a query searched and found.
public struct SearchOutcome: Sendable {
    /// Hits across the searched collections, best first.
    public var results: [SearchResult]
    /// Collections searched.
    public var searched: [String]
    /// Why a collection of the store was not searched (e.g. images embedded by a model without
    /// a text encoder for a text query).
    public var notes: [String]
}

/// Searches the collections an `Ingestor` wrote: embeds the query with each collection's own
/// model (so the query and the rows share a space) and merges the hits by score.
public final class Searcher: @unchecked Sendable {
    public let store: VectorStore
    /// The base name given to the `Ingestor` (collections `<collection>_text`, `_image`, ...).
    public let collection: String
    let home: ModelHome
    private var textEmbedders: [String: TextEmbedder] = [:]

    public init(store: VectorStore, collection: String = "quiver", home: ModelHome = .fromEnvironment()) {
        self.store = store; self.collection = collection; self.home = home
    }

    /// The ingest collections of this base name that exist, by modality.
    public func collections() async throws -> [(ContentModality, Collection)] {
        var out: [(ContentModality, Collection)] = []
        for m in ContentModality.allCases {
            let name = Ingestor.collectionName(collection, m)
            if store.hasCollection(name) { out.append((m, try await store.collection(name))) }
        }
        return out
    }

    /// Searches with a text query: the text collection (with its text model) and, when they were
    /// embedded with a CLIP model, the image and video collections.
    /// - Parameters:
    ///   - modalities: restrict to these row modalities (nil: all).
    ///   - filter: a filter expression on the row fields (e.g. `path like "%/notes/%"`).
    /// - Throws: `QuiverError.noCompatibleCollection` when nothing can be searched with text (the
    ///   message says why), model and store errors.
    public func search(text query: String, limit: Int = 10, filter: String? = nil,
                       modalities: Set<ContentModality>? = nil) async throws -> SearchOutcome {
        var outcome = SearchOutcome(results: [], searched: [], notes: [])
        let all = try await collections()
        for (m, c) in all where modalities?.contains(m) ?? true {
            guard let f = c.schema.vectorFields.first else { continue }
            if m == .text {
                let e = try textEmbedder(f.model.id)
                let q = try e.embed([query]).vectors[0]
                try await run(q, model: f.model, on: c, limit: limit, filter: filter, into: &outcome)
            } else if m == .audio {
                if modalities?.contains(.audio) == true {
                    outcome.notes.append("\(c.name) holds \(f.model.id) audio vectors, which have no text encoder: search it with an audio file")
                }
            } else {
                let entry = try? home.resolve(f.model.id).entry
                if entry?.modality == .imageText {
                    outcome.notes.append("\(c.name): CLIP text queries are not wired in this build yet")
                } else {
                    outcome.notes.append("no CLIP model installed: images were embedded with \(f.model.id), which has no text encoder; run `quiver models pull clip-vit-base-patch32` and ingest them again with --image-model clip-vit-base-patch32")
                }
            }
        }
        if outcome.searched.isEmpty {
            let reason = all.isEmpty ? "the store has no collection named \(collection)_text, _image, _audio or _video (run `quiver ingest` first)"
                                     : (outcome.notes.first ?? "no collection of the requested modalities")
            throw QuiverError.noCompatibleCollection(query: "a text query", reason: reason)
        }
        outcome.results = Array(outcome.results.sorted { $0.score > $1.score }.prefix(limit))
        return outcome
    }

    /// Searches with a raw vector every collection of that dimension (raw vectors carry no model:
    /// the caller vouches that it comes from the collection's model).
    public func search(vector: [Float], limit: Int = 10, filter: String? = nil,
                       modalities: Set<ContentModality>? = nil) async throws -> SearchOutcome {
        var outcome = SearchOutcome(results: [], searched: [], notes: [])
        for (m, c) in try await collections() where modalities?.contains(m) ?? true {
            guard let f = c.schema.vectorFields.first else { continue }
            if f.dimension != vector.count {
                outcome.notes.append("\(c.name) holds \(f.dimension)-d \(f.model.id) vectors; the query has \(vector.count) values")
                continue
            }
            try await run(vector, model: nil, on: c, limit: limit, filter: filter, into: &outcome)
        }
        if outcome.searched.isEmpty {
            throw QuiverError.noCompatibleCollection(query: "a \(vector.count)-d vector",
                                                     reason: outcome.notes.isEmpty ? "no ingest collection named \(collection)_*" : outcome.notes.joined(separator: "; "))
        }
        outcome.results = Array(outcome.results.sorted { $0.score > $1.score }.prefix(limit))
        return outcome
    }

    /// Searches with the content of a file: a text file as a text query; images, audio and video
    /// with their modality's model.
    /// A video query is the mean of its frames (one per second), or with `videoTime` the sampled
    /// frame covering that second: "find moments like this one".
    public func search(file url: URL, limit: Int = 10, filter: String? = nil,
                       modalities: Set<ContentModality>? = nil, videoTime: Double? = nil) async throws -> SearchOutcome {
        guard let kind = try ContentModality.detect(fileAt: url) else {
            throw QuiverError.unreadableInput(path: url.path, reason: "not text, image, audio or video")
        }
        switch kind {
        case .text:
            let s = try String(contentsOf: url, encoding: .utf8)
            return try await search(text: s, limit: limit, filter: filter, modalities: modalities)
        case .image, .video:
            var outcome = SearchOutcome(results: [], searched: [], notes: [])
            // Rows of the image space hold images and video frames: --modality filters the rows.
            var rowFilter = filter
            if let modalities {
                let wanted = modalities.filter { $0 == .image || $0 == .video }.map { "\"\($0.rawValue)\"" }
                if wanted.isEmpty { throw QuiverError.noCompatibleCollection(query: url.path, reason: "an image or video query searches image and video rows only") }
                let m = "modality in [\(wanted.joined(separator: ", "))]"
                rowFilter = filter.map { "(\($0)) and \(m)" } ?? m
            }
            for (m, c) in try await collections() where m == .image {
                guard let f = c.schema.vectorFields.first else { continue }
                let e = try imageEmbedder(f.model.id)
                let q: [Float]
                if kind == .image {
                    q = try e.embed(files: [url])[0]
                } else {
                    let frames = try VideoEmbedder(images: e).embedFrames(contentsOf: url)
                    if let at = videoTime {
                        guard let hit = frames.first(where: { at >= $0.start && at < $0.end }) ?? frames.last else {
                            throw QuiverError.unreadableInput(path: url.path, reason: "no video frames decoded")
                        }
                        q = hit.vector
                    } else {
                        guard let mean = VideoEmbedder.mean(frames) else {
                            throw QuiverError.unreadableInput(path: url.path, reason: "no video frames decoded")
                        }
                        q = mean
                    }
                }
                try await run(q, model: f.model, on: c, limit: limit, filter: rowFilter, into: &outcome)
            }
            if outcome.searched.isEmpty {
                throw QuiverError.noCompatibleCollection(query: url.path, reason: "the store has no \(collection)_image collection (ingest images or videos first)")
            }
            outcome.results = Array(outcome.results.sorted { $0.score > $1.score }.prefix(limit))
            return outcome
        case .audio:
            var outcome = SearchOutcome(results: [], searched: [], notes: [])
            for (m, c) in try await collections() where m == .audio {
                guard let f = c.schema.vectorFields.first else { continue }
                let q = try AudioEmbedder(model: f.model.id, home: home).embed(file: url).vector
                try await run(q, model: f.model, on: c, limit: limit, filter: filter, into: &outcome)
            }
            if outcome.searched.isEmpty {
                throw QuiverError.noCompatibleCollection(query: url.path, reason: "the store has no \(collection)_audio collection (ingest audio files first)")
            }
            outcome.results = Array(outcome.results.sorted { $0.score > $1.score }.prefix(limit))
            return outcome
        }
    }
    private var imageEmbedders: [String: ImageEmbedder] = [:]
    private func imageEmbedder(_ model: String) throws -> ImageEmbedder {
        if let e = imageEmbedders[model] { return e }
        let e = try ImageEmbedder(model: model, home: home)
        imageEmbedders[model] = e
        return e
    }

    private func textEmbedder(_ model: String) throws -> TextEmbedder {
        if let e = textEmbedders[model] { return e }
        let e = try TextEmbedder(model: model, home: home)
        textEmbedders[model] = e
        return e
    }

    private func run(_ q: [Float], model: EmbeddingModel?, on c: Collection, limit: Int, filter: String?,
                     into outcome: inout SearchOutcome) async throws {
        let hits = try await c.search(SearchRequest(vectors: [q], model: model, limit: limit, filter: filter,
                                                    outputFields: ["*"]))[0]
        outcome.searched.append(c.name)
        for h in hits {
            outcome.results.append(SearchResult(score: h.score, collection: c.name, fields: h.fields, id: h.id.description))
        }
    }
}
