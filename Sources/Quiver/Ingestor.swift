import Foundation
import QuiverMedia
import QuiverStore

/// Options of an `Ingestor` run.
public struct IngestOptions: Sendable {
    /// Base name of the collections: texts go to `<collection>_text`, images to `<collection>_image`,
    /// audio to `<collection>_audio` — one collection per embedding space.
    public var collection: String = "quiver"
    /// Model for text files (a sentence-transformers model from the catalog, or a folder).
    public var textModel: String = "all-MiniLM-L6-v2"
    /// Precision of the text model's linear layers (`.int8`: faster; cosine to float32 at least
    /// 0.993 on the held texts, see `Int8ParityTests`).
    public var precision: Precision = .float32
    /// Model for audio files (a Whisper model).
    public var audioModel: String = "faster-whisper-base"
    /// Model for image files (nil: an installed CLIP model, else efficientnet-lite0; see
    /// `ImageEmbedder.defaultModel`).
    public var imageModel: String?
    /// Model that also embeds each video as clips of frames and sound together (the multimodal
    /// Perceiver), into `<collection>_video`; nil: none (videos are frames and a sound track).
    public var videoModel: String?
    /// How text files are cut into the pieces that are embedded.
    public var split: TextSplit = .tokens(overlap: 32)
    /// Pieces embedded per model call; pieces of several files share a batch.
    public var batchSize: Int = 64
    /// Worker threads for the models (nil: all cores).
    public var threads: Int?
    /// Give the text collection a BM25 full-text index on `text` (`IngestOptions.defaultFullText`)
    /// for `--mode bm25|hybrid` searches, when it has none.
    public var fullText: Bool = true
    /// Options of an ingest run; every parameter has the default of `quiver ingest`.
    public init(collection: String = "quiver", textModel: String = "all-MiniLM-L6-v2", imageModel: String? = nil,
                audioModel: String = "faster-whisper-base", split: TextSplit = .tokens(overlap: 32), batchSize: Int = 64, threads: Int? = nil) {
        self.collection = collection; self.textModel = textModel; self.imageModel = imageModel; self.audioModel = audioModel
        self.split = split
        self.batchSize = batchSize; self.threads = threads
    }
}

/// Where an ingest run is; passed to the progress callback after each file, and after each
/// embedded batch inside a long text file (then `filesDone` does not count that file yet and
/// `bytesDone` counts the part of it written).
public struct IngestProgress: Sendable {
    /// Files finished (embedded, skipped or failed).
    public var filesDone: Int
    /// Files found under the given paths.
    public var filesTotal: Int
    /// Bytes of the files done so far.
    public var bytesDone: Int64
    /// Bytes of all files found (the basis of the ETA).
    public var bytesTotal: Int64
    /// Pieces (text chunks, frames, segments) embedded so far.
    public var pieces: Int
    /// The file just finished.
    public var path: String
}

/// A file that was not ingested, and why.
public struct IngestIssue: Sendable, Hashable {
    /// The file (absolute path, or as given).
    public var path: String
    /// What went wrong or why it was left out, in words a user can act on.
    public var reason: String
}

/// What an ingest run did.
public struct IngestReport: Sendable {
    /// Files embedded for the first time.
    public var added = 0
    /// Files whose content changed: their old rows were replaced.
    public var replaced = 0
    /// Files skipped because their content hash matches what the store holds.
    public var unchanged = 0
    /// Rows written (one per text chunk, image, video frame, audio window or sound-track window).
    public var pieces = 0
    /// Of `pieces`, the rows of videos' sound tracks written to the audio collection (one per 30 s window).
    public var soundTrackRows = 0
    /// Files that could not be read or embedded (the run went on without them).
    public var failures: [IngestIssue] = []
    /// Files of a kind no installed model embeds (listed, not failures).
    public var skipped: [IngestIssue] = []
    /// The collections written to.
    public var collections: Set<String> = []
}

/// Walks files and folders, detects each file's modality, embeds it with the model configured
/// for that modality and writes the vectors, with their metadata, to one collection per
/// embedding space of a `VectorStore`.
///
/// Row metadata (scalar fields): `path` (absolute), `modality`, `chunk` (piece number in the file),
/// `start`/`end` (Unicode-scalar offsets of a text chunk in its file), `size` (file bytes),
/// `sha256` (of the file content; a file whose hash is unchanged is skipped on the next run, a
/// changed one has all its rows replaced), `text` (the chunk) and, as a dynamic field, `pieces`
/// (how many rows the file has: a file the last run stored only partly, cut short by a crash or
/// a full disk, is written again instead of being skipped as unchanged). Audio and video rows
/// carry `start_s`/`end_s` (seconds).
///
/// A video is its sampled frames (one row each, and a whole-video row, in `<collection>_image`)
/// plus its sound track, when it has one: one row per 30 s window in `<collection>_audio`, with
/// modality `video`, so an audio query finds the moment. Audio files over 30 s get one row per
/// 30 s window and a whole-file row (see `AudioSink`).
///
/// Example:
/// ```swift
/// let store = try VectorStore(path: "quiver.db")   // or MilvusStore(address: "milvus://127.0.0.1:19530")
/// let report = try await Ingestor(store: store).ingest(["notes/"])
/// let hits = try await Searcher(store: store).search(text: "how do I reset the router?")
/// ```
public final class Ingestor: @unchecked Sendable {
    /// The store the collections are written to.
    public let store: any VectorDatabase
    /// Models, collection base name, text splitting and batching.
    public let options: IngestOptions
    let home: ModelHome
    private var textEmbedder: TextEmbedder?

    /// An ingester writing to `store`; models are loaded from `home` on first use (nothing is
    /// downloaded).
    public init(store: any VectorDatabase, options: IngestOptions = IngestOptions(), home: ModelHome = .fromEnvironment()) {
        self.store = store; self.options = options; self.home = home
    }

    /// The name of the collection holding `modality`'s vectors for a base name.
    public static func collectionName(_ base: String, _ modality: ContentModality) -> String { "\(base)_\(modality.rawValue)" }

    /// Ingests the files under `paths`. Unreadable files are collected in the report's `failures`
    /// and the run goes on; model and store errors stop it (except an audio model that cannot be
    /// loaded for the sound track of a video: the frames are ingested and the video is listed in
    /// `skipped` with the reason).
    /// - Throws: model loading errors, `QuiverError.embeddingSpaceMismatch` when the text collection
    ///   holds another model's vectors, store errors.
    public func ingest(_ paths: [String], progress: (IngestProgress) -> Void = { _ in }) async throws -> IngestReport {
        var report = IngestReport()
        let (files, problems) = FileWalker.files(in: paths)
        report.failures = problems.map { IngestIssue(path: $0.path, reason: $0.reason) }
        let sizes = files.map { (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int64 ?? 0) ?? 0 }
        let total = sizes.reduce(0, +)
        var state = Progress(filesDone: 0, filesTotal: files.count, bytesDone: 0, bytesTotal: total, pieces: 0, path: "")
        var text: TextSink?
        var image: ImageSink?
        var audio: AudioSink?
        var clips: VideoClipSink?
        var soundTrackProblem: String?   // why the audio model could not be loaded for sound tracks

        for (fi, url) in files.enumerated() {
            defer {
                state.filesDone += 1; state.bytesDone += sizes[fi]; state.path = url.path
                state.pieces = report.pieces + (text?.pendingCount ?? 0) + (image?.pending.count ?? 0)
                progress(state)
            }
            // Images, audio and video are decoded from the file later: only their first 64 KiB
            // and a streamed hash are read here, so a large video never sits in memory whole.
            // Text and documents are read whole (their text is what is embedded).
            let header: Data
            do { header = try Self.header(of: url) } catch {
                report.failures.append(IngestIssue(path: url.path, reason: "cannot read it (missing, or no permission)")); continue
            }
            let mediaKind = ContentModality.detect(header: header, pathExtension: url.pathExtension).flatMap { $0 == .text ? nil : $0 }
            let data: Data
            let hash: String, size: Int64
            do {
                if mediaKind != nil {
                    data = header
                    (hash, size) = try Self.sha256(fileAt: url)
                } else {
                    data = try Data(contentsOf: url)
                    (hash, size) = (Self.sha256(data), Int64(data.count))
                }
            } catch {
                report.failures.append(IngestIssue(path: url.path, reason: "cannot read it (missing, or no permission)")); continue
            }
            // PDF, DOCX, ODT, EPUB, HTML and Markdown: their text, by pages and sections (DocumentIngest.swift).
            if mediaKind == nil, let format = Self.documentFormat(data, url) {
                if text == nil { text = try await openTextSink() }
                report.pieces += try await ingestDocument(url: url, data: data, format: format, sink: text!, report: &report)
                continue
            }
            guard let kind = mediaKind ?? ContentModality.detect(header: data.prefix(1 << 16), pathExtension: url.pathExtension) else {
                report.skipped.append(IngestIssue(path: url.path, reason: data.isEmpty ? "empty file" : "not text, image, audio or video"))
                continue
            }
            switch kind {
            case .text:
                guard let s = String(data: data, encoding: .utf8) else {
                    report.failures.append(IngestIssue(path: url.path, reason: "not valid UTF-8 text")); continue
                }
                if text == nil { text = try await openTextSink() }
                let status = try await text!.add(path: url.path, text: s, hash: hash, size: size, split: options.split)
                switch status {
                case .unchanged: report.unchanged += 1
                case .replaced: report.replaced += 1
                case .added: report.added += 1
                case .empty: report.skipped.append(IngestIssue(path: url.path, reason: "no text in it"))
                }
                report.collections.insert(text!.collection.name)
                // A long file is many batches: report progress inside it, its bytes pro rata.
                let queued = text!.pendingCount, piecesBefore = report.pieces
                report.pieces += try await text!.flush(full: false) { written in
                    var inside = state
                    inside.pieces = piecesBefore + written
                    inside.bytesDone += Int64(Double(sizes[fi]) * Double(written) / Double(max(queued, 1)))
                    inside.path = url.path
                    progress(inside)
                }
            case .image:
                if image == nil { image = try await openImageSink() }
                let status = try await image!.add(url: url, hash: hash, size: size)
                switch status {
                case .unchanged: report.unchanged += 1
                case .replaced: report.replaced += 1
                case .added, .empty: report.added += 1
                }
                report.collections.insert(image!.collection.name)
                let (n, failed) = try await image!.flush(full: false)
                report.pieces += n; report.failures += failed
                report.added -= failed.count
            case .video:
                // The Perceiver's clips first (their own collection and status; the frames and
                // the sound track below are counted as before).
                if options.videoModel != nil {
                    if clips == nil { clips = try await openClipSink() }
                    let (_, k, problem) = try await clips!.add(url: url, hash: hash, size: size)
                    if let problem { report.failures.append(IngestIssue(path: url.path, reason: problem)) }
                    if k > 0 { report.pieces += k; report.collections.insert(clips!.collection.name) }
                }
                if image == nil { image = try await openImageSink() }
                let (status, n, problem) = try await image!.addVideo(url: url, hash: hash, size: size)
                if let problem {
                    report.failures.append(IngestIssue(path: url.path, reason: problem))
                    try await forgetSoundTrack(url.path, audio)
                    continue
                }
                report.collections.insert(image!.collection.name)
                switch status {
                case .unchanged: report.unchanged += 1; continue   // frames and sound track both kept
                case .replaced: report.replaced += 1
                case .added, .empty: report.added += 1
                }
                report.pieces += n
                // The sound track, when the video has one, goes to the audio space.
                switch Self.soundTrack(of: url) {
                case let .reader(reader):
                    if audio == nil && soundTrackProblem == nil {
                        // Without an audio model the frames are still ingested; the track is listed as skipped.
                        do { audio = try await openAudioSink() } catch let e as QuiverError { soundTrackProblem = "\(e)" }
                          catch let e as HubError { soundTrackProblem = "\(e)" }
                    }
                    guard audio != nil else {
                        report.skipped.append(IngestIssue(path: url.path, reason: "sound track not embedded: \(soundTrackProblem ?? "no audio model")"))
                        continue
                    }
                    do {
                        let k = try await audio!.addSoundTrack(path: url.path, reader: reader, hash: hash, size: size)
                        report.pieces += k; report.soundTrackRows += k
                        if k > 0 { report.collections.insert(audio!.collection.name) }
                    } catch let e as MediaError {
                        report.failures.append(IngestIssue(path: url.path, reason: "frames ingested, but the sound track cannot be decoded: \(e)"))
                    }
                case .none:
                    try await forgetSoundTrack(url.path, audio)
                case let .unreadable(reason):
                    try await forgetSoundTrack(url.path, audio)
                    report.failures.append(IngestIssue(path: url.path, reason: "frames ingested, but the sound track cannot be decoded: \(reason)"))
                }
            case .audio:
                if audio == nil { audio = try await openAudioSink() }
                let (status, n, problem) = try await audio!.add(url: url, hash: hash, size: size)
                if let problem { report.failures.append(IngestIssue(path: url.path, reason: problem)); continue }
                switch status {
                case .unchanged: report.unchanged += 1
                case .replaced: report.replaced += 1
                case .added, .empty: report.added += 1
                }
                report.collections.insert(audio!.collection.name)
                report.pieces += n
            }
        }
        if let text { report.pieces += try await text.flush(full: true); try await text.collection.flush() }
        if let image {
            let (n, failed) = try await image.flush(full: true)
            report.pieces += n; report.failures += failed; report.added -= failed.count
            try await image.collection.flush()
        }
        state.pieces = report.pieces
        return report
    }

    private typealias Progress = IngestProgress

    /// What a video's audio stream is.
    enum SoundTrack {
        /// A reader of the stream, resampled to 16 kHz mono as the audio model reads it.
        case reader(AudioReader)
        /// The container has no audio stream.
        case none
        case unreadable(String)
    }

    /// Opens the audio stream of a video container, if it has one.
    static func soundTrack(of url: URL) -> SoundTrack {
        do {
            return .reader(try AudioReader(contentsOf: url))
        } catch MediaError.missingStream(_, _) {
            return .none
        } catch {
            return .unreadable("\(error)")
        }
    }

    /// Removes the sound-track rows an older version of a video left in the audio collection
    /// (without loading the audio model when its sink is not open yet).
    private func forgetSoundTrack(_ path: String, _ audio: AudioSink?) async throws {
        if let audio { return try await audio.forget(path: path) }
        let name = Self.collectionName(options.collection, .audio)
        guard try await store.hasCollection(name) else { return }
        _ = try await store.openCollection(name).delete(filter: FilterExpression.equals("path", path))
    }

    private func openTextSink() async throws -> TextSink {
        let embedder = try textEmbedder ?? TextEmbedder(model: options.textModel, home: home, precision: options.precision)
        textEmbedder = embedder
        let model = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: embedder.normalizesByDefault)
        let name = Self.collectionName(options.collection, .text)
        let c = try await Self.openCollection(store: store, name: name, model: model)
        try await Self.ensureFullTextIndex(c, enabled: options.fullText)
        return try await TextSink(collection: c, embedder: embedder, model: model, batchSize: options.batchSize, threads: options.threads)
    }

    private func openClipSink() async throws -> VideoClipSink {
        let embedder = try PerceiverVideoEmbedder(model: options.videoModel!, home: home)
        let model = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: true)
        let c = try await Self.openCollection(store: store, name: Self.collectionName(options.collection, .video), model: model)
        return try await VideoClipSink(collection: c, embedder: embedder, model: model, threads: options.threads)
    }

    private func openAudioSink() async throws -> AudioSink {
        let embedder = try AudioEmbedder(model: options.audioModel, home: home)
        let model = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: true)
        let c = try await Self.openCollection(store: store, name: Self.collectionName(options.collection, .audio), model: model)
        return try await AudioSink(collection: c, embedder: embedder, model: model, threads: options.threads)
    }

    private func openImageSink() async throws -> ImageSink {
        let embedder = try ImageEmbedder(model: options.imageModel ?? ImageEmbedder.defaultModel(home: home), home: home)
        let model = EmbeddingModel(id: embedder.modelName, dimension: embedder.dimension, normalized: false)
        let c = try await Self.openCollection(store: store, name: Self.collectionName(options.collection, .image), model: model)
        return try await ImageSink(collection: c, embedder: embedder, model: model, batchSize: 16, threads: options.threads)
    }

    /// The scalar fields of an ingest collection.
    static let scalarFields: [ScalarField] = [
        ScalarField(name: "path", type: .string), ScalarField(name: "modality", type: .string),
        ScalarField(name: "chunk", type: .int64), ScalarField(name: "start", type: .int64, nullable: true),
        ScalarField(name: "end", type: .int64, nullable: true), ScalarField(name: "size", type: .int64),
        ScalarField(name: "sha256", type: .string), ScalarField(name: "text", type: .string, nullable: true),
    ]

    /// Opens (or creates) `name` bound to `model`, refusing a collection bound to another model.
    static func openCollection(store: any VectorDatabase, name: String, model: EmbeddingModel) async throws -> any VectorCollection {
        if try await store.hasCollection(name) {
            let c = try await store.openCollection(name)
            guard let f = c.schema.vectorFields.first else { throw QuiverError.embeddingSpaceMismatch(collection: name, storedModel: "none", requestedModel: model.id) }
            guard f.model.id == model.id, f.dimension == model.dimension else {
                throw QuiverError.embeddingSpaceMismatch(collection: name, storedModel: "\(f.model.id) (\(f.dimension)-d)",
                                                         requestedModel: "\(model.id) (\(model.dimension)-d)")
            }
            return c
        }
        let schema = CollectionSchema(primaryKey: PrimaryKeyField(name: "id", type: .string),
                                      vectorFields: [VectorField(name: "vector", dimension: model.dimension, metric: .cosine, model: model)],
                                      scalarFields: scalarFields, enableDynamicField: true,
                                      description: "quiver ingest: \(model.id) vectors")
        return try await store.makeCollection(name, schema: schema)
    }

    static func sha256(_ data: Data) -> String {
        var h = SHA256Hasher(); h.update(data); return h.finalize()
    }

    /// The first 64 KiB of a file (what modality detection looks at).
    static func header(of url: URL) throws -> Data {
        let fh = try FileHandle(forReadingFrom: url)
        defer { try? fh.close() }
        return try fh.read(upToCount: 1 << 16) ?? Data()
    }

    /// The SHA-256 and size of a file, read 1 MiB at a time.
    static func sha256(fileAt url: URL) throws -> (hash: String, size: Int64) {
        let fh = try FileHandle(forReadingFrom: url)
        defer { try? fh.close() }
        var h = SHA256Hasher()
        var size: Int64 = 0
        while let chunk = try fh.read(upToCount: 1 << 20), !chunk.isEmpty {
            h.update(chunk)
            size += Int64(chunk.count)
        }
        return (h.finalize(), size)
    }
}

/// Text chunks waiting to be embedded, batched across files.
final class TextSink {
    enum Status { case added, replaced, unchanged, empty }
    let collection: any VectorCollection
    let embedder: TextEmbedder
    let model: EmbeddingModel
    let batchSize: Int
    let threads: Int?
    /// path → content hash of what the collection holds.
    var known: [String: String] = [:]
    /// Pieces waiting for their vectors, from `pendingStart` on (a flush consumes them by index,
    /// so a file of many pieces is drained in linear time). Each holds its text and a few typed
    /// fields; the row's field dictionary is built only when its batch is written.
    private(set) var pending: [PendingText] = []
    private var pendingStart = 0
    var pendingCount: Int { pending.count - pendingStart }

    /// One piece of a text file or document waiting for its vector.
    struct PendingText {
        let path: String
        let index: Int
        let pieces: Int
        let chunk: TextChunk
        let size: Int64
        let hash: String
        /// Document fields (format, page, section, title); empty for plain text files.
        var extra: [String: FieldValue] = [:]

        /// The row: id `path#index` and the fields of a text row (the vector is set by `flush`).
        func entity(vector: [Float]) -> Entity {
            var fields: [String: FieldValue] = [
                "path": .string(path), "modality": .string("text"), "chunk": .int(Int64(index)),
                "start": .int(Int64(chunk.start)), "end": .int(Int64(chunk.end)), "size": .int(size),
                "sha256": .string(hash), "text": .string(chunk.text), ImageSink.piecesField: .int(Int64(pieces)),
            ]
            for (k, v) in extra { fields[k] = v }
            return Entity(id: .string("\(path)#\(index)"), vectors: ["vector": vector], fields: fields)
        }
    }

    /// Queues a piece (see `PendingText`).
    func enqueue(_ piece: PendingText) { pending.append(piece) }

    init(collection: any VectorCollection, embedder: TextEmbedder, model: EmbeddingModel, batchSize: Int, threads: Int?) async throws {
        self.collection = collection; self.embedder = embedder; self.model = model
        self.batchSize = max(1, batchSize); self.threads = threads
        known = try await ImageSink.knownHashes(collection)
    }

    func add(path: String, text: String, hash: String, size: Int64, split: TextSplit) async throws -> Status {
        let old = known[path]
        if old == hash { return .unchanged }
        if old != nil {
            _ = try await collection.delete(filter: FilterExpression.equals("path", path))
        }
        let chunks = fitted(split, text)
        known[path] = hash
        if chunks.isEmpty { return .empty }
        for (i, c) in chunks.enumerated() {
            enqueue(PendingText(path: path, index: i, pieces: chunks.count, chunk: c, size: size, hash: hash))
        }
        return old == nil ? .added : .replaced
    }

    /// Embeds and writes full batches (all pending pieces when `full`); returns the rows written.
    /// `afterBatch` gets the rows written so far after each batch.
    ///
    /// Pipelined: a batch's write (a round trip to a Milvus server, or the embedded store's log
    /// fsync) runs while the next batch is embedded; at most one write is in flight, writes keep
    /// their order, and every write has finished (or failed) when this returns. A failed write
    /// stops the flush with its error; the rows of the writes before it are stored.
    func flush(full: Bool, afterBatch: (Int) -> Void = { _ in }) async throws -> Int {
        var written = 0
        var inFlight: Task<Int, Error>?
        defer { inFlight?.cancel() }
        // The consumed pieces are dropped once, at the end (not per batch: that would be quadratic).
        defer {
            pending.removeFirst(pendingStart)
            pendingStart = 0
        }
        while pendingCount >= batchSize || (full && pendingCount > 0) {
            let n = min(batchSize, pendingCount)
            let batch = pending[pendingStart..<(pendingStart + n)]
            let vectors: [[Float]]
            do { vectors = try embedder.embed(batch.map(\.chunk.text), threads: threads, inputType: .passage).vectors } catch {
                if let w = inFlight { inFlight = nil; _ = try? await w.value }
                throw error
            }
            let entities = zip(batch, vectors).map { $0.entity(vector: $1) }
            pendingStart += n
            if let w = inFlight {
                inFlight = nil
                written += try await w.value
                afterBatch(written)
            }
            let c = collection, m = model, rows = entities
            inFlight = Task { _ = try await c.upsert(rows, models: ["vector": m]); return rows.count }
        }
        if let w = inFlight {
            inFlight = nil
            written += try await w.value
            afterBatch(written)
        }
        return written
    }
}
