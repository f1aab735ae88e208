import Foundation
import QuiverStore

/// Image files waiting to be embedded, batched across files; one row per image.
final class ImageSink {
    let collection: any VectorCollection
    let embedder: ImageEmbedder
    let model: EmbeddingModel
    let batchSize: Int
    let threads: Int?
    var known: [String: String] = [:]
    var pending: [(url: URL, entity: Entity)] = []

    init(collection: any VectorCollection, embedder: ImageEmbedder, model: EmbeddingModel, batchSize: Int, threads: Int?) async throws {
        self.collection = collection; self.embedder = embedder; self.model = model
        self.batchSize = max(1, batchSize); self.threads = threads
        known = try await Self.knownHashes(collection)
    }

    /// path → content hash of the files a collection holds completely.
    ///
    /// Every row carries `pieces`, the number of rows its file has in the collection. A file with
    /// fewer rows than that (an ingest stopped by a crash or a full disk between two writes of
    /// its rows), or whose rows disagree on the hash, maps to "" (``incomplete``): the next ingest
    /// deletes what there is and writes the file again instead of skipping it as unchanged. Rows
    /// written before `pieces` existed are taken as complete.
    static func knownHashes(_ c: any VectorCollection) async throws -> [String: String] {
        var known: [String: String] = [:]
        var rows: [String: Int] = [:]
        var expected: [String: Int] = [:]
        for r in try await c.query(filter: nil, where: nil, limit: nil, offset: 0, outputFields: ["path", "sha256", piecesField]) {
            guard case let .string(p)? = r.fields["path"], case let .string(h)? = r.fields["sha256"] else { continue }
            if let k = known[p], k != h { known[p] = incomplete } else if known[p] == nil { known[p] = h }
            rows[p, default: 0] += 1
            if case let .int(n)? = r.fields[piecesField] { expected[p] = Int(n) }
        }
        for (p, n) in expected where rows[p] != n { known[p] = incomplete }
        return known
    }

    /// The dynamic field that says how many rows a file has (see ``knownHashes(_:)``).
    static let piecesField = "pieces"
    /// The hash ``knownHashes(_:)`` gives a file stored incompletely (it never equals a sha256).
    static let incomplete = ""

    func add(url: URL, hash: String, size: Int64) async throws -> TextSink.Status {
        let path = url.path
        let old = known[path]
        if old == hash { return .unchanged }
        if old != nil { _ = try await collection.delete(filter: FilterExpression.equals("path", path)) }
        known[path] = hash
        let fields: [String: FieldValue] = ["path": .string(path), "modality": .string("image"), "chunk": .int(0),
                                            "size": .int(size), "sha256": .string(hash), Self.piecesField: .int(1)]
        pending.append((url, Entity(id: .string("\(path)#0"), vectors: [:], fields: fields)))
        return old == nil ? .added : .replaced
    }

    /// Embeds a video's sampled frames now (one row per frame, with `frame_index`, `start_s`,
    /// `end_s`, and a whole-video row, the frames' mean, with `chunk` -1). The sound track is the
    /// `AudioSink`'s (the `Ingestor` hands it over when this returns `.added` or `.replaced`).
    /// - Returns: rows written, or the reason the video could not be decoded.
    func addVideo(url: URL, hash: String, size: Int64) async throws -> (TextSink.Status, Int, String?) {
        let path = url.path
        let old = known[path]
        if old == hash { return (.unchanged, 0, nil) }
        if old != nil { _ = try await collection.delete(filter: FilterExpression.equals("path", path)) }
        let frames: [VideoFrameEmbedding]
        do { frames = try VideoEmbedder(images: embedder).embedFrames(contentsOf: url, threads: threads) } catch {
            known[path] = nil
            return (.empty, 0, "cannot decode the video: \(error)")
        }
        guard let mean = VideoEmbedder.mean(frames) else { known[path] = nil; return (.empty, 0, "no video frames decoded") }
        known[path] = hash
        func fields(_ chunk: Int) -> [String: FieldValue] {
            ["path": .string(path), "modality": .string("video"), "chunk": .int(Int64(chunk)), "size": .int(size), "sha256": .string(hash),
             Self.piecesField: .int(Int64(frames.count + 1))]
        }
        var entities: [Entity] = []
        for (i, f) in frames.enumerated() {
            var fs = fields(i)
            fs["frame_index"] = .int(Int64(f.frameIndex)); fs["start_s"] = .double(f.start); fs["end_s"] = .double(f.end)
            entities.append(Entity(id: .string("\(path)#\(i)"), vectors: ["vector": f.vector], fields: fs))
        }
        var whole = fields(-1)
        whole["start_s"] = .double(frames.first!.start); whole["end_s"] = .double(frames.last!.end)
        entities.append(Entity(id: .string("\(path)#video"), vectors: ["vector": mean], fields: whole))
        _ = try await collection.upsert(entities, models: ["vector": model])
        return (old == nil ? .added : .replaced, entities.count, nil)
    }

    /// Embeds and writes full batches (all when `full`); a file that cannot be decoded is
    /// returned as a failure and the others are written.
    func flush(full: Bool) async throws -> (written: Int, failures: [IngestIssue]) {
        var written = 0
        var failures: [IngestIssue] = []
        while pending.count >= batchSize || (full && !pending.isEmpty) {
            let n = min(batchSize, pending.count)
            let batch = Array(pending.prefix(n))
            pending.removeFirst(n)
            var vectors: [[Float]?]
            do { vectors = try embedder.embed(files: batch.map(\.url), threads: threads) } catch {
                vectors = batch.map { item in
                    do { return try embedder.embed(files: [item.url], threads: threads)[0] } catch {
                        failures.append(IngestIssue(path: item.url.path, reason: "cannot decode the image: \(error)"))
                        return nil
                    }
                }
            }
            var entities: [Entity] = []
            for (k, item) in batch.enumerated() {
                guard let v = vectors[k] else { known[item.url.path] = nil; continue }
                var e = item.entity; e.vectors = ["vector": v]; entities.append(e)
            }
            if !entities.isEmpty { _ = try await collection.upsert(entities, models: ["vector": model]) }
            written += entities.count
        }
        return (written, failures)
    }
}
