import Foundation
import QuiverStore

/// Audio files embedded one by one (a recording is one Whisper batch of its 30 s windows); one
/// row per file with `start_s` 0 and `end_s` its duration.
final class AudioSink {
    let collection: Collection
    let embedder: AudioEmbedder
    let model: EmbeddingModel
    let threads: Int?
    var known: [String: String] = [:]

    init(collection: Collection, embedder: AudioEmbedder, model: EmbeddingModel, threads: Int?) async throws {
        self.collection = collection; self.embedder = embedder; self.model = model; self.threads = threads
        known = try await ImageSink.knownHashes(collection)
    }

    /// - Returns: the status and rows written, or the reason the file could not be decoded.
    func add(url: URL, hash: String, size: Int64) async throws -> (TextSink.Status, Int, String?) {
        let path = url.path
        let old = known[path]
        if old == hash { return (.unchanged, 0, nil) }
        if old != nil { try await collection.delete(where: { $0.value(of: "path") == .string(path) }) }
        let result: (vector: [Float], seconds: Double)
        do { result = try embedder.embed(file: url, threads: threads) } catch {
            known[path] = nil
            return (.empty, 0, "cannot decode the audio: \(error)")
        }
        known[path] = hash
        let fields: [String: FieldValue] = ["path": .string(path), "modality": .string("audio"), "chunk": .int(0),
                                            "size": .int(size), "sha256": .string(hash),
                                            "start_s": .double(0), "end_s": .double(result.seconds)]
        try await collection.upsert([Entity(id: .string("\(path)#0"), vectors: ["vector": result.vector], fields: fields)],
                                    models: ["vector": model])
        return (old == nil ? .added : .replaced, 1, nil)
    }
}
