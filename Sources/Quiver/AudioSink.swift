import Foundation
import QuiverMedia
import QuiverStore

/// Audio files and video sound tracks, embedded one by one (a recording is one Whisper batch of
/// its 30 s windows) into the audio collection.
///
/// Rows (`start_s`/`end_s` in seconds):
/// - an audio file of up to 30 s: one row, id `path#0`, `chunk` 0, spanning the file;
/// - a longer audio file: one row per 30 s window (id `path#i`, `chunk` i, `segment` "window"),
///   so a query finds the moment, and a whole-file row (id `path#audio`, `chunk` -1, the windows'
///   duration-weighted mean);
/// - a video's sound track: one row per 30 s window (id `path#sound<i>`, `chunk` i, `modality`
///   "video", `segment` "audio").
final class AudioSink: FileRowSink {
    let embedder: AudioEmbedder

    init(collection: any VectorCollection, embedder: AudioEmbedder, model: EmbeddingModel, threads: Int?) async throws {
        self.embedder = embedder
        try await super.init(collection: collection, model: model, threads: threads)
    }

    /// Embeds an audio file (skipped when its hash is unchanged; its old rows replaced otherwise).
    /// - Returns: the status and rows written, or the reason the file could not be decoded.
    func add(url: URL, hash: String, size: Int64) async throws -> (TextSink.Status, Int, String?) {
        let path = url.path
        let old = known[path]
        if old == hash { return (.unchanged, 0, nil) }
        if old != nil { try await forget(path: path) }
        let windows: [AudioWindowEmbedding]
        let whole: [Float]
        // Streamed: 30 s windows decoded and embedded a few at a time, so a long recording never
        // sits in memory whole (the windows and the whole-file vector equal embedWindows(samples:)).
        do {
            windows = try embedder.embedWindows(reading: try AudioReader(contentsOf: url), threads: threads)
        } catch {
            return (.empty, 0, "cannot decode the audio: \(error)")
        }
        guard let mean = AudioEmbedder.mean(of: windows) else { return (.empty, 0, "cannot decode the audio: it holds no samples") }
        whole = mean
        known[path] = hash
        func fields(_ chunk: Int, _ start: Double, _ end: Double) -> [String: FieldValue] {
            ["path": .string(path), "modality": .string("audio"), "chunk": .int(Int64(chunk)),
             "size": .int(size), "sha256": .string(hash), "start_s": .double(start), "end_s": .double(end),
             ImageSink.piecesField: .int(Int64(windows.count == 1 ? 1 : windows.count + 1))]
        }
        var entities: [Entity] = []
        if windows.count == 1 {
            entities.append(Entity(id: .string("\(path)#0"), vectors: ["vector": whole], fields: fields(0, 0, windows[0].end)))
        } else {
            for (i, w) in windows.enumerated() {
                var f = fields(i, w.start, w.end)
                f["segment"] = .string("window")
                entities.append(Entity(id: .string("\(path)#\(i)"), vectors: ["vector": w.vector], fields: f))
            }
            entities.append(Entity(id: .string("\(path)#audio"), vectors: ["vector": whole],
                                   fields: fields(-1, 0, windows.last!.end)))
        }
        _ = try await collection.upsert(entities, models: ["vector": model])
        return (old == nil ? .added : .replaced, entities.count, nil)
    }

    /// Embeds a video's sound track, streamed from `reader` (16 kHz mono), as one row per 30 s
    /// window, replacing the rows an older version of the video left. The caller decides whether
    /// the video changed (the frames' sink keeps the hash that says so).
    /// - Returns: rows written (0 for a stream without samples: the old rows are gone all the same).
    /// - Throws: `MediaError` naming the file when the track cannot be decoded (nothing is written).
    func addSoundTrack(path: String, reader: AudioReader, hash: String, size: Int64) async throws -> Int {
        try await forget(path: path)
        let windows = try embedder.embedWindows(reading: reader, threads: threads)
        if windows.isEmpty { return 0 }
        known[path] = hash
        let entities = windows.enumerated().map { i, w in
            Entity(id: .string("\(path)#sound\(i)"), vectors: ["vector": w.vector], fields: [
                "path": .string(path), "modality": .string("video"), "segment": .string("audio"), "chunk": .int(Int64(i)),
                "size": .int(size), "sha256": .string(hash), "start_s": .double(w.start), "end_s": .double(w.end),
                ImageSink.piecesField: .int(Int64(windows.count)),
            ])
        }
        _ = try await collection.upsert(entities, models: ["vector": model])
        return entities.count
    }

    /// Deletes the rows of `path` (a changed file, or a video whose new version has no sound track).
    func forget(path: String) async throws {
        guard known[path] != nil else { return }
        _ = try await collection.delete(filter: FilterExpression.equals("path", path))
        known[path] = nil
    }
}
