import Foundation
import QuiverStore

/// One hit of a `Searcher` query.
public struct SearchResult: Sendable {
    /// Cosine similarity to the query in the hit's collection's space (higher is closer); not
    /// comparable in absolute terms with the scores of another collection.
    public var score: Float
    /// The collection it comes from.
    public var collection: String
    /// The row's fields: `path`, `modality`, `chunk`, `start`/`end` (character offsets of a text
    /// chunk), `start_s`/`end_s` (seconds, audio and video rows), `size`, `sha256`, `text`.
    public var fields: [String: FieldValue]
    /// The row id (`path#chunk`).
    public var id: String
    /// Rank of the hit within its own collection (1 = that collection's best).
    public var rank: Int = 1

    /// The file the hit comes from.
    public var path: String { if case let .string(p)? = fields["path"] { return p }; return id }
    /// Its modality (`text`, `image`, `audio`, `video`).
    public var modality: String { if case let .string(m)? = fields["modality"] { return m }; return "" }
    /// The matched text chunk, if the hit is text.
    public var text: String? { if case let .string(t)? = fields["text"] { return t }; return nil }
    /// Integer field `name`, if present.
    public func int(_ name: String) -> Int? { if case let .int(v)? = fields[name] { return Int(v) }; return nil }
    /// Numeric field `name` (an integer or a float), if present.
    public func double(_ name: String) -> Double? {
        switch fields[name] {
        case let .double(v)?: return v
        case let .int(v)?: return Double(v)
        default: return nil
        }
    }
    /// The time span of an audio or video row, in seconds (`start_s`, `end_s`).
    public var timeRange: ClosedRange<Double>? {
        guard let s = double("start_s"), let e = double("end_s"), e >= s else { return nil }
        return s...e
    }
}

/// What a query searched and found.
public struct SearchOutcome: Sendable {
    /// Hits across the searched collections, best first. With several collections (embedding
    /// spaces) they are merged by rank, not by raw score: see `Searcher`.
    public var results: [SearchResult]
    /// Collections searched.
    public var searched: [String]
    /// Why a collection of the store was not searched (e.g. images embedded by a model without
    /// a text encoder for a text query), with what to do about it.
    public var notes: [String]
    /// The same in short, by collection name: `quiver_image` → "efficientnet-lite0 has no text
    /// encoder" (for one-line summaries; `notes` has the full explanation).
    public var skipped: [String: String] = [:]
}

/// Searches the collections an `Ingestor` wrote: embeds the query with each collection's own
/// model (so the query and the rows share a space) and merges the hits.
///
/// A text query searches `<collection>_text` with its text model and, when the images and video
/// frames of `<collection>_image` were embedded with a CLIP model, that collection too with the
/// CLIP text tower (text → image and text → video-frame search). An audio file searches
/// `<collection>_audio`: audio files and the sound tracks of videos (rows with modality `video`
/// and their `start_s`/`end_s`).
///
/// Merging: each score is the cosine similarity of the query and the row *in that collection's
/// space*. Scores of different spaces are not comparable in absolute terms (CLIP text–image
/// cosines sit around 0.2–0.35 where a sentence model's text–text cosines reach 0.5–0.9), so a
/// merge by raw score would bury one space under the other. Hits of several collections are
/// therefore interleaved by rank: every collection's best hit comes before any collection's
/// second best, and hits of equal rank are ordered by score. Within one collection the order is
/// by score. `SearchResult.rank` and `.collection` let a caller list the spaces separately.
///
/// Thread-safe: the query models it loads are cached (under a lock) for the next queries.
public final class Searcher: @unchecked Sendable {
    /// The store searched.
    public let store: any VectorDatabase
    /// The base name given to the `Ingestor` (collections `<collection>_text`, `_image`, ...).
    public let collection: String
    let home: ModelHome
    private var textEmbedders: [String: TextEmbedder] = [:]
    private let cacheLock = NSLock()

    /// A searcher over the collections `<collection>_*` of `store`; query models are loaded from
    /// `home` on first use (nothing is downloaded).
    public init(store: any VectorDatabase, collection: String = "quiver", home: ModelHome = .fromEnvironment()) {
        self.store = store; self.collection = collection; self.home = home
    }

    /// The ingest collections of this base name that exist, by modality.
    /// One ``VectorDatabase/openCollections(_:)`` call: on Milvus a single listing per query
    /// (handles opened before are reused while the collection is the same one).
    public func collections() async throws -> [(ContentModality, any VectorCollection)] {
        let names = ContentModality.allCases.map { Ingestor.collectionName(collection, $0) }
        let open = try await store.openCollections(names)
        return ContentModality.allCases.compactMap { m in open[Ingestor.collectionName(collection, m)].map { (m, $0) } }
    }

    /// Searches with a text query: the text collection (with its text model) and, when they were
    /// embedded with a CLIP model, the image and video-frame rows (with the CLIP text tower).
    /// Hits of the two spaces are merged by rank (see `Searcher`): their scores are cosines in
    /// different spaces and not comparable in absolute terms.
    /// - Parameters:
    ///   - modalities: restrict to these row modalities (nil: all).
    ///   - filter: a filter expression on the row fields (e.g. `path like "%/notes/%"`).
    /// - Returns: the hits; `notes` say which collections could not be searched with text and why
    ///   (images embedded by a model without a text encoder, audio).
    /// - Throws: `QuiverError.noCompatibleCollection` when nothing can be searched with text (the
    ///   message says why), model and store errors.
    public func search(text query: String, limit: Int = 10, filter: String? = nil,
                       modalities: Set<ContentModality>? = nil) async throws -> SearchOutcome {
        var outcome = SearchOutcome(results: [], searched: [], notes: [])
        var lists: [[SearchResult]] = []
        let all = try await collections()
        for (m, c) in all {
            guard let f = c.schema.vectorFields.first, let rowFilter = Self.scoped(filter, collection: m, modalities: modalities) else { continue }
            switch m {
            case .text:
                let e = try textEmbedder(f.model.id)
                let q = try e.embed([query], inputType: .query).vectors[0]
                lists.append(try await run(q, model: f.model, on: c, limit: limit, filter: rowFilter, into: &outcome))
            case .audio:
                if modalities?.contains(.audio) == true {
                    outcome.notes.append("\(c.name) holds \(f.model.id) audio vectors, which have no text encoder: search it with an audio file")
                    outcome.skipped[c.name] = "\(f.model.id) has no text encoder"
                }
            case .video:
                // Perceiver clips: frames and sound, no text tower.
                if modalities == nil || modalities?.contains(.video) == true {
                    outcome.notes.append("\(c.name) holds \(f.model.id) video clips (frames and sound together), which have no text encoder: search it with a video file")
                    outcome.skipped[c.name] = "\(f.model.id) has no text encoder"
                }
            case .image:
                switch clipEmbedder(for: f.model.id, collection: c.name) {
                case let .success(clip):
                    let q = try clip.embed(texts: [query])[0]
                    lists.append(try await run(q, model: f.model, on: c, limit: limit, filter: rowFilter, into: &outcome))
                case let .failure(why):
                    outcome.notes.append(why.message)
                    outcome.skipped[c.name] = why.short
                }
            }
        }
        if outcome.searched.isEmpty {
            let reason = all.isEmpty ? "the store has no collection named \(collection)_text, _image, _audio or _video (run `quiver ingest` first)"
                                     : (outcome.notes.first ?? "no collection of the requested modalities")
            throw QuiverError.noCompatibleCollection(query: "a text query", reason: reason)
        }
        outcome.results = Self.merge(lists, limit: limit)
        return outcome
    }

    /// Why a collection's rows cannot be searched with text.
    struct NoTextEncoder: Error {
        let message: String
        var short: String
        init(message: String, short: String? = nil) { self.message = message; self.short = short ?? message }
    }

    /// The CLIP model (cached) whose image tower embedded a collection, or why there is none.
    func clipEmbedder(for model: String, collection name: String) -> Result<CLIPEmbedder, NoTextEncoder> {
        if let e = cacheLock.withLock({ clipEmbedders[model] }) { return .success(e) }
        let resolved: ResolvedModel
        do { resolved = try home.resolve(model) } catch {
            return .failure(NoTextEncoder(message: "\(name) was embedded with \(model), which cannot be found (\(error)); a text query needs that model's text tower"))
        }
        guard resolved.entry.modality == .imageText else {
            let clip = ImageEmbedder.defaultModel(home: home)
            let installed = clip != "efficientnet-lite0"
            let target = installed ? clip : "clip-vit-base-patch32"
            let pull = installed ? "" : "`quiver models pull clip-vit-base-patch32`, then "
            return .failure(NoTextEncoder(message:
                (installed ? "" : "no CLIP model installed: ")
                + "images were embedded with \(model), which has no text encoder, so a text query cannot be compared with \(name); "
                + "to search images by text, ingest them with a CLIP model into another collection (\(name) keeps \(model)'s space): "
                + "\(pull)`quiver ingest --collection NAME --image-model \(target) PATHS`, and search with `--collection NAME`",
                short: "\(model) has no text encoder"))
        }
        do {
            return .success(try cached(\.clipEmbedders, model) { try CLIPEmbedder(model: model, home: home) })
        } catch {
            return .failure(NoTextEncoder(message: "\(name) was embedded with the CLIP model \(model), whose text tower cannot be loaded: \(error)"))
        }
    }

    /// The filter for the rows of a `collection`-space collection that a query restricted to
    /// `modalities` may return, or nil when none of them can be there. The image space holds
    /// images and video frames; the audio space audio files and video sound tracks.
    static func scoped(_ filter: String?, collection: ContentModality, modalities: Set<ContentModality>?) -> String?? {
        let holds: [ContentModality]
        switch collection {
        case .text: holds = [.text]
        case .image: holds = [.image, .video]
        case .audio: holds = [.audio, .video]
        case .video: holds = [.video]
        }
        guard let modalities else { return .some(filter) }
        let wanted = holds.filter { modalities.contains($0) }
        if wanted.isEmpty { return .none }
        if wanted.count == holds.count { return .some(filter) }
        let m = "modality in [\(wanted.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))]"
        return .some(filter.map { "(\($0)) and \(m)" } ?? m)
    }

    /// Interleaves per-collection hit lists (each best first) by rank, equal ranks by score.
    static func merge(_ lists: [[SearchResult]], limit: Int) -> [SearchResult] {
        if lists.count == 1 { return Array(lists[0].prefix(limit)) }
        return Array(lists.flatMap { $0 }.sorted { a, b in a.rank != b.rank ? a.rank < b.rank : a.score > b.score }.prefix(limit))
    }

    /// Searches with a raw vector every collection of that dimension (raw vectors carry no model:
    /// the caller vouches that it comes from the collection's model).
    public func search(vector: [Float], limit: Int = 10, filter: String? = nil,
                       modalities: Set<ContentModality>? = nil) async throws -> SearchOutcome {
        var outcome = SearchOutcome(results: [], searched: [], notes: [])
        var lists: [[SearchResult]] = []
        for (m, c) in try await collections() {
            guard let f = c.schema.vectorFields.first, let rowFilter = Self.scoped(filter, collection: m, modalities: modalities) else { continue }
            if f.dimension != vector.count {
                outcome.notes.append("\(c.name) holds \(f.dimension)-d \(f.model.id) vectors; the query has \(vector.count) values")
                continue
            }
            lists.append(try await run(vector, model: nil, on: c, limit: limit, filter: rowFilter, into: &outcome))
        }
        if outcome.searched.isEmpty {
            throw QuiverError.noCompatibleCollection(query: "a \(vector.count)-d vector",
                                                     reason: outcome.notes.isEmpty ? "no ingest collection named \(collection)_*" : outcome.notes.joined(separator: "; "))
        }
        outcome.results = Self.merge(lists, limit: limit)
        return outcome
    }

    /// Searches with the content of a file: a text file as a text query; images, audio and video
    /// with their modality's model.
    /// A video query is the mean of its frames (one per second), or with `videoTime` the sampled
    /// frame covering that second: "find moments like this one". An audio query searches audio
    /// files and the sound tracks of videos (each hit with its `start_s`/`end_s`).
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
            var lists: [[SearchResult]] = []
            // Rows of the image space hold images and video frames: --modality filters the rows.
            guard let rowFilter = Self.scoped(filter, collection: .image, modalities: modalities) else {
                throw QuiverError.noCompatibleCollection(query: url.path, reason: "an image or video query searches image and video rows only")
            }
            let all = try await collections()
            // Perceiver clips (`<collection>_video`): a video query embedded as clips by the same
            // model; the whole video's vector, or with `videoTime` the clip covering that second.
            if kind == .video, let (_, c) = all.first(where: { $0.0 == .video }), let f = c.schema.vectorFields.first,
               let clipFilter = Self.scoped(filter, collection: .video, modalities: modalities) {
                let p = try cached(\.perceiverEmbedders, f.model.id) { try PerceiverVideoEmbedder(model: f.model.id, home: home) }
                let (clips, whole) = try p.embed(contentsOf: url)
                let q: [Float]?
                if let at = videoTime { q = (clips.first { at >= $0.start && at < $0.end } ?? clips.last)?.vector } else { q = whole }
                guard let q else { throw QuiverError.unreadableInput(path: url.path, reason: "no video frames decoded") }
                lists.append(try await run(q, model: f.model, on: c, limit: limit, filter: clipFilter, into: &outcome))
            }
            for (m, c) in all where m == .image {
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
                lists.append(try await run(q, model: f.model, on: c, limit: limit, filter: rowFilter, into: &outcome))
            }
            if outcome.searched.isEmpty {
                throw QuiverError.noCompatibleCollection(query: url.path, reason: "the store has no \(collection)_image or \(collection)_video collection (ingest images or videos first)")
            }
            outcome.results = Self.merge(lists, limit: limit)
            return outcome
        case .audio:
            var outcome = SearchOutcome(results: [], searched: [], notes: [])
            var lists: [[SearchResult]] = []
            // Rows of the audio space hold audio files and video sound tracks.
            guard let rowFilter = Self.scoped(filter, collection: .audio, modalities: modalities) else {
                throw QuiverError.noCompatibleCollection(query: url.path, reason: "an audio query searches audio files and the sound tracks of videos only")
            }
            for (m, c) in try await collections() where m == .audio {
                guard let f = c.schema.vectorFields.first else { continue }
                let q = try audioEmbedder(f.model.id).embed(file: url).vector
                lists.append(try await run(q, model: f.model, on: c, limit: limit, filter: rowFilter, into: &outcome))
            }
            if outcome.searched.isEmpty {
                throw QuiverError.noCompatibleCollection(query: url.path, reason: "the store has no \(collection)_audio collection (ingest audio files or videos with sound first)")
            }
            outcome.results = Self.merge(lists, limit: limit)
            return outcome
        }
    }
    private var imageEmbedders: [String: ImageEmbedder] = [:]
    private var audioEmbedders: [String: AudioEmbedder] = [:]
    private var clipEmbedders: [String: CLIPEmbedder] = [:]
    private var perceiverEmbedders: [String: PerceiverVideoEmbedder] = [:]

    private func audioEmbedder(_ model: String) throws -> AudioEmbedder {
        try cached(\.audioEmbedders, model) { try AudioEmbedder(model: model, home: home) }
    }

    /// The cached model of `cache` for `key`, loaded by `make` on first use.
    private func cached<T>(_ cache: ReferenceWritableKeyPath<Searcher, [String: T]>, _ key: String, _ make: () throws -> T) throws -> T {
        try cacheLock.withLock {
            if let e = self[keyPath: cache][key] { return e }
            let e = try make()
            self[keyPath: cache][key] = e
            return e
        }
    }
    private func imageEmbedder(_ model: String) throws -> ImageEmbedder {
        try cached(\.imageEmbedders, model) { try ImageEmbedder(model: model, home: home) }
    }

    private func textEmbedder(_ model: String) throws -> TextEmbedder {
        try cached(\.textEmbedders, model) { try TextEmbedder(model: model, home: home) }
    }

    /// Searches one collection; returns its hits, best first, ranked 1, 2, ...
    private func run(_ q: [Float], model: EmbeddingModel?, on c: any VectorCollection, limit: Int, filter: String?,
                     into outcome: inout SearchOutcome) async throws -> [SearchResult] {
        let hits = try await c.search(SearchRequest(vectors: [q], model: model, limit: limit, filter: filter,
                                                    outputFields: ["*"]))[0]
        outcome.searched.append(c.name)
        return hits.enumerated().map { i, h in
            SearchResult(score: h.score, collection: c.name, fields: h.fields, id: h.id.description, rank: i + 1)
        }
    }
}
