import Foundation
import QuiverStore

/// The clips of videos embedded by the multimodal Perceiver (frames and sound together), written
/// to `<collection>_video`: one row per clip (`chunk` 0, 1, ..., `segment` "clip", `start_s`,
/// `end_s`) and a whole-video row (`chunk` -1, `segment` "video": the clips' mean), bound to
/// the Perceiver model like any other collection.
final class VideoClipSink: FileRowSink {
    let embedder: PerceiverVideoEmbedder

    init(collection: any VectorCollection, embedder: PerceiverVideoEmbedder, model: EmbeddingModel, threads: Int?) async throws {
        self.embedder = embedder
        try await super.init(collection: collection, model: model, threads: threads)
    }

    /// Embeds a video's clips (skipped when its hash is unchanged; its old rows replaced otherwise).
    /// - Returns: the status and rows written, or the reason the video could not be decoded.
    func add(url: URL, hash: String, size: Int64) async throws -> (TextSink.Status, Int, String?) {
        let path = url.path
        let old = known[path]
        if old == hash { return (.unchanged, 0, nil) }
        if old != nil {
            _ = try await collection.delete(filter: FilterExpression.equals("path", path))
            known[path] = nil
        }
        let clips: [PerceiverClipEmbedding], whole: [Float]?
        do { (clips, whole) = try embedder.embed(contentsOf: url, threads: threads) } catch {
            return (.empty, 0, "cannot decode the video for \(embedder.modelName): \(error)")
        }
        guard let whole, let first = clips.first, let last = clips.last else { return (.empty, 0, "no video frames decoded") }
        let pieces = FieldValue.int(Int64(clips.count + 1))
        func fields(_ chunk: Int, _ segment: String, _ start: Double, _ end: Double) -> [String: FieldValue] {
            ["path": .string(path), "modality": .string("video"), "chunk": .int(Int64(chunk)), "size": .int(size),
             "sha256": .string(hash), "segment": .string(segment), "start_s": .double(start), "end_s": .double(end),
             ImageSink.piecesField: pieces]
        }
        var entities = clips.map { c in
            Entity(id: .string("\(path)#clip\(c.index)"), vectors: ["vector": c.vector], fields: fields(c.index, "clip", c.start, c.end))
        }
        entities.append(Entity(id: .string("\(path)#video"), vectors: ["vector": whole], fields: fields(-1, "video", first.start, last.end)))
        _ = try await collection.upsert(entities, models: ["vector": model])
        known[path] = hash
        return (old == nil ? .added : .replaced, entities.count, nil)
    }
}
